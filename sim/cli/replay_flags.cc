#include "sim/cli/replay_flags.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <optional>
#include <utility>

#include "base/escape.h"
#include "sim/cli/scenario_loading.h"
#include "sim/history_file/replay.h"
#include "sim/scenario/scenario.h"
#include "sim/scenario/scenario_settings.h"

namespace ticketsim {
namespace {

// What a setting is in a scenario's settings, for a message: its value as
// a scenario file writes it, or "unset".
std::string SettingWords(const nlohmann::ordered_json& settings,
                         const std::string& key) {
  const auto it = settings.find(key);
  return it == settings.end() ? "unset" : it->dump();
}

// The scenario a replay runs: the one the history recorded for the trial,
// which the scenario file and flags given may repeat but never change
// (the steps, the seed and the trials are the replay's own). Replaces
// *loaded with it. Invalid, naming the first key they change and where.
Status RestoreRecordedScenario(const ScenarioOptions& options,
                               const Replay& replay, LoadedScenario* loaded) {
  const std::string source = "--replay " + Visible(options.replay);
  LoadedScenario recorded;
  recorded.scenario = Scenario();
  if (!replay.name.empty()) recorded.scenario.name = replay.name;
  LoadedScenario given = recorded;
  if (Status s = LoadScenario("", replay.settings, &recorded); !s.ok()) {
    return Status::Invalid(fmt::format(
        "{}: its scenario is none ticketsim can run: {}", source, s.message()));
  }
  if (loaded->path.empty()) {
    // No file: the recorded scenario, with the flags given over it.
    std::vector<Override> settings = replay.settings;
    for (const Override& o : options.Overrides()) settings.push_back(o);
    if (Status s = LoadScenario("", settings, &given); !s.ok()) return s;
  } else {
    given = *loaded;
  }
  const nlohmann::ordered_json ran = ScenarioSettings(recorded.scenario);
  const nlohmann::ordered_json asked = ScenarioSettings(given.scenario);
  if (const std::optional<std::string> key =
          FirstDifferentKey(ran, asked, {"buyers.seed", "run.trials"})) {
    const auto at = given.where.find(*key);
    const std::string by = at != given.where.end()
                               ? at->second
                               : fmt::format(
                                     "{}, which leaves it at its "
                                     "default,",
                                     loaded->path);
    return Status::Invalid(fmt::format(
        "{}: {}: the trial ran with {} = {}, but {} makes it {}: a replay "
        "runs the scenario its history recorded; drop that setting or give "
        "the value it recorded",
        source, *key, *key, SettingWords(ran, *key), by,
        SettingWords(asked, *key)));
  }
  if (loaded->path.empty()) *loaded = std::move(given);
  return Status::Ok();
}

// --replay-trial without --replay, or below 1: Invalid.
Status CheckReplayTrial(const ScenarioOptions& options) {
  if (options.replay.empty() && options.replay_trial != 0) {
    return Status::Invalid("--replay-trial needs --replay FILE");
  }
  if (!options.replay.empty() && options.replay_trial < 0) {
    return Status::Invalid(fmt::format("--replay-trial {}: trials count from 1",
                                       options.replay_trial));
  }
  return Status::Ok();
}

// Gives `loaded` the trial's steps and seed, to run once; Invalid if the
// scenario then is none that can run.
Status ReplayIn(const ScenarioOptions& options, const Replay& replay,
                LoadedScenario* loaded) {
  const std::string source = "--replay " + options.replay;
  if (replay.recorded) {
    if (Status s = RestoreRecordedScenario(options, replay, loaded); !s.ok()) {
      return s;
    }
  }
  Scenario& s = loaded->scenario;
  s.schedule.steps = replay.steps;
  s.buyers.seed = replay.seed;
  s.trials = 1;
  for (const char* key : {"run.steps", "buyers.seed", "run.trials"}) {
    loaded->where[key] = source;
  }
  DropRushThinkWhenControlled(loaded, /*controlled=*/true);
  std::string key;
  if (Status v = ValidateScenario(s, &key); !v.ok()) {
    return Status::Invalid(fmt::format(
        "{}: {}: {}", Visible(source),
        loaded->path.empty() ? "the scenario" : Visible(loaded->path),
        v.message()));
  }
  return Status::Ok();
}

// "ticketsim: replaying trial 3 of FILE (...)", and whether the file
// recorded the scenario.
std::string ReplayNote(const ScenarioOptions& options, const Replay& replay) {
  std::string note = fmt::format(
      "ticketsim: replaying trial {} of {} (seed {}, {} steps{})\n",
      replay.trial, Visible(options.replay), replay.seed, replay.steps.size(),
      replay.violations.empty()
          ? ""
          : fmt::format(", which showed {}",
                        fmt::join(replay.violations, ", ")));
  if (!replay.recorded) {
    note += fmt::format(
        "ticketsim: {} does not record the scenario of its trials (an older "
        "ticketsim wrote it): the trial runs in the scenario given here\n",
        Visible(options.replay));
  }
  return note;
}

}  // namespace

Status ApplyReplay(const ScenarioOptions& options,
                   std::vector<LoadedScenario>* scenarios, std::string* note) {
  if (Status s = CheckReplayTrial(options); !s.ok()) return s;
  if (options.replay.empty()) return Status::Ok();
  Replay replay;
  if (Status s = LoadReplay(options.replay, options.replay_trial, &replay);
      !s.ok()) {
    return s;
  }
  for (LoadedScenario& loaded : *scenarios) {
    if (Status s = ReplayIn(options, replay, &loaded); !s.ok()) return s;
  }
  *note += ReplayNote(options, replay);
  return Status::Ok();
}

}  // namespace ticketsim
