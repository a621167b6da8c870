#include "sim/report/narration.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "base/escape.h"
#include "base/interrupt.h"
#include "sim/check/checker.h"
#include "sim/history/event_words.h"
#include "sim/result/run_check.h"

namespace ticketsim {
namespace {

// One line of the story: a buyer's event, or something ticketsim did.
struct Told {
  uint64_t time;
  uint32_t buyer;
  const Event* event = nullptr;
  const Event* next = nullptr;  // the buyer's next event, if any
  std::string said = "";        // with no event: the sentence itself
  bool kept = false;            // told even when the story is cut
};

// "0", "0 and 3", "0, 1 and 3".
std::string Buyers(const std::vector<uint32_t>& buyers) {
  std::string out;
  for (size_t i = 0; i < buyers.size(); ++i) {
    if (i > 0) out += i + 1 == buyers.size() ? " and " : ", ";
    out += std::to_string(buyers[i]);
  }
  return out;
}

std::string BuyerWord(const std::vector<uint32_t>& buyers) {
  return fmt::format("buyer{} {}", buyers.size() == 1 ? "" : "s",
                     Buyers(buyers));
}

// Tells events in time order, keeping track of who holds which guard, so
// that a wait names the holder and no guard is ever told as held by more
// buyers than it lets in.
class Narrator {
 public:
  Narrator(const RunResult& run, const Verdict& verdict)
      : scenario_(run.scenario),
        count_(run.scenario.initial),
        several_(EventCount(run.scenario) > 1),
        guarded_(run.scenario.guard.kind != GuardKind::kNone ||
                 (run.program != nullptr && !run.program->lock_names.empty())),
        program_(run.program),
        tell_truncates_(verdict.CountOf(ViolationKind::kTornRead) > 0) {}

  // The sentence for `e` (whose buyer's next event is `next`), or "" for an
  // event not worth a line.
  std::string Tell(const Event& e, const Event* next) {
    std::string sentence = TellOne(e, next);
    // Guards are named in their sentences; other events get their name.
    const bool named =
        e.kind == EventKind::kWaiting || e.kind == EventKind::kAcquired ||
        e.kind == EventKind::kRelease || e.kind == EventKind::kBackoff;
    if (!sentence.empty() && several_ && !named &&
        e.kind != EventKind::kFault && e.kind != EventKind::kQuery) {
      sentence += fmt::format(" [{}]", EventName(scenario_, e.event));
    }
    return sentence;
  }

 private:
  // "the guard", or with several events "parking's guard".
  std::string Guard(size_t event) const {
    if (program_ != nullptr) {
      const auto& names = program_->lock_names;
      return event < names.size() && !names[event].empty()
                 ? fmt::format("the lock \"{}\"", names[event])
                 : "the lock";
    }
    return several_ ? fmt::format("{}'s guard", EventName(scenario_, event))
                    : "the guard";
  }

  // A holder that dies keeps a guard nothing releases (named mutex and
  // semaphore: an abandoned lock); the others are released at its death
  // (the kernel, the database) or taken over by the next locker
  // (robust-mutex): from then on no one holds it for it.
  void Dies(uint32_t buyer) {
    if (AbandonedIfHolderDies(scenario_.guard.kind)) {
      dead_.insert(buyer);
      return;
    }
    for (auto& [event, holders] : holders_) holders.erase(buyer);
  }

  // "buyer 3", "buyers 2 and 5", a dead one said so: "buyer 4 (dead)".
  std::string HolderWords(const std::vector<uint32_t>& holders) const {
    std::string out = BuyerWord(holders);
    if (holders.size() == 1 && dead_.contains(holders[0])) out += " (dead)";
    return out;
  }

  std::vector<uint32_t> HoldersBut(size_t event, uint32_t buyer) const {
    std::vector<uint32_t> others;
    const auto it = holders_.find(event);
    if (it == holders_.end()) return others;
    for (uint32_t b : it->second) {
      if (b != buyer) others.push_back(b);
    }
    return others;
  }

