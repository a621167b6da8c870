// `ticketsim serve SCENARIO`: the box office alone, for people
// (docs/server.md). It prints its URL, takes purchases from anyone (curl, a
// browser, a load tool) until Ctrl-C or until a buyer is told the tickets
// are sold out, then checks every purchase and prints the verdict.
#ifndef TICKETSIM_SIM_CLI_SERVE_COMMAND_H_
#define TICKETSIM_SIM_CLI_SERVE_COMMAND_H_

#include <CLI/CLI.hpp>
#include <memory>

#include "sim/cli/command.h"

namespace ticketsim {

std::unique_ptr<CommandOptions> AddServeOptions(CLI::App* command);

int ServeCommand(PreparedCommand* command);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_SERVE_COMMAND_H_
