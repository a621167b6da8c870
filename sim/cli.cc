#include "sim/cli.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "sim/buyer.h"
#include "sim/guard.h"
#include "sim/report_json.h"
#include "sim/report_text.h"
#include "sim/run.h"
#include "sim/scenario.h"
#include "storage/run_names.h"

namespace ticketsim {
namespace {

// A flag of `run` that sets one scenario key.
struct KeyFlag {
  const char* flag;
  const char* key;
  const char* help;
  bool range;  // "MIN,MAX" (or one number), written [MIN, MAX] for the key
};

constexpr KeyFlag kKeyFlags[] = {
    {"--store", "store.kind", "file | shm | sqlite", false},
    {"--write", "store.write", "file store: truncate | replace", false},
    {"--slow-write-ms", "store.slow_write_ms",
     "file store: how long each write takes", false},
    {"--journal", "store.journal", "sqlite store: wal | delete", false},
    {"--busy-timeout-ms", "store.busy_timeout_ms", "sqlite store: busy timeout",
     false},
    {"--guard", "guard.kind",
     "none | named-mutex | file-lock | robust-mutex | sqlite-immediate | "
     "sqlite-deferred",
     false},
    {"--scope", "guard.scope", "buy | query-and-buy", false},
    {"--timeout-ms", "guard.timeout_ms", "longest wait for the guard", false},
    {"--buyers", "buyers.count", "buyer processes", false},
    {"--tickets", "tickets.initial", "tickets on sale", false},
    {"--attempts", "buyers.attempts", "purchases each buyer tries", false},
    {"--method", "buyers.method", "read-modify-write | atomic", false},
    {"--think-ms", "buyers.think_ms",
     "MIN,MAX: time between read and write (the race window)", true},
    {"--query-delay-ms", "buyers.query_delay_ms",
     "MIN,MAX: time between the query and the purchase", true},
    {"--seed", "buyers.seed", "seed of the random delays", false},
    {"--kill-holder", "faults.kill_holder",
     "chance a buyer is SIGKILLed inside its critical section", false},
};

std::string SettingFor(const KeyFlag& flag, const std::string& value) {
  if (flag.range && value.find(',') != std::string::npos) {
    return fmt::format("{}=[{}]", flag.key, value);
  }
  return fmt::format("{}={}", flag.key, value);
}

bool ColorWanted(std::FILE* out) {
  return isatty(fileno(out)) && std::getenv("NO_COLOR") == nullptr;
}

int Usage(const std::string& message) {
  fmt::print(stderr, "ticketsim: {}\n", message);
  return kExitUsage;
}

struct RunOptions {
  std::vector<std::string> flag_values =
      std::vector<std::string>(std::size(kKeyFlags));
  std::vector<std::string> settings;
  std::string json_path;
};

Status WriteJson(const std::string& path, const nlohmann::json& report) {
  if (path == "-") {
    fmt::print(stdout, "{}\n", report.dump(2));
    return Status::Ok();
  }
  std::ofstream file(path);
  file << report.dump(2) << '\n';
  if (!file) return Status::IOError("cannot write " + path);
  return Status::Ok();
}

int RunCommand(const RunOptions& options) {
  Scenario scenario;
  scenario.name = "ticket rush (from the command line)";
  for (size_t i = 0; i < std::size(kKeyFlags); ++i) {
    if (options.flag_values[i].empty()) continue;
    Status s = ApplySetting(&scenario,
                            SettingFor(kKeyFlags[i], options.flag_values[i]));
    if (!s.ok())
      return Usage(fmt::format("{}: {}", kKeyFlags[i].flag, s.message()));
  }
  for (const std::string& setting : options.settings) {
    Status s = ApplySetting(&scenario, setting);
    if (!s.ok()) return Usage("--set " + s.message());
  }
  if (Status s = ValidateScenario(scenario); !s.ok()) return Usage(s.message());

  RunResult run;
  Status s = RunScenario(scenario, &run);
  if (!s.ok()) {
    fmt::print(stderr, "ticketsim: the run failed: {}\n", s.message());
    return s.code() == Status::Code::kInvalid ? kExitUsage : kExitRunFailed;
  }
  const Verdict verdict = CheckRun(run);
  // With the JSON on stdout, the text report goes to stderr.
  std::FILE* text_out = options.json_path == "-" ? stderr : stdout;
  WriteTextReport(text_out, run, verdict, ColorWanted(text_out));
  if (!options.json_path.empty()) {
    if (Status w = WriteJson(options.json_path, JsonReport(run, verdict));
        !w.ok()) {
      fmt::print(stderr, "ticketsim: {}\n", w.message());
      return kExitRunFailed;
    }
  }
  if (run.interrupted) return kExitInterrupted;
  if (run.timed_out) return kExitRunFailed;
  for (const BuyerProcess& buyer : run.processes) {
    if (buyer.exit_code == kBuyerAttachFailed) return kExitRunFailed;
  }
  return verdict.ok() ? kExitOk : kExitViolations;
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
  fmt::print("scenario keys (--set key=value):\n");
  for (const auto& k : ScenarioKeys())
    fmt::print("  {:<22} {}\n", k.key, k.help);
  return kExitOk;
}

int CleanCommand(bool all) {
  const std::vector<std::string> removed = CleanLeftovers(all);
  for (const std::string& path : removed) fmt::print("removed {}\n", path);
  fmt::print("{} leftover{} removed\n", removed.size(),
             removed.size() == 1 ? "" : "s");
  return kExitOk;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{
      "ticketsim: buyer processes race for tickets; the checker "
      "reports exactly what went wrong."};
  app.require_subcommand(1);

  RunOptions run_options;
  CLI::App* run = app.add_subcommand(
      "run",
      "run one scenario and report the verdict (exit 0: no violation, "
      "1: violations, 2: usage, 3: the run failed, 130: interrupted)");
  for (size_t i = 0; i < std::size(kKeyFlags); ++i) {
    run->add_option(kKeyFlags[i].flag, run_options.flag_values[i],
                    kKeyFlags[i].help);
  }
  run->add_option("--set", run_options.settings,
                  "KEY=VALUE: set any scenario key (see `ticketsim list`)");
  run->add_option("--json", run_options.json_path,
                  "FILE: write the JSON report there ('-': stdout)");

  app.add_subcommand("list", "stores, guards, scopes, methods, scenario keys");
  bool clean_all = false;
  CLI::App* clean = app.add_subcommand(
      "clean", "remove named objects and files left by runs that died");
  clean->add_flag("--all", clean_all,
                  "also those of runs whose process is still alive");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is a ParseError too, with exit code 0.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (run->parsed()) return RunCommand(run_options);
  if (clean->parsed()) return CleanCommand(clean_all);
  return ListCommand();
}

}  // namespace ticketsim
