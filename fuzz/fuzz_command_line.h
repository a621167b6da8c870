// The command line under a fuzzer: argv, every flag, `--set`, output paths
// and a scenario file, through PrepareCommand (parse, load and validate,
// check and open the outputs), which must run nothing, never crash or exit,
// and leave no file behind.
//
// An input that begins with "ticketsim" and a NUL is a command line: then
// come its arguments, each ended by a NUL, up to an empty one (two NULs in a
// row); what follows is the text of "fuzz.toml", which the arguments may
// name. It is all done in a temporary directory of the process's own, so
// that relative output paths touch nothing else; arguments that could reach
// outside it (an absolute path, "..") make the input a no-op. Any other
// input is a scenario input (fuzz_scenario.h).
#ifndef TICKETSIM_FUZZ_FUZZ_COMMAND_LINE_H_
#define TICKETSIM_FUZZ_FUZZ_COMMAND_LINE_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace ticketsim {

// Whether the input is a command line (see above).
bool IsCommandLineInput(const uint8_t* data, size_t size);

// Prepares one command line and checks what PrepareCommand promises.
// Returns "" if every promise held, otherwise which one broke.
std::string CheckCommandLineInput(const uint8_t* data, size_t size);

// A command line or a scenario input, whichever it is: "" if every promise
// held.
std::string CheckFuzzInput(const uint8_t* data, size_t size);

}  // namespace ticketsim

#endif  // TICKETSIM_FUZZ_FUZZ_COMMAND_LINE_H_
