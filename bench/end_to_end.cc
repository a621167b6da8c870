// ticketsim_bench: `make bench`. Measures, side by side in one run:
//   1. per store x guard, ticketsim's purchases per second (2 buyers, many
//      attempts, history "summary") next to a bare loop of the same
//      primitive operations in 2 processes (the floor), and their ratio;
//   2. the seed's Python program against ticketsim on its workload;
//   3. 10,000 buyers x 1 attempt against a bare fork-and-reap of 10,000,
//      and against 10,000 bare processes started together at a barrier;
//   4. the checker's time per event on 1 to 10 million events;
//   5. the peak memory of a 10-million-attempt summary run;
//   6. controlled steps per second against a bare futex hand-off, and how
//      often PCT and os find a depth-2 race.
// Every pair is measured interleaved, the median of several rounds, so that
// a moment of noise on a shared machine hits both sides alike, and a loop
// that runs in one of two modes (two processes on one lock either take
// turns on one CPU or contend from two) is judged by its usual mode, not
// by whichever came up once. Writes the table to stdout and, with --out
// FILE, as Markdown to FILE.
#include <fcntl.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <linux/futex.h>
#include <malloc.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/interprocess/sync/named_mutex.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "sim/checker.h"
#include "sim/run.h"
#include "sim/scenario.h"
#include "sim/scheduler.h"
#include "storage/pg_server.h"

