#include "sim/cli.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "sim/escape.h"
#include "sim/guard.h"
#include "sim/history_export.h"
#include "sim/interrupt.h"
#include "sim/narration.h"
#include "sim/progress.h"
#include "sim/report_html.h"
#include "sim/report_json.h"
#include "sim/report_junit.h"
#include "sim/report_text.h"
#include "sim/run.h"
#include "sim/scenario.h"
#include "sim/scenario_file.h"
#include "sim/suite.h"
#include "storage/run_names.h"

namespace ticketsim {
namespace {

// A flag that sets one scenario key.
struct KeyFlag {
  const char* flag;
  const char* key;
  const char* help;
  bool range;  // "MIN,MAX" (or one number), written [MIN, MAX] for the key
};

constexpr KeyFlag kKeyFlags[] = {
    {"--store", "store.kind", "file | shm | sqlite", false},
    {"--write", "store.write", "file store: truncate | replace | mmap", false},
    {"--slow-write-ms", "store.slow_write_ms",
     "file store: how long each write takes", false},
    {"--journal", "store.journal", "sqlite store: wal | delete", false},
    {"--busy-timeout-ms", "store.busy_timeout_ms", "sqlite store: busy timeout",
     false},
    {"--guard", "guard.kind",
     "none | named-mutex | named-semaphore | file-lock | robust-mutex | "
     "sqlite-immediate | sqlite-deferred",
     false},
    {"--scope", "guard.scope", "buy | query-and-buy", false},
    {"--timeout-ms", "guard.timeout_ms", "longest wait for the guard", false},
    {"--permits", "guard.permits", "named-semaphore: buyers let in at once",
     false},
    {"--buyers", "buyers.count", "buyer processes", false},
    {"--pool", "buyers.pool", "worker processes serving all buyers", false},
    {"--tickets", "tickets.initial", "tickets on sale", false},
    {"--attempts", "buyers.attempts", "purchases each buyer tries", false},
    {"--method", "buyers.method", "read-modify-write | atomic", false},
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
    {"--run-timeout-ms", "run.timeout_ms", "each run's time limit", false},
};

// What run, check and compare share: scenario files and the settings that
// override them.
struct ScenarioOptions {
  std::vector<std::string> paths;
  std::vector<std::string> flag_values =
      std::vector<std::string>(std::size(kKeyFlags));
  std::vector<std::string> settings;

  void AddTo(CLI::App* command) {
    for (size_t i = 0; i < std::size(kKeyFlags); ++i) {
      command->add_option(kKeyFlags[i].flag, flag_values[i], kKeyFlags[i].help);
    }
    command->add_option(
        "--set", settings,
        "KEY=VALUE: set any scenario key, over the file (see `ticketsim "
        "list`)");
  }

