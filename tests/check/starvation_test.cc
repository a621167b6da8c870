// Starvation: a buyer that gave up waiting for a lock the others kept
// taking. The lock excluded, so it is a finding of its own, not a guard
// failure, an abandoned lock or a red verdict; a wait that ran out behind a
// stalled or dead holder stays what it was. Through the command line, with
// a program whose schedule is forced and with the named mutex under a
// schedule the kernel forces, and on histories written by hand.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sched.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sim/check/checker.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::Has;
using ::ticketsim::testing::LeavesNothingTest;
using ::ticketsim::testing::Ran;
using ::ticketsim::testing::ReadFile;
using ::ticketsim::testing::ReadJson;
using ::ticketsim::testing::RunTicketsimArgs;

// Two copies and a real flock, their turns forced by files in the run
// directory: buyer 0 buys under the lock; once buyer 1 has asked for it,
// buyer 0 lets it go and takes it straight back three times (a lock with no
// hand-off lets it), and only then does buyer 1's wait run out: one try,
// the lock taken, "fail lock". Buyer 0 then finishes its fourth purchase.
constexpr char kRetakingHolder[] = R"(import fcntl, json, os, sys, time
sys.path.insert(0, os.environ["HELPERS"] + "/python")
from ticketsim_buyer import Buyer

b = Buyer()
lock = open("db.lock", "a")
take = lambda: fcntl.flock(lock, fcntl.LOCK_EX)
let_go = lambda: fcntl.flock(lock, fcntl.LOCK_UN)

def touch(name):
    open(name, "w").close()

def wait_for(name):
    while not os.path.exists(name):
        time.sleep(0.002)

def buy(inside=lambda: None):
    with b.purchase() as p, b.locked((take, let_go)):
        with open(b.db) as f:
            n = json.load(f)["count"]
        p.read(n)
        inside()
        with open(b.db, "w") as f:
            json.dump({"count": n - 1}, f)
        p.ok(seat=n)

b.wait_for_start()
if b.buyer == 0:
    buy(lambda: (touch("held"), wait_for("asked")))
    buy()
    buy()
    buy(lambda: (touch("retaken"), wait_for("gave-up")))
else:
    wait_for("held")
    with b.purchase() as p:
        b.write("invoke", "lock")
        touch("asked")
        wait_for("retaken")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            sys.exit("the lock was free")
        except BlockingIOError:
            b.write("fail", "lock", error="timed out")
        p.fail("gave up waiting for the lock")
    touch("gave-up")
)";

class StarvationTest : public LeavesNothingTest {
 protected:
  // A scenario file running the retaking holder's two copies, with
  // `expect` after it.
  std::string Scenario(const std::string& expect) {
    const std::string program = tmp_.Write("retake.py", kRetakingHolder);
    return tmp_.Write(
        "starve.toml",
        fmt::format(R"(name = "a holder that takes the lock straight back"
[program]
command = ["env", "HELPERS={}/helpers", "python3", "{}"]
[tickets]
initial = 10
[guard]
kind = "none"
[buyers]
count = 2
attempts = 4
{})",
                    TICKETSIM_SOURCE_DIR, program, expect));
  }
  Ran Run(const std::vector<std::string>& args) {
    return RunTicketsimArgs(args, runs_.path());
  }
  testing::TempDir runs_;
};

