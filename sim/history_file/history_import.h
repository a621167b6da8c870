// Reading a history back (`ticketsim check --history FILE`).
//
// A history written by `ticketsim run --history` (docs/history.md) holds
// every operation of every trial: from its lines the buyers' events are
// rebuilt, with the run's own findings (an abandoned lock, a deadlock, a
// program's crashes), so that the checker gives each trial the verdict the
// run gave it. The file is read a line at a time; one trial's events are
// held at once.
#ifndef TICKETSIM_SIM_HISTORY_FILE_HISTORY_IMPORT_H_
#define TICKETSIM_SIM_HISTORY_FILE_HISTORY_IMPORT_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "base/status.h"
#include "sim/check/checker.h"
#include "sim/result/run_result.h"

namespace ticketsim {

// One trial of a history, rebuilt as far as the history tells it: the
// scenario's name, tickets, guard, events and program mode, the buyers'
// events, the final counts and the run's findings.
struct ImportedTrial {
  int64_t trial = 0;       // from 1, as the history numbers it
  int64_t start_line = 0;  // the line of its `start`
  RunResult run;
};

// Reads the history at `path`, calling `on_trial` with each trial once its
// `final` line is read. Returns Invalid, with a message naming the file, the
// line and what is wrong, if the file cannot be read or is not a history;
// or what `on_trial` returned, if that was not ok.
Status ReadHistory(const std::string& path,
                   const std::function<Status(ImportedTrial&)>& on_trial);

// `ticketsim check --history FILE`: prints each trial's verdict on `out`,
// with its witnesses. Returns 0 if no trial shows a violation, 1 if some
// does, 2 (with the message on `err`) if the file cannot be read or is not
// a history.
int CheckHistory(const std::string& path, std::FILE* out, std::FILE* err);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_HISTORY_FILE_HISTORY_IMPORT_H_
