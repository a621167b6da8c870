// The timed wait of the named mutex and the named semaphore. Both are POSIX
// named semaphores under Boost, whose timed waits take a CLOCK_REALTIME
// deadline, which a wall-clock step moves: forward, the wait ends early;
// back, it lasts as much longer. This waits on the same semaphore, opened
// again by its name, against a CLOCK_MONOTONIC deadline (sem_clockwait),
// which nothing but time moves.
#ifndef TICKETSIM_SIM_GUARDS_GUARD_SEMAPHORE_WAIT_H_
#define TICKETSIM_SIM_GUARDS_GUARD_SEMAPHORE_WAIT_H_

#include <semaphore.h>

#include <cstdint>
#include <string>

#include "base/status.h"

namespace ticketsim {

class SemaphoreWait {
 public:
  SemaphoreWait() = default;
  SemaphoreWait(const SemaphoreWait&) = delete;
  SemaphoreWait& operator=(const SemaphoreWait&) = delete;
  ~SemaphoreWait() { Close(); }

  // Opens the semaphore Boost made as `name` (sem_open's "/name").
  Status Open(const std::string& name);
  void Close();

  // Takes one unit, waiting at most `timeout_ms` of CLOCK_MONOTONIC: Ok, or
  // Timeout naming `what`. REQUIRES: open.
  Status Wait(int64_t timeout_ms, const std::string& what);

 private:
  sem_t* semaphore_ = SEM_FAILED;
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_GUARDS_GUARD_SEMAPHORE_WAIT_H_
