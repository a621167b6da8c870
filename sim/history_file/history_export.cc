#include "sim/history_file/history_export.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <queue>

#include "sim/check/checker.h"
#include "sim/check/starvation.h"
#include "sim/history/event_words.h"
#include "sim/report/report_json.h"
#include "sim/result/run_check.h"
#include "sim/scenario/scenario_settings.h"

namespace ticketsim {
namespace {

// Where one buyer's stream stands in the merge.
struct Cursor {
  std::span<const Event> events;
  size_t next = 0;
  bool invoked = false;  // the current attempt's buy has been invoked
  uint32_t attempt = UINT32_MAX;
  int64_t read_value = 0;
  // The event being written is a timeout the run judged starvation: its
  // line says so, for a reader has not the holds to judge it again.
  bool starved = false;
};

// What a failed line adds when its timeout starved.
std::string_view StarvedField(bool starved) {
  return starved ? R"(, "starvation": true)" : "";
}

// When the line for `e` belongs: a buy invoked by waiting for the guard
// began when the wait did.
uint64_t LineTime(const Event& e) {
  if (e.kind == EventKind::kAcquired) {
    const uint64_t waited = uint64_t{e.aux} * 1000;
    return e.time_ns > waited ? e.time_ns - waited : 0;
  }
  return e.time_ns;
}

class LineWriter {
 public:
  LineWriter(std::FILE* out, int64_t trial) : out_(out), trial_(trial) {}
  ~LineWriter() { Flush(); }

  template <typename... Args>
  void Line(fmt::format_string<Args...> format, Args&&... args) {
    fmt::format_to(std::back_inserter(buffer_), format,
                   std::forward<Args>(args)...);
    if (step_ >= 0) {
      fmt::format_to(std::back_inserter(buffer_), ", \"step\": {}", step_);
    }
    fmt::format_to(std::back_inserter(buffer_), ", \"trial\": {}}}\n", trial_);
    if (buffer_.size() > (1 << 16)) Flush();
  }
  void Flush() {
    if (buffer_.size() > 0) {
      if (std::fwrite(buffer_.data(), 1, buffer_.size(), out_) !=
          buffer_.size()) {
        if (error_ == 0) error_ = errno != 0 ? errno : EIO;
      }
      buffer_.clear();
    }
  }
  // The errno of the first failed write, or 0.
  int error() const { return error_; }
  // The controlled schedule's step the next lines belong to; -1: none.
  void set_step(int64_t step) { step_ = step; }

 private:
  std::FILE* out_;
  const int64_t trial_;
  int64_t step_ = -1;
  fmt::memory_buffer buffer_;
  int error_ = 0;
};

// The bytes a torn read saw, or null when a program found no count.
std::string TornBytes(const Event& e) {
  return e.aux == kUnreadable ? "null" : std::to_string(e.aux);
}

// The lines of the buyers' events, one function per kind of line. The
// reader (history_import.cc) has one function per kind of line too, of the
// same name, that turns it back into the events.
class EventLines {
 public:
  // `events`: the events' names, as JSON strings; `locks`: a program's
  // locks' names, as JSON strings (empty for ticketsim's own buyers).
  EventLines(LineWriter* w, const std::vector<std::string>& events,
             bool program, const std::vector<std::string>& locks)
      : w_(w), events_(events), program_(program), locks_(locks) {}

  // Writes what event `e` of `c`'s buyer says.
  void Emit(const Event& e, Cursor* c) {
    if (e.attempt != c->attempt) {
      c->attempt = e.attempt;
      c->invoked = false;
    }
    if (program_ && ProgramEvent(e, c->starved)) return;
    if (Note(e)) return;
    if (e.event != 0) return FurtherEvent(e, *c);
    PurchaseStep(e, c);
  }

  // A buy invoked whose buyer recorded no outcome: it died midway.
  void BuyInfo(uint32_t b, uint64_t t) {
    w_->Line(
        R"({{"type": "info", "f": "buy", "process": {}, "time": {}, "error": "indeterminate: the buyer died")",
        b, t);
  }

