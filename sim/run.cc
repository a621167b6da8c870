#include "sim/run.h"

#include <fmt/format.h>
#include <malloc.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <unordered_map>

#include "sim/buyer.h"
#include "sim/guard.h"
#include "storage/ticket_store.h"

namespace ticketsim {
namespace {

// How long all buyers may take to attach before the run is given up.
constexpr int64_t kAttachTimeoutNs = int64_t{60} * 1000000000;

// Removes the run's named objects and directory when it goes out of scope,
// on every path out of RunScenario.
class RunCleanup {
 public:
  explicit RunCleanup(const RunNames& names) : names_(names) {}
  // The events' own names first, then the run's (its directory holds
  // theirs).
  ~RunCleanup() {
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

 private:
  const RunNames& names_;
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
  out->dir = fmt::format("{}/e{}", run.dir, event);
  return CreateRunDirectory(*out);
}

// A guard that nothing releases when its holder dies.
bool AbandonedIfHolderDies(GuardKind kind) {
  return kind == GuardKind::kNamedMutex || kind == GuardKind::kNamedSemaphore;
}

// Blocks every interrupt (sim/interrupt.h) and SIGCHLD for the life of the
// run, so that they are taken only where the parent waits for them
// (sigtimedwait) and never cut it off between creating and removing the
// run's objects. Buyers inherit the mask: Ctrl-C, or the SIGHUP of a closed
// terminal, reaches the parent, which stops them. An interrupt that comes
// after the last wait is delivered when the mask is lifted, once everything
// is removed, and ends ticketsim there (EndOnInterrupt).
class RunSignals {
 public:
  RunSignals() {
    set_ = InterruptSignals();
    sigaddset(&set_, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set_, &old_);
  }
  ~RunSignals() { sigprocmask(SIG_SETMASK, &old_, nullptr); }

  // Waits up to `ns` for one of the run's signals; returns it, or 0. For a
  // SIGCHLD that says a child ended or stopped, sets `*child` to that
  // child's pid (0 otherwise). SIGCHLDs are not queued: one can stand for
  // several children.
  int Wait(int64_t ns, pid_t* child = nullptr) const {
    if (ns < 0) ns = 0;
    timespec limit{static_cast<time_t>(ns / 1000000000), ns % 1000000000};
    siginfo_t info{};
    const int sig = sigtimedwait(&set_, &info, &limit);
    if (child != nullptr) {
      *child =
          sig == SIGCHLD && info.si_code != CLD_CONTINUED ? info.si_pid : 0;
    }
    return sig > 0 ? sig : 0;
  }

 private:
  sigset_t set_;
  sigset_t old_;
};

// Anonymous shared memory for the start barrier, the buyers' slots and the
// list of ended processes: no name, nothing to remove.
class SharedControl {
 public:
  SharedControl(size_t buyers, size_t processes)
      : bytes_(kControlBytes + sizeof(BuyerSlot) * buyers +
               sizeof(std::atomic<uint32_t>) * processes) {
    void* at = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (at == MAP_FAILED) return;
    // The control block first, the slots after it, then the list of ended
    // processes.
    char* bytes = static_cast<char*>(at);
    control_ = new (bytes) RunControl();
    control_->slots = new (bytes + kControlBytes) BuyerSlot[buyers];
    control_->ended = new (bytes + kControlBytes + sizeof(BuyerSlot) * buyers)
        std::atomic<uint32_t>[processes];
  }
  ~SharedControl() {
    if (control_ != nullptr) munmap(control_, bytes_);
  }
  RunControl* get() const { return control_; }

 private:
  // The control block's room: whole slots, so that the slots stay aligned.
  static constexpr size_t kControlBytes =
      (sizeof(RunControl) + sizeof(BuyerSlot) - 1) / sizeof(BuyerSlot) *
      sizeof(BuyerSlot);

  const size_t bytes_;
  RunControl* control_ = nullptr;
};

// Where the parent writes each buyer's pid as it forks them. A page the
// parent shares with a child is copied when the parent writes to it, and
// every fork shares the parent's pages again; these pages are not passed
// to children at all (MADV_DONTFORK), so writing them copies nothing.
class ForkedPids {
 public:
  explicit ForkedPids(size_t processes)
      : bytes_(sizeof(pid_t) * std::max<size_t>(processes, 1)) {
    void* at = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (at == MAP_FAILED) return;
    pids_ = static_cast<pid_t*>(at);
    madvise(at, bytes_, MADV_DONTFORK);
  }
  ~ForkedPids() {
    if (pids_ != nullptr) munmap(pids_, bytes_);
  }
  pid_t* get() const { return pids_; }

