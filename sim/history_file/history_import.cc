#include "sim/history_file/history_import.h"

#include <fmt/format.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "base/escape.h"
#include "base/exit_status.h"
#include "base/input_file.h"
#include "sim/check/checker.h"
#include "sim/history/event_words.h"
#include "sim/result/run_check.h"

namespace ticketsim {
namespace {

using nlohmann::json;

// The longest line read whole. Only a controlled schedule's `schedule` line
// (the list of every step) is longer, and it is skipped, not parsed.
constexpr size_t kMaxHistoryLine = 1 << 16;
constexpr std::string_view kScheduleLine =
    R"({"type": "info", "f": "schedule")";
// The most buyers a history may name (as a scenario may have).
constexpr int64_t kMaxHistoryBuyers = kMaxBuyers;

// A malformed line: what is wrong with it.
struct Malformed {
  std::string why;
};

// Reads one line (without its newline) into `line`; a line longer than
// kMaxHistoryLine is cut there and *long_line set, the rest skipped.
bool ReadLine(std::FILE* in, std::string* line, bool* long_line) {
  line->clear();
  *long_line = false;
  for (;;) {
    // The stream is this reader's alone: no lock per character.
    const int c = getc_unlocked(in);
    if (c == EOF) return !line->empty() || *long_line;
    if (c == '\n') return true;
    if (line->size() == kMaxHistoryLine) {
      *long_line = true;
      continue;
    }
    line->push_back(static_cast<char>(c));
  }
}

// One buyer's events as they are rebuilt.
struct BuyerBuild {
  std::vector<Event> events;
  uint32_t attempt = 0;
  bool open = false;  // a buy invoked and not yet completed
  bool done = false;  // its last purchase has its outcome: the next begins
  // The open purchase's read (or take) is in `events` already: a note told
  // it.
  bool stepped = false;
  // A further event's read in its purchase told by a note (a bit per
  // event), not yet followed by its write or outcome.
  uint32_t further_read = 0;
  uint64_t invoke_ns = 0;
  // A program's lock asked for, per lock: when (for the wait's length).
  std::vector<int64_t> asked = std::vector<int64_t>(kMaxLocksChecked, -1);
};

// A trial being read, from its `start` line to its `final`: one function
// per kind of line, named as the writer's (history_export.cc) that wrote it.
class TrialBuild {
 public:
  TrialBuild(int64_t line, int64_t trial) {
    out_.start_line = line;
    out_.trial = trial;
  }

  // The `start` line's facts.
  std::optional<Malformed> Start(const json& doc) {
    Scenario& s = out_.run.scenario;
    std::optional<int64_t> initial, buyers;
    if (auto m = Int(doc, "value", &initial)) return m;
    if (auto m = Int(doc, "buyers", &buyers)) return m;
    if (!initial) return Malformed{"a start line with no \"value\" (tickets)"};
    if (!buyers || *buyers < 0 || *buyers > kMaxHistoryBuyers) {
      return Malformed{fmt::format(
          "a start line whose \"buyers\" is not a number from 0 to {}",
          kMaxHistoryBuyers)};
    }
    s.initial = *initial;
    if (auto name = Text(doc, "scenario")) s.name = *name;
    std::optional<int64_t> seed;
    if (auto m = Int(doc, "seed", &seed)) return m;
    s.buyers.seed = seed.value_or(0);
    s.buyers.count = *buyers;
    if (auto m = StartGuard(doc)) return m;
    if (auto m = StartEvents(doc)) return m;
    if (auto m = StartProgram(doc, static_cast<size_t>(*buyers))) return m;
    buyers_.resize(static_cast<size_t>(*buyers));
    counts_.resize(EventCount(s));
    return std::nullopt;
  }

  // The start line's guard, if it names one.
  std::optional<Malformed> StartGuard(const json& doc) {
    if (auto guard = Text(doc, "guard")) {
      const std::optional<GuardKind> kind = ValueOf(kGuardKinds, *guard);
      if (!kind) {
        return Malformed{fmt::format("unknown guard \"{}\" in the start line",
                                     Visible(*guard))};
      }
      out_.run.scenario.guard.kind = *kind;
      guard_ = *kind;
    }
    return std::nullopt;
  }

  // The start line's events, if there are several.
  std::optional<Malformed> StartEvents(const json& doc) {
    auto it = doc.find("events");
    if (it == doc.end()) return std::nullopt;
    if (!it->is_array() || it->size() > kMaxEvents) {
      return Malformed{fmt::format(
          "\"events\" is not a list of at most {} names", kMaxEvents)};
    }
    for (const json& name : *it) {
      if (!name.is_string()) return Malformed{"an event name not a string"};
      out_.run.scenario.events.push_back(name.get<std::string>());
    }
    return std::nullopt;
  }

  // Whether a program bought, and in which mode.
  std::optional<Malformed> StartProgram(const json& doc, size_t buyers) {
    auto it = doc.find("program");
    if (it == doc.end() || !it->is_boolean() || !it->get<bool>()) {
      return std::nullopt;
    }
    program_ = true;
    auto report = std::make_shared<ProgramReport>();
    report->lanes.resize(buyers);
    out_.run.program = std::move(report);
    if (auto mode = Text(doc, "mode")) {
      const std::optional<ProgramMode> m = ValueOf(kProgramModes, *mode);
      if (!m) {
        return Malformed{
            fmt::format("unknown program mode \"{}\"", Visible(*mode))};
      }
      out_.run.scenario.program.mode = *m;
    }
    return std::nullopt;
  }

