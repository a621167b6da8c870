#include "sim/cli/scenario_options.h"

#include <fmt/format.h>

#include <iterator>
#include <string_view>

#include "sim/scenario/scenario_settings.h"

namespace ticketsim {
namespace {

// A flag that sets one scenario key.
struct KeyFlag {
  const char* flag;
  const char* key;
  const char* help;  // "{}" stands for the words the key takes, " | "
  bool range;  // "MIN,MAX" (or one number), written [MIN, MAX] for the key
  bool list = false;  // "A,B,C" (or one number), written [A,B,C] always
};

constexpr KeyFlag kKeyFlags[] = {
    {"--store", "store.kind", "{}", false},
    {"--write", "store.write", "file store: {}", false},
    {"--slow-write-ms", "store.slow_write_ms",
     "file store: how long each write takes", false},
    {"--journal", "store.journal", "sqlite store: {}", false},
    {"--busy-timeout-ms", "store.busy_timeout_ms", "sqlite store: busy timeout",
     false},
    {"--guard", "guard.kind", "{}", false},
    {"--scope", "guard.scope", "{}", false},
    {"--timeout-ms", "guard.timeout_ms", "longest wait for the guard", false},
    {"--permits", "guard.permits", "named-semaphore: buyers let in at once",
     false},
    {"--buyers", "buyers.count",
     "buyers (processes, or with --threads threads)", false},
    {"--pool", "buyers.pool", "workers serving all buyers", false},
    {"--mode", "buyers.mode", "{}: what each buyer runs as", false},
    {"--tickets", "tickets.initial", "tickets on sale", false},
    {"--attempts", "buyers.attempts", "purchases each buyer tries", false},
    {"--method", "buyers.method", "{}", false},
    {"--think-ms", "buyers.think_ms",
     "MIN,MAX: time between read and write (the race window)", true},
    {"--query-delay-ms", "buyers.query_delay_ms",
     "MIN,MAX: time between the query and the purchase", true},
    {"--seed", "buyers.seed",
     "seed of the random delays (trial t uses seed + t - 1, wrapping to 0)",
     false},
    {"--kill-holder", "faults.kill_holder",
     "chance a buyer is SIGKILLed inside its critical section", false},
    {"--trials", "run.trials", "run each scenario this many times", false},
    {"--schedule", "run.schedule",
     "{}: who interleaves the buyers. os (default): to show a race a think "
     "time opens, as on any machine; seeded: to hunt races with --trials, "
     "also with no think time, faster, each trial replayable by its seed; "
     "pct: when you need a bound on how often a race of depth "
     "--pct-depth shows; step: you choose (README, BENCHMARKS.md)",
     false},
    {"--pct-depth", "run.pct_depth", "pct: the depth of the race it hunts (2)",
     false},
    {"--steps", "run.steps",
     "0,1,1,0: the buyer of each of the first steps (a controlled schedule; "
     "after the list, seeded)",
     false, true},
    {"--run-timeout-ms", "run.timeout_ms", "each run's time limit", false},
    {"--program", "program.command",
     "'CMD ARGS': run your own buyer program (docs/programs.md)", false},
    {"--program-mode", "program.mode", "{}", false},
    {"--sold-pattern", "program.sold_pattern",
     "REGEX (RE2's syntax): a line of the program's output that means a "
     "sale",
     false},
};

// A flag's help, with the words its key takes (from the scenario's own
// tables, so that a new store or guard is in --help as soon as it exists).
std::string FlagHelp(const KeyFlag& flag) {
  std::string words;
  for (const ValueWord& w : KeyWords(flag.key)) {
    words += (words.empty() ? "" : " | ") + w.word;
  }
  std::string help = flag.help;
  if (const size_t at = help.find("{}"); at != std::string::npos) {
    help.replace(at, 2, words);
  }
  return help;
}

// Flags whose value is text as it is (a command, a pattern), never TOML.
bool IsTextFlag(const KeyFlag& flag) {
  return std::string_view(flag.key) == "program.command" ||
         std::string_view(flag.key) == "program.sold_pattern";
}

// The setting a key flag given `value` makes, and where it came from.
Override FlagOverride(const KeyFlag& flag, const std::string& value) {
  const bool range =
      (flag.range && value.find(',') != std::string::npos) || flag.list;
  return {range              ? fmt::format("{}=[{}]", flag.key, value)
          : IsTextFlag(flag) ? fmt::format("{}={}", flag.key, TomlString(value))
                             : fmt::format("{}={}", flag.key, value),
          fmt::format("{} {}", flag.flag, value)};
}

}  // namespace

std::vector<FlagKey> FlagKeys() {
  std::vector<FlagKey> keys = {{"--guards", "guard.kind"},
                               {"--modes", "buyers.mode"},
                               {"--threads", "buyers.mode"}};
  for (const KeyFlag& flag : kKeyFlags) keys.push_back({flag.flag, flag.key});
  return keys;
}

ScenarioOptions::ScenarioOptions()
    : flag_values(std::size(kKeyFlags)),
      options(std::size(kKeyFlags), nullptr) {}

void ScenarioOptions::AddTo(CLI::App* command) {
  for (size_t i = 0; i < std::size(kKeyFlags); ++i) {
    options[i] = command->add_option(kKeyFlags[i].flag, flag_values[i],
                                     FlagHelp(kKeyFlags[i]));
  }
  command->add_flag("--threads", threads,
                    "the buyers as threads of one buyer process (--mode "
                    "thread; docs/threads.md)");
  // One KEY=VALUE per --set, so that a scenario file after it is not
  // taken for a second setting.
  command
      ->add_option("--set", settings,
                   "KEY=VALUE: set any scenario key, over the file (see "
                   "`ticketsim list`); one per --set")
      ->allow_extra_args(false);
}

void ScenarioOptions::AddReplayTo(CLI::App* command) {
  command->add_option(
      "--replay", replay,
      "FILE: repeat a trial of a history written with --history under a "
      "controlled schedule, step for step (the first that showed a "
      "violation, or --replay-trial)");
  command->add_option("--replay-trial", replay_trial,
                      "N: which trial of the --replay file");
}

std::vector<Override> ScenarioOptions::Overrides() const {
  std::vector<Override> out;
  for (size_t i = 0; i < std::size(kKeyFlags); ++i) {
    const std::string& value = flag_values[i];
    const KeyFlag& flag = kKeyFlags[i];
    // A flag given empty on purpose (--steps "$STEPS", unset) is an
    // error, naming the flag, not the scenario without it.
    const bool given = options[i] != nullptr && options[i]->count() > 0;
    if (value.empty() && !given) continue;
    if (value.empty() && !IsTextFlag(flag)) {
      out.push_back(
          {fmt::format("{}=", flag.key), fmt::format("{} ''", flag.flag)});
      continue;
    }
    out.push_back(FlagOverride(flag, value));
  }
  if (threads) out.push_back({"buyers.mode=\"thread\"", "--threads"});
  for (const std::string& setting : settings) {
    out.push_back({setting, "--set " + setting});
  }
  return out;
}

std::vector<std::string> ReplayedOverrides(const ScenarioOptions& options) {
  const auto replayed = [](std::string_view key) {
    return key != "run.schedule" && key != "run.steps" && key != "run.trials";
  };
  std::vector<std::string> words;
  for (size_t i = 0; i < std::size(kKeyFlags); ++i) {
    if (options.flag_values[i].empty() || !replayed(kKeyFlags[i].key)) {
      continue;
    }
    words.push_back(kKeyFlags[i].flag);
    words.push_back(options.flag_values[i]);
  }
  if (options.threads) words.push_back("--threads");
  for (const std::string& setting : options.settings) {
    std::string_view key(setting);
    key = key.substr(0, key.find('='));
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    if (!replayed(key)) continue;
    words.push_back("--set");
    words.push_back(setting);
  }
  return words;
}

}  // namespace ticketsim