 private:
  // What a program's events say beyond the purchases: its locks, and the
  // reads inside a purchase (a note, so that the purchase stays open).
  // Returns false for the events a purchase's lines tell.
  bool ProgramEvent(const Event& e, bool starved) {
    switch (e.kind) {
      case EventKind::kWaiting:
        Lock(e, "invoke", "lock");
        return true;
      case EventKind::kAcquired:
        Lock(e, "ok", "lock");
        return true;
      case EventKind::kRelease:
        Lock(e, "ok", "unlock");
        return true;
      case EventKind::kFailed:
        if (static_cast<Failure>(e.aux) == Failure::kDeclined) return false;
        LockFail(e, starved);
        return true;
      case EventKind::kRead:
        NoteRead(e, "");
        return true;
      default:
        return false;
    }
  }

  // The lines of events told beside a purchase, not as a step of it: an
  // injected fault, a back-off, a transaction run again, a file emptied.
  // False if `e` is none of them.
  bool Note(const Event& e) {
    switch (e.kind) {
      case EventKind::kFault:
        Fault(e);
        return true;
      case EventKind::kBackoff:
        NoteBackoff(e);
        return true;
      case EventKind::kRetry:
        NoteRetry(e);
        return true;
      case EventKind::kTruncated:
        NoteTruncate(e);
        return true;
      default:
        return false;
    }
  }

  // A further event's part of a purchase: the first event's lines are the
  // purchase; this one's read, write or outcome is told beside it.
  void FurtherEvent(const Event& e, const Cursor& c) {
    switch (e.kind) {
      case EventKind::kWrite:
        return NoteWrite(e);
      case EventKind::kRead:
        return NoteRead(e, EventField(e));
      case EventKind::kSoldOut:
      case EventKind::kFailed:
        return NoteOutcome(e, c.starved);
      default:
        return;
    }
  }

  // A step of a purchase (or a query) of the first event.
  void PurchaseStep(const Event& e, Cursor* c) {
    switch (e.kind) {
      case EventKind::kQuery:
        return Query(e);
      case EventKind::kAcquired:
        BuyInvoke(e.buyer, LineTime(e));
        c->invoked = true;
        return;
      case EventKind::kRead:
      case EventKind::kInvoke:
        return BuyStart(e, c);
      case EventKind::kWrite:
      case EventKind::kTook:
        BuyOk(e, *c);
        c->invoked = false;
        return;
      case EventKind::kFailed:
        if (!c->invoked) BuyInvoke(e.buyer, LineTime(e));
        [[fallthrough]];
      case EventKind::kSoldOut:
        BuyFail(e, c->starved);
        c->invoked = false;
        return;
      case EventKind::kRelease:
      case EventKind::kEmpty:
      case EventKind::kFault:
      case EventKind::kBackoff:
      case EventKind::kWaiting:
      case EventKind::kTruncated:
      case EventKind::kRetry:
        return;
    }
  }

  // A query: the read of the count before a purchase, its own operation.
  void Query(const Event& e) {
    const uint64_t t = LineTime(e);
    const uint32_t b = e.buyer;
    w_->Line(R"({{"type": "invoke", "f": "read", "process": {}, "time": {})", b,
             t);
    if (e.flags & kTorn) {
      w_->Line(
          R"({{"type": "fail", "f": "read", "process": {}, "time": {}, "error": "torn read", "bytes": {})",
          b, t, TornBytes(e));
    } else {
      w_->Line(
          R"({{"type": "ok", "f": "read", "process": {}, "time": {}, "value": {})",
          b, t, e.value);
    }
  }

  void BuyInvoke(uint32_t b, uint64_t t) {
    w_->Line(R"({{"type": "invoke", "f": "buy", "process": {}, "time": {})", b,
             t);
  }

  // A purchase's read, or its start without a read: its invoke line, or a
  // note if it was invoked when it began to wait; a torn read fails it.
  void BuyStart(const Event& e, Cursor* c) {
    if (!c->invoked) {
      BuyInvoke(e.buyer, LineTime(e));
    } else if (!program_ && !(e.flags & kTorn)) {
      // Invoked when it began to wait for the guard: when it then read
      // (or took) is a note, where a witness finds it.
      if (e.kind == EventKind::kRead) {
        NoteRead(e, "");
      } else {
        NoteTake(e);
      }
    }
    c->invoked = true;
    c->read_value = e.value;
    if (e.kind == EventKind::kRead && (e.flags & kTorn)) {
      BuyFail(e, c->starved);
      c->invoked = false;
    }
  }

