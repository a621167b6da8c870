// Buyers on hosts: the protocol between a run and its `ticketsim buyer`
// agents, the keys and their validation, runs with simulated hosts (local
// agents, and agents started through a launcher on this host), and how a
// failing agent fails the run.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "sim/hosts/host_protocol.h"
#include "sim/hosts/host_run.h"
#include "sim/scenario/scenario.h"
#include "storage/pg_connect.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using testing::Has;
using testing::LeavesNothingTest;
using testing::LeftoversOfEndedRuns;
using testing::Ran;
using testing::ReadJson;
using testing::RunTicketsimArgs;
using testing::Whose;

Scenario Applied(const std::vector<std::string>& settings) {
  Scenario scenario;
  for (const std::string& s : settings) {
    EXPECT_TRUE(ApplySetting(&scenario, s).ok()) << s;
  }
  return scenario;
}

// --- The protocol's words -------------------------------------------------

// Given a scenario's host settings, a share line carries them to a scenario
// that buys the same way.
TEST(HostProtocolTest, ShareRoundTrips) {
  Scenario scenario =
      Applied({"buyers.count = 7", "buyers.think_ms = [1.5, 3]",
               "guard.kind = \"named-mutex\"", "store.kind = \"shm\"",
               "buyers.seed = 99", "faults.kill_holder = 0.25",
               "tickets.initial = 40"});
  HostShare share;
  share.host = "b";
  share.buyers = {1, 3, 5};
  share.settings = HostSettings(scenario);
  share.store_tag = "ticketsim.0.1.abc";
  share.store_dir = "/tmp/ticketsim.0.1.abc";
  share.conninfo = "host=10.0.0.1 password=secret";
  share.timeout_ms = 1234;
  HostShare got;
  Scenario made;
  ASSERT_TRUE(ParseShareLine(ShareLine(share), &got, &made).ok());
  EXPECT_EQ(got.host, "b");
  EXPECT_EQ(got.buyers, share.buyers);
  EXPECT_EQ(got.conninfo, share.conninfo);
  EXPECT_EQ(got.store_tag, share.store_tag);
  EXPECT_EQ(made.buyers.count, 7);
  EXPECT_EQ(made.buyers.think_ms.min, 1.5);
  EXPECT_EQ(made.buyers.think_ms.max, 3);
  EXPECT_EQ(made.guard.kind, GuardKind::kNamedMutex);
  EXPECT_EQ(made.store.kind, StoreKind::kShm);
  EXPECT_EQ(made.buyers.seed, 99u);
  EXPECT_EQ(made.faults.kill_holder, 0.25);
  EXPECT_EQ(made.initial, 40);
  EXPECT_EQ(made.run_timeout_ms, 1234);
}

// Given share lines that are not one, each is refused with what is wrong.
TEST(HostProtocolTest, BadSharesAreRefusedWithAMessage) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "not a JSON object"},
      {"[1,2]", "not a JSON object"},
      {R"({"host":"a"})", "not a share"},
      {R"({"share":1,"host":"","buyers":[0],"settings":[],"store_tag":"",)"
       R"("store_dir":"","conninfo":"","timeout_ms":5})",
       "no name"},
      {R"({"share":1,"host":"a","buyers":[0],"settings":["buyers.cuont = 3"],)"
       R"("store_tag":"","store_dir":"","conninfo":"","timeout_ms":5})",
       "unknown key"},
      {R"({"share":1,"host":"a","buyers":[10],"settings":[],"store_tag":"",)"
       R"("store_dir":"","conninfo":"","timeout_ms":5})",
       "is not one of the 10 buyers"},
      {R"({"share":1,"host":"a","buyers":[2,1],"settings":[],"store_tag":"",)"
       R"("store_dir":"","conninfo":"","timeout_ms":5})",
       "increasing"},
      {R"({"share":1,"host":"a","buyers":[0],"settings":[],"store_tag":"",)"
       R"("store_dir":"","conninfo":"","timeout_ms":-5})",
       "timeout_ms"},
      {R"({"share":1,"host":7,"buyers":[0],"settings":[],"store_tag":"",)"
       R"("store_dir":"","conninfo":"","timeout_ms":5})",
       "\"host\" is not a string"},
  };
  for (const auto& [line, why] : cases) {
    HostShare share;
    Scenario scenario;
    const Status s = ParseShareLine(line, &share, &scenario);
    EXPECT_FALSE(s.ok()) << line;
    EXPECT_TRUE(Has(s.message(), why)) << line << " -> " << s.message();
  }
}

// Given the agent's lines, each parses to its message; an event keeps every
// field.
TEST(HostProtocolTest, AgentLinesParse) {
  AgentMessage m;
  Event e{0, -3, 4, 2, EventKind::kWrite, kTorn, 0, 77};
  ASSERT_TRUE(ParseAgentLine(EventLine(e, 123456789), &m).ok());
  EXPECT_EQ(m.kind, AgentMessage::Kind::kEvent);
  EXPECT_EQ(m.event.buyer, 4u);
  EXPECT_EQ(m.event.attempt, 2u);
  EXPECT_EQ(m.event.kind, EventKind::kWrite);
  EXPECT_EQ(m.event.value, -3);
  EXPECT_EQ(m.event.flags, kTorn);
  EXPECT_EQ(m.event.aux, 77u);
  EXPECT_EQ(m.time, 123456789);
  ASSERT_TRUE(ParseAgentLine(PongLine(3, 42), &m).ok());
  EXPECT_EQ(m.kind, AgentMessage::Kind::kPong);
  EXPECT_EQ(m.ping, 3);
  EXPECT_EQ(m.time, 42);
  ASSERT_TRUE(ParseAgentLine(ReadyLine({11, 12}), &m).ok());
  EXPECT_EQ(m.pids, (std::vector<int64_t>{11, 12}));
  ASSERT_TRUE(ParseAgentLine(EndLine(5, -1, SIGKILL, 1), &m).ok());
  EXPECT_EQ(m.kind, AgentMessage::Kind::kEnd);
  EXPECT_EQ(m.signal, SIGKILL);
  EXPECT_EQ(m.held, 1u);
  ASSERT_TRUE(ParseAgentLine(ErrorsLine("f", "s", "g"), &m).ok());
  EXPECT_EQ(m.failure, "f");
  EXPECT_EQ(m.guard_error, "g");
  ASSERT_TRUE(ParseAgentLine(DoneLine(), &m).ok());
  EXPECT_EQ(m.kind, AgentMessage::Kind::kDone);
  ParentMessage p;
  ASSERT_TRUE(ParseParentLine(PingLine(9), &p).ok());
  EXPECT_EQ(p.kind, ParentMessage::Kind::kPing);
  EXPECT_EQ(p.ping, 9);
  ASSERT_TRUE(ParseParentLine(GoLine(), &p).ok());
  EXPECT_EQ(p.kind, ParentMessage::Kind::kGo);
  ASSERT_TRUE(ParseParentLine(StopLine(), &p).ok());
  EXPECT_EQ(p.kind, ParentMessage::Kind::kStop);
}

