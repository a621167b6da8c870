#include "sim/cli/cli.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "base/color.h"
#include "base/escape.h"
#include "base/interrupt.h"
#include "base/output_file.h"
#include "base/version.h"
#include "sim/cli/cli_model.h"
#include "sim/cli/doc_commands.h"
#include "sim/cli/progress.h"
#include "sim/cli/step_command.h"
#include "sim/guards/guard.h"
#include "sim/history_file/history_export.h"
#include "sim/history_file/history_import.h"
#include "sim/history_file/replay.h"
#include "sim/hosts/host_agent.h"
#include "sim/report/narration.h"
#include "sim/report/rates.h"
#include "sim/report/report_json.h"
#include "sim/report/report_junit.h"
#include "sim/report/report_text.h"
#include "sim/run/run.h"
#include "sim/run/trials.h"
#include "sim/scenario/scenario.h"
#include "sim/scenario/scenario_file.h"
#include "sim/scenario/scenario_library.h"
#include "sim/scenario/scenario_settings.h"
#include "sim/timeline/report_html.h"
#include "storage/pg_connect.h"
#include "storage/run_names.h"

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
    {"--buyers", "buyers.count", "buyer processes", false},
    {"--pool", "buyers.pool", "worker processes serving all buyers", false},
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

// The scenario key each flag sets, for the manual page and completions.
std::vector<FlagKey> FlagKeys() {
  std::vector<FlagKey> keys = {{"--guards", "guard.kind"}};
  for (const KeyFlag& flag : kKeyFlags) keys.push_back({flag.flag, flag.key});
  return keys;
}

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

// What run, check and compare share: scenario files and the settings that
// override them.
struct ScenarioOptions {
  std::vector<std::string> paths;
  std::vector<std::string> flag_values =
      std::vector<std::string>(std::size(kKeyFlags));
  std::vector<CLI::Option*> options =
      std::vector<CLI::Option*>(std::size(kKeyFlags), nullptr);
  std::vector<std::string> settings;
  std::string replay;        // --replay FILE
  int64_t replay_trial = 0;  // --replay-trial N

  // --replay and --replay-trial, for the commands that run.
  void AddReplayTo(CLI::App* command) {
    command->add_option(
        "--replay", replay,
        "FILE: repeat a trial of a history written with --history under a "
        "controlled schedule, step for step (the first that showed a "
        "violation, or --replay-trial)");
    command->add_option("--replay-trial", replay_trial,
                        "N: which trial of the --replay file");
  }

  void AddTo(CLI::App* command) {
    for (size_t i = 0; i < std::size(kKeyFlags); ++i) {
      options[i] = command->add_option(kKeyFlags[i].flag, flag_values[i],
                                       FlagHelp(kKeyFlags[i]));
    }
    // One KEY=VALUE per --set, so that a scenario file after it is not
    // taken for a second setting.
    command
        ->add_option("--set", settings,
                     "KEY=VALUE: set any scenario key, over the file (see "
                     "`ticketsim list`); one per --set")
        ->allow_extra_args(false);
  }

  // Flags first, in table order, then each --set in the order given.
  std::vector<Override> Overrides() const {
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
      const bool range =
          (flag.range && value.find(',') != std::string::npos) || flag.list;
      out.push_back({range ? fmt::format("{}=[{}]", flag.key, value)
                     : IsTextFlag(flag)
                         ? fmt::format("{}={}", flag.key, TomlString(value))
                         : fmt::format("{}={}", flag.key, value),
                     fmt::format("{} {}", flag.flag, value)});
    }
    for (const std::string& setting : settings) {
      out.push_back({setting, "--set " + setting});
    }
    return out;
  }
};

// The rush's think time is what makes its race certain under the os
// schedule; a controlled schedule (a step list, seeded, pct, a person at
// `step`) forces the interleaving by itself, and a think time would only
// add a step to every purchase. So a scenario from the command line drops
// it there, unless --think-ms (or --set) asked for it.
void DropRushThinkWhenControlled(LoadedScenario* loaded, bool controlled) {
  if (!loaded->path.empty() || !controlled ||
      loaded->where.contains("buyers.think_ms")) {
    return;
  }
  loaded->scenario.buyers.think_ms = {};
}

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

// --replay FILE: every scenario takes the steps and the seed of the trial
// the file recorded, and runs once, in the scenario the trial ran (when
// the file records it). Adds a line saying which to `note`. Returns
// Invalid when the file does not say, or its steps do not fit, or a
// scenario given changes the one recorded.
Status ApplyReplay(const ScenarioOptions& options,
                   std::vector<LoadedScenario>* scenarios, std::string* note) {
  if (options.replay.empty()) {
    if (options.replay_trial != 0) {
      return Status::Invalid("--replay-trial needs --replay FILE");
    }
    return Status::Ok();
  }
  if (options.replay_trial < 0) {
    return Status::Invalid(fmt::format("--replay-trial {}: trials count from 1",
                                       options.replay_trial));
  }
  Replay replay;
  if (Status s = LoadReplay(options.replay, options.replay_trial, &replay);
      !s.ok()) {
    return s;
  }
  const std::string source = "--replay " + options.replay;
  for (LoadedScenario& l : *scenarios) {
    if (replay.recorded) {
      if (Status s = RestoreRecordedScenario(options, replay, &l); !s.ok()) {
        return s;
      }
    }
    Scenario& s = l.scenario;
    s.schedule.steps = replay.steps;
    s.buyers.seed = replay.seed;
    s.trials = 1;
    for (const char* key : {"run.steps", "buyers.seed", "run.trials"}) {
      l.where[key] = source;
    }
    DropRushThinkWhenControlled(&l, /*controlled=*/true);
    std::string key;
    if (Status v = ValidateScenario(s, &key); !v.ok()) {
      return Status::Invalid(fmt::format(
          "{}: {}: {}", Visible(source),
          l.path.empty() ? "the scenario" : Visible(l.path), v.message()));
    }
  }
  *note += fmt::format(
      "ticketsim: replaying trial {} of {} (seed {}, {} steps{})\n",
      replay.trial, Visible(options.replay), replay.seed, replay.steps.size(),
      replay.violations.empty()
          ? ""
          : fmt::format(", which showed {}",
                        fmt::join(replay.violations, ", ")));
  if (!replay.recorded) {
    *note += fmt::format(
        "ticketsim: {} does not record the scenario of its trials (an older "
        "ticketsim wrote it): the trial runs in the scenario given here\n",
        Visible(options.replay));
  }
  return Status::Ok();
}

// The flags and settings of `options` that the replay of a stepped run
// repeats, a word each for a flag and its value: all but the schedule, the
// steps and the trials, which the replay sets.
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

// The `ticketsim run` that replays a stepped run of `scenario` (as
// `options` made it), but for its --steps: the same files and flags, one
// trial, and after the list the scenario's own schedule (seeded if that is
// a person's).
std::string ReplayCommand(const ScenarioOptions& options,
                          const Scenario& scenario) {
  std::string out = "ticketsim run";
  for (const std::string& path : options.paths) out += " " + ShellWord(path);
  for (const std::string& word : ReplayedOverrides(options)) {
    out += " " + ShellWord(word);
  }
  if (scenario.schedule.kind == ScheduleKind::kStep) {
    out += " --set run.schedule=seeded";
  }
  if (scenario.trials != 1) out += " --trials 1";
  return out;
}

// --color WHEN, for the commands that print a report.
void AddColorTo(CLI::App* command, std::string* when) {
  command->add_option(
      "--color", *when,
      fmt::format("WHEN: colour the text: {} (auto: on a terminal, unless "
                  "NO_COLOR is set; FORCE_COLOR forces it)",
                  WordList(kColorModes)));
}

