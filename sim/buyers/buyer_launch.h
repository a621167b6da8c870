// BuyerLaunch: how a run's buyers are started and watched until every one
// has ended. Three ways: ticketsim's own buyer processes (sim/run/
// own_buyers.h), a user's program (sim/program/program_run.h), agents on
// other hosts (sim/hosts/host_run.h). RunScenario asks one of them to run
// the buyers, then reads the final count under one rule: when the way says
// the store holds one, and whatever way it was.
#ifndef TICKETSIM_SIM_BUYERS_BUYER_LAUNCH_H_
#define TICKETSIM_SIM_BUYERS_BUYER_LAUNCH_H_

#include <string>

#include "base/status.h"
#include "sim/result/run_result.h"

namespace ticketsim {

class BuyerLaunch {
 public:
  BuyerLaunch() = default;
  BuyerLaunch(const BuyerLaunch&) = delete;
  BuyerLaunch& operator=(const BuyerLaunch&) = delete;
  virtual ~BuyerLaunch() = default;

  // Starts the buyers, watches them until every one has ended (none is
  // left behind, whatever happens), and books what they did in `result`.
  // Returns not-ok when the buyers could not be run, or the system failed
  // them (Status::Code::kEnvironment).
  virtual Status Run(RunResult* result) = 0;

  // Whether the store holds a final count worth reading after Run returned
  // `ran`: the buyers ran, and ended as a count can be judged.
  virtual bool LeftACount(const Status& ran) const = 0;

  // The run's status once the final count has been read (or not): `ran`,
  // or the system's failure to let the parent read it (`read_failure`,
  // "" if none) when the buyers' run was otherwise ok.
  virtual Status Finish(const Status& ran, const std::string& read_failure,
                        RunResult* /*result*/) {
    if (ran.ok() && !read_failure.empty()) {
      return Status::Environment(read_failure);
    }
    return ran;
  }
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_BUYERS_BUYER_LAUNCH_H_
