#include "sim/run/own_buyers.h"

#include <cerrno>
#include <utility>

#include "base/clock.h"
#include "sim/buyers/buyer.h"
#include "sim/run/controlled_run.h"
#include "sim/run/run_server.h"

namespace ticketsim {

Status MapArenas(const Scenario& scenario, const RunPlan& plan,
                 RunResult* result) {
  result->history = std::make_unique<HistoryArena>();
  Status s = result->history->Map(plan.buyers, plan.events_per_buyer);
  if (!s.ok()) return s;
  if (plan.summary) {
    result->tallies = std::make_unique<TallyArena>();
    s = result->tallies->Map(plan.buyers, scenario.initial, plan.seat_map_seats,
                             scenario.buyers.attempts);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status OwnBuyers::Run(RunResult* result) {
  Status s = MapShared(result);
  if (!s.ok()) return s;
  reaper_ = std::make_unique<BuyerReaper>(&result->processes, control_->get());
  const BuyerWork work{setup_.scenario,       setup_.stores,
                       setup_.guards,         control_->get(),
                       result->history.get(), result->tallies.get(),
                       setup_.threads};
  const int64_t forking = MonotonicNs();
  s = ForkBuyers(work, setup_.plan->processes, &result->processes,
                 reaper_.get());
  if (!s.ok()) return s;
  // The start barrier: open it once every buyer has attached, so that all
  // of them start their first purchase together.
  int interrupt = 0;
  s = AwaitStart(&interrupt);
  if (!s.ok()) return s;
  if (BookInterrupt(interrupt, result)) return Status::Ok();
  OpenStartBarrier(control_->get());
  result->start_up_ms = static_cast<double>(MonotonicNs() - forking) / 1e6;
  return Watch(result);
}

Status OwnBuyers::Finish(const Status& ran, const std::string& read_failure,
                         RunResult* result) {
  if (!watched_) return ran;
  RunControl* control = control_->get();
  if (!read_failure.empty()) control->failure.Set(read_failure);
  for (int sig; (sig = setup_.signals->Wait(0)) != 0;) {
    BookInterrupt(sig, result);
  }
  result->first_store_error = control->first_store_error.Get();
  result->first_guard_error = control->first_guard_error.Get();
  if (std::string why = control->failure.Get();
      !why.empty() && !result->interrupted) {
    return Status::Environment(why);
  }
  return Status::Ok();
}

Status OwnBuyers::MapShared(RunResult* result) {
  Status s = MapArenas(*setup_.scenario, *setup_.plan, result);
  if (!s.ok()) return s;
  control_ = std::make_unique<SharedControl>(setup_.plan->buyers,
                                             setup_.plan->processes);
  if (control_->get() == nullptr) {
    return Status::FromErrno("map the start barrier", errno);
  }
  control_->get()->threads = setup_.plan->threads;
  if (setup_.plan->controlled) {
    s = steps_.Map(setup_.plan->buyers, setup_.plan->processes);
    if (!s.ok()) return s;
    control_->get()->steps = steps_.get();
  }
  return Status::Ok();
}

Status OwnBuyers::AwaitStart(int* interrupt) {
  Status s = AwaitAttached(*control_->get(), setup_.plan->processes,
                           setup_.plan->pause_ns, *setup_.signals,
                           reaper_.get(), interrupt);
  // A server that went while the buyers attached (its SIGCHLD taken there)
  // is why they could not.
  if (std::string trouble = ServerTrouble(*setup_.scenario); !trouble.empty()) {
    if (!s.ok()) return Status::Environment(trouble);
    control_->get()->failure.Set(trouble);
  }
  return s;
}

Status OwnBuyers::Watch(RunResult* result) {
  RunWatch watch(Watched(), result);
  if (setup_.plan->controlled) {
    Status s = ControlledRun(Watched(), steps_.get(), setup_.chooser,
                             setup_.stores, &watch)
                   .Run(result);
    watch.EndIfEnded();
    if (!s.ok()) return s;
    watch.RestartTimeLimit();
  }
  watch.UntilAllReaped();
  BookEnd(watch.start(), result);
  watched_ = true;
  return Status::Ok();
}

void OwnBuyers::BookEnd(int64_t start, RunResult* result) const {
  const RunControl& control = *control_->get();
  result->seconds = static_cast<double>(MonotonicNs() - start) / 1e9;
  result->served_by.resize(setup_.plan->buyers);
  const bool pool = setup_.scenario->buyers.pool > 0;
  for (uint32_t i = 0; i < setup_.plan->buyers; ++i) {
    result->served_by[i] = control.slots[i].process.load();
    // Without a pool buyer i is process i, even one killed before it began.
    if (!pool && result->served_by[i] < 0) {
      result->served_by[i] = static_cast<int32_t>(i);
    }
  }
  for (const auto& [process, at] : reaper_->continued()) {
    result->continued.emplace_back(process, static_cast<uint64_t>(at - start));
  }
}

WatchedBuyers OwnBuyers::Watched() const {
  return {setup_.scenario, setup_.plan,    control_->get(),
          reaper_.get(),   setup_.signals, setup_.progress};
}

}  // namespace ticketsim
