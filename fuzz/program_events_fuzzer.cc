// libFuzzer's entry point for a program's fd-3 event lines
// (fuzz_program_events.h).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_program_events.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string problem = ticketsim::CheckProgramEventsInput(data, size);
  if (!problem.empty()) {
    std::fprintf(stderr, "ticketsim fd-3 event fuzz: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
