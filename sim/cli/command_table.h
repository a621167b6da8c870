// The commands of `ticketsim`, a row each, in the order --help lists them.
#ifndef TICKETSIM_SIM_CLI_COMMAND_TABLE_H_
#define TICKETSIM_SIM_CLI_COMMAND_TABLE_H_

#include <span>

#include "sim/cli/command.h"

namespace ticketsim {

std::span<const CommandEntry> CommandTable();

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_COMMAND_TABLE_H_
