// What a new user meets first: the command line's defaults, the rates and
// words of the reports, and the messages for what they get wrong.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "sim/report/rates.h"
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

class FirstStepsTest : public LeavesNothingTest {};

// A duration never reads as nothing: a run too short for seconds is given in
// milliseconds, and one too short for that says so.
TEST(DurationWordsTest, AShortRunIsNeverZeroSeconds) {
  EXPECT_EQ(DurationWords(1.5), "1.50 s");
  EXPECT_EQ(DurationWords(0.202), "0.202 s");
  EXPECT_EQ(DurationWords(0.0004), "0.40 ms");
  EXPECT_EQ(DurationWords(0.0000001), "< 0.01 ms");
  EXPECT_EQ(DurationWords(0), "< 0.01 ms");
  EXPECT_EQ(PerSecond(10, 0), 0);
}

// The text report gives attempts and sales per second apart, and the JSON
// report has both: a guarded rush makes ten attempts for one sale.
TEST_F(FirstStepsTest, ReportsGiveAttemptsAndSalesPerSecondApart) {
  const std::string json = tmp_.path() + "/report.json";
  const Ran ran = RunTicketsimArgs(
      {"run", Library("02-rush-guarded.toml"), "--json", json}, tmp_.path());
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_TRUE(Has(ran.out, " attempts per second, ")) << ran.out;
  EXPECT_TRUE(Has(ran.out, " sales per second (confirmed purchases)"))
      << ran.out;
  EXPECT_FALSE(Has(ran.out, "purchases per second")) << ran.out;
  EXPECT_FALSE(Has(ran.out, "0.000 s")) << ran.out;

  const nlohmann::json report = nlohmann::json::parse(ReadFile(json));
  const nlohmann::json& run = report["scenarios"][0]["runs"][0];
  const double seconds = run["run"]["seconds"].get<double>();
  ASSERT_GT(seconds, 0);
  EXPECT_EQ(run["purchases"]["attempts"], 10);
  EXPECT_EQ(run["purchases"]["confirmed"], 1);
  EXPECT_DOUBLE_EQ(run["run"]["attempts_per_second"].get<double>(),
                   10 / seconds);
  EXPECT_DOUBLE_EQ(run["run"]["sales_per_second"].get<double>(), 1 / seconds);
}

// compare labels its rates apart and its means as means; the trials
// summary says its time is that of all the trials.
TEST_F(FirstStepsTest, CompareLabelsRatesAndMeans) {
  const Ran ran =
      RunTicketsimArgs({"compare", Library("01-rush-unguarded.toml"),
                        "--guards", "none,file-lock", "--trials", "2"},
                       tmp_.path());
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  for (const char* text : {"mean of 2 trials", "mean sold", "mean left",
                           "attempts/s", "sales/s"}) {
    EXPECT_TRUE(Has(ran.out, text)) << text << "\n" << ran.out;
  }
  EXPECT_FALSE(Has(ran.out, "purchases/s")) << ran.out;

  const Ran trials = RunTicketsimArgs(
      {"run", Library("01-rush-unguarded.toml"), "--trials", "2"}, tmp_.path());
  ASSERT_EQ(trials.exit_code, 0) << trials.out;
  EXPECT_TRUE(Has(trials.out, " in all 2 trials\n")) << trials.out;
  EXPECT_TRUE(Has(trials.out, " sales per second")) << trials.out;
}

