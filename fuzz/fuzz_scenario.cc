#include "fuzz/fuzz_scenario.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "sim/scenario/scenario.h"
#include "sim/scenario/scenario_file.h"

namespace ticketsim {
namespace {

constexpr std::string_view kPath = "fuzz.toml";

// Skips a run of digits that is a number from 1 up; false if there is none.
bool SkipPositive(std::string_view* text) {
  size_t n = 0;
  while (n < text->size() && (*text)[n] >= '0' && (*text)[n] <= '9') ++n;
  const bool positive =
      n > 0 && text->substr(0, n).find_first_not_of('0') != std::string::npos;
  text->remove_prefix(n);
  return positive;
}

// Whether `text` starts with "fuzz.toml:LINE:COLUMN", both counted from 1,
// and leaves the rest in *text: the place a file's message must begin with.
bool SkipFilePlace(std::string_view* text) {
  const auto skip = [text](std::string_view word) {
    if (!text->starts_with(word)) return false;
    text->remove_prefix(word.size());
    return true;
  };
  return skip(kPath) && skip(":") && SkipPositive(text) && skip(":") &&
         SkipPositive(text);
}

// Whether `where` names a place in the file or one of the settings.
bool IsPlace(std::string_view where, std::span<const Override> overrides) {
  if (SkipFilePlace(&where) && where.empty()) return true;
  return std::any_of(overrides.begin(), overrides.end(),
                     [where](const Override& o) { return o.origin == where; });
}

// Whether a message begins with the place to blame and says something after
// it: "fuzz.toml:3:9: ..." or "--set buyers.count=0: ...".
bool IsPlacedMessage(std::string_view message,
                     std::span<const Override> overrides) {
  std::string_view rest = message;
  if (SkipFilePlace(&rest) && rest.starts_with(": ") && rest.size() > 2) {
    return true;
  }
  return std::any_of(
      overrides.begin(), overrides.end(), [message](const Override& o) {
        const std::string place = o.origin + ": ";
        return message.starts_with(place) && message.size() > place.size();
      });
}

std::vector<Override> SettingsOf(std::string_view lines) {
  std::vector<Override> overrides;
  while (!lines.empty()) {
    const size_t end = std::min(lines.find('\n'), lines.size());
    const std::string setting(lines.substr(0, end));
    lines.remove_prefix(std::min(end + 1, lines.size()));
    // A blank line is no setting, so that a hand-written list may end with a
    // newline.
    if (setting.empty()) continue;
    overrides.push_back({setting, "--set " + setting});
  }
  return overrides;
}

// Checks a scenario the loader accepted; returns what is wrong with it.
std::string CheckLoaded(const LoadedScenario& loaded,
                        std::span<const Override> overrides) {
  if (loaded.path != kPath) {
    return fmt::format("loaded.path is \"{}\", not \"{}\"", loaded.path, kPath);
  }
  std::string key;
  if (Status s = ValidateScenario(loaded.scenario, &key); !s.ok()) {
    return fmt::format("accepted, yet it does not validate ({}): {}", key,
                       s.message());
  }
  const std::vector<ScenarioKeyHelp> keys = ScenarioKeys();
  for (const auto& [name, where] : loaded.where) {
    const auto is_name = [&key = name](const ScenarioKeyHelp& k) {
      return k.key == key;
    };
    if (std::none_of(keys.begin(), keys.end(), is_name)) {
      return fmt::format("where[\"{}\"]: not a key", name);
    }
    if (!IsPlace(where, overrides)) {
      return fmt::format("where[\"{}\"] = \"{}\": not a place", name, where);
    }
  }
  // What a run and its report compute from any valid scenario.
  if (DescribeSetup(loaded.scenario).empty()) return "DescribeSetup is empty";
  if (RunTimeoutMs(loaded.scenario) <= 0) return "RunTimeoutMs is not positive";
  if (ProcessCount(loaded.scenario) < 1) return "ProcessCount is below 1";
  if (HistoryBytes(loaded.scenario) > kMaxHistoryBytes) {
    return "HistoryBytes is over the limit";
  }
  return "";
}

}  // namespace

std::string CheckScenarioInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view text = input;
  std::vector<Override> overrides;
  if (const size_t nul = input.find('\0'); nul != std::string_view::npos) {
    overrides = SettingsOf(input.substr(0, nul));
    text = input.substr(nul + 1);
  }
  LoadedScenario loaded;
  const Status s =
      LoadScenarioText(std::string(kPath), text, overrides, &loaded);
  if (s.ok()) return CheckLoaded(loaded, overrides);
  if (!IsPlacedMessage(s.message(), overrides)) {
    return fmt::format("a message without its place: \"{}\"", s.message());
  }
  return "";
}

}  // namespace ticketsim
