// Splits what a pipe delivers into lines: the one way ticketsim reads a
// program's stdout, stderr and event lines, an agent's lines and the
// parent's lines to an agent.
//
// Memory stays bounded whatever comes: a line longer than the limit is given
// out cut at the limit, with `cut` set, as soon as it passes the limit, and
// the rest of it, up to its newline, is dropped.
#ifndef TICKETSIM_BASE_LINE_SPLITTER_H_
#define TICKETSIM_BASE_LINE_SPLITTER_H_

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <utility>

namespace ticketsim {

class LineSplitter {
 public:
  explicit LineSplitter(size_t limit) : limit_(limit) {}

  // Takes what a read gave.
  void Append(std::string_view bytes);
  // The next line (without its newline), if one is whole, or cut.
  bool Next(std::string* line, bool* cut);
  // At the end of the stream: the unfinished last line, if there is one.
  bool Rest(std::string* line, bool* cut);
  // What came after the last newline (a cut line's first `limit` bytes).
  std::string_view partial() const { return partial_; }

  // Append, then `on_line(line, cut)` for each line that came.
  template <typename Fn>
  void Feed(std::string_view bytes, Fn&& on_line) {
    Append(bytes);
    std::string line;
    bool cut = false;
    while (Next(&line, &cut)) on_line(line, cut);
  }
  // At the end of the stream: `on_line` for the unfinished last line.
  template <typename Fn>
  void Finish(Fn&& on_line) {
    std::string line;
    bool cut = false;
    while (Rest(&line, &cut)) on_line(line, cut);
  }

 private:
  size_t limit_;
  std::deque<std::pair<std::string, bool>> ready_;
  std::string partial_;
  bool skipping_ = false;  // the rest of a cut line, up to its newline
};

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_LINE_SPLITTER_H_
