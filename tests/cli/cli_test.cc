// The ticketsim binary end to end, as a teacher or a CI pipeline runs it.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::Has;
using ::ticketsim::testing::LeftoversOfEndedRuns;
using ::ticketsim::testing::Ran;
using ::ticketsim::testing::RunProgram;
using ::ticketsim::testing::RunTicketsim;
using ::ticketsim::testing::RunTicketsimArgs;
using ::ticketsim::testing::RunTicketsimOnTerminal;
using ::ticketsim::testing::TempDir;

constexpr const char* kLibrary = TICKETSIM_SOURCE_DIR "/scenarios";

// The classroom demo, with a think window wide enough that every buyer
// reads before any writes on a loaded machine too (the classroom's 20-50 ms
// needs each buyer on the CPU within 20 ms of the first).
constexpr const char* kDemo =
    "run --store file --buyers 10 --tickets 1 --think-ms 200,300";

class CliTest : public ::testing::Test {
 protected:
  void TearDown() override {
    const auto left = LeftoversOfEndedRuns();
    EXPECT_TRUE(left.empty()) << "left behind: " << left.front();
  }
};

// The classroom demo without a guard sells the one ticket ten times, shows
// the witness, and exits 1.
TEST_F(CliTest, TheUnguardedDemoSellsTheTicketTenTimes) {
  std::string out;
  EXPECT_EQ(RunTicketsim(std::string(kDemo) + " --guard none", &out), 1);
  EXPECT_NE(out.find("sold 10, remaining 0"), std::string::npos) << out;
  EXPECT_NE(out.find("seat 1 was sold 10 times"), std::string::npos) << out;
  EXPECT_NE(out.find("DUPLICATE SEAT x9"), std::string::npos) << out;
  EXPECT_NE(out.find("LOST UPDATE x9"), std::string::npos) << out;
}

// With a file lock the ticket is sold once, nine buyers hear sold out, and
// the exit code is 0.
TEST_F(CliTest, TheGuardedDemoSellsItOnce) {
  std::string out;
  EXPECT_EQ(RunTicketsim(std::string(kDemo) + " --guard file-lock", &out), 0);
  EXPECT_NE(out.find("sold 1, remaining 0"), std::string::npos) << out;
  EXPECT_NE(out.find("no violation"), std::string::npos) << out;
}

// --json - puts the whole report on stdout, and it parses.
TEST_F(CliTest, JsonReportOnStdout) {
  std::string out;
  EXPECT_EQ(RunTicketsim(std::string(kDemo) + " --guard none --seed 9 --json -",
                         &out, /*merge_stderr=*/false),
            1);
  const auto suite = nlohmann::json::parse(out);
  EXPECT_EQ(suite["version"], 3);
  EXPECT_EQ(suite["exit_code"], 1);
  EXPECT_EQ(suite["passed"], false);
  ASSERT_EQ(suite["scenarios"].size(), 1u);
  const auto& scenario = suite["scenarios"][0];
  EXPECT_EQ(scenario["trials"], 1);
  EXPECT_EQ(scenario["trials_with_violations"], 1);
  EXPECT_EQ(scenario["seed"], 9);
  ASSERT_EQ(scenario["runs"].size(), 1u);
  const auto& report = scenario["runs"][0];
  EXPECT_EQ(report["seed"], 9);
  EXPECT_EQ(report["ok"], false);
  EXPECT_EQ(report["tickets"]["initial"], 1);
  EXPECT_EQ(report["tickets"]["sold"], 10);
  EXPECT_EQ(report["tickets"]["remaining"], 0);
  EXPECT_EQ(report["buyers"].size(), 10u);
  EXPECT_EQ(report["run"]["buyer_processes"], 10);
  bool found_duplicate = false;
  for (const auto& v : report["violations"]) {
    if (v["kind"] == "duplicate seat") {
      found_duplicate = true;
      EXPECT_EQ(v["count"], 9);
      EXPECT_FALSE(v["witnesses"].empty());
    }
  }
  EXPECT_TRUE(found_duplicate);
}

// Bad flags and values exit 2 with a message saying what is wrong, and start
// nothing.
struct BadInput {
  const char* args;
  const char* message;
};

class BadInputTest : public CliTest,
                     public ::testing::WithParamInterface<BadInput> {};