  // A confirmed purchase: a write (what it read and wrote) or a take.
  void BuyOk(const Event& e, const Cursor& c) {
    const uint64_t t = LineTime(e);
    const uint32_t b = e.buyer;
    if (e.kind == EventKind::kWrite) {
      w_->Line(
          R"({{"type": "ok", "f": "buy", "process": {}, "time": {}, "value": {}, "read": {}, "wrote": {})",
          b, t, e.value + 1, c.read_value, e.value);
      return;
    }
    w_->Line(
        R"({{"type": "ok", "f": "buy", "process": {}, "time": {}, "value": {}{})",
        b, t, (e.flags & kNoSeat) ? "null" : std::to_string(e.value),
        (e.flags & kPrinted) ? R"(, "printed": true)" : "");
  }

  // A purchase that did not happen: sold out, a torn read, or a failure.
  void BuyFail(const Event& e, bool starved) {
    const uint64_t t = LineTime(e);
    const uint32_t b = e.buyer;
    if (e.kind == EventKind::kSoldOut) {
      w_->Line(
          R"({{"type": "fail", "f": "buy", "process": {}, "time": {}, "error": "sold out", "read": {})",
          b, t, e.value);
    } else if (e.kind == EventKind::kRead) {
      w_->Line(
          R"({{"type": "fail", "f": "buy", "process": {}, "time": {}, "error": "torn read", "bytes": {})",
          b, t, TornBytes(e));
    } else {
      w_->Line(
          R"({{"type": "fail", "f": "buy", "process": {}, "time": {}, "error": "{}"{})",
          b, t, FailureName(e.aux), StarvedField(starved));
    }
  }

  // A program's own lock asked for, held or given up (`type` `f`).
  void Lock(const Event& e, std::string_view type, std::string_view f) {
    w_->Line(
        R"({{"type": "{}", "f": "{}", "process": {}, "time": {}, "lock": {})",
        type, f, e.buyer, e.time_ns, LockName(e));
  }

  // A program's own lock not got.
  void LockFail(const Event& e, bool starved) {
    w_->Line(
        R"({{"type": "fail", "f": "lock", "process": {}, "time": {}, "lock": {}, "error": "{}"{})",
        e.buyer, e.time_ns, LockName(e), FailureName(e.aux),
        StarvedField(starved));
  }

  // The read inside a purchase invoked earlier, or a further event's
  // (`event`: its EventField).
  void NoteRead(const Event& e, std::string_view event) {
    const uint64_t t = LineTime(e);
    if (e.flags & kTorn) {
      w_->Line(
          R"({{"type": "info", "f": "read", {}"process": "ticketsim", "buyer": {}, "time": {}, "error": "torn read", "bytes": {})",
          event, e.buyer, t, TornBytes(e));
    } else {
      w_->Line(
          R"({{"type": "info", "f": "read", {}"process": "ticketsim", "buyer": {}, "time": {}, "value": {})",
          event, e.buyer, t, e.value);
    }
  }

  // The atomic take inside a purchase invoked earlier.
  void NoteTake(const Event& e) {
    w_->Line(
        R"({{"type": "info", "f": "take", "process": "ticketsim", "buyer": {}, "time": {})",
        e.buyer, LineTime(e));
  }

  // A further event's write.
  void NoteWrite(const Event& e) {
    w_->Line(
        R"({{"type": "info", "f": "write", "event": {}, "process": "ticketsim", "buyer": {}, "time": {}, "value": {})",
        events_[e.event], e.buyer, LineTime(e), e.value);
  }

  // A further event's outcome: sold out, or failed.
  void NoteOutcome(const Event& e, bool starved) {
    const uint64_t t = LineTime(e);
    const std::string_view name = events_[e.event];
    if (e.kind == EventKind::kSoldOut) {
      w_->Line(
          R"({{"type": "info", "f": "sold-out", "event": {}, "process": "ticketsim", "buyer": {}, "time": {}, "value": {})",
          name, e.buyer, t, e.value);
    } else {
      w_->Line(
          R"({{"type": "info", "f": "failed", "event": {}, "process": "ticketsim", "buyer": {}, "time": {}, "error": "{}"{})",
          name, e.buyer, t, FailureName(e.aux), StarvedField(starved));
    }
  }

