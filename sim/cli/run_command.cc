#include "sim/cli/run_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/exit_status.h"
#include "base/json_text.h"
#include "sim/cli/outputs.h"
#include "sim/cli/replay_flags.h"
#include "sim/cli/result_status.h"
#include "sim/cli/scenario_files.h"
#include "sim/cli/scenario_loading.h"
#include "sim/cli/scenario_options.h"
#include "sim/cli/step_command.h"
#include "sim/cli/text_stream.h"
#include "sim/cli/trial_progress.h"
#include "sim/history_file/history_export.h"
#include "sim/report/narration.h"
#include "sim/report/report_json.h"
#include "sim/report/report_junit.h"
#include "sim/report/report_text.h"
#include "sim/run/trials.h"
#include "sim/timeline/report_html.h"

namespace ticketsim {
namespace {

class RunOptions : public CommandOptions {
 public:
  explicit RunOptions(CLI::App* command);
  int Prepare(const ParsedLine& line, PreparedCommand* command) override;

 private:
  Status TakeReportFlags(PreparedCommand* command) const;

  ScenarioOptions scenario_;
  OutputPaths outputs_;
  bool narrate_ = false;
  bool quiet_ = false;
  bool verdicts_first_ = false;
};

RunOptions::RunOptions(CLI::App* command) {
  command->add_option("scenario", scenario_.paths,
                      "scenario files or directories, or names of the "
                      "library's scenarios as `ticketsim list` shows them "
                      "(01-rush-unguarded)");
  scenario_.AddTo(command);
  scenario_.AddReplayTo(command);
  command->add_option("--json", outputs_.json,
                      "FILE: write the JSON report there ('-': stdout)");
  command->add_option("--html", outputs_.html,
                      "FILE: write a self-contained HTML timeline of the run "
                      "there ('-': stdout)");
  command->add_option("--history", outputs_.history,
                      "FILE: write every operation there as JSON lines "
                      "(invoke/ok/fail/info, as Jepsen-style checkers read; "
                      "'-': stdout)");
  command->add_flag("--narrate", narrate_,
                    "tell the events of the run in time order, in plain words");
  command->add_flag("--quiet", quiet_,
                    "one line per scenario on stdout and nothing else: its "
                    "name, verdict (the kinds any trial showed), trials "
                    "violated of all, whether the expectation held, and its "
                    "exit status");
  command->add_flag("--verdicts-first", verdicts_first_,
                    "every scenario's verdict in short first (the first "
                    "witness of each kind, or who bought), then the full "
                    "reports: the verdicts of a few scenarios fit on one "
                    "screen");
  AddColorTo(command, &outputs_.color);
  command->add_option("--junit", outputs_.junit,
                      "FILE: write a JUnit XML report there, one testcase per "
                      "scenario ('-': stdout)");
}

// --color, --narrate, --quiet and --verdicts-first, of which --quiet
// excludes the other two.
Status RunOptions::TakeReportFlags(PreparedCommand* command) const {
  command->narrate = narrate_;
  command->quiet = quiet_;
  command->verdicts_first = verdicts_first_;
  if (Status s = ParseColor(outputs_.color, &command->color); !s.ok()) {
    return s;
  }
  if (quiet_ && (narrate_ || verdicts_first_)) {
    return Status::Invalid(fmt::format(
        "--quiet prints one line per scenario; {} prints more: choose one",
        narrate_ ? "--narrate" : "--verdicts-first"));
  }
  return Status::Ok();
}

// A schedule a person chooses: one scenario, `step`'s way, with none of
// the outputs that only a run of trials writes.
Status PrepareIfStepped(const ScenarioOptions& options,
                        PreparedCommand* command) {
  const std::vector<LoadedScenario>& scenarios = command->scenarios;
  if (std::none_of(scenarios.begin(), scenarios.end(),
                   [](const LoadedScenario& l) {
                     return l.scenario.schedule.kind == ScheduleKind::kStep;
                   })) {
    return Status::Ok();
  }
  if (scenarios.size() != 1) {
    return Status::Invalid(fmt::format(
        "run.schedule = \"step\" takes one scenario at a time (a person "
        "chooses its steps); {} scenarios were given",
        scenarios.size()));
  }
  for (const auto& [flag, wanted] :
       {std::pair{"--json", command->json != nullptr},
        std::pair{"--html", command->html != nullptr},
        std::pair{"--junit", command->junit != nullptr},
        std::pair{"--history", command->history != nullptr},
        std::pair{"--narrate", command->narrate}}) {
    if (wanted) {
      return Status::Invalid(fmt::format(
          "{} is not written for run.schedule = \"step\"; replay the "
          "steps with --steps to have it",
          flag));
    }
  }
  if (Status s = PrepareStepped(options, command); !s.ok()) return s;
  command->run = StepCommand;
  return Status::Ok();
}

// The outputs that tell every event, refused for a scenario that keeps
// only a summary of its history.
Status RefuseSummaryHistory(const PreparedCommand& command) {
  for (const LoadedScenario& l : command.scenarios) {
    if (l.scenario.history != HistoryMode::kSummary) continue;
    for (const auto& [flag, wanted] :
         {std::pair{"--history", command.history != nullptr},
          std::pair{"--html", command.html != nullptr},
          std::pair{"--narrate", command.narrate}}) {
      if (wanted) {
        return Status::Invalid(fmt::format(
            "{}: {} needs every event, but it keeps history = \"summary\" "
            "(--set history=full)",
            l.path.empty() ? "the scenario" : l.path, flag));
      }
    }
  }
  return Status::Ok();
}

int RunOptions::Prepare(const ParsedLine& line, PreparedCommand* command) {
  if (Status s = TakeReportFlags(command); !s.ok()) {
    return line.Usage(s.message());
  }
  const std::vector<std::string> files =
      ScenarioFiles(scenario_, &command->problems);
  if (Status s = OpenOutputs(outputs_, line.command, files, command); !s.ok()) {
    return line.Usage(s.message());
  }
  LoadAll(files, scenario_.Overrides(), &command->scenarios,
          &command->problems);
  line.SayProblems(command->problems);
  if (command->problems.empty()) {
    if (Status s = ApplyReplay(scenario_, &command->scenarios, line.err);
        !s.ok()) {
      return line.Usage(s.message());
    }
  }
  // Nothing runs; the JUnit report, if asked for, says why.
  if (!command->problems.empty()) {
    return command->junit == nullptr ? kExitUsage : kReady;
  }
  if (Status s = PrepareIfStepped(scenario_, command); !s.ok()) {
    return line.Usage(s.message());
  }
  if (Status s = RefuseSummaryHistory(*command); !s.ok()) {
    return line.Usage(s.message());
  }
  return kReady;
}

// Whether the trial that just ended is the first of `r` to miss the
// expectation.
bool FirstMiss(const ScenarioResult& r) {
  return !r.trials.back().miss.empty() &&
         std::count_if(r.trials.begin(), r.trials.end(),
                       [](const TrialResult& t) { return !t.miss.empty(); }) ==
             1;
}

// What `run` writes as its trials end and after the last: the text reports
// (with --verdicts-first, held back behind the short verdicts), the
// progress line, the --history file as it goes, the HTML page's sections,
// and at the end every output file.
class RunReports {
 public:
  explicit RunReports(PreparedCommand* command);
  SuiteHooks Hooks();
  // After each scenario's trials: its summary, or its quiet line.
  void ScenarioEnded(const ScenarioResult& result);
  // After the last: the table of all, and the text held back.
  void AllEnded(std::span<const ScenarioResult> results);
  // Commits every output; returns the exit status.
  int Finish(std::span<const ScenarioResult> results);

