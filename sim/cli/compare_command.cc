#include "sim/cli/compare_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/escape.h"
#include "base/exit_status.h"
#include "base/interrupt.h"
#include "base/json_text.h"
#include "sim/cli/outputs.h"
#include "sim/cli/scenario_files.h"
#include "sim/cli/scenario_loading.h"
#include "sim/cli/scenario_options.h"
#include "sim/cli/text_stream.h"
#include "sim/cli/trial_progress.h"
#include "sim/guards/guard.h"
#include "sim/report/rates.h"
#include "sim/report/report_json.h"
#include "sim/report/report_junit.h"
#include "sim/run/trials.h"
#include "sim/scenario/scenario.h"

namespace ticketsim {
namespace {

class CompareOptions : public CommandOptions {
 public:
  explicit CompareOptions(CLI::App* command);
  int Prepare(const ParsedLine& line, PreparedCommand* command) override;

 private:
  Status LoadCompared(std::vector<LoadedScenario>* loaded,
                      std::vector<ScenarioProblem>* problems) const;
  void LoadModes(const std::vector<std::string>& files,
                 std::vector<LoadedScenario>* loaded,
                 std::vector<ScenarioProblem>* problems) const;

  ScenarioOptions scenario_;
  std::vector<std::string> guards_;
  std::vector<std::string> modes_;
  OutputPaths outputs_;
};

CompareOptions::CompareOptions(CLI::App* command) {
  command->add_option("scenario", scenario_.paths, "a scenario file");
  scenario_.AddTo(command);
  command
      ->add_option("--guards", guards_,
                   "GUARD,GUARD,...: the guards to compare (default: every "
                   "guard valid for the store)")
      ->delimiter(',')
      ->allow_extra_args(false);  // a scenario file after it is no guard
  command
      ->add_option("--modes", modes_,
                   "MODE,MODE,...: compare what the buyers run as "
                   "(process, thread), one row each with its start-up time, "
                   "under the scenario's own guard")
      ->delimiter(',')
      ->allow_extra_args(false);
  command->add_option("--json", outputs_.json,
                      "FILE: write the JSON report there, one scenario per "
                      "guard, each checked against no violation ('-': "
                      "stdout)");
  command->add_option("--junit", outputs_.junit,
                      "FILE: write a JUnit XML report there, one testcase "
                      "per guard, failed if a trial showed a violation ('-': "
                      "stdout)");
  AddColorTo(command, &outputs_.color);
}

int CompareOptions::Prepare(const ParsedLine& line, PreparedCommand* command) {
  if (Status s = ParseColor(outputs_.color, &command->color); !s.ok()) {
    return line.Usage(s.message());
  }
  command->compare_modes = !modes_.empty();
  if (Status s = LoadCompared(&command->scenarios, &command->problems);
      !s.ok()) {
    return line.Usage(s.message());
  }
  line.SayProblems(command->problems);
  if (!command->problems.empty()) return kExitUsage;
  if (Status s = OpenOutputs(outputs_, line.command, scenario_.paths, command);
      !s.ok()) {
    return line.Usage(s.message());
  }
  return kReady;
}

// The guards to compare: those given, else every guard valid for the
// scenario's store.
std::vector<std::string> ComparedGuards(const std::vector<std::string>& given,
                                        const Scenario& scenario) {
  if (!given.empty()) return given;
  std::vector<std::string> guards;
  for (GuardKind kind : GuardsFor(scenario.store.kind, scenario.buyers.mode)) {
    guards.emplace_back(WordOf(kGuardKinds, kind));
  }
  return guards;
}

// Loads the scenario once per guard. Each guard is held to no violation
// (the file's [expect] is for the one guard it names), unless the scenario
// cannot be checked otherwise.
Status CompareOptions::LoadCompared(
    std::vector<LoadedScenario>* loaded,
    std::vector<ScenarioProblem>* problems) const {
  if (scenario_.paths.size() > 1) {
    return Status::Invalid(
        "compare takes one scenario (or none: the flags make one)");
  }
  if (!modes_.empty() && !guards_.empty()) {
    return Status::Invalid(
        "--modes and --guards: compare the modes under one guard, or the "
        "guards in one mode, not both at once");
  }
  const std::vector<std::string> files = ScenarioFiles(scenario_, problems);
  if (!problems->empty()) return Status::Ok();
  if (files.size() != 1) {
    return Status::Invalid(
        fmt::format("compare takes one scenario; {} holds {}",
                    scenario_.paths[0], files.size()));
  }
  if (!modes_.empty()) {
    LoadModes(files, loaded, problems);
    return Status::Ok();
  }
  const std::vector<Override> base = scenario_.Overrides();
  // The store decides which guards there are to compare by default.
  std::vector<LoadedScenario> first;
  LoadAll(files, base, &first, problems, /*compared_guard=*/true);
  if (!problems->empty()) return Status::Ok();
  for (const std::string& guard : ComparedGuards(guards_, first[0].scenario)) {
    std::vector<Override> overrides = base;
    overrides.push_back({"guard.kind=" + guard, "--guards " + guard});
    if (guard != "named-semaphore") {
      overrides.push_back({"guard.permits=1", "--guards " + guard});
    }
    LoadAll(files, overrides, loaded, problems, /*compared_guard=*/true);
    if (!problems->empty()) return Status::Ok();
  }
  for (LoadedScenario& l : *loaded) {
    ExpectSpec& expect = l.scenario.expect;
    if (expect.violations == Expectation::kUnchecked) continue;
    expect.violations = Expectation::kNone;
    expect.kinds.clear();
  }
  return Status::Ok();
}

// Loads the scenario once per mode, its guard and [expect] as written:
// a mode the scenario cannot run in is refused by the validator, after
// "--modes WORD".
void CompareOptions::LoadModes(const std::vector<std::string>& files,
                               std::vector<LoadedScenario>* loaded,
                               std::vector<ScenarioProblem>* problems) const {
  for (const std::string& mode : modes_) {
    std::vector<Override> overrides = scenario_.Overrides();
    overrides.push_back({"buyers.mode=" + mode, "--modes " + mode});
    LoadAll(files, overrides, loaded, problems);
    // The validator names the key it refuses; the row it was refused for
    // goes in front, unless it is the mode word itself.
    const std::string row = "--modes " + mode;
    for (ScenarioProblem& p : *problems) {
      if (!p.message.starts_with(row)) p.message = row + ": " + p.message;
    }
    if (!problems->empty()) return;
  }
}

// The word of a row: its guard, or with --modes what its buyers run as.
std::string RowWord(const Scenario& s, bool by_mode) {
  return std::string(by_mode ? WordOf(kBuyerModes, s.buyers.mode)
                             : WordOf(kGuardKinds, s.guard.kind));
}

// One row of the table, its columns padded; `start_up` is a column only
// when the rows are modes.
void PrintRow(std::FILE* out, std::string_view word,
              const std::optional<std::string>& start_up,
              std::string_view violated, std::string_view kinds,
              std::span<const std::string, 4> rest) {
  fmt::print(out, "  {:<17} {}{}  {:<44} {:>9} {:>9} {:>10} {:>8}\n", word,
             start_up ? fmt::format("{:>10}  ", *start_up) : "", violated,
             kinds, rest[0], rest[1], rest[2], rest[3]);
}

// The table of `compare`, a row per guard as its trials end, with the
// progress line while they run.
class CompareTable {
 public:
  explicit CompareTable(const PreparedCommand& command);
  // Whether the rows are modes, each with its start-up time.
  bool by_mode() const { return by_mode_; }
  // The scenario, its setup, the trials, and the columns' heads.
  void WriteHeading(const Scenario& s);
  // The row of a guard whose trials all ran (or failed).
  void WriteRow(const ScenarioResult& r);
  // The row of a guard whose trials were interrupted.
  void WriteInterruptedRow(const ScenarioResult& r);
  TrialProgress* progress() { return &progress_; }
  TextStream* text() { return &text_; }

