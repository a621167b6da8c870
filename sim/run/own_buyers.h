// OwnBuyers: a run's buyers as ticketsim's own processes. The parent maps
// the history arena and the control block, forks the buyers, opens the start
// barrier once every one has attached, steps them by a controlled schedule
// if the scenario has one, and watches them until every one is reaped
// (sim/run/run_watch.h).
#ifndef TICKETSIM_SIM_RUN_OWN_BUYERS_H_
#define TICKETSIM_SIM_RUN_OWN_BUYERS_H_

#include <memory>
#include <string>
#include <vector>

#include "base/run_signals.h"
#include "base/status.h"
#include "sim/buyers/buyer_launch.h"
#include "sim/buyers/buyer_processes.h"
#include "sim/buyers/step_gate.h"
#include "sim/guards/guard.h"
#include "sim/result/run_result.h"
#include "sim/run/run_watch.h"
#include "sim/scenario/run_plan.h"
#include "sim/scenario/scenario.h"
#include "sim/schedule/scheduler.h"
#include "storage/ticket_store.h"

namespace ticketsim {

// Maps the history arena, and with history "summary" the tally arena too.
Status MapArenas(const Scenario& scenario, const RunPlan& plan,
                 RunResult* result);

// What a run's buyers are started with, whichever way: the run as planned,
// each event's created store and guard, the run's signals, whom to tell of
// progress, and who chooses a controlled schedule's steps (null: the
// scenario's own chooser).
struct BuyerSetup {
  const Scenario* scenario = nullptr;
  const RunPlan* plan = nullptr;
  std::vector<TicketStore*> stores;
  std::vector<Guard*> guards;
  const RunSignals* signals = nullptr;
  const ProgressFn* progress = nullptr;
  StepChooser* chooser = nullptr;
  // With buyers as threads, how each makes its own store and guard; null
  // with processes.
  const ThreadObjectSpecs* threads = nullptr;
};

class OwnBuyers : public BuyerLaunch {
 public:
  explicit OwnBuyers(BuyerSetup setup) : setup_(std::move(setup)) {}

  Status Run(RunResult* result) override;
  // Once they were watched to their end (not when they never started).
  bool LeftACount(const Status& /*ran*/) const override { return watched_; }
  // The system failing a buyer, or the parent's final read, fails the run
  // unless it was interrupted; an interrupt that came after the last buyer
  // ended still counts.
  Status Finish(const Status& ran, const std::string& read_failure,
                RunResult* result) override;

 private:
  // The arenas, the control block and, for a controlled schedule, the
  // steps' block.
  Status MapShared(RunResult* result);
  // Waits until every buyer has attached (see AwaitAttached); a throwaway
  // server that went meanwhile is why they could not, or fails the run.
  Status AwaitStart(int* interrupt);
  // From the opened barrier until every buyer is reaped.
  Status Watch(RunResult* result);
  // Who served whom, and each continue, once every buyer is reaped.
  void BookEnd(int64_t start, RunResult* result) const;
  WatchedBuyers Watched() const;

  const BuyerSetup setup_;
  std::unique_ptr<SharedControl> control_;
  SharedSteps steps_;
  std::unique_ptr<BuyerReaper> reaper_;
  bool watched_ = false;
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_RUN_OWN_BUYERS_H_
