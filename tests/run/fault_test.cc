// Faults: killed, stalled and crashing holders, deadlocks, interrupts and a
// killed ticketsim. Every failure must be visible, named and bounded in
// time, and nothing of a run may outlive it.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <tuple>

#include "sim/guards/guard.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::CheckedRun;
using ::ticketsim::testing::LeftoversOf;
using ::ticketsim::testing::RaceScenario;
using ::ticketsim::testing::Ran;
using ::ticketsim::testing::RunChecked;
using ::ticketsim::testing::RunInPrivateMounts;
using ::ticketsim::testing::RunTicketsimArgs;
using ::ticketsim::testing::TempDir;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

void ExpectBooksBalance(const Verdict& v) {
  ASSERT_TRUE(v.final_count.has_value());
  const int64_t fell = v.initial - *v.final_count;
  EXPECT_LE(v.confirmed, fell);
  EXPECT_LE(fell, v.confirmed + v.indeterminate);
}

// ---------------------------------------------------------------------------
// The fault matrix: every store x guard, holders SIGKILLed with chance 0.3.

bool Robust(GuardKind kind) {
  return kind == GuardKind::kFileLock || kind == GuardKind::kRobustMutex ||
         kind == GuardKind::kSqliteImmediate ||
         kind == GuardKind::kSqliteDeferred;
}

using FaultCase = std::tuple<StoreKind, GuardKind>;

std::vector<FaultCase> EveryStoreAndGuard() {
  std::vector<FaultCase> cases;
  for (StoreKind store :
       {StoreKind::kFile, StoreKind::kShm, StoreKind::kSqlite}) {
    for (GuardKind guard : GuardsFor(store, BuyerMode::kProcess)) {
      cases.emplace_back(store, guard);
    }
  }
  return cases;
}

class FaultMatrixTest : public ::testing::TestWithParam<FaultCase> {};

