// Scenario files: what a good one sets, and what a bad one gets back. Every
// malformed file is fed to `check` and to `run`: exit 2, a message that
// starts with file:line:column, and nothing created or left behind.
#include "sim/scenario/scenario_file.h"

#include <gtest/gtest.h>

#include <string>

#include "sim/run/trials.h"
#include "sim/scenario/scenario_keys.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::LeftoversOf;
using ::ticketsim::testing::Ran;
using ::ticketsim::testing::RunTicketsimArgs;
using ::ticketsim::testing::TempDir;

TEST(ScenarioFileTest, SetsEveryKeyItNames) {
  TempDir dir;
  const std::string path = dir.Write("good.toml", R"(
name = "good"
description = "all the sections"
[tickets]
initial = 7
[store]
kind = "sqlite"
journal = "delete"
busy_timeout_ms = 100
[guard]
kind = "sqlite-immediate"
scope = "query-and-buy"
timeout_ms = 900
[buyers]
count = 3
attempts = 4
method = "atomic"
think_ms = [1, 2.5]
query_delay_ms = 3
seed = 11
[faults]
kill_holder = 0.25
[expect]
violations = "some"
kinds = ["lost update", "torn read"]
[run]
trials = 5
timeout_ms = 60000
)");
  LoadedScenario loaded;
  const Status s = LoadScenario(path, {}, &loaded);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const Scenario& sc = loaded.scenario;
  EXPECT_EQ(sc.name, "good");
  EXPECT_EQ(sc.initial, 7);
  EXPECT_EQ(sc.store.kind, StoreKind::kSqlite);
  EXPECT_EQ(sc.store.journal, SqliteJournal::kDelete);
  EXPECT_EQ(sc.store.busy_timeout_ms, 100);
  EXPECT_EQ(sc.guard.kind, GuardKind::kSqliteImmediate);
  EXPECT_EQ(sc.guard.scope, Scope::kQueryAndBuy);
  EXPECT_EQ(sc.guard.timeout_ms, 900);
  EXPECT_EQ(sc.buyers.count, 3);
  EXPECT_EQ(sc.buyers.attempts, 4);
  EXPECT_EQ(sc.buyers.method, Method::kAtomic);
  EXPECT_EQ(sc.buyers.think_ms.min, 1);
  EXPECT_EQ(sc.buyers.think_ms.max, 2.5);
  EXPECT_EQ(sc.buyers.query_delay_ms.min, 3);
  EXPECT_EQ(sc.buyers.query_delay_ms.max, 3);
  EXPECT_EQ(sc.buyers.seed, 11u);
  EXPECT_EQ(sc.faults.kill_holder, 0.25);
  EXPECT_EQ(sc.expect.violations, Expectation::kSome);
  ASSERT_EQ(sc.expect.kinds.size(), 2u);
  EXPECT_EQ(sc.expect.kinds[1], ViolationKind::kTornRead);
  EXPECT_EQ(sc.trials, 5);
  EXPECT_EQ(sc.run_timeout_ms, 60000);
  EXPECT_EQ(loaded.where.at("buyers.count"), path + ":15:9");
}

// The command line's settings come after the file, in order, and win; a
// file's name is the scenario's name when it sets none.
TEST(ScenarioFileTest, OverridesWinAndAreBlamedByFlag) {
  TempDir dir;
  const std::string path =
      dir.Write("rush.toml", "[buyers]\ncount = 10\nseed = 1\n");
  const std::vector<Override> overrides = {
      {"buyers.count=3", "--buyers 3"},
      {"buyers.count=4", "--set buyers.count=4"}};
  LoadedScenario loaded;
  ASSERT_TRUE(LoadScenario(path, overrides, &loaded).ok());
  EXPECT_EQ(loaded.scenario.name, "rush");
  EXPECT_EQ(loaded.scenario.buyers.count, 4);
  EXPECT_EQ(loaded.scenario.buyers.seed, 1u);
  EXPECT_EQ(loaded.where.at("buyers.count"), "--set buyers.count=4");

  const std::vector<Override> bad = {
      {"guard.kind=sqlite-immediate", "--guard sqlite-immediate"}};
  const Status s = LoadScenario(path, bad, &loaded);
  EXPECT_EQ(s.message().rfind("--guard sqlite-immediate: guard.kind:", 0), 0u)
      << s.message();
}