  // A line of buyer `b` (process b), of operation `f`.
  std::optional<Malformed> Operation(const json& doc, size_t b,
                                     const std::string& type,
                                     const std::string& f, uint64_t t) {
    if (f == "buy") return Buy(doc, b, type, t);
    if (f == "read") return Query(doc, b, type, t);
    if (f == "lock" || f == "unlock") return Lock(doc, b, type, f, t);
    return Malformed{
        fmt::format("unknown f \"{}\" of buyer {}", Visible(f), b)};
  }

  // A query: its invoke, then ok (the count) or fail (a torn read).
  std::optional<Malformed> Query(const json& doc, size_t b,
                                 const std::string& type, uint64_t t) {
    BuyerBuild& buyer = buyers_[b];
    if (type == "invoke") {
      Abandon(b);
      if (!buyer.open) NewAttempt(&buyer);
      return std::nullopt;
    }
    if (type == "ok") {
      std::optional<int64_t> value;
      if (auto m = Int(doc, "value", &value)) return m;
      if (!value) return Malformed{"an ok of read with no \"value\""};
      Add(b, {.time_ns = t, .value = *value, .kind = EventKind::kQuery});
      return std::nullopt;
    }
    if (type == "fail") return Torn(doc, b, t, EventKind::kQuery, 0);
    return std::nullopt;
  }

  // A program's own lock asked for, held, given up or not got.
  std::optional<Malformed> Lock(const json& doc, size_t b,
                                const std::string& type, const std::string& f,
                                uint64_t t) {
    uint16_t lock = 0;
    if (auto m = LockOf(doc, &lock)) return m;
    BuyerBuild& buyer = buyers_[b];
    if (buyer.done) NewAttempt(&buyer);
    if (f == "unlock") {
      if (type == "ok") {
        Add(b, {.time_ns = t, .kind = EventKind::kRelease, .event = lock});
      }
    } else if (type == "invoke") {
      buyer.asked[lock] = static_cast<int64_t>(t);
      Add(b, {.time_ns = t, .kind = EventKind::kWaiting, .event = lock});
    } else if (type == "ok") {
      LockHeld(b, lock, t);
    } else if (type == "fail") {
      buyer.asked[lock] = -1;
      return AddFailure(doc, b, t, lock);
    }
    return std::nullopt;
  }

  // The lock named by a lock line, numbered in the order of first use.
  std::optional<Malformed> LockOf(const json& doc, uint16_t* lock) {
    const std::string name = Text(doc, "lock").value_or("");
    auto it = std::find(locks_.begin(), locks_.end(), name);
    if (it == locks_.end()) {
      if (locks_.size() == kMaxLocksChecked) {
        return Malformed{
            fmt::format("more than {} locks named", kMaxLocksChecked)};
      }
      it = locks_.insert(locks_.end(), name);
    }
    *lock = static_cast<uint16_t>(it - locks_.begin());
    return std::nullopt;
  }

  // A lock held: how long it was waited for, from when it was asked for.
  void LockHeld(size_t b, uint16_t lock, uint64_t t) {
    BuyerBuild& buyer = buyers_[b];
    const int64_t asked = buyer.asked[lock];
    buyer.asked[lock] = -1;
    const auto waited_us = static_cast<uint32_t>(
        asked < 0 ? 0
                  : std::min<int64_t>((static_cast<int64_t>(t) - asked) / 1000,
                                      UINT32_MAX));
    Add(b, {.time_ns = t,
            .kind = EventKind::kAcquired,
            .event = lock,
            .aux = waited_us});
  }

  // A failed purchase or wait of `event` (a program's lock): why, as its
  // line's "error" says (FailureOf).
  std::optional<Malformed> AddFailure(const json& doc, size_t b, uint64_t t,
                                      uint16_t event) {
    uint32_t failure = 0;
    uint8_t flags = 0;
    if (auto m = FailureOf(doc, &failure, &flags)) return m;
    Add(b, {.time_ns = t,
            .kind = EventKind::kFailed,
            .flags = flags,
            .event = event,
            .aux = failure});
    return std::nullopt;
  }

  // An injected fault (process "nemesis").
  std::optional<Malformed> Fault(const json& doc, const std::string& f,
                                 uint64_t t) {
    size_t b = 0;
    if (auto m = Buyer(doc, &b)) return m;
    uint32_t kind = 0;
    for (FaultKind k :
         {FaultKind::kKill, FaultKind::kPause, FaultKind::kCrash}) {
      if (FaultName(static_cast<uint32_t>(k)) == f) {
        kind = static_cast<uint32_t>(k);
      }
    }
    if (kind == 0) {
      return Malformed{fmt::format("unknown fault \"{}\"", Visible(f))};
    }
    std::optional<int64_t> value;
    if (auto m = Int(doc, "value", &value)) return m;
    Add(b, {.time_ns = t,
            .value = value.value_or(0),
            .kind = EventKind::kFault,
            .aux = kind});
    return std::nullopt;
  }

