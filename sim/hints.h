// Hints: what a report adds under a verdict when the cause, and its fix,
// follow from the scenario alone.
#ifndef TICKETSIM_SIM_HINTS_H_
#define TICKETSIM_SIM_HINTS_H_

#include <string>

#include "sim/checker.h"
#include "sim/scenario.h"

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

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_HINTS_H_
