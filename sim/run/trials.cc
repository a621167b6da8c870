#include "sim/run/trials.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "base/interrupt.h"
#include "sim/buyers/buyer.h"
#include "storage/pg_connect.h"

namespace ticketsim {
namespace {

// "lost update x9"; with findings "lost update x9 (found: starvation x1)".
std::string KindsOf(const Verdict& verdict) {
  const std::string found = ListViolations(verdict.FindingCounts());
  const std::string kinds =
      verdict.ok() ? std::string("none") : ListViolations(verdict.Counts());
  return found.empty() ? kinds : fmt::format("{} (found: {})", kinds, found);
}

}  // namespace

Interval WilsonInterval(int64_t successes, int64_t trials) {
  if (trials <= 0) return {0, 1};
  constexpr double z = 1.959963984540054;  // the normal's 97.5th percentile
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(successes) / n;
  const double z2 = z * z;
  const double center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half =
      z / (1 + z2 / n) * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n));
  return {std::max(0.0, center - half), std::min(1.0, center + half)};
}

std::string ExpectationMiss(const Scenario& scenario, const Verdict& verdict,
                            bool unchecked) {
  if (unchecked && scenario.expect.violations != Expectation::kUnchecked) {
    return "nothing was checked: the program wrote no events on fd 3 and "
           "program.sold_pattern is not set, so its sales are unknown "
           "(expect.violations = \"unchecked\" accepts that)";
  }
  if (scenario.expect.violations != Expectation::kSome) {
    if (verdict.ok()) return "";
    return fmt::format("expected no violation{}, got {}",
                       scenario.expect.violations == Expectation::kUnset
                           ? " (no [expect] given)"
                           : "",
                       KindsOf(verdict));
  }
  // Kinds named may be findings (starvation), which are no violation: then
  // the kinds alone are expected.
  if (verdict.ok() && scenario.expect.kinds.empty()) {
    return "expected a violation, got " + KindsOf(verdict);
  }
  std::string missing;
  for (ViolationKind kind : scenario.expect.kinds) {
    if (verdict.CountOf(kind) == 0) {
      missing +=
          fmt::format("{}{}", missing.empty() ? "" : ", ", ViolationName(kind));
    }
  }
  if (missing.empty()) return "";
  return fmt::format("expected {}, got {}", missing, KindsOf(verdict));
}

int64_t ScenarioResult::with_violations() const {
  return std::count_if(trials.begin(), trials.end(),
                       [](const TrialResult& t) { return t.violated(); });
}

std::vector<ViolationCount> ScenarioResult::kinds_in_trials() const {
  std::vector<ViolationCount> kinds;
  for (const TrialResult& t : trials) {
    std::vector<ViolationCount> found = t.violations;
    found.insert(found.end(), t.findings.begin(), t.findings.end());
    for (const auto& [kind, count] : found) {
      auto it =
          std::find_if(kinds.begin(), kinds.end(),
                       [k = kind](const auto& e) { return e.first == k; });
      if (it == kinds.end()) {
        kinds.emplace_back(kind, 1);
      } else {
        ++it->second;
      }
    }
  }
  return kinds;
}

std::string ListKindsInTrials(const ScenarioResult& result) {
  std::string out;
  for (const auto& [kind, trials] : result.kinds_in_trials()) {
    out += fmt::format("{}{} in {}", out.empty() ? "" : ", ",
                       ViolationName(kind), trials);
  }
  return out;
}

bool ScenarioResult::unchecked() const {
  if (loaded.scenario.expect.violations == Expectation::kUnchecked) {
    return false;
  }
  return std::any_of(trials.begin(), trials.end(),
                     [](const TrialResult& t) { return t.unchecked; });
}

bool ScenarioResult::run_failed() const {
  return std::any_of(trials.begin(), trials.end(),
                     [](const TrialResult& t) { return t.failed(); });
}

bool ScenarioResult::bad_input() const {
  return std::any_of(trials.begin(), trials.end(),
                     [](const TrialResult& t) { return t.bad_input; });
}

bool ScenarioResult::interrupted() const {
  return stopped_by_signal != 0 ||
         std::any_of(trials.begin(), trials.end(),
                     [](const TrialResult& t) { return t.interrupted; });
}

int ScenarioResult::interrupt_signal() const {
  if (stopped_by_signal != 0) return stopped_by_signal;
  for (const TrialResult& t : trials) {
    if (t.interrupted) return t.interrupt_signal;
  }
  return 0;
}

bool ScenarioResult::passed() const {
  if (trials.empty() || run_failed() || interrupted()) return false;
  return std::all_of(trials.begin(), trials.end(),
                     [](const TrialResult& t) { return t.miss.empty(); });
}

