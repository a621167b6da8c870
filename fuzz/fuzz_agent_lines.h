// The host protocol's parent side under a fuzzer: one input is what an
// agent writes on its stdout, and whatever it holds, the parent must take
// each line or refuse it, and every report of what it took must be made.
//
// The input is split into lines at '\n' and each is cut as the parent cuts
// them (kMaxHostLine). The run is fixed: two hosts, "a" and "b", four
// buyers of two attempts each under a named-mutex, on PostgreSQL; the
// input is host a's agent, whose buyers are 0 and 2, whose clock is the
// parent's, and whose run began at kFuzzRunStart on that clock (a line's t
// lies on it). Each line is parsed (ParseAgentLine); an event or an end is
// checked and taken as the parent takes it (HostEvents); the first line
// refused ends the input, as it ends an agent. Then the run is checked and
// reported: the verdict with the hosts' clocks, the text, the narration,
// the JSON report, the history (--history) and the HTML timeline, all
// written to /dev/null. Nothing is run and no file is made.
#ifndef TICKETSIM_FUZZ_FUZZ_AGENT_LINES_H_
#define TICKETSIM_FUZZ_FUZZ_AGENT_LINES_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace ticketsim {

// Where host a's run began, on its clock; and how long it has run.
inline constexpr int64_t kFuzzRunStart = int64_t{1000} * 1000000000;
inline constexpr int64_t kFuzzRunLength = int64_t{5} * 1000000000;

// Takes one input's lines and reports the run. Returns "" if every promise
// held, otherwise which one broke.
std::string CheckAgentLinesInput(const uint8_t* data, size_t size);

}  // namespace ticketsim

#endif  // TICKETSIM_FUZZ_FUZZ_AGENT_LINES_H_
