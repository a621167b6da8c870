// ticketsim_bench: `make bench`. Measures, side by side in one run:
//   1. per store x guard, ticketsim's purchases per second (2 buyers, many
//      attempts, history "summary") next to its floor (bench/floors.h: a
//      bare loop of exactly a purchase's steps in 2 processes), with how
//      often each side passed the lock between its processes and how many
//      CPUs each kept busy;
//   2. the same pairs pinned to one CPU: what one purchase costs, in ns;
//   3. controlled steps per second against a bare futex hand-off;
//   4. how often PCT and os find a depth-2 race, and how often os, seeded
//      and pct find each of the library's races (bench/schedules.h);
//   5. the tutorial's Python program against ticketsim on its workload;
//   6. a C buyer program with and without its events;
//   7. 10,000 buyers x 1 attempt against a bare fork-and-reap of 10,000,
//      and against 10,000 bare processes started together at a barrier;
//   8. the checker's time per event on 1 to 10 million events;
//   9. the peak memory of long summary runs;
//  10. the pairs of 1 on PostgreSQL;
//  11. buyers as threads against buyers as processes on the same workload,
//      and against their floor (2 bare threads); the threading lesson's
//      counter against a Python version of it (bench/g_num.py).
// Every pair is measured interleaved, over several rounds, so that a moment
// of noise on a shared machine hits both sides alike; two processes on one
// lock run in one of two regimes (contending from two CPUs, or taking turns
// on one), and a round is compared only when both sides ran in the same.
// Writes the tables to stdout and, with --out FILE, as Markdown to FILE;
// says on stderr what it is measuring as it goes.
#include <fmt/format.h>
#include <linux/futex.h>
#include <malloc.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "bench/floors.h"
#include "bench/rounds.h"
#include "bench/schedules.h"
#include "bench/workload.h"
#include "sim/check/checker.h"
#include "sim/run/run.h"
#include "sim/schedule/scheduler.h"

namespace ticketsim {
namespace {

namespace fs = std::filesystem;

// What the command line asked for, and where the tables go.
struct Bench {
  std::string ticketsim = "ticketsim";
  std::string seed = "../shared/peers/seed_rush.py";
  std::string c_buyer;                   // examples/c/buyer.c, built
  std::string scenarios = "scenarios";   // the library
  std::string g_num = "bench/g_num.py";  // the threading lesson, in Python
  int rounds = 5;
  std::string md;
  double start = Now();
  double last_said = 0;

  // A line of the tables: on stdout at once, and into the Markdown.
  void Say(const std::string& line) {
    fmt::print("{}\n", line);
    std::fflush(stdout);
    md += line + "\n";
  }
  // What is being measured, on stderr, with the time so far: at most one
  // line every 2 seconds, so that a run without a terminal shows how far it
  // is without flooding its log.
  void Progress(const std::string& what, bool always = false) {
    const double now = Now();
    if (!always && now - last_said < 2) return;
    last_said = now;
    const int elapsed = static_cast<int>(now - start);
    fmt::print(stderr, "bench {}:{:02} {}\n", elapsed / 60, elapsed % 60, what);
  }
};

// --- 1 and 2: ticketsim against its floor ----------------------------------

struct Row {
  StoreKind store;
  GuardKind guard;
  Method method;
  int64_t attempts;          // per process, on two CPUs; 0: not there
  int64_t one_cpu_attempts;  // per process, on one CPU; 0: not there
};

// An unguarded read-modify-write races: the lesson, not a failed run.
bool Races(const Row& row) {
  return row.guard == GuardKind::kNone &&
         row.method == Method::kReadModifyWrite;
}

Workload WorkloadOf(const Row& row, int64_t attempts) {
  Workload w;
  w.store = row.store;
  w.guard = row.guard;
  w.method = row.method;
  w.buyers = 2;
  w.attempts = attempts;
  w.tickets = row.store == StoreKind::kShm ? int64_t{1} << 40 : 1000000000;
  return w;
}

std::string RowName(const Row& row) {
  return fmt::format("{} | {} | {}", WordOf(kStoreKinds, row.store),
                     WordOf(kGuardKinds, row.guard),
                     WordOf(kMethods, row.method));
}

// Both sides of a row, round after round.
struct Pairs {
  std::vector<Round> ticketsim, floor;
};

Pairs MeasurePairs(Bench* bench, const Row& row, int64_t attempts,
                   const std::string& where) {
  const Workload w = WorkloadOf(row, attempts);
  const Scenario s = ScenarioOf(w);
  const FloorSpec floor{row.store, row.guard, row.method, w.tickets};
  Pairs pairs;
  for (int r = 0; r < bench->rounds; ++r) {
    bench->Progress(fmt::format("{}: {}, round {} of {}", where, RowName(row),
                                r + 1, bench->rounds));
    pairs.floor.push_back(RunFloor(floor, 2, attempts));
    pairs.ticketsim.push_back(TicketsimRound(s, Races(row)));
  }
  return pairs;
}

// CPUs a round kept busy, to the nearest whole one (at least 1).
int Regime(const Round& r) {
  return std::max(1, static_cast<int>(std::lround(r.CpusBusy())));
}

// The rounds in which both sides kept the same number of CPUs busy, of the
// regime most rounds share (the busier one on a tie).
std::vector<size_t> SameRegime(const Pairs& pairs) {
  std::vector<size_t> best;
  for (int cpus = 2; cpus >= 1; --cpus) {
    std::vector<size_t> these;
    for (size_t i = 0; i < pairs.floor.size(); ++i) {
      if (Regime(pairs.floor[i]) == cpus && Regime(pairs.ticketsim[i]) == cpus)
        these.push_back(i);
    }
    if (these.size() > best.size()) best = these;
  }
  return best;
}

// The median over the rounds `which` of `f` of a round.
double MedianOf(const std::vector<Round>& rounds,
                const std::vector<size_t>& which,
                const std::function<double(const Round&)>& f) {
  std::vector<double> values;
  for (size_t i : which) values.push_back(f(rounds[i]));
  return Median(values);
}

// Each round's pair: ticketsim's value of `f` over the floor's.
double MedianRatio(const Pairs& pairs, const std::vector<size_t>& which,
                   const std::function<double(const Round&)>& f) {
  std::vector<double> ratios;
  for (size_t i : which) {
    ratios.push_back(f(pairs.ticketsim[i]) / f(pairs.floor[i]));
  }
  return Median(ratios);
}

void TwoCpuRow(Bench* bench, const Row& row) {
  const Pairs pairs = MeasurePairs(bench, row, row.attempts, "two CPUs");
  std::vector<size_t> same = SameRegime(pairs);
  const std::string compared =
      fmt::format("{} of {}", same.size(), pairs.floor.size());
  // No round to compare: every round is shown, and no ratio.
  const bool none = same.empty();
  for (size_t i = 0; none && i < pairs.floor.size(); ++i) same.push_back(i);
  const auto rate = [](const Round& r) { return r.Rate(); };
  const auto hand_offs = [](const Round& r) { return r.HandOffsPerThousand(); };
  const auto cpus = [](const Round& r) { return r.CpusBusy(); };
  const std::string ratio =
      none ? std::string("(none)")
           : fmt::format("{:.0f}%", 100 * MedianRatio(pairs, same, rate));
  bench->Say(fmt::format(
      "| {} | {:.0f} | {:.0f} | {} | {:.0f} / {:.0f} | {:.2f} / {:.2f} | {} |",
      RowName(row), MedianOf(pairs.ticketsim, same, rate),
      MedianOf(pairs.floor, same, rate), ratio,
      MedianOf(pairs.ticketsim, same, hand_offs),
      MedianOf(pairs.floor, same, hand_offs),
      MedianOf(pairs.ticketsim, same, cpus), MedianOf(pairs.floor, same, cpus),
      compared));
}

// Pins this process, and the processes it forks from now on, to one CPU
// (as `taskset -c` does); gives back the CPUs it had when it ends.
class OneCpu {
 public:
  OneCpu() {
    sched_getaffinity(0, sizeof before_, &before_);
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &before_)) cpu_ = c;  // the last one allowed
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu_, &one);
    sched_setaffinity(0, sizeof one, &one);
  }
  ~OneCpu() { sched_setaffinity(0, sizeof before_, &before_); }
  OneCpu(const OneCpu&) = delete;
  OneCpu& operator=(const OneCpu&) = delete;
  int cpu() const { return cpu_; }

 private:
  cpu_set_t before_;
  int cpu_ = 0;
};

