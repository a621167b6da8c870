#include "sim/run/controlled_run.h"

#include <memory>

#include "base/clock.h"
#include "sim/buyers/deadlock_watch.h"

namespace ticketsim {
namespace {

// The schedule a run's log names (os runs controlled only when a person
// steps it: seeded), and PCT's figures.
void BookSchedule(const Scenario& scenario, ScheduleLog* log) {
  log->kind = scenario.schedule.kind == ScheduleKind::kOs
                  ? ScheduleKind::kSeeded
                  : scenario.schedule.kind;
  if (log->kind == ScheduleKind::kPct) {
    log->pct_depth = scenario.schedule.pct_depth;
    log->pct_steps = StepEstimate(scenario);
    log->pct_bound =
        PctBound(scenario.buyers.count, log->pct_steps, log->pct_depth);
  }
}

}  // namespace

ControlledRun::ControlledRun(const WatchedBuyers& buyers, StepControl* steps,
                             StepChooser* chooser,
                             std::span<TicketStore* const> stores,
                             RunWatch* watch)
    : buyers_(buyers),
      steps_(steps),
      chooser_(chooser),
      stores_(stores),
      watch_(watch),
      attached_(stores.size(), false) {}

Status ControlledRun::Run(RunResult* result) {
  const Scenario& scenario = *buyers_.scenario;
  BookSchedule(scenario, &result->schedule);
  std::unique_ptr<StepChooser> own;
  StepChooser* chooser = chooser_;
  if (chooser == nullptr) {
    own = MakeChooser(scenario);
    chooser = own.get();
  }
  ScheduleSetup setup;
  setup.scenario = &scenario;
  setup.control = buyers_.control;
  setup.steps = steps_;
  setup.processes = buyers_.plan->processes;
  setup.signals = &buyers_.signals->set();
  setup.step_timeout_ns = buyers_.plan->timeout_ns;
  setup.chooser = chooser;
  setup.hooks = Hooks(result);
  const ScheduleOutcome outcome = RunSchedule(setup, &result->schedule);
  for (size_t e = 0; e < stores_.size(); ++e) {
    if (attached_[e]) stores_[e]->Detach();
  }
  return BookEnd(outcome, result);
}

ScheduleHooks ControlledRun::Hooks(RunResult* result) {
  BuyerReaper* reaper = buyers_.reaper;
  ScheduleHooks hooks;
  hooks.took_signal = [this](int sig, pid_t child) {
    return watch_->TakeSignal(sig, child);
  };
  hooks.ended = [reaper](uint32_t p) { return reaper->Ended(p); };
  hooks.paused = [reaper](uint32_t p) { return reaper->Paused(p); };
  hooks.resume = [reaper](uint32_t p) { reaper->Resume(p); };
  hooks.events = [result](uint32_t buyer) {
    return result->history->EventsOf(buyer);
  };
  hooks.count = [this](size_t e) { return Count(e); };
  // A guard with one holder at a time: a cycle of waits is a deadlock. (With
  // several permits a waiter may yet get one another holder gives back.)
  const GuardSpec& guard = buyers_.scenario->guard;
  if (guard.kind != GuardKind::kNamedSemaphore || guard.permits == 1) {
    hooks.cycle = [this, result] {
      return !FindDeadlockCycle(*buyers_.control, buyers_.plan->buyers,
                                buyers_.plan->events, result->processes)
                  .empty();
    };
  }
  return hooks;
}

std::optional<int64_t> ControlledRun::Count(size_t e) {
  if (e >= stores_.size()) return std::nullopt;
  if (!attached_[e]) {
    if (!stores_[e]->Attach().ok()) return std::nullopt;
    attached_[e] = true;
  }
  Reading reading;
  if (!stores_[e]->Read(&reading).ok()) return std::nullopt;
  return reading.count;
}

Status ControlledRun::BookEnd(const ScheduleOutcome& outcome,
                              RunResult* result) {
  const uint64_t at =
      static_cast<uint64_t>(MonotonicNs() - buyers_.control->start_ns.load());
  switch (outcome.end) {
    case ScheduleEnd::kFinished:
    case ScheduleEnd::kEnded:
      return Status::Ok();
    case ScheduleEnd::kDeadlock:
      result->deadlock =
          FindDeadlockCycle(*buyers_.control, buyers_.plan->buyers,
                            buyers_.plan->events, result->processes);
      result->deadlock_ns = at;
      // No buyer can move, and none holds what another waits for: they wait
      // for something no buyer will give back.
      if (result->deadlock.empty()) result->timed_out = true;
      break;
    case ScheduleEnd::kTimedOut:
      result->timed_out = true;
      break;
    case ScheduleEnd::kStopped:
      result->stopped = true;
      break;
    case ScheduleEnd::kUndo:
      result->undo = true;
      break;
    case ScheduleEnd::kError:
      watch_->End();
      return Status::Invalid(outcome.error);
  }
  watch_->End();
  return Status::Ok();
}

}  // namespace ticketsim
