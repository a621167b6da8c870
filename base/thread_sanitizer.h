// ThreadSanitizer (`make tsan`, TICKETSIM_TSAN): whether this build runs
// under it, and how to tell it of a lock or a wait it does not see. It knows
// of a mutex or a semaphore only through the calls it intercepts; a lock
// taken by any other call is invisible to it, so that the unlock after it
// reads as one of a mutex never locked, and what the lock orders between
// threads as data races. In any other build all of this is nothing.
#ifndef TICKETSIM_BASE_THREAD_SANITIZER_H_
#define TICKETSIM_BASE_THREAD_SANITIZER_H_

#if defined(__SANITIZE_THREAD__)  // GCC
#define TICKETSIM_THREAD_SANITIZER 1
#elif defined(__has_feature)  // clang
#if __has_feature(thread_sanitizer)
#define TICKETSIM_THREAD_SANITIZER 1
#endif
#endif

#ifdef TICKETSIM_THREAD_SANITIZER
#include <sanitizer/tsan_interface.h>
#endif

namespace ticketsim {

#ifdef TICKETSIM_THREAD_SANITIZER
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif

// Around a lock call that ThreadSanitizer does not intercept, which may fail
// (a timed lock): before it, then after it, with whether it took the lock.
inline void BeforeUnseenLock([[maybe_unused]] void* mutex) {
#ifdef TICKETSIM_THREAD_SANITIZER
  __tsan_mutex_pre_lock(mutex, __tsan_mutex_try_lock);
#endif
}

inline void AfterUnseenLock([[maybe_unused]] void* mutex,
                            [[maybe_unused]] bool taken) {
#ifdef TICKETSIM_THREAD_SANITIZER
  __tsan_mutex_post_lock(
      mutex, __tsan_mutex_try_lock | (taken ? 0 : __tsan_mutex_try_lock_failed),
      0);
#endif
}

// After a wait that ThreadSanitizer does not intercept (sem_clockwait) has
// taken what a call it does intercept (sem_post) released on `object`: the
// release happens before what follows, as after the wait it does know.
inline void AfterUnseenWait([[maybe_unused]] void* object) {
#ifdef TICKETSIM_THREAD_SANITIZER
  __tsan_acquire(object);
#endif
}

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_THREAD_SANITIZER_H_
