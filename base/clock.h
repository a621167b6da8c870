// The one clock of the project: CLOCK_MONOTONIC, in nanoseconds. It never
// goes back, and every process of a run reads the same one, so times taken
// by different buyers (and by the parent) compare directly.
#ifndef TICKETSIM_BASE_CLOCK_H_
#define TICKETSIM_BASE_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace ticketsim {

inline int64_t MonotonicNs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
}

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_CLOCK_H_
