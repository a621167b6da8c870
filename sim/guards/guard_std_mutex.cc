// std-mutex: a mutex in the buyer process's memory, which its threads
// share: the tutorial's threading.Lock (buyers.mode = "thread" only). One
// guard object serves every thread (Guard::SharedByThreads), for the mutex
// is only a mutex if they all lock the same one.
//
// std::timed_mutex, the std::mutex that can give up: a guard's wait is
// timed (guard.timeout_ms). A holder cannot die alone: a thread's crash
// ends its whole process, every other holder and waiter with it.
#include <chrono>
#include <mutex>

#include "base/thread_sanitizer.h"
#include "sim/guards/guard_kinds.h"

namespace ticketsim {
namespace {

class StdMutexGuard : public Guard {
 public:
  // try_lock_for is pthread_mutex_clocklock underneath, which
  // ThreadSanitizer (in GCC 12) does not intercept: told of it, so that the
  // unlock is not one of a mutex never locked.
  Status Acquire(int64_t timeout_ms, bool* recovered) override {
    *recovered = false;
    // As the other mutex guards: a few tries first (kTriesBeforeSleep), with
    // no clock read for a deadline, then a timed wait in the kernel.
    for (int spin = 0; spin <= kTriesBeforeSleep; ++spin) {
      if (mutex_.try_lock()) return Status::Ok();
      CpuRelax();
    }
    BeforeUnseenLock(mutex_.native_handle());
    const bool taken =
        mutex_.try_lock_for(std::chrono::milliseconds(timeout_ms));
    AfterUnseenLock(mutex_.native_handle(), taken);
    return taken ? Status::Ok() : Status::Timeout("std::mutex");
  }
  Status TryAcquire(bool* recovered) override {
    *recovered = false;
    return mutex_.try_lock() ? Status::Ok() : Status::Timeout("std::mutex");
  }
  Status Release() override {
    mutex_.unlock();
    return Status::Ok();
  }
  bool SharedByThreads() const override { return true; }

 private:
  // A cache line of its own: every lock and unlock writes it, and the
  // objects made beside it (the store, read at every step) must not move
  // with it from one CPU to the other.
  alignas(64) std::timed_mutex mutex_;
  char after_[64 - sizeof(std::timed_mutex) % 64] = {};
};

}  // namespace

std::unique_ptr<Guard> MakeStdMutexGuard() {
  return std::make_unique<StdMutexGuard>();
}

}  // namespace ticketsim