// Without a scenario file the command line is the classroom rush: the same
// verdict every time, unguarded and guarded, with no torn read. Unguarded,
// its think time makes every buyer read before any writes as long as each
// gets the CPU within 20 ms of the first: a loaded machine may keep some
// off it longer (they read after a write), so the verdict's kinds are the
// same every time, and how many buyers the ticket was sold to is not.
TEST_F(FirstStepsTest, TheBareRushGivesTheSameVerdictEveryTime) {
  const std::regex rush(
      R"(  verdict   VIOLATED: lost update x(\d), oversell x\1, )"
      R"(duplicate seat x\1(, torn read x\d+)?\n)");
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(i);
    const Ran bare = RunTicketsimArgs(
        {"run", "--buyers", "10", "--tickets", "1"}, tmp_.path());
    EXPECT_EQ(bare.exit_code, 1) << bare.out;
    EXPECT_TRUE(std::regex_search(bare.out, rush)) << bare.out;
    EXPECT_TRUE(Has(bare.out, "think 20-50 ms")) << bare.out;

    const Ran guarded = RunTicketsimArgs(
        {"run", "--buyers", "10", "--tickets", "1", "--guard", "file-lock"},
        tmp_.path());
    EXPECT_EQ(guarded.exit_code, 0) << guarded.out;
    EXPECT_TRUE(Has(guarded.out, "  verdict   no violation\n")) << guarded.out;
    EXPECT_TRUE(Has(guarded.out, "sold 1, remaining 0")) << guarded.out;
    EXPECT_FALSE(Has(guarded.out, "TORN READ")) << guarded.out;
  }
}

// A flag still overrides the rush's defaults.
TEST_F(FirstStepsTest, FlagsOverrideTheRushDefaults) {
  const Ran ran =
      RunTicketsimArgs({"run", "--think-ms", "0", "--write", "replace",
                        "--buyers", "3", "--guard", "file-lock"},
                       tmp_.path());
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_TRUE(Has(ran.out, "file (replace) store")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "3 buyers x 1 attempt, no think time")) << ran.out;
}

// Without [expect] the report says that no violation was expected because
// none was given, and whether that held; never "expect none -- NOT MET".
TEST_F(FirstStepsTest, NoExpectSaysWhatWasExpectedAndWhy) {
  const Ran held =
      RunTicketsimArgs({"run", "--guard", "file-lock"}, tmp_.path());
  EXPECT_EQ(held.exit_code, 0) << held.out;
  EXPECT_TRUE(Has(held.out,
                  "  expect    no violation expected (no [expect] given) -- "
                  "held: no violation\n"))
      << held.out;

  const std::string junit = tmp_.path() + "/junit.xml";
  const Ran missed =
      RunTicketsimArgs({"run", "--trials", "2", "--junit", junit}, tmp_.path());
  EXPECT_EQ(missed.exit_code, 1) << missed.out;
  EXPECT_TRUE(Has(missed.out,
                  "  expect    no violation expected (no [expect] given) -- "
                  "did NOT hold: "))
      << missed.out;
  EXPECT_FALSE(Has(missed.out, "expect    none")) << missed.out;
  EXPECT_FALSE(Has(missed.out, "NOT MET")) << missed.out;
  EXPECT_TRUE(
      Has(ReadFile(junit),
          "expected no violation (no [expect] given), got lost update"));
}

// A guarded run's torn read says why and names both fixes, in the text and
// the JSON report; a run without one has no hint.
TEST_F(FirstStepsTest, AGuardedTornReadNamesBothFixes) {
  const std::string json = tmp_.path() + "/report.json";
  const Ran torn = RunTicketsimArgs(
      {"run", Library("03-torn-read.toml"), "--json", json}, tmp_.path());
  ASSERT_EQ(torn.exit_code, 0) << torn.out;  // 03 expects the torn read
  EXPECT_TRUE(Has(torn.out, "  hint: the query is unguarded")) << torn.out;
  EXPECT_TRUE(Has(torn.out, "--scope")) << torn.out;
  EXPECT_TRUE(Has(torn.out, "query-and-buy (guard.scope =")) << torn.out;
  EXPECT_TRUE(Has(torn.out, "--write replace")) << torn.out;
  const nlohmann::json report = nlohmann::json::parse(ReadFile(json));
  const std::string hint =
      report["scenarios"][0]["runs"][0]["hint"].get<std::string>();
  EXPECT_TRUE(Has(hint, "--scope query-and-buy")) << hint;
  EXPECT_TRUE(Has(hint, "--write replace")) << hint;

  const Ran fixed = RunTicketsimArgs(
      {"run", Library("04-torn-read-fix-rename.toml"), "--json", json},
      tmp_.path());
  ASSERT_EQ(fixed.exit_code, 0) << fixed.out;
  EXPECT_FALSE(Has(fixed.out, "hint:")) << fixed.out;
  EXPECT_EQ(
      nlohmann::json::parse(ReadFile(json))["scenarios"][0]["runs"][0]["hint"],
      "");
}

