#include "bench/floors.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <linux/futex.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sim/guards/guard.h"
#include "sim/history/tally.h"
#include "storage/pg_server.h"
#include "storage/run_names.h"

namespace ticketsim {
namespace {

// As long as a floor's guard waits before giving up: never, in a bench.
constexpr int64_t kTimeoutMs = 30000;

// Anonymous shared memory, mapped before forking: what the processes share.
class SharedBytes {
 public:
  explicit SharedBytes(size_t bytes)
      : bytes_(bytes),
        at_(mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)) {
    if (at_ == MAP_FAILED) {
      fmt::print(stderr, "bench: cannot map {} bytes\n", bytes);
      std::exit(1);
    }
  }
  ~SharedBytes() { munmap(at_, bytes_); }
  SharedBytes(const SharedBytes&) = delete;
  SharedBytes& operator=(const SharedBytes&) = delete;
  template <typename T>
  T* As() const {
    return static_cast<T*>(at_);
  }

 private:
  const size_t bytes_;
  void* const at_;
};

// The start barrier.
struct alignas(64) Barrier {
  std::atomic<uint32_t> ready{0};
  std::atomic<uint32_t> go{0};
};

// The shm floor's count, on a cache line of its own.
struct alignas(64) SharedCount {
  std::atomic<int64_t> count{0};
};

long Futex(std::atomic<uint32_t>* word, int op, uint32_t value) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, value,
                 nullptr, nullptr, 0);
}

// Each process's map of the seats it sold, in shared memory: bit i is the
// seat i below the top one, as in ticketsim's tally.
class SeatMaps {
 public:
  SeatMaps(int processes, int64_t initial, uint64_t seats)
      : processes_(processes),
        initial_(initial),
        seats_(seats),
        words_((seats + 63) / 64),
        bytes_(static_cast<size_t>(processes) * words_ * sizeof(uint64_t)) {}

  void Mark(int process, int64_t seat) {
    const uint64_t bit = static_cast<uint64_t>(initial_ - seat);
    if (seat < 1 || bit >= seats_) return;
    bytes_.As<uint64_t>()[static_cast<size_t>(process) * words_ + bit / 64] |=
        uint64_t{1} << (bit % 64);
  }

  int64_t SellerChanges() const {
    std::vector<const uint64_t*> maps;
    for (int p = 0; p < processes_; ++p) {
      maps.push_back(bytes_.As<uint64_t>() + static_cast<size_t>(p) * words_);
    }
    return ticketsim::SellerChanges(maps, seats_);
  }

 private:
  const int processes_;
  const int64_t initial_;
  const uint64_t seats_;
  const size_t words_;
  SharedBytes bytes_;
};

// A run's directory and names, and the guard made under them (the guard
// a buyer takes, made as a run makes it); all removed at the end.
class FloorGuard {
 public:
  explicit FloorGuard(GuardKind kind) {
    if (!StartRun(&names_, &lease_).ok()) {
      fmt::print(stderr, "bench: cannot start a run directory\n");
      std::exit(1);
    }
    GuardSpec spec;
    spec.kind = kind;
    if (kind != GuardKind::kNone) {
      guard_ = MakeGuard(spec, names_, nullptr);
      if (!guard_->Create().ok()) {
        fmt::print(stderr, "bench: cannot create the floor's guard\n");
        std::exit(1);
      }
    }
  }
  ~FloorGuard() {
    RemoveRunObjects(names_, guard_ != nullptr ? guard_->ObjectPurposes()
                                               : std::vector<std::string>{});
  }
  // nullptr for guard none: a buyer takes no guard then.
  Guard* get() const { return guard_.get(); }
  const RunNames& names() const { return names_; }

 private:
  RunNames names_;
  RunLease lease_;
  std::unique_ptr<Guard> guard_;
};

void Attach(Guard* guard) {
  if (guard != nullptr && !guard->Attach().ok()) _exit(1);
}

// --- shm -------------------------------------------------------------------

int64_t TakeOne(std::atomic<int64_t>* count) {
  int64_t seen = count->load(std::memory_order_acquire);
  while (seen > 0 && !count->compare_exchange_weak(seen, seen - 1,
                                                   std::memory_order_acq_rel)) {
  }
  return seen > 0 ? seen : 0;
}

