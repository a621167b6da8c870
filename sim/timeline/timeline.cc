#include "sim/timeline/timeline.h"

#include <array>
#include <map>

namespace ticketsim {
namespace {

// What each kind of event says of its attempt; `t` is the event's time.

void Query(Attempt* a, const Event& e, int64_t t) {
  a->query_ns = t;
  a->query_value = e.value;
  a->query_torn = (e.flags & kTorn) != 0;
}

void Acquired(Attempt* a, const Event& e, int64_t t) {
  a->acquired_ns = t;
  a->wait_ns = t - int64_t{e.aux} * 1000;
  if (a->wait_ns < a->query_ns) a->wait_ns = a->query_ns;
  a->recovered = (e.flags & kRecovered) != 0;
}

void Read(Attempt* a, const Event& e, int64_t t) {
  a->read_ns = t;
  a->read_value = e.value;
  if (e.flags & kTorn) {
    a->outcome = Outcome::kTorn;
    a->outcome_ns = t;
  }
}

void Invoke(Attempt* a, const Event&, int64_t t) {
  a->read_ns = t;
  a->atomic = true;
}

void Write(Attempt* a, const Event& e, int64_t t) {
  a->outcome = Outcome::kBought;
  a->outcome_ns = t;
  a->written = e.value;
  a->seat = e.value + 1;
}

void Took(Attempt* a, const Event& e, int64_t t) {
  a->outcome = Outcome::kBought;
  a->outcome_ns = t;
  a->seat = e.value;
}

void SoldOut(Attempt* a, const Event&, int64_t t) {
  a->outcome = Outcome::kSoldOut;
  a->outcome_ns = t;
}

void Failed(Attempt* a, const Event& e, int64_t t) {
  a->outcome = Outcome::kFailed;
  a->outcome_ns = t;
  a->failure = e.aux;
}

void Release(Attempt* a, const Event&, int64_t t) { a->release_ns = t; }

void Fault(Attempt* a, const Event& e, int64_t t) {
  a->fault = e.aux;
  a->fault_ns = t;
  a->fault_value = e.value;
}

void Backoff(Attempt* a, const Event&, int64_t) { ++a->backoffs; }

// Rolled back: its read counts no more; the next one is the purchase's.
void Retry(Attempt* a, const Event&, int64_t) {
  ++a->retries;
  a->release_ns = -1;
}

using AttemptStep = void (*)(Attempt*, const Event&, int64_t);
constexpr size_t kEventKinds = static_cast<size_t>(EventKind::kRetry) + 1;

// Indexed by EventKind; nullptr: a kind that says nothing of the attempt
// (kEmpty, kWaiting, kTruncated).
constexpr std::array<AttemptStep, kEventKinds> kAttemptSteps = [] {
  std::array<AttemptStep, kEventKinds> steps{};
  const auto set = [&steps](EventKind kind, AttemptStep step) {
    steps[static_cast<size_t>(kind)] = step;
  };
  set(EventKind::kQuery, Query);
  set(EventKind::kAcquired, Acquired);
  set(EventKind::kRead, Read);
  set(EventKind::kInvoke, Invoke);
  set(EventKind::kWrite, Write);
  set(EventKind::kTook, Took);
  set(EventKind::kSoldOut, SoldOut);
  set(EventKind::kFailed, Failed);
  set(EventKind::kRelease, Release);
  set(EventKind::kFault, Fault);
  set(EventKind::kBackoff, Backoff);
  set(EventKind::kRetry, Retry);
  return steps;
}();

// Gathers a buyer's waits and holds of its guards, its back-offs and its
// empty files, one event at a time.
class GuardHistoryBuilder {
 public:
  void Add(const Event& e) {
    const auto t = static_cast<int64_t>(e.time_ns);
    switch (e.kind) {
      case EventKind::kWaiting:
        return Waits(e, t);
      case EventKind::kAcquired:
        return Takes(e, t);
      case EventKind::kFailed:
        return GivesUp(e, t);
      case EventKind::kRelease:
        return Releases(e, t);
      case EventKind::kBackoff:
        return BacksOff(e, t);
      case EventKind::kTruncated:
        return Truncates(e, t);
      case EventKind::kWrite:
        return Writes(e, t);
      default:
        return;
    }
  }

  GuardHistory Take() { return std::move(h_); }

