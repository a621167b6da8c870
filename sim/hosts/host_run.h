// Host runs: a run whose buyers are on several hosts (buyers.hosts), as
// the parent conducts it (docs/hosts.md; the words are
// sim/hosts/host_protocol.h, the other side sim/hosts/host_agent.h).
//
// The parent starts one `ticketsim buyer` agent per host through the
// launcher, each in a process group of its own and dying with the parent,
// writes each its share, measures each host's clock against its own (the
// best of several round trips over the pipes), and once every agent's
// buyers wait at their barriers, sends go to all. Each event an agent
// streams back is put, on the parent's clock, into the parent's history in
// its buyer's slice, so every report reads it as a run on one host. The run
// ends when every agent has said done; at its time limit, on an interrupt,
// or when a holder dies with a guard nothing releases, the parent tells
// every agent to stop; an agent that fails fails the run. It is the
// subreaper of everything the launchers start, and kills and reaps all of
// it at the end. faults.partition_host cuts a host's link to the store's
// server through that host's launcher, and always restores it.
#ifndef TICKETSIM_SIM_HOSTS_HOST_RUN_H_
#define TICKETSIM_SIM_HOSTS_HOST_RUN_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/run_signals.h"
#include "base/status.h"
#include "sim/buyers/buyer_launch.h"
#include "sim/check/checker.h"
#include "sim/result/run_result.h"
#include "sim/scenario/scenario.h"
#include "storage/run_names.h"

namespace ticketsim {

// Runs `scenario`'s buyers on its hosts against the store the parent
// created (named `store_names`, reached with `conninfo`), and fills
// `result`'s history, processes and hosts. Returns Environment, naming
// the host and quoting its agent's last stderr lines, when an agent could
// not be started or failed, or the partition could not be made; the caller
// reads the final count and removes the run's objects.
// REQUIRES: scenario.buyers.hosts is not empty, ValidateScenario is ok.
Status RunOnHosts(const Scenario& scenario, const RunNames& store_names,
                  const std::string& conninfo, const RunSignals& signals,
                  const ProgressFn& progress, RunResult* result);

// A run's buyers on `scenario`'s hosts (RunOnHosts). The store holds a
// count to read only when every agent ran to its end.
class HostBuyers : public BuyerLaunch {
 public:
  HostBuyers(const Scenario& scenario, const RunNames& store_names,
             const std::string& conninfo, const RunSignals& signals,
             const ProgressFn& progress)
      : scenario_(scenario),
        store_names_(store_names),
        conninfo_(conninfo),
        signals_(signals),
        progress_(progress) {}
  Status Run(RunResult* result) override {
    return RunOnHosts(scenario_, store_names_, conninfo_, signals_, progress_,
                      result);
  }
  bool LeftACount(const Status& ran) const override { return ran.ok(); }

 private:
  const Scenario& scenario_;
  const RunNames& store_names_;
  const std::string& conninfo_;
  const RunSignals& signals_;
  const ProgressFn& progress_;
};

// The host of each buyer (buyer i on hosts[i % hosts]).
std::vector<std::vector<uint32_t>> BuyersOfHosts(const Scenario& scenario);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_HOSTS_HOST_RUN_H_
