// The scenario's key table seen from inside sim/: set a key from a TOML
// value, and find the nearest key to a misspelt one. Kept out of scenario.h
// so that only the two files that read TOML include toml++.
#ifndef TICKETSIM_SIM_SCENARIO_SCENARIO_KEYS_H_
#define TICKETSIM_SIM_SCENARIO_SCENARIO_KEYS_H_

#include <toml++/toml.h>

#include <string>
#include <string_view>

#include "sim/scenario/scenario.h"

namespace ticketsim {

// Whether `key` ("buyers.count") is a key a scenario may set.
bool IsScenarioKey(std::string_view key);

// Whether `key` names a section of keys ("buyers").
bool IsScenarioSection(std::string_view key);

// Sets one key from a TOML value. Returns Invalid, saying what is wrong but
// not naming the key, for a wrong type or a value out of range.
// REQUIRES: IsScenarioKey(key).
Status SetKey(Scenario* scenario, std::string_view key,
              const toml::node& value);

// The known key nearest to a misspelt one, or "" when none is near.
std::string NearestKey(std::string_view key);

// "[20, 50]" when `text` is a range written another way ("20-50", "20,50",
// "20 - 50"), so that a message can show how to write it; "" otherwise.
std::string RangeWrittenAsArray(std::string_view text);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_SCENARIO_SCENARIO_KEYS_H_