 private:
  const size_t bytes_;
  pid_t* pids_ = nullptr;
};

// Tells the parent that process `process` is about to exit (see
// RunControl::ended).
void SayEnded(RunControl* control, uint32_t process) {
  const uint32_t at = control->ended_count.fetch_add(1);
  control->ended[at].store(process + 1, std::memory_order_release);
}

class BuyerReaper {
 public:
  BuyerReaper(std::vector<BuyerProcess>* processes, const RunControl* control)
      : buyers_(processes), control_(control) {}

  void Started(uint32_t index, pid_t pid) {
    (*buyers_)[index].pid = pid;
    index_of_[pid] = index;
    ++running_;
  }
  size_t running() const { return running_; }

  // Reaps, without blocking, the child a SIGCHLD named (`named`, or 0) and
  // the buyers that said they were ending (see RunControl::ended), in the
  // order they said so, up to the first that has not exited yet; notes one
  // that stopped itself (pause_holder) to continue it `pause_ns` later;
  // adds the indices of those a signal killed to `killed`. Each reap costs
  // the same however many children there are.
  void ReapNamed(pid_t named, int64_t pause_ns, std::vector<uint32_t>* killed) {
    if (named > 0) ReapOne(named, pause_ns, killed);
    for (uint32_t entry;
         said_ < control_->ended_count.load() &&
         (entry = control_->ended[said_].load(std::memory_order_acquire)) != 0;
         ++said_) {
      if (!ReapOne((*buyers_)[entry - 1].pid, pause_ns, killed)) break;
    }
  }

  // As ReapNamed, for any buyer that has ended or stopped: the only way to
  // find one whose SIGCHLD was merged into another's. Each reap looks at
  // every child up to the one it finds, so this one stops after a few;
  // returns false if there may be more.
  bool ReapAny(int64_t pause_ns, std::vector<uint32_t>* killed) {
    constexpr size_t kAtMost = 32;
    return Reap(WNOHANG, pause_ns, killed, kAtMost) < kAtMost;
  }

  // Continues the paused buyers whose time has come; returns when the next
  // one is due (INT64_MAX if none).
  int64_t ResumeDue(int64_t now) {
    int64_t next = INT64_MAX;
    for (auto it = paused_.begin(); it != paused_.end();) {
      if (it->second <= now) {
        kill(it->first, SIGCONT);
        it = paused_.erase(it);
      } else {
        next = std::min(next, it->second);
        ++it;
      }
    }
    return next;
  }

  void KillAll() {
    for (const auto& [pid, index] : index_of_) {
      if (!Reaped((*buyers_)[index])) kill(pid, SIGKILL);
    }
  }

  // Kills every buyer still running and reaps them all, blocking.
  void KillAndReapAll() {
    KillAll();  // SIGKILL ends a stopped process too
    paused_.clear();
    std::vector<uint32_t> killed;
    Reap(0, 0, &killed, SIZE_MAX);
  }

 private:
  static bool Reaped(const BuyerProcess& buyer) {
    return buyer.exit_code >= 0 || buyer.signal != 0;
  }

  // Reaps `pid` if it has ended (or notes that it stopped); returns false if
  // it is still running.
  bool ReapOne(pid_t pid, int64_t pause_ns, std::vector<uint32_t>* killed) {
    int status = 0;
    pid_t got;
    while ((got = waitpid(pid, &status, WNOHANG | WUNTRACED)) < 0 &&
           errno == EINTR) {
    }
    if (got == 0) return false;
    if (got == pid) Ended(pid, status, pause_ns, killed);
    return true;  // or reaped already
  }

  // Waits for any child, with `options`, until none is left to reap or
  // `at_most` have been; returns how many were.
  size_t Reap(int options, int64_t pause_ns, std::vector<uint32_t>* killed,
              size_t at_most) {
    size_t reaped = 0;
    while (running_ > 0 && reaped < at_most) {
      int status = 0;
      const pid_t pid = waitpid(-1, &status, options | WUNTRACED);
      if (pid < 0 && errno == EINTR) continue;
      if (pid <= 0) break;
      Ended(pid, status, pause_ns, killed);
      ++reaped;
    }
    return reaped;
  }