namespace ticketsim {
namespace {

namespace fs = std::filesystem;
namespace bip = boost::interprocess;

double Now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The median of `values` (not empty).
double Median(std::vector<double> values) {
  const auto middle = values.begin() + values.size() / 2;
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

// Shared by the floor's processes: a start flag and the count.
struct alignas(64) FloorShared {
  std::atomic<int> ready{0};
  std::atomic<int> go{0};
  alignas(64) std::atomic<int64_t> count{0};
  alignas(64) pthread_mutex_t mutex;
};

// FloorShared in anonymous shared memory, for the floor's processes.
class SharedFloor {
 public:
  explicit SharedFloor(int64_t count = 0)
      : at_(new (mmap(nullptr, sizeof(FloorShared), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0)) FloorShared) {
    at_->count = count;
  }
  ~SharedFloor() { munmap(at_, sizeof(FloorShared)); }
  FloorShared* get() const { return at_; }

 private:
  FloorShared* const at_;
};

// The query a purchase begins with: a read of the count, kept.
void Query(const FloorShared* shared) {
  volatile int64_t seen = shared->count.load(std::memory_order_acquire);
  (void)seen;
}

// Runs `body(iterations)` in `processes` forked processes started together;
// returns the seconds from the start to the last one reaped.
double RunForked(int processes, const std::function<void(int)>& body,
                 FloorShared* shared) {
  shared->ready = 0;
  shared->go = 0;
  std::vector<pid_t> pids;
  for (int p = 0; p < processes; ++p) {
    const pid_t pid = fork();
    if (pid == 0) {
      body(-1);  // attach
      shared->ready.fetch_add(1);
      while (shared->go.load(std::memory_order_acquire) == 0) {
      }
      body(p);
      _exit(0);
    }
    pids.push_back(pid);
  }
  while (shared->ready.load() < processes) usleep(100);
  const double start = Now();
  shared->go.store(1, std::memory_order_release);
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
  return Now() - start;
}

std::string TempDirectory() {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = fmt::format("{}/ticketsim-bench.XXXXXX",
                                  tmp != nullptr && *tmp ? tmp : "/tmp");
  return mkdtemp(templ.data());
}

// One store x guard row: how ticketsim runs it, and its bare floor.
struct Row {
  std::string store;
  std::string guard;
  std::string method = "read-modify-write";
  int64_t attempts;  // per process
  // The floor: `iterations` purchases made of the same operations.
  std::function<double(int64_t iterations)> floor;
};

// --- The floors: the primitive operations of one purchase, bare. ----------

double ShmAtomicFloor(int64_t n) {
  SharedFloor floor(int64_t{1} << 50);
  FloorShared* shared = floor.get();
  const double s = RunForked(
      2,
      [&](int p) {
        if (p < 0) return;
        for (int64_t i = 0; i < n; ++i) {
          Query(shared);
          int64_t seen = shared->count.load(std::memory_order_acquire);
          while (seen > 0 && !shared->count.compare_exchange_weak(
                                 seen, seen - 1, std::memory_order_acq_rel)) {
          }
        }
      },
      shared);
  return s;
}

double ShmRobustMutexFloor(int64_t n) {
  SharedFloor floor(int64_t{1} << 50);
  FloorShared* shared = floor.get();
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&shared->mutex, &attr);
  const double s = RunForked(
      2,
      [&](int p) {
        if (p < 0) return;
        for (int64_t i = 0; i < n; ++i) {
          Query(shared);
          pthread_mutex_lock(&shared->mutex);
          const int64_t c = shared->count.load(std::memory_order_acquire);
          shared->count.store(c - 1, std::memory_order_release);
          pthread_mutex_unlock(&shared->mutex);
        }
      },
      shared);
  return s;
}

double ShmNamedMutexFloor(int64_t n) {
  SharedFloor floor(int64_t{1} << 50);
  FloorShared* shared = floor.get();
  const std::string name = fmt::format("ticketsim-bench-{}", getpid());
  bip::named_mutex::remove(name.c_str());
  { bip::named_mutex created(bip::create_only, name.c_str()); }
  const double s = RunForked(
      2,
      [&](int p) {
        static std::optional<bip::named_mutex> mutex;
        if (p < 0) {
          mutex.emplace(bip::open_only, name.c_str());
          return;
        }
        for (int64_t i = 0; i < n; ++i) {
          Query(shared);
          mutex->lock();
          const int64_t c = shared->count.load(std::memory_order_acquire);
          shared->count.store(c - 1, std::memory_order_release);
          mutex->unlock();
        }
      },
      shared);
  bip::named_mutex::remove(name.c_str());
  return s;
}

// flock + pread/pwrite of the seed's JSON on one open file.
double FileLockFloor(int64_t n) {
  const std::string dir = TempDirectory();
  const std::string data = dir + "/db.txt", lock = dir + "/guard.lock";
  {
    std::ofstream(data) << "{\"count\": 1000000000}";
    std::ofstream(lock) << "";
  }
  SharedFloor flags;
  const double s = RunForked(
      2,
      [&](int p) {
        static int data_fd = -1, lock_fd = -1;
        if (p < 0) {
          data_fd = open(data.c_str(), O_RDWR);
          lock_fd = open(lock.c_str(), O_RDWR);
          return;
        }
        char buf[64];
        for (int64_t i = 0; i < n; ++i) {
          (void)!pread(data_fd, buf, sizeof buf, 0);  // the query
          flock(lock_fd, LOCK_EX);
          const ssize_t got = pread(data_fd, buf, sizeof buf - 1, 0);
          buf[got > 0 ? got : 0] = '\0';
          const long long c = std::atoll(buf + 10);
          const std::string text = fmt::format("{{\"count\": {}}}", c - 1);
          (void)!ftruncate(data_fd, 0);
          (void)!pwrite(data_fd, text.data(), text.size(), 0);
          flock(lock_fd, LOCK_UN);
        }
      },
      flags.get());
  fs::remove_all(dir);
  return s;
}

double SqliteFloor(int64_t n, bool atomic) {
  const std::string dir = TempDirectory();
  const std::string path = dir + "/tickets.db";
  {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db,
                 "PRAGMA journal_mode = WAL; CREATE TABLE tickets (event TEXT "
                 "PRIMARY KEY, count INTEGER); INSERT INTO tickets VALUES "
                 "('main', 1000000000)",
                 nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  SharedFloor flags;
  const double s = RunForked(
      2,
      [&](int p) {
        static sqlite3* db = nullptr;
        static sqlite3_stmt *select, *update, *take, *begin, *commit;
        if (p < 0) {
          sqlite3_open(path.c_str(), &db);
          sqlite3_busy_timeout(db, 30000);
          sqlite3_exec(db, "PRAGMA synchronous = NORMAL", nullptr, nullptr,
                       nullptr);
          sqlite3_prepare_v2(db,
                             "SELECT count FROM tickets WHERE event = 'main'",
                             -1, &select, nullptr);
          sqlite3_prepare_v2(
              db, "UPDATE tickets SET count = ?1 WHERE event = 'main'", -1,
              &update, nullptr);
          sqlite3_prepare_v2(db,
                             "UPDATE tickets SET count = count - 1 WHERE "
                             "event = 'main' AND count > 0 RETURNING count",
                             -1, &take, nullptr);
          sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, nullptr);
          sqlite3_prepare_v2(db, "COMMIT", -1, &commit, nullptr);
          return;
        }
        const auto step = [](sqlite3_stmt* st) {
          while (sqlite3_step(st) == SQLITE_ROW) {
          }
          sqlite3_reset(st);
        };
        for (int64_t i = 0; i < n; ++i) {
          step(select);  // the query
          if (atomic) {
            step(take);
            continue;
          }
          step(begin);
          sqlite3_step(select);
          const int64_t c = sqlite3_column_int64(select, 0);
          sqlite3_reset(select);
          sqlite3_bind_int64(update, 1, c - 1);
          step(update);
          step(commit);
        }
      },
      flags.get());
  fs::remove_all(dir);
  return s;
}

// The same statements a postgres purchase makes, on the throwaway server
// ticketsim's runs use, in a table of the floor's own: the query, then the
// atomic UPDATE, or a transaction that locks the row, reads and writes it.
double PostgresFloor(int64_t n, bool atomic) {
  std::string conninfo;
  double start_up_ms = 0;
  if (!UseThrowawayServer({}, &conninfo, &start_up_ms).ok()) {
    fmt::print(stderr, "bench: no PostgreSQL server\n");
    std::exit(1);
  }
  const auto exec = [](PGconn* conn, const char* sql) {
    PQclear(PQexec(conn, sql));
  };
  {
    PGconn* conn = PQconnectdb(conninfo.c_str());
    exec(conn,
         "DROP TABLE IF EXISTS bench_floor; CREATE TABLE bench_floor (event "
         "text PRIMARY KEY, count bigint NOT NULL); INSERT INTO bench_floor "
         "VALUES ('main', 1000000000)");
    PQfinish(conn);
  }
  SharedFloor flags;
  const double s = RunForked(
      2,
      [&](int p) {
        static PGconn* conn = nullptr;
        const auto run = [](const char* name, int params,
                            const char* const* values) {
          PGresult* r =
              PQexecPrepared(conn, name, params, values, nullptr, nullptr, 0);
          const std::string value =
              PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : std::string();
          PQclear(r);
          return value;
        };
        if (p < 0) {
          conn = PQconnectdb(conninfo.c_str());
          const auto prepare = [](const char* name, const char* sql) {
            PQclear(PQprepare(conn, name, sql, 0, nullptr));
          };
          prepare("select",
                  "SELECT count FROM bench_floor WHERE event = 'main'");
          prepare("lock",
                  "SELECT count FROM bench_floor WHERE event = 'main' FOR "
                  "UPDATE");
          prepare("update",
                  "UPDATE bench_floor SET count = $1 WHERE event = 'main'");
          prepare("take",
                  "UPDATE bench_floor SET count = count - 1 WHERE event = "
                  "'main' AND count > 0 RETURNING count");
          prepare("begin", "BEGIN");
          prepare("commit", "COMMIT");
          return;
        }
        for (int64_t i = 0; i < n; ++i) {
          run("select", 0, nullptr);  // the query
          if (atomic) {
            run("take", 0, nullptr);
            continue;
          }
          run("begin", 0, nullptr);
          const std::string count = run("lock", 0, nullptr);
          const std::string next = std::to_string(std::stoll(count) - 1);
          const char* values[] = {next.c_str()};
          run("update", 1, values);
          run("commit", 0, nullptr);
        }
        PQfinish(conn);
      },
      flags.get());
  PGconn* conn = PQconnectdb(conninfo.c_str());
  exec(conn, "DROP TABLE bench_floor");
  PQfinish(conn);
  return s;
}

// --- ticketsim's side ------------------------------------------------------

Scenario BenchScenario(const Row& row, int64_t attempts) {
  Scenario s;
  s.name = "bench";
  s.initial = int64_t{1} << 40;
  if (row.store != "shm") s.initial = 1000000000;
  Status st = ApplySetting(&s, "store.kind=" + row.store);
  if (st.ok()) st = ApplySetting(&s, "guard.kind=" + row.guard);
  if (st.ok()) st = ApplySetting(&s, "buyers.method=" + row.method);
  if (!st.ok()) {
    fmt::print(stderr, "{}\n", st.message());
    std::exit(1);
  }
  s.store.write = FileWrite::kTruncate;
  s.store.busy_timeout_ms = 30000;
  s.guard.timeout_ms = 30000;
  s.buyers.count = 2;
  s.buyers.attempts = attempts;
  s.history = HistoryMode::kSummary;
  return s;
}

// Runs `s` in this process; returns the seconds from the start barrier to
// the last buyer reaped. Every purchase must have been made (the file
// store's unguarded queries may tear: that is the seed's lesson, not the
// benchmark's business).
double TicketsimSeconds(const Scenario& s) {
  RunResult result;
  const Status st = RunScenario(s, &result);
  const Verdict v = CheckRun(result);
  const int64_t wanted = s.buyers.count * s.buyers.attempts;
  if (!st.ok() || v.confirmed != std::min(wanted, s.initial) ||
      v.CountOf(ViolationKind::kLostUpdate) > 0) {
    fmt::print(stderr, "bench run failed: {} {}\n", st.message(),
               ListViolations(v.Counts()));
    std::exit(1);
  }
  return result.seconds;
}

struct Measured {
  double ticketsim_rate = 0;  // purchases per second, median round
  double floor_rate = 0;
};

Measured MeasureRow(const Row& row, int rounds) {
  const Scenario s = BenchScenario(row, row.attempts);
  const double purchases = 2.0 * static_cast<double>(row.attempts);
  std::vector<double> floor, ticketsim;
  for (int r = 0; r < rounds; ++r) {
    floor.push_back(purchases / row.floor(row.attempts));
    ticketsim.push_back(purchases / TicketsimSeconds(s));
  }
  return {Median(ticketsim), Median(floor)};
}

// --- Programs
// -----------------------------------------------------------------

// Runs the C buyer `path` as a program (2 copies x `attempts` purchases on
// the shm store), writing its events or not; returns the run's seconds
// (barrier to the last copy's end) and sets *event_lines to the lines it
// read on fd 3.
double ProgramSeconds(const std::string& path, bool events, int64_t attempts,
                      int64_t* event_lines) {
  Scenario s;
  s.initial = 2 * attempts;
  s.store.kind = StoreKind::kShm;
  s.buyers.count = 2;
  s.buyers.attempts = attempts;
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

// --- Controlled schedules ---------------------------------------------------

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
  SharedFloor flags;
  const double s = RunForked(
      2,
      [&](int p) {
        if (p < 0) return;
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
      },
      flags.get());
  munmap(at, sizeof(Turn));
  return static_cast<double>(trips) / s;
}

// The shm store, unguarded read-modify-write, 2 buyers, history "summary",
// under the seeded schedule: nothing but the steps and their hand-offs.
Scenario SeededScenario(int64_t attempts) {
  Scenario s;
  s.name = "bench-seeded";
  s.initial = int64_t{1} << 40;
  s.store.kind = StoreKind::kShm;
  s.guard.kind = GuardKind::kNone;
  s.buyers.method = Method::kReadModifyWrite;
  s.buyers.count = 2;
  s.buyers.attempts = attempts;
  s.history = HistoryMode::kSummary;
  s.schedule.kind = ScheduleKind::kSeeded;
  return s;
}

// One seeded run: its steps per second of the run's own time (from the
// start barrier to the last buyer reaped).
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

// The depth-2 race: 2 buyers x 1 attempt at 1 ticket, shm store, no guard,
// no think time.
Scenario RaceScenario(ScheduleKind kind, uint64_t seed) {
  Scenario s;
  s.name = "bench-race";
  s.initial = 1;
  s.store.kind = StoreKind::kShm;
  s.guard.kind = GuardKind::kNone;
  s.buyers.method = Method::kReadModifyWrite;
  s.buyers.count = 2;
  s.buyers.attempts = 1;
  s.buyers.seed = seed;
  s.history = HistoryMode::kFull;
  s.schedule.kind = kind;
  s.schedule.pct_depth = 2;
  return s;
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

// --- Whole programs ---------------------------------------------------------

// Runs `argv` with its output discarded; returns wall seconds and the exit
// status (-1 if it could not start).
double RunProgram(const std::vector<std::string>& argv, int* status) {
  const double start = Now();
  const pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
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
    const long kib = status == 0 || status == 1 ? usage.ru_maxrss : -1;
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
  SharedFloor shared;
  FloorShared* flags = shared.get();
  std::vector<pid_t> pids(static_cast<size_t>(n));
  malloc_trim(0);
  const double start = Now();
  for (pid_t& pid : pids) {
    pid = fork();
    if (pid == 0) {
      flags->ready.fetch_add(1);
      while (flags->go.load(std::memory_order_acquire) == 0) {
        syscall(SYS_futex, &flags->go, FUTEX_WAIT, 0, nullptr, nullptr, 0);
      }
      _exit(0);
    }
  }
  while (flags->ready.load() < n) usleep(200);
  flags->go.store(1, std::memory_order_release);
  syscall(SYS_futex, &flags->go, FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0);
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
  return Now() - start;
}

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

}  // namespace
}  // namespace ticketsim

int main(int argc, char** argv) {
  using namespace ticketsim;
  std::string out_path, ticketsim_binary = "ticketsim",
                        seed = "../shared/peers/seed_rush.py";
  int rounds = 5;
  std::string only;  // --only rows|steps|pct|seed|buyers|checker|memory|program
  std::string c_buyer;  // --c-buyer PATH: examples/c/buyer.c, built
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--only") only = argv[i + 1];
    if (flag == "--out") out_path = argv[i + 1];
    if (flag == "--ticketsim") ticketsim_binary = argv[i + 1];
    if (flag == "--seed") seed = argv[i + 1];
    if (flag == "--rounds") rounds = std::atoi(argv[i + 1]);
    if (flag == "--c-buyer") c_buyer = argv[i + 1];
  }
  std::string md;
  const auto say = [&md](const std::string& line) {
    fmt::print("{}\n", line);
    std::fflush(stdout);
    md += line + "\n";
  };
  say("# ticketsim benchmarks");
  say("");
  say(fmt::format("Measured by `make bench` on {}: {}.", Machine(),
                  "every pair side by side in one run, the median of " +
                      std::to_string(rounds) + " interleaved rounds"));
  say("");
  say("## Throughput against the bare primitive (2 processes, history = "
      "\"summary\")");
  say("");
  say("The floor is a bare loop of the same operations one purchase makes "
      "(query read, lock, read, write, unlock; or the atomic step), in 2 "
      "forked processes started together.");
  say("");
  say("| store | guard | method | ticketsim purchases/s | floor purchases/s | "
      "ratio |");
  say("|---|---|---|---:|---:|---:|");
  const std::vector<Row> rows = {
      {"shm", "none", "atomic", 3000000, ShmAtomicFloor},
      {"shm", "robust-mutex", "read-modify-write", 2000000,
       ShmRobustMutexFloor},
      {"shm", "named-mutex", "read-modify-write", 1000000, ShmNamedMutexFloor},
      {"file", "file-lock", "read-modify-write", 40000, FileLockFloor},
      {"sqlite", "sqlite-immediate", "read-modify-write", 10000,
       [](int64_t n) { return SqliteFloor(n, false); }},
      {"sqlite", "none", "atomic", 15000,
       [](int64_t n) { return SqliteFloor(n, true); }},
      {"postgres", "none", "atomic", 5000,
       [](int64_t n) { return PostgresFloor(n, true); }},
      {"postgres", "pg-row-lock", "read-modify-write", 3000,
       [](int64_t n) { return PostgresFloor(n, false); }},
  };
  const auto wanted = [&only](const char* section) {
    return only.empty() || only == section;
  };
  for (const Row& row : rows) {
    if (!wanted("rows")) break;
    const Measured m = MeasureRow(row, rounds);
    say(fmt::format("| {} | {} | {} | {:.0f} | {:.0f} | {:.0f}% |", row.store,
                    row.guard, row.method, m.ticketsim_rate, m.floor_rate,
                    100 * m.ticketsim_rate / m.floor_rate));
  }

