// A scenario as settings, for a history to record and a replay to restore:
// every key of the scenario that has a value, in the key table's order
// (`ticketsim list`), as JSON on the history's start line (docs/history.md),
// and back as the overrides a scenario is loaded with.
//
// Not recorded: name and description (the start line names the scenario
// apart), run.steps (the schedule line lists them), and store.url, which
// may hold a password.
#ifndef TICKETSIM_SIM_SCENARIO_SCENARIO_SETTINGS_H_
#define TICKETSIM_SIM_SCENARIO_SCENARIO_SETTINGS_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "sim/scenario/scenario.h"
#include "sim/scenario/scenario_file.h"

namespace ticketsim {

// Every recorded key of `s` that has a value (one that is unset, as
// program.command without a program, is left out), with its value as a
// scenario file would give it.
nlohmann::ordered_json ScenarioSettings(const Scenario& s);

// `settings` (an object as ScenarioSettings makes, read back) as overrides
// "key=<TOML value>", each with `origin` for messages. Invalid, saying
// which, for a value that no TOML value could have been.
Status SettingsAsOverrides(const nlohmann::json& settings,
                           std::string_view origin, std::vector<Override>* out);

// The first key, in `a`'s order then `b`'s, whose value differs between the
// two (or that one has and the other not), leaving out `ignored`; nullopt
// if they agree.
std::optional<std::string> FirstDifferentKey(
    const nlohmann::ordered_json& a, const nlohmann::ordered_json& b,
    const std::vector<std::string_view>& ignored);

// `text` as a TOML basic string, quoted.
std::string TomlString(std::string_view text);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_SCENARIO_SCENARIO_SETTINGS_H_