  // Books what waitpid said of `pid`.
  void Ended(pid_t pid, int status, int64_t pause_ns,
             std::vector<uint32_t>* killed) {
    auto it = index_of_.find(pid);
    if (it == index_of_.end()) return;
    if (WIFSTOPPED(status)) {
      paused_[pid] = MonotonicNs() + pause_ns;
      return;
    }
    BuyerProcess& buyer = (*buyers_)[it->second];
    if (Reaped(buyer)) return;
    if (WIFEXITED(status)) buyer.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) {
      buyer.signal = WTERMSIG(status);
      killed->push_back(it->second);
    }
    paused_.erase(pid);
    --running_;
  }

  std::vector<BuyerProcess>* buyers_;
  const RunControl* control_;
  std::unordered_map<pid_t, uint32_t> index_of_;
  std::unordered_map<pid_t, int64_t> paused_;  // pid -> when to continue it
  uint32_t said_ = 0;  // entries of control_->ended reaped
  size_t running_ = 0;
};

// The buyer process `process` was serving when it ended: the highest one
// it took (a process serves its buyers in increasing order), or -1.
int64_t LastServedBy(const RunControl& control, size_t buyers,
                     uint32_t process) {
  int64_t last = -1;
  for (size_t b = 0; b < buyers; ++b) {
    if (control.slots[b].process.load() == static_cast<int32_t>(process)) {
      last = static_cast<int64_t>(b);
    }
  }
  return last;
}

// Finds a cycle of buyers each waiting for a guard the next one holds. A
// cycle counts once it is seen twice, a check apart, with every buyer still
// in the same wait: the slots are read one by one, not all at one instant,
// so one sighting could be pieced together from moments that never were.
class DeadlockWatch {
 public:
  DeadlockWatch(const RunControl* control, size_t buyers, size_t events)
      : control_(control), buyers_(buyers), events_(events) {}

  // Returns the cycle, once confirmed; empty otherwise.
  std::vector<DeadlockLink> Check(const std::vector<BuyerProcess>& processes) {
    std::vector<int64_t> holder(events_, -1);
    std::vector<uint32_t> waiting(buyers_), waits(buyers_), held(buyers_);
    for (size_t b = 0; b < buyers_; ++b) {
      const BuyerSlot& slot = control_->slots[b];
      waiting[b] = slot.waiting.load(std::memory_order_acquire);
      waits[b] = slot.waits.load(std::memory_order_relaxed);
      held[b] = slot.held.load(std::memory_order_acquire);
      for (size_t e = 0; e < events_; ++e) {
        if (held[b] & (1u << e)) holder[e] = static_cast<int64_t>(b);
      }
    }
    std::vector<std::pair<uint32_t, uint32_t>> cycle;  // buyer, its waits
    for (size_t start = 0; start < buyers_ && cycle.empty(); ++start) {
      // Follow start -> the holder of what it waits for -> ...
      std::vector<size_t> path;
      size_t b = start;
      while (waiting[b] != 0 && path.size() <= buyers_) {
        const auto seen = std::find(path.begin(), path.end(), b);
        if (seen != path.end()) {
          for (auto it = seen; it != path.end(); ++it) {
            cycle.emplace_back(static_cast<uint32_t>(*it), waits[*it]);
          }
          break;
        }
        path.push_back(b);
        const int64_t next = holder[waiting[b] - 1];
        if (next < 0 || static_cast<size_t>(next) == b) break;
        b = static_cast<size_t>(next);
      }
    }
    const bool confirmed = !cycle.empty() && cycle == last_;
    last_ = cycle;
    if (!confirmed) return {};
    std::vector<DeadlockLink> links;
    for (const auto& [buyer, unused] : cycle) {
      DeadlockLink link;
      link.buyer = buyer;
      const int32_t process = control_->slots[buyer].process.load();
      link.pid = process < 0 ? 0 : processes[process].pid;
      link.waits_for = waiting[buyer] - 1;
      for (size_t e = 0; e < events_; ++e) {
        if ((held[buyer] & (1u << e)) && e != link.waits_for) link.holds = e;
      }
      links.push_back(link);
    }
    return links;
  }

