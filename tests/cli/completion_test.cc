// The shell completions `ticketsim completion SHELL` writes, tried in the
// real shells: bash through its completion function (COMP_WORDS, as
// readline calls it), zsh at a pseudo-terminal through its completion
// system, fish through `complete -C`. Commands, options, the words of an
// option's value from the program's own tables, and the library's names.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

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

// The lines of `text`, each once, sorted.
std::set<std::string> Lines(const std::string& text) {
  std::set<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.insert(line);
  }
  return lines;
}

template <typename E>
std::set<std::string> WordsOf(std::span<const EnumWord<E>> table) {
  std::set<std::string> words;
  for (const auto& entry : table) words.insert(std::string(entry.word));
  return words;
}

// The program's build folder first on PATH, so the scripts find it as
// `ticketsim`, and no library but the source tree's.
std::string Environment() {
  return fmt::format("unset TICKETSIM_SCENARIOS; PATH={}:$PATH; ",
                     ShellWord(TICKETSIM_BUILD_DIR));
}

class CompletionTest : public ::testing::Test {
 protected:
  // Writes the script for `shell` to `name` in tmp_; returns its path.
  std::string Script(const std::string& shell, const std::string& name) {
    const Ran ran = RunTicketsimArgs({"completion", shell});
    EXPECT_EQ(ran.exit_code, 0) << ran.out;
    return tmp_.Write(name, ran.out);
  }

