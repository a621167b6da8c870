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

void Invoke(LineWriter* w, uint32_t buyer, uint64_t time) {
  w->Line(R"({{"type": "invoke", "f": "buy", "process": {}, "time": {})", buyer,
          time);
}

// The bytes a torn read saw, or null when a program found no count.
std::string TornBytes(const Event& e) {
  return e.aux == kUnreadable ? "null" : std::to_string(e.aux);
}

// What a program's events say beyond the purchases: its locks, and the
// reads inside a purchase (a note, so that the purchase stays open).
// Returns false for the events a purchase's lines tell.
// `locks`: the names of its locks, as JSON strings.
bool EmitProgramEvent(LineWriter* w, const Event& e,
                      const std::vector<std::string>& locks, bool starved) {
  const uint64_t t = e.time_ns;
  const uint32_t b = e.buyer;
  const std::string_view lock =
      e.event < locks.size() ? std::string_view(locks[e.event]) : "\"\"";
  switch (e.kind) {
    case EventKind::kWaiting:
      w->Line(
          R"({{"type": "invoke", "f": "lock", "process": {}, "time": {}, "lock": {})",
          b, t, lock);
      return true;
    case EventKind::kAcquired:
      w->Line(
          R"({{"type": "ok", "f": "lock", "process": {}, "time": {}, "lock": {})",
          b, t, lock);
      return true;
    case EventKind::kRelease:
      w->Line(
          R"({{"type": "ok", "f": "unlock", "process": {}, "time": {}, "lock": {})",
          b, t, lock);
      return true;
    case EventKind::kFailed:
      if (static_cast<Failure>(e.aux) == Failure::kDeclined) return false;
      w->Line(
          R"({{"type": "fail", "f": "lock", "process": {}, "time": {}, "lock": {}, "error": "{}"{})",
          b, t, lock, FailureName(e.aux), StarvedField(starved));
      return true;
    case EventKind::kRead:
      if (e.flags & kTorn) {
        w->Line(
            R"({{"type": "info", "f": "read", "process": "ticketsim", "buyer": {}, "time": {}, "error": "torn read", "bytes": {})",
            b, t, TornBytes(e));
      } else {
        w->Line(
            R"({{"type": "info", "f": "read", "process": "ticketsim", "buyer": {}, "time": {}, "value": {})",
            b, t, e.value);
      }
      return true;
    default:
      return false;
  }
}

// The lines of events told beside a purchase, not as a step of it: an
// injected fault, a back-off, a transaction run again, a file emptied.
// False if `e` is none of them.
bool EmitNote(LineWriter* w, const Event& e,
              const std::vector<std::string>& events) {
  const uint64_t t = LineTime(e);
  const uint32_t b = e.buyer;
  if (e.kind == EventKind::kFault) {
    w->Line(
        R"({{"type": "info", "f": "{}", "process": "nemesis", "buyer": {}, "time": {}, "value": {})",
        FaultName(e.aux), b, t, e.value);
    return true;
  }
  if (e.kind == EventKind::kBackoff) {
    std::vector<std::string_view> gave_back;
    for (size_t event = 0; event < events.size(); ++event) {
      if (e.aux & (1u << event)) gave_back.push_back(events[event]);
    }
    w->Line(
        R"({{"type": "info", "f": "backoff", "process": "ticketsim", "buyer": {}, "time": {}, "held": {}, "gave_back": [{}])",
        b, t, events[e.event], fmt::join(gave_back, ", "));
    return true;
  }
  if (e.kind == EventKind::kRetry) {
    // The purchase stays invoked: its transaction runs again.
    w->Line(
        R"({{"type": "info", "f": "retry", "process": "ticketsim", "buyer": {}, "time": {}, "value": {}, "error": "serialization failure")",
        b, t, e.value);
    return true;
  }
  if (e.kind == EventKind::kTruncated) {
    // Where a torn read's witness finds the writer that emptied the file.
    w->Line(
        R"({{"type": "info", "f": "truncate", "process": "ticketsim", "buyer": {}, "time": {}{})",
        b, t,
        e.event == 0 ? "" : fmt::format(", \"event\": {}", events[e.event]));
    return true;
  }
  return false;
}