  // A line of ticketsim's own (a note), other than start and final: one
  // function per kind of note.
  std::optional<Malformed> Note(const json& doc, const std::string& f,
                                uint64_t t) {
    using Taker = std::optional<Malformed> (TrialBuild::*)(
        const json&, const std::string&, uint64_t);
    static constexpr std::pair<std::string_view, Taker> kNotes[] = {
        {"read", &TrialBuild::NoteRead},
        {"take", &TrialBuild::NoteRead},
        {"write", &TrialBuild::NoteWrite},
        {"sold-out", &TrialBuild::NoteOutcome},
        {"failed", &TrialBuild::NoteOutcome},
        {"truncate", &TrialBuild::NoteTruncate},
        {"retry", &TrialBuild::NoteRetry},
        {"backoff", &TrialBuild::NoteBackoff},
        {"abandoned-lock", &TrialBuild::NoteAbandonedLock},
        {"deadlock", &TrialBuild::NoteDeadlock},
        {"crash", &TrialBuild::NoteCrash},
        {"count", &TrialBuild::NoteCount},
    };
    for (const auto& [name, take] : kNotes) {
      if (f == name) return (this->*take)(doc, f, t);
    }
    // Notes that tell nothing the verdict needs (a controlled schedule's
    // steps) or that a later ticketsim writes.
    return std::nullopt;
  }

  // The read (or atomic take) inside a purchase invoked earlier, or a
  // further event's read.
  std::optional<Malformed> NoteRead(const json& doc, const std::string& f,
                                    uint64_t t) {
    size_t b = 0, event = 0;
    if (auto m = Buyer(doc, &b)) return m;
    if (doc.contains("event")) {
      if (auto m = EventOf(doc, "event", &event)) return m;
    }
    const auto e = static_cast<uint16_t>(event);
    if (e != 0) {
      buyers_[b].further_read |= 1u << e;
    } else {
      buyers_[b].stepped = true;
      if (f == "take") {
        Add(b, {.time_ns = t, .kind = EventKind::kInvoke});
        return std::nullopt;
      }
    }
    if (doc.contains("error")) return Torn(doc, b, t, EventKind::kRead, e);
    std::optional<int64_t> value;
    if (auto m = Int(doc, "value", &value)) return m;
    if (!value) return Malformed{"a read note with no \"value\""};
    Add(b,
        {.time_ns = t, .value = *value, .kind = EventKind::kRead, .event = e});
    return std::nullopt;
  }

  // With several events, a further event's write of the purchase.
  std::optional<Malformed> NoteWrite(const json& doc, const std::string&,
                                     uint64_t t) {
    size_t b = 0, event = 0;
    if (auto m = Buyer(doc, &b)) return m;
    if (auto m = EventOf(doc, "event", &event)) return m;
    std::optional<int64_t> value;
    if (auto m = Int(doc, "value", &value)) return m;
    if (!value) return Malformed{"a write note with no \"value\""};
    const auto e = static_cast<uint16_t>(event);
    BuyerBuild& buyer = buyers_[b];
    if ((buyer.further_read & (1u << e)) == 0) {
      Add(b, {.time_ns = buyer.invoke_ns,
              .value = *value + 1,
              .kind = EventKind::kRead,
              .event = e});
    }
    buyer.further_read &= ~(1u << e);
    Add(b,
        {.time_ns = t, .value = *value, .kind = EventKind::kWrite, .event = e});
    return std::nullopt;
  }

  // A further event's outcome in a purchase.
  std::optional<Malformed> NoteOutcome(const json& doc, const std::string& f,
                                       uint64_t t) {
    size_t b = 0, event = 0;
    if (auto m = Buyer(doc, &b)) return m;
    if (auto m = EventOf(doc, "event", &event)) return m;
    const auto e = static_cast<uint16_t>(event);
    buyers_[b].further_read &= ~(1u << e);
    if (f == "failed") return AddFailure(doc, b, t, e);
    std::optional<int64_t> value;
    if (auto m = Int(doc, "value", &value)) return m;
    Add(b, {.time_ns = t,
            .value = value.value_or(0),
            .kind = EventKind::kSoldOut,
            .event = e});
    return std::nullopt;
  }

  // The file store emptied the file; its write follows.
  std::optional<Malformed> NoteTruncate(const json& doc, const std::string&,
                                        uint64_t t) {
    size_t b = 0, event = 0;
    if (auto m = Buyer(doc, &b)) return m;
    if (doc.contains("event")) {
      if (auto m = EventOf(doc, "event", &event)) return m;
    }
    Add(b, {.time_ns = t,
            .kind = EventKind::kTruncated,
            .event = static_cast<uint16_t>(event)});
    return std::nullopt;
  }

  // A refused transaction, rolled back and run again.
  std::optional<Malformed> NoteRetry(const json& doc, const std::string&,
                                     uint64_t t) {
    size_t b = 0;
    if (auto m = Buyer(doc, &b)) return m;
    std::optional<int64_t> value;
    if (auto m = Int(doc, "value", &value)) return m;
    Add(b,
        {.time_ns = t, .value = value.value_or(1), .kind = EventKind::kRetry});
    return std::nullopt;
  }