// 05 says how to see the price of guarding the query, and still meets its
// expectation when run that way.
TEST_F(FirstStepsTest, TheScopeFixSaysHowToSeeItsPrice) {
  const Ran list = RunTicketsimArgs({"list"}, tmp_.path());
  EXPECT_TRUE(Has(list.out, "--set 'buyers.query_delay_ms=[1, 1]'"))
      << list.out;
  const Ran ran = RunTicketsimArgs(
      {"run", Library("05-torn-read-fix-scope.toml"), "--attempts", "10",
       "--set", "buyers.query_delay_ms=[1, 1]"},
      tmp_.path());
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_TRUE(Has(ran.out, "  expect    none -- met")) << ran.out;
}

// --version prints the version and exits 0.
TEST_F(FirstStepsTest, VersionPrintsTheVersion) {
  const Ran ran = RunTicketsimArgs({"--version"});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_EQ(ran.out, "ticketsim " TICKETSIM_VERSION "\n");
}

// A library scenario can be run by the name `list` shows; a name that is
// neither a file nor a library scenario is exit 2, naming it.
TEST_F(FirstStepsTest, RunTakesALibraryScenarioByName) {
  const Ran ran =
      RunTicketsimArgs({"run", "01-rush-unguarded", "--quiet"}, tmp_.path());
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_TRUE(Has(ran.out, "01-rush-unguarded: VIOLATED (")) << ran.out;

  const Ran missing = RunTicketsimArgs({"run", "no-such-rush"}, tmp_.path());
  EXPECT_EQ(missing.exit_code, 2) << missing.out;
  EXPECT_TRUE(Has(missing.out, "no-such-rush: no such file or directory"))
      << missing.out;
  EXPECT_TRUE(Has(missing.out, "`ticketsim list`")) << missing.out;
}

// --quiet prints one line per scenario and nothing else: its name, its
// verdict, trials violated of all, the expectation, the exit status.
TEST_F(FirstStepsTest, QuietPrintsOneLinePerScenario) {
  // A lock that holds, in a file that expects it not to.
  const std::string held =
      tmp_.Write("held.toml",
                 "[store]\nkind = \"shm\"\n[guard]\nkind = \"robust-mutex\"\n"
                 "[expect]\nviolations = \"some\"\n");
  std::string out;
  const int code = testing::RunTicketsim(
      "run --quiet " + Library("01-rush-unguarded.toml") + " " +
          Library("07-shm-counter-locked.toml") + " " + held +
          " --buyers 4 --attempts 2 --trials 2 --schedule seeded",
      &out, /*merge_stderr=*/false);
  EXPECT_EQ(code, 1) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 3) << out;
  EXPECT_TRUE(out.starts_with(
      "01-rush-unguarded: VIOLATED (lost update, oversell, duplicate seat"))
      << out;
  EXPECT_TRUE(Has(out,
                  "), 2/2 trials violated, expectation met, exit 0\n"
                  "07-shm-counter-locked: no violation, 0/2 trials "
                  "violated, expectation met, exit 0\n"
                  "held: no violation, 0/2 trials violated, expectation "
                  "NOT met, exit 1\n"))
      << out;
}

// --quiet and --narrate (or --verdicts-first) ask for different text.
TEST_F(FirstStepsTest, QuietRefusesMoreText) {
  for (const char* more : {"--narrate", "--verdicts-first"}) {
    const Ran ran = RunTicketsimArgs(
        {"run", "--quiet", more, Library("01-rush-unguarded.toml")});
    EXPECT_EQ(ran.exit_code, 2) << ran.out;
    EXPECT_TRUE(Has(ran.out, more)) << ran.out;
  }
}

