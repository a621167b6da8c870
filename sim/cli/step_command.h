// `ticketsim step`: one scenario, one step at a time, as a person chooses
// (sim/cli/step_screen.h); then its verdict, its steps, and the command line
// that replays them. `run` runs a scenario under run.schedule = "step" the
// same way.
#ifndef TICKETSIM_SIM_CLI_STEP_COMMAND_H_
#define TICKETSIM_SIM_CLI_STEP_COMMAND_H_

#include <CLI/CLI.hpp>
#include <memory>

#include "base/status.h"
#include "sim/cli/command.h"
#include "sim/cli/scenario_options.h"
#include "sim/scenario/scenario.h"

namespace ticketsim {

std::unique_ptr<CommandOptions> AddStepOptions(CLI::App* command);

// Runs the one scenario of `command` under a schedule of a person's
// choosing: keys from stdin, the board (at a terminal) or a line per step
// on stdout. An undo runs the scenario again, its steps but the last
// replayed without asking. Then the text report, the steps and the
// `ticketsim run` command line that replays them (command->replay, with
// --steps). Returns the exit status, as `run` does. REQUIRES:
// PrepareStepped made `command`.
int StepCommand(PreparedCommand* command);

// A scenario a person steps (`step`, or `run` under run.schedule =
// "step"), the one of `command`, as `options` loaded it: the command that
// replays it and its name are taken from what the user wrote; then its
// schedule becomes a person's, in one trial, checked as every controlled
// schedule is, and CheckSteppable.
Status PrepareStepped(const ScenarioOptions& options, PreparedCommand* command);

// What `step` needs of a scenario beyond ValidateScenario: a key per buyer.
Status CheckSteppable(const Scenario& scenario);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_STEP_COMMAND_H_
