// `ticketsim step`: one scenario, one step at a time, as a person chooses
// (sim/cli/step_screen.h); then its verdict, its steps, and the command line
// that replays them.
#ifndef TICKETSIM_SIM_CLI_STEP_COMMAND_H_
#define TICKETSIM_SIM_CLI_STEP_COMMAND_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "sim/scenario/scenario.h"
#include "sim/scenario/scenario_file.h"

namespace ticketsim {

// What `step` needs of a scenario beyond ValidateScenario: a key per buyer.
Status CheckSteppable(const Scenario& scenario);

// Runs `loaded` under a schedule of a person's choosing: keys from stdin,
// the board (at a terminal) or a line per step on stdout. An undo runs the
// scenario again, its steps but the last replayed without asking. Then the
// text report, the steps and `<replay> --steps ...`, `replay` being the
// `ticketsim run` command line of the scenario. Returns the exit status, as
// `run` does. REQUIRES: `loaded` validated under run.schedule = "step"
// (CheckSteppable too).
int StepCommand(const LoadedScenario& loaded, const std::string& replay);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_STEP_COMMAND_H_
