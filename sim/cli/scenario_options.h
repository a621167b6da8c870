// The options of the commands that take scenarios (run, check, compare,
// step): the scenario files, a flag per common scenario key (--store,
// --guard, --buyers...), `--set KEY=VALUE` for any key, and the replay
// flags; and the settings they make, over the files.
#ifndef TICKETSIM_SIM_CLI_SCENARIO_OPTIONS_H_
#define TICKETSIM_SIM_CLI_SCENARIO_OPTIONS_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/cli/cli_model.h"
#include "sim/scenario/scenario_file.h"

namespace ticketsim {

// The scenario key each flag sets, for the manual page and completions.
std::vector<FlagKey> FlagKeys();

// What run, check, compare and step share: scenario files and the settings
// that override them.
struct ScenarioOptions {
  ScenarioOptions();

  std::vector<std::string> paths;
  std::vector<std::string> flag_values;  // one per key flag, in table order
  std::vector<CLI::Option*> options;     // the same
  std::vector<std::string> settings;
  bool threads = false;      // --threads: --mode thread
  std::string replay;        // --replay FILE
  int64_t replay_trial = 0;  // --replay-trial N

  // The key flags and --set.
  void AddTo(CLI::App* command);
  // --replay and --replay-trial, for the commands that run.
  void AddReplayTo(CLI::App* command);

  // Flags first, in table order, then each --set in the order given.
  std::vector<Override> Overrides() const;
};

// The flags and settings of `options` that the replay of a stepped run
// repeats, a word each for a flag and its value: all but the schedule, the
// steps and the trials, which the replay sets.
std::vector<std::string> ReplayedOverrides(const ScenarioOptions& options);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_SCENARIO_OPTIONS_H_
