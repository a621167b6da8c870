// Scenario files: TOML in, a checked Scenario out, or one message that says
// where and what is wrong ("rush.toml:12:9: buyers.count: 0 is out of range
// [1, 100000]").
//
// A file is read whole (at most kMaxScenarioBytes), refused if it is not a
// regular file (a FIFO, a device: never waited on) or if empty or binary,
// parsed by toml++, and walked key by key through the scenario's key table
// (scenario.cc), so a file, a flag and `--set` are checked alike. The command
// line's overrides come last, in order, and win.
#ifndef TICKETSIM_SIM_SCENARIO_SCENARIO_FILE_H_
#define TICKETSIM_SIM_SCENARIO_SCENARIO_FILE_H_

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "sim/scenario/scenario.h"

namespace ticketsim {

inline constexpr size_t kMaxScenarioBytes = size_t{1} << 20;

// One setting from the command line: "buyers.count=10", and how the user
// wrote it ("--buyers 10"), for messages.
struct Override {
  std::string setting;
  std::string origin;
};

struct LoadedScenario {
  std::string path;  // the file; empty for a scenario from flags alone
  Scenario scenario;
  // Where each key was set: "rush.toml:12:9" or "--buyers 10".
  std::map<std::string, std::string, std::less<>> where;
};

// Loads `path` (or, if empty, starts from the defaults), applies `overrides`,
// and validates the result. On failure returns Invalid with a message that
// begins with the place to blame: "file:line:column: " or "--set k=v: ".
Status LoadScenario(const std::string& path,
                    std::span<const Override> overrides, LoadedScenario* out);

// As LoadScenario, from `text` already in memory: the checks of size, empty
// and binary text, the TOML, the keys, `overrides` and validation. `path`
// only names the text in messages (and the scenario, if it sets no name).
Status LoadScenarioText(const std::string& path, std::string_view text,
                        std::span<const Override> overrides,
                        LoadedScenario* out);

// Applies `overrides` to `loaded` (as LoadScenario left it) and validates
// the result again, blaming the key that fails as LoadScenario does: for a
// command that puts settings of its own over the user's (`step` makes the
// schedule a person's).
Status ApplyOverrides(std::span<const Override> overrides,
                      LoadedScenario* loaded);

// The scenario files that `paths` name: each file as it is, each directory's
// *.toml files in name order (those that cannot be looked at, such as a
// symlink loop, too: loading one says why). Fails (Invalid) on a path that
// does not exist or cannot be looked at, a directory that cannot be listed,
// or one with no scenario in it, with the reason. Never throws.
Status ExpandScenarioPaths(std::span<const std::string> paths,
                           std::vector<std::string>* files);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_SCENARIO_SCENARIO_FILE_H_