// A further event's part of a purchase: the first event's lines are the
// purchase; this one's read, write or outcome is told beside it.
void EmitFurtherEvent(LineWriter* w, const Event& e, const Cursor& c,
                      const std::vector<std::string>& events) {
  const uint64_t t = LineTime(e);
  const uint32_t b = e.buyer;
  const std::string_view name = events[e.event];
  if (e.kind == EventKind::kWrite) {
    w->Line(
        R"({{"type": "info", "f": "write", "event": {}, "process": "ticketsim", "buyer": {}, "time": {}, "value": {})",
        name, b, t, e.value);
  } else if (e.kind == EventKind::kRead && (e.flags & kTorn)) {
    w->Line(
        R"({{"type": "info", "f": "read", "event": {}, "process": "ticketsim", "buyer": {}, "time": {}, "error": "torn read", "bytes": {})",
        name, b, t, TornBytes(e));
  } else if (e.kind == EventKind::kRead) {
    w->Line(
        R"({{"type": "info", "f": "read", "event": {}, "process": "ticketsim", "buyer": {}, "time": {}, "value": {})",
        name, b, t, e.value);
  } else if (e.kind == EventKind::kSoldOut) {
    w->Line(
        R"({{"type": "info", "f": "sold-out", "event": {}, "process": "ticketsim", "buyer": {}, "time": {}, "value": {})",
        name, b, t, e.value);
  } else if (e.kind == EventKind::kFailed) {
    w->Line(
        R"({{"type": "info", "f": "failed", "event": {}, "process": "ticketsim", "buyer": {}, "time": {}, "error": "{}"{})",
        name, b, t, FailureName(e.aux), StarvedField(c.starved));
  }
}

// A query: the read of the count before a purchase, its own operation.
void EmitQuery(LineWriter* w, const Event& e) {
  const uint64_t t = LineTime(e);
  const uint32_t b = e.buyer;
  w->Line(R"({{"type": "invoke", "f": "read", "process": {}, "time": {})", b,
          t);
  if (e.flags & kTorn) {
    w->Line(
        R"({{"type": "fail", "f": "read", "process": {}, "time": {}, "error": "torn read", "bytes": {})",
        b, t, TornBytes(e));
  } else {
    w->Line(
        R"({{"type": "ok", "f": "read", "process": {}, "time": {}, "value": {})",
        b, t, e.value);
  }
}

// A purchase's read, or its start without a read: its invoke line, or a
// note if it was invoked when it began to wait; a torn read fails it.
void EmitStart(LineWriter* w, const Event& e, Cursor* c, bool program) {
  const uint64_t t = LineTime(e);
  const uint32_t b = e.buyer;
  if (!c->invoked) {
    Invoke(w, b, t);
  } else if (!program && !(e.flags & kTorn)) {
    // Invoked when it began to wait for the guard: when it then read
    // (or took) is a note, where a witness finds it.
    if (e.kind == EventKind::kRead) {
      w->Line(
          R"({{"type": "info", "f": "read", "process": "ticketsim", "buyer": {}, "time": {}, "value": {})",
          b, t, e.value);
    } else {
      w->Line(
          R"({{"type": "info", "f": "take", "process": "ticketsim", "buyer": {}, "time": {})",
          b, t);
    }
  }
  c->invoked = true;
  c->read_value = e.value;
  if (e.kind == EventKind::kRead && (e.flags & kTorn)) {
    w->Line(
        R"({{"type": "fail", "f": "buy", "process": {}, "time": {}, "error": "torn read", "bytes": {})",
        b, t, TornBytes(e));
    c->invoked = false;
  }
}