// A setting written with spaces around '=' sets its key and, when the
// scenario does not hold together, is blamed for it: not the file's line
// that it overrode.
TEST(ScenarioFileTest, SpacedOverrideIsBlamedByItsFlag) {
  TempDir dir;
  const std::string path =
      dir.Write("pool.toml", "[buyers]\ncount = 10\npool = 2\n");
  const std::vector<Override> overrides = {
      {"buyers.pool = 50", "--set buyers.pool = 50"}};
  LoadedScenario loaded;
  const Status s = LoadScenario(path, overrides, &loaded);
  EXPECT_EQ(
      s.message().rfind("--set buyers.pool = 50: buyers.pool: 50 workers", 0),
      0u)
      << s.message();
}

// Letters that toml++ 3.3 must not be asked about (sim/scenario/toml_text.h)
// read as written: in strings, at the start of a continued line, in a bare
// --set.
TEST(ScenarioFileTest, NonAsciiLettersReadAsWritten) {
  const std::string text =
      "name = \"\u00c9l\u00e8ves\"\n"
      "description = \"\"\"\\\n  \u00c9l\u00e8ves, \\\n\t\u042f\"\"\"\n";
  LoadedScenario loaded;
  const Status s = LoadScenarioText("fr.toml", text, {}, &loaded);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(loaded.scenario.name, "\u00c9l\u00e8ves");
  EXPECT_EQ(loaded.scenario.description, "\u00c9l\u00e8ves, \u042f");

  const std::vector<Override> bare = {
      {"name=\u00e9l\u00e8ves", "--set name=\u00e9l\u00e8ves"}};
  LoadedScenario set;
  ASSERT_TRUE(
      LoadScenarioText("fr.toml", "[buyers]\ncount = 1\n", bare, &set).ok());
  EXPECT_EQ(set.scenario.name, "\u00e9l\u00e8ves");
}

TEST(ScenarioFileTest, NearestKeyFindsTyposAndOtherSections) {
  EXPECT_EQ(NearestKey("buyers.cuont"), "buyers.count");
  EXPECT_EQ(NearestKey("buyer.count"), "buyers.count");
  EXPECT_EQ(NearestKey("count"), "buyers.count");
  EXPECT_EQ(NearestKey("gaurd.kind"), "guard.kind");
  EXPECT_EQ(NearestKey("completely.different"), "");
}

TEST(ScenarioFileTest, DirectoriesExpandToTheirScenariosInOrder) {
  TempDir dir;
  dir.Write("b.toml", "name = \"b\"\n");
  dir.Write("a.toml", "name = \"a\"\n");
  dir.Write("notes.txt", "not a scenario\n");
  std::vector<std::string> files;
  const std::vector<std::string> paths = {dir.path()};
  ASSERT_TRUE(ExpandScenarioPaths(paths, &files).ok());
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0], dir.path() + "/a.toml");
  EXPECT_EQ(files[1], dir.path() + "/b.toml");
  files.clear();
  const std::vector<std::string> missing = {dir.path() + "/nope"};
  EXPECT_FALSE(ExpandScenarioPaths(missing, &files).ok());
}

// Known values of the Wilson score interval at 95%.
TEST(WilsonTest, MatchesKnownValues) {
  const Interval none = WilsonInterval(0, 20);
  EXPECT_NEAR(none.low, 0.0, 1e-9);
  EXPECT_NEAR(none.high, 0.1611, 1e-4);
  const Interval all = WilsonInterval(20, 20);
  EXPECT_NEAR(all.low, 0.8389, 1e-4);
  EXPECT_NEAR(all.high, 1.0, 1e-9);
  const Interval half = WilsonInterval(10, 20);
  EXPECT_NEAR(half.low, 0.2993, 1e-4);
  EXPECT_NEAR(half.high, 0.7007, 1e-4);
  const Interval hundred = WilsonInterval(99, 100);
  EXPECT_NEAR(hundred.low, 0.9455, 1e-4);
}

TEST(ExpectationTest, SomeWantsTheNamedKinds) {
  Scenario s;
  Verdict clean;
  Verdict torn;
  torn.violations.push_back({ViolationKind::kTornRead, 3, "", {}});
  EXPECT_EQ(ExpectationMiss(s, clean), "");
  EXPECT_NE(ExpectationMiss(s, torn), "");
  s.expect.violations = Expectation::kSome;
  EXPECT_NE(ExpectationMiss(s, clean), "");
  EXPECT_EQ(ExpectationMiss(s, torn), "");
  s.expect.kinds = {ViolationKind::kLostUpdate};
  EXPECT_NE(ExpectationMiss(s, torn).find("expected lost update"),
            std::string::npos);
}