void OneCpuRow(Bench* bench, const Row& row) {
  const Pairs pairs = MeasurePairs(bench, row, row.one_cpu_attempts, "one CPU");
  std::vector<size_t> all(pairs.floor.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  const auto ns = [](const Round& r) { return r.CpuNsPerPurchase(); };
  const auto hand_offs = [](const Round& r) { return r.HandOffsPerThousand(); };
  const double ticketsim = MedianOf(pairs.ticketsim, all, ns);
  const double floor = MedianOf(pairs.floor, all, ns);
  // A step of a few ns: the events around it cost more than it does.
  const bool tiny = row.store == StoreKind::kShm &&
                    (row.method == Method::kAtomic || Races(row));
  const std::string ratio =
      tiny ? std::string("(in ns)")
           : fmt::format("{:.0f}%", 100 / MedianRatio(pairs, all, ns));
  bench->Say(
      fmt::format("| {} | {:.1f} | {:.1f} | {:+.1f} | {} | {:.1f} / {:.1f} |",
                  RowName(row), ticketsim, floor, ticketsim - floor, ratio,
                  MedianOf(pairs.ticketsim, all, hand_offs),
                  MedianOf(pairs.floor, all, hand_offs)));
}

const std::vector<Row>& Rows() {
  constexpr Method kRmw = Method::kReadModifyWrite;
  constexpr Method kAtomic = Method::kAtomic;
  static const std::vector<Row> rows = {
      {StoreKind::kShm, GuardKind::kNone, kAtomic, 3000000, 3000000},
      {StoreKind::kShm, GuardKind::kNone, kRmw, 0, 3000000},
      {StoreKind::kShm, GuardKind::kRobustMutex, kRmw, 2000000, 2000000},
      {StoreKind::kShm, GuardKind::kNamedMutex, kRmw, 1000000, 2000000},
      {StoreKind::kFile, GuardKind::kFileLock, kRmw, 40000, 20000},
      {StoreKind::kSqlite, GuardKind::kSqliteImmediate, kRmw, 10000, 5000},
      {StoreKind::kSqlite, GuardKind::kNone, kAtomic, 15000, 5000},
      {StoreKind::kPostgres, GuardKind::kNone, kAtomic, 5000, 0},
      {StoreKind::kPostgres, GuardKind::kPgRowLock, kRmw, 3000, 0},
  };
  return rows;
}

void TwoCpuHeader(Bench* bench) {
  bench->Say(
      "| store | guard | method | ticketsim purchases/s | floor purchases/s | "
      "ratio | hand-offs per 1,000 (ticketsim / floor) | CPUs busy "
      "(ticketsim / floor) | rounds compared |");
  bench->Say("|---|---|---|---:|---:|---:|---:|---:|---:|");
}

void TwoCpuSection(Bench* bench) {
  bench->Say(
      "## ticketsim against its floor: two processes on two CPUs, history = "
      "\"summary\"");
  bench->Say("");
  bench->Say(
      "The floor (bench/floors.h) is a bare loop of exactly the steps of a "
      "purchase: the query, the guard's own timed acquire (its Guard "
      "object's: a few tries, then a timed wait), the read, the write of "
      "count - 1, the release; or the query and the store's atomic step. "
      "ticketsim's 2 buyers and the floor's 2 processes are started together "
      "and make the same purchases, in interleaved rounds. *Hand-offs*: per "
      "1,000 purchases, how often the next seat was sold by the other "
      "process (the lock, or the count's cache line, passing between them). "
      "*CPUs busy*: CPU time over wall time, 2 when both processes ran all "
      "along, 1 when they took turns on one CPU. A round is compared only "
      "when both sides kept the same number of CPUs busy; the figures are "
      "medians over those rounds, the ratio the median of their ratios. "
      "PostgreSQL's rows are at the end.");
  bench->Say("");
  TwoCpuHeader(bench);
  for (const Row& row : Rows()) {
    if (row.attempts > 0 && row.store != StoreKind::kPostgres) {
      TwoCpuRow(bench, row);
    }
  }
}

// Last of all: its throwaway server, once started, lives as long as the
// bench, a child of this process, and a program's run in this process
// waits for every child to end.
void PostgresSection(Bench* bench) {
  bench->Say("## ticketsim against its floor on PostgreSQL");
  bench->Say("");
  bench->Say(
      "As the first table: 2 processes on two CPUs, on ticketsim's throwaway "
      "server. CPUs busy counts the buying processes only, not the "
      "server's.");
  bench->Say("");
  TwoCpuHeader(bench);
  for (const Row& row : Rows()) {
    if (row.store == StoreKind::kPostgres) TwoCpuRow(bench, row);
  }
}

void OneCpuSection(Bench* bench) {
  const OneCpu pinned;
  bench->Say("## The cost of a purchase: the same pairs on one CPU");
  bench->Say("");
  bench->Say(fmt::format(
      "Every process pinned to CPU {} (as `taskset -c {}` pins them), so "
      "that the two take turns and the lock seldom changes hands: what is "
      "left is what each purchase costs, measured as the CPU time (user + "
      "system) of the buying processes per purchase, which other work on "
      "the machine does not add to. The ratio is the floor's cost over "
      "ticketsim's, the median of the rounds' ratios. The atomic and the "
      "unguarded read-modify-write steps take a few ns, less than recording "
      "what a purchase did can: for them ticketsim's cost is given in ns "
      "beside the floor's, not as a ratio.",
      pinned.cpu(), pinned.cpu()));
  bench->Say("");
  bench->Say(
      "| store | guard | method | ticketsim ns per purchase | floor ns per "
      "purchase | ticketsim adds (ns) | ratio | hand-offs per 1,000 "
      "(ticketsim / floor) |");
  bench->Say("|---|---|---|---:|---:|---:|---:|---:|");
  for (const Row& row : Rows()) {
    if (row.one_cpu_attempts > 0) OneCpuRow(bench, row);
  }
}

// --- 3 and 4: controlled schedules ------------------------------------------

// Two processes passing a turn through a futex word in shared memory: the
// least one hand-off from a process to another and back can cost. Returns
// round trips (A -> B -> A) per second over `trips` of them.
double FutexRoundTripsPerSecond(int64_t trips) {
  struct alignas(64) Turn {
    std::atomic<uint32_t> whose{0};  // 0: A may go; 1: B may go
  };
  void* at = mmap(nullptr, sizeof(Turn), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  Turn* turn = new (at) Turn;
  const Together t = RunTogether(
      2, [](int) {},
      [&](int p) {
        const uint32_t mine = static_cast<uint32_t>(p);
        const uint32_t theirs = 1 - mine;
        for (int64_t i = 0; i < trips; ++i) {
          while (turn->whose.load(std::memory_order_acquire) != mine) {
            syscall(SYS_futex, &turn->whose, FUTEX_WAIT, theirs, nullptr,
                    nullptr, 0);
          }
          turn->whose.store(theirs, std::memory_order_release);
          syscall(SYS_futex, &turn->whose, FUTEX_WAKE, 1, nullptr, nullptr, 0);
        }
      });
  munmap(at, sizeof(Turn));
  return static_cast<double>(trips) / t.seconds;
}

// One run under a controlled schedule: its steps per second of the run's
// own time (from the start barrier to the last buyer reaped).
double ControlledStepsPerSecond(const Scenario& s) {
  RunResult result;
  const Status st = RunScenario(s, &result);
  const size_t wanted_steps = static_cast<size_t>(s.buyers.count) *
                              static_cast<size_t>(s.buyers.attempts);
  if (!st.ok() || result.schedule.steps.size() < wanted_steps ||
      result.seconds <= 0) {
    fmt::print(stderr, "seeded bench run failed: {} ({} steps)\n", st.message(),
               result.schedule.steps.size());
    std::exit(1);
  }
  return static_cast<double>(result.schedule.steps.size()) / result.seconds;
}

void StepsSection(Bench* bench) {
  Workload w;  // shm, no guard, read-modify-write, 2 buyers
  w.attempts = 20000;
  w.tickets = int64_t{1} << 40;
  w.schedule = ScheduleKind::kSeeded;
  bench->Say("## Controlled steps against a bare futex hand-off");
  bench->Say("");
  bench->Say(fmt::format(
      "ticketsim under run.schedule = \"seeded\": shm store, no guard, "
      "read-modify-write, {}, no think time, history \"summary\"; each step "
      "is one round trip (the scheduler lets one buyer take one step, the "
      "buyer stops again), so steps/s is set against round trips/s of two "
      "bare processes passing a turn through a futex word in shared memory "
      "(A -> B -> A). Steps/s = the run's steps / its seconds from the start "
      "barrier to the last buyer reaped.",
      Describe(w)));
  bench->Say("");
  const Scenario seeded = ScenarioOf(w);
  std::vector<double> steps_runs, trips_runs;
  for (int r = 0; r < bench->rounds; ++r) {
    bench->Progress(
        fmt::format("controlled steps, round {} of {}", r + 1, bench->rounds));
    trips_runs.push_back(FutexRoundTripsPerSecond(200000));
    steps_runs.push_back(ControlledStepsPerSecond(seeded));
  }
  const double steps = Median(steps_runs), trips = Median(trips_runs);
  bench->Say(
      "| ticketsim controlled steps/s | bare futex round trips/s | ratio |");
  bench->Say("|---:|---:|---:|");
  bench->Say(fmt::format("| {:.0f} | {:.0f} | {:.0f}% |", steps, trips,
                         100 * steps / trips));
}

// The depth-2 race: 2 buyers x 1 attempt at 1 ticket, shm store, no guard,
// no think time.
Scenario RaceScenario(ScheduleKind kind, uint64_t seed) {
  Workload w;
  w.history = HistoryMode::kFull;
  w.schedule = kind;
  w.more = {fmt::format("buyers.seed={}", seed), "run.pct_depth=2"};
  return ScenarioOf(w);
}

// Whether one trial of the race found a violation.
bool RaceViolated(const Scenario& s) {
  RunResult result;
  const Status st = RunScenario(s, &result);
  if (!st.ok()) {
    fmt::print(stderr, "race bench run failed: {}\n", st.message());
    std::exit(1);
  }
  return !CheckRun(result).ok();
}

void PctSection(Bench* bench) {
  constexpr int kTrials = 1000;
  bench->Say("## PCT against the kernel on a depth-2 race");
  bench->Say("");
  int pct_found = 0, os_found = 0;
  for (uint64_t seed = 1; seed <= kTrials; ++seed) {
    bench->Progress(fmt::format("pct and os, trial {} of {}", seed, kTrials));
    pct_found += RaceViolated(RaceScenario(ScheduleKind::kPct, seed));
    os_found += RaceViolated(RaceScenario(ScheduleKind::kOs, seed));
  }
  const Scenario race = RaceScenario(ScheduleKind::kPct, 1);
  const double bound = PctBound(race.buyers.count, StepEstimate(race), 2);
  bench->Say(fmt::format(
      "shm store, no guard, 2 buyers x 1 attempt, 1 ticket, no think time; "
      "{} trials each, seeds 1 to {}, one after the other.",
      kTrials, kTrials));
  bench->Say("");
  bench->Say("| schedule | trials with a violation | rate | PCT's bound |");
  bench->Say("|---|---:|---:|---:|");
  bench->Say(fmt::format("| pct, depth 2 | {} | {:.1f}% | {:.1f}% |", pct_found,
                         100.0 * pct_found / kTrials, 100 * bound));
  bench->Say(fmt::format("| os | {} | {:.1f}% | |", os_found,
                         100.0 * os_found / kTrials));
}

// "30 of 200 (12 ms)": trials that found the race, of all, and the time
// of one trial.
std::string FindsCell(const ScheduleFinds& f) {
  if (!f.failed.empty()) return "failed: " + f.failed;
  return fmt::format("{} of {} ({:.0f} ms)", f.found, f.trials,
                     f.trials == 0 ? 0.0 : 1000 * f.seconds / f.trials);
}

void SchedulesSection(Bench* bench) {
  constexpr int64_t kTrials = 40;
  constexpr ScheduleKind kSchedules[] = {
      ScheduleKind::kOs, ScheduleKind::kSeeded, ScheduleKind::kPct};
  bench->Say("## Which schedule finds which race");
  bench->Say("");
  bench->Say(fmt::format(
      "The library's races, each scenario run as a user runs it (`ticketsim "
      "run FILE --schedule S --trials {} --seed 1`, the settings named "
      "put over it), under each schedule (pct at its default depth, 2). A "
      "trial counts when it shows every kind the scenario's [expect] "
      "lists; in brackets, the time of one trial. Under a controlled "
      "schedule a think time is a step, not a sleep.",
      kTrials));
  bench->Say("");
  bench->Say("| race | scenario | os | seeded | pct |");
  bench->Say("|---|---|---:|---:|---:|");
  for (const LibraryRace& race : LibraryRaces()) {
    std::string cells;
    for (ScheduleKind schedule : kSchedules) {
      bench->Progress(fmt::format("schedules: {}, {}", race.what,
                                  WordOf(kScheduleKinds, schedule)),
                      true);
      cells += " | " + FindsCell(MeasureSchedule(bench->scenarios, race,
                                                 schedule, kTrials));
    }
    std::string scenario = "`" + race.file.substr(0, race.file.size() - 5);
    for (const std::string& s : race.settings) scenario += " --set " + s;
    bench->Say(fmt::format("| {} | {}`{} |", race.what, scenario, cells));
  }
}

// --- 5: the tutorial's program
// --------------------------------------------------

// Runs `argv` with its output discarded (its stderr kept: a run that goes
// wrong says so); returns wall seconds and the exit status (-1 if it could
// not start).
double RunProgram(const std::vector<std::string>& argv, int* status) {
  const double start = Now();
  const pid_t pid = fork();
  if (pid == 0) {
    if (freopen("/dev/null", "w", stdout) == nullptr) _exit(127);
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return Now() - start;
}

// The tutorial's workload for ticketsim: file store, a named mutex around the
// purchase (as the tutorial's multiprocessing.Lock, a POSIX semaphore), 4
// buyers x 5000 attempts at 100000 tickets, no think time.
Workload SeedWorkload(FileWrite write) {
  Workload w;
  w.store = StoreKind::kFile;
  w.write = write;
  w.guard = GuardKind::kNamedMutex;
  w.buyers = 4;
  w.attempts = 5000;
  w.tickets = 100000;
  return w;
}

void SeedTable(Bench* bench, double py, double truncate, double mapped) {
  bench->Say(
      "| program | seconds | purchases/s | against the tutorial's program |");
  bench->Say("|---|---:|---:|---:|");
  bench->Say(
      fmt::format("| seed_rush.py | {:.3f} | {:.0f} | 1x |", py, 20000 / py));
  bench->Say(
      fmt::format("| ticketsim, file store writing as the tutorial's program "
                  "does (truncate) | {:.3f} "
                  "| {:.0f} | {:.1f}x |",
                  truncate, 20000 / truncate, py / truncate));
  bench->Say(fmt::format(
      "| ticketsim, file store mapped (mmap) | {:.3f} | {:.0f} | **{:.1f}x** |",
      mapped, 20000 / mapped, py / mapped));
  bench->Say("");
  bench->Say(
      "Whole programs, start to exit. Writing as the tutorial's program does, "
      "each purchase "
      "costs an ftruncate and a pwrite of the file, which this machine's file "
      "system makes the bulk of the time.");
}

void SeedSection(Bench* bench) {
  bench->Say("## The tutorial's Python program on its workload");
  bench->Say("");
  bench->Say(
      "File store, a lock around the purchase, 4 buyers x 5000 attempts, "
      "100000 tickets, no think time; whole programs, wall time. ticketsim "
      "is given the whole workload on its command line (`--set` for every "
      "key: store, guard and scope, method, buyers, attempts, tickets, think "
      "time and query delay, history, schedule).");
  bench->Say("");
  if (!fs::exists(bench->seed)) {
    bench->Say(fmt::format("(skipped: the tutorial's program is not at {})",
                           bench->seed));
    return;
  }
  std::vector<double> py_runs, truncate_runs, mmap_runs;
  const auto ticketsim_run = [&](FileWrite write) {
    int status = 0;
    const double seconds = RunProgram(
        CommandLineOf(bench->ticketsim, SeedWorkload(write)), &status);
    // 1: the unguarded queries found the file half written (torn reads),
    // the tutorial's lesson.
    if (status != 0 && status != 1) {
      fmt::print(stderr, "bench: ticketsim exited {}\n", status);
      std::exit(1);
    }
    return seconds;
  };
  for (int r = 0; r < bench->rounds; ++r) {
    bench->Progress(fmt::format("the tutorial's program, round {} of {}", r + 1,
                                bench->rounds));
    RunNames names;
    RunLease lease;
    if (!StartRun(&names, &lease).ok()) std::exit(1);
    int status = 0;
    py_runs.push_back(RunProgram(
        {"python3", bench->seed, "4", "100000", "5000", "1", "0", names.dir},
        &status));
    RemoveRunObjects(names, {});
    truncate_runs.push_back(ticketsim_run(FileWrite::kTruncate));
    mmap_runs.push_back(ticketsim_run(FileWrite::kMapped));
  }
  SeedTable(bench, Median(py_runs), Median(truncate_runs), Median(mmap_runs));
}

// --- 6: a program's events --------------------------------------------------

// Runs the C buyer `path` as a program (2 copies x `attempts` purchases on
// the shm store), writing its events or not; returns the run's seconds
// (barrier to the last copy's end) and sets *event_lines to the lines it
// read on fd 3.
double ProgramSeconds(const std::string& path, bool events, int64_t attempts,
                      int64_t* event_lines) {
  Workload w;
  w.attempts = attempts;
  w.tickets = 2 * attempts;
  w.history = HistoryMode::kFull;
  Scenario s = ScenarioOf(w);
  // A program does its own purchases: no think time or delay to set.
  s.program.command = {fs::absolute(path).string()};
  if (!events) s.program.command.push_back("--no-events");
  RunResult result;
  const Status st = RunScenario(s, &result);
  const Verdict v = CheckRun(result);
  if (!st.ok() || !v.ok() || result.final_count != 0 ||
      (events && v.confirmed != s.initial)) {
    fmt::print(stderr, "bench program run failed: {} {}\n", st.message(),
               ListViolations(v.Counts()));
    std::exit(1);
  }
  if (event_lines != nullptr) {
    *event_lines = 0;
    for (const ProgramLane& lane : result.program->lanes) {
      *event_lines += lane.event_lines;
    }
  }
  return result.seconds;
}

void ProgramSection(Bench* bench) {
  bench->Say("## A program's events (fd 3)");
  bench->Say("");
  if (bench->c_buyer.empty() || !fs::exists(bench->c_buyer)) {
    bench->Say(fmt::format("(skipped: no C buyer at \"{}\"; --c-buyer PATH)",
                           bench->c_buyer));
    return;
  }
  constexpr int64_t kProgramAttempts = 20000;
  std::vector<double> quiet_runs, events_runs;
  int64_t event_lines = 0;
  for (int r = 0; r < bench->rounds; ++r) {
    bench->Progress(fmt::format("a program's events, round {} of {}", r + 1,
                                bench->rounds));
    quiet_runs.push_back(ProgramSeconds(bench->c_buyer, /*events=*/false,
                                        kProgramAttempts, nullptr));
    events_runs.push_back(ProgramSeconds(bench->c_buyer, /*events=*/true,
                                         kProgramAttempts, &event_lines));
  }
  const double quiet = Median(quiet_runs), events = Median(events_runs);
  const double purchases = 2.0 * kProgramAttempts;
  bench->Say(fmt::format(
      "examples/c/buyer.c (compare-and-swap on the shm store), 2 copies x {} "
      "purchases; with events each purchase writes {} lines on fd 3, which "
      "ticketsim reads, parses and checks.",
      kProgramAttempts, event_lines / static_cast<int64_t>(purchases)));
  bench->Say("");
  bench->Say("| C buyer | seconds | purchases/s | against the quiet buyer |");
  bench->Say("|---|---:|---:|---:|");
  bench->Say(fmt::format(
      "| writing no events (`--no-events`) | {:.3f} | {:.0f} | 1x |", quiet,
      purchases / quiet));
  bench->Say(
      fmt::format("| writing its events | {:.3f} | {:.0f} | **{:.0f}%** |",
                  events, purchases / events, 100 * quiet / events));
  bench->Say("");
  bench->Say(fmt::format(
      "Each event costs about **{:.2f} us** more, writing, reading and "
      "parsing it included (the difference over {} event lines).",
      1e6 * (events - quiet) / static_cast<double>(event_lines), event_lines));
}

// --- 7: 10,000 buyers -------------------------------------------------------

// Both floors start as RunScenario forks its buyers: with the free pages
// of this process's heap given back, so that each forks the same process
// (each resident page costs every fork and every exit a little).
double ForkReapSeconds(int n) {
  malloc_trim(0);
  const double start = Now();
  for (int i = 0; i < n; ++i) {
    if (fork() == 0) _exit(0);
  }
  for (int i = 0; i < n; ++i) wait(nullptr);
  return Now() - start;
}

// `n` bare processes started together: each says it is ready and sleeps on
// a futex until all are; then all exit, reaped by pid. The least any run of
// n processes with a start barrier can take: all n are alive at once.
double ForkBarrierReapSeconds(int n) {
  malloc_trim(0);
  const double start = Now();
  RunTogether(
      n, [](int) {}, [](int) {});
  return Now() - start;
}

void BuyersSection(Bench* bench) {
  Workload w;
  w.method = Method::kAtomic;
  w.buyers = 10000;
  w.attempts = 1;
  w.tickets = 10000;
  const Scenario s = ScenarioOf(w);
  // Each round forks 30,000 processes: on a busy machine, minutes.
  const int rounds = std::min(bench->rounds, 3);
  std::vector<double> fork_runs, barrier_runs, buyers_runs;
  for (int r = 0; r < rounds; ++r) {
    bench->Progress(
        fmt::format("10,000 buyers, round {} of {}", r + 1, rounds));
    fork_runs.push_back(ForkReapSeconds(10000));
    barrier_runs.push_back(ForkBarrierReapSeconds(10000));
    malloc_trim(0);
    const double start = Now();
    TicketsimRound(s);
    buyers_runs.push_back(Now() - start);
  }
  const double fork = Median(fork_runs), barrier = Median(barrier_runs),
               buyers = Median(buyers_runs);
  bench->Say("## 10,000 buyer processes");
  bench->Say("");
  bench->Say(fmt::format("The median of {} interleaved rounds.", rounds));
  bench->Say("");
  bench->Say("| what | seconds | ticketsim against it |");
  bench->Say("|---|---:|---:|");
  bench->Say(fmt::format(
      "| bare fork and reap of 10,000 processes (each exits at once) | {:.3f} "
      "| **{:.2f}x** |",
      fork, buyers / fork));
  bench->Say(fmt::format(
      "| 10,000 bare processes started together (all wait at a barrier, then "
      "exit) | {:.3f} | {:.2f}x |",
      barrier, buyers / barrier));
  bench->Say(fmt::format(
      "| ticketsim, shm store, atomic, 10,000 buyers x 1 attempt (whole run) "
      "| {:.3f} | |",
      buyers));
  bench->Say("");
  bench->Say(
      "A start barrier keeps all 10,000 processes alive at once, which costs "
      "more than forking each one after the last has gone: the second row is "
      "the least a run that starts its buyers together can take.");
}

// --- 8 and 9: the checker, memory -------------------------------------------

// The checker's time per event on a synthetic history of `events` events:
// 2 buyers, each purchase query, acquired, read, write, release.
double CheckerNsPerEvent(size_t events) {
  constexpr int kBuyers = 2;
  const size_t attempts = events / 5 / kBuyers;
  std::vector<std::vector<Event>> history(kBuyers);
  int64_t count = static_cast<int64_t>(attempts * kBuyers);
  uint64_t t = 0;
  for (size_t a = 0; a < attempts; ++a) {
    for (uint32_t b = 0; b < kBuyers; ++b) {
      const auto attempt = static_cast<uint32_t>(a);
      history[b].push_back(
          {++t, count, b, attempt, EventKind::kQuery, 0, 0, 0});
      history[b].push_back({++t, 0, b, attempt, EventKind::kAcquired, 0, 0, 1});
      history[b].push_back({++t, count, b, attempt, EventKind::kRead, 0, 0, 0});
      history[b].push_back(
          {++t, count - 1, b, attempt, EventKind::kWrite, 0, 0, 0});
      history[b].push_back({++t, 0, b, attempt, EventKind::kRelease, 0, 0, 0});
      --count;
    }
  }
  CheckInput input;
  input.initial = static_cast<int64_t>(attempts * kBuyers);
  input.final_count = 0;
  for (int b = 0; b < kBuyers; ++b) {
    input.events.emplace_back(history[b]);
    input.pids.push_back(1000 + b);
    input.killed.push_back(false);
  }
  double best = 1e18;
  for (int r = 0; r < 3; ++r) {
    const double start = Now();
    const Verdict v = Check(input);
    best = std::min(best, Now() - start);
    if (!v.ok()) std::exit(1);
  }
  return best * 1e9 / static_cast<double>(attempts * kBuyers * 5);
}

void CheckerSection(Bench* bench) {
  bench->Say("## The checker");
  bench->Say("");
  bench->Say("| events | ns per event |");
  bench->Say("|---:|---:|");
  for (size_t events : {1000000u, 2000000u, 5000000u, 10000000u}) {
    bench->Progress(fmt::format("the checker, {} events", events));
    bench->Say(
        fmt::format("| {} | {:.1f} |", events, CheckerNsPerEvent(events)));
  }
  bench->Say("");
  bench->Say("Constant time per event: linear in the history.");
}

// The peak resident memory, in KiB, of `argv` and every process it waited
// for: run from a child of ours, so only they count.
long PeakKib(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    int status = 0;
    RunProgram(argv, &status);
    rusage usage{};
    getrusage(RUSAGE_CHILDREN, &usage);
    const long kib = status == 0 ? usage.ru_maxrss : -1;
    (void)!write(pipe_fds[1], &kib, sizeof kib);
    _exit(0);
  }
  long kib = -1;
  (void)!read(pipe_fds[0], &kib, sizeof kib);
  waitpid(pid, nullptr, 0);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  return kib;
}

void MemorySection(Bench* bench) {
  bench->Say("## Memory of a long summary run");
  bench->Say("");
  bench->Say("| run | peak resident memory |");
  bench->Say("|---|---:|");
  for (int64_t attempts : {5000000, 50000000}) {
    bench->Progress(fmt::format("memory, {} attempts", attempts));
    Workload w;
    w.method = Method::kAtomic;
    w.attempts = attempts;
    w.tickets = 1000000000;
    const long kib = PeakKib(CommandLineOf(bench->ticketsim, w));
    bench->Say(fmt::format(
        "| shm, atomic, 2 buyers x {} attempts, summary | {:.1f} MiB |",
        attempts, kib / 1024.0));
  }
}

// --- 11: buyers as threads --------------------------------------------------

// One workload made by buyers as threads (memory store) and as processes
// (shm store), each with its own kind of lock, or the same atomic step.
struct ThreadRow {
  GuardKind thread_guard;   // on the memory store, in thread mode
  GuardKind process_guard;  // on the shm store, in process mode
  Method method;
  int64_t attempts;  // per buyer
};

constexpr ThreadRow kThreadRows[] = {
    {GuardKind::kStdMutex, GuardKind::kRobustMutex, Method::kReadModifyWrite,
     2000000},
    {GuardKind::kNone, GuardKind::kNone, Method::kAtomic, 4000000},
};

Workload ThreadRowWorkload(const ThreadRow& row, BuyerMode mode) {
  const bool threads = mode == BuyerMode::kThread;
  Workload w;
  w.store = threads ? StoreKind::kMemory : StoreKind::kShm;
  w.guard = threads ? row.thread_guard : row.process_guard;
  w.method = row.method;
  w.mode = mode;
  w.buyers = 2;
  w.attempts = row.attempts;
  w.tickets = int64_t{1} << 40;
  return w;
}

std::string ThreadRowSide(const ThreadRow& row, BuyerMode mode) {
  const Workload w = ThreadRowWorkload(row, mode);
  return fmt::format("{} / {}", WordOf(kStoreKinds, w.store),
                     WordOf(kGuardKinds, w.guard));
}

// A row's three sides, round after round: ticketsim's threads, its
// processes, and the threads' floor.
struct ThreadRounds {
  std::vector<Round> threads, processes, floor;
};

ThreadRounds MeasureThreadRow(Bench* bench, const ThreadRow& row) {
  const Scenario threads =
      ScenarioOf(ThreadRowWorkload(row, BuyerMode::kThread));
  const Scenario processes =
      ScenarioOf(ThreadRowWorkload(row, BuyerMode::kProcess));
  const FloorSpec floor{StoreKind::kMemory, row.thread_guard, row.method,
                        threads.initial};
  ThreadRounds rounds;
  for (int r = 0; r < bench->rounds; ++r) {
    bench->Progress(fmt::format("threads: {} against {}, round {} of {}",
                                ThreadRowSide(row, BuyerMode::kThread),
                                ThreadRowSide(row, BuyerMode::kProcess), r + 1,
                                bench->rounds));
    rounds.threads.push_back(TicketsimRound(threads));
    rounds.processes.push_back(TicketsimRound(processes));
    rounds.floor.push_back(RunThreadFloor(floor, 2, row.attempts));
  }
  return rounds;
}

// The median over the rounds of a's rate over b's, round by round.
double MedianRateRatio(const std::vector<Round>& a,
                       const std::vector<Round>& b) {
  std::vector<double> ratios;
  for (size_t i = 0; i < a.size(); ++i) {
    ratios.push_back(a[i].Rate() / b[i].Rate());
  }
  return Median(ratios);
}

double MedianRate(const std::vector<Round>& rounds) {
  std::vector<double> rates;
  for (const Round& r : rounds) rates.push_back(r.Rate());
  return Median(rates);
}

double MedianHandOffs(const std::vector<Round>& rounds) {
  std::vector<double> per_thousand;
  for (const Round& r : rounds) per_thousand.push_back(r.HandOffsPerThousand());
  return Median(per_thousand);
}

double MedianCpus(const std::vector<Round>& rounds) {
  std::vector<double> cpus;
  for (const Round& r : rounds) cpus.push_back(r.CpusBusy());
  return Median(cpus);
}

void ThreadPairTables(Bench* bench) {
  std::vector<std::string> against_processes, against_floor;
  for (const ThreadRow& row : kThreadRows) {
    const ThreadRounds r = MeasureThreadRow(bench, row);
    const std::string method(WordOf(kMethods, row.method));
    const std::string thread_side = ThreadRowSide(row, BuyerMode::kThread);
    against_processes.push_back(fmt::format(
        "| {} | {} | {} | {:.0f} | {:.0f} | **{:.0f}%** | {:.2f} / {:.2f} |",
        method, thread_side, ThreadRowSide(row, BuyerMode::kProcess),
        MedianRate(r.threads), MedianRate(r.processes),
        100 * MedianRateRatio(r.threads, r.processes), MedianCpus(r.threads),
        MedianCpus(r.processes)));
    against_floor.push_back(fmt::format(
        "| {} | {} | {:.0f} | {:.0f} | **{:.0f}%** | {:.0f} / {:.0f} | "
        "{:.2f} / {:.2f} |",
        thread_side, method, MedianRate(r.threads), MedianRate(r.floor),
        100 * MedianRateRatio(r.threads, r.floor), MedianHandOffs(r.threads),
        MedianHandOffs(r.floor), MedianCpus(r.threads), MedianCpus(r.floor)));
  }
  bench->Say(
      "| method | threads: store / guard | processes: store / guard | "
      "threads purchases/s | processes purchases/s | threads / processes | "
      "CPUs busy (threads / processes) |");
  bench->Say("|---|---|---|---:|---:|---:|---:|");
  for (const std::string& line : against_processes) bench->Say(line);
  bench->Say("");
  bench->Say(
      "Each thread row against its floor (bench/floors.h): a bare loop of the "
      "same steps in 2 threads of one process, started together at a "
      "barrier: a relaxed load for the query, the std-mutex guard's own "
      "Acquire "
      "and Release around the relaxed read and write (a few tries, then "
      "std::timed_mutex::try_lock_for), or the compare-and-swap loop; each "
      "seat taken marked in the thread's own seat map, as ticketsim records "
      "it for the checker and as the process floors do.");
  bench->Say("");
  bench->Say(
      "| threads: store / guard | method | ticketsim purchases/s | floor "
      "purchases/s | ratio | hand-offs per 1,000 (ticketsim / floor) | "
      "CPUs busy (ticketsim / floor) |");
  bench->Say("|---|---|---:|---:|---:|---:|---:|");
  for (const std::string& line : against_floor) bench->Say(line);
}

// The threading lesson's counter, whole programs start to exit: ticketsim
// and bench/g_num.py, 2 threads x `attempts` unguarded purchases.
void GNumTable(Bench* bench, int64_t attempts) {
  Workload w;
  w.store = StoreKind::kMemory;
  w.mode = BuyerMode::kThread;
  w.buyers = 2;
  w.attempts = attempts;
  w.tickets = 2 * attempts;
  std::vector<double> py_runs, ticketsim_runs;
  for (int r = 0; r < bench->rounds; ++r) {
    bench->Progress(
        fmt::format("threads: g_num, round {} of {}", r + 1, bench->rounds));
    int status = 0;
    py_runs.push_back(RunProgram(
        {"python3", bench->g_num, "2", std::to_string(attempts)}, &status));
    if (status != 0) {
      fmt::print(stderr, "bench: {} exited {}\n", bench->g_num, status);
      std::exit(1);
    }
    ticketsim_runs.push_back(
        RunProgram(CommandLineOf(bench->ticketsim, w), &status));
    // 1: updates were lost, the lesson.
    if (status != 0 && status != 1) {
      fmt::print(stderr, "bench: ticketsim exited {}\n", status);
      std::exit(1);
    }
  }
  const double py = Median(py_runs), ticketsim = Median(ticketsim_runs);
  const double purchases = 2.0 * static_cast<double>(attempts);
  bench->Say(fmt::format(
      "The threading lesson's counter: 2 threads x {} purchases of a global "
      "count of {} tickets, no lock (read it; if a ticket is left, write it "
      "one lower); whole programs, start to exit, wall time. ticketsim "
      "(`ticketsim run --threads --store memory`, every key given by `--set`, "
      "history \"summary\") checks every purchase; bench/g_num.py is the same "
      "loop in Python (threading, a global).",
      attempts, 2 * attempts));
  bench->Say("");
  bench->Say("| program | seconds | purchases/s | against Python |");
  bench->Say("|---|---:|---:|---:|");
  bench->Say(fmt::format("| bench/g_num.py | {:.3f} | {:.0f} | 1x |", py,
                         purchases / py));
  bench->Say(fmt::format(
      "| ticketsim, memory store, 2 threads | {:.3f} | {:.0f} | **{:.1f}x** |",
      ticketsim, purchases / ticketsim, py / ticketsim));
}

void ThreadsSection(Bench* bench) {
  bench->Say("## Buyers as threads");
  bench->Say("");
  bench->Say(fmt::format(
      "2 buyers, history \"summary\", no think time, {} interleaved rounds "
      "(medians; each ratio the median of the rounds' own). The same "
      "workload as threads of one buyer process (`buyers.mode = \"thread\"`, "
      "the memory store: a variable of that process) and as processes (the "
      "shm store); guarded, each with its own lock: std-mutex between "
      "threads, robust-mutex between processes.",
      bench->rounds));
  bench->Say("");
  ThreadPairTables(bench);
  bench->Say("");
  if (!fs::exists(bench->g_num)) {
    bench->Say(
        fmt::format("(g_num skipped: no {}; --g-num PATH)", bench->g_num));
    return;
  }
  GNumTable(bench, 1000000);
}

std::string Machine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string model = "unknown CPU";
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname u{};
  uname(&u);
  const long pages = sysconf(_SC_PHYS_PAGES);
  return fmt::format(
      "{}, {} cores, {:.0f} GiB, Linux {}", model,
      sysconf(_SC_NPROCESSORS_ONLN),
      pages * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 30),
      u.release);
}