TEST_P(BadInputTest, ExitsTwoAndSaysWhy) {
  std::string out;
  EXPECT_EQ(RunTicketsim(GetParam().args, &out), 2) << out;
  EXPECT_NE(out.find(GetParam().message), std::string::npos) << out;
}

INSTANTIATE_TEST_SUITE_P(
    Flags, BadInputTest,
    ::testing::Values(
        BadInput{"run --buyers 0", "buyers.count: 0 is out of range"},
        BadInput{"run --buyers many", "buyers.count: expected a whole number"},
        BadInput{"run --seed 9223372036854775808",
                 "buyers.seed: 9223372036854775808 is out of range [0, "
                 "9223372036854775807]"},
        BadInput{"run --store nosuch", "\"nosuch\" is not one of file | shm"},
        BadInput{"run --guard sqlite-immediate",
                 "works only with store.kind = \"sqlite\""},
        BadInput{"run --method atomic", "the file store has no atomic step"},
        BadInput{"run --think-ms 5,1", "the range is reversed"},
        BadInput{"run --kill-holder 2", "faults.kill_holder: 2"},
        BadInput{"run --set nosuch.key=1", "unknown key \"nosuch.key\""},
        BadInput{"run --set history=summary --html x.html",
                 "--html needs every event"},
        BadInput{"run --set history=summary --narrate",
                 "--narrate needs every event"},
        BadInput{"run --set 'events=[\"a\",\"b\"]' --set history=summary",
                 "several events need history = \"full\""},
        BadInput{"run --set 'events=[\"a\",\"b\"]' --store sqlite "
                 "--guard sqlite-immediate",
                 "cannot each have their own"},
        BadInput{"run --set faults.pause_holder=1.5",
                 "faults.pause_holder: 1.5 is out of range"},
        BadInput{"run --set guard.order=sideways",
                 "\"sideways\" is not one of global | opposite"},
        BadInput{"run --set buyers.count", "expected key=value"},
        BadInput{"run --steps ''",
                 "--steps '': run.steps: expected a list of buyer indices"},
        BadInput{"run --buyers ''",
                 "--buyers '': buyers.count: expected a whole number"},
        BadInput{"run --frobnicate", "frobnicate"}, BadInput{"", "subcommand"}),
    [](const ::testing::TestParamInfo<BadInput>& info) {
      std::string name = info.param.args[0] ? info.param.args : "nothing";
      for (char& c : name)
        c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return name;
    });

// A scenario file whose name holds a newline: the replay line `step` prints
// names that file, quoted as a shell reads it back ($'...\n...'), and not
// the file whose name holds a backslash and an n in its place.
TEST_F(CliTest, TheReplayLineNamesAScenarioWithANewlineInItsName) {
  TempDir dir;
  constexpr const char* kScenario =
      "name = \"{}\"\n[tickets]\ninitial = 1\n[buyers]\ncount = 2\n";
  const std::string real =
      dir.Write("rush\nsecond.toml", fmt::format(kScenario, "the real one"));
  dir.Write("rush\\nsecond.toml", fmt::format(kScenario, "a decoy"));
  const Ran stepped =
      RunProgram({"/bin/sh", "-c", "echo '0 0 1 1 q' | \"$0\" step \"$1\"",
                  TICKETSIM_BINARY, real});
  const std::string prefix = "\nreplay: ticketsim ";
  const size_t at = stepped.out.find(prefix);
  ASSERT_NE(at, std::string::npos) << stepped.out;
  const size_t from = at + prefix.size();
  const std::string line =
      stepped.out.substr(from, stepped.out.find('\n', from) - from);
  // The line as a user pastes it into a shell.
  const Ran replayed =
      RunProgram({"/bin/bash", "-c", "\"$0\" " + line, TICKETSIM_BINARY});
  EXPECT_TRUE(Has(replayed.out, "the real one")) << line << "\n"
                                                 << replayed.out;
  EXPECT_FALSE(Has(replayed.out, "a decoy")) << line;
}