  // What bash completes for the command line `words` (the last one the word
  // at the cursor), as readline would ask the completion function.
  std::set<std::string> Bash(const std::vector<std::string>& words) {
    std::vector<std::string> quoted = {"ticketsim"};
    for (const std::string& w : words) quoted.push_back(ShellWord(w));
    const Ran ran = RunShell(fmt::format(
        "{}exec bash -c {}", Environment(),
        ShellWord(fmt::format(
            "source {}; COMP_WORDS=({}); COMP_CWORD={}; _ticketsim; "
            "printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            ShellWord(bash_), fmt::join(quoted, " "), words.size()))));
    EXPECT_EQ(ran.exit_code, 0) << ran.out;
    return Lines(ran.out);
  }

  // The options `ticketsim COMMAND --help` lists.
  static std::set<std::string> HelpOptions(const std::string& command) {
    const Ran ran = RunTicketsimArgs({command, "--help"});
    std::set<std::string> options;
    const std::regex option(R"(^  (-\w,)?(--[\w-]+))");
    std::istringstream in(ran.out);
    for (std::string line; std::getline(in, line);) {
      std::smatch m;
      if (!std::regex_search(line, m, option)) continue;
      if (m[1].matched) options.insert(m[1].str().substr(0, 2));
      options.insert(m[2]);
    }
    return options;
  }

  TempDir tmp_;
  std::string bash_ = Script("bash", "ticketsim.bash");
};

// The two completions a user tries first: a command from its first letter,
// a guard from its first letter.
TEST_F(CompletionTest, BashCompletesACommandAndAGuard) {
  EXPECT_EQ(Bash({"r"}), std::set<std::string>{"run"});
  const std::set<std::string> guards = {"named-mutex", "named-semaphore",
                                        "none"};
  EXPECT_EQ(Bash({"run", "--guard", "n"}), guards);
  // --guard=n: bash hands the '=' over as a word of its own.
  EXPECT_EQ(Bash({"run", "--guard", "=", "n"}), guards);
}

// An option's words are the program's own tables, every word of them (the
// --help text may list fewer); options, setting keys, list values, files
// and the library's names complete too.
// --color completes to its words, for run and compare alike.
TEST_F(CompletionTest, BashCompletesTheColorWords) {
  const std::set<std::string> modes = {"auto", "always", "never"};
  EXPECT_EQ(Bash({"run", "--color", ""}), modes);
  EXPECT_EQ(Bash({"compare", "--color", "a"}),
            (std::set<std::string>{"auto", "always"}));
}

TEST_F(CompletionTest, BashCompletesFromTheProgramsOwnTables) {
  EXPECT_EQ(Bash({"run", "--store", ""}), WordsOf(kStoreKinds));
  EXPECT_EQ(Bash({"check", "--guard", ""}), WordsOf(kGuardKinds));
  EXPECT_EQ(Bash({"step", "--schedule", ""}), WordsOf(kScheduleKinds));
  EXPECT_EQ(Bash({"run", "--method", ""}), WordsOf(kMethods));
  EXPECT_EQ(Bash({"run", "--gu"}), std::set<std::string>{"--guard"});
  EXPECT_EQ(Bash({"compare", "--guards", "none,file-"}),
            std::set<std::string>{"none,file-lock"});
  EXPECT_EQ(Bash({"compare", "--modes", "process,t"}),
            std::set<std::string>{"process,thread"});
  EXPECT_EQ(Bash({"run", "--mode", ""}), WordsOf(kBuyerModes));
  EXPECT_EQ(Bash({"run", "--set", "store.ki"}),
            std::set<std::string>{"store.kind="});
  EXPECT_EQ(Bash({"run", "01-rush-ung"}),
            std::set<std::string>{"01-rush-unguarded"});
  EXPECT_EQ(Bash({"completion", ""}),
            (std::set<std::string>{"bash", "fish", "zsh"}));
  EXPECT_EQ(Bash({"run", "--buyers", ""}), std::set<std::string>{});
  const std::string json = tmp_.Write("report.json", "");
  EXPECT_EQ(Bash({"run", "--json", tmp_.path() + "/rep"}),
            std::set<std::string>{json});
}

// Every option every command's --help lists is completed for it.
TEST_F(CompletionTest, BashCompletesEveryOptionOfHelp) {
  for (const std::string command : {"run", "check", "compare", "list", "clean",
                                    "step", "buyer", "completion", "manual"}) {
    SCOPED_TRACE(command);
    const std::set<std::string> help = HelpOptions(command);
    ASSERT_FALSE(help.empty());
    const std::set<std::string> completed = Bash({command, "-"});
    for (const std::string& option : help) {
      EXPECT_TRUE(completed.contains(option)) << option;
    }
  }
}

// zsh, at a terminal, through compinit and its completion system: the same
// command, guards and library names, with their meanings beside them.
TEST_F(CompletionTest, ZshCompletesTheSame) {
  const std::string functions = tmp_.path() + "/functions";
  std::filesystem::create_directories(functions);
  Script("zsh", "functions/_ticketsim");
  // Each line typed at a prompt with a TAB; once what the completion shows
  // has come (or the time limit ends the test), the line is cleared and a
  // marker echoed, and the next line waits for the prompt after it: no key
  // comes while the completion runs or before the line editor reads them.
  const std::string driver = tmp_.Write("drive.zsh", fmt::format(R"zsh(
zmodload zsh/zpty
zpty z 'TERM=dumb zsh -f -i'
zpty -w z "PS1='> '; fpath=({} \$fpath); autoload -U compinit; compinit -u -D; unsetopt BEEP; echo READY-\$((40+2))"
zpty -r z out '*READY-42*> '
for line shown in 'ticketsim r' 'ticketsim run' \
    'ticketsim run --guard n' 'none' \
    'ticketsim run 01-rush-ung' 'unguarded'; do
  zpty -w -n z "$line"$'\t'
  zpty -r z out "*$shown*"
  all=$out
  zpty -w -n z $'\C-u'"echo DONE-\$((40+2))"$'\n'
  zpty -r z out '*DONE-42*> '
  print -r -- "== $line"; print -r -- "$all$out"
done
zpty -d z
)zsh",
                                                                 functions));
  const Ran ran = RunShell(fmt::format("{}exec timeout 60 zsh -f {}",
                                       Environment(), ShellWord(driver)));
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  const std::string& out = ran.out;
  const size_t guard = out.find("== ticketsim run --guard n");
  const size_t name = out.find("== ticketsim run 01-rush-ung");
  ASSERT_NE(guard, npos) << out;
  ASSERT_NE(name, npos) << out;
  EXPECT_NE(out.substr(0, guard).find("ticketsim run "), npos) << out;
  const std::string guards = out.substr(guard, name - guard);
  for (const char* word : {"named-mutex ", "named-semaphore ", "none "}) {
    EXPECT_NE(guards.find(word), npos) << word << "\n" << out;
  }
  EXPECT_NE(guards.find("no exclusion at all"), npos) << out;
  EXPECT_EQ(guards.find("file-lock"), npos) << out;
  EXPECT_NE(out.substr(name).find("ticketsim run 01-rush-unguarded"), npos)
      << out;
}

// fish, through `complete -C`: the same command, guards and library names.
TEST_F(CompletionTest, FishCompletesTheSame) {
  const std::string fish = Script("fish", "ticketsim.fish");
  const auto complete = [&](const std::string& line) {
    const Ran ran = RunShell(
        fmt::format("{}exec fish --no-config -c {}", Environment(),
                    ShellWord(fmt::format("source {}; complete -C {}",
                                          ShellWord(fish), ShellWord(line)))));
    EXPECT_EQ(ran.exit_code, 0) << ran.out;
    std::set<std::string> words;
    for (const std::string& l : Lines(ran.out)) {
      words.insert(l.substr(0, l.find('\t')));
    }
    return words;
  };
  EXPECT_EQ(complete("ticketsim r"), std::set<std::string>{"run"});
  EXPECT_EQ(complete("ticketsim run --guard n"),
            (std::set<std::string>{"named-mutex", "named-semaphore", "none"}));
  EXPECT_EQ(complete("ticketsim run --store "), WordsOf(kStoreKinds));
  EXPECT_EQ(complete("ticketsim run 01-rush-ung"),
            std::set<std::string>{"01-rush-unguarded"});
}

TEST(CompletionCommandTest, AnUnknownShellIsAUsageError) {
  const Ran ran = RunTicketsimArgs({"completion", "tcsh"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_NE(ran.out.find("no script for \"tcsh\"; the shells are bash, zsh, "
                         "fish"),
            npos)
      << ran.out;
  EXPECT_EQ(RunTicketsimArgs({"completion"}).exit_code, 2);
}

}  // namespace
}  // namespace ticketsim
