#include "sim/guards/guard_semaphore_wait.h"

#include <errno.h>
#include <time.h>

#include "base/thread_sanitizer.h"

namespace ticketsim {

Status SemaphoreWait::Open(const std::string& name) {
  Close();
  // Boost names a POSIX semaphore as sem_open does, with a leading slash.
  const std::string path = name.starts_with('/') ? name : "/" + name;
  semaphore_ = sem_open(path.c_str(), 0);
  if (semaphore_ == SEM_FAILED) {
    return Status::FromErrno("open semaphore " + path, errno);
  }
  return Status::Ok();
}

void SemaphoreWait::Close() {
  if (semaphore_ != SEM_FAILED) sem_close(semaphore_);
  semaphore_ = SEM_FAILED;
}

Status SemaphoreWait::Wait(int64_t timeout_ms, const std::string& what) {
  timespec deadline{};
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  const int64_t ns = deadline.tv_nsec + (timeout_ms % 1000) * 1000000;
  deadline.tv_sec += static_cast<time_t>(timeout_ms / 1000 + ns / 1000000000);
  deadline.tv_nsec = static_cast<long>(ns % 1000000000);
  for (;;) {
    if (sem_clockwait(semaphore_, CLOCK_MONOTONIC, &deadline) == 0) {
      AfterUnseenWait(semaphore_);
      return Status::Ok();
    }
    if (errno == ETIMEDOUT) return Status::Timeout(what);
    if (errno != EINTR) return Status::FromErrno("wait for " + what, errno);
  }
}

}  // namespace ticketsim
