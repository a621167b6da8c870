#include "sim/run.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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
  ~RunCleanup() { RemoveRunObjects(names_, purposes_); }
  void Add(const std::vector<std::string>& purposes) {
    purposes_.insert(purposes_.end(), purposes.begin(), purposes.end());
  }

 private:
  const RunNames& names_;
  std::vector<std::string> purposes_;
};

// Blocks SIGINT, SIGTERM and SIGCHLD for the life of the run, so that they
// are taken only where the parent waits for them (sigtimedwait) and never
// cut it off between creating and removing the run's objects. Buyers
// inherit the mask: Ctrl-C reaches the parent, which stops them.
class RunSignals {
 public:
  RunSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set_, &old_);
  }
  ~RunSignals() { sigprocmask(SIG_SETMASK, &old_, nullptr); }

  // Waits up to `ns` for one of the run's signals; returns it, or 0.
  int Wait(int64_t ns) const {
    if (ns < 0) ns = 0;
    timespec limit{static_cast<time_t>(ns / 1000000000), ns % 1000000000};
    const int sig = sigtimedwait(&set_, nullptr, &limit);
    return sig > 0 ? sig : 0;
  }

 private:
  sigset_t set_;
  sigset_t old_;
};

// Anonymous shared memory for the start barrier and the buyers' slots: no
// name, nothing to remove.
class SharedControl {
 public:
  explicit SharedControl(size_t buyers)
      : bytes_(sizeof(BuyerSlot) * (buyers + 1)) {
    static_assert(sizeof(RunControl) <= sizeof(BuyerSlot));
    void* at = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (at == MAP_FAILED) return;
    // The control block takes the first slot's room, the slots the rest.
    control_ = new (at) RunControl();
    control_->slots =
        new (static_cast<char*>(at) + sizeof(BuyerSlot)) BuyerSlot[buyers];
  }
  ~SharedControl() {
    if (control_ != nullptr) munmap(control_, bytes_);
  }
  RunControl* get() const { return control_; }

 private:
  const size_t bytes_;
  RunControl* control_ = nullptr;
};

class BuyerReaper {
 public:
  explicit BuyerReaper(std::vector<BuyerProcess>* processes)
      : buyers_(processes) {}

  void Started(uint32_t index, pid_t pid) {
    (*buyers_)[index].pid = pid;
    index_of_[pid] = index;
    ++running_;
  }
  size_t running() const { return running_; }

  // Reaps every buyer that has ended, without blocking.
  void ReapEnded() { Reap(WNOHANG); }

  void KillAll() {
    for (const auto& [pid, index] : index_of_) {
      if ((*buyers_)[index].exit_code < 0 && (*buyers_)[index].signal == 0) {
        kill(pid, SIGKILL);
      }
    }
  }

  // Kills every buyer still running and reaps them all, blocking.
  void KillAndReapAll() {
    KillAll();
    Reap(0);
  }

 private:
  void Reap(int options) {
    while (running_ > 0) {
      int status = 0;
      const pid_t pid = waitpid(-1, &status, options);
      if (pid < 0 && errno == EINTR) continue;
      if (pid <= 0) return;
      auto it = index_of_.find(pid);
      if (it == index_of_.end()) continue;
      BuyerProcess& buyer = (*buyers_)[it->second];
      if (WIFEXITED(status)) buyer.exit_code = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) buyer.signal = WTERMSIG(status);
      --running_;
    }
  }

  std::vector<BuyerProcess>* buyers_;
  std::unordered_map<pid_t, uint32_t> index_of_;
  size_t running_ = 0;
};

[[noreturn]] void BuyerMain(const Scenario& scenario, uint32_t process,
                            pid_t parent, TicketStore* store, Guard* guard,
                            RunControl* control, HistoryArena* history) {
  // Die with the parent; if it is already gone, do not start at all.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(kBuyerAttachFailed);
  // _exit, not exit: a buyer must not run the parent's destructors (they
  // would remove the run's objects) or flush its stdio buffers twice.
  _exit(RunBuyerProcess(scenario, process, store, guard, control, history));
}

}  // namespace