// --color's word as a mode; Invalid, naming the flag, for another word.
Status ParseColor(const std::string& when, ColorMode* mode) {
  const std::optional<ColorMode> parsed = ValueOf(kColorModes, when);
  if (!parsed) {
    return Status::Invalid(
        fmt::format("--color {}: expected {}", when, WordList(kColorModes)));
  }
  *mode = *parsed;
  return Status::Ok();
}

// A message on stderr. Never throws: with stderr closed or full there is
// nowhere left to say anything, and the exit status still tells.
void Complain(std::string_view message) {
  const std::string line =
      fmt::format("ticketsim: {}\n", VisibleIndented(message, "    "));
  if (std::fwrite(line.data(), 1, line.size(), stderr) != line.size()) {
    std::clearerr(stderr);
  }
}

const char* StreamName(std::FILE* stream) {
  return stream == stderr ? "stderr" : "stdout";
}

// Set once a failed write to stdout has been reported, so that it is
// reported once.
bool stdout_failure_reported = false;

// Text for a person (the text report, compare's table). fmt throws on a
// failed write; here the failure is remembered and reported at the end
// instead, so that a closed pipe or a full disk under the text does not stop
// the run or lose the files it was asked to write.
class TextStream {
 public:
  explicit TextStream(std::FILE* out) : out_(out) {}
  std::FILE* get() const { return out_; }

  // Calls `write` (which prints to get()) unless a write already failed.
  template <typename Write>
  void operator()(Write&& write) {
    if (error_ != 0) return;
    try {
      write();
    } catch (const std::system_error& e) {
      error_ = e.code().value() != 0 ? e.code().value() : EIO;
    }
  }

  // Flushes the stream; "" if every write went through, else the message.
  std::string Finish() {
    if (error_ == 0 && (std::fflush(out_) != 0 || std::ferror(out_))) {
      error_ = errno != 0 ? errno : EIO;
    }
    if (error_ == 0) return "";
    if (out_ == stdout) stdout_failure_reported = true;
    // Its reader went away (`| head`, `| grep -q`): it has read what it
    // wanted, which is no failure of the run's.
    if (error_ == EPIPE) return "";
    return fmt::format("cannot write to {}: {}", StreamName(out_),
                       std::strerror(error_));
  }

 private:
  std::FILE* out_;
  int error_ = 0;
};

std::string ScenarioLibrary();

