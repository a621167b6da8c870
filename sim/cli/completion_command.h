// `ticketsim completion SHELL`: a shell's completion script, made from the
// command line it is part of; and, for the scripts, `--scenarios`: the
// library's names.
#ifndef TICKETSIM_SIM_CLI_COMPLETION_COMMAND_H_
#define TICKETSIM_SIM_CLI_COMPLETION_COMMAND_H_

#include <CLI/CLI.hpp>
#include <memory>

#include "sim/cli/command.h"

namespace ticketsim {

// Its Prepare writes the script (or the names) to the line's out: there is
// nothing to run.
std::unique_ptr<CommandOptions> AddCompletionOptions(CLI::App* command);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_COMPLETION_COMMAND_H_
