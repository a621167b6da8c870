// RunPlan: what one run of a validated scenario needs, computed once from
// it and handed down as a value (process count, arena sizes, time limits,
// the seat map), so that no step of the run asks the scenario piecemeal.
#ifndef TICKETSIM_SIM_SCENARIO_RUN_PLAN_H_
#define TICKETSIM_SIM_SCENARIO_RUN_PLAN_H_

#include <cstddef>
#include <cstdint>

#include "sim/scenario/scenario.h"

namespace ticketsim {

struct RunPlan {
  uint32_t buyers = 0;  // buyers.count
  // ProcessCount: the pool's workers, or one each. With `threads`, they
  // are threads of the one buyer process ticketsim forks, each with the
  // index a process would have.
  uint32_t processes = 0;
  bool threads = false;
  size_t events = 1;  // EventCount: the stores and guards made
  // The history: "summary" keeps tallies and seat maps, no events.
  bool summary = false;
  size_t events_per_buyer = 0;  // the arena's room per buyer (0: summary)
  uint64_t seat_map_seats = 0;  // SeatMapSeats, for the tally arena
  uint64_t history_bytes = 0;   // HistoryBytes
  int64_t timeout_ns = 0;       // RunTimeoutMs: the run's, or one step's
  int64_t pause_ns = 0;         // faults.pause_holder_ms
  bool controlled = false;      // a controlled schedule steps the buyers
  // A throwaway PostgreSQL server's connections: one per buyer process and
  // event, and a few for the parent.
  int server_connections = 0;
};

// REQUIRES: ValidateScenario(scenario) is ok.
RunPlan PlanRun(const Scenario& scenario);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_SCENARIO_RUN_PLAN_H_