  // A buyer gave back the locks it held and tried again.
  std::optional<Malformed> NoteBackoff(const json& doc, const std::string&,
                                       uint64_t t) {
    size_t b = 0, held = 0;
    if (auto m = Buyer(doc, &b)) return m;
    if (auto m = EventOf(doc, "held", &held)) return m;
    uint32_t gave_back = 0;
    if (auto it = doc.find("gave_back"); it != doc.end() && it->is_array()) {
      for (const json& name : *it) {
        size_t e = 0;
        if (name.is_string() && Index(name.get<std::string>(), &e)) {
          gave_back |= 1u << e;
        }
      }
    }
    Add(b, {.time_ns = t,
            .kind = EventKind::kBackoff,
            .event = static_cast<uint16_t>(held),
            .aux = gave_back});
    return std::nullopt;
  }

  // A lock a killed holder left.
  std::optional<Malformed> NoteAbandonedLock(const json& doc,
                                             const std::string&, uint64_t t) {
    AbandonedLock a;
    size_t b = 0;
    if (auto m = Buyer(doc, &b)) return m;
    if (auto m = EventOf(doc, "event", &a.event)) return m;
    if (auto m = Pid(doc, &a.pid)) return m;
    const std::string signal = Text(doc, "signal").value_or("");
    for (int n = 1; n < NSIG; ++n) {
      const char* abbrev = sigabbrev_np(n);
      if (abbrev != nullptr && signal == fmt::format("SIG{}", abbrev)) {
        a.signal = n;
      }
    }
    if (a.signal == 0) {
      return Malformed{fmt::format("unknown signal \"{}\"", Visible(signal))};
    }
    a.buyer = static_cast<uint32_t>(b);
    a.time_ns = t;
    out_.run.processes[b].pid = a.pid;
    out_.run.processes[b].signal = a.signal;
    out_.run.abandoned.push_back(a);
    return std::nullopt;
  }

  // A link of the deadlock's cycle.
  std::optional<Malformed> NoteDeadlock(const json& doc, const std::string&,
                                        uint64_t t) {
    DeadlockLink link;
    size_t b = 0;
    if (auto m = Buyer(doc, &b)) return m;
    if (auto m = Pid(doc, &link.pid)) return m;
    if (auto m = EventOf(doc, "holds", &link.holds)) return m;
    if (auto m = EventOf(doc, "waits-for", &link.waits_for)) return m;
    link.buyer = static_cast<uint32_t>(b);
    out_.run.processes[b].pid = link.pid;
    out_.run.deadlock.push_back(link);
    out_.run.deadlock_ns = t;
    return std::nullopt;
  }

  // A program's copy that crashed (a process's crash, with a pid, is
  // ProcessCrash's).
  std::optional<Malformed> NoteCrash(const json& doc, const std::string&,
                                     uint64_t) {
    if (doc.contains("pid")) return ProcessCrash(doc);
    size_t b = 0;
    if (auto m = Buyer(doc, &b)) return m;
    if (!program_) return Malformed{"a crash line in a run of no program"};
    ProgramLane& lane =
        std::const_pointer_cast<ProgramReport>(out_.run.program)->lanes[b];
    lane.crash = Text(doc, "error").value_or("crashed");
    lane.stderr_tail.clear();
    if (auto last = Text(doc, "stderr"); last && !last->empty()) {
      lane.stderr_tail.push_back(*last);
    }
    return std::nullopt;
  }

  // An event's final count.
  std::optional<Malformed> NoteCount(const json& doc, const std::string&,
                                     uint64_t) {
    size_t event = 0;
    if (auto m = EventOf(doc, "event", &event)) return m;
    std::optional<int64_t> value;
    if (auto m = Int(doc, "value", &value)) return m;
    counts_[event] = value;
    return std::nullopt;
  }

  // The `final` line: the trial is complete.
  std::optional<Malformed> Final(const json& doc) {
    std::optional<int64_t> value;
    if (auto m = Int(doc, "value", &value)) return m;
    counts_[0] = value;
    RunResult& run = out_.run;
    run.final_count = value;
    if (!value) run.final_error = "the history gives no final count";
    if (counts_.size() > 1) {
      for (const std::optional<int64_t>& count : counts_) {
        run.final_counts.push_back(count);
        run.final_errors.push_back(count ? "" : "the history gives none");
      }
    }
    size_t most = 1;
    for (const BuyerBuild& buyer : buyers_) {
      most = std::max(most, buyer.events.size());
    }
    run.history = std::make_unique<HistoryArena>();
    if (Status s = run.history->Map(buyers_.size(), most); !s.ok()) {
      return Malformed{"no memory for its events: " + s.message()};
    }
    for (size_t b = 0; b < buyers_.size(); ++b) {
      EventWriter writer = run.history->WriterFor(static_cast<uint32_t>(b));
      for (const Event& e : buyers_[b].events) writer.Record(e);
      buyers_[b].events = {};
    }
    return std::nullopt;
  }

