#include "sim/result/thread_death.h"

namespace ticketsim {

std::optional<ThreadsDeath> ThreadsDeathOf(const RunResult& run) {
  if (run.scenario.buyers.mode != BuyerMode::kThread || !run.history) {
    return std::nullopt;
  }
  std::optional<ThreadsDeath> first;
  for (uint32_t b = 0; b < run.served_by.size(); ++b) {
    const auto events = run.history->EventsOf(b);
    if (events.empty() || events.back().kind != EventKind::kFault) continue;
    const auto fault = static_cast<FaultKind>(events.back().aux);
    if (fault == FaultKind::kPause) continue;
    if (!first || events.back().time_ns < first->time_ns) {
      first = ThreadsDeath{b, events.back().time_ns, fault};
    }
  }
  return first;
}

}  // namespace ticketsim
