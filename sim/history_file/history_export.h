// The history as JSON lines, in the invoke / ok / fail / info form that
// Jepsen-style history checkers read. docs/history.md documents it.
//
// Each purchase is a "buy" operation of its buyer (the process): an invoke
// when it begins (when the buyer starts to wait for the guard, or reads),
// then ok (value: the seat), fail (sold out, a guard or store failure, a torn
// read) or, if the buyer died midway, info (indeterminate). Each query is a
// "read": an invoke and its ok (value: the count) or fail (torn). Lines are
// in time order, merged from the buyers' slices as they are written, so a
// run of any size is streamed in memory that grows with buyers, not events.
#ifndef TICKETSIM_SIM_HISTORY_FILE_HISTORY_EXPORT_H_
#define TICKETSIM_SIM_HISTORY_FILE_HISTORY_EXPORT_H_

#include <cstdio>

#include "base/status.h"
#include "sim/check/checker.h"
#include "sim/result/run_result.h"

namespace ticketsim {

// Appends the history of `run`, trial `trial` (from 1), to `out`; under a
// controlled schedule its steps too, and `verdict`'s violation kinds (what
// --replay looks for).
Status WriteHistoryJsonl(std::FILE* out, const RunResult& run, int64_t trial,
                         const Verdict& verdict);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_HISTORY_FILE_HISTORY_EXPORT_H_