TEST_P(FaultMatrixTest, KilledHoldersAreBoundedAndAccountedFor) {
  const auto [store, guard] = GetParam();
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    Scenario s = RaceScenario(store, guard, Method::kReadModifyWrite, 6, 10);
    s.buyers.think_ms = {0, 1};
    s.buyers.seed = seed;
    s.faults.kill_holder = 0.3;
    s.guard.timeout_ms = 2000;
    s.store.busy_timeout_ms = 2000;
    s.run_timeout_ms = 10000;
    const auto start = std::chrono::steady_clock::now();
    const CheckedRun r = RunChecked(s);
    // A bound, not a timing: a hang would run far past it.
    EXPECT_LE(SecondsSince(start), s.run_timeout_ms / 1000.0 + 2.0);
    EXPECT_FALSE(r.run.timed_out);
    const Verdict& v = r.verdict;
    EXPECT_GT(v.fault_kills, 0);
    if (Robust(guard)) {
      ExpectBooksBalance(v);
      EXPECT_TRUE(r.run.abandoned.empty());
      if (guard != GuardKind::kSqliteDeferred) {
        EXPECT_TRUE(v.ok()) << ListViolations(v.Counts());
      }
    } else if (guard != GuardKind::kNone) {
      // Non-robust: the first holder to die is named, pid and all.
      ASSERT_EQ(r.run.abandoned.size(), 1u);
      const AbandonedLock& lock = r.run.abandoned[0];
      EXPECT_EQ(lock.pid, v.buyers[lock.buyer].pid);
      EXPECT_EQ(lock.signal, SIGKILL);
      EXPECT_EQ(v.buyers[lock.buyer].fault,
                static_cast<uint32_t>(FaultKind::kKill));
      EXPECT_EQ(v.CountOf(ViolationKind::kAbandonedLock), 1);
      ExpectBooksBalance(v);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryStoreAndGuard, FaultMatrixTest,
    ::testing::ValuesIn(EveryStoreAndGuard()),
    [](const ::testing::TestParamInfo<FaultCase>& info) {
      std::string name =
          std::string(WordOf(kStoreKinds, std::get<0>(info.param))) + "_" +
          std::string(WordOf(kGuardKinds, std::get<1>(info.param)));
      for (char& c : name) c = c == '-' ? '_' : c;
      return name;
    });

// A holder stopped inside its critical section and continued later: the
// others wait, nothing fails, and the history shows the pauses.
TEST(FaultTest, AStalledHolderIsContinuedAndNothingFails) {
  Scenario s = RaceScenario(StoreKind::kShm, GuardKind::kRobustMutex,
                            Method::kReadModifyWrite, 4, 5);
  s.buyers.think_ms = {0, 1};
  s.faults.pause_holder = 0.3;
  s.faults.pause_holder_ms = 50;
  const CheckedRun r = RunChecked(s);
  EXPECT_GT(r.verdict.paused, 0);
  EXPECT_EQ(r.verdict.killed_buyers, 0);
  EXPECT_EQ(r.verdict.confirmed, 20);
  EXPECT_TRUE(r.verdict.ok()) << ListViolations(r.verdict.Counts());
}

// A pause longer than the guard's timeout: the waiting buyers give up, and
// that is reported as guard failures, never waited out forever.
TEST(FaultTest, AStallLongerThanTheTimeoutIsAGuardFailure) {
  Scenario s = RaceScenario(StoreKind::kShm, GuardKind::kRobustMutex,
                            Method::kReadModifyWrite, 4, 5);
  s.buyers.think_ms = {0, 1};
  s.faults.pause_holder = 1;
  s.faults.pause_holder_ms = 600;
  s.guard.timeout_ms = 100;
  const CheckedRun r = RunChecked(s);
  EXPECT_GT(r.verdict.CountOf(ViolationKind::kGuardFailure), 0);
  ExpectBooksBalance(r.verdict);
}

// Crashes between read and write under a file lock: the kernel frees the
// lock, the crashed purchases are indeterminate, and the books balance.
TEST(FaultTest, CrashesBeforeTheWriteLeaveTheBooksBalanced) {
  Scenario s = RaceScenario(StoreKind::kFile, GuardKind::kFileLock,
                            Method::kReadModifyWrite, 6, 10);
  s.buyers.think_ms = {0, 1};
  s.faults.crash_before_write = 0.2;
  const CheckedRun r = RunChecked(s);
  EXPECT_GT(r.verdict.fault_crashes, 0);
  for (const BuyerSummary& b : r.verdict.buyers) {
    if (b.fault != static_cast<uint32_t>(FaultKind::kCrash)) continue;
    EXPECT_EQ(r.run.processes[r.run.served_by[b.buyer]].signal, SIGABRT);
  }
  // Nothing crashed after writing, so the count fell by exactly what was
  // confirmed.
  EXPECT_EQ(r.verdict.initial - *r.verdict.final_count, r.verdict.confirmed);
  EXPECT_TRUE(r.verdict.ok()) << ListViolations(r.verdict.Counts());
}

// ---------------------------------------------------------------------------
// Deadlock: two events, each with its own guard.

Scenario ConcertAndParking(GuardOrder order, GuardAcquire acquire) {
  Scenario s = RaceScenario(StoreKind::kShm, GuardKind::kNamedMutex,
                            Method::kReadModifyWrite, 4, 3);
  s.events = {"concert", "parking"};
  s.initial = 20;
  s.buyers.think_ms = {10, 20};
  s.guard.order = order;
  s.guard.acquire = acquire;
  return s;
}

TEST(DeadlockTest, OppositeOrdersDeadlockAndTheCycleIsNamed) {
  const CheckedRun r =
      RunChecked(ConcertAndParking(GuardOrder::kOpposite, GuardAcquire::kWait));
  ASSERT_EQ(r.verdict.CountOf(ViolationKind::kDeadlock), 1);
  const std::vector<DeadlockLink>& cycle = r.run.deadlock;
  ASSERT_GE(cycle.size(), 2u);
  std::set<uint32_t> buyers;
  for (size_t i = 0; i < cycle.size(); ++i) {
    const DeadlockLink& link = cycle[i];
    const DeadlockLink& next = cycle[(i + 1) % cycle.size()];
    buyers.insert(link.buyer);
    EXPECT_EQ(link.pid, r.verdict.buyers[link.buyer].pid);
    EXPECT_NE(link.holds, link.waits_for);
    // Each waits for what the next one holds.
    EXPECT_EQ(link.waits_for, next.holds);
  }
  EXPECT_EQ(buyers.size(), cycle.size());
  // Found, not waited out: no buyer reached its guard timeout.
  EXPECT_EQ(r.verdict.CountOf(ViolationKind::kGuardFailure), 0);
  EXPECT_FALSE(r.run.timed_out);
  const Violation& v = r.verdict.violations.back();
  ASSERT_EQ(v.witnesses.size(), 1u);
  EXPECT_NE(v.witnesses[0].text.find("holds concert's named-mutex and waits "
                                     "for parking's named-mutex"),
            std::string::npos)
      << v.witnesses[0].text;
  // Its facts: each buyer of the cycle holds one guard and waits for the
  // other.
  int holds = 0, waits = 0;
  for (const WitnessStep& step : v.witnesses[0].steps) {
    holds += step.what == "hold";
    waits += step.what == "wait";
  }
  EXPECT_EQ(holds, static_cast<int>(cycle.size()));
  EXPECT_EQ(waits, static_cast<int>(cycle.size()));
}

TEST(DeadlockTest, OneGlobalOrderSellsEveryBundleOnce) {
  const CheckedRun r =
      RunChecked(ConcertAndParking(GuardOrder::kGlobal, GuardAcquire::kWait));
  EXPECT_TRUE(r.verdict.ok()) << ListViolations(r.verdict.Counts());
  EXPECT_EQ(r.verdict.confirmed, 12);
  ASSERT_EQ(r.verdict.events.size(), 2u);
  for (const Verdict::EventBooks& e : r.verdict.events) {
    EXPECT_EQ(e.confirmed, 12) << e.name;
    EXPECT_EQ(e.final_count, 8) << e.name;
  }
}

TEST(DeadlockTest, TryLockWithBackoffSellsEveryBundleOnce) {
  const CheckedRun r = RunChecked(
      ConcertAndParking(GuardOrder::kOpposite, GuardAcquire::kTryBackoff));
  EXPECT_TRUE(r.verdict.ok()) << ListViolations(r.verdict.Counts());
  EXPECT_TRUE(r.run.deadlock.empty());
  for (const Verdict::EventBooks& e : r.verdict.events) {
    EXPECT_EQ(e.confirmed, 12) << e.name;
    EXPECT_EQ(e.final_count, 8) << e.name;
  }
}

// Unguarded, the bundle races like one event does, in each event's books.
TEST(DeadlockTest, UnguardedBundlesLoseUpdatesInBothEvents) {
  Scenario s = ConcertAndParking(GuardOrder::kGlobal, GuardAcquire::kWait);
  s.guard.kind = GuardKind::kNone;
  const CheckedRun r = RunChecked(s);
  EXPECT_GT(r.verdict.CountOf(ViolationKind::kLostUpdate), 0);
  for (const Verdict::EventBooks& e : r.verdict.events) {
    ASSERT_TRUE(e.final_count.has_value());
    EXPECT_GT(e.confirmed, 20 - *e.final_count) << e.name;
  }
}

// ---------------------------------------------------------------------------
// The binary, interrupted and killed.

// Every live process whose environment carries `tag`: ticketsim and the
// buyers it forked (they inherit its environment). Zombies have none.
std::vector<pid_t> ProcessesTagged(const std::string& tag) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.empty() || !isdigit(static_cast<unsigned char>(name[0]))) {
      continue;
    }
    std::ifstream in(entry.path() / "environ", std::ios::binary);
    std::stringstream environ;
    environ << in.rdbuf();
    if (environ.str().find(tag) != std::string::npos) {
      found.push_back(std::stoi(name));
    }
  }
  return found;
}

