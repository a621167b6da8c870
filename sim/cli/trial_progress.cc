#include "sim/cli/trial_progress.h"

#include <fmt/format.h>

#include <string>
#include <utility>

#include "base/escape.h"
#include "sim/report/report_json.h"
#include "sim/scenario/scenario.h"

namespace ticketsim {
namespace {

std::string ProgressText(const ScenarioResult& r, size_t trial, int64_t done) {
  const Scenario& s = r.loaded.scenario;
  return fmt::format("{}: trial {}/{}, {}/{} purchases", Visible(s.name),
                     trial + 1, s.trials, done,
                     s.buyers.count * s.buyers.attempts);
}

}  // namespace

void TrialProgress::Update(const ScenarioResult& result, size_t trial,
                           int64_t done) {
  out_([&] {
    if (!std::exchange(told_, true)) {
      line_.Expect(LeastTimeOf(result.loaded.scenario));
    }
    const std::string text = ProgressText(result, trial, done);
    line_.Update(
        row_word_
            ? fmt::format("{}: {}", row_word_(result.loaded.scenario), text)
            : text);
  });
}

SuiteHooks TrialProgress::Hooks(bool json, OnTrial then) {
  SuiteHooks hooks;
  if (json) hooks.trial_report = JsonReport;
  hooks.on_progress = [this](const ScenarioResult& r, size_t trial,
                             int64_t done) { Update(r, trial, done); };
  hooks.on_trial = [this, then = std::move(then)](const ScenarioResult& r,
                                                  const RunResult& run,
                                                  const Verdict& verdict) {
    TrialEnded();
    if (then) then(r, run, verdict);
  };
  return hooks;
}

void TrialProgress::Clear() {
  out_([&] { line_.Clear(); });
}

}  // namespace ticketsim