// Keys of tens of thousands of parts: each part is a table nested in the
// last, which toml++ builds and destroys by recursion.
std::string Repeated(std::string_view part, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += part;
  return out;
}
const std::string kDeepKey = Repeated("a.", 40000) + "b = 1\n";
const std::string kDeepHeader = "[" + Repeated("a.", 40000) + "b]\nx = 1\n";
const std::string kDeepInline = "x = {" + Repeated("a.", 40000) + "b = 1}\n";

struct BadFile {
  const char* name;
  std::string_view content;
  const char* at;        // "line:column"
  const char* fragment;  // part of what is wrong
};

// Test names show the case, not its bytes.
void PrintTo(const BadFile& bad, std::ostream* out) { *out << bad.name; }

class BadFileTest : public ::testing::TestWithParam<BadFile> {
 protected:
  // Runs ticketsim `command` on the bad file with a private TMPDIR, and
  // checks the exit code, the message, and that nothing was made.
  void Expect(const std::string& command) {
    TempDir dir;
    const std::string path = dir.Write(std::string(GetParam().name) + ".toml",
                                       std::string(GetParam().content));
    TempDir tmp;
    const Ran ran = RunTicketsimArgs({command, path}, tmp.path());
    EXPECT_EQ(ran.exit_code, 2) << ran.out;
    const std::string where = path + ":" + GetParam().at + ": ";
    EXPECT_EQ(ran.out.rfind(where, 0), 0u)
        << "expected the message to start with " << where << "\n"
        << ran.out;
    EXPECT_NE(ran.out.find(GetParam().fragment), std::string::npos) << ran.out;
    EXPECT_TRUE(tmp.Entries().empty()) << "a temp file was created";
    EXPECT_TRUE(LeftoversOf(ran.pid).empty());
  }
};

TEST_P(BadFileTest, CheckSaysWhereAndWhat) { Expect("check"); }
TEST_P(BadFileTest, RunSaysWhereAndWhatAndRunsNothing) { Expect("run"); }

