// The progress line of a command that runs trials (run, compare): which
// scenario, which trial of how many, how many purchases of how many; on a
// line of its own, where stderr is no terminal, for a trial that takes
// long (progress.h).
#ifndef TICKETSIM_SIM_CLI_TRIAL_PROGRESS_H_
#define TICKETSIM_SIM_CLI_TRIAL_PROGRESS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "sim/cli/progress.h"
#include "sim/cli/text_stream.h"
#include "sim/run/trials.h"

namespace ticketsim {

class TrialProgress {
 public:
  // The word a line starts with, that of its row (compare's rows are one
  // scenario under several guards, or several modes); none if empty.
  using RowWord = std::function<std::string(const Scenario&)>;
  explicit TrialProgress(RowWord row_word = {})
      : row_word_(std::move(row_word)) {}

  // The hooks of a command that runs trials under this line: each trial's
  // JSON report if `json`; on_progress shows the line; on_trial lets the
  // next trial say whether it is long, then calls `then` (if given).
  using OnTrial = std::function<void(const ScenarioResult&, const RunResult&,
                                     const Verdict&)>;
  SuiteHooks Hooks(bool json, OnTrial then = {});

  // SuiteHooks::on_progress: trial `trial` (from 0) of `result`, with
  // `done` purchases finished.
  void Update(const ScenarioResult& result, size_t trial, int64_t done);
  // A trial ended: the next one says again whether it takes long.
  void TrialEnded() { told_ = false; }
  // Removes the line, so that a report can be printed.
  void Clear();

 private:
  const RowWord row_word_;
  ProgressLine line_{stderr};
  TextStream out_{stderr};
  bool told_ = false;  // this trial's least time, where it is long
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_TRIAL_PROGRESS_H_