  std::string TellOne(const Event& e, const Event* next) {
    const uint32_t b = e.buyer;
    switch (e.kind) {
      case EventKind::kQuery:
        if (e.flags & kTorn) {
          return fmt::format(
              "buyer {} queries and finds {}: a torn read", b,
              e.aux == 0 ? "the file empty" : "a half-written file");
        }
        return fmt::format("buyer {} queries: {} left", b, e.value);
      case EventKind::kWaiting: {
        // Told only when it must wait: the guard lets in no one more.
        const std::vector<uint32_t> others = HoldersBut(e.event, b);
        const auto permits =
            static_cast<size_t>(std::max<int64_t>(1, scenario_.guard.permits));
        if (others.size() < permits) return "";
        return fmt::format("buyer {} waits for {}, held by {}", b,
                           Guard(e.event), HolderWords(others));
      }
      case EventKind::kAcquired: {
        holders_[e.event].insert(b);
        if (e.flags & kRecovered) {
          return fmt::format(
              "buyer {} takes {}, whose holder died holding it (recovered)", b,
              Guard(e.event));
        }
        if (e.aux >= 100) {
          return fmt::format("buyer {} takes {} after waiting {}", b,
                             Guard(e.event),
                             FormatTime(uint64_t{e.aux} * 1000));
        }
        return fmt::format("buyer {} takes {}", b, Guard(e.event));
      }
      case EventKind::kRead:
        if (e.flags & kTorn) {
          return fmt::format("buyer {} reads, and finds no count: a torn read",
                             b);
        }
        // A read of 0 is told once, as the sold out it is.
        if (next != nullptr && next->kind == EventKind::kSoldOut &&
            next->event == e.event) {
          return "";
        }
        return fmt::format("buyer {} reads {}", b, e.value);
      case EventKind::kInvoke:
        // A program says when its purchase begins; ours are told by steps.
        return program_ != nullptr
                   ? fmt::format("buyer {} begins a purchase", b)
                   : "";
      case EventKind::kWrite:
        if (e.event != 0) return fmt::format("buyer {} writes {}", b, e.value);
        return Sold(b, e.value + 1,
                    fmt::format("buyer {} writes {}", b, e.value), e.value);
      case EventKind::kTook:
        if (e.flags & kNoSeat) {
          return fmt::format("buyer {} buys a ticket (no seat given)", b);
        }
        if (program_ != nullptr) {
          return Sold(b, e.value, fmt::format("buyer {} buys", b), e.value - 1);
        }
        return Sold(b, e.value,
                    fmt::format("buyer {} takes a ticket in one step", b),
                    e.value - 1);
      case EventKind::kSoldOut:
        return fmt::format("buyer {} reads {}: sold out", b, e.value);
      case EventKind::kFailed:
        return fmt::format("buyer {} {}", b, FailureWhy(e.aux));
      case EventKind::kRelease:
        holders_[e.event].erase(b);
        return guarded_
                   ? fmt::format("buyer {} lets go of {}", b, Guard(e.event))
                   : "";
      case EventKind::kFault:
        if (static_cast<FaultKind>(e.aux) != FaultKind::kPause) Dies(b);
        return fmt::format("buyer {} {} ({})", b, FaultWhat(e.aux, e.value),
                           FaultName(e.aux));
      case EventKind::kRetry:
        holders_[e.event].erase(b);
        return fmt::format(
            "buyer {}'s transaction was refused by the server (SQLSTATE "
            "40001) and rolled back; it runs again from its read (retry {})",
            b, e.value);
      case EventKind::kTruncated:
        // Told only in a run whose reads found the file empty.
        return tell_truncates_ ? fmt::format(
                                     "buyer {} empties the file to "
                                     "write it (truncate)",
                                     b)
                               : "";
      case EventKind::kBackoff: {
        std::vector<std::string> given;
        for (size_t event = 0; event < 32; ++event) {
          if ((e.aux & (1u << event)) == 0) continue;
          holders_[event].erase(b);
          given.push_back(several_
                              ? fmt::format("{}'s", EventName(scenario_, event))
                              : "it");
        }
        const std::vector<uint32_t> others = HoldersBut(e.event, b);
        std::string line =
            fmt::format("buyer {} finds {} held", b, Guard(e.event));
        if (!others.empty()) line += " by " + HolderWords(others);
        if (!given.empty()) {
          line += ", gives back ";
          for (size_t i = 0; i < given.size(); ++i) {
            if (i > 0) line += i + 1 == given.size() ? " and " : ", ";
            line += given[i];
          }
          line += ",";
        }
        return line + " and backs off";
      }
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
  const bool several_;
  const bool guarded_;
  const std::shared_ptr<const ProgramReport> program_;
  int64_t last_writer_ = -1;
  std::map<int64_t, int64_t> sold_;
  std::map<size_t, std::set<uint32_t>> holders_;  // per event's guard
  std::set<uint32_t> dead_;  // holders that died holding what none releases
  const bool tell_truncates_;
};

// The story's lines: every event of every buyer, and what ticketsim itself
// did, at the time it happened, in time order.
std::vector<Told> Gather(const RunResult& run, const Verdict& verdict) {
  // The events a witness rests on are told even in a cut story.
  std::set<std::pair<uint32_t, uint64_t>> witnessed;
  for (const auto* list : {&verdict.violations, &verdict.findings}) {
    for (const Violation& v : *list) {
      for (const Witness& w : v.witnesses) {
        for (const WitnessStep& step : w.steps) {
          witnessed.emplace(step.buyer, step.time_ns);
        }
      }
    }
  }
  std::vector<Told> told;
  const std::vector<bool> killed = KilledBuyers(run);
  std::vector<uint32_t> ended;  // killed by ticketsim
  for (uint32_t b = 0; b < run.served_by.size(); ++b) {
    const std::span<const Event> own = run.history->EventsOf(b);
    for (size_t i = 0; i < own.size(); ++i) {
      const Event& e = own[i];
      if (e.kind == EventKind::kEmpty) continue;
      told.push_back({e.time_ns, b, &e,
                      i + 1 < own.size() ? &own[i + 1] : nullptr, "",
                      witnessed.contains({b, e.time_ns})});
    }
    if (!killed[b]) continue;
    // A fault that killed it said so at the time; a buyer ticketsim ended
    // is told with the others it ended; any other death at the run's end,
    // when it was seen.
    const bool by_fault =
        !own.empty() && own.back().kind == EventKind::kFault &&
        static_cast<FaultKind>(own.back().aux) != FaultKind::kPause;
    if (by_fault) continue;
    if (run.ended_by != RunEnd::kNone) {
      ended.push_back(b);
      continue;
    }
    const int signal = run.processes[run.served_by[b]].signal;
    told.push_back(
        {static_cast<uint64_t>(run.seconds * 1e9), b, nullptr, nullptr,
         fmt::format("buyer {} is dead ({})", b, SignalName(signal)), true});
  }
  // After a starved buyer's give-up, what it waited through.
  for (const Violation& v : verdict.findings) {
    for (const Witness& w : v.witnesses) {
      told.push_back(
          {w.to_ns, w.buyers.empty() ? 0 : w.buyers.front(), nullptr, nullptr,
           fmt::format("{}: {}", ViolationName(v.kind), w.text), true});
    }
  }
  if (!run.deadlock.empty()) {
    std::string cycle;
    const Scenario& s = run.scenario;
    for (const DeadlockLink& link : run.deadlock) {
      cycle +=
          fmt::format("{}buyer {} holds {}'s guard and waits for {}'s",
                      cycle.empty() ? "" : "; ", link.buyer,
                      EventName(s, link.holds), EventName(s, link.waits_for));
    }
    told.push_back({run.deadlock_ns, 0, nullptr, nullptr,
                    "ticketsim finds a deadlock: " + cycle, true});
  }
  for (const AbandonedLock& a : run.abandoned) {
    told.push_back(
        {a.time_ns, a.buyer, nullptr, nullptr,
         fmt::format("ticketsim sees buyer {} dead, holding the guard, which "
                     "nothing releases",
                     a.buyer),
         true});
  }
  // A paused holder continued: the buyer its process was serving, the one
  // whose pause came last before.
  for (const auto& [process, at] : run.continued) {
    int64_t buyer = -1;
    uint64_t paused = 0;
    for (uint32_t b = 0; b < run.served_by.size(); ++b) {
      if (run.served_by[b] != static_cast<int32_t>(process)) continue;
      for (const Event& e : run.history->EventsOf(b)) {
        if (e.kind == EventKind::kFault && e.time_ns <= at &&
            static_cast<FaultKind>(e.aux) == FaultKind::kPause &&
            (buyer < 0 || e.time_ns >= paused)) {
          buyer = b;
          paused = e.time_ns;
        }
      }
    }
    if (buyer < 0) continue;
    told.push_back(
        {at, static_cast<uint32_t>(buyer), nullptr, nullptr,
         fmt::format("ticketsim continues buyer {} (SIGCONT), stopped since {}",
                     buyer, FormatTime(paused)),
         true});
  }
  if (!ended.empty()) {
    told.push_back({run.ended_ns, ended.front(), nullptr, nullptr,
                    fmt::format("ticketsim ends {}: {}", BuyerWord(ended),
                                RunEndName(run.ended_by)),
                    true});
  }
  std::stable_sort(told.begin(), told.end(), [](const Told& a, const Told& b) {
    return a.time < b.time;
  });
  return told;
}

}  // namespace

void WriteNarration(std::FILE* out, const RunResult& run,
                    const Verdict& verdict, size_t max_lines) {
  fmt::print(out, "What happened, in time order (ms since the start):\n");
  if (run.history == nullptr) {
    fmt::print(out,
               "  nothing to tell: history = \"summary\" keeps no events\n\n");
    return;
  }
  Narrator narrator(run, verdict);
  size_t lines = 0;
  size_t skipped = 0;  // since the last line told
  size_t untold = 0;   // in all
  for (const Told& t : Gather(run, verdict)) {
    // Every event goes through the narrator, told or not: it keeps the
    // count and the guards' holders.
    const std::string sentence =
        t.event == nullptr ? t.said : narrator.Tell(*t.event, t.next);
    if (sentence.empty()) continue;
    if (lines >= max_lines && !t.kept) {
      ++skipped;
      ++untold;
      continue;
    }
    if (skipped > 0) {
      fmt::print(out, "  {:>10}  ... {} event{} left out ...\n", "", skipped,
                 skipped == 1 ? "" : "s");
      skipped = 0;
    }
    // Event names come from the scenario.
    fmt::print(out, "  {:>10.3f}  {}\n", t.time / 1e6, Visible(sentence));
    ++lines;
  }
  if (skipped > 0) {
    fmt::print(out, "  {:>10}  ... {} event{} left out ...\n", "", skipped,
               skipped == 1 ? "" : "s");
  }
  if (untold > 0) {
    fmt::print(out,
               "  {} events were left out: --narrate tells the first {}, "
               "then only what the witnesses rest on and what ticketsim "
               "did\n",
               untold, max_lines);
  }
  fmt::print(out, "\n");
}

}  // namespace ticketsim