// Ctrl-C in the middle of a run: the buyers are stopped, a partial report is
// printed, everything of the run is removed, and the exit code is 130.
TEST_F(CliTest, AnInterruptedRunCleansUpAndExits130) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  const pid_t pid = testing::ForkNoted();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    execl(TICKETSIM_BINARY, "ticketsim", "run", "--store", "shm", "--guard",
          "robust-mutex", "--buyers", "4", "--tickets", "100000", "--attempts",
          "100000", "--think-ms", "1,2", nullptr);
    _exit(127);
  }
  close(out[1]);
  // Interrupt once the run's named objects exist: the buyers are running.
  for (int i = 0; i < 500 && testing::LeftoversOf(pid).size() < 4; ++i) {
    usleep(10000);
  }
  // dir, liveness lock, store, guard
  ASSERT_EQ(testing::LeftoversOf(pid).size(), 4u);
  kill(pid, SIGINT);
  std::string report;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) report.append(buf, n);
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_NE(report.find("interrupted by SIGINT"), std::string::npos) << report;
  EXPECT_TRUE(testing::LeftoversOf(pid).empty());
}

TEST_F(CliTest, ListNamesEveryGuard) {
  std::string out;
  EXPECT_EQ(RunTicketsim("list", &out), 0);
  for (const char* guard : {"none", "named-mutex", "file-lock", "robust-mutex",
                            "sqlite-immediate", "sqlite-deferred"}) {
    EXPECT_NE(out.find(guard), std::string::npos) << guard;
  }
}

// Every scenario of the library is valid.
TEST_F(CliTest, CheckAcceptsTheLibrary) {
  const Ran ran = RunTicketsimArgs({"check", kLibrary});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_NE(ran.out.find("01-rush-unguarded.toml"), std::string::npos);
}

TEST_F(CliTest, ListShowsTheLibraryWithDescriptions) {
  const Ran ran = RunTicketsimArgs({"list"});
  EXPECT_EQ(ran.exit_code, 0);
  EXPECT_NE(ran.out.find("named-semaphore"), std::string::npos);
  EXPECT_NE(ran.out.find("01-rush-unguarded.toml"), std::string::npos)
      << ran.out;
  EXPECT_NE(ran.out.find("The tutorial's ticket rush without its lock"),
            std::string::npos);
}

// A suite of two scenarios, three trials each, one whose expectation fails:
// the JUnit file is well-formed XML with one testcase per scenario, the
// failing one carries the verdict, and the run exits 1.
TEST_F(CliTest, JunitHasOneTestcasePerScenarioAndAFailureExitsOne) {
  TempDir dir;
  dir.Write("a-race.toml", R"(name = "forced race"
[tickets]
initial = 1
[buyers]
count = 4
think_ms = [20, 30]
[expect]
violations = "some"
kinds = ["duplicate seat"]
)");
  dir.Write("b-wrong.toml", R"(name = "expects none & gets <some>"
[tickets]
initial = 1
[buyers]
count = 4
think_ms = [20, 30]
[expect]
violations = "none"
)");
  const std::string junit = dir.path() + "/junit.xml";
  const std::string json = dir.path() + "/report.json";
  // Every trial's buyers all read before any writes, whatever the load.
  const Ran ran = RunTicketsimArgs({"run", dir.path(), "--trials", "3",
                                    "--steps", testing::EveryBuyerReadsFirst(4),
                                    "--junit", junit, "--json", json});
  EXPECT_EQ(ran.exit_code, 1) << ran.out;
  EXPECT_NE(ran.out.find("1 of 2 scenarios met their expectation"),
            std::string::npos)
      << ran.out;

  // Python's XML parser is the judge of well-formedness.
  const Ran parsed = RunProgram(
      {"/usr/bin/python3", "-c",
       "import sys, xml.etree.ElementTree as ET\n"
       "root = ET.parse(sys.argv[1]).getroot()\n"
       "cases = root.findall('.//testcase')\n"
       "print('cases', len(cases))\n"
       "for c in cases:\n"
       "  f = c.find('failure')\n"
       "  print('case', c.get('name'), 'FAIL' if f is not None else 'PASS',\n"
       "        f.get('message') if f is not None else '')\n",
       junit});
  ASSERT_EQ(parsed.exit_code, 0) << parsed.out;
  EXPECT_NE(parsed.out.find("cases 2"), std::string::npos) << parsed.out;
  EXPECT_NE(parsed.out.find("case forced race PASS"), std::string::npos)
      << parsed.out;
  EXPECT_NE(parsed.out.find("case expects none & gets <some> FAIL 3 of 3 "
                            "trials violated; trial 1 (seed 42): expected no "
                            "violation, got lost update x"),
            std::string::npos)
      << parsed.out;

  std::ifstream in(json);
  const auto report = nlohmann::json::parse(in);
  ASSERT_EQ(report["scenarios"].size(), 2u);
  for (const auto& scenario : report["scenarios"]) {
    EXPECT_EQ(scenario["trials"], 3);
    EXPECT_EQ(scenario["trials_with_violations"], 3);
    ASSERT_EQ(scenario["runs"].size(), 3u);
    // Trial t ran with seed 42 + t - 1, and says so.
    EXPECT_EQ(scenario["runs"][2]["seed"], 44);
  }
  EXPECT_EQ(report["scenarios"][0]["passed"], true);
  EXPECT_EQ(report["scenarios"][1]["passed"], false);
  EXPECT_EQ(report["exit_code"], 1);
}

