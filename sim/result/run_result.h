// What a run leaves: its processes, histories, final counts and how it
// ended, as records the checker, the reports and the history file read.
// Data only: RunScenario (sim/run/run.h) fills them, CheckRun
// (sim/result/run_check.h) judges them.
#ifndef TICKETSIM_SIM_RESULT_RUN_RESULT_H_
#define TICKETSIM_SIM_RESULT_RUN_RESULT_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/history/history.h"
#include "sim/history/tally.h"
#include "sim/scenario/scenario.h"
#include "sim/scenario/schedule.h"
#include "storage/run_names.h"

namespace ticketsim {

// One process of the run: a buyer, or a pool's worker.
struct BuyerProcess {
  pid_t pid = 0;
  int exit_code = -1;  // a BuyerExit, when it exited
  int signal = 0;      // the signal that killed it, if one did
};

// A non-robust guard (named-mutex, named-semaphore) whose holder died
// holding it: nothing will ever release it, so the run is ended.
struct AbandonedLock {
  uint32_t buyer = 0;
  pid_t pid = 0;
  int signal = 0;        // what killed the holder
  size_t event = 0;      // whose guard it held
  uint64_t time_ns = 0;  // when the parent saw it die
};

// One buyer of a deadlock's cycle: it holds `holds`'s guard and waits for
// `waits_for`'s, which the next buyer of the cycle holds.
struct DeadlockLink {
  uint32_t buyer = 0;
  pid_t pid = 0;
  size_t holds = 0;
  size_t waits_for = 0;
};

// Why ticketsim itself ended the buyers still running, if it did.
enum class RunEnd {
  kNone,       // every buyer ended on its own
  kDeadlock,   // a cycle of buyers waiting for each other's guards
  kAbandoned,  // a holder died holding a guard nothing releases
  kTimeLimit,  // the run's time limit passed
  kInterrupt,  // an interrupt (Ctrl-C, SIGTERM, ...)
  kStopped,    // its chooser stopped it (a person pressed q)
  kFailure,    // the system failed a buyer
};

// "deadlock", "abandoned lock", ...: why the run was ended, in the words
// the reports use; "" for RunEnd::kNone.
std::string_view RunEndName(RunEnd end);

// What became of one lane of a program run (a copy of the program, the
// runs of one buyer's purchases, or the one run of a whole program).
struct ProgramLane {
  // How its (last) process ended, in words ("exited with status 1",
  // "killed by SIGSEGV"), when that was a crash: not a clean exit, and not
  // a signal ticketsim sent. Empty otherwise.
  std::string crash;
  int exit_code = -1;  // of its (last) process
  int signal = 0;
  // The last lines of its stderr (at most kStderrLinesKept, each cut short).
  std::vector<std::string> stderr_tail;
  int64_t event_lines = 0;    // lines read on fd 3
  int64_t sold_lines = 0;     // stdout lines that matched sold_pattern
  int64_t stdout_lines = 0;   // every line of its stdout
  int64_t indeterminate = 0;  // operation mode: runs with no clear outcome
  std::string last_odd_exit;  // operation mode: the last of those, in words
  bool late_start = false;    // the barrier opened before it reached fd 4
  // Processes it started that ran its own code (forks of it, or it started
  // again; not other commands), as far as ticketsim could follow them.
  int64_t own_processes = 0;
  // The most of those that lived at once: copies of a program running
  // buyers side by side.
  int64_t most_at_once = 0;
};
inline constexpr size_t kStderrLinesKept = 20;

// A process a program started itself (not one ticketsim spawned) that
// failed: a non-zero exit of one running the program's own code, or a
// signal other than those that stop a process on purpose (SIGTERM,
// SIGKILL, SIGINT, SIGHUP, SIGPIPE).
struct ProgramProcessEnd {
  pid_t pid = 0;      // as ticketsim saw it
  int32_t lane = -1;  // the lane it descends from; -1 if not known
  std::string crash;  // "exited with status 1", "was killed by SIGSEGV"
};

// The last line of `lane`'s stderr that is not blank ("" if none): what a
// program crash's witness quotes, and the history keeps.
std::string LastStderrLine(const ProgramLane& lane);

// A program run's own report (docs/programs.md).
struct ProgramReport {
  std::vector<std::string> argv;  // as executed
  // The command's words (as written) taken from the scenario's folder, and
  // those naming something there that were passed as written all the same
  // (ResolvedCommand, sim/scenario/program_command.h).
  std::vector<std::string> from_folder;
  std::vector<std::string> as_written;
  std::vector<ProgramLane> lanes;
  int64_t processes = 0;   // every process it ran, its own children included
  double start_up_ms = 0;  // from the first spawn to the barrier's opening
  std::vector<std::string> lock_names;  // named locks, in order of use
  std::vector<ProgramProcessEnd> failed_processes;
  // What kept its processes from outliving ticketsim: "cgroup",
  // "pid namespace" or "none" (sim/program/program_fence.h), and why not a
  // cgroup.
  std::string fence = "none";
  std::string fence_why_not;
  // Whether the end of every process it started was seen (the kernel's
  // process events, root only), not only of those ticketsim reaped itself;
  // and whether the kernel dropped some of those events.
  bool followed_all = false;
  bool lost_track = false;
};

// A host of a run with buyers.hosts (sim/hosts/host_run.h): its buyers, and its
// clock against the parent's, measured by round trips over its pipes.
struct HostRecord {
  std::string name;
  std::vector<uint32_t> buyers;
  int64_t offset_ns = 0;       // its CLOCK_MONOTONIC minus the parent's
  int64_t uncertainty_ns = 0;  // half the best round trip
  int64_t round_trips = 0;     // pings answered
};

// faults.partition_host as it happened: the link cut and when (since the
// start; 0 if it never was).
struct PartitionRecord {
  std::string host;
  std::string device;  // the host's link towards the store's server
  uint64_t cut_ns = 0;
  uint64_t restored_ns = 0;
};

// A box office's run (`ticketsim serve`): where it listened, how it served,
// and the connections it turned away.
struct BoxOfficeRecord {
  std::string url;
  std::string workers;  // "thread-per-connection", "pool of 4 threads"
  int64_t refused = 0;  // told 503: too many connections at once
};

struct RunResult {
  Scenario scenario;
  RunNames names;
  std::vector<BuyerProcess> processes;
  // Per buyer: the index in `processes` of the process that served it, or
  // -1 if none did (a pool whose workers all died).
  std::vector<int32_t> served_by;
  std::unique_ptr<HistoryArena> history;  // empty with history "summary"
  std::unique_ptr<TallyArena> tallies;    // with history "summary" only
  std::optional<int64_t> final_count;     // empty when unreadable
  std::string final_error;                // why it was unreadable
  // With several events, each one's final count (the first is final_count).
  std::vector<std::optional<int64_t>> final_counts;
  std::vector<std::string> final_errors;
  // The causes of the first store error and the first guard error of the
  // verdict (not a timeout, SQLITE_BUSY or the system's): "buyer 2: ...".
  std::string first_store_error;
  std::string first_guard_error;
  std::vector<AbandonedLock> abandoned;  // the run ended at the first
  std::vector<DeadlockLink> deadlock;    // the cycle that ended the run
  uint64_t deadlock_ns = 0;              // when it was found
  double seconds = 0;                    // from the barrier to the last reap
  // ticketsim's own buyers: from just before the first fork to the start
  // barrier's opening, every buyer attached (a program's is its own report's).
  double start_up_ms = 0;
  bool timed_out = false;    // the run's time limit killed it
  bool interrupted = false;  // an interrupt stopped it
  int interrupt_signal = 0;
  // Under a controlled schedule, every step it let happen (empty under os).
  ScheduleLog schedule;
  bool stopped = false;  // its chooser ended it (a person pressed q)
  // Why and when (since the start) ticketsim killed the buyers still
  // running; RunEnd::kNone if it did not.
  RunEnd ended_by = RunEnd::kNone;
  uint64_t ended_ns = 0;
  // Each paused holder ticketsim continued (SIGCONT): the process's index in
  // `processes`, and when (since the start).
  std::vector<std::pair<uint32_t, uint64_t>> continued;
  bool undo = false;  // its chooser asked for it one step shorter
  // A postgres store on ticketsim's throwaway server: how long the server
  // took to start for this run, or -1 if an earlier run of the same command
  // started it. Empty for other stores and for store.url.
  std::optional<double> server_start_up_ms;
  // A program run's own report; empty for ticketsim's own buyers.
  std::shared_ptr<const ProgramReport> program;
  // With buyers.hosts: each host, and the partition if one was made.
  std::vector<HostRecord> hosts;
  std::optional<PartitionRecord> partition;
  std::optional<BoxOfficeRecord> box_office;
};

// Called about ten times a second while the buyers run, with the attempts
// finished so far.
using ProgressFn = std::function<void(int64_t attempts_done)>;

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_RESULT_RUN_RESULT_H_