// The sections, in order: the name --only takes, and the function.
struct Section {
  const char* name;
  void (*run)(Bench*);
};
constexpr Section kSections[] = {
    {"rows", TwoCpuSection},         {"one-cpu", OneCpuSection},
    {"steps", StepsSection},         {"pct", PctSection},
    {"schedules", SchedulesSection}, {"seed", SeedSection},
    {"program", ProgramSection},     {"buyers", BuyersSection},
    {"checker", CheckerSection},     {"memory", MemorySection},
    {"postgres", PostgresSection},   {"threads", ThreadsSection},
};

}  // namespace
}  // namespace ticketsim

int main(int argc, char** argv) {
  using namespace ticketsim;
  Bench bench;
  std::string out_path;
  // --only SECTION[,SECTION...]: of kSections' names; empty: all.
  std::string only;
  CLI::App app{"ticketsim_bench: ticketsim against its floors (make bench)"};
  app.add_option("--only", only,
                 "SECTION[,SECTION...]: measure only these sections");
  app.add_option("--out", out_path, "FILE: write the Markdown there too");
  app.add_option("--ticketsim", bench.ticketsim, "PATH: the ticketsim binary");
  app.add_option("--seed", bench.seed, "PATH: the seed's Python program");
  app.add_option("--rounds", bench.rounds, "N: interleaved rounds per pair")
      ->check(CLI::PositiveNumber);
  app.add_option("--c-buyer", bench.c_buyer, "PATH: examples/c/buyer.c, built");
  app.add_option("--scenarios", bench.scenarios, "DIR: the scenario library");
  app.add_option("--g-num", bench.g_num,
                 "PATH: the threading lesson in Python (bench/g_num.py)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  for (size_t from = 0; !only.empty() && from <= only.size();) {
    const size_t comma = std::min(only.find(',', from), only.size());
    const std::string name = only.substr(from, comma - from);
    from = comma + 1;
    bool known = false;
    for (const Section& section : kSections) known |= name == section.name;
    if (!known) {
      fmt::print(stderr, "ticketsim_bench: --only: no section \"{}\"\n", name);
      return 2;
    }
  }
  bench.Say("# ticketsim benchmarks");
  bench.Say("");
  double load[1] = {0};
  getloadavg(load, 1);
  bench.Say(fmt::format(
      "Measured by `make bench` on {}, load average {:.1f} at the start: "
      "every pair side by side in one run, {} interleaved rounds.",
      Machine(), load[0], bench.rounds));
  for (const Section& section : kSections) {
    bench.Say("");
    if (!only.empty() &&
        ("," + only + ",").find(fmt::format(",{},", section.name)) ==
            std::string::npos) {
      bench.Say(fmt::format("(section \"{}\" not measured in this run)",
                            section.name));
      continue;
    }
    bench.Progress(fmt::format("section \"{}\"", section.name), true);
    section.run(&bench);
  }
  getloadavg(load, 1);
  bench.Say("");
  bench.Say(fmt::format("Load average {:.1f} at the end, after {:.0f} s.",
                        load[0], Now() - bench.start));
  bench.Progress("done", true);
  if (!out_path.empty()) {
    std::ofstream(out_path) << bench.md;
    fmt::print("\nwritten to {}\n", out_path);
  }
  return 0;
}
