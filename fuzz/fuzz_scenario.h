// The scenario loader under a fuzzer: one input is a list of `--set`
// settings and a scenario file's text, and whatever it holds, loading must
// either give a valid scenario or fail with a message that says where.
//
// An input is split at its first NUL byte: before it, one `--set` setting
// per line; after it, the TOML text. Without a NUL the whole input is the
// text. (An input that begins with "ticketsim" and a NUL is a command line
// instead: fuzz_command_line.h.) The text is loaded as "fuzz.toml"; nothing is
// read from or written to disk, and no process or IPC object is made.
#ifndef TICKETSIM_FUZZ_FUZZ_SCENARIO_H_
#define TICKETSIM_FUZZ_FUZZ_SCENARIO_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace ticketsim {

// Loads one input and checks what the loader promises. Returns "" if every
// promise held, otherwise which one broke and the message or scenario that
// broke it.
std::string CheckScenarioInput(const uint8_t* data, size_t size);

}  // namespace ticketsim

#endif  // TICKETSIM_FUZZ_FUZZ_SCENARIO_H_
