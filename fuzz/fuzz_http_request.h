// What the box office's request fuzzer checks of an input
// (fuzz/http_request_fuzzer.cc), shared with the test that replays the
// committed corpus (tests/fuzz/fuzz_corpus_test.cc).
#ifndef TICKETSIM_FUZZ_FUZZ_HTTP_REQUEST_H_
#define TICKETSIM_FUZZ_FUZZ_HTTP_REQUEST_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace ticketsim {

// Feeds `data`, as the bytes a client sent on one connection, to a box
// office (a memory store, no lock), through the very parsing and handling
// its server gives a connection: every reply must be one the protocol
// names (docs/server.md), with a JSON body where it says JSON. Returns ""
// if so, else what is wrong.
std::string CheckHttpRequestInput(const uint8_t* data, size_t size);

}  // namespace ticketsim

#endif  // TICKETSIM_FUZZ_FUZZ_HTTP_REQUEST_H_
