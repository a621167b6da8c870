// Hints: what a report adds under a verdict when the cause, and its fix,
// follow from the scenario alone, or from how a program ran.
#ifndef TICKETSIM_SIM_REPORT_VERDICT_HINTS_H_
#define TICKETSIM_SIM_REPORT_VERDICT_HINTS_H_

#include <fmt/format.h>

#include <string>

#include "sim/check/checker.h"
#include "sim/result/run_result.h"
#include "sim/scenario/scenario.h"

namespace ticketsim {

// A guarded run whose file store truncates before it writes, and whose guard
// covers only the purchase, leaves the query unguarded: a query that lands
// between a writer's truncate and its write finds the file empty. Returns
// why, and the two fixes, when `verdict` shows such a torn read; "" else.
// (Unguarded, or with several holders at once, torn reads need no hint: the
// guard was never meant to stop them.)
inline std::string TornReadHint(const Scenario& scenario,
                                const Verdict& verdict) {
  const bool one_holder = scenario.guard.kind != GuardKind::kNone &&
                          (scenario.guard.kind != GuardKind::kNamedSemaphore ||
                           scenario.guard.permits <= 1);
  if (verdict.CountOf(ViolationKind::kTornRead) == 0 || !one_holder ||
      scenario.store.kind != StoreKind::kFile ||
      scenario.store.write != FileWrite::kTruncate ||
      scenario.guard.scope != Scope::kBuy) {
    return "";
  }
  return "the query is unguarded (guard.scope = \"buy\") and can land "
         "between a writer's truncate and its write. Fix: --scope "
         "query-and-buy (guard.scope = \"query-and-buy\") or --write replace "
         "(store.write = \"replace\").";
}

// A program run in buyer mode whose copies ran processes of their own side
// by side (two or more forks of the program alive at once, as
// multiprocessing makes; a shell's `$(...)` runs one at a time): each copy is
// checked as one buyer, so purchases its processes made count as that buyer's,
// and the checks that follow one buyer (one purchase open at a time) do not
// hold. Returns what they did and the fix, or "" if no copy did.
inline std::string ProgramHint(const RunResult& run) {
  if (run.program == nullptr ||
      run.scenario.program.mode != ProgramMode::kBuyer) {
    return "";
  }
  int64_t copies = 0, processes = 0;
  for (const ProgramLane& lane : run.program->lanes) {
    if (lane.most_at_once < 2) continue;
    ++copies;
    processes += lane.own_processes;
  }
  if (copies == 0) return "";
  return fmt::format(
      "{} of the {} copies ran processes of their own side by side, forks "
      "of the program ({} in all). Each copy is checked as one buyer, so "
      "what its processes bought counts as that buyer's, and purchases "
      "they make at the same time look like its own lost updates. If the "
      "program starts its buyers itself, run it once: --program-mode whole "
      "(program.mode = \"whole\").",
      copies, run.program->lanes.size(), processes);
}

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_REPORT_VERDICT_HINTS_H_