// Writes what event `e` of `cursor`'s buyer says.
// `events`: the events' names, as JSON strings; `locks`: a program's
// locks' names, as JSON strings (empty for ticketsim's own buyers).
void Emit(LineWriter* w, const Event& e, Cursor* c,
          const std::vector<std::string>& events, bool program,
          const std::vector<std::string>& locks) {
  if (e.attempt != c->attempt) {
    c->attempt = e.attempt;
    c->invoked = false;
  }
  const uint64_t t = LineTime(e);
  const uint32_t b = e.buyer;
  if (program && EmitProgramEvent(w, e, locks, c->starved)) return;
  if (EmitNote(w, e, events)) return;
  if (e.event != 0) {
    EmitFurtherEvent(w, e, *c, events);
    return;
  }
  switch (e.kind) {
    case EventKind::kQuery:
      EmitQuery(w, e);
      return;
    case EventKind::kAcquired:
      Invoke(w, b, t);
      c->invoked = true;
      return;
    case EventKind::kRead:
    case EventKind::kInvoke:
      EmitStart(w, e, c, program);
      return;
    case EventKind::kWrite:
      w->Line(
          R"({{"type": "ok", "f": "buy", "process": {}, "time": {}, "value": {}, "read": {}, "wrote": {})",
          b, t, e.value + 1, c->read_value, e.value);
      c->invoked = false;
      return;
    case EventKind::kTook:
      w->Line(
          R"({{"type": "ok", "f": "buy", "process": {}, "time": {}, "value": {}{})",
          b, t, (e.flags & kNoSeat) ? "null" : std::to_string(e.value),
          (e.flags & kPrinted) ? R"(, "printed": true)" : "");
      c->invoked = false;
      return;
    case EventKind::kSoldOut:
      w->Line(
          R"({{"type": "fail", "f": "buy", "process": {}, "time": {}, "error": "sold out", "read": {})",
          b, t, e.value);
      c->invoked = false;
      return;
    case EventKind::kFailed:
      if (!c->invoked) Invoke(w, b, t);
      w->Line(
          R"({{"type": "fail", "f": "buy", "process": {}, "time": {}, "error": "{}"{})",
          b, t, FailureName(e.aux), StarvedField(c->starved));
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

}  // namespace

Status WriteHistoryJsonl(std::FILE* out, const RunResult& run, int64_t trial,
                         const Verdict& verdict) {
  const Scenario& s = run.scenario;
  const ScheduleLog& schedule = run.schedule;
  const bool controlled = !schedule.steps.empty();
  LineWriter w(out, trial);
  std::vector<std::string> event_names;
  for (size_t e = 0; e < EventCount(s); ++e) {
    event_names.push_back(JsonText(EventName(s, e)));
  }
  // What a reader needs to give the verdict's words again: the guard, the
  // events, whether a program bought.
  std::string more =
      fmt::format(", \"guard\": \"{}\"", WordOf(kGuardKinds, s.guard.kind));
  if (event_names.size() > 1) {
    more += fmt::format(", \"events\": [{}]", fmt::join(event_names, ", "));
  }
  if (run.program != nullptr) {
    more += fmt::format(", \"program\": true, \"mode\": \"{}\"",
                        WordOf(kProgramModes, s.program.mode));
  }
  // The whole scenario, from which --replay restores it.
  more += fmt::format(
      ", \"settings\": {}",
      ScenarioSettings(s).dump(-1, ' ', /*ensure_ascii=*/true,
                               nlohmann::json::error_handler_t::replace));
  w.Line(
      R"({{"type": "info", "f": "start", "process": "ticketsim", "time": 0, "value": {}, "scenario": {}, "seed": {}, "buyers": {}, "schedule": "{}"{}{})",
      s.initial, JsonText(s.name), s.buyers.seed, run.served_by.size(),
      WordOf(kScheduleKinds, controlled ? schedule.kind : ScheduleKind::kOs),
      schedule.kind == ScheduleKind::kPct
          ? fmt::format(", \"pct_depth\": {}", schedule.pct_depth)
          : "",
      more);
  // Per buyer, the step that recorded each of its events.
  std::vector<std::vector<int64_t>> step_of(run.served_by.size());
  for (size_t n = 0; n < schedule.steps.size(); ++n) {
    const ScheduledStep& step = schedule.steps[n];
    if (step.buyer >= step_of.size()) continue;
    std::vector<int64_t>& steps = step_of[step.buyer];
    const size_t end = size_t{step.first_event} + step.events;
    if (steps.size() < end) steps.resize(end, -1);
    for (size_t i = step.first_event; i < end; ++i) {
      steps[i] = static_cast<int64_t>(n);
    }
  }
  const auto step_at = [&](uint32_t b, size_t i) -> int64_t {
    return i < step_of[b].size() ? step_of[b][i] : -1;
  };

  std::vector<std::string> lock_names;
  if (run.program != nullptr) {
    for (const std::string& name : run.program->lock_names) {
      lock_names.push_back(JsonText(name));
    }
  }
  // Which timeouts starved, judged as the checker judges them.
  CheckInput input;
  input.program = run.program != nullptr;
  input.killed = KilledBuyers(run);
  for (uint32_t b = 0; b < run.served_by.size(); ++b) {
    input.events.push_back(run.history->EventsOf(b));
  }
  const StarvationJudge starvation(input);
  std::vector<Cursor> cursors(run.served_by.size());
  // The next event of every buyer, earliest first.
  using Head = std::pair<uint64_t, uint32_t>;
  std::priority_queue<Head, std::vector<Head>, std::greater<Head>> heads;
  uint64_t end = 0;
  for (uint32_t b = 0; b < cursors.size(); ++b) {
    cursors[b].events = run.history->EventsOf(b);
    if (!cursors[b].events.empty()) {
      heads.emplace(LineTime(cursors[b].events[0]), b);
    }
  }
  while (!heads.empty()) {
    const uint32_t b = heads.top().second;
    heads.pop();
    Cursor& c = cursors[b];
    w.set_step(step_at(b, c.next));
    const Event& e = c.events[c.next++];
    end = std::max(end, e.time_ns);
    c.starved = e.kind == EventKind::kFailed && starvation.Starved(e);
    Emit(&w, e, &c, event_names, run.program != nullptr, lock_names);
    w.set_step(-1);
    if (c.next < c.events.size()) {
      heads.emplace(LineTime(c.events[c.next]), b);
    } else if (c.invoked) {
      // It invoked a buy and recorded no outcome: it died midway.
      w.Line(
          R"({{"type": "info", "f": "buy", "process": {}, "time": {}, "error": "indeterminate: the buyer died")",
          b, e.time_ns);
    }
  }
  for (const AbandonedLock& a : run.abandoned) {
    w.Line(
        R"({{"type": "info", "f": "abandoned-lock", "process": "ticketsim", "buyer": {}, "time": {}, "pid": {}, "event": {}, "signal": "SIG{}")",
        a.buyer, a.time_ns, a.pid, event_names[a.event],
        sigabbrev_np(a.signal));
    end = std::max(end, a.time_ns);
  }
  for (const DeadlockLink& link : run.deadlock) {
    w.Line(
        R"({{"type": "info", "f": "deadlock", "process": "ticketsim", "buyer": {}, "time": {}, "pid": {}, "holds": {}, "waits-for": {})",
        link.buyer, run.deadlock_ns, link.pid, event_names[link.holds],
        event_names[link.waits_for]);
    end = std::max(end, run.deadlock_ns);
  }
  if (run.program != nullptr) {
    const auto& lanes = run.program->lanes;
    for (size_t i = 0; i < lanes.size(); ++i) {
      if (lanes[i].crash.empty()) continue;
      w.Line(
          R"({{"type": "info", "f": "crash", "process": "ticketsim", "buyer": {}, "time": {}, "error": {}, "stderr": {})",
          i, end, JsonText(lanes[i].crash), JsonText(LastStderrLine(lanes[i])));
    }
    // A process the program started itself: its pid, and its lane if known.
    for (const ProgramProcessEnd& p : run.program->failed_processes) {
      w.Line(
          R"({{"type": "info", "f": "crash", "process": "ticketsim", {}"pid": {}, "time": {}, "error": {}, "stderr": {})",
          p.lane < 0 ? std::string() : fmt::format(R"("buyer": {}, )", p.lane),
          p.pid, end, JsonText(p.crash),
          JsonText(p.lane < 0 ? std::string() : LastStderrLine(lanes[p.lane])));
    }
  }
  // With several events, the further events' counts at the end.
  for (size_t e = 1; e < event_names.size(); ++e) {
    const std::optional<int64_t> count =
        e < run.final_counts.size() ? run.final_counts[e] : std::nullopt;
    w.Line(
        R"({{"type": "info", "f": "count", "process": "ticketsim", "event": {}, "time": {}, "value": {})",
        event_names[e], end, count ? std::to_string(*count) : "null");
  }
  w.Line(
      R"({{"type": "info", "f": "final", "process": "ticketsim", "time": {}, "value": {})",
      end, run.final_count ? std::to_string(*run.final_count) : "null");
  if (controlled) {
    // What --replay reads: the list that repeats this trial, its seed, and
    // whether it showed a violation (the first that did is replayed).
    std::vector<std::string> kinds;
    for (const Violation& v : verdict.violations) {
      kinds.push_back(JsonText(ViolationName(v.kind)));
    }
    w.Line(
        R"({{"type": "info", "f": "schedule", "process": "ticketsim", "time": {}, "schedule": "{}", "seed": {}, "steps": [{}], "violations": [{}])",
        end, WordOf(kScheduleKinds, schedule.kind), s.buyers.seed,
        fmt::join(schedule.Buyers(), ","), fmt::join(kinds, ", "));
  }
  w.Flush();
  if (w.error() != 0) return Status::FromErrno("write the history", w.error());
  if (std::ferror(out)) return Status::FromErrno("write the history", EIO);
  return Status::Ok();
}

}  // namespace ticketsim
