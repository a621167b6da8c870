// `ticketsim run`: scenario files (or the flags' own rush) run trial after
// trial, each told in a text report, with the outputs asked for (--json,
// --html, --junit, --history). A scenario under a person's schedule runs
// as `step` runs it.
#ifndef TICKETSIM_SIM_CLI_RUN_COMMAND_H_
#define TICKETSIM_SIM_CLI_RUN_COMMAND_H_

#include <CLI/CLI.hpp>
#include <memory>

#include "sim/cli/command.h"

namespace ticketsim {

std::unique_ptr<CommandOptions> AddRunOptions(CLI::App* command);
int RunCommand(PreparedCommand* command);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_RUN_COMMAND_H_