  // Makes room for the buyers' processes (pids come from the notes).
  void Prepare() {
    out_.run.processes.resize(buyers_.size());
    for (size_t b = 0; b < buyers_.size(); ++b) {
      out_.run.served_by.push_back(static_cast<int32_t>(b));
    }
  }

  size_t buyers() const { return buyers_.size(); }
  ImportedTrial& result() { return out_; }

 private:
  static std::optional<std::string> Text(const json& doc, const char* key) {
    auto it = doc.find(key);
    if (it == doc.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  }

  // A whole number at `key`, if there and not null.
  static std::optional<Malformed> Int(const json& doc, const char* key,
                                      std::optional<int64_t>* out) {
    auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) return std::nullopt;
    if (it->is_number_integer() &&
        !(it->is_number_unsigned() && it->get<uint64_t>() > INT64_MAX)) {
      *out = it->get<int64_t>();
      return std::nullopt;
    }
    return Malformed{
        fmt::format("\"{}\" is {}, not a whole number", key, it->dump())};
  }

  // A crash of a process the program started itself: its pid, and the
  // lane it descends from if the line names one.
  std::optional<Malformed> ProcessCrash(const json& doc) {
    if (!program_) return Malformed{"a crash line in a run of no program"};
    ProgramProcessEnd p;
    if (auto m = Pid(doc, &p.pid)) return m;
    if (doc.contains("buyer")) {
      size_t b = 0;
      if (auto m = Buyer(doc, &b)) return m;
      p.lane = static_cast<int32_t>(b);
    }
    p.crash = Text(doc, "error").value_or("crashed");
    auto report = std::const_pointer_cast<ProgramReport>(out_.run.program);
    if (p.lane >= 0 && report->lanes[p.lane].stderr_tail.empty()) {
      if (auto last = Text(doc, "stderr"); last && !last->empty()) {
        report->lanes[p.lane].stderr_tail.push_back(*last);
      }
    }
    report->failed_processes.push_back(std::move(p));
    return std::nullopt;
  }

  std::optional<Malformed> Buyer(const json& doc, size_t* b) const {
    std::optional<int64_t> buyer;
    if (auto m = Int(doc, "buyer", &buyer)) return m;
    if (!buyer || *buyer < 0 ||
        *buyer >= static_cast<int64_t>(buyers_.size())) {
      return Malformed{
          fmt::format("\"buyer\" is not a buyer of the {} the "
                      "start line names",
                      buyers_.size())};
    }
    *b = static_cast<size_t>(*buyer);
    return std::nullopt;
  }

  static std::optional<Malformed> Pid(const json& doc, pid_t* pid) {
    std::optional<int64_t> value;
    if (auto m = Int(doc, "pid", &value)) return m;
    *pid = static_cast<pid_t>(value.value_or(0));
    return std::nullopt;
  }

  bool Index(const std::string& name, size_t* event) const {
    const Scenario& s = out_.run.scenario;
    for (size_t e = 0; e < EventCount(s); ++e) {
      if (EventName(s, e) == name) {
        *event = e;
        return true;
      }
    }
    return false;
  }

  // The event named at `key`.
  std::optional<Malformed> EventOf(const json& doc, const char* key,
                                   size_t* event) const {
    const std::optional<std::string> name = Text(doc, key);
    if (!name || !Index(*name, event)) {
      return Malformed{
          fmt::format("\"{}\" names no event of the start line", key)};
    }
    return std::nullopt;
  }

  // The Failure of a failed purchase or wait, and its flags: kStarved for a
  // timeout the run judged starvation ("starvation": true).
  static std::optional<Malformed> FailureOf(const json& doc, uint32_t* failure,
                                            uint8_t* flags) {
    const auto starved = doc.find("starvation");
    *flags =
        starved != doc.end() && starved->is_boolean() && starved->get<bool>()
            ? kStarved
            : 0;
    const std::string error = Text(doc, "error").value_or("");
    for (Failure f :
         {Failure::kGuardTimeout, Failure::kGuardError, Failure::kStoreBusy,
          Failure::kStoreError, Failure::kDeclined, Failure::kSerialization,
          Failure::kOutcomeUnknown}) {
      if (FailureName(static_cast<uint32_t>(f)) == error) {
        *failure = static_cast<uint32_t>(f);
        return std::nullopt;
      }
    }
    return Malformed{fmt::format("unknown error \"{}\"", Visible(error))};
  }

  // An unguarded purchase of ticketsim's own buyers left open (a further
  // event's read failed) when `b` begins its next query or purchase: it
  // read when invoked, and that read stays open.
  void Abandon(size_t b) {
    BuyerBuild& buyer = buyers_[b];
    if (program_ || !buyer.open || buyer.stepped ||
        guard_ != GuardKind::kNone) {
      return;
    }
    Add(b, {.time_ns = buyer.invoke_ns, .kind = EventKind::kInvoke});
    buyer.open = false;
    buyer.done = true;
  }

  void NewAttempt(BuyerBuild* buyer) {
    if (!buyer->events.empty()) ++buyer->attempt;
    buyer->done = false;
  }

  // Appends `e` to buyer `b`'s events, in its current attempt.
  void Add(size_t b, Event e) {
    BuyerBuild& buyer = buyers_[b];
    e.buyer = static_cast<uint32_t>(b);
    e.attempt = buyer.attempt;
    buyer.events.push_back(e);
  }

