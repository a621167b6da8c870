// A program's command line: split into words, and found on this machine.
#ifndef TICKETSIM_SIM_PROGRAM_COMMAND_H_
#define TICKETSIM_SIM_PROGRAM_COMMAND_H_

#include <string>
#include <string_view>
#include <vector>

#include "storage/status.h"

namespace ticketsim {

struct ProgramSpec;

// Splits a command line into words as a shell would for simple cases:
// blanks separate, '...' and "..." quote, a backslash escapes the next
// character. Invalid for an unclosed quote.
Status SplitCommandLine(std::string_view line, std::vector<std::string>* out);

// The command of `program` as it will be executed: command[0] looked up on
// PATH (or, when it has a '/', taken from base_dir), and each later argument
// that names an existing file or directory relative to base_dir made
// absolute (so "buyer.py" next to the scenario is found from the run
// directory the program runs in). Invalid, naming it, when command[0] is
// not an executable file.
Status ResolveProgram(const ProgramSpec& program,
                      std::vector<std::string>* argv);

// The command as a shell line, for reports: "python3 buyer.py".
std::string CommandLine(const std::vector<std::string>& argv);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_PROGRAM_COMMAND_H_