// The seed is in the report, so a run can be repeated with its delays.
TEST_F(CliTest, TheSeedIsRecordedInEveryReport) {
  const Ran ran =
      RunTicketsimArgs({"run", "--buyers", "2", "--guard", "file-lock",
                        "--seed", "1234", "--trials", "2", "--json", "-"});
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_NE(ran.out.find("seeds 1234 to 1235"), std::string::npos) << ran.out;
  const auto report =
      nlohmann::json::parse(ran.out.substr(ran.out.find("{\n")));
  EXPECT_EQ(report["scenarios"][0]["seed"], 1234);
  EXPECT_EQ(report["scenarios"][0]["runs"][0]["seed"], 1234);
  EXPECT_EQ(report["scenarios"][0]["runs"][1]["seed"], 1235);
}

// compare: one row per guard, the unguarded one violated.
TEST_F(CliTest, CompareShowsOneRowPerGuard) {
  const Ran ran = RunTicketsimArgs(
      {"compare", "--store", "shm", "--buyers", "4", "--tickets", "20",
       "--think-ms", "5,10", "--guards", "none,robust-mutex,named-semaphore"});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_NE(ran.out.find("  none                   1/1  lost update"),
            std::string::npos)
      << ran.out;
  EXPECT_NE(ran.out.find("  robust-mutex           0/1  none"),
            std::string::npos)
      << ran.out;
  EXPECT_NE(ran.out.find("  named-semaphore        0/1  none"),
            std::string::npos)
      << ran.out;
}

// compare over several trials: beside the means, every kind any trial
// showed and in how many trials, not the first violated trial's counts.
// (Seeded, each trial's interleaving is that of its seed.)
TEST_F(CliTest, CompareOverTrialsListsEveryKindWithTheTrialsThatShowedIt) {
  const Ran ran = RunTicketsimArgs(
      {"compare", "--store", "file", "--write", "truncate", "--buyers", "2",
       "--tickets", "2", "--attempts", "2", "--schedule", "seeded", "--trials",
       "8", "--guards", "none,file-lock"});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_NE(ran.out.find("  none                   8/8  torn read in 7, lost "
                         "update in 5, oversell in 5, duplicate seat in 5 "),
            std::string::npos)
      << ran.out;
  EXPECT_NE(ran.out.find("  file-lock              0/8  none "),
            std::string::npos)
      << ran.out;
  // The run of the same trials says the same.
  const Ran run =
      RunTicketsimArgs({"run", "--store", "file", "--write", "truncate",
                        "--buyers", "2", "--tickets", "2", "--attempts", "2",
                        "--schedule", "seeded", "--trials", "8"});
  EXPECT_NE(run.out.find("  kinds     torn read in 7, lost update in 5, "
                         "oversell in 5, duplicate seat in 5\n"),
            std::string::npos)
      << run.out;
}