  say("");
  say("## Controlled steps against a bare futex hand-off");
  say("");
  say("ticketsim under run.schedule = \"seeded\": shm store, no guard, "
      "read-modify-write, 2 buyers x 20000 attempts, history \"summary\"; "
      "each step is one round trip (the scheduler lets one buyer take one "
      "step, the buyer stops again), so steps/s is set against round "
      "trips/s of two bare processes passing a turn through a futex word in "
      "shared memory (A -> B -> A). Steps/s = the run's steps / its seconds "
      "from the start barrier to the last buyer reaped.");
  say("");
  if (wanted("steps")) {
    const Scenario seeded = SeededScenario(20000);
    std::vector<double> steps_runs, trips_runs;
    for (int r = 0; r < rounds; ++r) {
      trips_runs.push_back(FutexRoundTripsPerSecond(200000));
      steps_runs.push_back(ControlledStepsPerSecond(seeded));
    }
    const double steps = Median(steps_runs), trips = Median(trips_runs);
    say("| ticketsim controlled steps/s | bare futex round trips/s | ratio |");
    say("|---:|---:|---:|");
    say(fmt::format("| {:.0f} | {:.0f} | {:.0f}% |", steps, trips,
                    100 * steps / trips));
  } else {
    say("(not measured in this run)");
  }