template <bool kAtomic>
void ShmPurchases(std::atomic<int64_t>* count, Guard* guard, int64_t n,
                  SeatMaps* seats, int process) {
  bool recovered = false;
  for (int64_t i = 0; i < n; ++i) {
    volatile int64_t seen = count->load(std::memory_order_acquire);  // query
    (void)seen;
    if (guard != nullptr) guard->Acquire(kTimeoutMs, &recovered);
    int64_t seat = 0;
    if constexpr (kAtomic) {
      seat = TakeOne(count);
    } else {
      seat = count->load(std::memory_order_acquire);
      if (seat > 0) count->store(seat - 1, std::memory_order_release);
    }
    if (guard != nullptr) guard->Release();
    seats->Mark(process, seat);
  }
}

Round ShmFloor(const FloorSpec& spec, int processes, int64_t n,
               SeatMaps* seats) {
  FloorGuard guard(spec.guard);
  SharedBytes shared(sizeof(SharedCount));
  std::atomic<int64_t>* count = &(new (shared.As<void>()) SharedCount)->count;
  count->store(spec.initial);
  const Together t = RunTogether(
      processes, [&](int) { Attach(guard.get()); },
      [&](int p) {
        if (spec.method == Method::kAtomic) {
          ShmPurchases<true>(count, guard.get(), n, seats, p);
        } else {
          ShmPurchases<false>(count, guard.get(), n, seats, p);
        }
      });
  return {processes * n, t.seconds, t.cpu_seconds, 0};
}

// --- file ------------------------------------------------------------------