  // Flags first, in table order, then each --set in the order given.
  std::vector<Override> Overrides() const {
    std::vector<Override> out;
    for (size_t i = 0; i < std::size(kKeyFlags); ++i) {
      const std::string& value = flag_values[i];
      if (value.empty()) continue;
      const KeyFlag& flag = kKeyFlags[i];
      const bool range = flag.range && value.find(',') != std::string::npos;
      out.push_back({range ? fmt::format("{}=[{}]", flag.key, value)
                           : fmt::format("{}={}", flag.key, value),
                     fmt::format("{} {}", flag.flag, value)});
    }
    for (const std::string& setting : settings) {
      out.push_back({setting, "--set " + setting});
    }
    return out;
  }
};

bool ColorWanted(std::FILE* out) {
  return isatty(fileno(out)) && std::getenv("NO_COLOR") == nullptr;
}

int Usage(const std::string& message) {
  fmt::print(stderr, "ticketsim: {}\n", Visible(message));
  return kExitUsage;
}

// Loads every scenario `options` names (or the one its flags make) before
// anything runs, printing every error; false if there was one.
bool LoadAll(const ScenarioOptions& options,
             const std::vector<Override>& overrides,
             std::vector<LoadedScenario>* loaded) {
  std::vector<std::string> files;
  if (Status s = ExpandScenarioPaths(options.paths, &files); !s.ok()) {
    fmt::print(stderr, "{}\n", Visible(s.message()));
    return false;
  }
  if (options.paths.empty()) files.push_back("");
  bool ok = true;
  for (const std::string& file : files) {
    LoadedScenario scenario;
    if (file.empty()) scenario.scenario.name = "ticket rush (command line)";
    if (Status s = LoadScenario(file, overrides, &scenario); !s.ok()) {
      fmt::print(stderr, "{}\n", Visible(s.message()));
      ok = false;
      continue;
    }
    loaded->push_back(std::move(scenario));
  }
  return ok;
}

Status WriteFile(const std::string& path, const std::string& text) {
  if (path == "-") {
    fmt::print(stdout, "{}", text);
    return Status::Ok();
  }
  std::ofstream file(path);
  file << text;
  file.close();
  if (!file) return Status::IOError("cannot write " + path);
  return Status::Ok();
}

// The exit status of scenarios that ran: interrupted, then a failed run,
// then an expectation not met, wins.
int ExitFor(std::span<const ScenarioResult> results) {
  int status = kExitOk;
  for (const ScenarioResult& r : results) {
    if (r.interrupted()) return ExitStatusFor(r.interrupt_signal());
    if (r.run_failed()) {
      status = kExitRunFailed;
    } else if (!r.passed() && status == kExitOk) {
      status = kExitViolations;
    }
  }
  return status;
}

struct RunOutputs {
  std::string json_path;
  std::string junit_path;
  std::string html_path;
  std::string history_path;
  bool narrate = false;
};

std::string ProgressText(const ScenarioResult& r, size_t trial, int64_t done) {
  const Scenario& s = r.loaded.scenario;
  return fmt::format("{}: trial {}/{}, {}/{} purchases", Visible(s.name),
                     trial + 1, s.trials, done,
                     s.buyers.count * s.buyers.attempts);
}

int RunCommand(const ScenarioOptions& options, const RunOutputs& outputs) {
  if (outputs.json_path == "-" && outputs.junit_path == "-") {
    return Usage("--json - and --junit - cannot both have stdout");
  }
  std::vector<LoadedScenario> loaded;
  if (!LoadAll(options, options.Overrides(), &loaded)) return kExitUsage;
  for (const LoadedScenario& l : loaded) {
    if (l.scenario.history != HistoryMode::kSummary) continue;
    for (const auto& [flag, wanted] :
         {std::pair{"--history", !outputs.history_path.empty()},
          std::pair{"--html", !outputs.html_path.empty()},
          std::pair{"--narrate", outputs.narrate}}) {
      if (wanted) {
        return Usage(fmt::format(
            "{}: {} needs every event, but it keeps history = \"summary\" "
            "(--set history=full)",
            l.path.empty() ? "the scenario" : l.path, flag));
      }
    }
  }

  // With the JSON on stdout, the text report goes to stderr.
  std::FILE* text =
      outputs.json_path == "-" || outputs.junit_path == "-" ? stderr : stdout;
  const bool color = ColorWanted(text);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> history(nullptr,
                                                          &std::fclose);
  if (!outputs.history_path.empty()) {
    history.reset(std::fopen(outputs.history_path.c_str(), "w"));
    if (history == nullptr) {
      return Usage(fmt::format("--history {}: cannot write: {}",
                               outputs.history_path, std::strerror(errno)));
    }
  }
  Status history_status;
  // Per scenario: the page section of its first trial, or of the first
  // trial that missed the expectation.
  std::vector<std::string> html_sections;
  std::vector<bool> html_shows_miss;
  ProgressLine progress(stderr);
  SuiteHooks hooks;
  hooks.keep_json = !outputs.json_path.empty();
  hooks.on_progress = [&progress](const ScenarioResult& r, size_t trial,
                                  int64_t done) {
    progress.Update(ProgressText(r, trial, done));
  };
  hooks.on_trial = [&](const ScenarioResult& r, const RunResult& run,
                       const Verdict& verdict) {
    const TrialResult& trial = r.trials.back();
    const size_t number = r.trials.size();
    const bool first_miss =
        !trial.miss.empty() && std::count_if(r.trials.begin(), r.trials.end(),
                                             [](const TrialResult& t) {
                                               return !t.miss.empty();
                                             }) == 1;
    if (history != nullptr && history_status.ok()) {
      history_status =
          WriteHistoryJsonl(history.get(), run, static_cast<int64_t>(number));
    }
    if (!outputs.html_path.empty()) {
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
    if (r.loaded.scenario.trials == 1 || first_miss || trial.interrupted) {
      progress.Clear();
      if (r.loaded.scenario.trials > 1) {
        fmt::print(text, "trial {} missed the expectation:\n", number);
      }
      if (outputs.narrate) WriteNarration(text, run);
      WriteTextReport(text, run, verdict, color);
    }
  };

  std::vector<ScenarioResult> results;
  int stopped_by_signal = 0;  // an interrupt taken between two scenarios
  for (const LoadedScenario& scenario : loaded) {
    if (!results.empty() && (stopped_by_signal = TakePendingInterrupt()) != 0) {
      break;
    }
    results.push_back(RunTrials(scenario, hooks));
    progress.Clear();
    WriteTrialsSummary(text, results.back(), color);
    std::fflush(text);
    if (results.back().interrupted()) break;
  }
  if (results.size() > 1) WriteSuiteTable(text, results, color);
  if (stopped_by_signal != 0) {
    fmt::print(text, "interrupted by {}: {} of {} scenarios ran\n",
               SignalName(stopped_by_signal), results.size(), loaded.size());
  }

  int status = stopped_by_signal != 0 ? ExitStatusFor(stopped_by_signal)
                                      : ExitFor(results);
  if (!outputs.json_path.empty()) {
    Status s = WriteFile(outputs.json_path,
                         SuiteJsonReport(results, status).dump(2) + "\n");
    if (!s.ok()) {
      fmt::print(stderr, "ticketsim: {}\n", Visible(s.message()));
      status = kExitRunFailed;
    }
  }
  if (!history_status.ok()) {
    fmt::print(stderr, "ticketsim: --history {}: {}\n",
               Visible(outputs.history_path),
               Visible(history_status.message()));
    status = kExitRunFailed;
  }
  if (!outputs.html_path.empty()) {
    const std::string title =
        results.size() == 1
            ? results[0].loaded.scenario.name
            : fmt::format("ticketsim: {} scenarios", results.size());
    Status s = WriteFile(outputs.html_path, HtmlPage(title, html_sections));
    if (!s.ok()) {
      fmt::print(stderr, "ticketsim: {}\n", Visible(s.message()));
      status = kExitRunFailed;
    }
  }
  if (!outputs.junit_path.empty()) {
    Status s = WriteFile(outputs.junit_path, JunitReport(results));
    if (!s.ok()) {
      fmt::print(stderr, "ticketsim: {}\n", Visible(s.message()));
      status = kExitRunFailed;
    }
  }
  for (const ScenarioResult& r : results) {
    for (const TrialResult& t : r.trials) {
      if (!t.ran)
        fmt::print(stderr, "ticketsim: the run failed: {}\n",
                   Visible(t.run_error));
    }
  }
  return status;
}

int CheckCommand(const ScenarioOptions& options) {
  std::vector<LoadedScenario> loaded;
  const bool ok = LoadAll(options, options.Overrides(), &loaded);
  for (const LoadedScenario& s : loaded) {
    fmt::print("ok  {}: {}\n",
               s.path.empty() ? "(command line)" : Visible(s.path),
               Visible(DescribeSetup(s.scenario)));
  }
  return ok ? kExitOk : kExitUsage;
}

int CompareCommand(const ScenarioOptions& options,
                   const std::vector<std::string>& guard_words) {
  if (options.paths.size() > 1) {
    return Usage("compare takes one scenario (or none: the flags make one)");
  }
  const std::vector<Override> base = options.Overrides();
  // The store decides which guards there are to compare by default.
  std::vector<LoadedScenario> first;
  if (!LoadAll(options, base, &first)) return kExitUsage;
  std::vector<std::string> guards = guard_words;
  if (guards.empty()) {
    for (GuardKind kind : GuardsFor(first[0].scenario.store.kind)) {
      guards.emplace_back(WordOf(kGuardKinds, kind));
    }
  }
  std::vector<LoadedScenario> loaded;
  for (const std::string& guard : guards) {
    std::vector<Override> overrides = base;
    overrides.push_back({"guard.kind=" + guard, "--guards " + guard});
    if (guard != "named-semaphore") {
      overrides.push_back({"guard.permits=1", "--guards " + guard});
    }
    if (!LoadAll(options, overrides, &loaded)) return kExitUsage;
  }

  ProgressLine progress(stderr);
  SuiteHooks hooks;
  hooks.on_progress = [&progress](const ScenarioResult& r, size_t trial,
                                  int64_t done) {
    progress.Update(
        fmt::format("{}: {}", WordOf(kGuardKinds, r.loaded.scenario.guard.kind),
                    ProgressText(r, trial, done)));
  };
  const bool color = ColorWanted(stdout);
  const Scenario& s = loaded[0].scenario;
  fmt::print("{}\n  {}\n  {} trial{} per guard, seed {}\n\n", Visible(s.name),
             Visible(DescribeSetup(s)), s.trials, s.trials == 1 ? "" : "s",
             s.buyers.seed);
  fmt::print("  {:<17} {:>8}  {:<44} {:>8} {:>9} {:>12}\n", "guard", "violated",
             "violations", "sold", "remaining", "purchases/s");
  std::vector<ScenarioResult> results;
  for (const LoadedScenario& scenario : loaded) {
    // An interrupt between two guards' rows stops the table (exit 128 +
    // the signal).
    if (const int sig = results.empty() ? 0 : TakePendingInterrupt();
        sig != 0) {
      return ExitStatusFor(sig);
    }
    ScenarioResult r = RunTrials(scenario, hooks);
    progress.Clear();
    double sold = 0, remaining = 0, attempts = 0;
    std::string kinds;
    for (const TrialResult& t : r.trials) {
      sold += static_cast<double>(t.sold);
      remaining += static_cast<double>(t.remaining.value_or(0));
      attempts += static_cast<double>(t.attempts);
      if (kinds.empty()) kinds = ListViolations(t.violations);
    }
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
    fmt::print("  {:<17} {}  {:<44} {:>8} {:>9} {:>12.0f}\n",
               WordOf(kGuardKinds, scenario.scenario.guard.kind), violated,
               kinds, fmt::format("{:g}", sold / n),
               fmt::format("{:g}", remaining / n),
               r.seconds() > 0 ? attempts / r.seconds() : 0.0);
    std::fflush(stdout);
    results.push_back(std::move(r));
    if (results.back().interrupted()) break;
  }
  if (!results.empty() && results[0].trials.size() > 1) {
    fmt::print("\n  sold and remaining are means over the trials\n");
  }
  for (const ScenarioResult& r : results) {
    if (r.interrupted()) return ExitStatusFor(r.interrupt_signal());
  }
  for (const ScenarioResult& r : results) {
    if (r.run_failed()) return kExitRunFailed;
  }
  return kExitOk;
}

// Where `list` finds the scenario library: $TICKETSIM_SCENARIOS, else
// ./scenarios, else the one next to the sources this was built from.
std::string ScenarioLibrary() {
  if (const char* env = std::getenv("TICKETSIM_SCENARIOS")) return env;
  // One that is there but cannot be used (a symlink loop, no permission)
  // is still the one meant: `list` says what is wrong with it.
  struct stat st {};
  if (stat("scenarios", &st) == 0 ? S_ISDIR(st.st_mode) : errno != ENOENT) {
    return "scenarios";
  }
  return TICKETSIM_SOURCE_DIR "/scenarios";
}

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

  const std::string library = ScenarioLibrary();
  std::vector<std::string> files;
  const std::string paths[] = {library};
  if (Status s = ExpandScenarioPaths(paths, &files); !s.ok()) {
    fmt::print("scenarios: none found: {}\n", Visible(s.message()));
    return kExitOk;
  }
  fmt::print("scenarios ({}):\n", Visible(library));
  for (const std::string& file : files) {
    LoadedScenario s;
    const Status status = LoadScenario(file, {}, &s);
    fmt::print("  {}\n", Visible(file));
    if (!status.ok()) {
      fmt::print("      (invalid) {}\n", Visible(status.message()));
      continue;
    }
    fmt::print(
        "      {}  [expect {}]\n", Visible(s.scenario.name),
        s.scenario.expect.violations == Expectation::kSome ? "some" : "none");
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

int Command(int argc, char** argv) {
  CLI::App app{
      "ticketsim: buyer processes race for tickets; the checker "
      "reports exactly what went wrong."};
  app.require_subcommand(1);

  ScenarioOptions run_options;
  RunOutputs outputs;
  CLI::App* run = app.add_subcommand(
      "run",
      "run scenario files (or directories of them; none: the flags make "
      "one) and report the verdict. Exit 0: expectations met, 1: not met, "
      "2: usage or scenario error, 3: a run failed, 128 + the signal: "
      "interrupted (130 for SIGINT, 143 for SIGTERM)");
  run->add_option("scenario", run_options.paths,
                  "scenario files or directories");
  run_options.AddTo(run);
  run->add_option("--json", outputs.json_path,
                  "FILE: write the JSON report there ('-': stdout)");
  run->add_option("--html", outputs.html_path,
                  "FILE: write a self-contained HTML timeline of the run "
                  "there");
  run->add_option("--history", outputs.history_path,
                  "FILE: write every operation there as JSON lines "
                  "(invoke/ok/fail/info, as Jepsen-style checkers read)");
  run->add_flag("--narrate", outputs.narrate,
                "tell the events of the run in time order, in plain words");
  run->add_option("--junit", outputs.junit_path,
                  "FILE: write a JUnit XML report there, one testcase per "
                  "scenario");

  ScenarioOptions check_options;
  CLI::App* check = app.add_subcommand(
      "check",
      "validate scenario files without running them (exit 2 if one "
      "is wrong)");
  check
      ->add_option("scenario", check_options.paths,
                   "scenario files or directories")
      ->required();
  check_options.AddTo(check);

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

  app.add_subcommand("list",
                     "stores, guards, violations, scenario keys, and the "
                     "scenario library");
  bool clean_all = false;
  CLI::App* clean = app.add_subcommand(
      "clean", "remove named objects and files left by runs that died");
  clean->add_flag("--all", clean_all,
                  "also those of runs whose process is still alive");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is a ParseError too, with exit code 0. The message may echo
    // what was typed.
    std::ostringstream out, err;
    const int code = app.exit(e, out, err);
    fmt::print(stdout, "{}", VisibleLines(out.str()));
    fmt::print(stderr, "{}", VisibleLines(err.str()));
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (run->parsed()) return RunCommand(run_options, outputs);
  if (check->parsed()) return CheckCommand(check_options);
  if (compare->parsed()) return CompareCommand(compare_options, guards);
  if (clean->parsed()) return CleanCommand(clean_all);
  return ListCommand();
}

}  // namespace

int Main(int argc, char** argv) {
  // A run takes its own interrupts, stops its buyers and removes its
  // objects; anywhere else an interrupt ends ticketsim at once, with 128 +
  // the signal (see sim/interrupt.h).
  EndOnInterrupt interrupts;
  return Command(argc, argv);
}

}  // namespace ticketsim