// Given lines an agent must not send, each is refused, never trusted.
TEST(HostProtocolTest, BadAgentLinesAreRefused) {
  for (const std::string line : {
           "",
           "{",
           "garbage",
           "null",
           R"({"what":1})",
           R"({"ev":[1,2,3]})",              // too short
           R"({"ev":[0,0,99,0,0,0,0,5]})",   // no such kind
           R"({"ev":[0,0,0,0,0,0,0,5]})",    // kEmpty
           R"({"ev":[-1,0,4,0,0,0,0,5]})",   // no such buyer
           R"({"ev":[0,0,4,0,0,0,0,-5]})",   // time before 0
           R"({"ev":[0,0,4,300,0,0,0,5]})",  // flags too big
           R"({"ev":[0,0,4,0,0,1.5,0,5]})",  // not whole
           R"({"ev":[0,0,4,0,0,"1",0,5]})",  // not a number
           R"({"ev":[0,0,4,0,0,18446744073709551615,0,5]})",
           R"({"pong":1})",
           R"({"ready":1,"pids":[0]})",
           R"({"end":1,"exit":0})",
           R"({"error":5})",
       }) {
    AgentMessage m;
    EXPECT_FALSE(ParseAgentLine(line, &m).ok()) << line;
  }
  ParentMessage p;
  EXPECT_FALSE(ParseParentLine(R"({"ping":"x"})", &p).ok());
  EXPECT_FALSE(ParseParentLine(R"({"go":1,"stop":1})", &p).ok());
  EXPECT_FALSE(ParseParentLine("stop", &p).ok());
}

// Given bytes in pieces, the buffer gives whole lines in order, keeps a
// partial one, and cuts one that is too long.
TEST(HostProtocolTest, LinesAreSplitAcrossReads) {
  LineSplitter buffer{kMaxHostLine};
  std::string line;
  bool too_long = false;
  buffer.Append("ab");
  EXPECT_FALSE(buffer.Next(&line, &too_long));
  buffer.Append("c\nde\nf");
  ASSERT_TRUE(buffer.Next(&line, &too_long));
  EXPECT_EQ(line, "abc");
  ASSERT_TRUE(buffer.Next(&line, &too_long));
  EXPECT_EQ(line, "de");
  EXPECT_FALSE(buffer.Next(&line, &too_long));
  EXPECT_EQ(buffer.partial(), "f");
  const std::string huge(kMaxHostLine + 10, 'x');
  buffer.Append(huge);
  ASSERT_TRUE(buffer.Next(&line, &too_long));
  EXPECT_TRUE(too_long);
}

// Given a conninfo or a URI, the server's address is found; a Unix socket
// has none.
TEST(HostProtocolTest, ServerAddressOfAConninfo) {
  EXPECT_EQ(ServerAddress("host=10.213.4.1 port=5432 user=ticketsim "
                          "password=x dbname=postgres"),
            "10.213.4.1");
  EXPECT_EQ(ServerAddress("host=/tmp/run port=5432"), "");
  EXPECT_EQ(ServerAddress("postgresql://u:p@10.1.2.3:5433/db"), "10.1.2.3");
  EXPECT_EQ(ServerAddress("postgresql://[fd00::1]:5433/db"), "fd00::1");
  EXPECT_EQ(ServerAddress("postgresql:///db?host=/tmp"), "");
  EXPECT_EQ(ServerAddress("host=db.example hostaddr=10.9.9.9"), "10.9.9.9");
}

// Given 7 buyers on 3 hosts, buyer i is on host i % 3.
TEST(HostProtocolTest, BuyersAreDealtToHosts) {
  Scenario scenario =
      Applied({"buyers.count = 7", "buyers.hosts = [\"a\", \"b\", \"c\"]"});
  const auto shares = BuyersOfHosts(scenario);
  ASSERT_EQ(shares.size(), 3u);
  EXPECT_EQ(shares[0], (std::vector<uint32_t>{0, 3, 6}));
  EXPECT_EQ(shares[1], (std::vector<uint32_t>{1, 4}));
  EXPECT_EQ(shares[2], (std::vector<uint32_t>{2, 5}));
}

// --- Keys and validation --------------------------------------------------

TEST(HostKeysTest, BadValuesAreRefusedNamingTheKey) {
  Scenario s;
  for (const std::string setting : {
           "buyers.hosts = []",
           "buyers.hosts = [\"a b\"]",
           "buyers.hosts = [\"a\", \"a\"]",
           "buyers.hosts = \"a\"",
           "buyers.hosts = [\"a;rm\"]",
           "buyers.launcher = \"ssh 'x\"",
           "faults.partition_host = 3",
           "faults.partition_host = { host = \"b\" }",
           "faults.partition_host = { host = \"b\", at_ms = 1, for_ms = 0 }",
           "faults.partition_host = { host = \"b\", at_ms = 1, for_ms = 5, "
           "x = 1 }",
       }) {
    const Status st = ApplySetting(&s, setting);
    EXPECT_FALSE(st.ok()) << setting;
    EXPECT_TRUE(Has(st.message(), setting.substr(0, setting.find(' '))))
        << st.message();
  }
  ASSERT_TRUE(ApplySetting(&s,
                           "faults.partition_host = { host = \"b\", "
                           "at_ms = 100, for_ms = 500 }")
                  .ok());
  EXPECT_EQ(s.faults.partition_host.host, "b");
  EXPECT_EQ(s.faults.partition_host.at_ms, 100);
  EXPECT_EQ(s.faults.partition_host.for_ms, 500);
}

// Given a host name beginning with '-', which a launcher would take for an
// option ("ssh -G"), the scenario is refused (exit 2) naming the key and
// where it is, in a file as on the command line; nothing runs.
TEST(HostKeysTest, AHostNameBeginningWithADashIsRefused) {
  testing::TempDir tmp;
  const std::string file = tmp.Write(
      "dash.toml", "[buyers]\nhosts = [\"-G\"]\nlauncher = \"ssh {host}\"\n");
  const Ran checked = RunTicketsimArgs({"check", file});
  EXPECT_EQ(checked.exit_code, 2) << checked.out;
  EXPECT_TRUE(Has(checked.out, file + ":2:")) << checked.out;
  EXPECT_TRUE(Has(checked.out, "buyers.hosts")) << checked.out;
  EXPECT_TRUE(Has(checked.out, "\"-G\" is not a host name: it begins with '-'"))
      << checked.out;
  const Ran ran = RunTicketsimArgs({"run", "--set", "buyers.hosts=[\"-G\"]",
                                    "--set", "buyers.launcher=ssh {host}"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out, "buyers.hosts")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "begins with '-'")) << ran.out;
}