  // A read that found no count: `bytes` it saw (null: none at all).
  std::optional<Malformed> Torn(const json& doc, size_t b, uint64_t t,
                                EventKind kind, uint16_t event) {
    std::optional<int64_t> bytes;
    if (auto m = Int(doc, "bytes", &bytes)) return m;
    const uint32_t aux = bytes ? static_cast<uint32_t>(std::clamp<int64_t>(
                                     *bytes, 0, kUnreadable - 1))
                               : kUnreadable;
    Add(b, {.time_ns = t,
            .kind = kind,
            .flags = kTorn,
            .event = event,
            .aux = aux});
    return std::nullopt;
  }

  // A buy line of buyer `b`: its invoke, or its outcome, one function per
  // type of outcome.
  std::optional<Malformed> Buy(const json& doc, size_t b,
                               const std::string& type, uint64_t t) {
    if (type == "invoke") {
      BuyInvoke(b, t);
      return std::nullopt;
    }
    BuyOutcome o;
    if (auto m = OutcomeOf(doc, b, t, &o)) return m;
    using Taker = std::optional<Malformed> (TrialBuild::*)(const json&,
                                                           const BuyOutcome&);
    static constexpr std::pair<std::string_view, Taker> kOutcomes[] = {
        {"info", &TrialBuild::BuyInfo},
        {"ok", &TrialBuild::BuyOk},
        {"fail", &TrialBuild::BuyFail},
    };
    for (const auto& [name, take] : kOutcomes) {
      if (type != name) continue;
      if (auto m = (this->*take)(doc, o)) return m;
      BuyerBuild& buyer = buyers_[b];
      buyer.open = false;
      buyer.stepped = false;
      buyer.done = true;
      return std::nullopt;
    }
    return Malformed{fmt::format("unknown type \"{}\"", Visible(type))};
  }

  void BuyInvoke(size_t b, uint64_t t) {
    BuyerBuild& buyer = buyers_[b];
    Abandon(b);
    // A program's purchase begun while one is open: a new one.
    if (buyer.done || (program_ && buyer.open)) NewAttempt(&buyer);
    buyer.open = true;
    buyer.stepped = false;
    buyer.invoke_ns = t;
    if (program_) Add(b, {.time_ns = t, .kind = EventKind::kInvoke});
  }

  // What a buy's outcome line says, with what its buyer's earlier lines
  // told of the purchase.
  struct BuyOutcome {
    size_t b = 0;
    uint64_t t = 0;
    uint64_t began = 0;  // when the purchase was invoked
    // Its read (or take) is in the events already (a note told it, or a
    // program's own events did).
    bool stepped = false;
    bool read_at_invoke = false;  // it read (or took) when invoked
    std::optional<int64_t> value, read, wrote;
  };

  std::optional<Malformed> OutcomeOf(const json& doc, size_t b, uint64_t t,
                                     BuyOutcome* o) {
    BuyerBuild& buyer = buyers_[b];
    // ticketsim's own buyers: the invoke tells when the purchase began; the
    // outcome tells how, which the events say in two steps.
    if (!buyer.open) {
      buyer.invoke_ns = t;
      buyer.stepped = false;
    }
    o->b = b;
    o->t = t;
    o->began = buyer.invoke_ns;
    // Without a note, an unguarded purchase read (or took) when it was
    // invoked; a guarded one was invoked waiting for its guard and, telling
    // no read, never read.
    o->stepped = buyer.stepped || program_;
    o->read_at_invoke = !o->stepped && guard_ == GuardKind::kNone;
    if (auto m = Int(doc, "value", &o->value)) return m;
    if (auto m = Int(doc, "read", &o->read)) return m;
    return Int(doc, "wrote", &o->wrote);
  }

  // Indeterminate: it stays open (a program's already is). Its events left
  // it open, before the fault that killed it if one did (the checker looks
  // for that fault last).
  std::optional<Malformed> BuyInfo(const json&, const BuyOutcome& o) {
    if (!o.read_at_invoke) return std::nullopt;
    BuyerBuild& buyer = buyers_[o.b];
    auto at = buyer.events.end();
    while (at != buyer.events.begin() &&
           std::prev(at)->kind == EventKind::kFault) {
      --at;
    }
    for (size_t e = 0; e < counts_.size(); ++e) {
      at = buyer.events.insert(
          at, {o.began, 0, static_cast<uint32_t>(o.b), buyer.attempt,
               EventKind::kInvoke, 0, static_cast<uint16_t>(e), 0});
      ++at;
    }
    return std::nullopt;
  }

