// Shell completion scripts for bash, zsh and fish, made from the command
// line's own tables (cli_model.h): the commands, each command's options, the
// words an option's value takes (stores, guards, schedules...), and, asked
// of the program while completing, the library's scenario names.
#ifndef TICKETSIM_SIM_CLI_COMPLETION_H_
#define TICKETSIM_SIM_CLI_COMPLETION_H_

#include <string>
#include <string_view>

#include "sim/cli/cli_model.h"

namespace ticketsim {

// The script for `shell` (one of kShellNames); "" for another shell. The
// scripts ask `PROGRAM completion --scenarios` for the library's names,
// PROGRAM being the command as typed.
std::string CompletionScript(const CliModel& model, std::string_view shell);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_COMPLETION_H_
