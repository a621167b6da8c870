// Scheduler: the parent's side of a controlled schedule.
//
// Once the start barrier opens, every buyer runs to the first step of its
// purchase and stops (sim/buyers/step_gate.h). Then, step after step, the
// scheduler works out which buyers can move, asks its chooser which one
// does, lets exactly that one take exactly one real step, and waits until
// it has stopped again (or died, or stopped itself: pause_holder).
//
// A guard is taken with a try; a buyer whose try fails is blocked on that
// guard and cannot move until a step (or a death) gives the guard back. So
// a deadlock is exact: when no buyer can move and some are blocked, the
// cycle of holds and waits is there to read, in the step that closed it.
// A buyer paused by a fault moves again only when nobody else can. A cycle
// of blocked buyers, each waiting for a guard the next holds, can never
// move again: it is a deadlock the moment its last try fails, whoever else
// could still move.
//
// The choosers:
//   seeded  a uniform choice among the buyers that can move, by the random
//           seed
//   pct     PCT (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010):
//           random distinct priorities d..d+n-1, and d-1 change points
//           drawn from the first k steps, each lowering the buyer that has
//           just moved below every other; the highest-priority buyer that
//           can move moves. A bug of depth d shows with probability at
//           least 1 / (n k^(d-1)) per run. A buyer that backs off
//           (try-backoff) is lowered too, or it would spin forever.
//   list    the buyers of --steps / --replay in order, then another chooser
//   step    a person (`ticketsim step`, sim/cli/step_screen.h)
#ifndef TICKETSIM_SIM_SCHEDULE_SCHEDULER_H_
#define TICKETSIM_SIM_SCHEDULE_SCHEDULER_H_

#include <signal.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sim/buyers/buyer.h"
#include "sim/buyers/step_gate.h"
#include "sim/history/history.h"
#include "sim/scenario/scenario.h"
#include "sim/scenario/schedule.h"