  say("");
  say("## PCT against the kernel on a depth-2 race");
  say("");
  constexpr int kTrials = 1000;
  if (wanted("pct")) {
    int pct_found = 0, os_found = 0;
    for (uint64_t seed = 1; seed <= kTrials; ++seed) {
      pct_found += RaceViolated(RaceScenario(ScheduleKind::kPct, seed));
      os_found += RaceViolated(RaceScenario(ScheduleKind::kOs, seed));
    }
    const Scenario race = RaceScenario(ScheduleKind::kPct, 1);
    const double bound = PctBound(race.buyers.count, StepEstimate(race), 2);
    say(fmt::format(
        "shm store, no guard, 2 buyers x 1 attempt, 1 ticket, no think time; "
        "{} trials each, seeds 1 to {}, one after the other.",
        kTrials, kTrials));
    say("");
    say("| schedule | trials with a violation | rate | PCT's bound |");
    say("|---|---:|---:|---:|");
    say(fmt::format("| pct, depth 2 | {} | {:.1f}% | {:.1f}% |", pct_found,
                    100.0 * pct_found / kTrials, 100 * bound));
    say(fmt::format("| os | {} | {:.1f}% | |", os_found,
                    100.0 * os_found / kTrials));
  } else {
    say("(not measured in this run)");
  }

