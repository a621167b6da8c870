// `ticketsim check`: scenario files validated without running them, a line
// each; or, with --history, the runs of a history file checked again, a
// verdict per trial.
#ifndef TICKETSIM_SIM_CLI_CHECK_COMMAND_H_
#define TICKETSIM_SIM_CLI_CHECK_COMMAND_H_

#include <CLI/CLI.hpp>
#include <memory>

#include "sim/cli/command.h"

namespace ticketsim {

std::unique_ptr<CommandOptions> AddCheckOptions(CLI::App* command);
int CheckCommand(PreparedCommand* command);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_CHECK_COMMAND_H_
