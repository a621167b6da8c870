#include "sim/timeline/timeline.h"

#include <map>

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
      case EventKind::kRetry:
        // Rolled back: its read counts no more; the next one is the
        // purchase's.
        ++a.retries;
        a.release_ns = -1;
        break;
      case EventKind::kWaiting:
      case EventKind::kTruncated:
      case EventKind::kEmpty:
        break;
    }
  }
  return attempts;
}

GuardHistory GuardHistoryOf(std::span<const Event> events) {
  GuardHistory h;
  // Per event, the index in h.spans of its open wait and open hold.
  std::map<size_t, size_t> waiting, holding, empty;
  const auto close = [&h](std::map<size_t, size_t>* open, size_t event,
                          int64_t t, SpanEnd end) -> GuardSpan* {
    const auto it = open->find(event);
    if (it == open->end()) return nullptr;
    GuardSpan& span = h.spans[it->second];
    span.to_ns = t;
    span.end = end;
    open->erase(it);
    return &span;
  };
  const auto open = [&h](std::map<size_t, size_t>* spans, const Event& e,
                         SpanKind kind, int64_t t) -> GuardSpan& {
    GuardSpan& span = h.spans.emplace_back();
    span.buyer = e.buyer;
    span.attempt = e.attempt;
    span.event = e.event;
    span.kind = kind;
    span.from_ns = t;
    (*spans)[e.event] = h.spans.size() - 1;
    return span;
  };
  for (const Event& e : events) {
    if (e.kind == EventKind::kEmpty) continue;
    const auto t = static_cast<int64_t>(e.time_ns);
    switch (e.kind) {
      case EventKind::kWaiting:
        close(&waiting, e.event, t, SpanEnd::kFailed);
        open(&waiting, e, SpanKind::kWait, t);
        break;
      case EventKind::kAcquired: {
        if (close(&waiting, e.event, t, SpanEnd::kAcquired) == nullptr &&
            e.aux > 0) {
          // Taken without its asking recorded: the wait it measured.
          open(&waiting, e, SpanKind::kWait, t - int64_t{e.aux} * 1000);
          close(&waiting, e.event, t, SpanEnd::kAcquired);
        }
        close(&holding, e.event, t, SpanEnd::kRelease);
        open(&holding, e, SpanKind::kHold, t).recovered =
            (e.flags & kRecovered) != 0;
        break;
      }
      case EventKind::kFailed:
        if (GuardSpan* wait = close(&waiting, e.event, t, SpanEnd::kFailed)) {
          wait->failure = e.aux;
        }
        break;
      case EventKind::kRelease:
        close(&holding, e.event, t, SpanEnd::kRelease);
        break;
      case EventKind::kBackoff: {
        BackoffMark& mark = h.backoffs.emplace_back();
        mark.buyer = e.buyer;
        mark.attempt = e.attempt;
        mark.time_ns = t;
        mark.found_held = e.event;
        mark.given_back = e.aux;
        mark.round = e.value;
        for (size_t bit = 0; bit < 32; ++bit) {
          if (e.aux & (1u << bit)) close(&holding, bit, t, SpanEnd::kBackoff);
        }
        break;
      }
      case EventKind::kTruncated: {
        EmptyFile& file = h.empty_files.emplace_back();
        file.buyer = e.buyer;
        file.attempt = e.attempt;
        file.event = e.event;
        file.from_ns = t;
        empty[e.event] = h.empty_files.size() - 1;
        break;
      }
      case EventKind::kWrite:
        if (const auto it = empty.find(e.event); it != empty.end()) {
          h.empty_files[it->second].to_ns = t;
          empty.erase(it);
        }
        break;
      default:
        break;
    }
  }
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if (it->kind == EventKind::kEmpty) continue;
    if (it->kind == EventKind::kFault &&
        (it->aux == static_cast<uint32_t>(FaultKind::kKill) ||
         it->aux == static_cast<uint32_t>(FaultKind::kCrash))) {
      h.killed_ns = static_cast<int64_t>(it->time_ns);
      h.killed_by = it->aux;
    }
    break;
  }
  return h;
}

}  // namespace ticketsim
