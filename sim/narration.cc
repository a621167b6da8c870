#include "sim/narration.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "sim/checker.h"
#include "sim/escape.h"
#include "sim/interrupt.h"
#include "sim/words.h"

namespace ticketsim {
namespace {

struct Told {
  uint64_t time;
  uint32_t buyer;
  const Event* event;
  int signal = 0;         // with no event: the signal that ended the buyer
  std::string said = "";  // with no event: what ticketsim itself did
};

class Narrator {
 public:
  explicit Narrator(const RunResult& run)
      : scenario_(run.scenario), count_(run.scenario.initial) {}

  // The sentence for `e`, or "" for an event not worth a line. With several
  // events, each sentence names the event it concerns.
  std::string Tell(const Event& e) {
    std::string sentence = TellOne(e);
    if (!sentence.empty() && EventCount(scenario_) > 1 &&
        e.kind != EventKind::kFault && e.kind != EventKind::kQuery) {
      sentence += fmt::format(" [{}]", EventName(scenario_, e.event));
    }
    return sentence;
  }

 private:
  std::string TellOne(const Event& e) {
    const uint32_t b = e.buyer;
    switch (e.kind) {
      case EventKind::kQuery:
        if (e.flags & kTorn) {
          return fmt::format(
              "buyer {} queries and finds {}: a torn read", b,
              e.aux == 0 ? "the file empty" : "a half-written file");
        }
        return fmt::format("buyer {} queries: {} left", b, e.value);
      case EventKind::kAcquired:
        if (e.flags & kRecovered) {
          return fmt::format(
              "buyer {} takes the guard, whose holder died holding it "
              "(recovered)",
              b);
        }
        if (e.aux >= 100) {
          return fmt::format("buyer {} takes the guard after waiting {}", b,
                             FormatTime(uint64_t{e.aux} * 1000));
        }
        return fmt::format("buyer {} takes the guard", b);
      case EventKind::kRead:
        if (e.flags & kTorn) {
          return fmt::format("buyer {} reads, and finds no count: a torn read",
                             b);
        }
        return fmt::format("buyer {} reads {}", b, e.value);
      case EventKind::kInvoke:
        return "";
      case EventKind::kWrite:
        if (e.event != 0) return fmt::format("buyer {} writes {}", b, e.value);
        return Sold(b, e.value + 1,
                    fmt::format("buyer {} writes {}", b, e.value), e.value);
      case EventKind::kTook:
        return Sold(b, e.value,
                    fmt::format("buyer {} takes a ticket in one step", b),
                    e.value - 1);
      case EventKind::kSoldOut:
        return fmt::format("buyer {} reads {}: sold out", b, e.value);
      case EventKind::kFailed:
        return fmt::format("buyer {} {}", b, FailureWhy(e.aux));
      case EventKind::kRelease:
        return scenario_.guard.kind == GuardKind::kNone
                   ? ""
                   : fmt::format("buyer {} lets go of the guard", b);
      case EventKind::kFault:
        return fmt::format("buyer {} {} ({})", b, FaultWhat(e.aux, e.value),
                           FaultName(e.aux));
      case EventKind::kBackoff:
        return fmt::format(
            "buyer {} finds the guard taken, gives back what it holds and "
            "backs off",
            b);
      case EventKind::kWaiting:
      case EventKind::kTruncated:
      case EventKind::kEmpty:
        return "";
    }
    return "";
  }

  // A confirmed purchase of `seat`, leaving `left`.
  std::string Sold(uint32_t buyer, int64_t seat, std::string what,
                   int64_t left) {
    const int64_t times = ++sold_[seat];
    std::string line = fmt::format("{} -- {}", what, SeatSold(seat, times));
    // The count should have been one less than the last one written.
    if (left >= count_ && last_writer_ >= 0) {
      line += fmt::format(" (buyer {}'s sale is written over)", last_writer_);
    }
    count_ = left;
    last_writer_ = buyer;
    return line;
  }

  const Scenario& scenario_;
  int64_t count_;
  int64_t last_writer_ = -1;
  std::map<int64_t, int64_t> sold_;
};

}  // namespace

void WriteNarration(std::FILE* out, const RunResult& run, size_t max_lines) {
  // A told item with no event is the buyer's death, at its last event.
  std::vector<Told> events;
  const std::vector<bool> killed = KilledBuyers(run);
  const auto run_end = static_cast<uint64_t>(run.seconds * 1e9);
  for (uint32_t b = 0; b < run.served_by.size(); ++b) {
    const std::span<const Event> own = run.history->EventsOf(b);
    for (const Event& e : own) {
      if (e.kind != EventKind::kEmpty) {
        events.push_back({e.time_ns, b, &e});
      }
    }
    if (killed[b]) {
      // Killed by its own fault: right after its last event; otherwise by
      // the run's end.
      const bool by_fault =
          !own.empty() && own.back().kind == EventKind::kFault;
      events.push_back({by_fault ? own.back().time_ns : run_end, b, nullptr,
                        run.processes[run.served_by[b]].signal});
    }
  }
  if (!run.deadlock.empty()) {
    events.push_back({run.deadlock_ns, 0, nullptr, 0,
                      "ticketsim finds a deadlock and ends the run"});
  }
  for (const AbandonedLock& a : run.abandoned) {
    events.push_back(
        {a.time_ns, a.buyer, nullptr, 0,
         fmt::format("ticketsim sees buyer {} die holding the guard, which "
                     "nothing releases, and ends the run",
                     a.buyer)});
  }
  std::stable_sort(
      events.begin(), events.end(),
      [](const Told& a, const Told& b) { return a.time < b.time; });
  fmt::print(out, "What happened, in time order (ms since the start):\n");
  Narrator narrator(run);
  size_t lines = 0;
  size_t untold = 0;
  for (const Told& t : events) {
    const std::string sentence =
        !t.said.empty()      ? t.said
        : t.event == nullptr ? fmt::format("buyer {} is dead ({})", t.buyer,
                                           SignalName(t.signal))
                             : narrator.Tell(*t.event);
    if (sentence.empty()) continue;
    if (lines == max_lines) {
      ++untold;
      continue;
    }
    // Event names come from the scenario.
    fmt::print(out, "  {:>10.3f}  {}\n", t.time / 1e6, Visible(sentence));
    ++lines;
  }
  if (untold > 0) {
    fmt::print(out, "  ... and {} more events (--narrate tells the first {})\n",
               untold, max_lines);
  }
  fmt::print(out, "\n");
}

}  // namespace ticketsim