  say("");
  say("## The seed's Python program on its workload");
  say("");
  say("File store, a lock around the purchase, 4 buyers x 5000 attempts, "
      "100000 tickets, no think time; whole programs, wall time.");
  say("");
  if (!wanted("seed")) {
    say("(not measured in this run)");
  } else if (fs::exists(seed)) {
    // ticketsim with the seed's own way of writing (truncate) and with its
    // fastest file store (mmap), both under a named mutex, like the seed's
    // multiprocessing.Lock (a POSIX semaphore).
    std::vector<double> py_runs, truncate_runs, mmap_runs;
    const auto ticketsim_run = [&](const char* write) {
      int status = 0;
      return RunProgram(
          {ticketsim_binary, "run", "--store", "file", "--write", write,
           "--guard", "named-mutex", "--buyers", "4", "--attempts", "5000",
           "--tickets", "100000", "--set", "history=summary"},
          &status);
    };
    for (int r = 0; r < rounds; ++r) {
      const std::string dir = TempDirectory();
      int status = 0;
      py_runs.push_back(RunProgram(
          {"python3", seed, "4", "100000", "5000", "1", "0", dir}, &status));
      fs::remove_all(dir);
      truncate_runs.push_back(ticketsim_run("truncate"));
      mmap_runs.push_back(ticketsim_run("mmap"));
    }
    const double best_py = Median(py_runs);
    const double best_truncate = Median(truncate_runs);
    const double best_mmap = Median(mmap_runs);
    say("| program | seconds | purchases/s | against the seed |");
    say("|---|---:|---:|---:|");
    say(fmt::format("| seed_rush.py | {:.3f} | {:.0f} | 1x |", best_py,
                    20000 / best_py));
    say(fmt::format(
        "| ticketsim, file store writing as the seed does "
        "(truncate) | {:.3f} | {:.0f} | {:.1f}x |",
        best_truncate, 20000 / best_truncate, best_py / best_truncate));
    say(
        fmt::format("| ticketsim, file store mapped (mmap) | {:.3f} | {:.0f} | "
                    "**{:.1f}x** |",
                    best_mmap, 20000 / best_mmap, best_py / best_mmap));
    say("");
    say("Whole programs, start to exit. Writing as the seed does, each "
        "purchase costs an ftruncate and a pwrite of the file, which this "
        "machine's file system makes the bulk of the time.");
  } else {
    say(fmt::format("(skipped: the seed's program is not at {})", seed));
  }

