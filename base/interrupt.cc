#include "base/interrupt.h"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace ticketsim {
namespace {

constexpr int kNamedInterrupts[] = {
    SIGINT,    SIGTERM, SIGHUP,  SIGQUIT, SIGUSR1,   SIGUSR2, SIGALRM,
    SIGVTALRM, SIGPROF, SIGXCPU, SIGPOLL, SIGSTKFLT, SIGPWR,
};

sigset_t Compute() {
  sigset_t set;
  sigemptyset(&set);
  const auto add = [&set](int sig) {
    struct sigaction now {};
    // SIGINT and SIGTERM are always ticketsim's to take, ignored or not, as
    // they always were: a shell ignores SIGINT in a job it starts with &,
    // and a script that then sends one to its job means it.
    if (sig != SIGINT && sig != SIGTERM && sigaction(sig, nullptr, &now) == 0 &&
        now.sa_handler == SIG_IGN && (now.sa_flags & SA_SIGINFO) == 0) {
      return;  // started ignored, on purpose: leave it so
    }
    sigaddset(&set, sig);
  };
  for (int sig : kNamedInterrupts) add(sig);
  for (int sig = SIGRTMIN; sig <= SIGRTMAX; ++sig) add(sig);
  return set;
}

// What the handler writes, made before any signal can come: formatting is
// not async-signal-safe.
struct Farewell {
  char text[64];
  size_t size;
};
Farewell farewells[NSIG];

// The files to remove should an interrupt end the process (read by the
// handler, so atomics: a plain pointer could be seen half written).
std::atomic<const char*> doomed[8];

void EndNow(int sig) {
  for (auto& path : doomed) {
    if (const char* p = path.load(); p != nullptr) unlink(p);
  }
  if (sig > 0 && sig < NSIG && farewells[sig].size > 0) {
    pollfd err{STDERR_FILENO, POLLOUT, 0};
    if (poll(&err, 1, 0) == 1 && (err.revents & POLLOUT) != 0) {
      // Shorter than PIPE_BUF: it goes whole, at once.
      const ssize_t ignored =
          write(STDERR_FILENO, farewells[sig].text, farewells[sig].size);
      (void)ignored;
    }
  }
  _exit(ExitStatusFor(sig));
}

}  // namespace

const sigset_t& InterruptSignals() {
  static const sigset_t set = Compute();
  return set;
}

int TakeInterrupt(int fd) {
  int interrupt = 0;
  signalfd_siginfo info;
  while (read(fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    const int sig = static_cast<int>(info.ssi_signo);
    if (sig != SIGCHLD && IsInterrupt(sig)) interrupt = sig;
  }
  return interrupt;
}

bool IsInterrupt(int sig) {
  return sig > 0 && sigismember(&InterruptSignals(), sig) == 1;
}

std::string SignalName(int sig) {
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
    return sig == SIGRTMIN ? "SIGRTMIN"
                           : fmt::format("SIGRTMIN+{}", sig - SIGRTMIN);
  }
  if (const char* name = sigabbrev_np(sig); name != nullptr) {
    return fmt::format("SIG{}", name);
  }
  return fmt::format("signal {}", sig);
}

EndOnInterrupt::EndOnInterrupt() {
  const sigset_t& set = InterruptSignals();
  struct sigaction action {};
  action.sa_handler = EndNow;
  // One interrupt at a time: a second one waits for the first to end it.
  action.sa_mask = set;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sigismember(&set, sig) != 1) continue;
    const std::string line =
        fmt::format("ticketsim: interrupted by {}\n", SignalName(sig));
    Farewell& f = farewells[sig];
    f.size = std::min(line.size(), sizeof f.text);
    std::memcpy(f.text, line.data(), f.size);
    sigaction(sig, &action, &old_[sig]);
  }
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGXFSZ, &ignore, &old_file_size_);
  sigprocmask(SIG_UNBLOCK, &set, &old_mask_);
}

EndOnInterrupt::~EndOnInterrupt() {
  const sigset_t& set = InterruptSignals();
  sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sigismember(&set, sig) == 1) sigaction(sig, &old_[sig], nullptr);
  }
  sigaction(SIGXFSZ, &old_file_size_, nullptr);
}

bool RemoveOnInterrupt(const char* path) {
  for (auto& slot : doomed) {
    const char* empty = nullptr;
    if (slot.compare_exchange_strong(empty, path)) return true;
  }
  return false;
}

void ForgetOnInterrupt(const char* path) {
  for (auto& slot : doomed) {
    const char* p = path;
    slot.compare_exchange_strong(p, nullptr);
  }
}

int TakePendingInterrupt() {
  timespec none{0, 0};
  const int sig = sigtimedwait(&InterruptSignals(), nullptr, &none);
  return sig > 0 ? sig : 0;
}

DeferInterrupts::DeferInterrupts() {
  sigprocmask(SIG_BLOCK, &InterruptSignals(), &old_);
}

DeferInterrupts::~DeferInterrupts() {
  sigprocmask(SIG_SETMASK, &old_, nullptr);
}

}  // namespace ticketsim
