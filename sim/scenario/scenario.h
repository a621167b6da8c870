// Scenario: one experiment, every knob of it, and the table of its keys.
//
// A scenario is set key by key ("buyers.count", "guard.kind", ...) from a
// TOML value; the command line's flags and `--set key=value` go through the
// same table, so every knob is checked in one place, with one message.
#ifndef TICKETSIM_SIM_SCENARIO_SCENARIO_H_
#define TICKETSIM_SIM_SCENARIO_SCENARIO_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/enum_table.h"
#include "base/status.h"
#include "sim/check/violation.h"
#include "sim/scenario/schedule.h"
#include "storage/ticket_store.h"

namespace ticketsim {

enum class GuardKind {
  kNone,
  kNamedMutex,
  kNamedSemaphore,
  kFileLock,
  kRobustMutex,
  kSqliteImmediate,
  kSqliteDeferred,
  kPgRowLock,
  kPgAdvisory,
  kStdMutex,
};

// What a buyer runs as.
// How `ticketsim serve`'s box office serves its connections
// (docs/server.md).
enum class ServerWorkers {
  kThreadPerConnection,  // a thread per connection (the tutorial's server)
  kPool,                 // server.threads threads take turns at the door
};
extern const std::span<const EnumWord<ServerWorkers>> kServerWorkers;

enum class BuyerMode {
  kProcess,  // a process of its own, forked by ticketsim
  kThread,   // a thread of the one buyer process ticketsim forks
};
extern const std::span<const EnumWord<BuyerMode>> kBuyerModes;

// The one store a guard kind works with (sqlite's and postgres's own), or
// nullopt for a guard that works with every store.
std::optional<StoreKind> StoreOfGuard(GuardKind kind);

// The guard kinds valid for a store and buyers of `mode`, in table order.
std::vector<GuardKind> GuardsFor(StoreKind store, BuyerMode mode);

// Whether nothing releases a guard of `kind` when its holder dies (the
// others see an abandoned lock); the kernel (file-lock), the next locker
// (robust-mutex) or the database (sqlite) release the others.
inline bool AbandonedIfHolderDies(GuardKind kind) {
  return kind == GuardKind::kNamedMutex || kind == GuardKind::kNamedSemaphore;
}
enum class Scope { kBuy, kQueryAndBuy };
enum class Method { kReadModifyWrite, kAtomic };
// With several events, the order in which a buyer takes their guards.
enum class GuardOrder {
  kGlobal,    // every buyer in the events' order: no cycle can form
  kOpposite,  // odd-numbered buyers in reverse order: the deadlock
};
// How a buyer takes a guard after its first one.
enum class GuardAcquire {
  kWait,        // a timed wait (guard.timeout_ms)
  kTryBackoff,  // try; if taken, give back every guard, back off, retry
};

extern const std::span<const EnumWord<GuardKind>> kGuardKinds;
extern const std::span<const EnumWord<Scope>> kScopes;
extern const std::span<const EnumWord<Method>> kMethods;
extern const std::span<const EnumWord<GuardOrder>> kGuardOrders;
extern const std::span<const EnumWord<GuardAcquire>> kGuardAcquires;

// A uniform range of milliseconds, [min, max]; fractions allowed.
struct MsRange {
  double min = 0;
  double max = 0;
};

struct GuardSpec {
  GuardKind kind = GuardKind::kNone;
  Scope scope = Scope::kBuy;  // the tutorial's program guards only get()
  int64_t timeout_ms = 5000;  // longest wait to acquire, then give up
  // named-semaphore: how many buyers may hold it at once. Above 1 it is not
  // mutual exclusion (several windows at one box office).
  int64_t permits = 1;
  // With several events (Scenario::events), each has a guard of this kind.
  GuardOrder order = GuardOrder::kGlobal;
  GuardAcquire acquire = GuardAcquire::kWait;
  MsRange backoff_ms{1, 10};  // try-backoff: the pause before a retry
};

struct BuyersSpec {
  int64_t count = 10;
  int64_t attempts = 1;  // purchases each buyer tries
  Method method = Method::kReadModifyWrite;
  MsRange think_ms;        // between read and write: the race window
  MsRange query_delay_ms;  // between query and acquire
  uint64_t seed = 42;
  // 0: one process per buyer. k > 0: k worker processes serve the buyers,
  // each taking the next buyer not yet served (the tutorial's Pool(k)).
  int64_t pool = 0;
  // Whether each buyer (each pool worker) is a process of its own or a
  // thread of one buyer process (docs/threads.md).
  BuyerMode mode = BuyerMode::kProcess;
  // The hosts the buyers run on (buyer i on hosts[i % size]); empty: this
  // one, as child processes. `launcher` starts `ticketsim buyer` on a host
  // ("ssh {host}", "ip netns exec {host}"); "" starts it here, a simulated
  // host with its own agent and its own guard objects (docs/hosts.md).
  std::vector<std::string> hosts;
  std::string launcher;
};
inline constexpr size_t kMaxHosts = 64;

// A host's link to the store's server cut during the run, then restored.
struct PartitionSpec {
  std::string host;  // empty: none
  double at_ms = 0;  // after the start
  double for_ms = 0;
  bool set() const { return !host.empty(); }
};

// Faults injected into buyers, each a chance per purchase. None of them is
// a violation in itself; what the guard and the books make of them may be.
struct FaultsSpec {
  // A buyer SIGKILLs itself inside its critical section (before or after
  // its write, equally likely).
  double kill_holder = 0;
  // A buyer stops itself (SIGSTOP) inside its critical section; the parent
  // continues it (SIGCONT) after pause_holder_ms: a stalled holder.
  double pause_holder = 0;
  double pause_holder_ms = 1000;
  // A buyer crashes (SIGABRT) after reading the count, before writing it.
  double crash_before_write = 0;
  // faults.partition_host: a host cut off from the store's server.
  PartitionSpec partition_host;

