// Deadlock watch: finding a cycle of buyers each waiting for a guard the
// next one holds, from the slots of the run's shared control block.
#ifndef TICKETSIM_SIM_BUYERS_DEADLOCK_WATCH_H_
#define TICKETSIM_SIM_BUYERS_DEADLOCK_WATCH_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "sim/buyers/buyer.h"
#include "sim/result/run_result.h"

namespace ticketsim {

// The cycle of buyers, each waiting (slot.waiting = event + 1) for a guard
// the next one holds (slot.held), as the slots read now; empty if there is
// none. Each slot is read once, but not all at one instant: a cycle found
// while buyers still run may be pieced together from moments that never
// were (DeadlockWatch confirms it). `waits`, if given, receives each link's
// buyer's wait count (slot.waits), read with the rest.
std::vector<DeadlockLink> FindDeadlockCycle(
    const RunControl& control, size_t buyers, size_t events,
    const std::vector<BuyerProcess>& processes,
    std::vector<uint32_t>* waits = nullptr);

// Finds a cycle of buyers each waiting for a guard the next one holds. A
// cycle counts once it is seen twice, a check apart, with every buyer still
// in the same wait: the slots are read one by one, not all at one instant,
// so one sighting could be pieced together from moments that never were.
class DeadlockWatch {
 public:
  DeadlockWatch(const RunControl* control, size_t buyers, size_t events)
      : control_(control), buyers_(buyers), events_(events) {}

  // Returns the cycle, once confirmed; empty otherwise.
  std::vector<DeadlockLink> Check(const std::vector<BuyerProcess>& processes);

 private:
  const RunControl* control_;
  const size_t buyers_;
  const size_t events_;
  std::vector<std::pair<uint32_t, uint32_t>> last_;  // buyer, its waits
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_BUYERS_DEADLOCK_WATCH_H_