// --verdicts-first: every scenario's verdict in short (the first witness
// of each kind, or who bought) before any full report, so that the verdicts
// of the classroom pair fit on the first screen (24 lines).
TEST_F(FirstStepsTest, VerdictsFirstShowsEveryVerdictOnTheFirstScreen) {
  // The guarded rush with its query guarded too, so that under a controlled
  // schedule no query can land in a truncating write.
  const std::string guarded = tmp_.Write(
      "guarded.toml",
      "name = \"The rush with its lock\"\n[tickets]\ninitial = 1\n"
      "[store]\nkind = \"file\"\n[guard]\nkind = \"named-mutex\"\n"
      "scope = \"query-and-buy\"\n[buyers]\ncount = 10\nattempts = 1\n"
      "think_ms = [20, 50]\nseed = 42\n[expect]\nviolations = \"none\"\n");
  const Ran ran =
      RunTicketsimArgs({"run", "--verdicts-first", "--schedule", "seeded",
                        Library("01-rush-unguarded.toml"), guarded},
                       tmp_.path());
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  std::string screen;
  size_t at = 0;
  for (int line = 0; line < 24 && at < ran.out.size(); ++line) {
    const size_t end = ran.out.find('\n', at);
    screen += ran.out.substr(at, end - at + 1);
    at = end == std::string::npos ? ran.out.size() : end + 1;
  }
  EXPECT_TRUE(Has(screen, "The rush: ten buyers, one ticket, no lock\n"))
      << screen;
  EXPECT_TRUE(Has(screen, "  verdict   VIOLATED: lost update x")) << screen;
  EXPECT_TRUE(Has(screen, "    - seat 1 was sold ")) << screen;
  EXPECT_TRUE(Has(screen,
                  "The rush with its lock\n  verdict   no violation\n"
                  "    - 1 ticket sold, to buyer "))
      << screen;
  EXPECT_TRUE(Has(screen, "; 9 buyers were told it was sold out\n")) << screen;
  // The full reports follow, in order.
  const size_t table = ran.out.find("  buyer       pid");
  ASSERT_NE(table, std::string::npos) << ran.out;
  EXPECT_GT(table, ran.out.find("were told it was sold out")) << ran.out;
  EXPECT_NE(ran.out.find("  buyer       pid", table + 1), std::string::npos)
      << ran.out;
}

// `make run` builds the program alone, not the tests, and shows the
// verdicts first.
TEST_F(FirstStepsTest, MakeRunBuildsOnlyTheProgram) {
  const Ran ran =
      testing::RunProgram({"/usr/bin/make", "-n", "-C", TICKETSIM_SOURCE_DIR,
                           "run", "BUILD=" + tmp_.path() + "/b", "JOBS=2"});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  const std::string build = "cmake --build " + tmp_.path() + "/b -j 2";
  EXPECT_TRUE(Has(ran.out, build + " --target ticketsim ")) << ran.out;
  EXPECT_FALSE(Has(ran.out, build + "\n")) << ran.out;  // every target
  EXPECT_TRUE(Has(ran.out, "ticketsim run --verdicts-first ")) << ran.out;
}

struct BadScenario {
  const char* name;
  const char* text;
  const char* where;  // the file:line:column after the file's path
  const char* says;
};

