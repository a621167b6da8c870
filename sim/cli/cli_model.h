// The command line as data: its commands, their options, and the values an
// option takes, read from the same CLI11 tables that `--help` prints and from
// the scenario's own word tables (stores, guards, schedules...). The manual
// page and the shell completions are made from it, so they cannot say other
// than `--help` and the scenario loader do.
#ifndef TICKETSIM_SIM_CLI_CLI_MODEL_H_
#define TICKETSIM_SIM_CLI_CLI_MODEL_H_

#include <CLI/CLI.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ticketsim {

// What an option's value (or a command's positional word) may be.
enum class ValueKind {
  kFlag,      // none: the option is a flag
  kFree,      // a number or text: nothing to offer
  kWords,     // one of `words`
  kWordList,  // words of `words`, separated by commas
  kFile,      // a file's path
  kSetting,   // KEY=VALUE, KEY one of `words`
  kScenario,  // a scenario file or folder, or a library scenario's name
};

struct ValueWord {
  std::string word;
  std::string help;
};

struct OptionModel {
  std::vector<std::string> names;  // "-h", "--help"
  std::string placeholder;  // what --help calls the value ("FILE"), or ""
  std::string help;         // --help's text, without the placeholder
  ValueKind value = ValueKind::kFlag;
  std::vector<ValueWord> words;
};

struct CommandModel {
  std::string name;  // "run"
  std::string help;
  bool hidden = false;
  std::vector<OptionModel> options;     // --help first
  std::vector<OptionModel> positional;  // names[0] is its name: "scenario"
};

struct CliModel {
  std::string name;                  // "ticketsim"
  std::string help;                  // the program's one-line description
  std::vector<OptionModel> options;  // of the program itself (--version)
  std::vector<CommandModel> commands;
};

// The shells `ticketsim completion` writes a script for: the values of a
// positional called "shell".
inline constexpr std::string_view kShellNames[] = {"bash", "zsh", "fish"};

// Which scenario key a flag (or a positional) sets, as the command line's
// flag table says: {"--guard", "guard.kind"}.
struct FlagKey {
  std::string_view flag;
  std::string_view key;
};

// The model of `app` (parsed or not). A flag's values come from the key
// `flag_keys` gives it: the key's word table when it has one. `--set` takes
// the scenario keys; a positional called "scenario" takes scenarios, one
// called "shell" kShellNames, --color kColorModes; a value
// whose help starts with "FILE" is a file.
CliModel DescribeCommandLine(const CLI::App& app,
                             std::span<const FlagKey> flag_keys);

// The words a scenario key takes, with their meanings, from the scenario's
// own tables; none for a key that takes a number or text.
std::vector<ValueWord> KeyWords(std::string_view key);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_CLI_MODEL_H_
