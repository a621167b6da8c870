#include "sim/report/narration.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <utility>

#include "base/escape.h"
#include "base/interrupt.h"
#include "sim/check/checker.h"
#include "sim/history/event_words.h"
#include "sim/result/run_check.h"
#include "sim/result/thread_death.h"

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

// "a", "a and b", "a, b and c".
std::string JoinAnd(const std::vector<std::string>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " and " : ", ";
    out += words[i];
  }
  return out;
}

// "0", "0 and 3", "0, 1 and 3".
std::string Buyers(const std::vector<uint32_t>& buyers) {
  std::vector<std::string> words;
  for (uint32_t b : buyers) words.push_back(std::to_string(b));
  return JoinAnd(words);
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

  // One sentence-maker per kind of event; a slot never written tells
  // nothing.
  std::string TellOne(const Event& e, const Event* next) {
    using Teller = std::string (Narrator::*)(const Event&, const Event*);
    static constexpr std::pair<EventKind, Teller> kTellers[] = {
        {EventKind::kQuery, &Narrator::TellQuery},
        {EventKind::kWaiting, &Narrator::TellWaiting},
        {EventKind::kAcquired, &Narrator::TellAcquired},
        {EventKind::kRead, &Narrator::TellRead},
        {EventKind::kInvoke, &Narrator::TellInvoke},
        {EventKind::kWrite, &Narrator::TellWrite},
        {EventKind::kTook, &Narrator::TellTook},
        {EventKind::kSoldOut, &Narrator::TellSoldOut},
        {EventKind::kFailed, &Narrator::TellFailed},
        {EventKind::kRelease, &Narrator::TellRelease},
        {EventKind::kFault, &Narrator::TellFault},
        {EventKind::kRetry, &Narrator::TellRetry},
        {EventKind::kTruncated, &Narrator::TellTruncated},
        {EventKind::kBackoff, &Narrator::TellBackoff},
    };
    for (const auto& [kind, tell] : kTellers) {
      if (e.kind == kind) return (this->*tell)(e, next);
    }
    return "";
  }

  std::string TellQuery(const Event& e, const Event*) {
    if (e.flags & kTorn) {
      return fmt::format("buyer {} queries and finds {}: a torn read", e.buyer,
                         e.aux == 0 ? "the file empty" : "a half-written file");
    }
    return fmt::format("buyer {} queries: {} left", e.buyer, e.value);
  }

  // Told only when it must wait: the guard lets in no one more.
  std::string TellWaiting(const Event& e, const Event*) {
    const std::vector<uint32_t> others = HoldersBut(e.event, e.buyer);
    const auto permits =
        static_cast<size_t>(std::max<int64_t>(1, scenario_.guard.permits));
    if (others.size() < permits) return "";
    return fmt::format("buyer {} waits for {}, held by {}", e.buyer,
                       Guard(e.event), HolderWords(others));
  }

  std::string TellAcquired(const Event& e, const Event*) {
    holders_[e.event].insert(e.buyer);
    if (e.flags & kRecovered) {
      return fmt::format(
          "buyer {} takes {}, whose holder died holding it (recovered)",
          e.buyer, Guard(e.event));
    }
    if (e.aux >= 100) {
      return fmt::format("buyer {} takes {} after waiting {}", e.buyer,
                         Guard(e.event), FormatTime(uint64_t{e.aux} * 1000));
    }
    return fmt::format("buyer {} takes {}", e.buyer, Guard(e.event));
  }

  std::string TellRead(const Event& e, const Event* next) {
    if (e.flags & kTorn) {
      return fmt::format("buyer {} reads, and finds no count: a torn read",
                         e.buyer);
    }
    // A read of 0 is told once, as the sold out it is.
    if (next != nullptr && next->kind == EventKind::kSoldOut &&
        next->event == e.event) {
      return "";
    }
    return fmt::format("buyer {} reads {}", e.buyer, e.value);
  }

  // A program says when its purchase begins; ours are told by steps.
  std::string TellInvoke(const Event& e, const Event*) {
    return program_ != nullptr
               ? fmt::format("buyer {} begins a purchase", e.buyer)
               : "";
  }

  std::string TellWrite(const Event& e, const Event*) {
    const std::string what =
        fmt::format("buyer {} writes {}", e.buyer, e.value);
    if (e.event != 0) return what;
    return Sold(e.buyer, e.value + 1, what, e.value);
  }

  std::string TellTook(const Event& e, const Event*) {
    if (e.flags & kNoSeat) {
      return fmt::format("buyer {} buys a ticket (no seat given)", e.buyer);
    }
    const std::string what =
        program_ != nullptr
            ? fmt::format("buyer {} buys", e.buyer)
            : fmt::format("buyer {} takes a ticket in one step", e.buyer);
    return Sold(e.buyer, e.value, what, e.value - 1);
  }

  std::string TellSoldOut(const Event& e, const Event*) {
    return fmt::format("buyer {} reads {}: sold out", e.buyer, e.value);
  }

  std::string TellFailed(const Event& e, const Event*) {
    return fmt::format("buyer {} {}", e.buyer, FailureWhy(e.aux));
  }

  std::string TellRelease(const Event& e, const Event*) {
    holders_[e.event].erase(e.buyer);
    return guarded_
               ? fmt::format("buyer {} lets go of {}", e.buyer, Guard(e.event))
               : "";
  }

  std::string TellFault(const Event& e, const Event*) {
    if (static_cast<FaultKind>(e.aux) != FaultKind::kPause) Dies(e.buyer);
    return fmt::format("buyer {} {} ({})", e.buyer, FaultWhat(e.aux, e.value),
                       FaultName(e.aux));
  }

  std::string TellRetry(const Event& e, const Event*) {
    holders_[e.event].erase(e.buyer);
    return fmt::format(
        "buyer {}'s transaction was refused by the server (SQLSTATE "
        "40001) and rolled back; it runs again from its read (retry {})",
        e.buyer, e.value);
  }

  // Told only in a run whose reads found the file empty.
  std::string TellTruncated(const Event& e, const Event*) {
    return tell_truncates_
               ? fmt::format("buyer {} empties the file to write it (truncate)",
                             e.buyer)
               : "";
  }

  std::string TellBackoff(const Event& e, const Event*) {
    const std::vector<std::string> given = GivesBack(e);
    const std::vector<uint32_t> others = HoldersBut(e.event, e.buyer);
    std::string line =
        fmt::format("buyer {} finds {} held", e.buyer, Guard(e.event));
    if (!others.empty()) line += " by " + HolderWords(others);
    if (!given.empty()) line += ", gives back " + JoinAnd(given) + ",";
    return line + " and backs off";
  }

  // The guards a back-off gives back (the bit mask aux), no longer held:
  // "it", or with several events "parking's".
  std::vector<std::string> GivesBack(const Event& e) {
    std::vector<std::string> given;
    for (size_t event = 0; event < 32; ++event) {
      if ((e.aux & (1u << event)) == 0) continue;
      holders_[event].erase(e.buyer);
      given.push_back(
          several_ ? fmt::format("{}'s", EventName(scenario_, event)) : "it");
    }
    return given;
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

// The events a verdict's witnesses rest on, by buyer and time.
std::set<std::pair<uint32_t, uint64_t>> Witnessed(const Verdict& verdict) {
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
  return witnessed;
}

// Whether a fault (not a pause) ended a buyer whose events are `own`.
bool KilledByFault(std::span<const Event> own) {
  return !own.empty() && own.back().kind == EventKind::kFault &&
         static_cast<FaultKind>(own.back().aux) != FaultKind::kPause;
}

// A paused buyer: who, and since when.
struct Pause {
  uint32_t buyer;
  uint64_t since;
};

// The buyer a paused process was serving when ticketsim continued it at
// `at`: the one whose pause came last before.
std::optional<Pause> LastPause(const RunResult& run, uint32_t process,
                               uint64_t at) {
  std::optional<Pause> last;
  for (uint32_t b = 0; b < run.served_by.size(); ++b) {
    if (run.served_by[b] != static_cast<int32_t>(process)) continue;
    for (const Event& e : run.history->EventsOf(b)) {
      if (e.kind == EventKind::kFault && e.time_ns <= at &&
          static_cast<FaultKind>(e.aux) == FaultKind::kPause &&
          (!last || e.time_ns >= last->since)) {
        last = Pause{b, e.time_ns};
      }
    }
  }
  return last;
}

// The story's lines as they are gathered: each buyer's events and death,
// and what ticketsim itself did, at the time it happened.
class Story {
 public:
  Story(const RunResult& run, const Verdict& verdict)
      : run_(run),
        verdict_(verdict),
        witnessed_(Witnessed(verdict)),
        killed_(KilledBuyers(run)),
        threads_death_(ThreadsDeathOf(run)) {}

  // Every event of buyer `b`; the events a witness rests on are told even
  // in a cut story.
  void AddEvents(uint32_t b) {
    const std::span<const Event> own = run_.history->EventsOf(b);
    for (size_t i = 0; i < own.size(); ++i) {
      const Event& e = own[i];
      if (e.kind == EventKind::kEmpty) continue;
      told_.push_back({e.time_ns, b, &e,
                       i + 1 < own.size() ? &own[i + 1] : nullptr, "",
                       witnessed_.contains({b, e.time_ns})});
    }
  }

  // A fault that killed buyer `b` said so at the time; a buyer ticketsim
  // ended is told with the others it ended; any other death at the run's
  // end, when it was seen.
  void AddDeath(uint32_t b) {
    if (!killed_[b] || KilledByFault(run_.history->EventsOf(b))) return;
    if (threads_death_) {
      with_process_.push_back(b);
      return;
    }
    if (run_.ended_by != RunEnd::kNone) {
      ended_.push_back(b);
      return;
    }
    const int signal = run_.processes[run_.served_by[b]].signal;
    Add(static_cast<uint64_t>(run_.seconds * 1e9), b,
        fmt::format("buyer {} is dead ({})", b, SignalName(signal)));
  }

  // After a starved buyer's give-up, what it waited through.
  void AddFindings() {
    for (const Violation& v : verdict_.findings) {
      for (const Witness& w : v.witnesses) {
        Add(w.to_ns, w.buyers.empty() ? 0 : w.buyers.front(),
            fmt::format("{}: {}", ViolationName(v.kind), w.text));
      }
    }
  }

  void AddDeadlock() {
    if (run_.deadlock.empty()) return;
    std::string cycle;
    const Scenario& s = run_.scenario;
    for (const DeadlockLink& link : run_.deadlock) {
      cycle +=
          fmt::format("{}buyer {} holds {}'s guard and waits for {}'s",
                      cycle.empty() ? "" : "; ", link.buyer,
                      EventName(s, link.holds), EventName(s, link.waits_for));
    }
    Add(run_.deadlock_ns, 0, "ticketsim finds a deadlock: " + cycle);
  }

  void AddAbandoned() {
    for (const AbandonedLock& a : run_.abandoned) {
      Add(a.time_ns, a.buyer,
          fmt::format("ticketsim sees buyer {} dead, holding the guard, which "
                      "nothing releases",
                      a.buyer));
    }
  }

  void AddContinued() {
    for (const auto& [process, at] : run_.continued) {
      const std::optional<Pause> pause = LastPause(run_, process, at);
      if (!pause) continue;
      Add(at, pause->buyer,
          fmt::format(
              "ticketsim continues buyer {} (SIGCONT), stopped since {}",
              pause->buyer, FormatTime(pause->since)));
    }
  }

  // Threads die with their process: one thread's fault ended them all.
  void AddProcessDeath() {
    if (!threads_death_) return;
    const ThreadsDeath& death = *threads_death_;
    std::string said = fmt::format(
        "the whole buyer process dies with buyer {}'s thread ({}: {})",
        death.buyer, FaultName(static_cast<uint32_t>(death.fault)),
        death.fault == FaultKind::kCrash ? "SIGABRT" : "SIGKILL");
    if (!with_process_.empty()) {
      said += fmt::format(", and every other thread with it: {}",
                          BuyerWord(with_process_));
    }
    Add(death.time_ns, death.buyer, std::move(said));
  }

  void AddEnded() {
    if (ended_.empty()) return;
    Add(run_.ended_ns, ended_.front(),
        fmt::format("ticketsim ends {}: {}", BuyerWord(ended_),
                    RunEndName(run_.ended_by)));
  }

  std::vector<Told> InTimeOrder() && {
    std::stable_sort(
        told_.begin(), told_.end(),
        [](const Told& a, const Told& b) { return a.time < b.time; });
    return std::move(told_);
  }

 private:
  // A line of ticketsim's own: always told.
  void Add(uint64_t time, uint32_t buyer, std::string said) {
    told_.push_back({time, buyer, nullptr, nullptr, std::move(said), true});
  }

  const RunResult& run_;
  const Verdict& verdict_;
  const std::set<std::pair<uint32_t, uint64_t>> witnessed_;
  const std::vector<bool> killed_;
  std::vector<uint32_t> ended_;  // killed by ticketsim
  const std::optional<ThreadsDeath> threads_death_;
  std::vector<uint32_t> with_process_;  // threads that died with it
  std::vector<Told> told_;
};

// The story's lines: every event of every buyer, and what ticketsim itself
// did, at the time it happened, in time order.
std::vector<Told> Gather(const RunResult& run, const Verdict& verdict) {
  Story story(run, verdict);
  for (uint32_t b = 0; b < run.served_by.size(); ++b) {
    story.AddEvents(b);
    story.AddDeath(b);
  }
  story.AddFindings();
  story.AddDeadlock();
  story.AddAbandoned();
  story.AddContinued();
  story.AddProcessDeath();
  story.AddEnded();
  return std::move(story).InTimeOrder();
}

// "... 3 events left out ...", where `skipped` events were not told.
void WriteLeftOut(std::FILE* out, size_t skipped) {
  if (skipped == 0) return;
  fmt::print(out, "  {:>10}  ... {} event{} left out ...\n", "", skipped,
             skipped == 1 ? "" : "s");
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
    WriteLeftOut(out, skipped);
    skipped = 0;
    // Event names come from the scenario.
    fmt::print(out, "  {:>10.3f}  {}\n", t.time / 1e6, Visible(sentence));
    ++lines;
  }
  WriteLeftOut(out, skipped);
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