TEST(HostKeysTest, WhatHostsCannotDoIsRefused) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"buyers.hosts = [\"a\", \"b\"]", "store.kind = \"file\""},
       "store.kind: the hosts cannot all reach a file"},
      {{"buyers.hosts = [\"a\", \"b\"]", "store.kind = \"shm\""},
       "store.kind: the hosts cannot all reach"},
      {{"buyers.hosts = [\"a\", \"b\"]", "store.kind = \"sqlite\""},
       "store.kind: the hosts cannot all reach"},
      {{"buyers.launcher = \"ssh {host}\""}, "buyers.launcher:"},
      {{"faults.partition_host = { host = \"a\", at_ms = 1, for_ms = 5 }"},
       "faults.partition_host:"},
      {{"buyers.hosts = [\"a\"]", "run.schedule = \"seeded\""},
       "run.schedule:"},
      {{"buyers.hosts = [\"a\"]", "history = \"summary\""}, "history:"},
      {{"buyers.hosts = [\"a\"]", "buyers.pool = 2"}, "buyers.pool:"},
      {{"buyers.hosts = [\"a\"]", "buyers.launcher = \"env\"",
        "faults.partition_host = { host = \"a\", at_ms = 1, for_ms = 5 }"},
       "faults.partition_host:"},
      {{"buyers.hosts = [\"a\"]",
        "faults.partition_host = { host = \"z\", at_ms = 1, for_ms = 5 }"},
       "not one of buyers.hosts"},
  };
  for (const auto& [settings, why] : cases) {
    Scenario s = Applied(settings);
    std::string key;
    const Status st = ValidateScenario(s, &key);
    EXPECT_FALSE(st.ok()) << settings[0];
    EXPECT_TRUE(Has(st.message(), why)) << st.message();
    EXPECT_FALSE(key.empty());
  }
  // One host may use any store: it is this machine's.
  for (const char* store : {"file", "shm", "sqlite"}) {
    Scenario s = Applied(
        {"buyers.hosts = [\"a\"]", fmt::format("store.kind = \"{}\"", store)});
    EXPECT_TRUE(ValidateScenario(s).ok()) << store;
  }
}

// --- Runs with simulated hosts ----------------------------------------------

class HostRunTest : public LeavesNothingTest {
 protected:
  // A forced race (every buyer reads before any writes) on one host.
  std::vector<std::string> Race(const std::string& guard,
                                const std::string& launcher) {
    return {"run",
            "--set",
            "tickets.initial=100",
            "--set",
            "store.write=replace",
            "--set",
            "guard.kind=" + guard,
            "--set",
            "buyers.count=6",
            "--set",
            "buyers.attempts=2",
            "--set",
            "buyers.think_ms=[20, 30]",
            "--set",
            "buyers.hosts=[\"a\"]",
            "--set",
            "buyers.launcher=" + launcher,
            "--json",
            json_};
  }
  nlohmann::json Run0() {
    const nlohmann::json report = ReadJson(json_);
    EXPECT_FALSE(report.is_discarded());
    return report["scenarios"][0]["runs"][0];
  }
  std::string json_ = tmp_.path() + "/report.json";
};

// Given an unguarded forced race on a local agent, the lost updates are
// found as on one host, with the agent's buyers, pids and clock in the
// report.
TEST_F(HostRunTest, LocalAgentLosesUpdatesUnguarded) {
  const Ran ran = RunTicketsimArgs(Race("none", "\"\""));
  EXPECT_EQ(ran.exit_code, 1) << ran.out;
  EXPECT_TRUE(Has(ran.out, "LOST UPDATE")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "hosts     a: buyers 0, 1, 2, 3, 4, 5 (clock"))
      << ran.out;
  const nlohmann::json run = Run0();
  ASSERT_EQ(run["hosts"].size(), 1u);
  EXPECT_EQ(run["hosts"][0]["name"], "a");
  EXPECT_EQ(run["hosts"][0]["round_trips"], 16);
  EXPECT_GE(run["hosts"][0]["clock_uncertainty_ms"].get<double>(), 0);
  EXPECT_EQ(run["tickets"]["sold"], 12) << run.dump();
}

// Given the same race under file-lock, through a launcher that runs the
// agent as a command on this host, nothing is violated.
TEST_F(HostRunTest, LauncherAgentWithFileLockHolds) {
  const Ran ran = RunTicketsimArgs(Race("file-lock", "env"));
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_TRUE(Has(ran.out, "no violation")) << ran.out;
  const nlohmann::json run = Run0();
  EXPECT_EQ(run["tickets"]["remaining"], 88) << run.dump();
}

// Given the library's scenarios that a host can run (not those of pools,
// several events or programs), run on one simulated host, each meets its
// [expect] as it does on this one: the forced races, the locks, the killed,
// stalled and crashed holders, the stress runs.
TEST_F(HostRunTest, LibraryVerdictsOnASimulatedHost) {
  for (const char* file : {"01-rush-unguarded.toml",
                           "02-rush-guarded.toml",
                           "03-torn-read.toml",
                           "04-torn-read-fix-rename.toml",
                           "05-torn-read-fix-scope.toml",
                           "06-shm-counter-unguarded.toml",
                           "07-shm-counter-locked.toml",
                           "08-sqlite-autocommit.toml",
                           "09-sqlite-deferred.toml",
                           "10-sqlite-immediate.toml",
                           "11-atomic-cas.toml",
                           "12-sqlite-atomic.toml",
                           "13-semaphore-3-permits.toml",
                           "18-killed-holder-named-mutex.toml",
                           "19-killed-holder-robust-mutex.toml",
                           "20-ci-stress-shm.toml",
                           "21-ci-stress-file.toml",
                           "22-ci-stress-sqlite.toml",
                           "23-stalled-holder.toml",
                           "24-crash-before-write.toml"}) {
    const Ran ran = RunTicketsimArgs({"run", testing::Library(file), "--trials",
                                      "2", "--set", "buyers.hosts=[\"a\"]"});
    EXPECT_EQ(ran.exit_code, 0) << file << "\n" << ran.out;
    EXPECT_TRUE(Has(ran.out, "on host a (local agents)")) << file << ran.out;
  }
}

