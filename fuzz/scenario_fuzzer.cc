// libFuzzer's entry point: every input goes through the scenario loader and
// the `--set` parser (fuzz_scenario.h says how an input is read).
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_scenario.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ticketsim::FuzzScenarioInput(data, size);
  return 0;
}