// The seed's JSON on one open file, as the file store writing "truncate"
// keeps it: a pread to read, ftruncate and pwrite to write.
Round FileFloor(const FloorSpec& spec, int processes, int64_t n,
                SeatMaps* seats) {
  FloorGuard guard(spec.guard);
  const std::string data = guard.names().File("db.txt");
  {
    const int fd = open(data.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    const std::string text = fmt::format("{{\"count\": {}}}", spec.initial);
    if (fd < 0 || write(fd, text.data(), text.size()) < 0) std::exit(1);
    close(fd);
  }
  int data_fd = -1;
  const Together t = RunTogether(
      processes,
      [&](int) {
        Attach(guard.get());
        data_fd = open(data.c_str(), O_RDWR);
      },
      [&](int p) {
        char buf[64];
        bool recovered = false;
        for (int64_t i = 0; i < n; ++i) {
          (void)!pread(data_fd, buf, sizeof buf, 0);  // the query
          if (guard.get() != nullptr)
            guard.get()->Acquire(kTimeoutMs, &recovered);
          const ssize_t got = pread(data_fd, buf, sizeof buf - 1, 0);
          buf[got > 0 ? got : 0] = '\0';
          const int64_t c = std::atoll(buf + 10);
          if (c > 0) {
            const std::string text = fmt::format("{{\"count\": {}}}", c - 1);
            (void)!ftruncate(data_fd, 0);
            (void)!pwrite(data_fd, text.data(), text.size(), 0);
          }
          if (guard.get() != nullptr) guard.get()->Release();
          seats->Mark(p, c);
        }
      });
  return {processes * n, t.seconds, t.cpu_seconds, 0};
}

// --- sqlite ----------------------------------------------------------------

// One connection's statements: the query, the read and the write of a
// read-modify-write purchase, the atomic step, and the transaction's ends.
struct SqliteFloorConnection {
  sqlite3* db = nullptr;
  sqlite3_stmt *select = nullptr, *update = nullptr, *take = nullptr,
               *begin = nullptr, *commit = nullptr;

  void Open(const std::string& path) {
    sqlite3_open(path.c_str(), &db);
    // The guard's timed acquire is BEGIN IMMEDIATE's busy timeout.
    sqlite3_busy_timeout(db, static_cast<int>(kTimeoutMs));
    sqlite3_exec(db, "PRAGMA synchronous = NORMAL", nullptr, nullptr, nullptr);
    const auto prepare = [this](const char* sql, sqlite3_stmt** st) {
      sqlite3_prepare_v2(db, sql, -1, st, nullptr);
    };
    prepare("SELECT count FROM tickets WHERE event = 'main'", &select);
    prepare("UPDATE tickets SET count = ?1 WHERE event = 'main'", &update);
    prepare(
        "UPDATE tickets SET count = count - 1 WHERE event = 'main' AND count "
        "> 0 RETURNING count",
        &take);
    prepare("BEGIN IMMEDIATE", &begin);
    prepare("COMMIT", &commit);
  }
  // Runs `st` to its end; returns the first row's first column, or -1.
  static int64_t Step(sqlite3_stmt* st) {
    int64_t first = -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
      if (first < 0) first = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    return first;
  }
  // One purchase; returns the seat.
  int64_t Buy(bool atomic) {
    Step(select);                       // the query
    if (atomic) return Step(take) + 1;  // the count after, or -1: sold out
    Step(begin);
    const int64_t c = Step(select);
    if (c > 0) {
      sqlite3_bind_int64(update, 1, c - 1);
      Step(update);
    }
    Step(commit);
    return c;
  }
};

Round SqliteFloor(const FloorSpec& spec, int processes, int64_t n,
                  SeatMaps* seats) {
  FloorGuard run(GuardKind::kNone);  // for its directory
  const std::string path = run.names().File("tickets.db");
  {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    const std::string sql = fmt::format(
        "PRAGMA journal_mode = WAL; CREATE TABLE tickets (event TEXT PRIMARY "
        "KEY, count INTEGER); INSERT INTO tickets VALUES ('main', {})",
        spec.initial);
    sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  SqliteFloorConnection connection;
  const Together t = RunTogether(
      processes, [&](int) { connection.Open(path); },
      [&](int p) {
        for (int64_t i = 0; i < n; ++i) {
          seats->Mark(p, connection.Buy(spec.method == Method::kAtomic));
        }
      });
  return {processes * n, t.seconds, t.cpu_seconds, 0};
}

// --- postgres --------------------------------------------------------------

// The same statements a postgres purchase makes, on the throwaway server
// ticketsim's runs use, in a table of the floor's own: the query, then the
// atomic UPDATE, or a transaction that locks the row as pg-row-lock does
// (its timed acquire: the lock timeout set for the lock, then set back),
// reads and writes it.
struct PgFloorConnection {
  PGconn* conn = nullptr;

  std::string Run(const char* name, int params = 0,
                  const char* const* values = nullptr) {
    PGresult* r =
        PQexecPrepared(conn, name, params, values, nullptr, nullptr, 0);
    std::string value = PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    return value;
  }
  void Open(const std::string& conninfo) {
    conn = PQconnectdb(conninfo.c_str());
    const auto prepare = [this](const char* name, const char* sql) {
      PQclear(PQprepare(conn, name, sql, 0, nullptr));
    };
    prepare("select", "SELECT count FROM bench_floor WHERE event = 'main'");
    prepare("lock",
            "SELECT count FROM bench_floor WHERE event = 'main' FOR UPDATE");
    prepare("update", "UPDATE bench_floor SET count = $1 WHERE event = 'main'");
    prepare("take",
            "UPDATE bench_floor SET count = count - 1 WHERE event = 'main' "
            "AND count > 0 RETURNING count");
    prepare("begin", "BEGIN");
    prepare("commit", "COMMIT");
    prepare("timeout", "SELECT set_config('lock_timeout', $1, true)");
  }
  int64_t Buy(bool atomic) {
    Run("select");  // the query
    if (atomic) {
      const std::string after = Run("take");
      return after.empty() ? 0 : std::stoll(after) + 1;
    }
    Run("begin");
    const char* wait[] = {"30000"};
    Run("timeout", 1, wait);
    Run("lock");
    const char* back[] = {"5000"};
    Run("timeout", 1, back);
    const int64_t c = std::stoll(Run("select"));
    if (c > 0) {
      const std::string next = std::to_string(c - 1);
      const char* values[] = {next.c_str()};
      Run("update", 1, values);
    }
    Run("commit");
    return c;
  }
};

void PgExec(const std::string& conninfo, const std::string& sql) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  PQclear(PQexec(conn, "SET client_min_messages = warning"));
  PQclear(PQexec(conn, sql.c_str()));
  PQfinish(conn);
}

Round PostgresFloor(const FloorSpec& spec, int processes, int64_t n,
                    SeatMaps* seats) {
  std::string conninfo;
  UsePostgres(&conninfo);
  PgExec(conninfo, fmt::format("DROP TABLE IF EXISTS bench_floor; CREATE "
                               "TABLE bench_floor (event text PRIMARY KEY, "
                               "count bigint NOT NULL); INSERT INTO "
                               "bench_floor VALUES ('main', {})",
                               spec.initial));
  PgFloorConnection connection;
  const Together t = RunTogether(
      processes, [&](int) { connection.Open(conninfo); },
      [&](int p) {
        for (int64_t i = 0; i < n; ++i) {
          seats->Mark(p, connection.Buy(spec.method == Method::kAtomic));
        }
        PQfinish(connection.conn);
      });
  PgExec(conninfo, "DROP TABLE bench_floor");
  return {processes * n, t.seconds, t.cpu_seconds, 0};
}

// --- memory, threads ----------------------------------------------------

// User + system seconds of this process so far, every thread's.
double OwnCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(usage.ru_utime.tv_usec +
                                    usage.ru_stime.tv_usec);
}

