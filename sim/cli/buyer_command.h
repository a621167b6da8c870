// `ticketsim buyer`: one host's share of a run with buyers.hosts, started
// by that run through buyers.launcher (docs/hosts.md).
#ifndef TICKETSIM_SIM_CLI_BUYER_COMMAND_H_
#define TICKETSIM_SIM_CLI_BUYER_COMMAND_H_

#include "sim/cli/command.h"

namespace ticketsim {

// Reads the share on stdin and streams its buyers' events to stdout.
int BuyerCommand(PreparedCommand* command);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_BUYER_COMMAND_H_
