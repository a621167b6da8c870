// --replay FILE and --replay-trial N: a trial of a history, repeated step
// for step in the scenario it recorded.
#ifndef TICKETSIM_SIM_CLI_REPLAY_FLAGS_H_
#define TICKETSIM_SIM_CLI_REPLAY_FLAGS_H_

#include <string>
#include <vector>

#include "base/status.h"
#include "sim/cli/scenario_options.h"
#include "sim/scenario/scenario_file.h"

namespace ticketsim {

// With --replay: every scenario takes the steps and the seed of the trial
// the file recorded, and runs once, in the scenario the trial ran (when
// the file records it). Adds a line saying which to `note`. Returns
// Invalid when the file does not say, or its steps do not fit, or a
// scenario given changes the one recorded. Without: Ok, unless
// --replay-trial was given alone.
Status ApplyReplay(const ScenarioOptions& options,
                   std::vector<LoadedScenario>* scenarios, std::string* note);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_REPLAY_FLAGS_H_
