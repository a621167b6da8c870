// file-lock: flock() on a lock file of its own, never on the data file (with
// write = replace the data file's inode changes at every write, and a lock on
// the old inode excludes nobody). Each buyer opens the lock file itself after
// fork: flock locks belong to the open file description, so a descriptor
// inherited across fork would be one lock shared by all. The kernel drops the
// lock when its holder dies.
//
// flock has no timeout. A blocked flock is interrupted by a repeating
// interval timer (SIGALRM, handler installed without SA_RESTART); each
// interruption checks the deadline. A repeating timer, not a one-shot, so a
// signal that lands just before flock blocks cannot leave it blocked forever.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "base/clock.h"
#include "sim/guards/guard_kinds.h"

namespace ticketsim {
namespace {

// The lock file in the run directory: never the data file (see guard.h).
constexpr const char* kLockFile = "guard.lock";

constexpr long kTickUs =
    10000;  // how often a blocked flock checks its deadline

void OnAlarm(int) {}

int64_t NowMs() { return MonotonicNs() / 1000000; }

void SetTicking(bool on) {
  itimerval timer{};
  if (on) timer.it_value.tv_usec = timer.it_interval.tv_usec = kTickUs;
  setitimer(ITIMER_REAL, &timer, nullptr);
}

class FileLockGuard : public Guard {
 public:
  explicit FileLockGuard(const RunNames& names)
      : names_(names), path_(names.File(kLockFile)) {}
  ~FileLockGuard() override { Detach(); }

  Status Create() override {
    int fd = -1;
    Status s =
        OpenInRunDirectory(names_, kLockFile, O_RDWR | O_CREAT | O_EXCL, &fd);
    if (fd >= 0) close(fd);
    return s;
  }

  Status Attach() override {
    if (Status s = OpenInRunDirectory(names_, kLockFile, O_RDWR, &fd_);
        !s.ok()) {
      return s;
    }
    struct sigaction action {};
    action.sa_handler = OnAlarm;  // no SA_RESTART: flock returns EINTR
    sigemptyset(&action.sa_mask);
    sigaction(SIGALRM, &action, nullptr);
    return Status::Ok();
  }

  void Detach() override {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  Status Acquire(int64_t timeout_ms, bool* recovered) override {
    *recovered = false;
    if (flock(fd_, LOCK_EX | LOCK_NB) == 0) return Status::Ok();
    if (errno != EWOULDBLOCK) return Status::FromErrno("flock " + path_, errno);
    const int64_t deadline = NowMs() + timeout_ms;
    SetTicking(true);
    Status result;
    while (flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        result = Status::FromErrno("flock " + path_, errno);
        break;
      }
      if (NowMs() >= deadline) {
        result = Status::Timeout("file lock " + path_);
        break;
      }
    }
    SetTicking(false);
    return result;
  }

  Status TryAcquire(bool* recovered) override {
    *recovered = false;
    if (flock(fd_, LOCK_EX | LOCK_NB) == 0) return Status::Ok();
    if (errno == EWOULDBLOCK) return Status::Timeout("file lock " + path_);
    return Status::FromErrno("flock " + path_, errno);
  }

  Status Release() override {
    if (flock(fd_, LOCK_UN) != 0)
      return Status::FromErrno("unlock " + path_, errno);
    return Status::Ok();
  }

 private:
  const RunNames names_;
  const std::string path_;
  int fd_ = -1;
};

}  // namespace

std::unique_ptr<Guard> MakeFileLockGuard(const RunNames& names) {
  return std::make_unique<FileLockGuard>(names);
}

}  // namespace ticketsim
