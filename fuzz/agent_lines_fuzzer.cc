// libFuzzer's entry point for what an agent writes to the parent
// (fuzz_agent_lines.h).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_agent_lines.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string problem = ticketsim::CheckAgentLinesInput(data, size);
  if (!problem.empty()) {
    std::fprintf(stderr, "ticketsim agent line fuzz: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