TEST_F(CliTest, CompareRefusesAGuardTheStoreCannotHave) {
  const Ran ran = RunTicketsimArgs(
      {"compare", "--store", "file", "--guards", "none,sqlite-immediate"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_NE(ran.out.find("--guards sqlite-immediate: guard.kind"),
            std::string::npos)
      << ran.out;
}

// compare --modes: one row per mode, each with its start-up time (from the
// first fork until every buyer waited at the start barrier) and verdict.
TEST_F(CliTest, CompareModesShowsOneRowPerModeWithItsStartUp) {
  const Ran ran =
      RunTicketsimArgs({"compare", "--modes", "process,thread", "--store",
                        "shm", "--guard", "robust-mutex", "--buyers", "3",
                        "--tickets", "20", "--think-ms", "1,2"});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_NE(ran.out.find("1 trial per mode"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("  mode                start-up  violated  "
                         "violations"),
            std::string::npos)
      << ran.out;
  for (const char* mode : {"process", "thread"}) {
    const size_t row = ran.out.find(fmt::format("\n  {:<17} ", mode));
    ASSERT_NE(row, std::string::npos) << mode << "\n" << ran.out;
    const std::string line =
        ran.out.substr(row + 1, ran.out.find('\n', row + 1) - row - 1);
    EXPECT_NE(line.find(" ms       0/1  none"), std::string::npos) << line;
  }
}

// A scenario file after a list of modes or guards is the scenario, not one
// more word of the list.
TEST_F(CliTest, CompareTakesTheScenarioAfterAList) {
  const std::string file =
      std::string(kLibrary) + "/46-threads-rush-guarded.toml";
  for (const std::vector<std::string>& list :
       {std::vector<std::string>{"--modes", "thread"},
        std::vector<std::string>{"--guards", "std-mutex,file-lock"}}) {
    const Ran ran =
        RunTicketsimArgs({"compare", list[0], list[1], file, "--trials", "1"});
    EXPECT_EQ(ran.exit_code, 0) << ran.out;
    EXPECT_NE(ran.out.find("The rush as threads"), std::string::npos)
        << ran.out;
  }
}

TEST_F(CliTest, CompareRefusesAModeWordNamingModes) {
  const Ran ran = RunTicketsimArgs(
      {"compare", "--store", "shm", "--modes", "process,fiber"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_NE(ran.out.find("--modes fiber"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("buyers.mode"), std::string::npos) << ran.out;
}

// The memory store is a variable of one process: its threads share it,
// processes cannot.
TEST_F(CliTest, CompareRefusesAModeTheScenarioCannotRunIn) {
  const Ran ran = RunTicketsimArgs(
      {"compare", "--store", "memory", "--modes", "thread,process"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_NE(ran.out.find("--modes process"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("store.kind"), std::string::npos) << ran.out;
}

TEST_F(CliTest, CompareTakesModesOrGuardsNotBoth) {
  const Ran ran = RunTicketsimArgs({"compare", "--modes", "process,thread",
                                    "--guards", "none,robust-mutex"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_NE(ran.out.find("--modes and --guards"), std::string::npos) << ran.out;
}

// The progress line shows on a terminal for a run longer than a second, and
// not at all when the output is a pipe.
TEST_F(CliTest, ProgressOnlyOnATerminal) {
  const std::vector<std::string> args = {
      "run",      "--store",    "shm",       "--guard", "robust-mutex",
      "--buyers", "2",          "--tickets", "1000",    "--attempts",
      "400",      "--think-ms", "3,4"};
  const Ran piped = RunTicketsimArgs(args);
  EXPECT_EQ(piped.exit_code, 0) << piped.out;
  EXPECT_EQ(piped.out.find("\033[K"), std::string::npos);
  EXPECT_EQ(piped.out.find("purchases\r"), std::string::npos);

  const Ran terminal = RunTicketsimOnTerminal(args);
  EXPECT_EQ(terminal.exit_code, 0) << terminal.out;
  EXPECT_NE(terminal.out.find("\r\033[Kticket rush (command line): trial "
                              "1/1, "),
            std::string::npos)
      << terminal.out;
  EXPECT_NE(terminal.out.find("/800 purchases"), std::string::npos);
}

// Where the output is not a terminal (a log, a CI job), a run that will take
// long says so at its start, with how long at least and why, so that nobody
// takes it for a hang; a short one says nothing there (above).
TEST_F(CliTest, ALongRunWithoutATerminalSaysHowLongItWillTake) {
  int err[2];
  ASSERT_EQ(pipe(err), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    close(err[0]);
    execl(TICKETSIM_BINARY, "ticketsim", "run", "--store", "file", "--guard",
          "named-mutex", "--buyers", "4", "--attempts", "5000", "--tickets",
          "100000", "--think-ms", "20,50", nullptr);
    _exit(127);
  }
  close(err[1]);
  std::string first;
  pollfd readable = {err[0], POLLIN, 0};
  char c = 0;
  while (first.find('\n') == std::string::npos &&
         poll(&readable, 1, 30000) == 1 && read(err[0], &c, 1) == 1) {
    first += c;
  }
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  close(err[0]);
  EXPECT_EQ(first,
            "ticketsim: this run will take at least 11 min 40 s (20000 sales "
            "x 20-50 ms of think time, one holder of the guard at a time); it "
            "says how far it is every 10 s\n");
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
}

}  // namespace
}  // namespace ticketsim
