// RunWatch: the parent's watch over its own running buyer processes, from
// the opened start barrier until every one of them is reaped. It takes the
// run's signals (an interrupt, a buyer that ended), reaps, continues paused
// holders, reports progress, looks for a deadlock, and ends the run (kills
// and reaps every buyer, noting why and when) at its time limit, on an
// interrupt, a deadlock, an abandoned guard, or when the system fails a
// buyer.
#ifndef TICKETSIM_SIM_RUN_RUN_WATCH_H_
#define TICKETSIM_SIM_RUN_RUN_WATCH_H_

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "base/run_signals.h"
#include "sim/buyers/buyer.h"
#include "sim/buyers/buyer_processes.h"
#include "sim/buyers/deadlock_watch.h"
#include "sim/result/run_result.h"
#include "sim/scenario/run_plan.h"
#include "sim/scenario/scenario.h"

namespace ticketsim {

// Books `sig` in `result` if it is an interrupt; returns whether it was.
bool BookInterrupt(int sig, RunResult* result);

// What the watch looks at: the run as planned, its buyers' control block
// and their reaper, the run's signals and whom to tell of progress.
struct WatchedBuyers {
  const Scenario* scenario = nullptr;
  const RunPlan* plan = nullptr;
  RunControl* control = nullptr;
  BuyerReaper* reaper = nullptr;
  const RunSignals* signals = nullptr;
  const ProgressFn* progress = nullptr;  // may hold no function
};

class RunWatch {
 public:
  // Once the barrier is open: the run's time limit counts from its start,
  // and the run is to end already if the system failed a buyer before it.
  RunWatch(const WatchedBuyers& buyers, RunResult* result);

  // Takes one signal a controlled schedule's wait got (ScheduleHooks::
  // took_signal); returns whether the run is to end.
  bool TakeSignal(int sig, pid_t child);
  // The run is to end (a controlled schedule's end said so).
  void End() { ended_ = true; }
  // If the run is to end: notes why and when, and kills and reaps every
  // buyer still running.
  void EndIfEnded();
  // The run's time limit counts again from now: each step of a controlled
  // schedule had it, what is left is for the buyers to end.
  void RestartTimeLimit();
  // Watches until every buyer has been reaped.
  void UntilAllReaped();

  int64_t start() const { return start_; }

 private:
  // Waits for the run's next signal, or until the watch has something to
  // do; returns it (0 if none), and sets *child for a SIGCHLD.
  int NextSignal(pid_t* child) const;
  // Reaps the child a SIGCHLD named, and now and then looks for others;
  // adds those a signal killed to `killed`.
  void Reap(int sig, pid_t child, std::vector<uint32_t>* killed);
  // Reports progress and looks for a deadlock.
  void Look();
  // A holder of a guard nothing will release has died: every buyer after
  // it would wait it out. Names it and ends the run.
  void BookAbandoned(const std::vector<uint32_t>& killed);
  // Notes why and when the run is being ended.
  void NoteEnd();

  const WatchedBuyers buyers_;
  RunResult* const result_;
  const int64_t start_;
  int64_t deadline_;
  const bool watch_deadlock_;
  DeadlockWatch deadlocks_;
  int64_t next_watch_;
  int64_t next_resume_ = INT64_MAX;
  int64_t next_reap_any_ = 0;
  bool reap_any_due_ = true;
  // By a timeout, an interrupt, a failed guard, or the system failing.
  bool ended_;
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_RUN_RUN_WATCH_H_