TEST_F(StarvationTest, AWaitThatRanOutWhileTheHolderTookTheLockBackStarved) {
  const std::string json = tmp_.path() + "/report.json";
  const std::string junit = tmp_.path() + "/report.xml";
  const std::string history = tmp_.path() + "/history.jsonl";
  const Ran ran = Run({"run", Scenario(""), "--json", json, "--junit", junit,
                       "--history", history, "--narrate"});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_TRUE(Has(ran.out, "verdict   no violation")) << ran.out;
  EXPECT_FALSE(Has(ran.out, "GUARD FAILURE")) << ran.out;
  EXPECT_TRUE(Has(ran.out,
                  "found     starvation x1 (a finding, not a "
                  "violation)"))
      << ran.out;
  // Who waited how long, who took the lock meanwhile, the streak.
  const std::string witness =
      "meanwhile it was taken 3 times, every time by buyers that asked for "
      "it after buyer 1 did (buyer 0 x3); buyer 0 took it 3 times in a row";
  EXPECT_TRUE(Has(ran.out, "buyer 1 waited ")) << ran.out;
  EXPECT_TRUE(Has(ran.out, witness)) << ran.out;
  EXPECT_TRUE(Has(ran.out,
                  "Of its 4 takings, 3 (100.0%) went straight back "
                  "to the buyer that had just let it go, up to 4 "
                  "times in a row (buyer 0)"))
      << ran.out;
  // The narration tells it where it happened.
  EXPECT_TRUE(Has(ran.out, "starvation: buyer 1 waited ")) << ran.out;

  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded()) << ran.out;
  const nlohmann::json& run = report["scenarios"][0]["runs"][0];
  EXPECT_EQ(run["ok"], true);
  EXPECT_TRUE(run["violations"].empty()) << run["violations"].dump();
  ASSERT_EQ(run["findings"].size(), 1u);
  const nlohmann::json& found = run["findings"][0];
  EXPECT_EQ(found["kind"], "starvation");
  EXPECT_EQ(found["count"], 1);
  ASSERT_EQ(found["witnesses"].size(), 1u);
  EXPECT_EQ(found["witnesses"][0]["buyers"], nlohmann::json({1, 0}));
  EXPECT_TRUE(Has(found["witnesses"][0]["text"], witness));
  EXPECT_EQ(run["purchases"]["confirmed"], 4);

  const std::string xml = ReadFile(junit);
  EXPECT_TRUE(Has(xml, "failures=\"0\"")) << xml;
  EXPECT_TRUE(Has(xml, "no violation; found starvation x1")) << xml;

  // Read back, the history keeps the judgment.
  const Ran check = Run({"check", "--history", history});
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_TRUE(Has(check.out, "found (not violations): starvation x1"))
      << check.out;
  EXPECT_TRUE(Has(check.out, witness)) << check.out;
}

// `[expect] kinds` can ask for starvation, and a run without it misses.
TEST_F(StarvationTest, ExpectKindsCanAskForStarvation) {
  const Ran met =
      Run({"run", Scenario("[expect]\nviolations = \"some\"\nkinds = "
                           "[\"starvation\"]\n")});
  EXPECT_EQ(met.exit_code, 0) << met.out;
  EXPECT_TRUE(Has(met.out, "expect    some: starvation -- met")) << met.out;

  const Ran missed =
      Run({"run", "--store", "shm", "--guard", "file-lock", "--buyers", "2",
           "--attempts", "2", "--think-ms", "0,1", "--set",
           "expect.violations=some", "--set", "expect.kinds=[\"starvation\"]"});
  EXPECT_EQ(missed.exit_code, 1) << missed.out;
  EXPECT_TRUE(Has(missed.out, "expected starvation, got none")) << missed.out;
}

// The named mutex of a correctly locked rush, four buyers: a POSIX
// semaphore, with no hand-off. The kernel forces the schedule: every
// process of the run on one CPU under SCHED_FIFO, where a waiter woken by
// the release does not run before the buyer that released, which so takes
// the mutex straight back, purchase after purchase; each other buyer's
// 100 ms wait runs out over about ten 10 ms holds. Three starved waits, a
// finding: the mutex excluded, so no guard failure and a green verdict.
TEST_F(StarvationTest, ANamedMutexTakenStraightBackStarvesTheOthersInTheRush) {
  const Ran fifo = testing::RunProgram({"/usr/bin/chrt", "-f", "1", "true"});
  if (fifo.exit_code != 0) GTEST_SKIP() << "no SCHED_FIFO here: " << fifo.out;
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  int cpu = 0;
  while (!CPU_ISSET(cpu, &allowed)) ++cpu;
  const std::string json = tmp_.path() + "/report.json";
  // The run's processes inherit the CPU and the policy.
  const Ran ran = testing::RunProgram(
      {"/bin/sh", "-c",
       "exec taskset -c \"$2\" chrt -f 1 \"$0\" run --store file --write "
       "truncate "
       "--guard named-mutex --buyers 4 --attempts 20 --tickets 100 "
       "--think-ms 10,10 --timeout-ms 100 --json \"$1\"",
       TICKETSIM_BINARY, json, std::to_string(cpu)},
      runs_.path());
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_TRUE(Has(ran.out, "verdict   no violation")) << ran.out;
  EXPECT_FALSE(Has(ran.out, "GUARD FAILURE")) << ran.out;
  EXPECT_TRUE(
      Has(ran.out, "found     starvation x3 (a finding, not a violation)"))
      << ran.out;
  EXPECT_TRUE(Has(ran.out,
                  "went straight back to the buyer that had just "
                  "let it go, up to 20 times in a row"))
      << ran.out;
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded()) << ran.out;
  const nlohmann::json& run = report["scenarios"][0]["runs"][0];
  EXPECT_TRUE(run["violations"].empty()) << run["violations"].dump();
  ASSERT_EQ(run["findings"].size(), 1u) << run["findings"].dump();
  EXPECT_EQ(run["findings"][0]["kind"], "starvation");
  EXPECT_EQ(run["findings"][0]["count"], 3);
  EXPECT_EQ(run["purchases"]["confirmed"], 20);
}

