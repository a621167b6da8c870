// The checker's view of a finished run: which buyers were killed while
// served, and the verdict on its histories (or tallies) with the run's own
// findings (an abandoned lock, a deadlock, the hosts' clocks) added.
#ifndef TICKETSIM_SIM_RESULT_RUN_CHECK_H_
#define TICKETSIM_SIM_RESULT_RUN_CHECK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "sim/check/checker.h"
#include "sim/result/run_result.h"

namespace ticketsim {

// Per buyer: whether its process was killed while serving it (a process
// serves its buyers in increasing order, so only the last of them).
std::vector<bool> KilledBuyers(const RunResult& result);

// Whether the run was a program's that told nothing of its sales (no
// events, no sold_pattern): then only the final count was checked.
bool ProgramSalesUnknown(const RunResult& result);

// The checker's verdict on a finished run.
Verdict CheckRun(const RunResult& result);

// " ± 0.052 ms" for a buyer on a host whose clock's uncertainty shows in a
// time as the reports write it (1 us and more); "" otherwise.
std::string ClockUncertainty(const RunResult& result, uint32_t buyer);

// Adds each host's clock uncertainty to the times its buyers' steps have in
// the witnesses' sentences ("at 1.204 ms ± 0.050 ms").
void AddClockUncertainty(const RunResult& result, Verdict* verdict);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_RESULT_RUN_CHECK_H_
