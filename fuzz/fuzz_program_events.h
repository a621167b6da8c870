// A program's fd-3 event lines under a fuzzer (docs/programs.md): one input
// is what one buyer's copy of a program writes on fd 3, and whatever it
// holds, each line must be recorded or refused with a protocol error, and
// what is recorded must fit the history.
//
// The input is split into lines at '\n', each cut at kMaxEventLine as a
// program run cuts it, and given to ProgramEvents::Line one after another,
// read at times 1 us apart inside the run's window [kFuzzWindowStart,
// kFuzzWindowEnd] on CLOCK_MONOTONIC (a line's "t" lies on that clock), into
// a share of kFuzzEventCapacity events. The first line refused ends the
// input, as it ends the run. Nothing is run and no file is made.
#ifndef TICKETSIM_FUZZ_FUZZ_PROGRAM_EVENTS_H_
#define TICKETSIM_FUZZ_FUZZ_PROGRAM_EVENTS_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace ticketsim {

inline constexpr int64_t kFuzzWindowStart = int64_t{1000} * 1000000000;
inline constexpr int64_t kFuzzWindowEnd = int64_t{1010} * 1000000000;
inline constexpr size_t kFuzzEventCapacity = 64;

// Reads one input's lines and checks what the reader promises. Returns ""
// if every promise held, otherwise which one broke.
std::string CheckProgramEventsInput(const uint8_t* data, size_t size);

}  // namespace ticketsim

#endif  // TICKETSIM_FUZZ_FUZZ_PROGRAM_EVENTS_H_