 private:
  // The start-up column of `r`'s row: the mean over the trials that ran,
  // "-" if none did; nullopt when the rows are guards.
  std::optional<std::string> StartUp(const ScenarioResult& r) const;

  std::FILE* const out_;
  TextStream text_;
  const bool color_;
  const bool by_mode_;
  TrialProgress progress_;
};

CompareTable::CompareTable(const PreparedCommand& command)
    : out_(command.text),
      text_(command.text),
      color_(ColorWanted(command.text, command.color)),
      by_mode_(command.compare_modes),
      progress_([by_mode = by_mode_](const Scenario& s) {
        return RowWord(s, by_mode);
      }) {}

void CompareTable::WriteHeading(const Scenario& s) {
  text_([&] {
    fmt::print(out_, "{}\n  {}\n  {} trial{} per {}, seed {}\n",
               Visible(s.name), Visible(DescribeSetup(s)), s.trials,
               s.trials == 1 ? "" : "s", by_mode_ ? "mode" : "guard",
               s.buyers.seed);
    // The start-up: from the first fork to the start barrier's opening,
    // every buyer waiting at it.
    if (by_mode_) {
      fmt::print(out_,
                 "  start-up: from the first fork until every buyer waited "
                 "at the start barrier{}\n",
                 s.trials > 1 ? ", mean of the trials" : "");
    }
    // Attempts count the sold-out and failed purchases too; sales only the
    // confirmed ones (see sim/report/rates.h).
    if (s.trials > 1) {
      fmt::print(
          out_,
          "  sold, remaining: mean of {} trials; attempts/s, sales/s: over "
          "all {} trials\n",
          s.trials, s.trials);
    }
    fmt::print(out_, "\n");
    const std::string heads[] = {s.trials > 1 ? "mean sold" : "sold",
                                 s.trials > 1 ? "mean left" : "remaining",
                                 "attempts/s", "sales/s"};
    PrintRow(out_, by_mode_ ? "mode" : "guard",
             by_mode_ ? std::optional<std::string>("start-up") : std::nullopt,
             fmt::format("{:>8}", "violated"), "violations", heads);
  });
}

std::optional<std::string> CompareTable::StartUp(
    const ScenarioResult& r) const {
  if (!by_mode_) return std::nullopt;
  double ms = 0;
  int ran = 0;
  for (const TrialResult& t : r.trials) {
    if (!t.ran || t.interrupted) continue;
    ms += t.start_up_ms;
    ++ran;
  }
  if (ran == 0) return "-";
  return fmt::format("{:.1f} ms", ms / ran);
}

void CompareTable::WriteInterruptedRow(const ScenarioResult& r) {
  // Its numbers would be those of a run cut short: none are shown.
  const auto done = std::count_if(
      r.trials.begin(), r.trials.end(),
      [](const TrialResult& t) { return t.ran && !t.interrupted; });
  const std::string none[] = {"-", "-", "-", "-"};
  text_([&] {
    PrintRow(out_, RowWord(r.loaded.scenario, by_mode_), StartUp(r),
             fmt::format("{:>8}", "-"),
             fmt::format("interrupted by {} after {} of {} trials",
                         SignalName(r.interrupt_signal()), done,
                         r.loaded.scenario.trials),
             none);
  });
}

void CompareTable::WriteRow(const ScenarioResult& r) {
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
  if (color_) {
    violated = fmt::format("\033[1;{}m{}\033[0m",
                           r.with_violations() > 0 ? 31 : 32, violated);
  }
  const std::string numbers[] = {fmt::format("{:g}", sold / n),
                                 fmt::format("{:g}", remaining / n),
                                 RateWords(PerSecond(attempts, r.seconds())),
                                 RateWords(PerSecond(sold, r.seconds()))};
  text_([&] {
    PrintRow(out_, RowWord(r.loaded.scenario, by_mode_), StartUp(r), violated,
             kinds, numbers);
    std::fflush(out_);
  });
}

// The status of the rows: an interrupt, then a failed run, wins; a
// violation is no failure here (the table shows it).
int CompareStatus(std::span<const ScenarioResult> results) {
  int status = kExitOk;
  for (const ScenarioResult& r : results) {
    if (r.interrupted()) status = ExitStatusFor(r.interrupt_signal());
  }
  if (status == kExitOk) {
    for (const ScenarioResult& r : results) {
      if (r.run_failed()) status = kExitRunFailed;
    }
  }
  return status;
}

// compare's --junit and --json, the JSON last so that its exit_code is the
// status returned. Each guard's row is a scenario of its own, named after
// its guard in the JUnit report, where the testcases share one name.
void WriteComparedReports(PreparedCommand* command,
                          std::span<const ScenarioResult> results,
                          OutputEnding* end) {
  if (command->junit != nullptr) {
    std::vector<ScenarioResult> named(results.begin(), results.end());
    for (ScenarioResult& r : named) {
      Scenario& s = r.loaded.scenario;
      s.name +=
          fmt::format(" ({} {})", command->compare_modes ? "mode" : "guard",
                      RowWord(s, command->compare_modes));
    }
    command->junit->Write(JunitReport(named));
    end->Commit(command->junit.get());
  }
  if (command->json != nullptr) {
    command->json->Write(JsonText(SuiteJsonReport(results, end->status()), 2) +
                         "\n");
    end->Commit(command->json.get());
  }
}

}  // namespace

std::unique_ptr<CommandOptions> AddCompareOptions(CLI::App* command) {
  return std::make_unique<CompareOptions>(command);
}

int CompareCommand(PreparedCommand* command) {
  if (command->scenarios.empty()) return kExitUsage;
  CompareTable table(*command);
  const SuiteHooks hooks =
      table.progress()->Hooks(/*json=*/command->json != nullptr);
  table.WriteHeading(command->scenarios[0].scenario);
  std::vector<ScenarioResult> results;
  for (const LoadedScenario& scenario : command->scenarios) {
    // An interrupt inside a guard's trials marks its row and stops the
    // table; between two runs it ends ticketsim at once.
    results.push_back(RunTrials(scenario, hooks));
    table.progress()->Clear();
    if (results.back().interrupted()) {
      table.WriteInterruptedRow(results.back());
      break;
    }
    table.WriteRow(results.back());
  }
  OutputEnding end(CompareStatus(results), &command->stdout_failure_told);
  end.FinishText(table.text(), "");
  WriteComparedReports(command, results, &end);
  return end.status();
}

}  // namespace ticketsim