// A student's mistakes in a scenario file: exit 2, the place, what is
// wrong, and the right form.
TEST_F(FirstStepsTest, ScenarioMistakesSayTheRightForm) {
  for (const BadScenario& bad : {
           BadScenario{"range", "[buyers]\nthink_ms = 20-50\n", ":2:",
                       "think_ms = 20-50 is not a number or a range: a range "
                       "is written [20, 50]"},
           BadScenario{"open", "name = \"Rush\n[buyers]\ncount = 3\n", ":1:",
                       "the string is not closed: a '\"' is missing at its "
                       "end (name = \"Rush\")"},
           BadScenario{"write",
                       "[store]\nkind = \"shm\"\nwrite = \"replace\"\n",
                       ":3:", "store.write only applies to the file store"},
           BadScenario{"scope",
                       "[guard]\nkind = \"none\"\nscope = "
                       "\"query-and-buy\"\n",
                       ":3:", "but there is no guard"},
           BadScenario{"order",
                       "[guard]\nkind = \"named-mutex\"\norder = "
                       "\"opposite\"\n",
                       ":3:",
                       "guard.order orders the guards of several "
                       "events, but this scenario sells one"},
       }) {
    SCOPED_TRACE(bad.name);
    const std::string file =
        tmp_.Write(std::string(bad.name) + ".toml", bad.text);
    const Ran ran = RunTicketsimArgs({"check", file}, tmp_.path());
    EXPECT_EQ(ran.exit_code, 2) << ran.out;
    EXPECT_TRUE(Has(ran.out, file + bad.where)) << ran.out;
    EXPECT_TRUE(Has(ran.out, bad.says)) << ran.out;
  }
}

// The same mistakes on the command line name the flag.
TEST_F(FirstStepsTest, CommandLineMistakesNameTheFlag) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"run", "--set", "buyers.think_ms=20,50"},
       "--set buyers.think_ms=20,50: buyers.think_ms: expected a number or a "
       "range, got '20,50': a range is written [20, 50] (on the command line: "
       "--set 'buyers.think_ms=[20, 50]')"},
      {{"run", "--store", "shm", "--write", "replace"},
       "--write replace: store.write only applies to the file store"},
      {{"run", "--scope", "query-and-buy"},
       "--scope query-and-buy: guard.scope = \"query-and-buy\" takes the guard "
       "for the query too, but there is no guard"},
      {{"run", "--set", "guard.order=opposite"},
       "--set guard.order=opposite: guard.order orders the guards"},
      {{"run", "--set", "buyers.count=3", "buyers.seed=4"},
       "buyers.seed=4: not a scenario file; a setting needs a --set of its "
       "own (--set buyers.seed=4)"},
  };
  for (const auto& [args, says] : cases) {
    SCOPED_TRACE(args.back());
    const Ran ran = RunTicketsimArgs(args, tmp_.path());
    EXPECT_EQ(ran.exit_code, 2) << ran.out;
    EXPECT_TRUE(Has(ran.out, says)) << ran.out;
  }
}

// A scenario file after --set k=v is the scenario, not a second setting.
TEST_F(FirstStepsTest, AFileAfterSetIsTheScenario) {
  const Ran ran = RunTicketsimArgs(
      {"check", "--set", "buyers.count=3", Library("01-rush-unguarded.toml")},
      tmp_.path());
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_TRUE(Has(ran.out, "01-rush-unguarded.toml: ")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "3 buyers x 1 attempt")) << ran.out;
}

// No library scenario sets a key the rest of it ignores, and compare's row
// without a guard does not count a scope as one.
TEST_F(FirstStepsTest, TheLibraryTripsNoIgnoredKey) {
  const Ran check = RunTicketsimArgs({"check", Library("")}, tmp_.path());
  EXPECT_EQ(check.exit_code, 0) << check.out;
  const Ran compare = RunTicketsimArgs(
      {"compare", Library("05-torn-read-fix-scope.toml"), "--guards",
       "none,named-mutex", "--attempts", "2", "--tickets", "20"},
      tmp_.path());
  EXPECT_EQ(compare.exit_code, 0) << compare.out;
  const Ran flags =
      RunTicketsimArgs({"compare", "--scope", "query-and-buy", "--guards",
                        "file-lock,none", "--buyers", "2"},
                       tmp_.path());
  EXPECT_EQ(flags.exit_code, 0) << flags.out;
}

}  // namespace
}  // namespace ticketsim
