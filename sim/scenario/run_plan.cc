#include "sim/scenario/run_plan.h"

#include <algorithm>

namespace ticketsim {

RunPlan PlanRun(const Scenario& scenario) {
  RunPlan plan;
  plan.buyers = static_cast<uint32_t>(scenario.buyers.count);
  plan.processes = static_cast<uint32_t>(ProcessCount(scenario));
  plan.threads = scenario.buyers.mode == BuyerMode::kThread;
  plan.events = EventCount(scenario);
  plan.summary = scenario.history == HistoryMode::kSummary;
  plan.events_per_buyer = plan.summary
                              ? 0
                              : static_cast<size_t>(scenario.buyers.attempts) *
                                    EventsPerAttempt(scenario);
  plan.seat_map_seats = SeatMapSeats(scenario);
  plan.history_bytes = HistoryBytes(scenario);
  plan.timeout_ns = RunTimeoutMs(scenario) * 1000000;
  plan.pause_ns = static_cast<int64_t>(scenario.faults.pause_holder_ms * 1e6);
  plan.controlled = scenario.schedule.controlled();
  plan.server_connections = static_cast<int>(std::max<int64_t>(
      100, ProcessCount(scenario) * static_cast<int64_t>(plan.events) + 10));
  return plan;
}

}  // namespace ticketsim
