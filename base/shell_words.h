// Command lines as words, and words as a command line, the way a shell
// reads simple cases.
#ifndef TICKETSIM_BASE_SHELL_WORDS_H_
#define TICKETSIM_BASE_SHELL_WORDS_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ticketsim {

// Splits a command line into words as a shell would for simple cases:
// blanks separate, '...' and "..." quote, a backslash escapes the next
// character. Invalid for an unclosed quote.
Status SplitCommandLine(std::string_view line, std::vector<std::string>* out);

// The command as a shell line, for reports: "python3 buyer.py".
std::string CommandLine(const std::vector<std::string>& argv);

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_SHELL_WORDS_H_