  // A confirmed purchase: a write (what it read and wrote) or a take.
  std::optional<Malformed> BuyOk(const json& doc, const BuyOutcome& o) {
    if (o.wrote) {
      if (!o.stepped) {
        Add(o.b, {.time_ns = o.began,
                  .value = o.read.value_or(*o.wrote + 1),
                  .kind = EventKind::kRead});
      }
      Add(o.b, {.time_ns = o.t, .value = *o.wrote, .kind = EventKind::kWrite});
      return std::nullopt;
    }
    if (!o.stepped) Add(o.b, {.time_ns = o.began, .kind = EventKind::kInvoke});
    const auto printed = doc.find("printed");
    const bool was_printed =
        printed != doc.end() && printed->is_boolean() && printed->get<bool>();
    Add(o.b, {.time_ns = o.t,
              .value = o.value.value_or(0),
              .kind = EventKind::kTook,
              .flags = static_cast<uint8_t>((o.value ? 0 : kNoSeat) |
                                            (was_printed ? kPrinted : 0))});
    return std::nullopt;
  }

  // A purchase that did not happen: sold out, a torn read, or a failure.
  std::optional<Malformed> BuyFail(const json& doc, const BuyOutcome& o) {
    const std::string error = Text(doc, "error").value_or("");
    if (error == "sold out") {
      if (!o.stepped) {
        Add(o.b, {.time_ns = o.began,
                  .value = o.read.value_or(0),
                  .kind = EventKind::kRead});
      }
      Add(o.b, {.time_ns = o.t,
                .value = o.read.value_or(0),
                .kind = EventKind::kSoldOut});
      return std::nullopt;
    }
    if (error == "torn read") return Torn(doc, o.b, o.t, EventKind::kRead, 0);
    return AddFailure(doc, o.b, o.t, 0);
  }