// Starts the ticketsim binary with `args`, its TMPDIR `tmpdir` and `tag` in
// its environment, its output discarded.
pid_t Spawn(const std::vector<std::string>& args, const std::string& tmpdir,
            const std::string& tag, const std::string& output = "/dev/null") {
  const pid_t pid = fork();
  if (pid == 0) {
    setenv("TMPDIR", tmpdir.c_str(), 1);
    setenv("TICKETSIM_TEST_TAG", tag.c_str(), 1);
    freopen(output.c_str(), "w", stdout);
    dup2(STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> argv{const_cast<char*>("ticketsim")};
    for (const std::string& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(TICKETSIM_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

// The signal lines of /proc/PID/status, for a failure message.
std::string SignalLines(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string out;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Sig", 0) == 0 || line.rfind("ShdPnd", 0) == 0) {
      out += line + "; ";
    }
  }
  return out;
}

std::string UniqueTag(const char* what, int i) {
  return fmt::format("ticketsim-test-{}-{}-{}", what, getpid(), i);
}

// SIGINT at 20 random moments: while buyers run, between trials, while
// reports are written. Each time: exit 130, no buyer left, and
// nothing of the run in /dev/shm or the temp directory.
TEST(InterruptTest, TwentySigintsAtRandomMomentsAllExit130AndLeaveNothing) {
  std::mt19937 random(20261122);
  // A long run, and many short trials (so that some interrupts fall
  // between two of them).
  const std::vector<std::string> long_run = {
      "run",      "--store",    "shm",       "--guard", "robust-mutex",
      "--buyers", "4",          "--tickets", "100000",  "--attempts",
      "2000",     "--think-ms", "0.5,1"};
  const std::vector<std::string> many_trials = {
      "run",      "--store",    "file",      "--guard",  "file-lock",
      "--buyers", "4",          "--tickets", "100",      "--attempts",
      "5",        "--think-ms", "1,2",       "--trials", "1000"};
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(::testing::Message() << "interrupt " << i);
    TempDir tmp;
    TempDir out_dir;
    const std::string out = out_dir.path() + "/out.txt";
    const std::string tag = UniqueTag("sigint", i);
    const pid_t pid =
        Spawn(i % 2 == 0 ? long_run : many_trials, tmp.path(), tag, out);
    ASSERT_GT(pid, 0);
    // From the moment its first run has made its directory (ticketsim
    // blocks SIGINT before anything else, so from then on an interrupt is
    // its to handle), at a random moment: while buyers run, between trials,
    // or while the reports are written.
    int status = 0;
    while (tmp.Entries().empty()) {
      ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0)
          << "ended before it could be interrupted: status " << status;
      usleep(1000);
    }
    const int delay_ms = std::uniform_int_distribution<int>(0, 700)(random);
    usleep(delay_ms * 1000);
    kill(pid, SIGINT);
    const std::string signals_after = SignalLines(pid);
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status)
                                   << " after " << delay_ms << " ms";
    EXPECT_EQ(WEXITSTATUS(status), 130)
        << "after " << delay_ms << " ms; then " << signals_after << "\n"
        << std::ifstream(out).rdbuf();
    EXPECT_TRUE(ProcessesTagged(tag).empty()) << "buyers left behind";
    EXPECT_TRUE(LeftoversOf(pid).empty());
    EXPECT_TRUE(tmp.Entries().empty()) << tmp.Entries().front();
  }
}

