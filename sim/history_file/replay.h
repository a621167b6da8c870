// Replay: the schedule of one trial, read back from a history file
// (`--history`, docs/history.md), for `--replay FILE`.
//
// A controlled run's history ends each trial with a `schedule` line: the
// buyer of every step, the trial's seed, and the kinds of violation it
// showed; its `start` line records the scenario it ran. Replaying that
// list with that seed, in that scenario, repeats the trial step for step. The
// file may be large (every event of every trial) and may be anything at all: it
// is read a line at a time, and only the schedule lines are parsed.
#ifndef TICKETSIM_SIM_HISTORY_FILE_REPLAY_H_
#define TICKETSIM_SIM_HISTORY_FILE_REPLAY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "sim/scenario/scenario_file.h"

namespace ticketsim {

struct Replay {
  std::vector<uint32_t> steps;
  uint64_t seed = 0;
  int64_t trial = 0;     // from 1
  std::string schedule;  // the schedule that chose the steps ("pct", ...)
  std::vector<std::string> violations;  // the kinds it showed
  // The scenario the trial ran, from the `start` line before its schedule
  // line (sim/scenario/scenario_settings.h): its name and its settings, as
  // overrides; `recorded` false for a history that does not say (written
  // before start lines held them).
  bool recorded = false;
  std::string name;
  std::vector<Override> settings;
};

// Reads trial `trial`'s schedule from `path`; with `trial` 0, the first
// trial in the file that showed a violation, or else the first. Returns
// Invalid, naming the file (and line), when it cannot be read (or is not a
// regular file), holds no schedule, or not that trial's, or when the
// trial's start line records settings that are no scenario's.
Status LoadReplay(const std::string& path, int64_t trial, Replay* out);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_HISTORY_FILE_REPLAY_H_