INSTANTIATE_TEST_SUITE_P(
    Malformed, BadFileTest,
    ::testing::Values(
        BadFile{"header", "[buyers\ncount = 3\n", "1:8", "expected ']'"},
        BadFile{"string", "name = \"unterminated\n", "1:21", "string"},
        BadFile{"duplicate", "[buyers]\ncount = 1\ncount = 2\n", "3:9",
                "redefine"},
        BadFile{"misspelt", "[buyers]\ncuont = 3\n", "2:1",
                "unknown key \"buyers.cuont\"; did you mean \"buyers.count\"?"},
        BadFile{"section", "[buyer]\ncount = 3\n", "2:1",
                "did you mean \"buyers.count\"?"},
        BadFile{"top", "nmae = \"x\"\n", "1:1", "did you mean \"name\"?"},
        BadFile{"string_for_int", "[buyers]\ncount = \"ten\"\n", "2:9",
                "buyers.count: expected a whole number"},
        BadFile{"float_for_int", "[buyers]\ncount = 2.5\n", "2:9",
                "expected a whole number, got 2.5"},
        BadFile{"int_for_word", "[store]\nkind = 3\n", "2:8",
                "store.kind: expected a string"},
        BadFile{"word", "[guard]\nkind = \"mutex\"\n", "2:8",
                "\"mutex\" is not one of none | named-mutex"},
        BadFile{"zero_buyers", "[buyers]\ncount = 0\n", "2:9",
                "0 is out of range [1, 100000]"},
        BadFile{"negative", "[tickets]\ninitial = -1\n", "2:11",
                "-1 is out of range"},
        BadFile{"chance", "[faults]\nkill_holder = 1.5\n", "2:15",
                "1.5 is out of range [0, 1]"},
        BadFile{"reversed", "[buyers]\nthink_ms = [5, 1]\n", "2:12",
                "the range is reversed"},
        BadFile{"three", "[buyers]\nthink_ms = [1, 2, 3]\n", "2:12",
                "expected [min, max], got 3 values"},
        BadFile{"guard_for_store",
                "[store]\nkind = \"file\"\n\n[guard]\nkind = "
                "\"sqlite-immediate\"\n",
                "5:8", "works only with store.kind = \"sqlite\""},
        BadFile{"atomic_file",
                "[store]\nkind = \"file\"\n[buyers]\nmethod = \"atomic\"\n",
                "4:10", "the file store has no atomic step"},
        BadFile{"too_many", "[buyers]\ncount = 100001\n", "2:9",
                "out of range [1, 100000]"},
        BadFile{"more_than_the_machine", "[buyers]\ncount = 100000\n", "2:9",
                "this machine can start only about"},
        BadFile{"more_threads_than_the_machine",
                "[store]\nkind = \"memory\"\n[buyers]\nmode = \"thread\"\n"
                "count = 100000\n",
                "5:9", "100000 threads, but this machine can start only about"},
        BadFile{"threads_on_hosts",
                "[buyers]\nhosts = [\"a\"]\nmode = \"thread\"\n", "3:8",
                "buyers on hosts are processes of each host's agent"},
        BadFile{"history", "[buyers]\ncount = 100000\nattempts = 1000000\n",
                "3:12", "history = \"summary\" keeps counts only"},
        BadFile{"empty", "", "1:1", "the file is empty"},
        BadFile{"blank", "  \n\n\t\n", "1:1", "the file is empty"},
        BadFile{"comments", "# nothing\n\n", "1:1", "the file sets no key"},
        BadFile{"binary",
                std::string_view("\x7f"
                                 "ELF\x02\x01\x01\0\0\0",
                                 10),
                "1:8", "binary file"},
        BadFile{"utf8", "name = \"\xff\xfe\"\n", "1:8", "utf-8"},
        BadFile{"section_value", "buyers = 3\n", "1:10", "is a section"},
        BadFile{"array_of_tables", "[[buyers]]\ncount = 1\n", "1:1",
                "is a section"},
        BadFile{"key_as_table", "[buyers.count]\nx = 1\n", "1:1",
                "expected a whole number, got a table"},
        BadFile{"expectation", "[expect]\nviolations = \"maybe\"\n", "2:14",
                "\"maybe\" is not one of none | some"},
        BadFile{"kind", "[expect]\nviolations = \"some\"\nkinds = [\"torn\"]\n",
                "3:9", "\"torn\" is not one of"},
        BadFile{"kinds_without_some", "[expect]\nkinds = [\"torn read\"]\n",
                "2:9", "need expect.violations = \"some\""},
        BadFile{"permits", "[guard]\nkind = \"file-lock\"\npermits = 3\n",
                "3:11", "only the named-semaphore guard has permits"},
        BadFile{"pool", "[buyers]\ncount = 4\npool = 8\n", "3:8",
                "8 workers for 4 buyers"},
        BadFile{"seed", "[buyers]\nseed = -5\n", "2:8", "out of range"},
        BadFile{"non_ascii_key", "[dur\u00e9e]\ncount = 1\n", "1:5",
                "outside quotes"},
        BadFile{"non_ascii_value", "name = \u00e9l\u00e8ves\n", "1:8",
                "outside quotes"},
        BadFile{"non_ascii_escape", "description = \"\"\"\\\u00e9\"\"\"\n",
                "1:19", "not an escape sequence"},
        BadFile{"deep_key", kDeepKey, "1:32", "more than 16 dotted parts"},
        BadFile{"deep_header", kDeepHeader, "1:33",
                "more than 16 dotted parts"},
        BadFile{"deep_inline", kDeepInline, "1:37",
                "more than 16 dotted parts"},
        BadFile{"deep_unknown", "a.a.a.a.a.a.a.a.a.a.b = 1\n", "1:15",
                "no scenario key has more than 7 parts"},
        BadFile{"array_for_string", "name = [inf, nan, -9223372036854775808]\n",
                "1:8",
                "expected a string, got [ inf, nan, -9223372036854775808 ]"}),
    [](const ::testing::TestParamInfo<BadFile>& info) {
      return std::string(info.param.name);
    });

// A path that is not there, or a directory with no scenario: exit 2, named.
TEST(BadPathTest, MissingFileAndEmptyDirectory) {
  TempDir dir;
  Ran ran = RunTicketsimArgs({"check", dir.path() + "/nope.toml"});
  EXPECT_EQ(ran.exit_code, 2);
  EXPECT_NE(ran.out.find("nope.toml: no such file"), std::string::npos)
      << ran.out;
  ran = RunTicketsimArgs({"run", dir.path()});
  EXPECT_EQ(ran.exit_code, 2);
  EXPECT_NE(ran.out.find("no *.toml scenario"), std::string::npos) << ran.out;
}

// One bad file in a suite stops the whole suite before anything runs.
TEST(BadPathTest, OneBadFileStopsTheSuite) {
  TempDir dir;
  dir.Write("a-good.toml", "[buyers]\ncount = 2\n");
  dir.Write("b-bad.toml", "[buyers]\ncount = 0\n");
  TempDir tmp;
  const Ran ran = RunTicketsimArgs({"run", dir.path()}, tmp.path());
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_NE(ran.out.find("b-bad.toml:2:9:"), std::string::npos) << ran.out;
  EXPECT_EQ(ran.out.find("verdict"), std::string::npos) << ran.out;
  EXPECT_TRUE(tmp.Entries().empty());
}

}  // namespace
}  // namespace ticketsim