// The memory store's purchases, as a thread buyer makes them, with the
// guard's own Acquire and Release (shared by the threads, as ticketsim's
// threads share it); each seat taken is marked in the thread's own seat
// map, as the process floors do.
template <bool kAtomic>
void MemoryPurchases(std::atomic<int64_t>* count, Guard* guard, int64_t n,
                     SeatMaps* seats, int thread) {
  bool recovered = false;
  for (int64_t i = 0; i < n; ++i) {
    volatile int64_t seen = count->load(std::memory_order_relaxed);  // query
    (void)seen;
    int64_t seat = 0;
    if constexpr (kAtomic) {
      seat = count->load(std::memory_order_relaxed);
      while (seat > 0 && !count->compare_exchange_weak(
                             seat, seat - 1, std::memory_order_relaxed)) {
      }
    } else {
      if (guard != nullptr && !guard->Acquire(kTimeoutMs, &recovered).ok()) {
        std::abort();
      }
      seat = count->load(std::memory_order_relaxed);
      if (seat > 0) count->store(seat - 1, std::memory_order_relaxed);
      if (guard != nullptr) guard->Release();
    }
    seats->Mark(thread, seat);
  }
}

}  // namespace

Round RunThreadFloor(const FloorSpec& spec, int threads, int64_t per_thread) {
  SeatMaps seats(threads, spec.initial,
                 static_cast<uint64_t>(threads * per_thread));
  FloorGuard guard(spec.guard);
  alignas(64) std::atomic<int64_t> count{spec.initial};
  alignas(64) std::atomic<int> ready{0};
  std::atomic<uint32_t> go{0};
  const bool atomic = spec.method == Method::kAtomic;
  std::vector<std::thread> team;
  for (int t = 0; t < threads; ++t) {
    team.emplace_back([&, t] {
      ready.fetch_add(1);
      go.wait(0);  // asleep, as a thread buyer waits at the barrier
      if (atomic) {
        MemoryPurchases<true>(&count, guard.get(), per_thread, &seats, t);
      } else {
        MemoryPurchases<false>(&count, guard.get(), per_thread, &seats, t);
      }
    });
  }
  while (ready.load() < threads) usleep(100);
  const double cpu_before = OwnCpuSeconds();
  const double start = Now();
  go.store(1);
  go.notify_all();
  for (std::thread& t : team) t.join();
  return {threads * per_thread, Now() - start, OwnCpuSeconds() - cpu_before,
          seats.SellerChanges()};
}

Together RunTogether(int processes, const std::function<void(int)>& attach,
                     const std::function<void(int)>& work) {
  SharedBytes shared(sizeof(Barrier));
  Barrier* barrier = new (shared.As<void>()) Barrier;
  const double cpu_before = ChildCpuSeconds();
  std::vector<pid_t> pids;
  for (int p = 0; p < processes; ++p) {
    const pid_t pid = fork();
    if (pid == 0) {
      attach(p);
      barrier->ready.fetch_add(1);
      while (barrier->go.load(std::memory_order_acquire) == 0) {
        Futex(&barrier->go, FUTEX_WAIT, 0);
      }
      work(p);
      _exit(0);
    }
    pids.push_back(pid);
  }
  while (barrier->ready.load() < static_cast<uint32_t>(processes)) usleep(100);
  const double start = Now();
  barrier->go.store(1, std::memory_order_release);
  Futex(&barrier->go, FUTEX_WAKE, INT32_MAX);
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
  return {Now() - start, ChildCpuSeconds() - cpu_before};
}

void UsePostgres(std::string* conninfo) {
  double start_up_ms = 0;
  if (!UseThrowawayServer({}, conninfo, &start_up_ms).ok()) {
    fmt::print(stderr, "bench: no PostgreSQL server\n");
    std::exit(1);
  }
}

Round RunFloor(const FloorSpec& spec, int processes, int64_t per_process) {
  SeatMaps seats(processes, spec.initial,
                 static_cast<uint64_t>(processes * per_process));
  Round round;
  switch (spec.store) {
    case StoreKind::kShm:
      round = ShmFloor(spec, processes, per_process, &seats);
      break;
    case StoreKind::kFile:
      round = FileFloor(spec, processes, per_process, &seats);
      break;
    case StoreKind::kSqlite:
      round = SqliteFloor(spec, processes, per_process, &seats);
      break;
    case StoreKind::kPostgres:
      round = PostgresFloor(spec, processes, per_process, &seats);
      break;
    case StoreKind::kMemory:  // threads: not a floor of processes
      std::abort();
  }
  round.hand_offs = seats.SellerChanges();
  return round;
}

}  // namespace ticketsim
