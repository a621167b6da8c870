// The futex system call, on a word that processes share: the word lives in
// shared memory, so never FUTEX_PRIVATE_FLAG. The start barrier (buyers wait
// for `go`) and the controlled schedule's turns (a buyer waits for its turn,
// the parent wakes it) are the two users.
#ifndef TICKETSIM_BASE_FUTEX_H_
#define TICKETSIM_BASE_FUTEX_H_

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace ticketsim {

// FUTEX_WAIT: sleeps while *word == value (returns at once otherwise, or on
// a signal; callers re-check their word). FUTEX_WAKE: wakes `value` waiters.
inline long Futex(std::atomic<uint32_t>* word, int op, uint32_t value) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, value,
                 nullptr, nullptr, 0);
}

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_FUTEX_H_