 private:
  const RunControl* control_;
  const size_t buyers_;
  const size_t events_;
  std::vector<std::pair<uint32_t, uint32_t>> last_;
};

// Why not every buyer process reached the start barrier: the first one's
// own words, else the first that a signal killed or that exited, else that
// they were too slow.
std::string StartUpFailure(const RunControl& control,
                           const std::vector<BuyerProcess>& processes) {
  if (std::string why = control.failure.Get(); !why.empty()) return why;
  for (size_t p = 0; p < processes.size(); ++p) {
    if (processes[p].signal != 0) {
      return fmt::format(
          "buyer process {} was killed by {} during start-up, before the "
          "run began",
          p, SignalName(processes[p].signal));
    }
  }
  for (size_t p = 0; p < processes.size(); ++p) {
    if (processes[p].exit_code >= 0) {
      return fmt::format(
          "buyer process {} exited with status {} during start-up, before "
          "the run began",
          p, processes[p].exit_code);
    }
  }
  return fmt::format("they did not within {} s", kAttachTimeoutNs / 1000000000);
}

[[noreturn]] void BuyerMain(const Scenario& scenario, uint32_t process,
                            pid_t parent, std::span<TicketStore* const> stores,
                            std::span<Guard* const> guards, RunControl* control,
                            HistoryArena* history, TallyArena* tallies) {
  // Die with the parent; if it is already gone, do not start at all.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(kBuyerAttachFailed);
  // The run's mask blocks SIGALRM as an interrupt of the parent's; a buyer
  // needs it for the file-lock guard's timer (which installs its handler
  // when it attaches), and none sent from outside must end it.
  signal(SIGALRM, SIG_IGN);
  sigset_t alarm;
  sigemptyset(&alarm);
  sigaddset(&alarm, SIGALRM);
  sigprocmask(SIG_UNBLOCK, &alarm, nullptr);
  // _exit, not exit: a buyer must not run the parent's destructors (they
  // would remove the run's objects) or flush its stdio buffers twice.
  const int code = RunBuyerProcess(scenario, process, stores, guards, control,
                                   history, tallies);
  SayEnded(control, process);
  _exit(code);
}

}  // namespace

Status RunScenario(const Scenario& scenario, RunResult* result,
                   const ProgressFn& progress,
                   [[maybe_unused]] StepChooser* chooser) {
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
  RunCleanup cleanup(names);
  // One store and one guard per event.
  std::vector<std::unique_ptr<TicketStore>> stores;
  std::vector<std::unique_ptr<Guard>> guards;
  std::vector<TicketStore*> store_ptrs;
  std::vector<Guard*> guard_ptrs;
  for (size_t e = 0; e < event_count; ++e) {
    RunNames event_names;
    s = EventNames(names, e, &event_names);
    if (!s.ok()) return s;
    stores.push_back(MakeStore(scenario.store, event_names));
    cleanup.Add(event_names, stores.back()->ObjectPurposes());
    s = stores.back()->Create(scenario.initial);
    if (!s.ok()) return s;
    guards.push_back(
        MakeGuard(scenario.guard, event_names, stores.back().get()));
    cleanup.Add(event_names, guards.back()->ObjectPurposes());
    s = guards.back()->Create();
    if (!s.ok()) return s;
    store_ptrs.push_back(stores.back().get());
    guard_ptrs.push_back(guards.back().get());
  }

  result->history = std::make_unique<HistoryArena>();
  s = result->history->Map(buyer_count, events_per_buyer);
  if (!s.ok()) return s;
  if (summary) {
    result->tallies = std::make_unique<TallyArena>();
    s = result->tallies->Map(buyer_count, scenario.initial,
                             SeatMapSeats(scenario), scenario.buyers.attempts);
    if (!s.ok()) return s;
  }
  SharedControl control(buyer_count, process_count);
  if (control.get() == nullptr) {
    return Status::FromErrno("map the start barrier", errno);
  }

  BuyerReaper reaper(&result->processes, control.get());
  ForkedPids pids(process_count);
  if (pids.get() == nullptr) return Status::FromErrno("map the pids", errno);
  // Every page the parent has is shared with each child (its entry copied
  // at fork, dropped at exit): give the heap's free pages back first.
  malloc_trim(0);
  const pid_t parent = getpid();
  for (uint32_t i = 0; i < process_count; ++i) {
    const pid_t pid = fork();
    if (pid == 0) {
      BuyerMain(scenario, i, parent, store_ptrs, guard_ptrs, control.get(),
                result->history.get(), result->tallies.get());
    }
    if (pid < 0) {
      const int err = errno;
      result->processes.assign(i, BuyerProcess{});
      for (uint32_t j = 0; j < i; ++j) reaper.Started(j, pids.get()[j]);
      reaper.KillAndReapAll();
      return Status::FromErrno(
          fmt::format("fork buyer process {} of {}", i + 1, process_count),
          err);
    }
    pids.get()[i] = pid;
  }
  result->processes.assign(process_count, BuyerProcess{});
  for (uint32_t i = 0; i < process_count; ++i) {
    reaper.Started(i, pids.get()[i]);
  }

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
  const int64_t attach_deadline = MonotonicNs() + kAttachTimeoutNs;
  for (int sig = SIGCHLD; control.get()->ready.load() < process_count;) {
    // Only when one has ended: ReapAny looks at every child.
    if (sig == SIGCHLD) {
      std::vector<uint32_t> killed;
      reaper.ReapAny(pause_ns, &killed);
    }
    if (reaper.running() < process_count || MonotonicNs() > attach_deadline) {
      const uint32_t ready = control.get()->ready.load();
      const std::string why = StartUpFailure(*control.get(), result->processes);
      reaper.KillAndReapAll();
      return Status::IOError(fmt::format(
          "only {} of {} buyer processes could open the store and the guard{}",
          ready, process_count, why.empty() ? "" : ": " + why));
    }
    sig = signals.Wait(200000);
    if (interrupted(sig)) {
      reaper.KillAndReapAll();
      return Status::Ok();
    }
  }
  OpenStartBarrier(control.get());
  const int64_t start = control.get()->start_ns.load();
  const int64_t deadline = start + RunTimeoutMs(scenario) * 1000000;

  // The parent looks at its buyers this often when it has something to
  // watch: progress, a deadlock, a paused holder to continue.
  constexpr int64_t kWatchEveryNs = 100000000;
  const bool watch_deadlock = event_count > 1 &&
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
  bool ended = false;  // by a timeout, an interrupt, or a failed guard
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
  while (reaper.running() > 0) {
    const int64_t now = MonotonicNs();
    int64_t wake = std::min(deadline, next_resume);
    if (progress || watch_deadlock) wake = std::min(wake, next_watch);
    if (reap_any_due) wake = std::min(wake, next_reap_any);
    pid_t child = 0;
    const int sig = signals.Wait(wake - now, &child);
    if (interrupted(sig)) ended = true;
    std::vector<uint32_t> killed;
    if (sig == SIGCHLD) {
      reaper.ReapNamed(child, pause_ns, &killed);
      reap_any_due = true;
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
    if (ended) reaper.KillAndReapAll();
  }
  result->seconds = static_cast<double>(MonotonicNs() - start) / 1e9;
  result->served_by.resize(buyer_count);
  for (uint32_t i = 0; i < buyer_count; ++i) {
    result->served_by[i] = control.get()->slots[i].process.load();
  }

  for (size_t e = 0; e < event_count; ++e) {
    TicketStore* store = stores[e].get();
    s = store->Attach();
    Reading reading;
    if (s.ok()) s = store->Read(&reading);
    store->Detach();
    result->final_counts.push_back(
        s.ok() ? std::optional<int64_t>(reading.count) : std::nullopt);
    result->final_errors.push_back(s.ok() ? "" : s.message());
    // A count the system would not let us read is not a corrupt one.
    if (s.code() == Status::Code::kEnvironment) {
      control.get()->failure.Set("reading the final count: " + s.message());
    }
  }
  result->final_count = result->final_counts[0];
  result->final_error = result->final_errors[0];
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

namespace {

// The run's own findings, which no history shows: an abandoned lock, a
// deadlock.
void AddRunViolations(const RunResult& result, Verdict* verdict) {
  const Scenario& scenario = result.scenario;
  const std::string guard(WordOf(kGuardKinds, scenario.guard.kind));
  const auto guard_of = [&](size_t event) {
    return EventCount(scenario) == 1
               ? guard
               : fmt::format("{}'s {}", EventName(scenario, event), guard);
  };
  if (!result.abandoned.empty()) {
    Violation v;
    v.kind = ViolationKind::kAbandonedLock;
    v.count = static_cast<int64_t>(result.abandoned.size());
    for (const AbandonedLock& a : result.abandoned) {
      if (v.witnesses.size() == kMaxWitnesses) break;
      v.witnesses.push_back(
          fmt::format("buyer {} (pid {}) died by SIG{} at {} holding the {}",
                      a.buyer, a.pid, sigabbrev_np(a.signal),
                      FormatTime(a.time_ns), guard_of(a.event)));
    }
    const AbandonedLock& first = result.abandoned.front();
    v.summary = fmt::format(
        "pid {} died holding the {}, which nothing releases: every buyer "
        "after it would have waited out its timeout, so the run was ended",
        first.pid, guard_of(first.event));
    verdict->violations.push_back(std::move(v));
  }
  if (!result.deadlock.empty()) {
    Violation v;
    v.kind = ViolationKind::kDeadlock;
    v.count = 1;
    std::string cycle;
    for (const DeadlockLink& link : result.deadlock) {
      const std::string text =
          fmt::format("buyer {} (pid {}) holds {} and waits for {}", link.buyer,
                      link.pid, guard_of(link.holds), guard_of(link.waits_for));
      cycle += (cycle.empty() ? "" : "; ") + text;
      if (v.witnesses.size() < kMaxWitnesses) v.witnesses.push_back(text);
    }
    v.summary = fmt::format(
        "a cycle of {} buyers, found at {}: {}; none can go on, so the run "
        "was ended",
        result.deadlock.size(), FormatTime(result.deadlock_ns), cycle);
    verdict->violations.push_back(std::move(v));
  }
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

Verdict CheckRun(const RunResult& result) {
  const size_t event_count = EventCount(result.scenario);
  const std::vector<bool> killed = KilledBuyers(result);
  if (result.tallies != nullptr) {
    TallyInput input;
    input.initial = result.scenario.initial;
    input.final_count = result.final_count;
    input.final_error = result.final_error;
    input.tallies = result.tallies.get();
    for (size_t i = 0; i < result.served_by.size(); ++i) {
      const int32_t process = result.served_by[i];
      input.pids.push_back(process < 0 ? 0 : result.processes[process].pid);
      input.killed.push_back(killed[i]);
    }
    Verdict verdict = CheckTallies(input);
    AddRunViolations(result, &verdict);
    AddFirstErrors(result, &verdict);
    return verdict;
  }
  // Each event's books are checked alone, from its own events.
  std::vector<std::vector<std::vector<Event>>> own(event_count);
  Verdict verdict;
  std::vector<Verdict::EventBooks> event_books;
  for (size_t e = 0; e < event_count; ++e) {
    CheckInput input;
    input.initial = result.scenario.initial;
    input.final_count = e < result.final_counts.size() ? result.final_counts[e]
                                                       : result.final_count;
    input.final_error = e < result.final_errors.size() ? result.final_errors[e]
                                                       : result.final_error;
    own[e].resize(result.served_by.size());
    for (size_t i = 0; i < result.served_by.size(); ++i) {
      const int32_t process = result.served_by[i];
      const auto events = result.history->EventsOf(static_cast<uint32_t>(i));
      if (event_count == 1) {
        input.events.push_back(events);
      } else {
        for (const Event& event : events) {
          if (event.event == e) own[e][i].push_back(event);
        }
        input.events.emplace_back(own[e][i]);
      }
      input.pids.push_back(process < 0 ? 0 : result.processes[process].pid);
      input.killed.push_back(killed[i]);
    }
    Verdict books = Check(input);
    if (event_count > 1) {
      event_books.push_back({EventName(result.scenario, e), books.final_count,
                             books.confirmed, books.indeterminate});
      for (Violation& v : books.violations) {
        v.summary =
            fmt::format("{}: {}", EventName(result.scenario, e), v.summary);
      }
    }
    if (e == 0) {
      verdict = std::move(books);
    } else {
      for (Violation& v : books.violations) {
        MergeViolation(std::move(v), &verdict);
      }
    }
  }
  verdict.events = std::move(event_books);
  AddRunViolations(result, &verdict);
  AddFirstErrors(result, &verdict);
  return verdict;
}

}  // namespace ticketsim
