#include "sim/cli/step_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "base/color.h"
#include "base/escape.h"
#include "base/exit_status.h"
#include "base/interrupt.h"
#include "sim/buyers/buyer.h"
#include "sim/cli/replay_flags.h"
#include "sim/cli/result_status.h"
#include "sim/cli/scenario_files.h"
#include "sim/cli/scenario_loading.h"
#include "sim/cli/step_screen.h"
#include "sim/cli/text_stream.h"
#include "sim/report/report_text.h"
#include "sim/run/run.h"
#include "sim/run/trials.h"

namespace ticketsim {
namespace {

class StepOptions : public CommandOptions {
 public:
  explicit StepOptions(CLI::App* command) {
    command->add_option("scenario", scenario_.paths,
                        "a scenario file (none: the flags make one)");
    scenario_.AddTo(command);
    scenario_.AddReplayTo(command);
  }
  int Prepare(const ParsedLine& line, PreparedCommand* command) override;

 private:
  ScenarioOptions scenario_;
};

int StepOptions::Prepare(const ParsedLine& line, PreparedCommand* command) {
  if (scenario_.paths.size() > 1) {
    return line.Usage("step takes one scenario (or none: the flags make one)");
  }
  const std::vector<std::string> files =
      ScenarioFiles(scenario_, &command->problems);
  if (command->problems.empty() && files.size() != 1) {
    return line.Usage(fmt::format("step takes one scenario; {} holds {}",
                                  scenario_.paths[0], files.size()));
  }
  if (command->problems.empty()) {
    LoadAll(files, scenario_.Overrides(), &command->scenarios,
            &command->problems, /*compared_guard=*/false, /*stepped=*/true);
  }
  line.SayProblems(command->problems);
  if (!command->problems.empty()) return kExitUsage;
  if (Status s = ApplyReplay(scenario_, &command->scenarios, line.err);
      !s.ok()) {
    return line.Usage(s.message());
  }
  if (Status s = PrepareStepped(scenario_, command); !s.ok()) {
    return line.Usage(s.message());
  }
  return kReady;
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

// Runs `scenario` under the steps `screen` takes, again after each undo,
// one step shorter: the buyers replay the steps before the undone one
// exactly, and the person goes on from there. Leaves the last run in *run
// and its steps in scenario->schedule.steps.
Status RunUntilNoUndo(StepScreen* screen, Scenario* scenario, RunResult* run) {
  uint64_t replayed = 0;
  for (;;) {
    *run = RunResult();
    screen->Replaying(replayed);
    const std::unique_ptr<StepChooser> chooser =
        MakeSteppedChooser(screen, scenario->schedule.steps);
    const Status status = RunScenario(*scenario, run, {}, chooser.get());
    if (!status.ok() || !run->undo || run->interrupted) return status;
    std::vector<uint32_t> steps = run->schedule.Buyers();
    if (!steps.empty()) steps.pop_back();
    replayed = steps.size();
    scenario->schedule.steps = std::move(steps);
  }
}

// The stepped run as one trial of `loaded` run as `scenario`; `late`: an
// interrupt taken after the run ended.
ScenarioResult StepResult(const LoadedScenario& loaded,
                          const Scenario& scenario, const RunResult& run,
                          const Verdict& verdict, int late) {
  ScenarioResult result;
  result.loaded = loaded;
  result.loaded.scenario = scenario;
  TrialResult& trial = result.trials.emplace_back();
  trial.seed = scenario.buyers.seed;
  BookVerdict(scenario, run, verdict, &trial);
  if (late != 0 && !run.interrupted) result.stopped_by_signal = late;
  return result;
}

// After the board: the text report, the summary, the steps and the line
// that replays them.
void WriteStepReport(const StepScreen& screen, const RunResult& run,
                     const Verdict& verdict, const ScenarioResult& result,
                     const std::string& replay) {
  const bool color = ColorWanted(stdout);
  fmt::print("\n");
  if (const std::string quit = screen.QuitText(run.schedule); !quit.empty()) {
    fmt::print("{}: the verdict is that of the steps taken\n\n", quit);
  }
  WriteTextReport(stdout, run, verdict, color);
  WriteTrialsSummary(stdout, result, color);
  const std::string list = run.schedule.StepsList();
  fmt::print("\nsteps: {}\n", list.empty() ? "none" : list);
  if (!list.empty()) {
    fmt::print("replay: {} --steps {}\n", Visible(replay), list);
  }
  std::fflush(stdout);
}

}  // namespace

std::unique_ptr<CommandOptions> AddStepOptions(CLI::App* command) {
  return std::make_unique<StepOptions>(command);
}

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

Status CheckSteppable(const Scenario& scenario) {
  if (scenario.buyers.count > kMaxSteppedBuyers) {
    return Status::Invalid(fmt::format(
        "buyers.count is {}: a person steps at most {} buyers, one key each "
        "(0-9); set buyers.count to {} or fewer (--buyers)",
        scenario.buyers.count, kMaxSteppedBuyers, kMaxSteppedBuyers));
  }
  return Status::Ok();
}

int StepCommand(PreparedCommand* command) {
  const LoadedScenario& loaded = command->scenarios[0];
  Scenario scenario = loaded.scenario;
  const bool terminal = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
  // While the terminal takes keys one at a time, an interrupt between two
  // runs (after an undo) waits for the next run, which takes it: the
  // terminal is always put back before ticketsim ends.
  std::optional<DeferInterrupts> defer(std::in_place);
  StepScreen screen(scenario, STDIN_FILENO, stdout, terminal);
  if (Status s = screen.Start(); !s.ok()) {
    defer.reset();
    ComplainInOneLine(s.message());
    return kExitRunFailed;
  }
  RunResult run;
  const Status status = RunUntilNoUndo(&screen, &scenario, &run);
  std::optional<Verdict> verdict;
  if (status.ok()) {
    screen.Finish(run);
    verdict = CheckRun(run);
  }
  const int late = TakePendingInterrupt();
  screen.Restore();
  defer.reset();
  if (!status.ok()) {
    ComplainInOneLine("the run failed: " + status.message());
    return status.code() == Status::Code::kInvalid ? kExitUsage
                                                   : kExitRunFailed;
  }
  const ScenarioResult result =
      StepResult(loaded, scenario, run, *verdict, late);
  WriteStepReport(screen, run, *verdict, result, command->replay);
  return ExitFor(result);
}

}  // namespace ticketsim
