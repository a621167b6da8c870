#include "sim/result/run_check.h"

#include <fmt/format.h>
#include <string.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/check/checker.h"
#include "sim/history/tally.h"
#include "sim/scenario/scenario.h"

namespace ticketsim {

std::string_view RunEndName(RunEnd end) {
  switch (end) {
    case RunEnd::kNone:
      return "";
    case RunEnd::kDeadlock:
      return "deadlock";
    case RunEnd::kAbandoned:
      return "abandoned lock";
    case RunEnd::kTimeLimit:
      return "time limit";
    case RunEnd::kInterrupt:
      return "interrupted";
    case RunEnd::kStopped:
      return "stopped";
    case RunEnd::kFailure:
      return "a buyer failed";
  }
  return "";
}

std::vector<bool> KilledBuyers(const RunResult& result) {
  std::vector<int32_t> last_served(result.processes.size(), -1);
  for (size_t i = 0; i < result.served_by.size(); ++i) {
    if (result.served_by[i] >= 0) {
      last_served[result.served_by[i]] = static_cast<int32_t>(i);
    }
  }
  std::vector<bool> killed(result.served_by.size(), false);
  for (size_t p = 0; p < result.processes.size(); ++p) {
    if (result.processes[p].signal != 0 && last_served[p] >= 0) {
      killed[last_served[p]] = true;
    }
  }
  return killed;
}

std::string LastStderrLine(const ProgramLane& lane) {
  for (auto it = lane.stderr_tail.rbegin(); it != lane.stderr_tail.rend();
       ++it) {
    if (it->find_first_not_of(" \t\r") != std::string::npos) return *it;
  }
  return "";
}

namespace {

// The guard `event` is taken under, in a witness's words: "flock", or
// "seat's flock" with several events.
std::string GuardOf(const Scenario& scenario, size_t event) {
  const std::string guard(WordOf(kGuardKinds, scenario.guard.kind));
  return EventCount(scenario) == 1
             ? guard
             : fmt::format("{}'s {}", EventName(scenario, event), guard);
}

// The time of the last event of `kind` about `event` in buyer `b`'s
// history, if one was kept.
std::optional<uint64_t> LastTime(const RunResult& result, uint32_t b,
                                 EventKind kind, size_t event) {
  if (result.history == nullptr) return std::nullopt;
  const auto events = result.history->EventsOf(b);
  for (auto e = events.rbegin(); e != events.rend(); ++e) {
    if (e->kind == kind && e->event == event) return e->time_ns;
  }
  return std::nullopt;
}

// When buyer `b` was killed by its own fault, if it was: it died then, not
// when it was seen dead.
std::optional<uint64_t> FaultDeath(const RunResult& result, uint32_t b) {
  if (result.history == nullptr) return std::nullopt;
  const auto events = result.history->EventsOf(b);
  if (!events.empty() && events.back().kind == EventKind::kFault &&
      static_cast<FaultKind>(events.back().aux) != FaultKind::kPause) {
    return events.back().time_ns;
  }
  return std::nullopt;
}

// An abandoned lock's witness: who died holding what, and when.
Witness AbandonedWitness(const RunResult& result, const AbandonedLock& a) {
  const std::string guard = GuardOf(result.scenario, a.event);
  const std::optional<uint64_t> fault = FaultDeath(result, a.buyer);
  Witness w = WitnessOf(
      fault ? fmt::format("buyer {} (pid {}) was killed by SIG{} at {} "
                          "holding the {} (seen dead at {})",
                          a.buyer, a.pid, sigabbrev_np(a.signal),
                          FormatTime(*fault), guard, FormatTime(a.time_ns))
            : fmt::format("buyer {} (pid {}) died by SIG{} holding the {} "
                          "(seen dead at {})",
                          a.buyer, a.pid, sigabbrev_np(a.signal), guard,
                          FormatTime(a.time_ns)));
  if (const auto held =
          LastTime(result, a.buyer, EventKind::kAcquired, a.event)) {
    w.Add({a.buyer, 0, "hold", std::nullopt, *held});
  }
  w.Add({a.buyer, 0, "died", std::nullopt, fault ? *fault : a.time_ns});
  if (fault) w.Add({a.buyer, 0, "seen dead", std::nullopt, a.time_ns});
  return w;
}

// A lock whose holder died, which nothing releases (the run's own finding:
// no history shows it).
void AddAbandonedLocks(const RunResult& result, Verdict* verdict) {
  if (result.abandoned.empty()) return;
  Violation v;
  v.kind = ViolationKind::kAbandonedLock;
  v.count = static_cast<int64_t>(result.abandoned.size());
  for (const AbandonedLock& a : result.abandoned) {
    if (v.witnesses.size() == kMaxWitnesses) {
      ++v.unwitnessed;
      continue;
    }
    v.witnesses.push_back(AbandonedWitness(result, a));
  }
  const AbandonedLock& first = result.abandoned.front();
  v.summary = fmt::format(
      "pid {} died holding the {}, which nothing releases: every buyer "
      "after it would have waited out its timeout, so the run was ended",
      first.pid, GuardOf(result.scenario, first.event));
  verdict->violations.push_back(std::move(v));
}

// The deadlock's one witness, the cycle: the sentence says who holds what.
Witness DeadlockWitness(const RunResult& result) {
  std::string cycle;
  Witness w;
  for (const DeadlockLink& link : result.deadlock) {
    const std::string text =
        fmt::format("buyer {} (pid {}) holds {} and waits for {}", link.buyer,
                    link.pid, GuardOf(result.scenario, link.holds),
                    GuardOf(result.scenario, link.waits_for));
    cycle += (cycle.empty() ? "" : "; ") + text;
    if (const auto held =
            LastTime(result, link.buyer, EventKind::kAcquired, link.holds)) {
      w.Add({link.buyer, 0, "hold", static_cast<int64_t>(link.holds), *held});
    }
    if (const auto wait =
            LastTime(result, link.buyer, EventKind::kWaiting, link.waits_for)) {
      w.Add(
          {link.buyer, 0, "wait", static_cast<int64_t>(link.waits_for), *wait});
    }
  }
  w.text = cycle;
  w.Add({result.deadlock.front().buyer, 0, "found", std::nullopt,
         result.deadlock_ns});
  return w;
}

// A cycle of buyers each waiting for the next (the run's own finding).
void AddDeadlock(const RunResult& result, Verdict* verdict) {
  if (result.deadlock.empty()) return;
  Violation v;
  v.kind = ViolationKind::kDeadlock;
  v.count = 1;
  v.witnesses.push_back(DeadlockWitness(result));
  v.summary = fmt::format(
      "a cycle of {} buyers, found at {}; none can go on, so the run "
      "was ended",
      result.deadlock.size(), FormatTime(result.deadlock_ns));
  verdict->violations.push_back(std::move(v));
}

// The run's own findings, which no history shows: an abandoned lock, a
// deadlock.
void AddRunViolations(const RunResult& result, Verdict* verdict) {
  AddAbandonedLocks(result, verdict);
  AddDeadlock(result, verdict);
}

// Who a failed process of a program was, in a witness's words, and the
// last line of the stderr it wrote to (its lane's: shared by all of the
// lane's processes).
std::string ProcessWho(const RunResult& result, const ProgramProcessEnd& p) {
  if (p.lane < 0) return fmt::format("process {} of the program", p.pid);
  if (result.scenario.program.mode == ProgramMode::kWhole) {
    return fmt::format("process {}, started by the program,", p.pid);
  }
  return fmt::format("process {}, started by buyer {},", p.pid, p.lane);
}

// What failed of a program: `copies` of its copies (or runs, `whole`), and
// `started` of the processes it started itself.
std::string CrashSummary(int64_t copies, int64_t started, bool whole) {
  return fmt::format(
      "{}: its purchases then may have stopped halfway (see its stderr "
      "below)",
      started == 0 ? fmt::format("{} of the program's {} failed", copies,
                                 whole ? "runs" : "copies")
      : copies == 0
          ? fmt::format("{} of the processes the program started failed",
                        started)
          : fmt::format("{} of the program's {} and {} of the processes it "
                        "started failed",
                        copies, whole ? "runs" : "copies", started));
}

// A program's processes that crashed: each lane's exit status, and each
// process the program started itself that failed, with the last line of
// the stderr they wrote to as the witness's words.
void AddProgramCrashes(const RunResult& result, Verdict* verdict) {
  if (result.program == nullptr) return;
  Violation v;
  v.kind = ViolationKind::kProgramCrash;
  const bool whole = result.scenario.program.mode == ProgramMode::kWhole;
  const auto& lanes = result.program->lanes;
  const auto add = [&](const std::string& who, const std::string& crash,
                       int32_t lane) {
    ++v.count;
    if (v.witnesses.size() == kMaxWitnesses) {
      ++v.unwitnessed;
      return;
    }
    const std::string last =
        lane < 0 ? std::string() : LastStderrLine(lanes[lane]);
    Witness w = WitnessOf(
        last.empty()
            ? fmt::format("{} {}, saying nothing on stderr", who, crash)
            : fmt::format("{} {}; its stderr ended: {}", who, crash, last));
    if (lane >= 0) w.buyers = {static_cast<uint32_t>(lane)};
    v.witnesses.push_back(std::move(w));
  };
  int64_t copies = 0;
  for (size_t i = 0; i < lanes.size(); ++i) {
    if (lanes[i].crash.empty()) continue;
    ++copies;
    add(whole ? std::string("the program") : fmt::format("buyer {}", i),
        lanes[i].crash, static_cast<int32_t>(i));
  }
  for (const ProgramProcessEnd& p : result.program->failed_processes) {
    add(ProcessWho(result, p), p.crash, p.lane);
  }
  if (v.count == 0) return;
  v.summary = CrashSummary(copies, v.count - copies, whole);
  verdict->violations.push_back(std::move(v));
}

// Whether a program run told nothing of its sales: no sold_pattern, not
// run per purchase, and no line on fd 3.
bool SalesUnknown(const RunResult& result) {
  const ProgramSpec& spec = result.scenario.program;
  if (!spec.sold_pattern.empty() || spec.mode == ProgramMode::kOperation) {
    return false;
  }
  for (const ProgramLane& lane : result.program->lanes) {
    if (lane.event_lines > 0) return false;
  }
  return true;
}

// What the first store and guard errors were, which the history's events do
// not hold: "purchases the store failed; the first: buyer 2: ...".
void AddFirstErrors(const RunResult& result, Verdict* verdict) {
  for (Violation& v : verdict->violations) {
    const std::string& first =
        v.kind == ViolationKind::kStoreError     ? result.first_store_error
        : v.kind == ViolationKind::kGuardFailure ? result.first_guard_error
                                                 : std::string();
    if (!first.empty()) v.summary += "; the first: " + first;
  }
}

}  // namespace

bool ProgramSalesUnknown(const RunResult& result) {
  return result.program != nullptr && SalesUnknown(result);
}

namespace {

// The pid of the process that served buyer `b` (0: none did).
pid_t PidOf(const RunResult& result, size_t b) {
  const int32_t process = result.served_by[b];
  return process < 0 ? 0 : result.processes[process].pid;
}

// The verdict on a run that kept tallies (history = "summary").
Verdict CheckRunTallies(const RunResult& result,
                        const std::vector<bool>& killed) {
  TallyInput input;
  input.initial = result.scenario.initial;
  input.final_count = result.final_count;
  input.final_error = result.final_error;
  input.tallies = result.tallies.get();
  for (size_t i = 0; i < result.served_by.size(); ++i) {
    input.pids.push_back(PidOf(result, i));
    input.killed.push_back(killed[i]);
  }
  Verdict verdict = CheckTallies(input);
  AddRunViolations(result, &verdict);
  AddFirstErrors(result, &verdict);
  return verdict;
}

// What event `e`'s books are checked from: its own events alone, which
// `own` keeps (per buyer) when there are several events.
CheckInput BooksInput(const RunResult& result, size_t e,
                      const std::vector<bool>& killed,
                      std::vector<std::vector<Event>>* own) {
  const size_t event_count = EventCount(result.scenario);
  CheckInput input;
  input.initial = result.scenario.initial;
  input.final_count = e < result.final_counts.size() ? result.final_counts[e]
                                                     : result.final_count;
  input.final_error = e < result.final_errors.size() ? result.final_errors[e]
                                                     : result.final_error;
  own->resize(result.served_by.size());
  for (size_t i = 0; i < result.served_by.size(); ++i) {
    const auto events = result.history->EventsOf(static_cast<uint32_t>(i));
    if (event_count == 1) {
      input.events.push_back(events);
    } else {
      // A fault strikes whatever the buyer holds: every event's books
      // see it (the starvation judge looks for stalls in holds).
      for (const Event& event : events) {
        if (event.event == e || event.kind == EventKind::kFault) {
          (*own)[i].push_back(event);
        }
      }
      input.events.emplace_back((*own)[i]);
    }
    input.pids.push_back(PidOf(result, i));
    input.killed.push_back(killed[i]);
  }
  input.program = result.program != nullptr;
  input.whole_program =
      input.program && result.scenario.program.mode == ProgramMode::kWhole;
  input.sales_unknown = input.program && SalesUnknown(result);
  return input;
}

// Event `e`'s line of books, with its name put before each of its
// violations and findings.
Verdict::EventBooks NameBooks(const Scenario& scenario, size_t e,
                              Verdict* books) {
  const std::string name = EventName(scenario, e);
  for (auto* list : {&books->violations, &books->findings}) {
    for (Violation& v : *list)
      v.summary = fmt::format("{}: {}", name, v.summary);
  }
  return {name, books->final_count, books->confirmed, books->indeterminate};
}

// Each event's books checked alone, merged into one verdict.
Verdict CheckBooks(const RunResult& result, const std::vector<bool>& killed) {
  const size_t event_count = EventCount(result.scenario);
  Verdict verdict;
  std::vector<Verdict::EventBooks> event_books;
  for (size_t e = 0; e < event_count; ++e) {
    std::vector<std::vector<Event>> own;
    Verdict books = Check(BooksInput(result, e, killed, &own));
    if (event_count > 1) {
      event_books.push_back(NameBooks(result.scenario, e, &books));
    }
    if (e == 0) {
      verdict = std::move(books);
      continue;
    }
    for (Violation& v : books.violations) {
      MergeViolation(std::move(v), &verdict);
    }
    for (Violation& v : books.findings) {
      MergeViolation(std::move(v), &verdict.findings);
    }
  }
  verdict.events = std::move(event_books);
  return verdict;
}

}  // namespace

Verdict CheckRun(const RunResult& result) {
  const std::vector<bool> killed = KilledBuyers(result);
  if (result.tallies != nullptr) return CheckRunTallies(result, killed);
  Verdict verdict = CheckBooks(result, killed);
  AddRunViolations(result, &verdict);
  AddProgramCrashes(result, &verdict);
  AddFirstErrors(result, &verdict);
  AddClockUncertainty(result, &verdict);
  return verdict;
}

std::string ClockUncertainty(const RunResult& result, uint32_t buyer) {
  for (const HostRecord& host : result.hosts) {
    if (std::find(host.buyers.begin(), host.buyers.end(), buyer) ==
        host.buyers.end()) {
      continue;
    }
    if (host.uncertainty_ns < 1000) return "";
    return fmt::format(" ± {:.3f} ms", host.uncertainty_ns / 1e6);
  }
  return "";
}

void AddClockUncertainty(const RunResult& result, Verdict* verdict) {
  if (result.hosts.empty()) return;
  for (Violation& v : verdict->violations) {
    for (Witness& w : v.witnesses) {
      // Each time of a step, once, followed by its host's uncertainty.
      std::vector<std::string> done;
      for (const WitnessStep& step : w.steps) {
        const std::string plus = ClockUncertainty(result, step.buyer);
        if (plus.empty()) continue;
        const std::string time = FormatTime(step.time_ns);
        if (std::find(done.begin(), done.end(), time) != done.end()) continue;
        done.push_back(time);
        for (size_t at = 0;
             (at = w.text.find(time, at)) != std::string::npos;) {
          const size_t after = at + time.size();
          // Not the tail of a longer number, nor a time given its ± already.
          const bool inside =
              at > 0 &&
              (std::isdigit(static_cast<unsigned char>(w.text[at - 1])) ||
               w.text[at - 1] == '.');
          if (inside || w.text.compare(after, 3, " \u00b1") == 0) {
            at = after;
            continue;
          }
          w.text.insert(after, plus);
          at = after + plus.size();
        }
      }
    }
  }
}

}  // namespace ticketsim