 private:
  // Per event, the index in h_.spans of its open wait or hold, or in
  // h_.empty_files of its open empty file.
  using Open = std::map<size_t, size_t>;

  GuardSpan* Close(Open* open, size_t event, int64_t t, SpanEnd end) {
    const auto it = open->find(event);
    if (it == open->end()) return nullptr;
    GuardSpan& span = h_.spans[it->second];
    span.to_ns = t;
    span.end = end;
    open->erase(it);
    return &span;
  }

  GuardSpan& Begin(Open* open, const Event& e, SpanKind kind, int64_t t) {
    GuardSpan& span = h_.spans.emplace_back();
    span.buyer = e.buyer;
    span.attempt = e.attempt;
    span.event = e.event;
    span.kind = kind;
    span.from_ns = t;
    (*open)[e.event] = h_.spans.size() - 1;
    return span;
  }

  void Waits(const Event& e, int64_t t) {
    Close(&waiting_, e.event, t, SpanEnd::kFailed);
    Begin(&waiting_, e, SpanKind::kWait, t);
  }

  void Takes(const Event& e, int64_t t) {
    if (Close(&waiting_, e.event, t, SpanEnd::kAcquired) == nullptr &&
        e.aux > 0) {
      // Taken without its asking recorded: the wait it measured.
      Begin(&waiting_, e, SpanKind::kWait, t - int64_t{e.aux} * 1000);
      Close(&waiting_, e.event, t, SpanEnd::kAcquired);
    }
    Close(&holding_, e.event, t, SpanEnd::kRelease);
    Begin(&holding_, e, SpanKind::kHold, t).recovered =
        (e.flags & kRecovered) != 0;
  }

  void GivesUp(const Event& e, int64_t t) {
    if (GuardSpan* wait = Close(&waiting_, e.event, t, SpanEnd::kFailed)) {
      wait->failure = e.aux;
    }
  }

  void Releases(const Event& e, int64_t t) {
    Close(&holding_, e.event, t, SpanEnd::kRelease);
  }

  void BacksOff(const Event& e, int64_t t) {
    BackoffMark& mark = h_.backoffs.emplace_back();
    mark.buyer = e.buyer;
    mark.attempt = e.attempt;
    mark.time_ns = t;
    mark.found_held = e.event;
    mark.given_back = e.aux;
    mark.round = e.value;
    for (size_t bit = 0; bit < 32; ++bit) {
      if (e.aux & (1u << bit)) Close(&holding_, bit, t, SpanEnd::kBackoff);
    }
  }

  void Truncates(const Event& e, int64_t t) {
    EmptyFile& file = h_.empty_files.emplace_back();
    file.buyer = e.buyer;
    file.attempt = e.attempt;
    file.event = e.event;
    file.from_ns = t;
    empty_[e.event] = h_.empty_files.size() - 1;
  }

  void Writes(const Event& e, int64_t t) {
    if (const auto it = empty_.find(e.event); it != empty_.end()) {
      h_.empty_files[it->second].to_ns = t;
      empty_.erase(it);
    }
  }

  GuardHistory h_;
  Open waiting_, holding_, empty_;
};

// The time and the kind of a fault that killed the buyer, if its last
// event is one (kill_holder, crash_before_write).
void NoteKilled(std::span<const Event> events, GuardHistory* h) {
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if (it->kind == EventKind::kEmpty) continue;
    if (it->kind == EventKind::kFault &&
        (it->aux == static_cast<uint32_t>(FaultKind::kKill) ||
         it->aux == static_cast<uint32_t>(FaultKind::kCrash))) {
      h->killed_ns = static_cast<int64_t>(it->time_ns);
      h->killed_by = it->aux;
    }
    return;
  }
}

}  // namespace

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
    const auto kind = static_cast<size_t>(e.kind);
    if (kind < kAttemptSteps.size() && kAttemptSteps[kind] != nullptr) {
      kAttemptSteps[kind](&a, e, t);
    }
  }
  return attempts;
}

GuardHistory GuardHistoryOf(std::span<const Event> events) {
  GuardHistoryBuilder builder;
  for (const Event& e : events) builder.Add(e);
  GuardHistory h = builder.Take();
  NoteKilled(events, &h);
  return h;
}

}  // namespace ticketsim
