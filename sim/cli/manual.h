// The manual page ticketsim(1), in roff, made from the command line's own
// tables (cli_model.h): every command, every option and the words each takes,
// as `--help` and `ticketsim list` give them.
#ifndef TICKETSIM_SIM_CLI_MANUAL_H_
#define TICKETSIM_SIM_CLI_MANUAL_H_

#include <string>
#include <string_view>

#include "sim/cli/cli_model.h"

namespace ticketsim {

// The whole page; `version` goes in its header ("0.1.0").
std::string ManPage(const CliModel& model, std::string_view version);

// `text` made safe for roff: backslashes escaped, and no line starting with
// a character roff would take for a request.
std::string RoffText(std::string_view text);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_MANUAL_H_
