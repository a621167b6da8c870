// file-lock: flock() on a lock file of its own, never on the data file (with
// write = replace the data file's inode changes at every write, and a lock on
// the old inode excludes nobody). Each buyer opens the lock file itself after
// fork: flock locks belong to the open file description, so a descriptor
// inherited across fork would be one lock shared by all. The kernel drops the
// lock when its holder dies.
//
// flock has no timeout. A blocked flock is interrupted by a repeating
// timer (SIGALRM, handler installed without SA_RESTART); each interruption
// checks the deadline. A repeating timer, not a one-shot, so a signal that
// lands just before flock blocks cannot leave it blocked forever. The timer
// is the attaching thread's own (SIGEV_THREAD_ID): with buyers as threads,
// a process-wide timer (setitimer) would interrupt whichever thread the
// kernel chose, not the one waiting.
//
// Between threads too, each opens the lock file itself: a descriptor they
// shared would be one open file description, and so one lock, which every
// thread already "holds" once one does: flock would exclude nobody.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
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

// A timer that sends SIGALRM to the thread that made it.
class ThreadAlarm {
 public:
  ThreadAlarm() = default;
  ThreadAlarm(const ThreadAlarm&) = delete;
  ThreadAlarm& operator=(const ThreadAlarm&) = delete;
  ~ThreadAlarm() { Close(); }

  Status Open() {
    sigevent event{};
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = SIGALRM;
    event._sigev_un._tid = gettid();
    if (timer_create(CLOCK_MONOTONIC, &event, &timer_) != 0) {
      return Status::FromErrno("timer_create", errno);
    }
    open_ = true;
    return Status::Ok();
  }
  void Close() {
    if (open_) timer_delete(timer_);
    open_ = false;
  }
  void SetTicking(bool on) {
    itimerspec ticks{};
    if (on) {
      ticks.it_value.tv_nsec = ticks.it_interval.tv_nsec = kTickUs * 1000;
    }
    timer_settime(timer_, 0, &ticks, nullptr);
  }

 private:
  timer_t timer_{};
  bool open_ = false;
};

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
    return alarm_.Open();
  }

  void Detach() override {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    alarm_.Close();
  }

  Status Acquire(int64_t timeout_ms, bool* recovered) override {
    *recovered = false;
    if (flock(fd_, LOCK_EX | LOCK_NB) == 0) return Status::Ok();
    if (errno != EWOULDBLOCK) return Status::FromErrno("flock " + path_, errno);
    const int64_t deadline = NowMs() + timeout_ms;
    alarm_.SetTicking(true);
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
    alarm_.SetTicking(false);
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
  ThreadAlarm alarm_;
};

}  // namespace

std::unique_ptr<Guard> MakeFileLockGuard(const RunNames& names) {
  return std::make_unique<FileLockGuard>(names);
}

}  // namespace ticketsim
