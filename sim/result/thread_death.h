// With buyers as threads, one thread's fatal fault (kill_holder,
// crash_before_write) ends their whole process: every other thread dies
// with it at that instant, mid-purchase or not. The reports tell those
// deaths by the fault that caused them (docs/threads.md).
#ifndef TICKETSIM_SIM_RESULT_THREAD_DEATH_H_
#define TICKETSIM_SIM_RESULT_THREAD_DEATH_H_

#include <cstdint>
#include <optional>

#include "sim/history/history.h"
#include "sim/result/run_result.h"

namespace ticketsim {

struct ThreadsDeath {
  uint32_t buyer = 0;    // whose thread's fault it was
  uint64_t time_ns = 0;  // when (since the start barrier)
  FaultKind fault = FaultKind::kKill;
};

// The first fatal fault of a run whose buyers are threads; nullopt with
// processes, without a full history, or when no fault ended the process.
std::optional<ThreadsDeath> ThreadsDeathOf(const RunResult& run);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_RESULT_THREAD_DEATH_H_