namespace ticketsim {

// What a chooser may look at: one buyer, as it stands before a step.
struct BuyerView {
  bool served = false;  // a process has taken it (a pool's may not yet)
  bool alive = false;   // served, and its process has not died
  bool paused = false;  // its process stopped itself (pause_holder)
  StepState state = StepState::kStarting;
  StepKind next = StepKind::kNone;  // the step it is stopped before
  size_t event = 0;                 // of that step
  uint32_t held = 0;                // bit e: holds event e's guard
  int64_t waits_for = -1;           // blocked: the event whose guard
  std::optional<int64_t> read;      // the count it last read
  int64_t attempt = 0;              // attempts finished
};

struct StepBoard {
  const Scenario* scenario = nullptr;
  uint64_t step = 0;  // steps taken so far
  std::vector<BuyerView> buyers;
  std::vector<uint32_t> runnable;  // ascending
  // The count in event e's store now; nullopt if it cannot be read.
  std::function<std::optional<int64_t>(size_t event)> count;
  // Readable when a signal is pending for the run (an interrupt, or a
  // buyer that ended): a chooser that waits (for a person) stops waiting.
  int signal_fd = -1;
  // The steps taken so far, and the events a buyer has recorded so far:
  // what each step did is its buyer's [first_event, first_event + events).
  std::span<const ScheduledStep> taken;
  std::function<std::span<const Event>(uint32_t buyer)> events;
};

// The board in words, for the step screen and for a chooser's errors.
// The buyers that hold event e's guard.
std::vector<uint32_t> Holders(const StepBoard& board, size_t event);
// "buyer 1", "buyers 0, 2".
std::string BuyerList(const std::vector<uint32_t>& buyers);
// What event e's guard is called: "the lock", "parking's lock".
std::string GuardName(const Scenario& scenario, size_t event);
// Why `buyer` cannot take a step now ("it has finished"), for a key that
// names it.
std::string WhyNotRunnable(const StepBoard& board, uint32_t buyer);

// The chooser's answer.
struct Choice {
  enum class What {
    kBuyer,  // `buyer` takes the next step
    kStop,   // end the run here, with the verdict so far
    kUndo,   // end the run here: it is to be replayed one step shorter
    kWait,   // a signal is pending: ask again once it has been taken
    kError,  // `error` says why the run cannot go on (a bad --steps list)
  };
  What what = What::kBuyer;
  uint32_t buyer = 0;
  std::string error;
};

class StepChooser {
 public:
  virtual ~StepChooser() = default;
  // Chooses among board.runnable (never empty).
  virtual Choice Choose(const StepBoard& board) = 0;
  // What the chosen buyer's step was.
  virtual void Took(uint64_t /*step*/, uint32_t /*buyer*/, StepKind /*kind*/) {}
};

std::unique_ptr<StepChooser> MakeSeededChooser(uint64_t seed);
std::unique_ptr<StepChooser> MakePctChooser(uint64_t seed, size_t buyers,
                                            int64_t depth, int64_t steps);
// `list`'s buyers first, then `after`'s choices. A listed buyer that cannot
// move is an error naming the step and why.
std::unique_ptr<StepChooser> MakeListChooser(
    std::vector<uint32_t> list, std::unique_ptr<StepChooser> after);

// The chooser for `scenario` under its schedule (not os, not step, which a
// person drives): its --steps list first, if any, then seeded or pct.
std::unique_ptr<StepChooser> MakeChooser(const Scenario& scenario);

// PCT's k for a scenario: the steps a run takes when no try fails.
int64_t StepEstimate(const Scenario& scenario);
// PCT's bound: 1 / (n k^(d-1)).
double PctBound(int64_t buyers, int64_t steps, int64_t depth);

// What RunSchedule needs of the run around it (sim/run/controlled_run.cc).
struct ScheduleHooks {
  // Takes one signal of the run's set: reaps what a SIGCHLD says and books
  // what it finds; returns true if the run must end now (an interrupt, an
  // abandoned lock, a buyer the system failed).
  std::function<bool(int sig, pid_t child)> took_signal;
  // Whether process p has ended (been reaped), or stopped itself.
  std::function<bool(uint32_t process)> ended;
  std::function<bool(uint32_t process)> paused;
  // Continues a process that stopped itself.
  std::function<void(uint32_t process)> resume;
  // The events a buyer's history holds now.
  std::function<std::span<const Event>(uint32_t buyer)> events;
  // Whether the buyers blocked now wait for each other in a cycle.
  std::function<bool()> cycle;
  // The count in an event's store (for the chooser's board).
  std::function<std::optional<int64_t>(size_t event)> count;
};

// How a controlled run's steps ended.
enum class ScheduleEnd {
  kFinished,  // no buyer has a step left
  kEnded,     // took_signal said so
  kDeadlock,  // no buyer can move and some are blocked: see the cycle
  kTimedOut,  // a step did not end within the run's time limit
  kStopped,   // the chooser ended it (a person pressed q)
  kUndo,      // the chooser asked for it one step shorter
  kError,     // the chooser could not go on (`error`)
};

struct ScheduleOutcome {
  ScheduleEnd end = ScheduleEnd::kFinished;
  std::string error;
};

// What RunSchedule steps: a run's buyers, forked and past the opened
// barrier.
struct ScheduleSetup {
  const Scenario* scenario = nullptr;
  RunControl* control = nullptr;
  StepControl* steps = nullptr;
  size_t processes = 0;
  // The run's signals, blocked in this thread.
  const sigset_t* signals = nullptr;
  // The longest one step may take.
  int64_t step_timeout_ns = 0;
  StepChooser* chooser = nullptr;
  ScheduleHooks hooks;
};

// Runs the steps of a controlled run, from the opened barrier until no
// buyer can move, appending each step to `log`.
ScheduleOutcome RunSchedule(const ScheduleSetup& setup, ScheduleLog* log);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_SCHEDULE_SCHEDULER_H_
