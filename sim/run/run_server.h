// A run's PostgreSQL server, as the parent sees it: reaching it (the
// scenario's, or a throwaway one this process starts), what the parent's
// waits on it give up for, and a throwaway server that ended during the
// run, which fails it.
#ifndef TICKETSIM_SIM_RUN_RUN_SERVER_H_
#define TICKETSIM_SIM_RUN_RUN_SERVER_H_

#include <cstdint>
#include <string>

#include "base/status.h"
#include "sim/buyers/buyer.h"
#include "sim/result/run_result.h"
#include "sim/scenario/run_plan.h"
#include "sim/scenario/scenario.h"
#include "storage/ticket_store.h"

namespace ticketsim {

// A postgres store's server: the scenario's (store.url), or the throwaway
// server this process starts for it (with the plan's connections) and keeps
// for the runs that follow. Sets store->conninfo, and *remote to how buyers
// on other hosts reach it.
Status ReachServer(const RunPlan& plan, StoreSpec* store, RunResult* result,
                   std::string* remote);

// What the parent's waits on a PostgreSQL server (its start, the table,
// the final read) give up for: an interrupt, once a short grace has let
// the run drop its table; a throwaway server that has ended or is
// stopped. `*interrupted_at`: when the interrupt was first seen (0: not
// yet).
Status ServerWaitCheck(const Scenario& scenario, RunResult* result,
                       int64_t* interrupted_at);

// What happened to the run's throwaway server ("" if nothing, or if the
// run has none): it ended or was stopped during the run.
std::string ServerTrouble(const Scenario& scenario);

// A throwaway server that ended or was stopped during the run fails it:
// what the buyers do then proves nothing.
void CheckServer(const Scenario& scenario, RunControl* control);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_RUN_RUN_SERVER_H_
