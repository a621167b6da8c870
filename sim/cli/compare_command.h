// `ticketsim compare`: one scenario run under several guards, or with
// --modes as processes and as threads, a row of the table each (violations,
// sold, left, rates; with --modes the start-up first), with --json and
// --junit.
#ifndef TICKETSIM_SIM_CLI_COMPARE_COMMAND_H_
#define TICKETSIM_SIM_CLI_COMPARE_COMMAND_H_

#include <CLI/CLI.hpp>
#include <memory>

#include "sim/cli/command.h"

namespace ticketsim {

std::unique_ptr<CommandOptions> AddCompareOptions(CLI::App* command);
int CompareCommand(PreparedCommand* command);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_COMPARE_COMMAND_H_
