// What the bench measures of one run of a pair's side (ticketsim, or its
// floor), and the small tools every section uses to measure it.
#ifndef TICKETSIM_BENCH_ROUNDS_H_
#define TICKETSIM_BENCH_ROUNDS_H_

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

namespace ticketsim {

// One side of a pair, one round.
struct Round {
  int64_t purchases = 0;
  double seconds = 0;      // wall: from the start barrier to the last reaped
  double cpu_seconds = 0;  // user + system time of the buying processes
  // Purchases made right after another process's: how often the count (and
  // its lock) passed from one process to the other.
  int64_t hand_offs = 0;

  double Rate() const { return static_cast<double>(purchases) / seconds; }
  // 2 when both processes ran all along, 1 when they took turns on one CPU
  // (or waited half the time).
  double CpusBusy() const { return cpu_seconds / seconds; }
  double HandOffsPerThousand() const {
    return 1000.0 * static_cast<double>(hand_offs) /
           static_cast<double>(purchases);
  }
  double CpuNsPerPurchase() const {
    return 1e9 * cpu_seconds / static_cast<double>(purchases);
  }
};

inline double Now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// User + system seconds of this process's children reaped so far.
inline double ChildCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) +
           1e-6 * static_cast<double>(t.tv_usec);
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// The median of `values` (not empty).
inline double Median(std::vector<double> values) {
  const auto middle = values.begin() + values.size() / 2;
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

}  // namespace ticketsim

#endif  // TICKETSIM_BENCH_ROUNDS_H_
