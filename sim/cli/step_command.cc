#include "sim/cli/step_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "base/color.h"
#include "base/escape.h"
#include "base/interrupt.h"
#include "sim/buyers/buyer.h"
#include "sim/cli/cli.h"
#include "sim/cli/step_screen.h"
#include "sim/report/report_text.h"
#include "sim/run/run.h"
#include "sim/run/trials.h"

namespace ticketsim {
namespace {

// A message on stderr, on one line whatever it holds; never throws.
void ComplainInOneLine(std::string_view message) {
  const std::string line = fmt::format("ticketsim: {}\n", Visible(message));
  if (std::fwrite(line.data(), 1, line.size(), stderr) != line.size()) {
    std::clearerr(stderr);
  }
}

}  // namespace

Status CheckSteppable(const Scenario& scenario) {
  if (scenario.buyers.count > kMaxSteppedBuyers) {
    return Status::Invalid(fmt::format(
        "buyers.count is {}: a person steps at most {} buyers, one key each "
        "(0-9); set buyers.count to {} or fewer (--buyers)",
        scenario.buyers.count, kMaxSteppedBuyers, kMaxSteppedBuyers));
  }
  return Status::Ok();
}

int StepCommand(const LoadedScenario& loaded, const std::string& replay) {
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
  Status status;
  uint64_t replayed = 0;
  for (;;) {
    run = RunResult();
    screen.Replaying(replayed);
    const std::unique_ptr<StepChooser> chooser =
        MakeSteppedChooser(&screen, scenario.schedule.steps);
    status = RunScenario(scenario, &run, {}, chooser.get());
    if (!status.ok() || !run.undo || run.interrupted) break;
    // The same run again, one step shorter: the buyers replay the steps
    // before the undone one exactly, and the person goes on from there.
    std::vector<uint32_t> steps = run.schedule.Buyers();
    if (!steps.empty()) steps.pop_back();
    replayed = steps.size();
    scenario.schedule.steps = std::move(steps);
  }
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

  const bool color = ColorWanted(stdout);
  fmt::print("\n");
  if (const std::string quit = screen.QuitText(run.schedule); !quit.empty()) {
    fmt::print("{}: the verdict is that of the steps taken\n\n", quit);
  }
  WriteTextReport(stdout, run, *verdict, color);
  ScenarioResult result;
  result.loaded = loaded;
  result.loaded.scenario = scenario;
  TrialResult& trial = result.trials.emplace_back();
  trial.seed = scenario.buyers.seed;
  trial.ran = true;
  trial.timed_out = run.timed_out;
  trial.interrupted = run.interrupted;
  trial.interrupt_signal = run.interrupt_signal;
  trial.attach_failed = std::any_of(
      run.processes.begin(), run.processes.end(),
      [](const BuyerProcess& p) { return p.exit_code == kBuyerAttachFailed; });
  trial.seconds = run.seconds;
  trial.attempts = verdict->attempts;
  trial.sold = verdict->confirmed;
  trial.remaining = verdict->final_count;
  trial.violations = verdict->Counts();
  trial.miss = ExpectationMiss(scenario, *verdict);
  if (late != 0 && !run.interrupted) result.stopped_by_signal = late;
  WriteTrialsSummary(stdout, result, color);

  const std::string list = run.schedule.StepsList();
  fmt::print("\nsteps: {}\n", list.empty() ? "none" : list);
  if (!list.empty()) {
    fmt::print("replay: {} --steps {}\n", Visible(replay), list);
  }
  std::fflush(stdout);

  if (result.interrupted()) return ExitStatusFor(result.interrupt_signal());
  if (result.run_failed()) return kExitRunFailed;
  if (result.unchecked()) return kExitUnchecked;
  return result.passed() ? kExitOk : kExitViolations;
}

}  // namespace ticketsim