// `name` itself when it is a path that exists; else the library's scenario
// of that name, as `ticketsim list` shows it ("01-rush-unguarded", with or
// without ".toml"), when there is one. Failing both: `name`, whose loading
// says that there is no such file.
std::string LibraryScenario(const std::string& name) {
  struct stat st {};
  if (name.empty() || name.find('/') != std::string::npos ||
      lstat(name.c_str(), &st) == 0 || errno != ENOENT) {
    return name;
  }
  const std::string file =
      name.ends_with(".toml") ? name : fmt::format("{}.toml", name);
  const std::string in_library = ScenarioLibrary() + "/" + file;
  if (stat(in_library.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    return in_library;
  }
  return name;
}

// "rush-unguarded" for "01-rush-unguarded": a library name without its
// number, which a person may forget or get wrong.
std::string WithoutNumber(const std::string& stem) {
  const size_t dash = stem.find('-');
  if (dash == 0 || dash == std::string::npos ||
      !std::all_of(stem.begin(), stem.begin() + dash,
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return stem;
  }
  return stem.substr(dash + 1);
}

// The library's scenario nearest to a misspelt `name` ("01-rush-unguardd",
// "rush-unguarded", "02-rush-unguarded"), or "" when none is near.
std::string NearestLibraryScenario(const std::string& name) {
  std::vector<std::string> files;
  const std::string library[] = {ScenarioLibrary()};
  if (!ExpandScenarioPaths(library, &files).ok()) return "";
  std::vector<std::string> stems;
  std::vector<std::string> bare;
  for (const std::string& file : files) {
    stems.push_back(std::filesystem::path(file).stem().string());
    bare.push_back(WithoutNumber(stems.back()));
  }
  const std::string word =
      name.ends_with(".toml") ? name.substr(0, name.size() - 5) : name;
  if (std::string near = NearestWord(word, stems); !near.empty()) return near;
  const std::string near = NearestWord(WithoutNumber(word), bare);
  if (near.empty()) return "";
  return stems[std::find(bare.begin(), bare.end(), near) - bare.begin()];
}

// The scenario files that `options` names, each directory's in name order;
// a path that names none is a problem. No path: one scenario from flags ("").
std::vector<std::string> ScenarioFiles(const ScenarioOptions& options,
                                       std::vector<ScenarioProblem>* problems) {
  std::vector<std::string> files;
  if (options.paths.empty()) files.push_back("");
  for (const std::string& given : options.paths) {
    std::vector<std::string> found;
    const std::string path = LibraryScenario(given);
    const std::string one[] = {path};
    if (Status s = ExpandScenarioPaths(one, &found); !s.ok()) {
      struct stat st {};
      const bool nothing = lstat(path.c_str(), &st) != 0 && errno == ENOENT;
      std::string message = s.message();
      if (nothing && given.find('=') != std::string::npos) {
        message = fmt::format(
            "{}: not a scenario file; a setting needs a --set of its own "
            "(--set {})",
            given, given);
      } else if (nothing) {
        const std::string near = given.find('/') == std::string::npos
                                     ? NearestLibraryScenario(given)
                                     : "";
        message = fmt::format(
            "{}, nor a scenario of that name in the library {}{}", s.message(),
            ScenarioLibrary(),
            near.empty() ? " (`ticketsim list` shows the scenarios)"
                         : fmt::format(": did you mean \"{}\"?", near));
      }
      problems->push_back({path, HidePasswords(message)});
      continue;
    }
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

// The scenario a command line without a file starts from: the classroom
// rush of scenarios/01-rush-unguarded.toml. Its think time makes the verdict
// the same every time: every buyer queries and reads the count at the start,
// and the first write comes at least 20 ms later, so unguarded all of them
// buy the one ticket, and guarded no query can land in a truncating write.
Scenario CommandLineRush() {
  Scenario rush;
  rush.name = "ticket rush (command line)";
  rush.initial = 1;
  rush.store.kind = StoreKind::kFile;
  rush.store.write = FileWrite::kTruncate;
  rush.buyers.count = 10;
  rush.buyers.attempts = 1;
  rush.buyers.think_ms = {20, 50};
  rush.buyers.seed = 42;
  return rush;
}

// A key set (in the file or by a flag) that the rest of the scenario makes
// meaningless is refused, not ignored: whoever set it expects it to act.
// `compared_guard`: compare puts in guards of its own, and its row for
// "none" simply leaves the scope unused.
Status RefuseIgnoredKeys(const LoadedScenario& loaded, bool compared_guard) {
  const Scenario& s = loaded.scenario;
  const auto set = [&loaded](std::string_view key) -> const std::string* {
    auto it = loaded.where.find(key);
    return it == loaded.where.end() ? nullptr : &it->second;
  };
  if (const std::string* at = set("store.write");
      at != nullptr && s.store.kind != StoreKind::kFile) {
    return Status::Invalid(fmt::format(
        "{}: store.write only applies to the file store, and this store is "
        "\"{}\": drop it, or use the file store (--store file; store.kind = "
        "\"file\")",
        *at, WordOf(kStoreKinds, s.store.kind)));
  }
  if (const std::string* at = set("guard.scope");
      at != nullptr && !compared_guard && s.guard.kind == GuardKind::kNone &&
      s.guard.scope == Scope::kQueryAndBuy) {
    return Status::Invalid(fmt::format(
        "{}: guard.scope = \"query-and-buy\" takes the guard for the query "
        "too, but there is no guard (guard.kind = \"none\"): choose one "
        "(e.g. --guard file-lock; guard.kind = \"file-lock\") or drop the "
        "scope",
        *at));
  }
  if (s.program.set()) {
    for (const char* key :
         {"buyers.think_ms", "buyers.query_delay_ms", "guard.scope",
          "guard.timeout_ms", "store.slow_write_ms"}) {
      if (const std::string* at = set(key)) {
        return Status::Invalid(fmt::format(
            "{}: {} applies to ticketsim's own buyers; a program takes its "
            "delays and locks from its own code and arguments: drop it",
            *at, key));
      }
    }
  }
  if (const std::string* at = set("guard.order");
      at != nullptr && EventCount(s) < 2) {
    return Status::Invalid(fmt::format(
        "{}: guard.order orders the guards of several events, but this "
        "scenario sells one: add events (events = [\"concert\", "
        "\"parking\"]) or drop guard.order",
        *at));
  }
  return Status::Ok();
}

// Loads every one of `files` ("": a scenario from flags alone) before
// anything runs; each one that fails is a problem.
void LoadAll(std::span<const std::string> files,
             const std::vector<Override>& overrides,
             std::vector<LoadedScenario>* loaded,
             std::vector<ScenarioProblem>* problems,
             bool compared_guard = false, bool stepped = false) {
  for (const std::string& file : files) {
    LoadedScenario scenario;
    if (file.empty()) scenario.scenario = CommandLineRush();
    if (Status s = LoadScenario(file, overrides, &scenario); !s.ok()) {
      problems->push_back({file, HidePasswords(s.message())});
      continue;
    }
    if (Status s = RefuseIgnoredKeys(scenario, compared_guard); !s.ok()) {
      problems->push_back({file, HidePasswords(s.message())});
      continue;
    }
    DropRushThinkWhenControlled(
        &scenario, stepped || scenario.scenario.schedule.controlled());
    // The rush's think time is its own buyers'; a program has its own.
    if (scenario.path.empty() && scenario.scenario.program.set()) {
      scenario.scenario.buyers.think_ms = {};
      scenario.scenario.name = "program (command line)";
    }
    loaded->push_back(std::move(scenario));
  }
}

// The exit status of scenarios that ran: interrupted, then a failed run,
// then a run left unchecked, then an expectation not met, wins (a scenario
// with no verdict outranks one with a verdict).
int ExitFor(std::span<const ScenarioResult> results) {
  int status = kExitOk;
  for (const ScenarioResult& r : results) {
    if (r.interrupted()) return ExitStatusFor(r.interrupt_signal());
    if (r.bad_input()) return kExitUsage;
    if (r.run_failed()) {
      status = kExitRunFailed;
    } else if (r.unchecked() && status != kExitRunFailed) {
      status = kExitUnchecked;
    } else if (!r.passed() && status == kExitOk) {
      status = kExitViolations;
    }
  }
  return status;
}

// The output paths of `run` as given: unset when the flag was not.
struct RunOutputPaths {
  std::string json;
  std::string junit;
  std::string html;
  std::string history;
  bool narrate = false;
  bool quiet = false;
  bool verdicts_first = false;
  std::string color = "auto";
};

int ExitFor(const ScenarioResult& result) {
  return ExitFor(std::span<const ScenarioResult>(&result, 1));
}

// Text held back in memory (a file in memory: the reports write to a
// stream), to be written later at once.
class HeldText {
 public:
  HeldText() : file_(open_memstream(&data_, &size_)) {}
  HeldText(const HeldText&) = delete;
  HeldText& operator=(const HeldText&) = delete;
  ~HeldText() {
    if (file_ != nullptr) std::fclose(file_);
    std::free(data_);
  }
  // Null if no memory could be had for it.
  std::FILE* get() const { return file_; }
  // What was written so far.
  std::string Take() {
    if (file_ == nullptr || std::fflush(file_) != 0) return "";
    return std::string(data_, size_);
  }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

std::string ProgressText(const ScenarioResult& r, size_t trial, int64_t done) {
  const Scenario& s = r.loaded.scenario;
  return fmt::format("{}: trial {}/{}, {}/{} purchases", Visible(s.name),
                     trial + 1, s.trials, done,
                     s.buyers.count * s.buyers.attempts);
}

}  // namespace

// What a command line asks for, checked; RunPreparedCommand runs it.
struct PreparedCommand {
  enum class Kind { kRun, kCheck, kCompare, kList, kClean, kStep, kBuyer };
  Kind kind = Kind::kList;
  std::vector<LoadedScenario> scenarios;  // compare: one per guard
  std::vector<ScenarioProblem> problems;  // the scenarios that did not load
  // run: the outputs asked for (null: not asked), and where the text goes.
  std::unique_ptr<OutputFile> json;
  std::unique_ptr<OutputFile> html;
  std::unique_ptr<OutputFile> junit;
  std::unique_ptr<OutputFile> history;
  std::FILE* text = stdout;
  bool narrate = false;
  bool quiet = false;           // run: one line per scenario
  bool verdicts_first = false;  // run: every verdict in short, then reports
  ColorMode color = ColorMode::kAuto;
  bool clean_all = false;
  // step: the `ticketsim run` that replays it, but for its --steps.
  std::string replay;
  std::string check_history;  // check --history: the history to check
};

void PreparedCommandDeleter::operator()(PreparedCommand* command) const {
  delete command;
}

namespace {

// Checks the outputs of `run` before anything runs, and opens them: each
// path usable, no two of them one file, none over a scenario file, at most
// one on stdout (which then sends the text report to stderr).
Status OpenOutputs(const RunOutputPaths& paths, const CLI::App& run,
                   std::span<const std::string> scenario_files,
                   PreparedCommand* command) {
  struct Wanted {
    const char* flag;
    const std::string& path;
    std::unique_ptr<OutputFile>* file;
    OutputFile::Kind kind = OutputFile::Kind::kFile;
    FileIdentity id;
  };
  std::vector<Wanted> wanted;
  const auto want = [](const char* flag, const std::string& path,
                       std::unique_ptr<OutputFile>* file) {
    return Wanted{flag, path, file, OutputFile::Kind::kFile, FileIdentity{}};
  };
  for (Wanted w : {want("--json", paths.json, &command->json),
                   want("--html", paths.html, &command->html),
                   want("--junit", paths.junit, &command->junit),
                   want("--history", paths.history, &command->history)}) {
    if (run.get_option_no_throw(w.flag) == nullptr || run.count(w.flag) == 0) {
      continue;
    }
    if (Status s = OutputFile::Classify(w.flag, w.path, &w.kind); !s.ok()) {
      return s;
    }
    if (w.kind == OutputFile::Kind::kFile) w.id = IdentityOf(w.path);
    wanted.push_back(std::move(w));
  }
  const auto on = [&wanted](OutputFile::Kind kind) {
    return std::count_if(wanted.begin(), wanted.end(),
                         [kind](const Wanted& w) { return w.kind == kind; });
  };
  if (on(OutputFile::Kind::kStdout) > 0) command->text = stderr;
  for (size_t i = 0; i < wanted.size(); ++i) {
    const Wanted& a = wanted[i];
    for (size_t j = i + 1; j < wanted.size(); ++j) {
      const Wanted& b = wanted[j];
      const bool same_stream =
          a.kind == b.kind && (a.kind == OutputFile::Kind::kStdout ||
                               a.kind == OutputFile::Kind::kStderr);
      if (same_stream || (a.kind == OutputFile::Kind::kFile &&
                          b.kind == OutputFile::Kind::kFile && a.id == b.id)) {
        return Status::Invalid(fmt::format(
            "{} {} and {} {}: {}", a.flag, a.path, b.flag, b.path,
            a.kind == OutputFile::Kind::kFile
                ? "the same file; each output needs its own"
                : fmt::format("only one output can go to {}",
                              a.kind == OutputFile::Kind::kStdout ? "stdout"
                                                                  : "stderr")));
      }
    }
    if (a.kind == OutputFile::Kind::kStderr && command->text == stderr) {
      return Status::Invalid(fmt::format(
          "{} {}: that is stderr, which takes the text report while another "
          "output is on stdout",
          a.flag, a.path));
    }
    if (a.kind != OutputFile::Kind::kFile) continue;
    for (const std::string& file : scenario_files) {
      if (!file.empty() && IdentityOf(file) == a.id) {
        return Status::Invalid(
            fmt::format("{} {}: that is the scenario file {}; it would be "
                        "overwritten",
                        a.flag, a.path, file));
      }
    }
  }
  for (const Wanted& w : wanted) {
    if (Status s = OutputFile::Open(w.flag, w.path, w.file); !s.ok()) return s;
  }
  return Status::Ok();
}

// A scenario a person steps (`step`, or `run` under run.schedule =
// "step"), as `options` loaded it: the command that replays it and its name
// are taken from what the user wrote; then its schedule becomes a person's,
// in one trial, checked as every controlled schedule is.
Status PrepareStepped(const ScenarioOptions& options,
                      PreparedCommand* command) {
  LoadedScenario& loaded = command->scenarios[0];
  command->replay = ReplayCommand(options, loaded.scenario);
  // A file's name describes the file: "Ten buyers, ..." run with three.
  if (const std::vector<std::string> changed = ReplayedOverrides(options);
      !loaded.path.empty() && !changed.empty()) {
    loaded.scenario.name +=
        fmt::format(" (changed: {})", fmt::join(changed, " "));
  }
  const Override stepped[] = {{"run.schedule=step", "step"},
                              {"run.trials=1", "step"}};
  if (Status s = ApplyOverrides(stepped, &loaded); !s.ok()) return s;
  return CheckSteppable(loaded.scenario);
}

// A run that could not start because some scenarios are invalid: the JUnit
// report says which (the files are checked before anything runs, so CI gets
// a report rather than none).
int InvalidRunCommand(PreparedCommand* command) {
  if (command->junit != nullptr) {
    command->junit->Write(
        JunitInvalidReport(command->problems, command->scenarios));
    if (Status s = command->junit->Commit(); !s.ok()) {
      Complain(s.message());
      return kExitRunFailed;
    }
  }
  return kExitUsage;
}

int RunCommand(PreparedCommand* command) {
  if (!command->problems.empty()) return InvalidRunCommand(command);
  const std::vector<LoadedScenario>& loaded = command->scenarios;
  // With --verdicts-first the reports wait in memory while the verdicts
  // are told in short; they follow them.
  HeldText briefs;
  HeldText details;
  const bool hold = command->verdicts_first && briefs.get() != nullptr &&
                    details.get() != nullptr;
  TextStream text(hold ? details.get() : command->text);
  const bool color = ColorWanted(command->text, command->color);
  OutputFile* const history = command->history.get();
  Status history_status;
  int64_t history_runs = 0;  // trials written to it
  // Per scenario: the page section of its first trial, or of the first
  // trial that missed the expectation.
  std::vector<std::string> html_sections;
  std::vector<bool> html_shows_miss;
  ProgressLine progress(stderr);
  TextStream progress_out(stderr);
  SuiteHooks hooks;
  if (command->json != nullptr) hooks.trial_report = JsonReport;
  bool told = false;  // this trial's least time, where it is long
  hooks.on_progress = [&](const ScenarioResult& r, size_t trial, int64_t done) {
    progress_out([&] {
      if (!std::exchange(told, true)) {
        progress.Expect(LeastTimeOf(r.loaded.scenario));
      }
      progress.Update(ProgressText(r, trial, done));
    });
  };
  hooks.on_trial = [&](const ScenarioResult& r, const RunResult& run,
                       const Verdict& verdict) {
    told = false;
    const TrialResult& trial = r.trials.back();
    const size_t number = r.trials.size();
    const bool first_miss =
        !trial.miss.empty() && std::count_if(r.trials.begin(), r.trials.end(),
                                             [](const TrialResult& t) {
                                               return !t.miss.empty();
                                             }) == 1;
    if (history != nullptr && history_status.ok()) {
      history_status = WriteHistoryJsonl(history->stream(), run,
                                         static_cast<int64_t>(number), verdict);
      ++history_runs;
    }
    if (command->html != nullptr) {
      const bool new_scenario = number == 1;
      if (new_scenario) {
        html_sections.emplace_back();
        html_shows_miss.push_back(false);
      }
      if (new_scenario || (first_miss && !html_shows_miss.back())) {
        html_sections.back() = HtmlRunSection(
            run, verdict,
            fmt::format("{} (trial {} of {}, seed {})", r.loaded.scenario.name,
                        number, r.loaded.scenario.trials, trial.seed));
        html_shows_miss.back() = first_miss;
      }
    }
    // With several trials the first is the one told: the story comes
    // after the title, before the report.
    const int64_t trials = r.loaded.scenario.trials;
    const bool narrate = command->narrate && number == 1;
    if (command->quiet) return;
    if (hold && (number == 1 || first_miss)) {
      text([&] { WriteBriefVerdict(briefs.get(), run, verdict, color); });
    }
    if (trials == 1 || first_miss || trial.interrupted || narrate) {
      progress_out([&] { progress.Clear(); });
      text([&] {
        if (trials > 1 && narrate) {
          fmt::print(text.get(),
                     "trial 1 of {} (seed {}), told (--narrate tells the "
                     "first trial){}:\n",
                     trials, trial.seed,
                     first_miss ? "; it missed the expectation" : "");
        } else if (trials > 1) {
          fmt::print(text.get(), "trial {} missed the expectation:\n", number);
        }
        if (narrate) {
          WriteTextTitle(text.get(), run, color);
          WriteNarration(text.get(), run, verdict);
        }
        WriteTextReport(text.get(), run, verdict, color, /*title=*/!narrate);
      });
    }
  };

  // An interrupt inside a run stops it and the rest; between two runs it
  // ends ticketsim at once (base/interrupt.h).
  std::vector<ScenarioResult> results;
  for (const LoadedScenario& scenario : loaded) {
    results.push_back(RunTrials(scenario, hooks));
    progress_out([&] { progress.Clear(); });
    text([&] {
      if (command->quiet) {
        WriteQuietLine(text.get(), results.back(), ExitFor(results.back()),
                       color);
      } else {
        WriteTrialsSummary(text.get(), results.back(), color);
      }
      std::fflush(text.get());
    });
    if (results.back().interrupted()) break;
  }
  text([&] {
    if (results.size() > 1 && !command->quiet) {
      WriteSuiteTable(text.get(), results, color);
    }
  });
  if (hold) {
    // The short verdicts, then the reports they come from, on the stream
    // the text goes to.
    TextStream shown(command->text);
    shown([&] {
      fmt::print(command->text, "{}{}", briefs.Take(), details.Take());
    });
    text = std::move(shown);
  }

  // Every output but the JSON first, so that the JSON's exit_code is the
  // status the command ends with.
  int status = ExitFor(results);
  const auto failed = [&status](const std::string& message) {
    Complain(message);
    if (!IsInterruptedStatus(status)) status = kExitRunFailed;
  };
  const auto commit = [&failed](OutputFile* output) {
    if (Status s = output->Commit(); !s.ok()) {
      if (output->kind() == OutputFile::Kind::kStdout) {
        stdout_failure_reported = true;
      }
      failed(s.message());
    }
  };
  if (const std::string e = text.Finish(); !e.empty()) {
    failed("the text report: " + e);
  }
  if (history != nullptr) {
    if (!history_status.ok()) {
      // The file, if it is one, is removed: it would end mid-line.
      history->Fail(EIO);
      history->Commit();
      if (history->kind() == OutputFile::Kind::kStdout) {
        stdout_failure_reported = true;
      }
      failed(fmt::format("--history {}: {}", history->path(),
                         history_status.message()));
    } else if (history_runs == 0) {
      // Every run failed before it had a history: an empty file is none,
      // and `check --history` would refuse it.
      history->Fail(ECANCELED);
      (void)history->Commit();
      Complain(
          fmt::format("--history {}: not written: no run ended with a "
                      "history to write",
                      history->path()));
    } else {
      commit(history);
      const bool one_failed = std::any_of(
          results.begin(), results.end(), [](const ScenarioResult& r) {
            return std::any_of(r.trials.begin(), r.trials.end(),
                               [](const TrialResult& t) { return !t.ran; });
          });
      if (one_failed) {
        Complain(
            fmt::format("--history {}: holds the runs that ended; the "
                        "one that failed is not in it",
                        history->path()));
      }
    }
  }
  if (command->html != nullptr) {
    const std::string title =
        results.size() == 1
            ? results[0].loaded.scenario.name
            : fmt::format("ticketsim: {} scenarios", results.size());
    command->html->Write(HtmlPage(title, html_sections));
    commit(command->html.get());
  }
  if (command->junit != nullptr) {
    command->junit->Write(JunitReport(results));
    commit(command->junit.get());
  }
  if (command->json != nullptr) {
    command->json->Write(JsonText(SuiteJsonReport(results, status), 2) + "\n");
    commit(command->json.get());
  }
  for (const ScenarioResult& r : results) {
    for (const TrialResult& t : r.trials) {
      if (!t.ran) {
        Complain(t.bad_input ? t.run_error : "the run failed: " + t.run_error);
      }
    }
  }
  return status;
}

int CheckCommand(const PreparedCommand& command) {
  for (const LoadedScenario& s : command.scenarios) {
    fmt::print("ok  {}: {}\n",
               s.path.empty() ? "(command line)" : Visible(s.path),
               Visible(DescribeSetup(s.scenario)));
  }
  if (!command.problems.empty()) return kExitUsage;
  if (command.check_history.empty()) return kExitOk;
  return CheckHistory(command.check_history, stdout, stderr);
}

// Loads the scenario of `compare` once per guard (every guard valid for its
// store, unless `guard_words` names them).
Status LoadCompared(const ScenarioOptions& options,
                    const std::vector<std::string>& guard_words,
                    std::vector<LoadedScenario>* loaded,
                    std::vector<ScenarioProblem>* problems) {
  if (options.paths.size() > 1) {
    return Status::Invalid(
        "compare takes one scenario (or none: the flags make one)");
  }
  const std::vector<std::string> files = ScenarioFiles(options, problems);
  if (!problems->empty()) return Status::Ok();
  if (files.size() != 1) {
    return Status::Invalid(
        fmt::format("compare takes one scenario; {} holds {}", options.paths[0],
                    files.size()));
  }
  const std::vector<Override> base = options.Overrides();
  // The store decides which guards there are to compare by default.
  std::vector<LoadedScenario> first;
  LoadAll(files, base, &first, problems, /*compared_guard=*/true);
  if (!problems->empty()) return Status::Ok();
  std::vector<std::string> guards = guard_words;
  if (guards.empty()) {
    for (GuardKind kind : GuardsFor(first[0].scenario.store.kind)) {
      guards.emplace_back(WordOf(kGuardKinds, kind));
    }
  }
  for (const std::string& guard : guards) {
    std::vector<Override> overrides = base;
    overrides.push_back({"guard.kind=" + guard, "--guards " + guard});
    if (guard != "named-semaphore") {
      overrides.push_back({"guard.permits=1", "--guards " + guard});
    }
    LoadAll(files, overrides, loaded, problems, /*compared_guard=*/true);
    if (!problems->empty()) return Status::Ok();
  }
  // Each guard is held to no violation (the file's [expect] is for the one
  // guard it names), unless the scenario cannot be checked otherwise.
  for (LoadedScenario& l : *loaded) {
    ExpectSpec& expect = l.scenario.expect;
    if (expect.violations == Expectation::kUnchecked) continue;
    expect.violations = Expectation::kNone;
    expect.kinds.clear();
  }
  return Status::Ok();
}

// compare's --junit and --json, the JSON last so that its exit_code is the
// status returned. Each guard's row is a scenario of its own, named after
// its guard in the JUnit report, where the testcases share one name.
int WriteComparedReports(PreparedCommand* command,
                         std::vector<ScenarioResult>* results, int status) {
  const auto commit = [&status](OutputFile* output) {
    if (Status s = output->Commit(); !s.ok()) {
      if (output->kind() == OutputFile::Kind::kStdout) {
        stdout_failure_reported = true;
      }
      Complain(s.message());
      if (!IsInterruptedStatus(status)) status = kExitRunFailed;
    }
  };
  if (command->junit != nullptr) {
    std::vector<ScenarioResult> named = *results;
    for (ScenarioResult& r : named) {
      Scenario& s = r.loaded.scenario;
      s.name += fmt::format(" (guard {})", WordOf(kGuardKinds, s.guard.kind));
    }
    command->junit->Write(JunitReport(named));
    commit(command->junit.get());
  }
  if (command->json != nullptr) {
    command->json->Write(JsonText(SuiteJsonReport(*results, status), 2) + "\n");
    commit(command->json.get());
  }
  return status;
}

int CompareCommand(PreparedCommand* command) {
  const std::vector<LoadedScenario>& loaded = command->scenarios;
  if (loaded.empty()) return kExitUsage;
  std::FILE* const out = command->text;
  TextStream text(out);
  ProgressLine progress(stderr);
  TextStream progress_out(stderr);
  SuiteHooks hooks;
  if (command->json != nullptr) hooks.trial_report = JsonReport;
  bool told = false;  // this trial's least time, where it is long
  hooks.on_progress = [&](const ScenarioResult& r, size_t trial, int64_t done) {
    progress_out([&] {
      if (!std::exchange(told, true)) {
        progress.Expect(LeastTimeOf(r.loaded.scenario));
      }
      progress.Update(fmt::format(
          "{}: {}", WordOf(kGuardKinds, r.loaded.scenario.guard.kind),
          ProgressText(r, trial, done)));
    });
  };
  hooks.on_trial = [&](const ScenarioResult&, const RunResult&,
                       const Verdict&) { told = false; };
  const bool color = ColorWanted(out, command->color);
  const Scenario& s = loaded[0].scenario;
  text([&] {
    fmt::print(out, "{}\n  {}\n  {} trial{} per guard, seed {}\n",
               Visible(s.name), Visible(DescribeSetup(s)), s.trials,
               s.trials == 1 ? "" : "s", s.buyers.seed);
    // Attempts count the sold-out and failed purchases too; sales only the
    // confirmed ones (see sim/report/rates.h).
    if (s.trials > 1) {
      fmt::print(
          out,
          "  sold, remaining: mean of {} trials; attempts/s, sales/s: over "
          "all {} trials\n",
          s.trials, s.trials);
    }
    fmt::print(
        out, "\n  {:<17} {:>8}  {:<44} {:>9} {:>9} {:>10} {:>8}\n", "guard",
        "violated", "violations", s.trials > 1 ? "mean sold" : "sold",
        s.trials > 1 ? "mean left" : "remaining", "attempts/s", "sales/s");
  });
  std::vector<ScenarioResult> results;
  int status = kExitOk;
  for (const LoadedScenario& scenario : loaded) {
    // An interrupt inside a guard's trials marks its row and stops the
    // table; between two runs it ends ticketsim at once.
    ScenarioResult r = RunTrials(scenario, hooks);
    progress_out([&] { progress.Clear(); });
    const std::string guard(WordOf(kGuardKinds, scenario.scenario.guard.kind));
    if (r.interrupted()) {
      // Its numbers would be those of a run cut short: none are shown.
      const int sig = r.interrupt_signal();
      const auto done = std::count_if(
          r.trials.begin(), r.trials.end(),
          [](const TrialResult& t) { return t.ran && !t.interrupted; });
      text([&] {
        fmt::print(out, "  {:<17} {:>8}  {:<44} {:>9} {:>9} {:>10} {:>8}\n",
                   guard, "-",
                   fmt::format("interrupted by {} after {} of {} trials",
                               SignalName(sig), done, s.trials),
                   "-", "-", "-", "-");
      });
      results.push_back(std::move(r));
      break;
    }
    double sold = 0, remaining = 0, attempts = 0;
    for (const TrialResult& t : r.trials) {
      sold += static_cast<double>(t.sold);
      remaining += static_cast<double>(t.remaining.value_or(0));
      attempts += static_cast<double>(t.attempts);
    }
    // One trial: how many of each kind. Several, beside their means: every
    // kind any of them showed, and in how many.
    std::string kinds = r.trials.size() == 1
                            ? ListViolations(r.trials[0].violations)
                            : ListKindsInTrials(r);
    const double n = std::max<size_t>(1, r.trials.size());
    if (r.run_failed()) kinds = "the run failed: " + Visible(r.FirstProblem());
    if (kinds.empty()) kinds = "none";
    // Padded before it is painted, so that colour does not upset the
    // columns.
    std::string violated = fmt::format(
        "{:>8}", fmt::format("{}/{}", r.with_violations(), r.trials.size()));
    if (color) {
      violated = fmt::format("\033[1;{}m{}\033[0m",
                             r.with_violations() > 0 ? 31 : 32, violated);
    }
    text([&] {
      fmt::print(out, "  {:<17} {}  {:<44} {:>9} {:>9} {:>10} {:>8}\n", guard,
                 violated, kinds, fmt::format("{:g}", sold / n),
                 fmt::format("{:g}", remaining / n),
                 RateWords(PerSecond(attempts, r.seconds())),
                 RateWords(PerSecond(sold, r.seconds())));
      std::fflush(out);
    });
    results.push_back(std::move(r));
  }
  for (const ScenarioResult& r : results) {
    if (r.interrupted()) status = ExitStatusFor(r.interrupt_signal());
  }
  if (status == kExitOk) {
    for (const ScenarioResult& r : results) {
      if (r.run_failed()) status = kExitRunFailed;
    }
  }
  if (const std::string e = text.Finish(); !e.empty()) {
    Complain(e);
    if (!IsInterruptedStatus(status)) status = kExitRunFailed;
  }
  return WriteComparedReports(command, &results, status);
}

// Where `list` finds the scenario library (see scenario_library.h).
std::string ScenarioLibrary() { return FindScenarioLibrary().path; }

int ListCommand() {
  fmt::print("stores:\n");
  for (const auto& e : kStoreKinds) fmt::print("  {:<18} {}\n", e.word, e.help);
  fmt::print("guards:\n");
  for (const auto& e : kGuardKinds) fmt::print("  {:<18} {}\n", e.word, e.help);
  fmt::print("scopes:\n");
  for (const auto& e : kScopes) fmt::print("  {:<18} {}\n", e.word, e.help);
  fmt::print("methods:\n");
  for (const auto& e : kMethods) fmt::print("  {:<18} {}\n", e.word, e.help);
  fmt::print("violations:\n");
  for (const auto& e : kViolationKinds)
    fmt::print("  {:<20} {}\n", e.word, e.help);
  fmt::print("scenario keys (in a file, or --set key=value):\n");
  for (const auto& k : ScenarioKeys())
    fmt::print("  {:<22} {}\n", k.key, k.help);

  const ScenarioLibraryPlace library = FindScenarioLibrary();
  if (!library.helpers.empty()) {
    fmt::print("helpers for a program's events (docs/programs.md): {}\n",
               Visible(library.helpers));
  }
  std::vector<std::string> files;
  const std::string paths[] = {library.path};
  if (Status s = ExpandScenarioPaths(paths, &files); !s.ok()) {
    fmt::print("scenarios: none found: {} ({})\n", Visible(s.message()),
               library.origin);
    return kExitOk;
  }
  fmt::print("scenarios ({}, {}):\n", Visible(library.path), library.origin);
  for (const std::string& file : files) {
    LoadedScenario s;
    const Status status = LoadScenario(file, {}, &s);
    fmt::print("  {}\n", Visible(file));
    if (!status.ok()) {
      fmt::print("      (invalid) {}\n", Visible(status.message()));
      continue;
    }
    fmt::print("      {}  [expect {}]\n", Visible(s.scenario.name),
               s.scenario.expect.violations == Expectation::kUnset
                   ? "not given: no violation"
                   : WordOf(kExpectations, s.scenario.expect.violations));
    for (const std::string& line : WrapText(s.scenario.description, 70)) {
      fmt::print("      {}\n", Visible(line));
    }
  }
  return kExitOk;
}

int CleanCommand(bool all) {
  const std::vector<std::string> removed = CleanLeftovers(all);
  for (const std::string& path : removed) fmt::print("removed {}\n", path);
  fmt::print("{} leftover{} removed\n", removed.size(),
             removed.size() == 1 ? "" : "s");
  return kExitOk;
}

// SIGPIPE (a reader of stdout that went away, as `| head` does) would end
// ticketsim before it wrote the files it was asked for. An empty handler,
// rather than SIG_IGN, makes such a write fail with EPIPE instead and is
// not passed on to programs a buyer might exec.
void OnBrokenPipe(int) {}

// Before anything else: closed standard descriptors guarded, SIGPIPE
// turned into EPIPE.
void PrepareStandardStreams() {
  GuardStandardDescriptors();
  struct sigaction action = {};
  action.sa_handler = OnBrokenPipe;
  sigemptyset(&action.sa_mask);
  sigaction(SIGPIPE, &action, nullptr);
}

// A write to stdout failed with `err`: said on stderr, and the run failed
// (3). But a reader that went away (`ticketsim list | head -1`) has read
// what it wanted: the text stops there, quietly, and the status stays.
void StdoutFailed(int err, int* status) {
  if (err == EPIPE) return;
  Complain(fmt::format("cannot write to stdout: {}", std::strerror(err)));
  if (!IsInterruptedStatus(*status)) *status = kExitRunFailed;
}

int Command(int argc, char** argv) {
  const std::vector<std::string> args(argv, argv + argc);
  PreparedCommandPtr command;
  std::string out;
  std::string err;
  int status = PrepareCommand(args, &command, &out, &err);
  if (!err.empty()) {
    if (std::fwrite(err.data(), 1, err.size(), stderr) != err.size()) {
      std::clearerr(stderr);
    }
  }
  try {
    if (!out.empty()) fmt::print("{}", out);
    if (status < 0) status = RunPreparedCommand(command.get());
  } catch (const std::system_error& e) {
    // list, check, clean and help print only to stdout.
    stdout_failure_reported = true;
    const int err = e.code().value();
    if (status >= 0) {
      StdoutFailed(err, &status);
    } else if (command->kind == PreparedCommand::Kind::kCheck &&
               !command->check_history.empty()) {
      // Cut short while it printed the verdicts it was asked for: whether
      // they hold is not known.
      Complain(fmt::format("cannot write to stdout: {}", std::strerror(err)));
      status = kExitRunFailed;
    } else {
      // Cut short while it printed: its status is what it had found.
      status = command->problems.empty() ? kExitOk : kExitUsage;
      StdoutFailed(err, &status);
    }
  }
  if ((std::fflush(stdout) != 0 || std::ferror(stdout)) &&
      !stdout_failure_reported) {
    StdoutFailed(errno != 0 ? errno : EIO, &status);
  }
  return status;
}

// "ticketsim run: unknown option "--gaurd": did you mean "--guard"?" for
// the first option the command given does not have; "" when all are known.
std::string UnknownOption(const CLI::App& app,
                          std::span<const std::string> args) {
  const CLI::App* command = nullptr;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->parsed()) command = sub;
  }
  if (command == nullptr) return "";
  std::vector<std::string> names;
  for (const CLI::Option* option : command->get_options()) {
    for (const std::string& name : option->get_lnames()) {
      names.push_back("--" + name);
    }
  }
  for (size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "--") break;
    if (!args[i].starts_with("--")) continue;
    const std::string name = args[i].substr(0, args[i].find('='));
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    const std::string near = NearestWord(name, names);
    return fmt::format(
        "ticketsim {}: unknown option \"{}\"{}", command->get_name(), name,
        near.empty()
            ? fmt::format(" (see ticketsim {} --help)", command->get_name())
            : fmt::format(": did you mean \"{}\"?", near));
  }
  return "";
}

}  // namespace

int PrepareCommand(std::span<const std::string> args,
                   PreparedCommandPtr* prepared, std::string* out,
                   std::string* err) {
  CLI::App app{
      "ticketsim: buyer processes race for tickets; the checker "
      "reports exactly what went wrong."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("ticketsim ") + kToolVersion,
                       "print the version and exit");

  ScenarioOptions run_options;
  RunOutputPaths outputs;
  CLI::App* run = app.add_subcommand(
      "run",
      "run scenario files (or directories of them; none: the flags make "
      "one) and report the verdict. Exit 0: expectations met, 1: not met, "
      "2: usage or scenario error, 3: a run failed, 4: unchecked (a "
      "program told nothing of its sales), 128 + the signal: interrupted "
      "(130 for SIGINT, 143 for SIGTERM)");
  run->add_option("scenario", run_options.paths,
                  "scenario files or directories, or names of the library's "
                  "scenarios as `ticketsim list` shows them "
                  "(01-rush-unguarded)");
  run_options.AddTo(run);
  run_options.AddReplayTo(run);
  run->add_option("--json", outputs.json,
                  "FILE: write the JSON report there ('-': stdout)");
  run->add_option("--html", outputs.html,
                  "FILE: write a self-contained HTML timeline of the run "
                  "there ('-': stdout)");
  run->add_option("--history", outputs.history,
                  "FILE: write every operation there as JSON lines "
                  "(invoke/ok/fail/info, as Jepsen-style checkers read; "
                  "'-': stdout)");
  run->add_flag("--narrate", outputs.narrate,
                "tell the events of the run in time order, in plain words");
  run->add_flag("--quiet", outputs.quiet,
                "one line per scenario on stdout and nothing else: its name, "
                "verdict (the kinds any trial showed), trials violated of "
                "all, whether the expectation held, and its exit status");
  run->add_flag("--verdicts-first", outputs.verdicts_first,
                "every scenario's verdict in short first (the first witness "
                "of each kind, or who bought), then the full reports: the "
                "verdicts of a few scenarios fit on one screen");
  AddColorTo(run, &outputs.color);
  run->add_option("--junit", outputs.junit,
                  "FILE: write a JUnit XML report there, one testcase per "
                  "scenario ('-': stdout)");

  ScenarioOptions check_options;
  CLI::App* check = app.add_subcommand(
      "check",
      "validate scenario files without running them (exit 2 if one "
      "is wrong)");
  check->add_option("scenario", check_options.paths,
                    "scenario files or directories");
  check_options.AddTo(check);
  std::string check_history;
  check->add_option("--history", check_history,
                    "FILE: check the runs of a history `run --history` "
                    "wrote, a verdict per trial (exit 1 if one is violated)");

  ScenarioOptions compare_options;
  std::vector<std::string> guards;
  CLI::App* compare = app.add_subcommand(
      "compare", "run one scenario under several guards, one row each");
  compare->add_option("scenario", compare_options.paths, "a scenario file");
  compare_options.AddTo(compare);
  compare
      ->add_option("--guards", guards,
                   "GUARD,GUARD,...: the guards to compare (default: every "
                   "guard valid for the store)")
      ->delimiter(',');
  RunOutputPaths compare_outputs;
  compare->add_option("--json", compare_outputs.json,
                      "FILE: write the JSON report there, one scenario per "
                      "guard, each checked against no violation ('-': "
                      "stdout)");
  compare->add_option("--junit", compare_outputs.junit,
                      "FILE: write a JUnit XML report there, one testcase "
                      "per guard, failed if a trial showed a violation ('-': "
                      "stdout)");
  AddColorTo(compare, &compare_outputs.color);

  CLI::App* list =
      app.add_subcommand("list",
                         "stores, guards, violations, scenario keys, and the "
                         "scenario library");
  PreparedCommand command;
  CLI::App* clean = app.add_subcommand(
      "clean", "remove named objects and files left by runs that died");
  clean->add_flag("--all", command.clean_all,
                  "also those of runs whose process is still alive");

  ScenarioOptions step_options;
  CLI::App* step = app.add_subcommand(
      "step",
      "run one scenario a step at a time: press a buyer's number (0-9) to "
      "move it one step, r for a random buyer, u to undo, q to quit; keys "
      "from a pipe work too (\"0 0 1 1 q\"). Prints the verdict and the "
      "--steps that replays it");
  step->add_option("scenario", step_options.paths,
                   "a scenario file (none: the flags make one)");
  step_options.AddTo(step);
  step_options.AddReplayTo(step);

  CLI::App* buyer = app.add_subcommand(
      "buyer",
      "run one host's share of a run with buyers.hosts: started by that run "
      "through buyers.launcher, it reads its share on stdin and streams its "
      "buyers' events to stdout (docs/hosts.md)");
  const DocCommands docs(&app);

  // A misspelt command or option is named, with the nearest right one,
  // rather than left to CLI11's general words.
  std::vector<std::string> commands;
  for (const CLI::App* sub : app.get_subcommands({})) {
    commands.push_back(sub->get_name());
  }
  if (args.size() > 1 && !args[1].starts_with('-') &&
      std::find(commands.begin(), commands.end(), args[1]) == commands.end()) {
    const std::string near = NearestWord(args[1], commands);
    *err +=
        Visible(
            near.empty()
                ? fmt::format("ticketsim: unknown command \"{}\"; the commands "
                              "are {}",
                              args[1], fmt::join(commands, ", "))
                : fmt::format("ticketsim: unknown command \"{}\": did you mean "
                              "\"{}\"?",
                              args[1], near)) +
        "\n";
    return kExitUsage;
  }

  std::vector<const char*> argv;
  argv.push_back(args.empty() ? "ticketsim" : args[0].c_str());
  for (size_t i = 1; i < args.size(); ++i) argv.push_back(args[i].c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
      if (const std::string unknown = UnknownOption(app, args);
          !unknown.empty()) {
        *err += Visible(unknown) + "\n";
        return kExitUsage;
      }
    }
    // --help is a ParseError too, with exit code 0. The message may echo
    // what was typed.
    std::ostringstream help;
    std::ostringstream error;
    const int code = app.exit(e, help, error);
    *out += VisibleLines(help.str());
    *err += VisibleLines(error.str());
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (int status = kExitOk; docs.Run(app, FlagKeys(), out, err, &status)) {
    return status;
  }
  const auto usage = [err](const std::string& message) {
    *err += fmt::format("ticketsim: {}\n", Visible(message));
    return kExitUsage;
  };
  const auto problems = [&command, err] {
    for (const ScenarioProblem& p : command.problems) {
      *err += VisibleLines(p.message) + "\n";
    }
  };

  if (run->parsed()) {
    command.kind = PreparedCommand::Kind::kRun;
    command.narrate = outputs.narrate;
    command.quiet = outputs.quiet;
    command.verdicts_first = outputs.verdicts_first;
    if (Status s = ParseColor(outputs.color, &command.color); !s.ok()) {
      return usage(s.message());
    }
    if (command.quiet && (command.narrate || command.verdicts_first)) {
      return usage(fmt::format(
          "--quiet prints one line per scenario; {} prints more: choose one",
          command.narrate ? "--narrate" : "--verdicts-first"));
    }
    const std::vector<std::string> files =
        ScenarioFiles(run_options, &command.problems);
    if (Status s = OpenOutputs(outputs, *run, files, &command); !s.ok()) {
      return usage(s.message());
    }
    LoadAll(files, run_options.Overrides(), &command.scenarios,
            &command.problems);
    problems();
    if (command.problems.empty()) {
      if (Status s = ApplyReplay(run_options, &command.scenarios, err);
          !s.ok()) {
        return usage(s.message());
      }
    }
    if (!command.problems.empty()) {
      // Nothing runs; the JUnit report, if asked for, says why.
      if (command.junit == nullptr) return kExitUsage;
      prepared->reset(new PreparedCommand(std::move(command)));
      return -1;
    }
    // A schedule a person chooses: one scenario, `step`'s way.
    if (std::any_of(command.scenarios.begin(), command.scenarios.end(),
                    [](const LoadedScenario& l) {
                      return l.scenario.schedule.kind == ScheduleKind::kStep;
                    })) {
      if (command.scenarios.size() != 1) {
        return usage(fmt::format(
            "run.schedule = \"step\" takes one scenario at a time (a person "
            "chooses its steps); {} scenarios were given",
            command.scenarios.size()));
      }
      for (const auto& [flag, wanted] :
           {std::pair{"--json", command.json != nullptr},
            std::pair{"--html", command.html != nullptr},
            std::pair{"--junit", command.junit != nullptr},
            std::pair{"--history", command.history != nullptr},
            std::pair{"--narrate", command.narrate}}) {
        if (wanted) {
          return usage(fmt::format(
              "{} is not written for run.schedule = \"step\"; replay the "
              "steps with --steps to have it",
              flag));
        }
      }
      if (Status s = PrepareStepped(run_options, &command); !s.ok()) {
        return usage(s.message());
      }
      command.kind = PreparedCommand::Kind::kStep;
    }
    for (const LoadedScenario& l : command.scenarios) {
      if (l.scenario.history != HistoryMode::kSummary) continue;
      for (const auto& [flag, wanted] :
           {std::pair{"--history", command.history != nullptr},
            std::pair{"--html", command.html != nullptr},
            std::pair{"--narrate", command.narrate}}) {
        if (wanted) {
          return usage(fmt::format(
              "{}: {} needs every event, but it keeps history = \"summary\" "
              "(--set history=full)",
              l.path.empty() ? "the scenario" : l.path, flag));
        }
      }
    }
  } else if (check->parsed()) {
    command.kind = PreparedCommand::Kind::kCheck;
    if (check_options.paths.empty() && check_history.empty()) {
      return usage("check: give scenario files or --history FILE");
    }
    command.check_history = check_history;
    if (check_options.paths.empty()) {
      prepared->reset(new PreparedCommand(std::move(command)));
      return -1;
    }
    const std::vector<std::string> files =
        ScenarioFiles(check_options, &command.problems);
    LoadAll(files, check_options.Overrides(), &command.scenarios,
            &command.problems);
    problems();
  } else if (compare->parsed()) {
    command.kind = PreparedCommand::Kind::kCompare;
    if (Status s = ParseColor(compare_outputs.color, &command.color); !s.ok()) {
      return usage(s.message());
    }
    if (Status s = LoadCompared(compare_options, guards, &command.scenarios,
                                &command.problems);
        !s.ok()) {
      return usage(s.message());
    }
    problems();
    if (!command.problems.empty()) return kExitUsage;
    if (Status s = OpenOutputs(compare_outputs, *compare, compare_options.paths,
                               &command);
        !s.ok()) {
      return usage(s.message());
    }
  } else if (step->parsed()) {
    command.kind = PreparedCommand::Kind::kStep;
    if (step_options.paths.size() > 1) {
      return usage("step takes one scenario (or none: the flags make one)");
    }
    const std::vector<std::string> files =
        ScenarioFiles(step_options, &command.problems);
    if (command.problems.empty() && files.size() != 1) {
      return usage(fmt::format("step takes one scenario; {} holds {}",
                               step_options.paths[0], files.size()));
    }
    if (command.problems.empty()) {
      LoadAll(files, step_options.Overrides(), &command.scenarios,
              &command.problems, /*compared_guard=*/false, /*stepped=*/true);
    }
    problems();
    if (!command.problems.empty()) return kExitUsage;
    if (Status s = ApplyReplay(step_options, &command.scenarios, err);
        !s.ok()) {
      return usage(s.message());
    }
    if (Status s = PrepareStepped(step_options, &command); !s.ok()) {
      return usage(s.message());
    }
  } else if (clean->parsed()) {
    command.kind = PreparedCommand::Kind::kClean;
  } else if (buyer->parsed()) {
    command.kind = PreparedCommand::Kind::kBuyer;
  } else if (list->parsed()) {
    command.kind = PreparedCommand::Kind::kList;
  }
  prepared->reset(new PreparedCommand(std::move(command)));
  return -1;
}

int RunPreparedCommand(PreparedCommand* command) {
  switch (command->kind) {
    case PreparedCommand::Kind::kRun:
      return RunCommand(command);
    case PreparedCommand::Kind::kCheck:
      return CheckCommand(*command);
    case PreparedCommand::Kind::kCompare:
      return CompareCommand(command);
    case PreparedCommand::Kind::kClean:
      return CleanCommand(command->clean_all);
    case PreparedCommand::Kind::kList:
      return ListCommand();
    case PreparedCommand::Kind::kStep:
      return StepCommand(command->scenarios[0], command->replay);
    case PreparedCommand::Kind::kBuyer:
      return RunHostAgent(STDIN_FILENO, STDOUT_FILENO);
  }
  return kExitUsage;
}

int Main(int argc, char** argv) {
  PrepareStandardStreams();
  // A run takes its own interrupts, stops its buyers and removes its
  // objects; anywhere else an interrupt ends ticketsim at once, with 128 +
  // the signal (see base/interrupt.h).
  EndOnInterrupt interrupts;
  return Command(argc, argv);
}

}  // namespace ticketsim
