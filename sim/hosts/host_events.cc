#include "sim/hosts/host_events.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

namespace ticketsim {

bool OnRunClock(int64_t agent_time, int64_t offset, int64_t start,
                int64_t* run_time) {
  int64_t t = 0;
  if (__builtin_sub_overflow(agent_time, offset, &t) ||
      __builtin_sub_overflow(t, start, &t)) {
    return false;
  }
  *run_time = t;
  return true;
}

Status HostEvents::Map(const Scenario& scenario, RunResult* result) {
  scenario_ = &scenario;
  result_ = result;
  const auto buyers = static_cast<uint32_t>(scenario.buyers.count);
  per_buyer_ = static_cast<size_t>(scenario.buyers.attempts) *
               EventsPerAttempt(scenario);
  result->history = std::make_unique<HistoryArena>();
  if (Status s = result->history->Map(buyers, per_buyer_); !s.ok()) return s;
  writers_.clear();
  for (uint32_t b = 0; b < buyers; ++b) {
    writers_.push_back(result->history->WriterFor(b));
  }
  result->processes.assign(buyers, BuyerProcess{});
  result->served_by.resize(buyers);
  for (uint32_t b = 0; b < buyers; ++b) {
    result->served_by[b] = static_cast<int32_t>(b);
  }
  recorded_.assign(buyers, 0);
  ended_.assign(buyers, false);
  attempts_done_ = 0;
  return Status::Ok();
}

Status HostEvents::TakeEvent(const Event& e, int64_t run_time, int64_t now,
                             std::span<const uint32_t> buyers) {
  if (Status s = CheckAgentEvent(e, *scenario_, buyers); !s.ok()) return s;
  const uint32_t b = e.buyer;
  if (ended_[b]) {
    return Status::Invalid(
        fmt::format("an event of buyer {} after its end", b));
  }
  if (recorded_[b] == per_buyer_) {
    return Status::Invalid(fmt::format(
        "more than the {} events buyer {} can record", per_buyer_, b));
  }
  if (run_time < -kClockSlackNs || run_time > now + kClockSlackNs) {
    return Status::Invalid(
        fmt::format("an event of buyer {} at a time outside the run", b));
  }
  ++recorded_[b];
  Event at = e;
  at.time_ns = static_cast<uint64_t>(
      std::clamp<int64_t>(run_time, 0, std::max<int64_t>(now, 0)));
  writers_[b].Record(at);
  if (e.kind == EventKind::kWrite || e.kind == EventKind::kTook ||
      e.kind == EventKind::kSoldOut || e.kind == EventKind::kFailed) {
    ++attempts_done_;
  }
  return Status::Ok();
}

Status HostEvents::TakeEnd(const AgentMessage& end, int64_t now,
                           std::span<const uint32_t> buyers) {
  if (Status s = CheckAgentEnd(end, *scenario_, buyers); !s.ok()) return s;
  const uint32_t b = end.buyer;
  if (ended_[b]) return Status::Invalid(fmt::format("buyer {} ended twice", b));
  ended_[b] = true;
  BuyerProcess& p = result_->processes[b];
  p.exit_code = end.exit_code;
  p.signal = end.signal;
  if (end.signal != 0 && end.held != 0 &&
      AbandonedIfHolderDies(scenario_->guard.kind)) {
    result_->abandoned.push_back(
        {b, p.pid, end.signal, 0,
         static_cast<uint64_t>(std::max<int64_t>(now, 0))});
  }
  return Status::Ok();
}

size_t HostEvents::Ended(std::span<const uint32_t> buyers) const {
  size_t n = 0;
  for (uint32_t b : buyers) n += ended_[b] ? 1 : 0;
  return n;
}

}  // namespace ticketsim