  // An injected fault.
  void Fault(const Event& e) {
    w_->Line(
        R"({{"type": "info", "f": "{}", "process": "nemesis", "buyer": {}, "time": {}, "value": {})",
        FaultName(e.aux), e.buyer, LineTime(e), e.value);
  }

  // The guards given back when another's was held.
  void NoteBackoff(const Event& e) {
    std::vector<std::string_view> gave_back;
    for (size_t event = 0; event < events_.size(); ++event) {
      if (e.aux & (1u << event)) gave_back.push_back(events_[event]);
    }
    w_->Line(
        R"({{"type": "info", "f": "backoff", "process": "ticketsim", "buyer": {}, "time": {}, "held": {}, "gave_back": [{}])",
        e.buyer, LineTime(e), events_[e.event], fmt::join(gave_back, ", "));
  }

  // A refused transaction: the purchase stays invoked, it runs again.
  void NoteRetry(const Event& e) {
    w_->Line(
        R"({{"type": "info", "f": "retry", "process": "ticketsim", "buyer": {}, "time": {}, "value": {}, "error": "serialization failure")",
        e.buyer, LineTime(e), e.value);
  }

  // Where a torn read's witness finds the writer that emptied the file.
  void NoteTruncate(const Event& e) {
    w_->Line(
        R"({{"type": "info", "f": "truncate", "process": "ticketsim", "buyer": {}, "time": {}{})",
        e.buyer, LineTime(e),
        e.event == 0 ? "" : fmt::format(", \"event\": {}", events_[e.event]));
  }

  // `"event": NAME, ` for a further event's line; nothing for the first's.
  std::string EventField(const Event& e) const {
    return e.event == 0 ? ""
                        : fmt::format(R"("event": {}, )", events_[e.event]);
  }

  // A program's lock's name, as a JSON string.
  std::string_view LockName(const Event& e) const {
    return e.event < locks_.size() ? std::string_view(locks_[e.event]) : "\"\"";
  }

  LineWriter* w_;
  const std::vector<std::string>& events_;
  const bool program_;
  const std::vector<std::string>& locks_;
};

// The names of the scenario's events, as JSON strings.
std::vector<std::string> EventNames(const Scenario& s) {
  std::vector<std::string> names;
  for (size_t e = 0; e < EventCount(s); ++e) {
    names.push_back(JsonText(EventName(s, e)));
  }
  return names;
}

// The names of a program's locks, as JSON strings (none without one).
std::vector<std::string> LockNames(const RunResult& run) {
  std::vector<std::string> names;
  if (run.program != nullptr) {
    for (const std::string& name : run.program->lock_names) {
      names.push_back(JsonText(name));
    }
  }
  return names;
}

// The history as the checker sees it, to judge which timeouts starved as
// the checker judges them.
CheckInput StarvationInput(const RunResult& run) {
  CheckInput input;
  input.program = run.program != nullptr;
  input.killed = KilledBuyers(run);
  for (uint32_t b = 0; b < run.served_by.size(); ++b) {
    input.events.push_back(run.history->EventsOf(b));
  }
  return input;
}

// Per buyer, the controlled schedule's step that recorded each of its
// events (-1: none).
std::vector<std::vector<int64_t>> StepsOf(const RunResult& run) {
  std::vector<std::vector<int64_t>> step_of(run.served_by.size());
  const std::vector<ScheduledStep>& steps = run.schedule.steps;
  for (size_t n = 0; n < steps.size(); ++n) {
    const ScheduledStep& step = steps[n];
    if (step.buyer >= step_of.size()) continue;
    std::vector<int64_t>& of = step_of[step.buyer];
    const size_t end = size_t{step.first_event} + step.events;
    if (of.size() < end) of.resize(end, -1);
    for (size_t i = step.first_event; i < end; ++i) {
      of[i] = static_cast<int64_t>(n);
    }
  }
  return step_of;
}

// One trial's lines, in the order they are written: one function per kind
// of line of ticketsim's own; the buyers' events are EventLines'.
class TrialLines {
 public:
  TrialLines(std::FILE* out, const RunResult& run, int64_t trial)
      : out_(out),
        run_(run),
        w_(out, trial),
        events_(EventNames(run.scenario)),
        locks_(LockNames(run)),
        input_(StarvationInput(run)),
        starvation_(input_) {}