// Given three simulated hosts sharing the count in PostgreSQL, the forced
// race's verdicts are those of one host, but for a local lock: each host's
// named-mutex excludes only its own buyers, and updates are lost across
// hosts.
TEST_F(HostRunTest, SeveralLocalAgentsOnPostgres) {
  struct Case {
    std::string guard, method;
    int exit_code;
    bool lost;
  };
  for (const Case& c : std::vector<Case>{
           {"pg-row-lock", "read-modify-write", 0, false},
           {"none", "atomic", 0, false},
           {"none", "read-modify-write", 1, true},
           {"named-mutex", "read-modify-write", 1, true},
       }) {
    std::vector<std::string> args = {"run", "--json", json_};
    for (const std::string& more :
         {std::string("store.kind=postgres"), "guard.kind=" + c.guard,
          "buyers.method=" + c.method, std::string("tickets.initial=100"),
          std::string("buyers.count=6"), std::string("buyers.attempts=2"),
          std::string("buyers.think_ms=[20, 30]"),
          std::string("buyers.hosts=[\"a\", \"b\", \"c\"]")}) {
      args.push_back("--set");
      args.push_back(more);
    }
    const Ran ran = RunTicketsimArgs(args);
    EXPECT_EQ(ran.exit_code, c.exit_code) << c.guard << "\n" << ran.out;
    EXPECT_EQ(Has(ran.out, "LOST UPDATE"), c.lost) << ran.out;
    EXPECT_FALSE(Has(ran.out, "OVERSELL")) << ran.out;
    const nlohmann::json run = Run0();
    ASSERT_TRUE(run.contains("hosts")) << ran.out;
    EXPECT_EQ(run["hosts"].size(), 3u);
  }
}

// Given a launcher that cannot be found, the run fails (exit 3) naming the
// host and why it could not start.
TEST_F(HostRunTest, MissingLauncherFailsTheRun) {
  const Ran ran = RunTicketsimArgs(Race("none", "no-such-launcher-x {host}"));
  EXPECT_EQ(ran.exit_code, 3) << ran.out;
  EXPECT_TRUE(Has(ran.out, "host a:")) << ran.out;
  EXPECT_TRUE(Has(ran.out,
                  "executing no-such-launcher-x: No such file or "
                  "directory (ENOENT; not found on PATH)"))
      << ran.out;
}

// Given an agent that writes what is not the protocol, the run fails
// (exit 3) naming the host and quoting the line; nothing crashes.
TEST_F(HostRunTest, AgentSpeakingNonsenseFailsTheRun) {
  const Ran ran = RunTicketsimArgs(
      Race("none",
           "sh -c 'echo \"{\\\"ev\\\":[0,0,99]}\"; echo oops >&2; "
           "sleep 30' x"));
  EXPECT_EQ(ran.exit_code, 3) << ran.out;
  EXPECT_TRUE(Has(ran.out,
                  "host a: its agent said something that is not "
                  "the protocol"))
      << ran.out;
}

// Given an agent that dies mid-run, the run fails (exit 3) naming the host.
// In a /dev/shm of its own: the killed agent's leftovers are no other
// test's to find.
TEST_F(HostRunTest, AgentDyingFailsTheRun) {
  testing::InPrivateShm([&] {
    // The agent kills itself (its process group) once its buyers think.
    std::vector<std::string> args =
        Race("none", "sh -c '(sleep 0.2; kill -KILL 0) & exec \"$@\"' x");
    args.push_back("--set");
    args.push_back("buyers.think_ms=[300, 400]");
    const Ran ran = RunTicketsimArgs(args);
    EXPECT_EQ(ran.exit_code, 3) << ran.out;
    EXPECT_TRUE(Has(ran.out, "host a: its agent was killed by SIGKILL"))
        << ran.out;
    // The run removed its own; the agent killed outright left its run's, as
    // any run killed so does, for the next one (or `clean`) to remove.
    EXPECT_TRUE(testing::LeftoversOf(ran.pid).empty());
    EXPECT_EQ(RunTicketsimArgs({"clean"}).exit_code, 0);
    EXPECT_TRUE(LeftoversOfEndedRuns(Whose::kEveryones).empty());
  });
}

// ticketsim started with `args` (its stdout and stderr into the file `out`,
// "" for /dev/null), not waited for.
pid_t StartTicketsim(const std::vector<std::string>& args,
                     const std::string& out = "") {
  const pid_t child = fork();
  if (child != 0) return child;
  std::vector<std::string> words = args;
  static std::string binary = TICKETSIM_BINARY;
  std::vector<char*> argv = {binary.data()};
  for (std::string& a : words) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int fd = out.empty() ? open("/dev/null", O_WRONLY)
                             : open(out.c_str(), O_WRONLY | O_CREAT, 0600);
  dup2(fd, 1);
  dup2(fd, 2);
  execv(binary.c_str(), argv.data());
  _exit(127);
}

