// The words ticketsim answers a newcomer's slips and runs with: numbers
// written as strings, misspelt commands, options and values, and the lines
// of the reports that should say a thing once and plainly.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "sim/scenario/scenario.h"
#include "storage/ticket_store.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::Has;
using ::ticketsim::testing::LeavesNothingTest;
using ::ticketsim::testing::Library;
using ::ticketsim::testing::Ran;
using ::ticketsim::testing::ReadFile;
using ::ticketsim::testing::RunTicketsimArgs;
using ::ticketsim::testing::TempDir;

class MessagesTest : public LeavesNothingTest {};

// A number in quotes is a string: the message says so, not that the number
// is out of range.
TEST_F(MessagesTest, ANumberInQuotesIsCalledAString) {
  const std::string count =
      tmp_.Write("count.toml", "[buyers]\ncount = \"10\"\n");
  Ran ran = RunTicketsimArgs({"check", count});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out,
                  "count.toml:2:9: buyers.count: expected a whole number, got "
                  "the string \"10\" (write 10, without quotes)"))
      << ran.out;
  EXPECT_FALSE(Has(ran.out, "out of range")) << ran.out;

  const std::string chance =
      tmp_.Write("chance.toml", "[faults]\nkill_holder = \"0.5\"\n");
  ran = RunTicketsimArgs({"check", chance});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out,
                  "faults.kill_holder: expected a number, got the string "
                  "\"0.5\" (write 0.5, without quotes)"))
      << ran.out;

  const std::string think =
      tmp_.Write("think.toml", "[buyers]\nthink_ms = [\"1\", 5]\n");
  ran = RunTicketsimArgs({"check", think});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(
      Has(ran.out, "buyers.think_ms: expected a number, got the string \"1\""))
      << ran.out;

  // On the command line, quotes kept through the shell make a string too.
  ran = RunTicketsimArgs({"run", "--set", "buyers.count=\"10\""});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out,
                  "buyers.count: expected a whole number, got the string "
                  "\"10\""))
      << ran.out;
  // A number too long for 64 bits is still out of range, not a string.
  ran = RunTicketsimArgs({"run", "--set", "buyers.count=99999999999999999999"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out, "99999999999999999999 is out of range")) << ran.out;
}

// A misspelt command is named, with the nearest one; a word near none
// lists them all.
TEST_F(MessagesTest, AnUnknownCommandSaysWhichItMeant) {
  Ran ran = RunTicketsimArgs({"runn"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out, "unknown command \"runn\": did you mean \"run\"?"))
      << ran.out;
  EXPECT_FALSE(Has(ran.out, "A subcommand is required")) << ran.out;

  ran = RunTicketsimArgs({"chek", "x"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out, "unknown command \"chek\": did you mean \"check\"?"))
      << ran.out;

  ran = RunTicketsimArgs({"frobnicate"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out,
                  "unknown command \"frobnicate\"; the commands are run, "
                  "check, compare, list, clean, step, serve, buyer"))
      << ran.out;
}