  say("");
  say("## A program's events (fd 3)");
  say("");
  if (!wanted("program")) {
    say("(not measured in this run)");
  } else if (c_buyer.empty() || !fs::exists(c_buyer)) {
    say(fmt::format("(skipped: no C buyer at \"{}\"; --c-buyer PATH)",
                    c_buyer));
  } else {
    constexpr int64_t kProgramAttempts = 20000;
    std::vector<double> quiet_runs, events_runs;
    int64_t event_lines = 0;
    for (int r = 0; r < rounds; ++r) {
      quiet_runs.push_back(
          ProgramSeconds(c_buyer, /*events=*/false, kProgramAttempts, nullptr));
      events_runs.push_back(ProgramSeconds(c_buyer, /*events=*/true,
                                           kProgramAttempts, &event_lines));
    }
    const double quiet = Median(quiet_runs), events = Median(events_runs);
    const double purchases = 2.0 * kProgramAttempts;
    say(fmt::format(
        "examples/c/buyer.c (compare-and-swap on the shm store), 2 copies x "
        "{} purchases; with events each purchase writes {} lines on fd 3, "
        "which ticketsim reads, parses and checks.",
        kProgramAttempts, event_lines / static_cast<int64_t>(purchases)));
    say("");
    say("| C buyer | seconds | purchases/s | against the quiet buyer |");
    say("|---|---:|---:|---:|");
    say(
        fmt::format("| writing no events (`--no-events`) | {:.3f} | {:.0f} | "
                    "1x |",
                    quiet, purchases / quiet));
    say(fmt::format("| writing its events | {:.3f} | {:.0f} | **{:.0f}%** |",
                    events, purchases / events, 100 * quiet / events));
    say("");
    say(fmt::format(
        "Each event costs about **{:.2f} us** more, writing, reading and "
        "parsing it included (the difference over {} event lines).",
        1e6 * (events - quiet) / static_cast<double>(event_lines),
        event_lines));
  }

