#include "sim/run/run.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <functional>

#include "base/run_signals.h"
#include "sim/buyers/buyer.h"
#include "sim/buyers/buyer_processes.h"
#include "sim/buyers/deadlock_watch.h"
#include "sim/buyers/step_gate.h"
#include "sim/guards/guard.h"
#include "sim/hosts/host_run.h"
#include "sim/program/program_run.h"
#include "sim/schedule/scheduler.h"
#include "storage/make_store.h"
#include "storage/pg_connect.h"
#include "storage/pg_server.h"
#include "storage/ticket_store.h"

namespace ticketsim {
namespace {

// Removes the run's named objects and directory when it goes out of scope,
// on every path out of RunScenario.
class RunCleanup {
 public:
  explicit RunCleanup(const RunNames& names) : names_(names) {}
  // The events' own names first, then the run's (its directory holds
  // theirs).
  ~RunCleanup() {
    // What a store made outside the run's names (a server's table), each
    // through a store of its own: the run's may be gone by now.
    for (const auto& [spec, names] : stores_) MakeStore(spec, names)->Destroy();
    for (const auto& [names, purposes] : events_) {
      RemoveRunObjects(names, purposes);
    }
    RemoveRunObjects(names_, purposes_);
  }
  void Add(const RunNames& names, const std::vector<std::string>& purposes) {
    if (names.tag == names_.tag) {
      purposes_.insert(purposes_.end(), purposes.begin(), purposes.end());
    } else {
      events_.emplace_back(names, purposes);
    }
  }
  void AddStore(const StoreSpec& spec, const RunNames& names) {
    stores_.emplace_back(spec, names);
  }

