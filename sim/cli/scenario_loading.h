// Loading the scenarios a command names, all of them before anything runs:
// each file (or the command line's own rush) with the flags over it,
// checked for keys it would ignore.
#ifndef TICKETSIM_SIM_CLI_SCENARIO_LOADING_H_
#define TICKETSIM_SIM_CLI_SCENARIO_LOADING_H_

#include <span>
#include <string>
#include <vector>

#include "sim/report/report_junit.h"
#include "sim/scenario/scenario_file.h"

namespace ticketsim {

// Loads every one of `files` ("": a scenario from flags alone) before
// anything runs; each one that fails is a problem. `compared_guard`: see
// RefuseIgnoredKeys. `stepped`: a person chooses the steps.
void LoadAll(std::span<const std::string> files,
             const std::vector<Override>& overrides,
             std::vector<LoadedScenario>* loaded,
             std::vector<ScenarioProblem>* problems,
             bool compared_guard = false, bool stepped = false);

// The rush's think time is what makes its race certain under the os
// schedule; a controlled schedule (a step list, seeded, pct, a person at
// `step`) forces the interleaving by itself, and a think time would only
// add a step to every purchase. So a scenario from the command line drops
// it there, unless --think-ms (or --set) asked for it.
void DropRushThinkWhenControlled(LoadedScenario* loaded, bool controlled);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_SCENARIO_LOADING_H_
