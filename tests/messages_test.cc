// The words ticketsim answers a newcomer's slips and runs with: numbers
// written as strings, misspelt commands, options and values, and the lines
// of the reports that should say a thing once and plainly.
#include <gtest/gtest.h>

#include <string>
#include <vector>

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
                  "check, compare, list, clean, step, buyer"))
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

// A JUnit classname is the scenario file's path without its extension,
// dotted, with no leading dot, for a library scenario as for any other.
TEST_F(MessagesTest, JunitClassnamesHaveNoLeadingDot) {
  const std::string local =
      tmp_.Write("e8.toml",
                 "[buyers]\ncount = 2\nattempts = 1\nthink_ms = 0\n[expect]\n"
                 "violations = \"none\"\n[guard]\nkind = \"file-lock\"\n");
  const std::string junit = tmp_.path() + "/junit.xml";
  const Ran ran =
      RunTicketsimArgs({"run", "--junit", junit, local,
                        Library("02-rush-guarded.toml"), "--buyers", "2"},
                       tmp_.path());
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  const std::string xml = ReadFile(junit);
  EXPECT_FALSE(Has(xml, "classname=\".")) << xml;
  std::string dotted = tmp_.path().substr(1) + "/e8";
  for (char& c : dotted) c = c == '/' ? '.' : c;
  EXPECT_TRUE(Has(xml, "classname=\"" + dotted + "\"")) << xml;
  EXPECT_TRUE(Has(xml, "scenarios.02-rush-guarded\"")) << xml;
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