  // What a reader needs to give the verdict's words again, and the whole
  // scenario, from which --replay restores it.
  void Start() {
    const Scenario& s = run_.scenario;
    const ScheduleLog& schedule = run_.schedule;
    w_.Line(
        R"({{"type": "info", "f": "start", "process": "ticketsim", "time": 0, "value": {}, "scenario": {}, "seed": {}, "buyers": {}, "schedule": "{}"{}{})",
        s.initial, JsonText(s.name), s.buyers.seed, run_.served_by.size(),
        WordOf(kScheduleKinds,
               controlled() ? schedule.kind : ScheduleKind::kOs),
        schedule.kind == ScheduleKind::kPct
            ? fmt::format(", \"pct_depth\": {}", schedule.pct_depth)
            : "",
        StartFacts());
  }

  // The buyers' events, merged in time order: the next event of every
  // buyer, earliest first.
  void Events() {
    const std::vector<std::vector<int64_t>> step_of = StepsOf(run_);
    EventLines lines(&w_, events_, run_.program != nullptr, locks_);
    std::vector<Cursor> cursors(run_.served_by.size());
    using Head = std::pair<uint64_t, uint32_t>;
    std::priority_queue<Head, std::vector<Head>, std::greater<Head>> heads;
    for (uint32_t b = 0; b < cursors.size(); ++b) {
      cursors[b].events = run_.history->EventsOf(b);
      if (!cursors[b].events.empty()) {
        heads.emplace(LineTime(cursors[b].events[0]), b);
      }
    }
    while (!heads.empty()) {
      const uint32_t b = heads.top().second;
      heads.pop();
      Cursor& c = cursors[b];
      w_.set_step(c.next < step_of[b].size() ? step_of[b][c.next] : -1);
      const Event& e = c.events[c.next++];
      end_ = std::max(end_, e.time_ns);
      c.starved = e.kind == EventKind::kFailed && starvation_.Starved(e);
      lines.Emit(e, &c);
      w_.set_step(-1);
      if (c.next < c.events.size()) {
        heads.emplace(LineTime(c.events[c.next]), b);
      } else if (c.invoked) {
        lines.BuyInfo(b, e.time_ns);
      }
    }
  }

  // The run's own findings, which no event shows.
  void Findings() {
    for (const AbandonedLock& a : run_.abandoned) NoteAbandonedLock(a);
    for (const DeadlockLink& link : run_.deadlock) NoteDeadlock(link);
    if (run_.program == nullptr) return;
    for (size_t i = 0; i < run_.program->lanes.size(); ++i) {
      if (!run_.program->lanes[i].crash.empty()) NoteCrash(i);
    }
    for (const ProgramProcessEnd& p : run_.program->failed_processes) {
      ProcessCrash(p);
    }
  }

  // With several events, the further events' counts at the end.
  void Counts() {
    for (size_t e = 1; e < events_.size(); ++e) NoteCount(e);
  }

  void Final() {
    w_.Line(
        R"({{"type": "info", "f": "final", "process": "ticketsim", "time": {}, "value": {})",
        end_, run_.final_count ? std::to_string(*run_.final_count) : "null");
  }

  // What --replay reads: the list that repeats this trial, its seed, and
  // whether it showed a violation (the first that did is replayed).
  void Schedule(const Verdict& verdict) {
    if (!controlled()) return;
    std::vector<std::string> kinds;
    for (const Violation& v : verdict.violations) {
      kinds.push_back(JsonText(ViolationName(v.kind)));
    }
    w_.Line(
        R"({{"type": "info", "f": "schedule", "process": "ticketsim", "time": {}, "schedule": "{}", "seed": {}, "steps": [{}], "violations": [{}])",
        end_, WordOf(kScheduleKinds, run_.schedule.kind),
        run_.scenario.buyers.seed, fmt::join(run_.schedule.Buyers(), ","),
        fmt::join(kinds, ", "));
  }