// A misspelt option is named with the command's nearest option; a value
// not in a list gets the nearest word of the list.
TEST_F(MessagesTest, AnUnknownOptionOrValueSaysWhichItMeant) {
  Ran ran = RunTicketsimArgs({"run", "--gaurd", "file-lock"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out,
                  "ticketsim run: unknown option \"--gaurd\": did you mean "
                  "\"--guard\"?"))
      << ran.out;
  EXPECT_FALSE(Has(ran.out, "was not expected")) << ran.out;

  ran = RunTicketsimArgs({"check", "--buyres=3", "x.toml"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out,
                  "ticketsim check: unknown option \"--buyres\": did you mean "
                  "\"--buyers\"?"))
      << ran.out;

  ran = RunTicketsimArgs({"run", "--zzzzzzzz"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(
      Has(ran.out, "unknown option \"--zzzzzzzz\" (see ticketsim run --help)"))
      << ran.out;

  ran = RunTicketsimArgs({"run", "--guard", "file-lok"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out, "\"file-lok\" is not one of none | ")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "; did you mean \"file-lock\"?")) << ran.out;
}

// Without [expect], a run with violations says what was expected once.
TEST_F(MessagesTest, AMissWithoutExpectSaysItOnce) {
  const std::string json = tmp_.path() + "/report.json";
  const Ran ran = RunTicketsimArgs({"run", "--json", json}, tmp_.path());
  ASSERT_EQ(ran.exit_code, 1) << ran.out;
  EXPECT_TRUE(Has(ran.out,
                  "  expect    no violation expected (no [expect] given) -- "
                  "did NOT hold: trial 1 (seed 42) got lost update"))
      << ran.out;
  EXPECT_FALSE(Has(ran.out, "(seed 42): expected no violation")) << ran.out;
  // The JSON's miss stands alone, so it keeps what was expected.
  EXPECT_TRUE(Has(ReadFile(json),
                  "expected no violation (no [expect] given), got lost "
                  "update"));
}

// A JUnit classname is "ticketsim." and the scenario file's name, however
// the file is given (by its library name, from the folder it is in, by a
// path from elsewhere), so that CI groups a scenario's runs as one.
TEST_F(MessagesTest, AJunitClassnameIsTheFilesNameHoweverItIsGiven) {
  const std::string local =
      tmp_.Write("e8.toml",
                 "[buyers]\ncount = 2\nattempts = 1\nthink_ms = 0\n[expect]\n"
                 "violations = \"none\"\n[guard]\nkind = \"file-lock\"\n");
  for (const std::vector<std::string>& given :
       {std::vector<std::string>{"e8.toml", "02-rush-guarded"},
        std::vector<std::string>{"./e8.toml", Library("02-rush-guarded.toml")},
        std::vector<std::string>{local, TICKETSIM_SOURCE_DIR
                                 "/scenarios/../scenarios/02-rush-guarded"
                                 ".toml"}}) {
    SCOPED_TRACE(given[0]);
    // Written by rename, so that no query can find the file half written:
    // both files meet their expectation of no violation.
    const Ran ran = testing::RunShell(fmt::format(
        "cd {} && {} run --junit junit.xml {} {} --buyers 2 --write replace",
        tmp_.path(), TICKETSIM_BINARY, given[0], given[1]));
    ASSERT_EQ(ran.exit_code, 0) << ran.out;
    const std::string xml = ReadFile(tmp_.path() + "/junit.xml");
    EXPECT_TRUE(Has(xml, "classname=\"ticketsim.e8\"")) << xml;
    EXPECT_TRUE(Has(xml, "classname=\"ticketsim.02-rush-guarded\"")) << xml;
  }
}

// `check` names every wrong key of a file at once, in the file's order,
// each with its line and column; past a limit, how many more.
TEST_F(MessagesTest, CheckNamesEveryWrongKeyOfAFile) {
  const std::string bad = tmp_.Write(
      "bad.toml",
      "[buyers]\ncuont = 3\ncount = \"x\"\n[gaurd]\nkind = \"none\"\n"
      "[store]\nkind = \"disk\"\n");
  const Ran ran = RunTicketsimArgs({"check", bad});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_EQ(ran.out,
            bad +
                ":2:1: unknown key \"buyers.cuont\"; did you mean "
                "\"buyers.count\"?\n" +
                bad + ":3:9: buyers.count: expected a whole number, got 'x'\n" +
                bad +
                ":5:1: unknown key \"gaurd.kind\"; did you mean "
                "\"guard.kind\"?\n" +
                bad +
                ":7:8: store.kind: \"disk\" is not one of file | shm | "
                "sqlite | postgres | memory\n");

  std::string many = "[buyers]\n";
  for (int i = 0; i < 25; ++i) many += "wrong" + std::to_string(i) + " = 1\n";
  const std::string lots = tmp_.Write("lots.toml", many);
  const Ran capped = RunTicketsimArgs({"check", lots});
  EXPECT_EQ(capped.exit_code, 2) << capped.out;
  EXPECT_EQ(std::count(capped.out.begin(), capped.out.end(), '\n'), 21)
      << capped.out;
  EXPECT_TRUE(Has(capped.out, lots + ":21:1: unknown key \"buyers.wrong19\""))
      << capped.out;
  EXPECT_TRUE(
      Has(capped.out, lots + ": and 5 more errors (the first 20 are shown)\n"))
      << capped.out;
}

// A library scenario's name misspelt, or without its number, gets the name
// it meant.
TEST_F(MessagesTest, AMisspeltLibraryNameSaysWhichItMeant) {
  for (const auto& [given, meant] :
       {std::pair{"01-rush-unguardd", "01-rush-unguarded"},
        std::pair{"rush-guarded", "02-rush-guarded"},
        std::pair{"15-deadlok", "15-deadlock"}}) {
    const Ran ran = RunTicketsimArgs({"run", given}, tmp_.path());
    EXPECT_EQ(ran.exit_code, 2) << ran.out;
    EXPECT_TRUE(Has(ran.out, std::string(given) + ": no such file")) << ran.out;
    EXPECT_TRUE(Has(ran.out, fmt::format(": did you mean \"{}\"?\n", meant)))
        << ran.out;
  }
}

// `run --help` names every store and guard there is, from the tables the
// scenario loader reads.
TEST_F(MessagesTest, RunHelpListsEveryStoreAndGuard) {
  const Ran ran = RunTicketsimArgs({"run", "--help"});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  const auto line = [&ran](const std::string& flag) {
    const size_t at = ran.out.find("  " + flag + " ");
    return at == std::string::npos
               ? std::string()
               : ran.out.substr(at, ran.out.find('\n', at) - at);
  };
  for (const auto& e : kStoreKinds) {
    EXPECT_TRUE(Has(line("--store"), std::string(e.word))) << line("--store");
  }
  for (const auto& e : kGuardKinds) {
    EXPECT_TRUE(Has(line("--guard"), std::string(e.word))) << line("--guard");
  }
  EXPECT_TRUE(Has(line("--store"), "postgres")) << line("--store");
}

// `run --help` says which schedule to choose for what, beside the words.
TEST_F(MessagesTest, RunHelpSaysWhichScheduleToChooseForWhat) {
  const Ran ran = RunTicketsimArgs({"run", "--help"});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  const size_t at = ran.out.find("  --schedule ");
  ASSERT_NE(at, std::string::npos) << ran.out;
  const std::string help = ran.out.substr(at, ran.out.find('\n', at) - at);
  for (const char* use :
       {"os | seeded | pct | step: who interleaves the buyers",
        "os (default): to show a race a think time opens",
        "seeded: to hunt races with --trials, also with no think time",
        "pct: when you need a bound", "step: you choose", "BENCHMARKS.md"}) {
    EXPECT_TRUE(Has(help, use)) << help;
  }
}

// "The seed" is the random seed alone: the Python program ticketsim grew
// from is the tutorial's, in the library, the help and the manual page.
TEST_F(MessagesTest, TheTutorialsProgramIsNeverCalledTheSeed) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"list"},
        std::vector<std::string>{"run", "--help"},
        std::vector<std::string>{"manual"}}) {
    const Ran ran = RunTicketsimArgs(args);
    EXPECT_EQ(ran.exit_code, 0) << ran.out;
    for (const char* word : {"the seed's", "The seed's", "(the seed)",
                             "as the seed", "the seed does"}) {
      EXPECT_FALSE(Has(ran.out, word)) << args[0] << ": " << word;
    }
  }
  EXPECT_TRUE(
      Has(RunTicketsimArgs({"list"}).out, "The tutorial's ticket rush"));
}