// ticketsim itself SIGKILLed mid-run: it can clean nothing up, but its
// buyers die with it (PR_SET_PDEATHSIG), and the next run removes what the
// dead one left.
// In a /tmp and /dev/shm of its own: the dead run's objects stay there until
// the next run removes them, and no other test's run may remove them first
// (or find them left behind).
TEST(InterruptTest, AKilledTicketsimTakesItsBuyersAlongAndTheNextRunCleansUp) {
  const std::string tag = UniqueTag("sigkill", 0);
  const std::string script = fmt::format(R"sh(
tagged() {{ grep -l -a {tag} /proc/[0-9]*/environ 2>/dev/null | wc -l; }}
objects() {{ ls /dev/shm | grep -c ticketsim; }}
TICKETSIM_TEST_TAG={tag} "$TICKETSIM" run --store shm --guard named-mutex \
  --buyers 6 --tickets 100000 --attempts 100000 --think-ms 1,2 \
  >/dev/null 2>&1 &
pid=$!
# Buyers run once the run's objects (store, guard, lock) exist and all seven
# processes are up.
i=0
while [ $i -lt 1000 ] && {{ [ "$(objects)" -lt 3 ] || [ "$(tagged)" -lt 7 ]; }}; do
  sleep 0.01; i=$((i + 1))
done
[ "$(tagged)" -eq 7 ] || {{ echo "$(tagged) processes, not 7"; exit 1; }}
kill -9 $pid
wait $pid
i=0
while [ $i -lt 100 ] && [ "$(tagged)" -gt 0 ]; do sleep 0.01; i=$((i + 1)); done
[ "$(tagged)" -eq 0 ] || {{ echo "buyers alive a second after ticketsim died"; exit 1; }}
[ "$(ls /tmp | grep -c '^ticketsim\.')" -eq 1 ] || {{ echo "no directory left"; exit 1; }}
[ "$(objects)" -ge 3 ] || {{ echo "no objects left"; exit 1; }}
"$TICKETSIM" run --store shm --guard named-mutex --buyers 2 >/dev/null 2>&1 ||
  {{ echo "the next run failed"; exit 1; }}
left=$(ls /tmp /dev/shm | grep ticketsim)
[ -z "$left" ] || {{ echo "left behind: $left"; exit 1; }}
echo cleaned
)sh",
                                         fmt::arg("tag", tag));
  const Ran ran = RunInPrivateMounts(script);
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_NE(ran.out.find("cleaned"), std::string::npos) << ran.out;
}

}  // namespace
}  // namespace ticketsim
