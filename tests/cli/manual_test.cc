// The manual page `ticketsim manual` writes: man renders it without a
// warning, and it holds every command and option --help lists and every
// word of the tables an option takes, so it cannot say less than --help.
#include "sim/cli/manual.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>

#include "base/escape.h"
#include "sim/scenario/scenario.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::Ran;
using ::ticketsim::testing::RunShell;
using ::ticketsim::testing::RunTicketsimArgs;
using ::ticketsim::testing::TempDir;

constexpr auto npos = std::string::npos;

// `word` as the page writes what a user types: in bold, '-' a minus sign.
std::string Typed(const std::string& word) {
  std::string out;
  for (const char c : word)
    out += c == '-' ? std::string("\\-") : std::string(1, c);
  return "\\fB" + out + "\\fR";
}

class ManualTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const Ran ran = RunTicketsimArgs({"manual"});
    ASSERT_EQ(ran.exit_code, 0) << ran.out;
    page_ = ran.out;
  }
  std::string page_;
};

TEST_F(ManualTest, RendersWithoutWarnings) {
  TempDir dir;
  const std::string file = dir.Write("ticketsim.1", page_);
  // man's own warnings (and groff's, which -ww turns on) go to stderr.
  const Ran ran = RunShell(fmt::format(
      "MANWIDTH=80 man --warnings -l {} 2>&1 >/dev/null", ShellWord(file)));
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_EQ(ran.out, "");
  const Ran text =
      RunShell(fmt::format("MANWIDTH=80 man -l {}", ShellWord(file)));
  EXPECT_NE(text.out.find("TICKETSIM(1)"), npos) << text.out;
  EXPECT_NE(text.out.find("EXIT STATUS"), npos) << text.out;
}

// Every command of --help has its section, and every option of its --help
// is on the page.
TEST_F(ManualTest, HoldsEveryCommandAndOptionOfHelp) {
  const Ran top = RunTicketsimArgs({"--help"});
  const std::regex command_line(R"(^  ([a-z]+) )");
  const std::regex option_line(R"(^  (-\w,)?(--[\w-]+))");
  std::istringstream commands(top.out.substr(top.out.find("Subcommands:")));
  int seen = 0;
  for (std::string line; std::getline(commands, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, command_line)) continue;
    const std::string command = m[1];
    ++seen;
    EXPECT_NE(page_.find(".SS " + Typed("ticketsim " + command) + "\n"), npos)
        << command;
    std::istringstream help(RunTicketsimArgs({command, "--help"}).out);
    for (std::string option; std::getline(help, option);) {
      if (!std::regex_search(option, m, option_line)) continue;
      EXPECT_NE(page_.find(Typed(m[2])), npos) << command << " " << m[2];
    }
  }
  EXPECT_GE(seen, 7) << top.out;
}

// The words an option takes are listed from the program's tables, each
// with its meaning.
TEST_F(ManualTest, ListsTheWordsOfEveryGuardAndStore) {
  for (const auto& guard : kGuardKinds) {
    EXPECT_NE(page_.find(Typed(std::string(guard.word)) + "\n" +
                         RoffText(guard.help)),
              npos)
        << guard.word;
  }
  for (const auto& store : kStoreKinds) {
    EXPECT_NE(page_.find(Typed(std::string(store.word)) + "\n"), npos)
        << store.word;
  }
}

}  // namespace
}  // namespace ticketsim