 private:
  const RunNames& names_;
  std::vector<std::pair<StoreSpec, RunNames>> stores_;
  std::vector<std::string> purposes_;
  std::vector<std::pair<RunNames, std::vector<std::string>>> events_;
};

// The names of event `event`'s store and guard: the run's own for the first
// event, and for each further one a tag of its own and a directory inside
// the run's (so the run's cleanup and `ticketsim clean` find them).
Status EventNames(const RunNames& run, size_t event, RunNames* out) {
  *out = run;
  if (event == 0) return Status::Ok();
  out->tag = fmt::format("{}.e{}", run.tag, event);
  return CreateRunDirectory(run, fmt::format("e{}", event), out);
}

// Each event's store and guard, named by EventNames and created, each
// handed to `cleanup` before it is created (so that a half-made one goes
// too).
Status CreateEventObjects(const Scenario& scenario, const StoreSpec& store,
                          const RunNames& names, size_t event_count,
                          RunCleanup* cleanup,
                          std::vector<std::unique_ptr<TicketStore>>* stores,
                          std::vector<std::unique_ptr<Guard>>* guards) {
  for (size_t e = 0; e < event_count; ++e) {
    RunNames event_names;
    Status s = EventNames(names, e, &event_names);
    if (!s.ok()) return s;
    stores->push_back(MakeStore(store, event_names));
    cleanup->Add(event_names, stores->back()->ObjectPurposes());
    cleanup->AddStore(store, event_names);
    s = stores->back()->Create(scenario.initial);
    if (!s.ok()) return s;
    guards->push_back(
        MakeGuard(scenario.guard, event_names, stores->back().get()));
    cleanup->Add(event_names, guards->back()->ObjectPurposes());
    s = guards->back()->Create();
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

bool UsesThrowawayServer(const Scenario& scenario) {
  return scenario.store.kind == StoreKind::kPostgres &&
         scenario.store.url.empty();
}

// A postgres store's server: the scenario's (store.url), or the throwaway
// server this process starts for it and keeps for the runs that follow.
// Sets store->conninfo, and *remote to how buyers on other hosts reach it.
Status ReachServer(const Scenario& scenario, StoreSpec* store,
                   RunResult* result, std::string* remote) {
  if (store->kind != StoreKind::kPostgres) return Status::Ok();
  if (!store->url.empty()) {
    store->conninfo = store->url;
    *remote = store->url;
    return Status::Ok();
  }
  PgServerOptions options;
  options.bin_dir = store->postgres_bin;
  options.listen = store->listen;
  // Each buyer process holds a connection per event; the parent one more.
  options.connections = static_cast<int>(std::max<int64_t>(
      100, ProcessCount(scenario) * static_cast<int64_t>(EventCount(scenario)) +
               10));
  double start_up_ms = 0;
  Status s =
      UseThrowawayServer(options, &store->conninfo, &start_up_ms, remote);
  if (s.ok()) result->server_start_up_ms = start_up_ms;
  return s;
}

// The interrupt waiting to be taken, if any; left waiting, for the wait
// that takes the run's signals.
int PendingInterrupt() {
  sigset_t pending;
  if (sigpending(&pending) != 0) return 0;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sigismember(&pending, sig) == 1 && IsInterrupt(sig)) return sig;
  }
  return 0;
}

// What the parent's waits on a PostgreSQL server (its start, the table,
// the final read) give up for: an interrupt, once a short grace has let
// the run drop its table; a throwaway server that has ended or is
// stopped.
Status ServerWaitCheck(const Scenario& scenario, RunResult* result,
                       int64_t* interrupted_at) {
  constexpr int64_t kInterruptGraceNs = 500000000;
  if (const int sig = PendingInterrupt(); sig != 0 && !result->interrupted) {
    result->interrupted = true;
    result->interrupt_signal = sig;
  }
  if (result->interrupted) {
    const int64_t now = MonotonicNs();
    if (*interrupted_at == 0) *interrupted_at = now;
    if (now - *interrupted_at > kInterruptGraceNs) {
      return Status::Environment("interrupted by " +
                                 SignalName(result->interrupt_signal));
    }
  }
  if (UsesThrowawayServer(scenario)) {
    if (std::string trouble = ThrowawayServerTrouble(); !trouble.empty()) {
      return Status::Environment(trouble);
    }
  }
  return Status::Ok();
}

// What happened to the run's throwaway server ("" if nothing, or if the
// run has none): it ended or was stopped during the run.
std::string ServerTrouble(const Scenario& scenario) {
  const std::string trouble =
      UsesThrowawayServer(scenario) ? ThrowawayServerTrouble() : "";
  return trouble.empty() ? "" : trouble + " during the run";
}

// A throwaway server that ended or was stopped during the run fails it:
// what the buyers do then proves nothing.
void CheckServer(const Scenario& scenario, RunControl* control) {
  if (std::string trouble = ServerTrouble(scenario); !trouble.empty()) {
    control->failure.Set(trouble);
  }
}

// Maps the history arena, and with history "summary" the tally arena too.
Status MapArenas(const Scenario& scenario, uint32_t buyer_count,
                 size_t events_per_buyer, bool summary, RunResult* result) {
  result->history = std::make_unique<HistoryArena>();
  Status s = result->history->Map(buyer_count, events_per_buyer);
  if (!s.ok()) return s;
  if (summary) {
    result->tallies = std::make_unique<TallyArena>();
    s = result->tallies->Map(buyer_count, scenario.initial,
                             SeatMapSeats(scenario), scenario.buyers.attempts);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// Reads each event's final count into `result`, or why it could not be.
void ReadFinalCounts(const std::vector<std::unique_ptr<TicketStore>>& stores,
                     std::string* failure, RunResult* result) {
  for (const std::unique_ptr<TicketStore>& owned : stores) {
    TicketStore* store = owned.get();
    Status s = store->Attach();
    Reading reading;
    if (s.ok()) s = store->Read(&reading);
    store->Detach();
    result->final_counts.push_back(
        s.ok() ? std::optional<int64_t>(reading.count) : std::nullopt);
    result->final_errors.push_back(s.ok() ? "" : s.message());
    // A count the system would not let us read is not a corrupt one.
    if (s.code() == Status::Code::kEnvironment) {
      if (failure->empty())
        *failure = "reading the final count: " + s.message();
    }
  }
  result->final_count = result->final_counts[0];
  result->final_error = result->final_errors[0];
}

// Runs the steps of a controlled schedule (sim/schedule/scheduler.h) from the
// opened barrier until no buyer can move, and books how they ended in `result`.
// Sets *ended when the buyers still running are to be killed, and *bad to
// Invalid when a --steps list cannot be followed.
void RunControlled(
    const Scenario& scenario, RunControl* control, StepControl* steps,
    uint32_t process_count, const RunSignals& signals, StepChooser* chooser,
    const std::vector<std::unique_ptr<TicketStore>>& stores,
    const std::function<bool(int)>& interrupted, int64_t pause_ns,
    const std::function<void(const std::vector<uint32_t>&)>& abandoned,
    BuyerReaper* reaper, RunResult* result, bool* ended, Status* bad) {
  ScheduleLog& log = result->schedule;
  log.kind = scenario.schedule.kind == ScheduleKind::kOs
                 ? ScheduleKind::kSeeded
                 : scenario.schedule.kind;
  if (log.kind == ScheduleKind::kPct) {
    log.pct_depth = scenario.schedule.pct_depth;
    log.pct_steps = StepEstimate(scenario);
    log.pct_bound =
        PctBound(scenario.buyers.count, log.pct_steps, log.pct_depth);
  }
  std::unique_ptr<StepChooser> own;
  if (chooser == nullptr) {
    own = MakeChooser(scenario);
    chooser = own.get();
  }
  // The parent's own handles on the stores, opened (after every fork) only
  // if a chooser asks for the count.
  std::vector<bool> attached(stores.size(), false);
  ScheduleHooks hooks;
  hooks.took_signal = [&](int sig, pid_t child) {
    if (interrupted(sig)) *ended = true;
    if (sig == SIGCHLD) {
      std::vector<uint32_t> killed;
      reaper->ReapNamed(child, pause_ns, &killed);
      // Others' SIGCHLDs may have been merged into this one.
      while (!reaper->ReapAny(pause_ns, &killed)) {
      }
      abandoned(killed);
    }
    // The system failed a buyer: what the others do now proves nothing.
    if (!control->failure.empty()) *ended = true;
    return *ended;
  };
  hooks.ended = [&](uint32_t p) { return reaper->Ended(p); };
  hooks.paused = [&](uint32_t p) { return reaper->Paused(p); };
  hooks.resume = [&](uint32_t p) { reaper->Resume(p); };
  hooks.events = [&](uint32_t buyer) {
    return result->history->EventsOf(buyer);
  };
  hooks.count = [&](size_t e) -> std::optional<int64_t> {
    if (e >= stores.size()) return std::nullopt;
    if (!attached[e]) {
      if (!stores[e]->Attach().ok()) return std::nullopt;
      attached[e] = true;
    }
    Reading reading;
    if (!stores[e]->Read(&reading).ok()) return std::nullopt;
    return reading.count;
  };
  // A guard with one holder at a time: a cycle of waits is a deadlock. (With
  // several permits a waiter may yet get one another holder gives back.)
  if (scenario.guard.kind != GuardKind::kNamedSemaphore ||
      scenario.guard.permits == 1) {
    hooks.cycle = [&] {
      return !FindDeadlockCycle(*control,
                                static_cast<size_t>(scenario.buyers.count),
                                EventCount(scenario), result->processes)
                  .empty();
    };
  }
  const int64_t step_timeout_ns = RunTimeoutMs(scenario) * 1000000;
  const ScheduleOutcome outcome =
      RunSchedule(scenario, control, steps, process_count, signals.set(),
                  step_timeout_ns, chooser, hooks, &log);
  for (size_t e = 0; e < stores.size(); ++e) {
    if (attached[e]) stores[e]->Detach();
  }
  const uint64_t at =
      static_cast<uint64_t>(MonotonicNs() - control->start_ns.load());
  switch (outcome.end) {
    case ScheduleEnd::kFinished:
    case ScheduleEnd::kEnded:
      break;
    case ScheduleEnd::kDeadlock:
      result->deadlock = FindDeadlockCycle(
          *control, static_cast<size_t>(scenario.buyers.count),
          EventCount(scenario), result->processes);
      result->deadlock_ns = at;
      // No buyer can move, and none holds what another waits for: they wait
      // for something no buyer will give back.
      if (result->deadlock.empty()) result->timed_out = true;
      *ended = true;
      break;
    case ScheduleEnd::kTimedOut:
      result->timed_out = true;
      *ended = true;
      break;
    case ScheduleEnd::kStopped:
      result->stopped = true;
      *ended = true;
      break;
    case ScheduleEnd::kUndo:
      result->undo = true;
      *ended = true;
      break;
    case ScheduleEnd::kError:
      *bad = Status::Invalid(outcome.error);
      *ended = true;
      break;
  }
}

}  // namespace

Status RunScenario(const Scenario& scenario, RunResult* result,
                   const ProgressFn& progress, StepChooser* chooser) {
  // First, so that the cleanup below runs before the mask is lifted.
  RunSignals signals;
  // What a run that was killed outright left behind goes now.
  CleanLeftovers(/*all=*/false);
  result->scenario = scenario;
  const RunNames& names = result->names;
  const uint32_t buyer_count = static_cast<uint32_t>(scenario.buyers.count);
  const uint32_t process_count = static_cast<uint32_t>(ProcessCount(scenario));
  const size_t event_count = EventCount(scenario);

  const bool summary = scenario.history == HistoryMode::kSummary;
  const size_t events_per_buyer =
      summary ? 0
              : static_cast<size_t>(scenario.buyers.attempts) *
                    EventsPerAttempt(scenario);
  if (HistoryBytes(scenario) > kMaxHistoryBytes) {
    return Status::Invalid("the history would not fit; see ValidateScenario");
  }

  // Held until the run's objects are gone (declared before the cleanup, so
  // let go after it): while it is, no other ticketsim removes them.
  RunLease lease;
  Status s = StartRun(&result->names, &lease);
  if (!s.ok()) return s;
  // Until the cleanup below is done.
  int64_t interrupted_at = 0;
  PgWaitWatch server_waits(
      [&] { return ServerWaitCheck(scenario, result, &interrupted_at); });
  RunCleanup cleanup(names);
  // One store and one guard per event.
  std::vector<std::unique_ptr<TicketStore>> stores;
  std::vector<std::unique_ptr<Guard>> guards;
  StoreSpec store = scenario.store;
  std::string remote_conninfo;
  s = ReachServer(scenario, &store, result, &remote_conninfo);
  if (s.ok()) {
    s = CreateEventObjects(scenario, store, names, event_count, &cleanup,
                           &stores, &guards);
  }
  if (!s.ok() && result->interrupted) {
    // Interrupted while it waited on a server: it ends here, with no buyer.
    while (signals.Wait(0) != 0) {
    }
    return MapArenas(scenario, buyer_count, events_per_buyer, summary, result);
  }
  if (!s.ok()) return s;
  if (scenario.program.set()) {
    s = RunProgram(scenario, names, *stores[0], signals, progress, result);
    std::string failure;
    if (s.ok() || s.code() == Status::Code::kCorrupt) {
      ReadFinalCounts(stores, &failure, result);
    }
    if (s.ok() && !failure.empty()) return Status::Environment(failure);
    return s;
  }
  if (!scenario.buyers.hosts.empty()) {
    s = RunOnHosts(scenario, names, remote_conninfo, signals, progress, result);
    std::string failure;
    if (s.ok()) ReadFinalCounts(stores, &failure, result);
    if (s.ok() && !failure.empty()) return Status::Environment(failure);
    return s;
  }
  std::vector<TicketStore*> store_ptrs;
  std::vector<Guard*> guard_ptrs;
  for (size_t e = 0; e < event_count; ++e) {
    store_ptrs.push_back(stores[e].get());
    guard_ptrs.push_back(guards[e].get());
  }

  s = MapArenas(scenario, buyer_count, events_per_buyer, summary, result);
  if (!s.ok()) return s;
  SharedControl control(buyer_count, process_count);
  if (control.get() == nullptr) {
    return Status::FromErrno("map the start barrier", errno);
  }
  const bool controlled = scenario.schedule.controlled();
  SharedSteps steps;
  if (controlled) {
    s = steps.Map(buyer_count, process_count);
    if (!s.ok()) return s;
    control.get()->steps = steps.get();
  }

  BuyerReaper reaper(&result->processes, control.get());
  s = ForkBuyers(scenario, process_count, store_ptrs, guard_ptrs, control.get(),
                 result->history.get(), result->tallies.get(),
                 &result->processes, &reaper);
  if (!s.ok()) return s;

  const auto interrupted = [result](int sig) {
    if (!IsInterrupt(sig)) return false;
    result->interrupted = true;
    result->interrupt_signal = sig;
    return true;
  };
  const int64_t pause_ns =
      static_cast<int64_t>(scenario.faults.pause_holder_ms * 1e6);

  // The start barrier: open it once every buyer has attached, so that all
  // of them start their first purchase together.
  int interrupt = 0;
  s = AwaitAttached(*control.get(), process_count, result->processes, pause_ns,
                    signals, &reaper, &interrupt);
  // A server that went while the buyers attached (its SIGCHLD taken there)
  // is why they could not.
  if (std::string trouble = ServerTrouble(scenario); !trouble.empty()) {
    if (!s.ok()) return Status::Environment(trouble);
    control.get()->failure.Set(trouble);
  }
  if (!s.ok()) return s;
  if (interrupted(interrupt)) return Status::Ok();
  OpenStartBarrier(control.get());
  const int64_t start = control.get()->start_ns.load();
  int64_t deadline = start + RunTimeoutMs(scenario) * 1000000;

  // The parent looks at its buyers this often when it has something to
  // watch: progress, a deadlock, a paused holder to continue.
  constexpr int64_t kWatchEveryNs = 100000000;
  const bool watch_deadlock = !controlled && event_count > 1 &&
                              scenario.guard.kind != GuardKind::kNone &&
                              scenario.guard.acquire == GuardAcquire::kWait;
  DeadlockWatch deadlocks(control.get(), buyer_count, event_count);
  // After a SIGCHLD, the parent reaps the children it knows have ended,
  // then looks at every child for one whose SIGCHLD was merged into
  // another's. That look costs about 0.1 us for each child still running,
  // so it comes at most every 2 ms, and 10 us per running child less often
  // (100 ms with 10,000), however many SIGCHLDs come: at most 1% of the
  // parent's time.
  const auto reap_any_every_ns = [&reaper] {
    return int64_t{2000000} + static_cast<int64_t>(reaper.running()) * 10000;
  };
  int64_t next_watch = start + kWatchEveryNs;
  int64_t next_resume = INT64_MAX;
  int64_t next_reap_any = 0;
  bool reap_any_due = true;
  // By a timeout, an interrupt, a failed guard, or the system failing.
  bool ended = !control.get()->failure.empty();
  // A holder of a guard nothing will release has died: every buyer after it
  // would wait it out. Name it and end the run.
  const auto abandoned = [&](const std::vector<uint32_t>& killed) {
    for (uint32_t p : killed) {
      const int64_t buyer = LastServedBy(*control.get(), buyer_count, p);
      if (buyer < 0 || !AbandonedIfHolderDies(scenario.guard.kind)) continue;
      const uint32_t held = control.get()->slots[buyer].held.load();
      for (size_t e = 0; e < event_count; ++e) {
        if ((held & (1u << e)) == 0) continue;
        result->abandoned.push_back(
            {static_cast<uint32_t>(buyer), result->processes[p].pid,
             result->processes[p].signal, e,
             static_cast<uint64_t>(MonotonicNs() - start)});
        ended = true;
      }
    }
  };
  // Notes why and when the run is being ended, as it kills its buyers.
  const auto end_run = [&] {
    if (result->ended_by != RunEnd::kNone) return;
    result->ended_by = !result->deadlock.empty()    ? RunEnd::kDeadlock
                       : !result->abandoned.empty() ? RunEnd::kAbandoned
                       : result->interrupted        ? RunEnd::kInterrupt
                       : result->timed_out          ? RunEnd::kTimeLimit
                       : result->stopped            ? RunEnd::kStopped
                                                    : RunEnd::kFailure;
    result->ended_ns = static_cast<uint64_t>(MonotonicNs() - start);
  };
  if (controlled) {
    Status bad;
    const auto interrupted_or_server_gone = [&](int sig) {
      if (sig == SIGCHLD) CheckServer(scenario, control.get());
      return interrupted(sig);
    };
    RunControlled(scenario, control.get(), steps.get(), process_count, signals,
                  chooser, stores, interrupted_or_server_gone, pause_ns,
                  abandoned, &reaper, result, &ended, &bad);
    if (ended) {
      end_run();
      reaper.KillAndReapAll();
    }
    if (!bad.ok()) return bad;
    // Each step had the run's limit; what is left is for the buyers to end.
    deadline = MonotonicNs() + RunTimeoutMs(scenario) * 1000000;
  }
  while (reaper.running() > 0) {
    const int64_t now = MonotonicNs();
    int64_t wake = ended ? now : std::min(deadline, next_resume);
    if (progress || watch_deadlock) wake = std::min(wake, next_watch);
    if (reap_any_due) wake = std::min(wake, next_reap_any);
    pid_t child = 0;
    const int sig = signals.Wait(wake - now, &child);
    if (interrupted(sig)) ended = true;
    std::vector<uint32_t> killed;
    if (sig == SIGCHLD) {
      reaper.ReapNamed(child, pause_ns, &killed);
      reap_any_due = true;
      CheckServer(scenario, control.get());
    }
    if (reap_any_due && MonotonicNs() >= next_reap_any) {
      next_reap_any = MonotonicNs() + reap_any_every_ns();
      reap_any_due = !reaper.ReapAny(pause_ns, &killed);
    }
    abandoned(killed);
    next_resume = reaper.ResumeDue(MonotonicNs());
    if (MonotonicNs() >= next_watch) {
      next_watch = MonotonicNs() + kWatchEveryNs;
      if (progress) progress(control.get()->AttemptsDone(buyer_count));
      if (watch_deadlock) {
        result->deadlock = deadlocks.Check(result->processes);
        if (!result->deadlock.empty()) {
          result->deadlock_ns = static_cast<uint64_t>(MonotonicNs() - start);
          ended = true;
        }
      }
    }
    if (!ended && MonotonicNs() >= deadline) {
      result->timed_out = true;
      ended = true;
    }
    // The system failed a buyer: what the others do now proves nothing.
    if (!control.get()->failure.empty()) ended = true;
    if (ended) {
      end_run();
      reaper.KillAndReapAll();
    }
  }
  result->seconds = static_cast<double>(MonotonicNs() - start) / 1e9;
  result->served_by.resize(buyer_count);
  const bool pool = scenario.buyers.pool > 0;
  for (uint32_t i = 0; i < buyer_count; ++i) {
    result->served_by[i] = control.get()->slots[i].process.load();
    // Without a pool buyer i is process i, even one killed before it began.
    if (!pool && result->served_by[i] < 0) {
      result->served_by[i] = static_cast<int32_t>(i);
    }
  }
  for (const auto& [process, at] : reaper.continued()) {
    result->continued.emplace_back(process, static_cast<uint64_t>(at - start));
  }

  std::string final_failure;
  ReadFinalCounts(stores, &final_failure, result);
  if (!final_failure.empty()) control.get()->failure.Set(final_failure);
  // An interrupt that came after the last buyer ended still counts.
  for (int sig; (sig = signals.Wait(0)) != 0;) interrupted(sig);
  result->first_store_error = control.get()->first_store_error.Get();
  result->first_guard_error = control.get()->first_guard_error.Get();
  if (std::string why = control.get()->failure.Get();
      !why.empty() && !result->interrupted) {
    return Status::Environment(why);
  }
  return Status::Ok();
}

}  // namespace ticketsim
