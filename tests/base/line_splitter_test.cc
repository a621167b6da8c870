#include "base/line_splitter.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace ticketsim {
namespace {

using Lines = std::vector<std::pair<std::string, bool>>;

Lines Fed(LineSplitter* splitter, std::string_view bytes) {
  Lines lines;
  splitter->Feed(bytes, [&](const std::string& line, bool cut) {
    lines.emplace_back(line, cut);
  });
  return lines;
}

// Lines come whole, in order, however the reads split them; what follows
// the last newline waits for the end of the stream.
TEST(LineSplitterTest, ReadsSplitAnywhereGiveTheSameLines) {
  const std::string text = "one\ntwo\n\nthree";
  for (size_t at = 0; at <= text.size(); ++at) {
    LineSplitter splitter(100);
    Lines lines = Fed(&splitter, std::string_view(text).substr(0, at));
    for (auto& line : Fed(&splitter, std::string_view(text).substr(at))) {
      lines.push_back(line);
    }
    EXPECT_EQ(splitter.partial(), "three");
    splitter.Finish([&](const std::string& line, bool cut) {
      lines.emplace_back(line, cut);
    });
    EXPECT_EQ(
        lines,
        (Lines{{"one", false}, {"two", false}, {"", false}, {"three", false}}))
        << "split at " << at;
  }
}

// A line longer than the limit is given out cut as soon as it passes the
// limit, its rest dropped up to its newline; the next line is whole.
TEST(LineSplitterTest, ALongLineIsCutAtOnceAndItsRestDropped) {
  LineSplitter splitter(4);
  EXPECT_EQ(Fed(&splitter, "abcd"), Lines{});
  EXPECT_EQ(Fed(&splitter, "e"), (Lines{{"abcd", true}}));
  EXPECT_EQ(Fed(&splitter, std::string(1 << 20, 'x')), Lines{});
  EXPECT_EQ(splitter.partial(), "");
  EXPECT_EQ(Fed(&splitter, "yy\nok\nabcd\n"),
            (Lines{{"ok", false}, {"abcd", false}}));
  std::string line;
  bool cut = false;
  EXPECT_FALSE(splitter.Rest(&line, &cut));
}

}  // namespace
}  // namespace ticketsim
