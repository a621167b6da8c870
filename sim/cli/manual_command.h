// `ticketsim manual`: the manual page, ticketsim(1), in roff, made from the
// command line it is part of (manual.h).
#ifndef TICKETSIM_SIM_CLI_MANUAL_COMMAND_H_
#define TICKETSIM_SIM_CLI_MANUAL_COMMAND_H_

#include <CLI/CLI.hpp>
#include <memory>

#include "sim/cli/command.h"

namespace ticketsim {

// Its Prepare writes the page to the line's out: there is nothing to run.
std::unique_ptr<CommandOptions> AddManualOptions(CLI::App* command);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_MANUAL_COMMAND_H_
