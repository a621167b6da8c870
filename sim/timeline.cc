#include "sim/timeline.h"

namespace ticketsim {

std::vector<Attempt> AttemptsOf(std::span<const Event> events) {
  std::vector<Attempt> attempts;
  for (const Event& e : events) {
    if (e.kind == EventKind::kEmpty || e.event != 0) continue;
    if (attempts.empty() || attempts.back().attempt != e.attempt) {
      Attempt& a = attempts.emplace_back();
      a.buyer = e.buyer;
      a.attempt = e.attempt;
    }
    Attempt& a = attempts.back();
    const auto t = static_cast<int64_t>(e.time_ns);
    a.last_ns = t;
    switch (e.kind) {
      case EventKind::kQuery:
        a.query_ns = t;
        a.query_value = e.value;
        a.query_torn = (e.flags & kTorn) != 0;
        break;
      case EventKind::kAcquired:
        a.acquired_ns = t;
        a.wait_ns = t - int64_t{e.aux} * 1000;
        if (a.wait_ns < a.query_ns) a.wait_ns = a.query_ns;
        a.recovered = (e.flags & kRecovered) != 0;
        break;
      case EventKind::kRead:
        a.read_ns = t;
        a.read_value = e.value;
        if (e.flags & kTorn) {
          a.outcome = Outcome::kTorn;
          a.outcome_ns = t;
        }
        break;
      case EventKind::kInvoke:
        a.read_ns = t;
        a.atomic = true;
        break;
      case EventKind::kWrite:
        a.outcome = Outcome::kBought;
        a.outcome_ns = t;
        a.written = e.value;
        a.seat = e.value + 1;
        break;
      case EventKind::kTook:
        a.outcome = Outcome::kBought;
        a.outcome_ns = t;
        a.seat = e.value;
        break;
      case EventKind::kSoldOut:
        a.outcome = Outcome::kSoldOut;
        a.outcome_ns = t;
        break;
      case EventKind::kFailed:
        a.outcome = Outcome::kFailed;
        a.outcome_ns = t;
        a.failure = e.aux;
        break;
      case EventKind::kRelease:
        a.release_ns = t;
        break;
      case EventKind::kFault:
        a.fault = e.aux;
        a.fault_ns = t;
        a.fault_value = e.value;
        break;
      case EventKind::kBackoff:
        ++a.backoffs;
        break;
      case EventKind::kWaiting:
      case EventKind::kTruncated:
      case EventKind::kEmpty:
        break;
    }
  }
  return attempts;
}

}  // namespace ticketsim