  Status Finish() {
    w_.Flush();
    if (w_.error() != 0) {
      return Status::FromErrno("write the history", w_.error());
    }
    if (std::ferror(out_)) return Status::FromErrno("write the history", EIO);
    return Status::Ok();
  }

 private:
  bool controlled() const { return !run_.schedule.steps.empty(); }

  // The start line's facts beyond the tickets and buyers: the guard, the
  // events, whether a program bought, and the scenario's settings.
  std::string StartFacts() const {
    const Scenario& s = run_.scenario;
    std::string more =
        fmt::format(", \"guard\": \"{}\"", WordOf(kGuardKinds, s.guard.kind));
    if (events_.size() > 1) {
      more += fmt::format(", \"events\": [{}]", fmt::join(events_, ", "));
    }
    if (run_.program != nullptr) {
      more += fmt::format(", \"program\": true, \"mode\": \"{}\"",
                          WordOf(kProgramModes, s.program.mode));
    }
    more += fmt::format(
        ", \"settings\": {}",
        ScenarioSettings(s).dump(-1, ' ', /*ensure_ascii=*/true,
                                 nlohmann::json::error_handler_t::replace));
    return more;
  }

  void NoteAbandonedLock(const AbandonedLock& a) {
    w_.Line(
        R"({{"type": "info", "f": "abandoned-lock", "process": "ticketsim", "buyer": {}, "time": {}, "pid": {}, "event": {}, "signal": "SIG{}")",
        a.buyer, a.time_ns, a.pid, events_[a.event], sigabbrev_np(a.signal));
    end_ = std::max(end_, a.time_ns);
  }

  void NoteDeadlock(const DeadlockLink& link) {
    w_.Line(
        R"({{"type": "info", "f": "deadlock", "process": "ticketsim", "buyer": {}, "time": {}, "pid": {}, "holds": {}, "waits-for": {})",
        link.buyer, run_.deadlock_ns, link.pid, events_[link.holds],
        events_[link.waits_for]);
    end_ = std::max(end_, run_.deadlock_ns);
  }

  // A program's copy (lane) that crashed.
  void NoteCrash(size_t lane) {
    const ProgramLane& l = run_.program->lanes[lane];
    w_.Line(
        R"({{"type": "info", "f": "crash", "process": "ticketsim", "buyer": {}, "time": {}, "error": {}, "stderr": {})",
        lane, end_, JsonText(l.crash), JsonText(LastStderrLine(l)));
  }

  // A process the program started itself: its pid, and its lane if known.
  void ProcessCrash(const ProgramProcessEnd& p) {
    const auto& lanes = run_.program->lanes;
    w_.Line(
        R"({{"type": "info", "f": "crash", "process": "ticketsim", {}"pid": {}, "time": {}, "error": {}, "stderr": {})",
        p.lane < 0 ? std::string() : fmt::format(R"("buyer": {}, )", p.lane),
        p.pid, end_, JsonText(p.crash),
        JsonText(p.lane < 0 ? std::string() : LastStderrLine(lanes[p.lane])));
  }

  void NoteCount(size_t e) {
    const std::optional<int64_t> count =
        e < run_.final_counts.size() ? run_.final_counts[e] : std::nullopt;
    w_.Line(
        R"({{"type": "info", "f": "count", "process": "ticketsim", "event": {}, "time": {}, "value": {})",
        events_[e], end_, count ? std::to_string(*count) : "null");
  }

  std::FILE* out_;
  const RunResult& run_;
  LineWriter w_;
  const std::vector<std::string> events_;  // their names, as JSON strings
  const std::vector<std::string> locks_;   // a program's, as JSON strings
  const CheckInput input_;                 // what starvation_ judges
  const StarvationJudge starvation_;
  uint64_t end_ = 0;  // the time of the last line so far
};

}  // namespace

Status WriteHistoryJsonl(std::FILE* out, const RunResult& run, int64_t trial,
                         const Verdict& verdict) {
  TrialLines lines(out, run, trial);
  lines.Start();
  lines.Events();
  lines.Findings();
  lines.Counts();
  lines.Final();
  lines.Schedule(verdict);
  return lines.Finish();
}

}  // namespace ticketsim