// Waits for `pid`; its exit code, or 128 + the signal that killed it.
int WaitFor(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Given an interrupt during a run on a host, the agent and its buyers are
// stopped, the run reports what it saw, and nothing is left (the agent's
// own run objects included).
TEST_F(HostRunTest, InterruptStopsTheAgents) {
  std::vector<std::string> args = Race("named-mutex", "\"\"");
  args.push_back("--set");
  args.push_back("buyers.think_ms=[200, 300]");
  const pid_t child = StartTicketsim(args);
  ASSERT_GT(child, 0);
  usleep(700000);
  kill(child, SIGINT);
  EXPECT_EQ(WaitFor(child), 130);
  EXPECT_TRUE(LeftoversOfEndedRuns(Whose::kEveryones).empty());
}

// Given a run's parent killed outright mid-run, each agent sees its stdin
// close (or its SIGTERM), kills its buyers and removes its own objects: all
// that is left is the parent's run, for the next run (or `clean`). In a
// /dev/shm of its own: the killed parent's leftovers are no other test's to
// find.
TEST_F(HostRunTest, AgentsCleanUpWhenTheParentDies) {
  testing::InPrivateShm([&] {
    std::vector<std::string> args = Race("named-mutex", "\"\"");
    args.push_back("--set");
    args.push_back("buyers.think_ms=[300, 400]");
    args.push_back("--set");
    args.push_back("buyers.attempts=5");
    const pid_t child = StartTicketsim(args);
    ASSERT_GT(child, 0);
    usleep(700000);
    kill(child, SIGKILL);
    WaitFor(child);
    const std::string parent = fmt::format(".{}.", child);
    std::vector<std::string> others;
    for (int tries = 0; tries < 100; ++tries) {
      others.clear();
      for (const std::string& left : LeftoversOfEndedRuns(Whose::kEveryones)) {
        if (!Has(left, parent)) others.push_back(left);
      }
      if (others.empty()) break;
      usleep(50000);
    }
    EXPECT_TRUE(others.empty()) << others.front();
    EXPECT_EQ(RunTicketsimArgs({"clean"}).exit_code, 0);
    EXPECT_TRUE(LeftoversOfEndedRuns(Whose::kEveryones).empty());
  });
}

// Runs `ticketsim buyer` with `line` on its stdin, which stays open (as a
// parent's would) until the agent has closed its stdout.
Ran RunAgent(const std::string& line) {
  int in[2], out[2];
  Ran ran;
  if (pipe(in) != 0 || pipe(out) != 0) return ran;
  ran.pid = fork();
  if (ran.pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    close(in[1]);
    close(out[0]);
    execl(TICKETSIM_BINARY, TICKETSIM_BINARY, "buyer", nullptr);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  const std::string text = line + "\n";
  (void)!write(in[1], text.data(), text.size());
  char buf[4096];
  for (ssize_t got; (got = read(out[0], buf, sizeof buf)) > 0;) {
    ran.out.append(buf, static_cast<size_t>(got));
  }
  close(out[0]);
  close(in[1]);
  int status = 0;
  waitpid(ran.pid, &status, 0);
  ran.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return ran;
}

// Given a share that is not one on its stdin, the agent says why on its
// stdout, as the protocol's error line, and exits 2; given a share whose
// store it cannot open, it says that and exits 3.
TEST(HostAgentTest, RefusesWhatItCannotRun) {
  const Ran bad = testing::RunProgram(
      {"/bin/sh", "-c", "echo '{\"share\":1,\"host\":3}' | \"$0\" buyer",
       TICKETSIM_BINARY});
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  AgentMessage m;
  ASSERT_TRUE(ParseAgentLine(bad.out.substr(0, bad.out.find('\n')), &m).ok())
      << bad.out;
  EXPECT_EQ(m.kind, AgentMessage::Kind::kError);
  EXPECT_TRUE(Has(m.error, "\"host\" is not a string")) << m.error;
  HostShare share;
  share.host = "a";
  share.buyers = {0};
  share.settings = HostSettings(Scenario{});
  share.store_tag = "ticketsim.0.0.none";
  share.store_dir = "/nonexistent-ticketsim-dir";
  share.timeout_ms = 1000;
  const Ran unreachable = RunAgent(ShareLine(share));
  EXPECT_EQ(unreachable.exit_code, 3) << unreachable.out;
  EXPECT_TRUE(Has(unreachable.out, "could not open the store"))
      << unreachable.out;
  EXPECT_TRUE(LeftoversOfEndedRuns(Whose::kEveryones).empty());
}

// --- Agents that lie or do not answer ----------------------------------------

// An agent in Python that speaks the protocol as far as its plan (a JSON
// file, its first argument) says, then lies or stops answering:
//   "ready": false   never says ready (it reads the share and sleeps);
//   "lines": [...]   after go, says these lines, with {B} the share's first
//                    buyer and {T} its clock now (ns);
//   "deaf": true     then answers nothing more, and ignores SIGTERM;
//   "marker": PATH   creates PATH once go has come.
// Otherwise it ends each buyer (exit 0) and says done.
constexpr char kFakeAgent[] = R"(import json, os, signal, sys, time
plan = json.load(open(sys.argv[1]))
if plan.get("deaf"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
share = json.loads(sys.stdin.readline())
buyers = share["buyers"]
def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
if not plan.get("ready", True):
    time.sleep(3600)
say(json.dumps({"ready": 1, "pids": [os.getpid()] * len(buyers)}))
for line in sys.stdin:
    message = json.loads(line)
    if "ping" in message:
        say(json.dumps({"pong": message["ping"], "t": time.monotonic_ns()}))
    elif "go" in message:
        break
if "marker" in plan:
    open(plan["marker"], "w").close()
for line in plan.get("lines", []):
    say(line.replace("{B}", str(buyers[0]))
            .replace("{T}", str(time.monotonic_ns())))
if plan.get("deaf"):
    time.sleep(3600)
for b in buyers:
    say(json.dumps({"end": b, "exit": 0, "signal": 0, "held": 0}))
say(json.dumps({"errors": {}}))
say(json.dumps({"done": 1}))
)";

// The children of process `pid` (of its main thread), from /proc.
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> out;
  std::istringstream in(
      testing::ReadFile(fmt::format("/proc/{0}/task/{0}/children", pid)));
  for (pid_t child = 0; in >> child;) out.push_back(child);
  return out;
}

class LyingAgentTest : public HostRunTest {
 protected:
  // The launcher that starts the fake agent with `plan`.
  std::string Launcher(const nlohmann::json& plan) {
    const std::string agent = tmp_.Write("agent.py", kFakeAgent);
    const std::string plan_file = tmp_.Write("plan.json", plan.dump());
    return "python3 " + agent + " " + plan_file;
  }
  // Two buyers of two attempts on host a, started by `launcher`.
  std::vector<std::string> Args(const std::string& launcher) {
    std::vector<std::string> args = Race("named-mutex", launcher);
    for (const char* more : {"buyers.count=2", "buyers.think_ms=[0, 1]"}) {
      args.push_back("--set");
      args.push_back(more);
    }
    return args;
  }
};

// Given an agent that answers the protocol, then sends an event that no
// buyer of the run records (an event index past the run's one, an attempt
// past its two, a failure, fault or flag that does not exist, another
// host's buyer, a time outside the run), or an end that cannot be (a signal
// without a name, a guard the run does not have, twice, an event after it,
// done before it), the run fails (exit 3) naming the host and quoting the
// line, with --history as without it: nothing crashes, and no file is left
// half written.
TEST_F(LyingAgentTest, AnEventNoBuyerRecordsFailsTheRunNamingTheHost) {
  const std::vector<std::vector<std::string>> lies = {
      {R"({"ev":[{B},0,13,0,65535,0,0,{T}]})"},
      {R"({"ev":[{B},0,4,0,65535,99,0,{T}]})"},
      {R"({"ev":[{B},0,11,0,65535,1,0,{T}]})"},
      {R"({"ev":[{B},7,3,0,0,5,0,{T}]})"},
      {R"({"ev":[{B},0,8,0,0,0,99,{T}]})"},
      {R"({"ev":[{B},0,10,0,0,0,7,{T}]})"},
      {R"({"ev":[{B},0,6,8,0,5,0,{T}]})"},
      {R"({"ev":[{B},0,4,0,0,9223372036854775807,0,{T}]})"},
      {R"({"ev":[2,0,3,0,0,5,0,{T}]})"},
      {R"({"ev":[{B},0,3,0,0,5,0,9223372036854775807]})"},
      {R"({"ev":[{B},0,3,0,0,5,0,0]})"},
      {R"({"end":{B},"exit":-1,"signal":100,"held":1})"},
      {R"({"end":{B},"exit":0,"signal":0,"held":2})"},
      {R"({"end":{B},"exit":0,"signal":0,"held":0})",
       R"({"ev":[{B},0,3,0,0,5,0,{T}]})"},
      {R"({"errors":{}})", R"({"done":1})"},
  };
  for (const std::vector<std::string>& lines : lies) {
    for (const bool history : {true, false}) {
      std::vector<std::string> args = Args(Launcher({{"lines", lines}}));
      if (history) {
        args.push_back("--history");
        args.push_back(tmp_.path() + "/history.jsonl");
      }
      const Ran ran = RunTicketsimArgs(args);
      EXPECT_EQ(ran.exit_code, 3) << lines[0] << "\n" << ran.out;
      EXPECT_TRUE(Has(ran.out,
                      "host a: its agent said something that is not the "
                      "protocol"))
          << lines[0] << "\n"
          << ran.out;
      for (const std::string& entry : tmp_.Entries()) {
        EXPECT_TRUE(entry == "agent.py" || entry == "plan.json" ||
                    entry == "report.json" || entry == "history.jsonl")
            << entry << " left by " << lines[0];
      }
    }
  }
}

// Given an agent that says what a buyer says, the same run holds: the
// checks refuse lies, not the truth.
TEST_F(LyingAgentTest, AnAgentTellingTheTruthIsBelieved) {
  const Ran ran = RunTicketsimArgs(Args(Launcher(
      {{"lines",
        {R"({"ev":[{B},0,12,0,0,0,0,{T}]})", R"({"ev":[{B},0,2,0,0,0,3,{T}]})",
         R"({"ev":[{B},0,3,0,0,100,0,{T}]})",
         R"({"ev":[{B},0,4,0,0,99,0,{T}]})", R"({"ev":[{B},0,9,0,0,0,0,{T}]})",
         R"({"ev":[{B},1,8,0,0,0,1,{T}]})"}}})));
  EXPECT_EQ(ran.exit_code, 1) << ran.out;  // 100 - 1 sold, the count is 100
  EXPECT_TRUE(Has(ran.out, "LOST UPDATE")) << ran.out;
}

// Given two hosts on PostgreSQL under pg-row-lock, an agent interrupted
// mid-run (SIGTERM, as a person or a host's shutdown sends it) stops its
// buyers short: the run is not whole, whatever the count says, and fails
// (exit 3) naming the host.
TEST_F(HostRunTest, AnAgentInterruptedMidRunFailsTheRun) {
  const std::string out = tmp_.path() + "/out.txt";
  // Each agent's lines are copied to {host}.lines on their way: once host
  // a's first event is there, its buyers run.
  const pid_t run = StartTicketsim(
      {"run", testing::Library("37-pg-row-lock.toml"), "--set",
       "buyers.attempts=100", "--set", "buyers.hosts=[\"a\", \"b\"]", "--set",
       "buyers.launcher=sh -c '\"$@\" | tee " + tmp_.path() +
           "/{host}.lines' sh"},
      out);
  ASSERT_GT(run, 0);
  const std::string lines = tmp_.path() + "/a.lines";
  for (int tries = 0;
       tries < 1200 && !Has(testing::ReadFile(lines), "{\"ev\":"); ++tries) {
    usleep(50000);
  }
  ASSERT_TRUE(Has(testing::ReadFile(lines), "{\"ev\":"))
      << testing::ReadFile(out);
  // Host a's agent: the `ticketsim buyer` under its launcher.
  pid_t agent = 0;
  for (pid_t launcher : ChildrenOf(run)) {
    if (!Has(testing::ReadFile(fmt::format("/proc/{}/cmdline", launcher)),
             "/a.lines")) {
      continue;
    }
    for (pid_t child : ChildrenOf(launcher)) {
      if (Has(testing::ReadFile(fmt::format("/proc/{}/cmdline", child)),
              std::string("buyer\0", 6))) {
        agent = child;
      }
    }
  }
  ASSERT_NE(agent, 0);
  kill(agent, SIGTERM);
  EXPECT_EQ(WaitFor(run), 3) << testing::ReadFile(out);
  EXPECT_TRUE(Has(testing::ReadFile(out),
                  "host a: its agent was interrupted by SIGTERM; its buyers "
                  "were stopped before the run ended"))
      << testing::ReadFile(out);
}

// Given an agent that answers nothing once the run has begun (nor SIGTERM),
// an interrupt still ends the run at once: exit 130.
TEST_F(LyingAgentTest, AnInterruptEndsTheRunDespiteADeafAgent) {
  const std::string marker = tmp_.path() + "/going";
  const pid_t run =
      StartTicketsim(Args(Launcher({{"deaf", true}, {"marker", marker}})));
  ASSERT_GT(run, 0);
  for (int tries = 0; tries < 600 && access(marker.c_str(), F_OK) != 0;
       ++tries) {
    usleep(50000);
  }
  ASSERT_EQ(access(marker.c_str(), F_OK), 0);
  const auto start = std::chrono::steady_clock::now();
  kill(run, SIGINT);
  EXPECT_EQ(WaitFor(run), 130);
  // A bound, not a timing: the agent was waited for 10 s before.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// Given an agent that answers the protocol, then, once go has come, says
// nothing more (nor heeds SIGTERM), and nobody interrupts: the run fails
// (exit 3) naming the host at run.timeout_ms, not a minute later, and
// leaves nothing: the agent is gone with the run.
TEST_F(LyingAgentTest, AnAgentSilentAfterGoFailsTheRunAtItsTimeLimit) {
  const std::string going = tmp_.path() + "/going";
  const std::string launcher = Launcher({{"deaf", true}, {"marker", going}});
  std::vector<std::string> args = Args(launcher);
  args.push_back("--set");
  args.push_back("run.timeout_ms=3000");
  const auto start = std::chrono::steady_clock::now();
  const Ran ran = RunTicketsimArgs(args);
  EXPECT_EQ(ran.exit_code, 3) << ran.out;
  EXPECT_TRUE(Has(ran.out, "the run failed: host a: its agent")) << ran.out;
  EXPECT_EQ(access(going.c_str(), F_OK), 0) << "go never came\n" << ran.out;
  // A bound, not a timing: ten times the limit (it waited 60 s).
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string cmdline = testing::ReadFile(entry.path() / "cmdline");
    EXPECT_FALSE(Has(cmdline, tmp_.path() + "/plan.json"))
        << "still running: " << entry.path();
  }
}

// Given an agent that never says ready, the run fails (exit 3) naming the
// host at run.timeout_ms, not a minute later.
TEST_F(LyingAgentTest, AnAgentNeverReadyFailsTheRunAtItsTimeLimit) {
  std::vector<std::string> args = Args(Launcher({{"ready", false}}));
  args.push_back("--set");
  args.push_back("run.timeout_ms=1500");
  const auto start = std::chrono::steady_clock::now();
  const Ran ran = RunTicketsimArgs(args);
  EXPECT_EQ(ran.exit_code, 3) << ran.out;
  EXPECT_TRUE(Has(ran.out, "host a: its agent was not ready within 1.5 s"))
      << ran.out;
  // A bound, not a timing: it waited a minute before.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// --- Hosts made of network namespaces ----------------------------------------
//
// The test makes its own network: a server namespace with a bridge holding
// an address of a private /24, and three host namespaces, each joined to the
// bridge by a veth pair with an address in the same /24. ticketsim runs in
// the server namespace and starts an agent in each host namespace with
// `ip netns exec {host}`; the buyers reach the server over the bridge.
// Everything it makes carries this process's pid in its name and is
// removed in TearDown, and by the fixture's own destructor should TearDown
// not be reached.

class NetnsHostsTest : public ::testing::Test {
 protected:
  // Removes what the fixture made, whatever is left of it, also when the
  // test has failed: the processes in each namespace, then the namespaces
  // (their veths and bridge go with them).
  struct Teardown {
    NetnsHostsTest* test;
    ~Teardown() { test->Remove(); }
  };

  NetnsHostsTest() {
    const std::string pid = std::to_string(getpid());
    server_ = "tsrv" + pid;
    for (const char* h : {"a", "b", "c"}) {
      hosts_.push_back(fmt::format("t{}{}", h, pid));
      veths_.push_back(fmt::format("tv{}{}", h, pid));
      peers_.push_back(fmt::format("tp{}{}", h, pid));
    }
    bridge_ = "tbr" + pid;
    subnet_ = fmt::format("10.213.{}", getpid() % 200 + 20);
  }

  void SetUp() override {
    std::string script = "set -e\n";
    script +=
        fmt::format("ip netns add {0}\nip -n {0} link set lo up\n", server_);
    script += fmt::format(
        "ip -n {0} link add {1} type bridge\n"
        "ip -n {0} addr add {2}.1/24 dev {1}\n"
        "ip -n {0} link set {1} up\n",
        server_, bridge_, subnet_);
    for (size_t i = 0; i < hosts_.size(); ++i) {
      script += fmt::format(
          "ip netns add {0}\nip -n {0} link set lo up\n"
          "ip -n {1} link add {2} type veth peer name {3} netns {0}\n"
          "ip -n {1} link set {2} master {4} up\n"
          "ip -n {0} addr add {5}.{6}/24 dev {3}\n"
          "ip -n {0} link set {3} up\n",
          hosts_[i], server_, peers_[i], veths_[i], bridge_, subnet_, 11 + i);
    }
    const Ran made = testing::RunProgram({"/bin/sh", "-c", script});
    ASSERT_EQ(made.exit_code, 0) << made.out;
    // Each host's route to the server's address is its veth.
    for (size_t i = 0; i < hosts_.size(); ++i) {
      const Ran route = testing::RunProgram(
          {"/usr/sbin/ip", "-n", hosts_[i], "route", "get", subnet_ + ".1"});
      ASSERT_EQ(route.exit_code, 0) << route.out;
      ASSERT_TRUE(Has(route.out, "dev " + veths_[i])) << route.out;
    }
  }

  void TearDown() override {
    // Every run ended, and its agents' runs with it: nothing of them is
    // left (a run killed by the test's time limit would leave its own).
    const std::vector<std::string> left =
        LeftoversOfEndedRuns(Whose::kEveryones);
    EXPECT_TRUE(left.empty()) << left.front();
    Remove();
    if (!left.empty()) RunTicketsimArgs({"clean"});
    const Ran netns = testing::RunProgram({"/usr/sbin/ip", "netns", "list"});
    for (const std::string& ns : Namespaces()) {
      EXPECT_FALSE(Has(netns.out, ns)) << netns.out;
    }
    const Ran links = testing::RunProgram({"/usr/sbin/ip", "-o", "link"});
    for (const std::string& link : veths_) {
      EXPECT_FALSE(Has(links.out, link)) << links.out;
    }
    for (const std::string& link : peers_) {
      EXPECT_FALSE(Has(links.out, link)) << links.out;
    }
    EXPECT_FALSE(Has(links.out, bridge_)) << links.out;
  }

  std::vector<std::string> Namespaces() const {
    std::vector<std::string> all = hosts_;
    all.push_back(server_);
    return all;
  }

  // Idempotent, bounded: kills every process in each namespace (a few
  // rounds, for those that fork meanwhile), then deletes the namespace.
  void Remove() {
    for (const std::string& ns : Namespaces()) {
      const std::string script = fmt::format(
          "for round in 1 2 3 4 5; do\n"
          "  pids=$(ip netns pids {0} 2>/dev/null) || break\n"
          "  [ -z \"$pids\" ] && break\n"
          "  kill -KILL $pids 2>/dev/null\n"
          "  sleep 0.1\n"
          "done\n"
          "ip netns del {0} 2>/dev/null\n"
          "exit 0\n",
          ns);
      testing::RunProgram({"/bin/sh", "-c", script});
    }
  }

  // Runs ticketsim in the server namespace with buyers on the three hosts;
  // the report is read from `json_`. At most `limit_s` seconds in all.
  Ran RunOnHosts(const std::vector<std::string>& settings, int limit_s = 180) {
    std::vector<std::string> argv = {
        "/usr/bin/timeout", "-s",    "KILL",   std::to_string(limit_s),
        "/usr/sbin/ip",     "netns", "exec",   server_,
        TICKETSIM_BINARY,   "run",   "--json", json_};
    std::vector<std::string> all = {
        fmt::format("buyers.hosts=[\"{}\", \"{}\", \"{}\"]", hosts_[0],
                    hosts_[1], hosts_[2]),
        "buyers.launcher=ip netns exec {host}"};
    all.insert(all.end(), settings.begin(), settings.end());
    for (const std::string& s : all) {
      argv.push_back("--set");
      argv.push_back(s);
    }
    return testing::RunProgram(argv);
  }

  // The first run of the report, or an empty object if there is none.
  nlohmann::json Run0() {
    const nlohmann::json report = ReadJson(json_);
    const nlohmann::json none = nlohmann::json::object();
    if (report.is_discarded() || !report.contains("scenarios")) return none;
    const nlohmann::json& scenarios = report["scenarios"];
    if (!scenarios.is_array() || scenarios.empty()) return none;
    const nlohmann::json& runs = scenarios[0].value("runs", none);
    if (!runs.is_array() || runs.empty()) return none;
    return runs[0];
  }

  static std::vector<std::string> Kinds(const nlohmann::json& run) {
    std::vector<std::string> kinds;
    if (!run.contains("violations")) return kinds;
    for (const auto& v : run["violations"]) {
      kinds.push_back(v["kind"].get<std::string>());
    }
    return kinds;
  }

  std::string server_, bridge_, subnet_;
  std::vector<std::string> hosts_, veths_, peers_;
  testing::TempDir tmp_;
  std::string json_ = tmp_.path() + "/report.json";
  Teardown teardown_{this};
};

// Given one host in a namespace of its own and the file store (this
// machine's, which the namespace shares), the agent started with `ip netns
// exec` runs the forced race as one host does: lost updates unguarded,
// none under file-lock.
TEST_F(NetnsHostsTest, OneHostThroughIpNetnsExec) {
  const std::vector<std::string> race = {
      "tickets.initial=100",
      "store.write=replace",
      "buyers.count=6",
      "buyers.attempts=2",
      "buyers.think_ms=[20, 30]",
      fmt::format("buyers.hosts=[\"{}\"]", hosts_[0])};
  std::vector<std::string> unguarded = race;
  unguarded.push_back("guard.kind=none");
  Ran ran = RunOnHosts(unguarded);
  EXPECT_EQ(ran.exit_code, 1) << ran.out;
  nlohmann::json run = Run0();
  EXPECT_EQ(Kinds(run),
            (std::vector<std::string>{"lost update", "duplicate seat"}))
      << ran.out;
  ASSERT_TRUE(run.contains("hosts")) << ran.out;
  ASSERT_EQ(run["hosts"].size(), 1u) << ran.out;
  EXPECT_EQ(run["hosts"][0]["name"], hosts_[0]);
  fmt::print("clock of {}: offset {} ms, uncertainty {} ms\n", hosts_[0],
             run["hosts"][0]["clock_offset_ms"].get<double>(),
             run["hosts"][0]["clock_uncertainty_ms"].get<double>());
  std::vector<std::string> locked = race;
  locked.push_back("guard.kind=file-lock");
  ran = RunOnHosts(locked);
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_TRUE(Kinds(Run0()).empty()) << ran.out;
}

// The postgres store's throwaway server listens on the bridge; the buyers
// are dealt to the three hosts.
std::vector<std::string> OnServer(const std::string& subnet,
                                  std::vector<std::string> more) {
  std::vector<std::string> settings = {
      "store.kind=postgres", fmt::format("store.listen={}.1", subnet),
      "tickets.initial=100", "buyers.count=6",
      "buyers.attempts=2",   "guard.timeout_ms=20000",
      "run.timeout_ms=90000"};
  settings.insert(settings.end(), more.begin(), more.end());
  return settings;
}

// Given a forced race with buyers on three hosts, the verdicts are those
// of one host: pg-row-lock and the atomic step hold; no guard loses
// updates; and a named-mutex, which each host has its own of, excludes
// only that host's buyers: updates are lost across hosts.
TEST_F(NetnsHostsTest, VerdictsMatchOneHost) {
  struct Case {
    std::vector<std::string> settings;
    int exit_code;
    bool lost;
  };
  const std::vector<Case> cases = {
      {{"guard.kind=pg-row-lock", "buyers.think_ms=[20, 30]"}, 0, false},
      {{"guard.kind=none", "buyers.method=atomic"}, 0, false},
      {{"guard.kind=none", "buyers.think_ms=[20, 30]"}, 1, true},
      {{"guard.kind=named-mutex", "buyers.think_ms=[20, 30]"}, 1, true},
  };
  for (const Case& c : cases) {
    const Ran ran = RunOnHosts(OnServer(subnet_, c.settings));
    EXPECT_EQ(ran.exit_code, c.exit_code) << c.settings[0] << "\n" << ran.out;
    const nlohmann::json run = Run0();
    const std::vector<std::string> kinds = Kinds(run);
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "lost update") > 0, c.lost)
        << c.settings[0] << "\n"
        << ran.out;
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "oversell"), 0);
    ASSERT_TRUE(run.contains("hosts")) << ran.out;
    ASSERT_EQ(run["hosts"].size(), 3u) << ran.out;
    for (const auto& host : run["hosts"]) {
      EXPECT_EQ(host["buyers"].size(), 2u);
      fmt::print("clock of {}: offset {} ms, uncertainty {} ms\n",
                 host["name"].get<std::string>(),
                 host["clock_offset_ms"].get<double>(),
                 host["clock_uncertainty_ms"].get<double>());
    }
  }
}