 private:
  void OnTrial(const ScenarioResult& r, const RunResult& run,
               const Verdict& verdict);
  void NoteHtml(const ScenarioResult& r, const RunResult& run,
                const Verdict& verdict, bool first_miss);
  void TellTrial(const ScenarioResult& r, const RunResult& run,
                 const Verdict& verdict, bool first_miss, bool narrate);
  void FinishHistory(std::span<const ScenarioResult> results,
                     OutputEnding* end);

  PreparedCommand* const command_;
  HeldText briefs_;
  HeldText details_;
  const bool hold_;  // --verdicts-first, and memory to hold the text in
  TextStream text_;
  const bool color_;
  TrialProgress progress_;
  Status history_status_;
  int64_t history_runs_ = 0;  // trials written to it
  // Per scenario: the page section of its first trial, or of the first
  // trial that missed the expectation.
  std::vector<std::string> html_sections_;
  std::vector<bool> html_shows_miss_;
};

RunReports::RunReports(PreparedCommand* command)
    : command_(command),
      hold_(command->verdicts_first && briefs_.get() != nullptr &&
            details_.get() != nullptr),
      text_(hold_ ? details_.get() : command->text),
      color_(ColorWanted(command->text, command->color)) {}

SuiteHooks RunReports::Hooks() {
  return progress_.Hooks(
      command_->json != nullptr,
      [this](const ScenarioResult& r, const RunResult& run,
             const Verdict& verdict) { OnTrial(r, run, verdict); });
}

void RunReports::OnTrial(const ScenarioResult& r, const RunResult& run,
                         const Verdict& verdict) {
  const size_t number = r.trials.size();
  const bool first_miss = FirstMiss(r);
  if (command_->history != nullptr && history_status_.ok()) {
    history_status_ = WriteHistoryJsonl(command_->history->stream(), run,
                                        static_cast<int64_t>(number), verdict);
    ++history_runs_;
  }
  if (command_->html != nullptr) NoteHtml(r, run, verdict, first_miss);
  // With several trials the first is the one told.
  const bool narrate = command_->narrate && number == 1;
  if (command_->quiet) return;
  if (hold_ && (number == 1 || first_miss)) {
    text_([&] { WriteBriefVerdict(briefs_.get(), run, verdict, color_); });
  }
  if (r.loaded.scenario.trials == 1 || first_miss ||
      r.trials.back().interrupted || narrate) {
    progress_.Clear();
    text_([&] { TellTrial(r, run, verdict, first_miss, narrate); });
  }
}

void RunReports::NoteHtml(const ScenarioResult& r, const RunResult& run,
                          const Verdict& verdict, bool first_miss) {
  const bool new_scenario = r.trials.size() == 1;
  if (new_scenario) {
    html_sections_.emplace_back();
    html_shows_miss_.push_back(false);
  }
  if (new_scenario || (first_miss && !html_shows_miss_.back())) {
    html_sections_.back() = HtmlRunSection(
        run, verdict,
        fmt::format("{} (trial {} of {}, seed {})", r.loaded.scenario.name,
                    r.trials.size(), r.loaded.scenario.trials,
                    r.trials.back().seed));
    html_shows_miss_.back() = first_miss;
  }
}

// The text report of a trial; with several trials, which one it is. The
// story, when told, comes after the title, before the report.
void RunReports::TellTrial(const ScenarioResult& r, const RunResult& run,
                           const Verdict& verdict, bool first_miss,
                           bool narrate) {
  std::FILE* const out = text_.get();
  const int64_t trials = r.loaded.scenario.trials;
  if (trials > 1 && narrate) {
    fmt::print(out,
               "trial 1 of {} (seed {}), told (--narrate tells the "
               "first trial){}:\n",
               trials, r.trials.back().seed,
               first_miss ? "; it missed the expectation" : "");
  } else if (trials > 1) {
    fmt::print(out, "trial {} missed the expectation:\n", r.trials.size());
  }
  if (narrate) {
    WriteTextTitle(out, run, color_);
    WriteNarration(out, run, verdict);
  }
  WriteTextReport(out, run, verdict, color_, /*title=*/!narrate);
}

void RunReports::ScenarioEnded(const ScenarioResult& result) {
  progress_.Clear();
  text_([&] {
    if (command_->quiet) {
      WriteQuietLine(text_.get(), result, ExitFor(result), color_);
    } else {
      WriteTrialsSummary(text_.get(), result, color_);
    }
    std::fflush(text_.get());
  });
}

void RunReports::AllEnded(std::span<const ScenarioResult> results) {
  text_([&] {
    if (results.size() > 1 && !command_->quiet) {
      WriteSuiteTable(text_.get(), results, color_);
    }
  });
  if (!hold_) return;
  // The short verdicts, then the reports they come from, on the stream the
  // text goes to.
  TextStream shown(command_->text);
  shown([&] {
    fmt::print(command_->text, "{}{}", briefs_.Take(), details_.Take());
  });
  text_ = std::move(shown);
}

// The --history file: committed, or removed when a write to it failed or
// no run left a history to write.
void RunReports::FinishHistory(std::span<const ScenarioResult> results,
                               OutputEnding* end) {
  OutputFile* const history = command_->history.get();
  if (!history_status_.ok()) {
    // The file, if it is one, is removed: it would end mid-line.
    history->Fail(EIO);
    history->Commit();
    end->NoteFailed(*history);
    end->Failed(fmt::format("--history {}: {}", history->path(),
                            history_status_.message()));
    return;
  }
  if (history_runs_ == 0) {
    // Every run failed before it had a history: an empty file is none,
    // and `check --history` would refuse it.
    history->Fail(ECANCELED);
    (void)history->Commit();
    Complain(fmt::format(
        "--history {}: not written: no run ended with a history to write",
        history->path()));
    return;
  }
  end->Commit(history);
  const bool one_failed =
      std::any_of(results.begin(), results.end(), [](const ScenarioResult& r) {
        return std::any_of(r.trials.begin(), r.trials.end(),
                           [](const TrialResult& t) { return !t.ran; });
      });
  if (one_failed) {
    Complain(fmt::format(
        "--history {}: holds the runs that ended; the one that failed is "
        "not in it",
        history->path()));
  }
}

int RunReports::Finish(std::span<const ScenarioResult> results) {
  // Every output but the JSON first, so that the JSON's exit_code is the
  // status the command ends with.
  OutputEnding end(ExitFor(results), &command_->stdout_failure_told);
  end.FinishText(&text_, "the text report: ");
  if (command_->history != nullptr) FinishHistory(results, &end);
  if (command_->html != nullptr) {
    const std::string title =
        results.size() == 1
            ? results[0].loaded.scenario.name
            : fmt::format("ticketsim: {} scenarios", results.size());
    command_->html->Write(HtmlPage(title, html_sections_));
    end.Commit(command_->html.get());
  }
  if (command_->junit != nullptr) {
    command_->junit->Write(JunitReport(results));
    end.Commit(command_->junit.get());
  }
  if (command_->json != nullptr) {
    command_->json->Write(JsonText(SuiteJsonReport(results, end.status()), 2) +
                          "\n");
    end.Commit(command_->json.get());
  }
  for (const ScenarioResult& r : results) {
    for (const TrialResult& t : r.trials) {
      if (!t.ran) {
        Complain(t.bad_input ? t.run_error : "the run failed: " + t.run_error);
      }
    }
  }
  return end.status();
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

}  // namespace

std::unique_ptr<CommandOptions> AddRunOptions(CLI::App* command) {
  return std::make_unique<RunOptions>(command);
}

int RunCommand(PreparedCommand* command) {
  if (!command->problems.empty()) return InvalidRunCommand(command);
  RunReports reports(command);
  const SuiteHooks hooks = reports.Hooks();
  // An interrupt inside a run stops it and the rest; between two runs it
  // ends ticketsim at once (base/interrupt.h).
  std::vector<ScenarioResult> results;
  for (const LoadedScenario& scenario : command->scenarios) {
    results.push_back(RunTrials(scenario, hooks));
    reports.ScenarioEnded(results.back());
    if (results.back().interrupted()) break;
  }
  reports.AllEnded(results);
  return reports.Finish(results);
}

}  // namespace ticketsim