std::string ScenarioResult::FirstProblem() const {
  for (size_t i = 0; i < trials.size(); ++i) {
    const TrialResult& t = trials[i];
    std::string problem;
    if (!t.ran) {
      problem = "the run failed: " + t.run_error;
    } else if (t.attach_failed) {
      problem = "a buyer could not open the store or the guard";
    } else if (t.timed_out) {
      problem = "the run hit its time limit";
    } else if (t.interrupted) {
      problem = "interrupted by " + SignalName(t.interrupt_signal);
    } else {
      problem = t.miss;
    }
    if (!problem.empty()) {
      return fmt::format("trial {} (seed {}): {}", i + 1, t.seed, problem);
    }
  }
  if (stopped_by_signal != 0) {
    return fmt::format("interrupted by {} after {} of {} trials",
                       SignalName(stopped_by_signal), trials.size(),
                       loaded.scenario.trials);
  }
  return "";
}

double ScenarioResult::seconds() const {
  double total = 0;
  for (const TrialResult& t : trials) total += t.seconds;
  return total;
}

namespace {

// Why the trial's run could not be made; a --steps list that cannot be
// followed is bad input, named where the list came from ("--steps 0,1",
// "rush.toml:20:9").
void BookRunError(const Status& s, const LoadedScenario& loaded,
                  TrialResult* trial) {
  // A url or conninfo quoted by whoever failed shows no password.
  trial->run_error = HidePasswords(s.message());
  if (s.code() != Status::Code::kInvalid) return;
  trial->bad_input = true;
  const auto where = loaded.where.find("run.steps");
  trial->run_error = fmt::format(
      "{}: {}", where != loaded.where.end() ? where->second : "run.steps",
      trial->run_error);
}

}  // namespace

void BookVerdict(const Scenario& scenario, const RunResult& run,
                 const Verdict& verdict, TrialResult* trial) {
  trial->ran = true;
  trial->timed_out = run.timed_out;
  trial->interrupted = run.interrupted;
  trial->interrupt_signal = run.interrupt_signal;
  trial->attach_failed = std::any_of(
      run.processes.begin(), run.processes.end(),
      [](const BuyerProcess& p) { return p.exit_code == kBuyerAttachFailed; });
  trial->seconds = run.seconds;
  trial->start_up_ms =
      run.program != nullptr ? run.program->start_up_ms : run.start_up_ms;
  trial->attempts = verdict.attempts;
  trial->sold = verdict.confirmed;
  trial->remaining = verdict.final_count;
  trial->violations = verdict.Counts();
  trial->unchecked = verdict.ok() && ProgramSalesUnknown(run);
  trial->findings = verdict.FindingCounts();
  trial->miss = ExpectationMiss(scenario, verdict, trial->unchecked);
}

ScenarioResult RunTrials(const LoadedScenario& loaded,
                         const SuiteHooks& hooks) {
  ScenarioResult result;
  result.loaded = loaded;
  const Scenario& base = loaded.scenario;
  for (int64_t t = 0; t < base.trials; ++t) {
    Scenario scenario = base;
    scenario.buyers.seed = TrialSeed(base.buyers.seed, t);
    TrialResult& trial = result.trials.emplace_back();
    trial.seed = scenario.buyers.seed;
    const size_t index = result.trials.size() - 1;
    ProgressFn progress;
    if (hooks.on_progress) {
      progress = [&](int64_t done) { hooks.on_progress(result, index, done); };
    }
    RunResult run;
    // From the run's start to its verdict: an interrupt that comes after
    // the run has taken its last is taken once the trial is checked, so
    // that its report is not lost.
    std::optional<DeferInterrupts> defer(std::in_place);
    const Status s = RunScenario(scenario, &run, progress);
    if (!s.ok()) {
      BookRunError(s, loaded, &trial);
      break;
    }
    const Verdict verdict = CheckRun(run);
    BookVerdict(scenario, run, verdict, &trial);
    if (hooks.trial_report) {
      trial.report = hooks.trial_report(run, verdict);
      trial.report["trial"] = t + 1;
    }
    if (const int late = TakePendingInterrupt();
        late != 0 && !run.interrupted) {
      result.stopped_by_signal = late;
    }
    defer.reset();  // the report may wait on its output: that wait can end
    if (hooks.on_trial) hooks.on_trial(result, run, verdict);
    if (trial.interrupted || trial.failed() || result.stopped_by_signal != 0) {
      break;
    }
  }
  return result;
}

}  // namespace ticketsim
