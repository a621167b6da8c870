// The exit status of scenarios that ran: interrupted, then a failed run,
// then a run left unchecked, then an expectation not met, wins (a scenario
// with no verdict outranks one with a verdict).
#ifndef TICKETSIM_SIM_CLI_RESULT_STATUS_H_
#define TICKETSIM_SIM_CLI_RESULT_STATUS_H_

#include <span>

#include "sim/run/trials.h"

namespace ticketsim {

int ExitFor(std::span<const ScenarioResult> results);
int ExitFor(const ScenarioResult& result);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_RESULT_STATUS_H_
