// `ticketsim clean`: named objects and files left by runs that died,
// removed.
#ifndef TICKETSIM_SIM_CLI_CLEAN_COMMAND_H_
#define TICKETSIM_SIM_CLI_CLEAN_COMMAND_H_

#include <CLI/CLI.hpp>
#include <memory>

#include "sim/cli/command.h"

namespace ticketsim {

std::unique_ptr<CommandOptions> AddCleanOptions(CLI::App* command);
int CleanCommand(PreparedCommand* command);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_CLEAN_COMMAND_H_