  ImportedTrial out_;
  bool program_ = false;
  // The guard; a history that does not name it is taken as unguarded.
  GuardKind guard_ = GuardKind::kNone;
  std::vector<BuyerBuild> buyers_;
  std::vector<std::optional<int64_t>> counts_;  // per event, at the end
  std::vector<std::string> locks_;              // a program's, by first use
};

// The fields every line has.
struct LineHead {
  std::string type;
  std::string f;
  uint64_t time = 0;
  const json* process = nullptr;
};

std::optional<Malformed> HeadOf(const json& doc, LineHead* head) {
  const auto word = [&doc](const char* key) -> std::optional<std::string> {
    auto it = doc.find(key);
    if (it == doc.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  const std::optional<std::string> type = word("type");
  const std::optional<std::string> f = word("f");
  if (!type) return Malformed{"no \"type\" (invoke, ok, fail or info)"};
  if (!f) return Malformed{"no \"f\""};
  auto time = doc.find("time");
  if (time == doc.end() || !time->is_number_unsigned()) {
    return Malformed{"no \"time\" (nanoseconds from 0)"};
  }
  auto process = doc.find("process");
  if (process == doc.end()) return Malformed{"no \"process\""};
  *head = {*type, *f, time->get<uint64_t>(), &*process};
  return std::nullopt;
}

// A start line, on line `number`: a new trial begins.
std::optional<Malformed> StartTrial(const json& doc, int64_t number,
                                    std::unique_ptr<TrialBuild>* trial) {
  if (*trial != nullptr) {
    return Malformed{fmt::format(
        "a start line, but the trial begun on line {} has no final line",
        (*trial)->result().start_line)};
  }
  std::optional<int64_t> number_of_trial;
  if (auto it = doc.find("trial"); it != doc.end() && it->is_number_integer()) {
    number_of_trial = it->get<int64_t>();
  }
  *trial = std::make_unique<TrialBuild>(number, number_of_trial.value_or(1));
  if (auto m = (*trial)->Start(doc)) return m;
  (*trial)->Prepare();
  return std::nullopt;
}

// A line inside a trial, by whose it is: a buyer's operation, an injected
// fault, or a note of ticketsim's own (the final line among them).
std::optional<Malformed> TrialLine(const json& doc, const LineHead& head,
                                   TrialBuild* build, bool* final) {
  const json& process = *head.process;
  if (process.is_number_integer()) {
    const auto b = process.get<int64_t>();
    if (b < 0 || b >= static_cast<int64_t>(build->buyers())) {
      return Malformed{fmt::format(
          "process {} is not a buyer of the {} the start line names", b,
          build->buyers())};
    }
    return build->Operation(doc, static_cast<size_t>(b), head.type, head.f,
                            head.time);
  }
  if (!process.is_string()) {
    return Malformed{"\"process\" is neither a buyer nor a name"};
  }
  const std::string who = process.get<std::string>();
  if (who == "nemesis") return build->Fault(doc, head.f, head.time);
  if (who != "ticketsim") {
    return Malformed{fmt::format("unknown process \"{}\"", Visible(who))};
  }
  if (head.f == "final") {
    *final = true;
    return build->Final(doc);
  }
  return build->Note(doc, head.f, head.time);
}

// Reads one line into the trial under way (or starts one).
std::optional<Malformed> ReadLineInto(const std::string& text, int64_t number,
                                      std::unique_ptr<TrialBuild>* trial,
                                      bool* final) {
  *final = false;
  if (text.find_first_not_of(" \t\r") == std::string::npos) {
    return std::nullopt;
  }
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Malformed{"not JSON"};
  if (!doc.is_object()) return Malformed{"not a JSON object"};
  LineHead head;
  if (auto m = HeadOf(doc, &head)) return m;
  if (head.process->is_string() &&
      head.process->get<std::string>() == "ticketsim" && head.f == "start") {
    return StartTrial(doc, number, trial);
  }
  if (*trial == nullptr) {
    // A controlled schedule's line follows its trial's final line.
    if (head.f == "schedule") return std::nullopt;
    return Malformed{"a line outside a trial (before its start line)"};
  }
  return TrialLine(doc, head, trial->get(), final);
}

// Closes the file it holds.
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// Opens the history file `path` into *in: a regular file only (a FIFO or a
// device, /dev/zero, would never end). Invalid, saying why, otherwise.
Status OpenHistory(const std::string& path,
                   std::unique_ptr<std::FILE, FileCloser>* in) {
  int err = 0;
  mode_t mode = 0;
  Fd fd = OpenRegularFile(path, &err, &mode);
  if (fd.get() < 0 && err == 0) {
    return Status::Invalid(fmt::format(
        "it is {}, not a history (a regular file `run --history` wrote)",
        FileKindOf(mode)));
  }
  if (fd.get() >= 0) {
    in->reset(fdopen(fd.get(), "rb"));
    if (*in != nullptr) fd.release();
    err = errno;
  }
  if (*in == nullptr) {
    return Status::Invalid(
        fmt::format("cannot open it: {}", std::strerror(err)));
  }
  return Status::Ok();
}

// Whether a history read to its end, `lines` lines of `trials` trials and
// with `open` the trial under way, was whole.
Status WholeHistory(const std::string& name, int64_t lines, int64_t trials,
                    TrialBuild* open) {
  if (open != nullptr) {
    return Status::Invalid(fmt::format(
        "{}:{}: the file ends inside the trial begun on line {}, with no "
        "final line (a history cut short?)",
        name, lines, open->result().start_line));
  }
  if (trials == 0) {
    return Status::Invalid(fmt::format(
        "{}:{}: no trial in it (no start and final lines): not a history", name,
        std::max<int64_t>(lines, 1)));
  }
  return Status::Ok();
}

}  // namespace

Status ReadHistory(const std::string& path,
                   const std::function<Status(ImportedTrial&)>& on_trial) {
  const std::string name = Visible(path);
  if (path == "-") {
    return Status::Invalid(
        fmt::format("{}: cannot open it: give a file, not stdin", name));
  }
  std::unique_ptr<std::FILE, FileCloser> in;
  if (Status s = OpenHistory(path, &in); !s.ok()) {
    return Status::Invalid(fmt::format("{}: {}", name, s.message()));
  }
  std::unique_ptr<TrialBuild> trial;
  std::string line;
  int64_t number = 0;
  int64_t trials = 0;
  bool long_line = false;
  while (ReadLine(in.get(), &line, &long_line)) {
    ++number;
    if (long_line) {
      if (line.starts_with(kScheduleLine)) continue;
      return Status::Invalid(
          fmt::format("{}:{}: a line of more than {} bytes is no history's",
                      name, number, kMaxHistoryLine));
    }
    bool final = false;
    if (auto m = ReadLineInto(line, number, &trial, &final)) {
      return Status::Invalid(fmt::format("{}:{}: {}: {}", name, number, m->why,
                                         VisibleCut(line, 120)));
    }
    if (final) {
      ++trials;
      if (Status s = on_trial(trial->result()); !s.ok()) return s;
      trial.reset();
    }
  }
  if (std::ferror(in.get())) {
    return Status::Invalid(fmt::format("{}:{}: cannot read it: {}", name,
                                       number + 1, std::strerror(errno)));
  }
  return WholeHistory(name, number, trials, trial.get());
}

int CheckHistory(const std::string& path, std::FILE* out, std::FILE* err) {
  bool violated = false;
  const Status s = ReadHistory(path, [&](ImportedTrial& t) {
    const Verdict verdict = CheckRun(t.run);
    fmt::print(out, "{}, trial {}\n", Visible(t.run.scenario.name), t.trial);
    fmt::print(out, "  purchases: {} confirmed, {} indeterminate\n",
               verdict.confirmed, verdict.indeterminate);
    const auto list = [out](const std::vector<Violation>& kinds) {
      for (const Violation& v : kinds) {
        fmt::print(out, "  {} x{}: {}\n", ViolationName(v.kind), v.count,
                   Visible(v.summary));
        for (const Witness& w : v.witnesses) {
          fmt::print(out, "    - {}\n", Visible(w.text));
        }
        if (v.unwitnessed > 0) {
          fmt::print(out, "    - and {} more\n", v.unwitnessed);
        }
      }
    };
    if (verdict.ok()) {
      fmt::print(out, "  verdict: ok\n");
    } else {
      violated = true;
      fmt::print(out, "  VIOLATED: {}\n", ListViolations(verdict.Counts()));
      list(verdict.violations);
    }
    if (!verdict.findings.empty()) {
      fmt::print(out, "  found (not violations): {}\n",
                 ListViolations(verdict.FindingCounts()));
      list(verdict.findings);
    }
    return Status::Ok();
  });
  std::fflush(out);
  if (!s.ok()) {
    fmt::print(err, "ticketsim check: {}\n", s.message());
    return kExitUsage;
  }
  return violated ? kExitViolations : kExitOk;
}

}  // namespace ticketsim