// A holder killed inside its purchase leaves the named mutex taken for
// good: still an abandoned lock, and a wait that ran out behind it (with a
// 1 ms timeout some do, and the dead holder may have asked after them) is
// no starvation. With seed 8 every buyer dies in its first purchase, before
// the write: the first holder never lets the mutex go.
TEST_F(StarvationTest, AHolderKilledHoldingTheNamedMutexIsAnAbandonedLock) {
  const std::string json = tmp_.path() + "/report.json";
  const Ran ran = Run({"run",
                       "--store",
                       "shm",
                       "--guard",
                       "named-mutex",
                       "--buyers",
                       "3",
                       "--attempts",
                       "20",
                       "--tickets",
                       "100",
                       "--think-ms",
                       "1,1",
                       "--timeout-ms",
                       "1",
                       "--set",
                       "faults.kill_holder=1",
                       "--seed",
                       "8",
                       "--json",
                       json});
  EXPECT_EQ(ran.exit_code, 1) << ran.out;
  EXPECT_TRUE(Has(ran.out, "abandoned lock x1")) << ran.out;
  EXPECT_FALSE(Has(ran.out, "starvation")) << ran.out;
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded()) << ran.out;
  const nlohmann::json& run = report["scenarios"][0]["runs"][0];
  EXPECT_TRUE(run["findings"].empty()) << run["findings"].dump();
  EXPECT_EQ(run["purchases"]["confirmed"], 0);
  ASSERT_EQ(run["run"]["abandoned_locks"].size(), 1u);
}

// --- On histories written by hand -------------------------------------------

// One buyer's events, each {kind, time in us}, for lock 0.
struct Step {
  EventKind kind;
  uint64_t us;
  uint32_t aux = 0;
  uint32_t attempt = 0;
};
std::vector<Event> Events(uint32_t buyer, const std::vector<Step>& steps) {
  std::vector<Event> events;
  for (const Step& s : steps) {
    events.push_back({s.us * 1000, 0, buyer, s.attempt, s.kind, 0, 0, s.aux});
  }
  return events;
}

constexpr uint32_t kTimeout = static_cast<uint32_t>(Failure::kGuardTimeout);
constexpr uint32_t kKill = static_cast<uint32_t>(FaultKind::kKill);
constexpr uint32_t kPause = static_cast<uint32_t>(FaultKind::kPause);

// Buyer 1 asks at 100 us and gives up at 1100 us; buyer 0 holds the lock
// from 0 and, as given, lets it go and takes it back while buyer 1 waits.
Verdict CheckWait(const std::vector<Step>& holder, bool holder_killed = false) {
  const std::vector<Event> a = Events(0, holder);
  const std::vector<Event> b = Events(
      1, {{EventKind::kWaiting, 100}, {EventKind::kFailed, 1100, kTimeout}});
  CheckInput input;
  input.initial = 10;
  input.final_count = 10;  // nothing written: the books are not the point
  input.events = {a, b};
  input.killed = {holder_killed, false};
  input.pids = {100, 101};
  return Check(input);
}

TEST(StarvationCheckTest, ALockTakenBackByItsHolderStarvesTheWaiter) {
  const Verdict v = CheckWait({{EventKind::kWaiting, 0},
                               {EventKind::kAcquired, 1},
                               {EventKind::kRelease, 300},
                               {EventKind::kWaiting, 301, 0, 1},
                               {EventKind::kAcquired, 302, 0, 1},
                               {EventKind::kRelease, 1200, 0, 1}});
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.CountOf(ViolationKind::kGuardFailure), 0);
  ASSERT_EQ(v.findings.size(), 1u);
  EXPECT_EQ(v.findings[0].kind, ViolationKind::kStarvation);
  EXPECT_EQ(v.CountOf(ViolationKind::kStarvation), 1);
  EXPECT_EQ(v.failed, 1);  // the purchase still failed
}