  say("");
  say("## 10,000 buyer processes");
  say("");
  std::vector<double> fork_runs, barrier_runs, buyers_runs;
  for (int r = 0; r < (wanted("buyers") ? rounds : 0); ++r) {
    fork_runs.push_back(ForkReapSeconds(10000));
    barrier_runs.push_back(ForkBarrierReapSeconds(10000));
    Scenario s;
    s.initial = 10000;
    s.store.kind = StoreKind::kShm;
    s.buyers.count = 10000;
    s.buyers.method = Method::kAtomic;
    s.history = HistoryMode::kSummary;
    const double start = Now();
    TicketsimSeconds(s);
    buyers_runs.push_back(Now() - start);
  }
  if (wanted("buyers")) {
    const double fork = Median(fork_runs), barrier = Median(barrier_runs),
                 buyers = Median(buyers_runs);
    say("| what | seconds | ticketsim against it |");
    say("|---|---:|---:|");
    say(fmt::format(
        "| bare fork and reap of 10,000 processes (each exits at once) | "
        "{:.3f} | **{:.2f}x** |",
        fork, buyers / fork));
    say(fmt::format(
        "| 10,000 bare processes started together (all wait at a barrier, "
        "then exit) | {:.3f} | {:.2f}x |",
        barrier, buyers / barrier));
    say(fmt::format(
        "| ticketsim, 10,000 buyers x 1 attempt (whole run) | {:.3f} | |",
        buyers));
    say("");
    say("A start barrier keeps all 10,000 processes alive at once, which "
        "costs more than forking each one after the last has gone: the "
        "second row is the least a run that starts its buyers together can "
        "take.");
  }

  say("");
  say("## The checker");
  say("");
  say("| events | ns per event |");
  say("|---:|---:|");
  for (size_t events : {1000000u, 2000000u, 5000000u, 10000000u}) {
    if (!wanted("checker")) break;
    say(fmt::format("| {} | {:.1f} |", events, CheckerNsPerEvent(events)));
  }
  say("");
  say("Constant time per event: linear in the history.");

  say("");
  say("## Memory of a long summary run");
  say("");
  say("| run | peak resident memory |");
  say("|---|---:|");
  for (const char* attempts : {"5000000", "50000000"}) {
    if (!wanted("memory")) break;
    const long kib =
        PeakKib({ticketsim_binary, "run", "--store", "shm", "--method",
                 "atomic", "--buyers", "2", "--attempts", attempts, "--tickets",
                 "1000000000", "--set", "history=summary"});
    say(
        fmt::format("| shm, atomic, 2 buyers x {} attempts, summary | {:.1f} "
                    "MiB |",
                    attempts, kib / 1024.0));
  }
  if (!out_path.empty()) {
    std::ofstream(out_path) << md;
    fmt::print("\nwritten to {}\n", out_path);
  }
  return 0;
}
