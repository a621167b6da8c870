// Trials: scenarios run trial after trial, and whether each met its
// expectation.
//
// Trial t (from 1) of a scenario runs with seed buyers.seed + t - 1, wrapped
// to 0 past the largest seed (TrialSeed), so any one trial can be repeated
// alone with `--seed`. A scenario's expectation ([expect]) is met
// when every trial meets it: "none" (or no [expect]) wants no violation in
// any trial; "some" wants a violation in every trial, and the kinds listed
// in expect.kinds among them. A forced race is one that shows up every time.
#ifndef TICKETSIM_SIM_RUN_TRIALS_H_
#define TICKETSIM_SIM_RUN_TRIALS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sim/check/checker.h"
#include "sim/run/run.h"
#include "sim/scenario/scenario_file.h"

namespace ticketsim {

// A proportion's 95% confidence interval (Wilson score): [low, high].
struct Interval {
  double low = 0;
  double high = 1;
};
Interval WilsonInterval(int64_t successes, int64_t trials);

// "" if `verdict` meets the scenario's expectation; otherwise why not
// ("expected no violation, got lost update x9"). `unchecked`: the run was a
// program's that told nothing of its sales, and nothing else was found, so
// nothing was checked; only expect.violations = "unchecked" accepts that.
std::string ExpectationMiss(const Scenario& scenario, const Verdict& verdict,
                            bool unchecked = false);

// The largest seed `--seed` takes; trial seeds wrap past it to 0.
inline constexpr uint64_t kMaxSeed = INT64_MAX;

// The seed of trial `index` (from 0) of a scenario seeded `seed`.
inline uint64_t TrialSeed(uint64_t seed, int64_t index) {
  return (seed + static_cast<uint64_t>(index)) & kMaxSeed;
}

struct TrialResult {
  uint64_t seed = 0;
  bool ran = false;  // false: the run could not be made (run_error)
  std::string run_error;
  // The run could not follow its input (a --steps list naming a buyer that
  // cannot move): a usage error, not a failed run.
  bool bad_input = false;
  bool timed_out = false;
  bool attach_failed = false;
  bool interrupted = false;
  int interrupt_signal = 0;
  double seconds = 0;
  double start_up_ms = 0;  // to the start barrier (RunResult::start_up_ms)
  int64_t attempts = 0;
  int64_t sold = 0;
  std::optional<int64_t> remaining;
  std::vector<ViolationCount> violations;
  // A program's run that told nothing of its sales, with no violation
  // found otherwise: nothing was checked (ProgramSalesUnknown).
  bool unchecked = false;
  std::vector<ViolationCount> findings;  // not violations: starvation
  std::string miss;                      // ExpectationMiss, "" when met
  nlohmann::json report;  // the run's JSON report, when asked for

  bool violated() const { return !violations.empty(); }
  // The run itself failed: its verdict cannot be trusted either way.
  bool failed() const { return !ran || timed_out || attach_failed; }
};

// What a trial's run did and its verdict say, in the trial's figures (its
// seed and report aside).
void BookVerdict(const Scenario& scenario, const RunResult& run,
                 const Verdict& verdict, TrialResult* trial);

struct ScenarioResult {
  LoadedScenario loaded;
  std::vector<TrialResult> trials;
  // An interrupt taken after a trial's run, which stopped the rest.
  int stopped_by_signal = 0;

  int64_t with_violations() const;
  // Every kind of violation or finding any trial showed, in the order first
  // seen, each with the number of trials that showed it.
  std::vector<ViolationCount> kinds_in_trials() const;
  bool run_failed() const;
  // A trial's run could not follow its input (TrialResult::bad_input).
  bool bad_input() const;
  bool interrupted() const;
  // A trial was unchecked, and the scenario does not accept that.
  bool unchecked() const;
  // The interrupt that stopped it, or 0.
  int interrupt_signal() const;
  // Every trial ran and met the expectation.
  bool passed() const;
  // For a failure message: the first trial that missed, or the run error.
  std::string FirstProblem() const;
  double seconds() const;
};

// "lost update in 5, torn read in 2": kinds_in_trials() as the reports
// list it; "" when no trial showed a violation.
std::string ListKindsInTrials(const ScenarioResult& result);

struct SuiteHooks {
  // Makes TrialResult::report of each trial, if given (the JSON report).
  std::function<nlohmann::json(const RunResult&, const Verdict&)> trial_report;
  // Called after each trial with the whole run, for the text report.
  std::function<void(const ScenarioResult&, const RunResult&, const Verdict&)>
      on_trial;
  // Called about ten times a second during a trial: trial index, attempts
  // finished in this trial.
  std::function<void(const ScenarioResult&, size_t, int64_t)> on_progress;
};

// Runs every trial of `loaded` (scenario.trials of them), stopping early if
// one is interrupted, or an interrupt comes after a run's end and before its
// trial is checked (see DeferInterrupts).
ScenarioResult RunTrials(const LoadedScenario& loaded, const SuiteHooks& hooks);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_RUN_TRIALS_H_
