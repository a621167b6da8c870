// libFuzzer over the bytes a client sends the box office (`make fuzz`).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_http_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string problem = ticketsim::CheckHttpRequestInput(data, size);
  if (!problem.empty()) {
    std::fprintf(stderr, "ticketsim http request fuzz: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
