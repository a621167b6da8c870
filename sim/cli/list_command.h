// `ticketsim list`: the words a scenario takes (stores, guards, scopes,
// methods, violations, keys) and the scenario library.
#ifndef TICKETSIM_SIM_CLI_LIST_COMMAND_H_
#define TICKETSIM_SIM_CLI_LIST_COMMAND_H_

#include "sim/cli/command.h"

namespace ticketsim {

int ListCommand(PreparedCommand* command);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_LIST_COMMAND_H_
