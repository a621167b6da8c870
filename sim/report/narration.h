// Narration: the events of a run told in time order, in plain words, so a
// teacher can walk a class through one interleaving:
//
//     0.161 ms  buyer 3 reads 1
//     0.204 ms  buyer 5 reads 1
//    23.329 ms  buyer 3 writes 0 -- seat 1
//    24.895 ms  buyer 5 writes 0 -- seat 1: sold twice (buyer 3's sale is
//               written over)
#ifndef TICKETSIM_SIM_REPORT_NARRATION_H_
#define TICKETSIM_SIM_REPORT_NARRATION_H_

#include <cstdio>

#include "sim/check/checker.h"
#include "sim/result/run_result.h"

namespace ticketsim {

// At most this many lines, and then only the events the verdict's witnesses
// rest on and what ticketsim itself did; the rest is counted.
inline constexpr size_t kNarrationLines = 300;

void WriteNarration(std::FILE* out, const RunResult& run,
                    const Verdict& verdict, size_t max_lines = kNarrationLines);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_REPORT_NARRATION_H_