// No think time is said so, and one think time is one number.
TEST_F(MessagesTest, TheSetupSaysThinkTimePlainly) {
  Ran ran = RunTicketsimArgs(
      {"run", Library("03-torn-read.toml"), "--trials", "1"}, tmp_.path());
  EXPECT_TRUE(Has(ran.out, ", no think time")) << ran.out;
  EXPECT_FALSE(Has(ran.out, "think 0-0 ms")) << ran.out;

  ran = RunTicketsimArgs({"run", "--buyers", "2", "--attempts", "1",
                          "--think-ms", "5", "--guard", "file-lock"},
                         tmp_.path());
  EXPECT_TRUE(Has(ran.out, "x 1 attempt, think 5 ms")) << ran.out;
}

// The page gives the run's duration in the text report's words, and a
// crashed buyer's mark is called a crash in the legend, not a kill.
TEST_F(MessagesTest, ThePageSaysDurationAndCrashesAsTheTextDoes) {
  const std::string html = tmp_.path() + "/page.html";
  // Every buyer crashes in its first purchase.
  const Ran ran =
      RunTicketsimArgs({"run", Library("24-crash-before-write.toml"), "--set",
                        "faults.crash_before_write=1", "--html", html},
                       tmp_.path());
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  const std::string page = ReadFile(html);
  EXPECT_FALSE(Has(page, "attempts in 0.000 s")) << page;
  EXPECT_TRUE(Has(page, " ms.</p>") || Has(page, " s.</p>")) << page;
  EXPECT_TRUE(Has(page, "data-legend=\"crashed\"")) << page;
  EXPECT_TRUE(Has(page, "crashed: crash_before_write aborted the buyer"));
  EXPECT_TRUE(Has(page, "<text class=\"crashed\""));
  EXPECT_FALSE(Has(page, "data-legend=\"killed\""));
}

}  // namespace
}  // namespace ticketsim
