// Host events: what the parent makes of what its agents say of their buyers
// (docs/hosts.md). Each event and each end a host's agent sends is checked
// against the scenario, against the host that sent it and against what that
// buyer said before (an end comes once, after its events), and only then put
// into the run's history, on the run's clock, and its processes: whatever an
// agent writes, every report reads a history a run on one host could have
// made. Nothing here blocks, reads a clock or touches a descriptor.
#ifndef TICKETSIM_SIM_HOSTS_HOST_EVENTS_H_
#define TICKETSIM_SIM_HOSTS_HOST_EVENTS_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "sim/history/history.h"
#include "sim/hosts/host_protocol.h"
#include "sim/result/run_result.h"
#include "sim/scenario/scenario.h"

namespace ticketsim {

// How far an event may seem to lie outside the run, by the clocks'
// uncertainty; it is then put at the run's start or at the moment it came.
inline constexpr int64_t kClockSlackNs = int64_t{1} * 1000000000;

// The time `agent_time` of a host whose clock is `offset` ahead of the
// parent's, in ns since the run's start at `start` on the parent's clock;
// false when the subtraction cannot hold it (then it is no time at all).
bool OnRunClock(int64_t agent_time, int64_t offset, int64_t start,
                int64_t* run_time);

class HostEvents {
 public:
  // Maps `result`'s history for `scenario`'s buyers and sets up its
  // processes; the scenario must outlive this.
  Status Map(const Scenario& scenario, RunResult* result);

  // An event of one of `buyers` (the sending host's share, increasing) at
  // `run_time` (ns since the start; `now` is the run's time now). Invalid,
  // saying what is wrong, for one no buyer of the run records there: see
  // CheckAgentEvent, and an event after its buyer's end, beyond what its
  // slice holds, or at a time outside the run.
  Status TakeEvent(const Event& event, int64_t run_time, int64_t now,
                   std::span<const uint32_t> buyers);
  // The end of one of `buyers`' processes (kEnd) at `now`: Invalid for one
  // that is not (CheckAgentEnd) or comes a second time. A holder killed
  // with a guard nothing releases is added to the run's abandoned locks.
  Status TakeEnd(const AgentMessage& end, int64_t now,
                 std::span<const uint32_t> buyers);

  // How many of `buyers` have ended.
  size_t Ended(std::span<const uint32_t> buyers) const;
  // The purchases whose outcome has come, for the progress line.
  int64_t attempts_done() const { return attempts_done_; }

 private:
  const Scenario* scenario_ = nullptr;
  RunResult* result_ = nullptr;
  size_t per_buyer_ = 0;
  std::vector<EventWriter> writers_;
  // Per buyer: the events taken, and whether its end has come.
  std::vector<size_t> recorded_;
  std::vector<bool> ended_;
  int64_t attempts_done_ = 0;
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_HOSTS_HOST_EVENTS_H_
