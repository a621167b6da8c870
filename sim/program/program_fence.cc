#include "sim/program/program_fence.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "base/spawn.h"
#include "sim/buyers/buyer.h"

namespace ticketsim {
namespace {

// One report of the init: an orphan it reaped, or (pid 0) "empty".
struct Report {
  int32_t pid = 0;
  int32_t status = 0;
};

// How long Lower waits for the init to be gone.
constexpr int64_t kInitEndNs = int64_t{10} * 1000000000;

// The namespace's init, in the child forked first after unshare: reaps
// every orphan of the namespace and reports it on fd 3; a byte on fd 4 asks
// it to report once the namespace holds nothing but itself; end-of-file
// there (the run is over, or ticketsim died, even before the parent-death
// signal was set: its parent is outside the namespace, so getppid() cannot
// tell) ends it, and with it the namespace. Only system calls.
[[noreturn]] void Init(int reports, int asks) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  prctl(PR_SET_NAME, "ticketsim init");
  sigset_t child;
  sigemptyset(&child);
  sigaddset(&child, SIGCHLD);
  sigprocmask(SIG_BLOCK, &child, nullptr);
  const int keep[3] = {fcntl(reports, F_DUPFD, 10), fcntl(asks, F_DUPFD, 10),
                       signalfd(-1, &child, SFD_NONBLOCK)};
  const int null_fd = open("/dev/null", O_RDWR);
  for (int i = 0; i < 3; ++i) dup2(null_fd, i);
  for (int i = 0; i < 3; ++i) dup2(keep[i], 3 + i);
  close_range(6, ~0U, 0);
  bool asked = false;
  for (;;) {
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      const Report r{pid, status};
      (void)!write(3, &r, sizeof r);
    }
    if (asked && pid < 0 && errno == ECHILD) {
      const Report empty;
      (void)!write(3, &empty, sizeof empty);
      asked = false;
    }
    pollfd fds[2] = {{4, POLLIN, 0}, {5, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) continue;
    if (fds[0].revents != 0) {
      char buf[64];
      const ssize_t n = read(4, buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EINTR)) _exit(0);
      if (n > 0) asked = true;
    }
    if (fds[1].revents != 0) {
      signalfd_siginfo info;
      while (read(5, &info, sizeof info) > 0) {
      }
    }
  }
}

}  // namespace

const char* FenceName(FenceKind kind) {
  switch (kind) {
    case FenceKind::kCgroup:
      return "cgroup";
    case FenceKind::kPidNamespace:
      return "pid namespace";
    case FenceKind::kNone:
      return "none";
  }
  return "none";
}

void ProgramFence::Raise(const RunNames& names) {
  Lower();
  why_not_.clear();
  const Status s = cgroup_.Create(names);
  if (s.ok()) {
    kind_ = FenceKind::kCgroup;
    return;
  }
  why_not_ = s.message();
  RaisePidNamespace();
}

void ProgramFence::RaisePidNamespace() {
  own_namespace_.reset(
      open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC));
  if (own_namespace_.get() < 0 || unshare(CLONE_NEWPID) != 0) {
    why_not_ += fmt::format("; no PID namespace either: {}", strerror(errno));
    own_namespace_.reset();
    return;
  }
  int reports[2], asks[2];
  if (pipe2(reports, O_CLOEXEC) != 0) {
    setns(own_namespace_.get(), CLONE_NEWPID);
    own_namespace_.reset();
    return;
  }
  if (pipe2(asks, O_CLOEXEC) != 0) {
    close(reports[0]);
    close(reports[1]);
    setns(own_namespace_.get(), CLONE_NEWPID);
    own_namespace_.reset();
    return;
  }
  init_ = ForkFlushed();
  if (init_ == 0) Init(reports[1], asks[0]);
  close(reports[1]);
  close(asks[0]);
  reports_.reset(reports[0]);
  asks_.reset(asks[1]);
  fcntl(reports_.get(), F_SETFL, O_NONBLOCK);
  if (init_ < 0) {
    init_ = 0;
    Lower();
    return;
  }
  kind_ = FenceKind::kPidNamespace;
}

bool ProgramFence::ReadReports(std::vector<Reaped>* reaped) {
  Report r;
  while (reports_.get() >= 0) {
    const ssize_t got = read(reports_.get(), &r, sizeof r);
    if (got < 0 && errno == EINTR) continue;
    if (got != static_cast<ssize_t>(sizeof r)) break;
    if (r.pid == 0) {
      empty_ = asked_;
    } else {
      reaped->push_back({r.pid, r.status});
    }
  }
  return empty_;
}

void ProgramFence::AskEmpty() {
  if (asked_ || asks_.get() < 0) return;
  asked_ = (write(asks_.get(), "?", 1) == 1);
  empty_ = false;
}

bool ProgramFence::TakeIfInit(pid_t pid) {
  if (pid == 0 || pid != init_) return false;
  init_ = 0;
  return true;
}

void ProgramFence::KillAll() {
  if (kind_ == FenceKind::kCgroup) cgroup_.Kill();
  if (init_ > 0) kill(init_, SIGKILL);
}

void ProgramFence::Lower() {
  cgroup_.Remove();
  asks_.reset();
  if (init_ > 0) {
    // Its end kills whatever is left in the namespace, and waits for this
    // process to reap its children there: reap them all meanwhile.
    kill(init_, SIGKILL);
    const int64_t give_up = MonotonicNs() + kInitEndNs;
    while (MonotonicNs() < give_up) {
      const pid_t pid = waitpid(-1, nullptr, WNOHANG);
      if (pid == init_ || (pid < 0 && errno == ECHILD)) break;
      if (pid == 0) usleep(1000);
    }
    init_ = 0;
  }
  reports_.reset();
  if (own_namespace_.get() >= 0) {
    setns(own_namespace_.get(), CLONE_NEWPID);
    own_namespace_.reset();
  }
  kind_ = FenceKind::kNone;
  asked_ = false;
  empty_ = false;
}

}  // namespace ticketsim