  bool any() const {
    return kill_holder > 0 || pause_holder > 0 || crash_before_write > 0;
  }
};

// How a user's program (`[program]`) is run as the buyers.
enum class ProgramMode {
  kBuyer,      // one copy per buyer, released together by the start barrier
  kWhole,      // run once; it starts its own processes
  kOperation,  // each purchase is one run of the command
};
extern const std::span<const EnumWord<ProgramMode>> kProgramModes;

// A buyer program the user brings (docs/programs.md). Empty `command`:
// ticketsim's own buyers.
struct ProgramSpec {
  std::vector<std::string> command;
  ProgramMode mode = ProgramMode::kBuyer;
  // A regex over each line of its stdout: a match is a sale, its first
  // capture group (if any) the seat.
  std::string sold_pattern;
  int64_t timeout_ms = 10000;  // operation mode: one purchase's limit
  // Where the command's relative paths are found: the scenario file's
  // directory, or the current one for --program.
  std::string base_dir;

  bool set() const { return !command.empty(); }
};

// What a run keeps of what its buyers did.
enum class HistoryMode {
  kFull,     // every event: witnesses, --history, --html, --narrate
  kSummary,  // counts and seats only: memory that does not grow with attempts
};
extern const std::span<const EnumWord<HistoryMode>> kHistoryModes;

// What a scenario should show, for CI: `[expect]`.
enum class Expectation {
  kUnset,  // no [expect]: expect no violation
  kNone,   // no trial may show a violation
  kSome,   // every trial must show one (a forced race shows up every time)
  // No trial may show a violation, and a program's trial that could not be
  // checked (it told nothing of its sales) is accepted: said on purpose.
  kUnchecked,
};
extern const std::span<const EnumWord<Expectation>> kExpectations;

struct ExpectSpec {
  Expectation violations = Expectation::kUnset;
  // With "some": kinds every trial must show (e.g. ["torn read"]).
  std::vector<ViolationKind> kinds;
};

// The box office `ticketsim serve` runs (docs/server.md): the scenario's
// store, guard, method and think time are its handlers'.
struct ServerSpec {
  // "HOST:PORT" (port 0: any free one) or "unix:PATH".
  std::string listen = "127.0.0.1:0";
  ServerWorkers workers = ServerWorkers::kThreadPerConnection;
  int64_t threads = 4;            // pool
  int64_t max_connections = 256;  // open at once; more are told 503
  int64_t max_buyers = 1000;      // lanes of the history: connections
  int64_t max_attempts = 10000;   // purchases per connection
};

struct Scenario {
  std::string name = "ticket rush";
  std::string description;
  int64_t initial = 1;  // tickets.initial
  // The events on sale: empty for one ("tickets"). With several (a concert
  // and its parking), each has its own count (all start at `initial`) and
  // its own guard, and one purchase buys a ticket of each.
  std::vector<std::string> events;
  StoreSpec store;
  GuardSpec guard;
  BuyersSpec buyers;
  FaultsSpec faults;
  ProgramSpec program;
  ExpectSpec expect;
  HistoryMode history = HistoryMode::kFull;
  int64_t trials = 1;  // run.trials: how many times the scenario is run
  // run.timeout_ms: the whole run's limit; 0 derives one (RunTimeoutMs).
  int64_t run_timeout_ms = 0;
  // run.schedule, run.pct_depth, run.steps: who decides the interleaving.
  ScheduleSpec schedule;
  ServerSpec server;  // `ticketsim serve` only
};

// Limits that keep a run within one machine.
inline constexpr int64_t kMaxBuyers = 100000;
inline constexpr int64_t kMaxAttempts = 1000000000;
inline constexpr int64_t kMaxTickets = int64_t{1} << 50;
inline constexpr double kMaxDelayMs = 600000;
inline constexpr int64_t kMaxRetries = 1000;  // store.retries

// One settable key, as a scenario file or --set names it.
struct ScenarioKeyHelp {
  std::string_view key;  // "section.name"
  std::string_view help;
};
std::vector<ScenarioKeyHelp> ScenarioKeys();

// Sets one key from "key=value", the value written as in TOML ("10",
// "\"file\"", "[1, 2]"); a bare word is taken as a string ("file").
// Returns Invalid, with a message that names the key and says what is wrong,
// for an unknown key, a wrong type or a value out of range.
Status ApplySetting(Scenario* scenario, std::string_view setting);

// Of `choices`, the one nearest to a misspelt `word` (at most two edits
// away), or "" when none is near.
std::string NearestWord(std::string_view word,
                        std::span<const std::string> choices);

// Checks what no single key can: the guard fits the store, the store has an
// atomic step when the method needs one, the run fits this machine (its
// processes, its history). On failure sets *key, if given, to the key most
// to blame, so that a scenario file can point at its line.
Status ValidateScenario(const Scenario& scenario, std::string* key = nullptr);

inline constexpr size_t kMaxEvents = 8;

// How many events are on sale (at least 1), and the name of one.
size_t EventCount(const Scenario& scenario);
std::string EventName(const Scenario& scenario, size_t event);

// The workers a run starts: the pool's, or one per buyer; processes, or
// with buyers.mode = "thread" threads of the one buyer process.
int64_t ProcessCount(const Scenario& scenario);

// The most events a buyer records per attempt (the history's plan).
size_t EventsPerAttempt(const Scenario& scenario);

// The history's size for a run: with history "full", the arena planned for
// every event it can record; with "summary", the buyers' seat maps (none
// when a buyer makes at most kSeatsListed attempts: see TallyArena).
uint64_t HistoryBytes(const Scenario& scenario);
// With history "summary": the seats one buyer's map covers, the top
// `SeatMapSeats` seats (no purchase can read a count below initial minus
// the purchases made before it).
uint64_t SeatMapSeats(const Scenario& scenario);
// A program's history: its lanes (one per buyer; one for a whole
// program) and the events each may record: room for a few queries and lock
// events around each purchase, and for a program that tries a little more
// often than buyers.attempts says. More is a flood, and stops the run.
uint64_t ProgramLanes(const Scenario& scenario);
uint64_t ProgramEventsPerLane(const Scenario& scenario);
inline constexpr uint64_t kProgramEventsPerAttempt = 16;
inline constexpr uint64_t kProgramEventsPerLane = 4096;  // beyond those
inline constexpr int64_t kMaxProgramBuyers = 1000;
inline constexpr uint64_t kMaxHistoryBytes = uint64_t{32} << 30;
// A history this small is accepted on any machine, without asking it.
inline constexpr uint64_t kHistoryAlwaysFits = uint64_t{64} << 20;

// Bytes of memory a run can still take: MemAvailable, or less where a memory
// cgroup around this process (or a parent of it) leaves less; nullopt if
// /proc/meminfo cannot be read.
std::optional<uint64_t> MemoryAvailable();
// The most a run's history (HistoryBytes) may take with `available` bytes of
// memory free: half of them, because the run's peak is about one and a half
// times the arena (the checker builds a purchase for every two events, and
// the reports copy what they show) and the rest of the machine needs room
// too; at least kHistoryAlwaysFits, at most kMaxHistoryBytes (that too when
// the availability is not known).
uint64_t HistoryLimit(std::optional<uint64_t> available);

// The run's time limit: run_timeout_ms if set, otherwise a bound derived from
// the scenario's delays and guard timeout, generous enough never to cut a run
// that is merely slow.
int64_t RunTimeoutMs(const Scenario& scenario);

// "file store, named-mutex on buy, 10 buyers x 1 attempt": one line.
std::string DescribeSetup(const Scenario& scenario);
// What `ticketsim serve`'s box office does with each purchase, and how it
// serves its connections.
std::string DescribeBoxOffice(const Scenario& scenario);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_SCENARIO_SCENARIO_H_
