#include "sim/buyers/buyer_processes.h"

#include <fmt/format.h>
#include <malloc.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <system_error>
#include <thread>

#include "base/interrupt.h"
#include "base/spawn.h"
#include "storage/make_store.h"

namespace ticketsim {
namespace {

// How long all buyers may take to attach before the run is given up.
constexpr int64_t kAttachTimeoutNs = int64_t{60} * 1000000000;

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

// Why not every buyer process reached the start barrier: the first one's
// own words, else the first that a signal killed or that exited, else that
// they were too slow.
std::string StartUpFailure(const RunControl& control,
                           const std::vector<BuyerProcess>& processes) {
  if (std::string why = control.failure.Get(); !why.empty()) return why;
  // Threads end together, with their process.
  const size_t each = control.threads ? std::min<size_t>(processes.size(), 1)
                                      : processes.size();
  const std::string what =
      control.threads ? "the buyer process" : "buyer process";
  for (size_t p = 0; p < each; ++p) {
    if (processes[p].signal != 0) {
      return fmt::format(
          "{} was killed by {} during start-up, before the run began",
          control.threads ? what : fmt::format("{} {}", what, p),
          SignalName(processes[p].signal));
    }
  }
  for (size_t p = 0; p < each; ++p) {
    if (processes[p].exit_code >= 0) {
      return fmt::format(
          "{} exited with status {} during start-up, before the run began",
          control.threads ? what : fmt::format("{} {}", what, p),
          processes[p].exit_code);
    }
  }
  return fmt::format("they did not within {} s", kAttachTimeoutNs / 1000000000);
}

// What every buyer process does first: dies with `parent` (and does not
// start if it is already gone), and takes SIGALRM for the file-lock guard.
void BecomeBuyerProcess(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(kBuyerAttachFailed);
  // The run's mask blocks SIGALRM as an interrupt of the parent's; a buyer
  // needs it for the file-lock guard's timer (which installs its handler
  // when it attaches), and none sent from outside must end it. Threads
  // started later inherit the mask.
  signal(SIGALRM, SIG_IGN);
  sigset_t alarm;
  sigemptyset(&alarm);
  sigaddset(&alarm, SIGALRM);
  sigprocmask(SIG_UNBLOCK, &alarm, nullptr);
}

// The one buyer process of a run whose buyers are threads: a thread per
// worker, each running RunBuyerProcess with its index, as a process would.
// Exits with the worst of their codes once every one has ended; a thread
// that cannot be started fails the whole start-up.
[[noreturn]] void ThreadedBuyerMain(const BuyerWork& work, uint32_t workers,
                                    pid_t parent) {
  BecomeBuyerProcess(parent);
  std::atomic<int> worst{kBuyerDone};
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (uint32_t t = 0; t < workers; ++t) {
    try {
      threads.emplace_back([&work, &worst, t] {
        const ThreadObjects own(work);
        const int code = RunBuyerProcess(own.For(work), t);
        SayEnded(work.control, t);
        int seen = worst.load();
        while (code > seen && !worst.compare_exchange_weak(seen, code)) {
        }
      });
    } catch (const std::system_error& e) {
      work.control->failure.Set(
          fmt::format("could not start buyer thread {} of {}: {}", t + 1,
                      workers, std::strerror(e.code().value())));
      _exit(kBuyerAttachFailed);  // ends the threads already started
    }
  }
  for (std::thread& thread : threads) thread.join();
  _exit(worst.load());
}

}  // namespace

ThreadObjects::ThreadObjects(const BuyerWork& work) {
  const ThreadObjectSpecs& specs = *work.threads;
  for (size_t e = 0; e < work.stores.size(); ++e) {
    TicketStore* store = work.stores[e];
    if (!store->SharedByThreads()) {
      own_stores_.push_back(MakeStore(specs.store, specs.names[e]));
      store = own_stores_.back().get();
    }
    Guard* guard = work.guards[e];
    if (!guard->SharedByThreads()) {
      own_guards_.push_back(MakeGuard(specs.guard, specs.names[e], store));
      guard = own_guards_.back().get();
    }
    stores_.push_back(store);
    guards_.push_back(guard);
  }
}

BuyerWork ThreadObjects::For(const BuyerWork& work) const {
  BuyerWork mine = work;
  mine.stores = stores_;
  mine.guards = guards_;
  return mine;
}

void BuyerChildMain(const BuyerWork& work, uint32_t process, pid_t parent) {
  BecomeBuyerProcess(parent);
  // _exit, not exit: a buyer must not run the parent's destructors (they
  // would remove the run's objects) or flush its stdio buffers twice.
  const int code = RunBuyerProcess(work, process);
  SayEnded(work.control, process);
  _exit(code);
}

SharedControl::SharedControl(size_t buyers, size_t processes)
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

SharedControl::~SharedControl() {
  if (control_ != nullptr) munmap(control_, bytes_);
}

void BuyerReaper::Started(uint32_t index, pid_t pid) {
  (*buyers_)[index].pid = pid;
  workers_of_[pid].push_back(index);
  ++running_;
}

void BuyerReaper::ReapNamed(pid_t named, int64_t pause_ns,
                            std::vector<uint32_t>* killed) {
  if (named > 0) ReapOne(named, pause_ns, killed);
  for (uint32_t entry;
       said_ < control_->ended_count.load() &&
       (entry = control_->ended[said_].load(std::memory_order_acquire)) != 0;
       ++said_) {
    if (!ReapOne((*buyers_)[entry - 1].pid, pause_ns, killed)) break;
  }
}

bool BuyerReaper::ReapAny(int64_t pause_ns, std::vector<uint32_t>* killed) {
  constexpr size_t kAtMost = 32;
  return Reap(WNOHANG, pause_ns, killed, kAtMost) < kAtMost;
}

int64_t BuyerReaper::ResumeDue(int64_t now) {
  int64_t next = INT64_MAX;
  for (auto it = paused_.begin(); it != paused_.end();) {
    if (it->second <= now) {
      Continue(it->first);
      it = paused_.erase(it);
    } else {
      next = std::min(next, it->second);
      ++it;
    }
  }
  return next;
}

void BuyerReaper::Resume(uint32_t index) {
  const pid_t pid = (*buyers_)[index].pid;
  if (paused_.erase(pid) != 0) Continue(pid);
}

void BuyerReaper::Continue(pid_t pid) {
  kill(pid, SIGCONT);
  continued_.emplace_back(workers_of_.at(pid).front(), MonotonicNs());
}

void BuyerReaper::KillAll() {
  for (const auto& [pid, workers] : workers_of_) {
    if (!Reaped((*buyers_)[workers.front()])) kill(pid, SIGKILL);
  }
}

void BuyerReaper::KillAndReapAll() {
  KillAll();  // SIGKILL ends a stopped process too
  paused_.clear();
  std::vector<uint32_t> killed;
  Reap(0, 0, &killed, SIZE_MAX);
}

bool BuyerReaper::ReapOne(pid_t pid, int64_t pause_ns,
                          std::vector<uint32_t>* killed) {
  int status = 0;
  pid_t got;
  while ((got = waitpid(pid, &status, WNOHANG | WUNTRACED)) < 0 &&
         errno == EINTR) {
  }
  if (got == 0) return false;
  if (got == pid) Ended(pid, status, pause_ns, killed);
  return true;  // or reaped already
}

size_t BuyerReaper::Reap(int options, int64_t pause_ns,
                         std::vector<uint32_t>* killed, size_t at_most) {
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

void BuyerReaper::Ended(pid_t pid, int status, int64_t pause_ns,
                        std::vector<uint32_t>* killed) {
  auto it = workers_of_.find(pid);
  if (it == workers_of_.end()) return;
  if (WIFSTOPPED(status)) {
    paused_[pid] = MonotonicNs() + pause_ns;
    return;
  }
  // Every worker the process ran (its threads) ended with it.
  for (const uint32_t index : it->second) {
    BuyerProcess& buyer = (*buyers_)[index];
    if (Reaped(buyer)) continue;
    if (WIFEXITED(status)) buyer.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) {
      buyer.signal = WTERMSIG(status);
      killed->push_back(index);
    }
    --running_;
  }
  paused_.erase(pid);
}

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

Status ForkBuyers(const BuyerWork& work, uint32_t process_count,
                  std::vector<BuyerProcess>* processes, BuyerReaper* reaper) {
  if (work.threads != nullptr) {
    return ForkThreadedBuyers(work, process_count, processes, reaper);
  }
  ForkedPids pids(process_count);
  if (pids.get() == nullptr) return Status::FromErrno("map the pids", errno);
  // Every page the parent has is shared with each child (its entry copied
  // at fork, dropped at exit): give the heap's free pages back first.
  malloc_trim(0);
  const pid_t parent = getpid();
  for (uint32_t i = 0; i < process_count; ++i) {
    const pid_t pid = ForkFlushed();
    if (pid == 0) {
      BuyerChildMain(work, i, parent);
    }
    if (pid < 0) {
      const int err = errno;
      processes->assign(i, BuyerProcess{});
      for (uint32_t j = 0; j < i; ++j) reaper->Started(j, pids.get()[j]);
      reaper->KillAndReapAll();
      return Status::FromErrno(
          fmt::format("fork buyer process {} of {}", i + 1, process_count),
          err);
    }
    pids.get()[i] = pid;
  }
  processes->assign(process_count, BuyerProcess{});
  for (uint32_t i = 0; i < process_count; ++i) {
    reaper->Started(i, pids.get()[i]);
  }
  return Status::Ok();
}

Status ForkThreadedBuyers(const BuyerWork& work, uint32_t thread_count,
                          std::vector<BuyerProcess>* processes,
                          BuyerReaper* reaper) {
  malloc_trim(0);
  const pid_t parent = getpid();
  const pid_t pid = ForkFlushed();
  if (pid == 0) ThreadedBuyerMain(work, thread_count, parent);
  if (pid < 0) return Status::FromErrno("fork the buyer process", errno);
  processes->assign(thread_count, BuyerProcess{});
  for (uint32_t t = 0; t < thread_count; ++t) reaper->Started(t, pid);
  return Status::Ok();
}

Status AwaitAttached(const RunControl& control, uint32_t process_count,
                     int64_t pause_ns, const RunSignals& signals,
                     BuyerReaper* reaper, int* interrupt) {
  *interrupt = 0;
  const int64_t attach_deadline = MonotonicNs() + kAttachTimeoutNs;
  for (int sig = SIGCHLD; control.ready.load() < process_count;) {
    // Only when one has ended: ReapAny looks at every child.
    if (sig == SIGCHLD) {
      std::vector<uint32_t> killed;
      reaper->ReapAny(pause_ns, &killed);
    }
    if (reaper->running() < process_count || MonotonicNs() > attach_deadline) {
      const uint32_t ready = control.ready.load();
      const std::string why = StartUpFailure(control, reaper->processes());
      reaper->KillAndReapAll();
      return Status::IOError(fmt::format(
          "only {} of {} buyer {} could open the store and the guard{}", ready,
          process_count, control.threads ? "threads" : "processes",
          why.empty() ? "" : ": " + why));
    }
    sig = signals.Wait(200000);
    if (IsInterrupt(sig)) {
      reaper->KillAndReapAll();
      *interrupt = sig;
      return Status::Ok();
    }
  }
  return Status::Ok();
}

}  // namespace ticketsim
