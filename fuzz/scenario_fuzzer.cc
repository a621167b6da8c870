// libFuzzer's entry point: every input goes through the scenario loader and
// the `--set` parser (fuzz_scenario.h), or, if it is a command line,
// through the whole of PrepareCommand (fuzz_command_line.h).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_command_line.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string problem = ticketsim::CheckFuzzInput(data, size);
  if (!problem.empty()) {
    std::fprintf(stderr, "ticketsim fuzz: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