Status RunScenario(const Scenario& scenario, RunResult* result,
                   const ProgressFn& progress) {
  // First, so that the cleanup below runs before the mask is lifted.
  RunSignals signals;
  // What a run that was killed outright left behind goes now.
  CleanLeftovers(/*all=*/false);
  result->scenario = scenario;
  result->names = NewRunNames();
  const RunNames& names = result->names;
  const uint32_t buyer_count = static_cast<uint32_t>(scenario.buyers.count);
  const uint32_t process_count = static_cast<uint32_t>(ProcessCount(scenario));

  const size_t events_per_buyer =
      static_cast<size_t>(scenario.buyers.attempts) * kEventsPerAttempt;
  if (HistoryBytes(scenario) > kMaxHistoryBytes) {
    return Status::Invalid("the history would not fit; see ValidateScenario");
  }

  Status s = CreateRunDirectory(names);
  if (!s.ok()) return s;
  RunCleanup cleanup(names);
  std::unique_ptr<TicketStore> store = MakeStore(scenario.store, names);
  cleanup.Add(store->ObjectPurposes());
  s = store->Create(scenario.initial);
  if (!s.ok()) return s;
  std::unique_ptr<Guard> guard = MakeGuard(scenario.guard, names, store.get());
  cleanup.Add(guard->ObjectPurposes());
  s = guard->Create();
  if (!s.ok()) return s;

  result->history = std::make_unique<HistoryArena>();
  s = result->history->Map(buyer_count, events_per_buyer);
  if (!s.ok()) return s;
  SharedControl control(buyer_count);
  if (control.get() == nullptr) {
    return Status::FromErrno("map the start barrier", errno);
  }

  result->processes.assign(process_count, BuyerProcess{});
  BuyerReaper reaper(&result->processes);
  const pid_t parent = getpid();
  for (uint32_t i = 0; i < process_count; ++i) {
    const pid_t pid = fork();
    if (pid == 0) {
      BuyerMain(scenario, i, parent, store.get(), guard.get(), control.get(),
                result->history.get());
    }
    if (pid < 0) {
      const int err = errno;
      reaper.KillAndReapAll();
      return Status::FromErrno(
          fmt::format("fork buyer process {} of {}", i + 1, process_count),
          err);
    }
    reaper.Started(i, pid);
  }

  // The start barrier: open it once every buyer has attached, so that all
  // of them start their first purchase together.
  const int64_t attach_deadline = MonotonicNs() + kAttachTimeoutNs;
  while (control.get()->ready.load() < process_count) {
    reaper.ReapEnded();
    if (reaper.running() < process_count || MonotonicNs() > attach_deadline) {
      reaper.KillAndReapAll();
      return Status::IOError(fmt::format(
          "only {} of {} buyer processes could open the store and the guard",
          control.get()->ready.load(), process_count));
    }
    if (const int sig = signals.Wait(200000); sig == SIGINT || sig == SIGTERM) {
      reaper.KillAndReapAll();
      result->interrupted = true;
      result->interrupt_signal = sig;
      return Status::Ok();
    }
  }
  OpenStartBarrier(control.get());
  const int64_t start = control.get()->start_ns.load();
  const int64_t deadline = start + RunTimeoutMs(scenario) * 1000000;

  constexpr int64_t kProgressEveryNs = 100000000;
  reaper.ReapEnded();
  while (reaper.running() > 0) {
    const int sig = signals.Wait(
        std::min(deadline - MonotonicNs(),
                 progress ? kProgressEveryNs : deadline - MonotonicNs()));
    if (progress) progress(control.get()->AttemptsDone(buyer_count));
    if (sig == SIGINT || sig == SIGTERM) {
      result->interrupted = true;
      result->interrupt_signal = sig;
    } else if (sig == 0 && MonotonicNs() >= deadline) {
      result->timed_out = true;
    }
    if (result->interrupted || result->timed_out) {
      reaper.KillAndReapAll();
    } else {
      reaper.ReapEnded();
    }
  }
  result->seconds = static_cast<double>(MonotonicNs() - start) / 1e9;
  result->served_by.resize(buyer_count);
  for (uint32_t i = 0; i < buyer_count; ++i) {
    result->served_by[i] = control.get()->slots[i].process.load();
  }

  s = store->Attach();
  Reading reading;
  if (s.ok()) s = store->Read(&reading);
  store->Detach();
  if (s.ok()) {
    result->final_count = reading.count;
  } else {
    result->final_error = s.message();
  }
  // An interrupt that came after the last buyer ended still counts.
  for (int sig; (sig = signals.Wait(0)) != 0;) {
    if (sig == SIGINT || sig == SIGTERM) {
      result->interrupted = true;
      result->interrupt_signal = sig;
    }
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

Verdict CheckRun(const RunResult& result) {
  CheckInput input;
  input.initial = result.scenario.initial;
  input.final_count = result.final_count;
  input.final_error = result.final_error;
  const std::vector<bool> killed = KilledBuyers(result);
  for (size_t i = 0; i < result.served_by.size(); ++i) {
    const int32_t process = result.served_by[i];
    input.events.push_back(result.history->EventsOf(static_cast<uint32_t>(i)));
    input.pids.push_back(process < 0 ? 0 : result.processes[process].pid);
    input.killed.push_back(killed[i]);
  }
  return Check(input);
}

}  // namespace ticketsim
