// ControlledRun: a run's own buyers stepped by a controlled schedule
// (sim/schedule/scheduler.h), from the opened barrier until no buyer can
// move, and how the steps ended booked in the run's result.
#ifndef TICKETSIM_SIM_RUN_CONTROLLED_RUN_H_
#define TICKETSIM_SIM_RUN_CONTROLLED_RUN_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/status.h"
#include "sim/buyers/step_gate.h"
#include "sim/result/run_result.h"
#include "sim/run/run_watch.h"
#include "sim/schedule/scheduler.h"
#include "storage/ticket_store.h"

namespace ticketsim {

class ControlledRun {
 public:
  // `chooser`: a person's (`ticketsim step`), or null for the scenario's
  // own (MakeChooser). `stores`: each event's, read only if the chooser
  // asks for a count. `watch` takes the signals the steps' waits get.
  ControlledRun(const WatchedBuyers& buyers, StepControl* steps,
                StepChooser* chooser, std::span<TicketStore* const> stores,
                RunWatch* watch);

  // Runs the steps and books how they ended in `result`, telling the watch
  // when the buyers still running are to be killed. Returns Invalid when a
  // --steps list cannot be followed.
  Status Run(RunResult* result);

 private:
  // What the scheduler needs of the run around it.
  ScheduleHooks Hooks(RunResult* result);
  // The count in event `e`'s store now, through the parent's own handle,
  // opened (after every fork) the first time it is asked for.
  std::optional<int64_t> Count(size_t e);
  // Books the schedule's end in `result`.
  Status BookEnd(const ScheduleOutcome& outcome, RunResult* result);

  const WatchedBuyers buyers_;
  StepControl* const steps_;
  StepChooser* const chooser_;
  const std::span<TicketStore* const> stores_;
  RunWatch* const watch_;
  std::vector<bool> attached_;
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_RUN_CONTROLLED_RUN_H_