// One hold the whole wait long: the waiter was let down by a slow holder,
// not passed over. A guard failure, as before.
TEST(StarvationCheckTest, AWaitBehindOneLongHoldIsAGuardFailure) {
  const Verdict v = CheckWait({{EventKind::kWaiting, 0},
                               {EventKind::kAcquired, 1},
                               {EventKind::kRelease, 1200}});
  EXPECT_EQ(v.CountOf(ViolationKind::kGuardFailure), 1);
  EXPECT_TRUE(v.findings.empty());
}

// Passed over, but the wait ran out behind a holder that was killed inside
// and never let go: the lock was abandoned, not unfair.
TEST(StarvationCheckTest, AWaitBehindAKilledHolderIsNotStarvation) {
  const Verdict v = CheckWait({{EventKind::kWaiting, 0},
                               {EventKind::kAcquired, 1},
                               {EventKind::kRelease, 300},
                               {EventKind::kWaiting, 301, 0, 1},
                               {EventKind::kAcquired, 302, 0, 1},
                               {EventKind::kFault, 400, kKill, 1}},
                              /*holder_killed=*/true);
  EXPECT_EQ(v.CountOf(ViolationKind::kGuardFailure), 1);
  EXPECT_TRUE(v.findings.empty());
}

// Passed over, but the wait ran out behind a holder stopped inside it
// (pause_holder): a stall.
TEST(StarvationCheckTest, AWaitBehindAPausedHolderIsNotStarvation) {
  const Verdict v = CheckWait({{EventKind::kWaiting, 0},
                               {EventKind::kAcquired, 1},
                               {EventKind::kRelease, 300},
                               {EventKind::kWaiting, 301, 0, 1},
                               {EventKind::kAcquired, 302, 0, 1},
                               {EventKind::kFault, 400, kPause, 1},
                               {EventKind::kRelease, 1500, 0, 1}});
  EXPECT_EQ(v.CountOf(ViolationKind::kGuardFailure), 1);
  EXPECT_TRUE(v.findings.empty());
}

// The lock changed hands, but only among buyers that had asked before the
// waiter: a fair lock would have served them first too. A queue longer
// than the timeout, not starvation.
TEST(StarvationCheckTest, BuyersThatAskedEarlierAreNotOvertaking) {
  const std::vector<Event> a = Events(0, {{EventKind::kWaiting, 0},
                                          {EventKind::kAcquired, 1},
                                          {EventKind::kRelease, 600}});
  const std::vector<Event> c = Events(2, {{EventKind::kWaiting, 50},
                                          {EventKind::kAcquired, 601},
                                          {EventKind::kRelease, 1500}});
  const std::vector<Event> b = Events(
      1, {{EventKind::kWaiting, 100}, {EventKind::kFailed, 1100, kTimeout}});
  CheckInput input;
  input.initial = 10;
  input.final_count = 10;
  input.events = {a, b, c};
  input.killed = {false, false, false};
  input.pids = {100, 101, 102};
  const Verdict v = Check(input);
  EXPECT_EQ(v.CountOf(ViolationKind::kGuardFailure), 1);
  EXPECT_TRUE(v.findings.empty());
}

// The waiter's request was recorded at 100 us, but under load it reached
// the lock only after buyer 0, asking at 200 us, had found it free and
// taken it: no hand-off happened while buyer 1 waited, so it was not passed
// over. The hold outlasted its wait: a guard failure, as the run with a
// 5 ms timeout behind a 500 ms think time must say whatever the load.
TEST(StarvationCheckTest, AFreeLockTakenAfterTheWaiterAskedIsNotOvertaking) {
  const Verdict v = CheckWait({{EventKind::kWaiting, 200},
                               {EventKind::kAcquired, 201},
                               {EventKind::kRelease, 1500}});
  EXPECT_EQ(v.CountOf(ViolationKind::kGuardFailure), 1);
  EXPECT_TRUE(v.findings.empty());
}

}  // namespace
}  // namespace ticketsim