// Given one host cut off from the server mid-run, for longer than libpq's
// tcp_user_timeout (5 s), its buyers' changes in flight become
// indeterminate, the others go on, the invariant holds, the link comes
// back, and the run ends within its limit.
TEST_F(NetnsHostsTest, PartitionOfOneHostKeepsTheInvariant) {
  const Ran ran = RunOnHosts(
      OnServer(
          subnet_,
          {"guard.kind=none", "buyers.method=atomic", "tickets.initial=100000",
           "buyers.attempts=400", "buyers.query_delay_ms=[1, 2]",
           fmt::format("faults.partition_host={{ host = \"{}\", at_ms = "
                       "150, for_ms = 7000 }}",
                       hosts_[1])}),
      /*limit_s=*/150);
  ASSERT_TRUE(ran.exit_code == 0 || ran.exit_code == 1) << ran.out;
  const nlohmann::json run = Run0();
  ASSERT_TRUE(run.contains("partition")) << ran.out;
  EXPECT_EQ(run["partition"]["host"], hosts_[1]);
  EXPECT_EQ(run["partition"]["device"], veths_[1]);
  EXPECT_GT(run["partition"]["restored_ms"].get<double>(),
            run["partition"]["cut_ms"].get<double>());
  const int64_t initial = run["tickets"]["initial"];
  const int64_t remaining = run["tickets"]["remaining"];
  const int64_t confirmed = run["purchases"]["confirmed"];
  const int64_t indeterminate = run["purchases"]["indeterminate"];
  EXPECT_LE(confirmed, initial - remaining) << ran.out;
  EXPECT_LE(initial - remaining, confirmed + indeterminate) << ran.out;
  for (const std::string& kind : Kinds(run)) {
    EXPECT_NE(kind, "lost update") << ran.out;
    EXPECT_NE(kind, "oversell") << ran.out;
    EXPECT_NE(kind, "duplicate seat") << ran.out;
  }
  // The cut host's buyers saw it: purchases failed or were left open.
  int64_t failed_on_b = 0;
  for (const auto& buyer : run["buyers"]) {
    const int64_t b = buyer["buyer"];
    if (b % 3 == 1) failed_on_b += buyer["failed"].get<int64_t>();
  }
  EXPECT_GT(failed_on_b + indeterminate, 0) << ran.out;
  fmt::print("partition: {} confirmed, {} indeterminate, {} failed on {}\n",
             confirmed, indeterminate, failed_on_b, hosts_[1]);
}

}  // namespace
}  // namespace ticketsim
