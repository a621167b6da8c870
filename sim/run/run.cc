#include "sim/run/run.h"

#include <fmt/format.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/run_signals.h"
#include "sim/buyers/buyer_launch.h"
#include "sim/guards/guard.h"
#include "sim/hosts/host_run.h"
#include "sim/program/program_run.h"
#include "sim/run/own_buyers.h"
#include "sim/run/run_server.h"
#include "sim/scenario/run_plan.h"
#include "storage/make_store.h"
#include "storage/pg_connect.h"
#include "storage/ticket_store.h"

namespace ticketsim {
namespace {

// Removes the run's named objects and directory when it goes out of scope,
// on every path out of RunScenario.
class RunCleanup {
 public:
  explicit RunCleanup(const RunNames& names) : names_(names) {}
  // The events' own names first, then the run's (its directory holds
  // theirs).
  ~RunCleanup() {
    // What a store made outside the run's names (a server's table), each
    // through a store of its own: the run's may be gone by now.
    for (const auto& [spec, names] : stores_) MakeStore(spec, names)->Destroy();
    for (const auto& [names, purposes] : events_) {
      RemoveRunObjects(names, purposes);
    }
    RemoveRunObjects(names_, purposes_);
  }
  void Add(const RunNames& names, const std::vector<std::string>& purposes) {
    if (names.tag == names_.tag) {
      purposes_.insert(purposes_.end(), purposes.begin(), purposes.end());
    } else {
      events_.emplace_back(names, purposes);
    }
  }
  void AddStore(const StoreSpec& spec, const RunNames& names) {
    stores_.emplace_back(spec, names);
  }

 private:
  const RunNames& names_;
  std::vector<std::pair<StoreSpec, RunNames>> stores_;
  std::vector<std::string> purposes_;
  std::vector<std::pair<RunNames, std::vector<std::string>>> events_;
};

// The names of event `event`'s store and guard: the run's own for the first
// event, and for each further one a tag of its own and a directory inside
// the run's (so the run's cleanup and `ticketsim clean` find them).
Status EventNames(const RunNames& run, size_t event, RunNames* out) {
  *out = run;
  if (event == 0) return Status::Ok();
  out->tag = fmt::format("{}.e{}", run.tag, event);
  return CreateRunDirectory(run, fmt::format("e{}", event), out);
}

// What the parent makes before any buyer starts.
struct RunObjects {
  StoreSpec store;              // the scenario's, with the parent's conninfo
  std::string remote_conninfo;  // how buyers on other hosts reach it
  // One store and one guard per event.
  std::vector<std::unique_ptr<TicketStore>> stores;
  std::vector<std::unique_ptr<Guard>> guards;
  // How a buyer thread makes its own of them (the events' names).
  ThreadObjectSpecs threads;
};

// Each event's store and guard, named by EventNames and created, each
// handed to `cleanup` before it is created (so that a half-made one goes
// too).
Status CreateEventObjects(const Scenario& scenario, const RunPlan& plan,
                          const RunNames& names, RunCleanup* cleanup,
                          RunObjects* objects) {
  for (size_t e = 0; e < plan.events; ++e) {
    RunNames event_names;
    Status s = EventNames(names, e, &event_names);
    if (!s.ok()) return s;
    objects->threads.names.push_back(event_names);
    objects->stores.push_back(MakeStore(objects->store, event_names));
    TicketStore* store = objects->stores.back().get();
    cleanup->Add(event_names, store->ObjectPurposes());
    cleanup->AddStore(objects->store, event_names);
    s = store->Create(scenario.initial);
    if (!s.ok()) return s;
    objects->guards.push_back(MakeGuard(scenario.guard, event_names, store));
    cleanup->Add(event_names, objects->guards.back()->ObjectPurposes());
    s = objects->guards.back()->Create();
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// The store's server reached, then each event's store and guard created.
Status MakeRunObjects(const Scenario& scenario, const RunPlan& plan,
                      RunCleanup* cleanup, RunObjects* objects,
                      RunResult* result) {
  objects->store = scenario.store;
  Status s =
      ReachServer(plan, &objects->store, result, &objects->remote_conninfo);
  if (!s.ok()) return s;
  objects->threads.store = objects->store;
  objects->threads.guard = scenario.guard;
  return CreateEventObjects(scenario, plan, result->names, cleanup, objects);
}

// Interrupted while it waited on a server: the run ends there, with no
// buyer and an empty history.
Status EndWithoutBuyers(const Scenario& scenario, const RunPlan& plan,
                        const RunSignals& signals, RunResult* result) {
  while (signals.Wait(0) != 0) {
  }
  return MapArenas(scenario, plan, result);
}

// What the buyers are started with: the run's plan and its objects.
BuyerSetup SetUpBuyers(const Scenario& scenario, const RunPlan& plan,
                       const RunObjects& objects, const RunSignals& signals,
                       const ProgressFn& progress, StepChooser* chooser) {
  BuyerSetup setup;
  setup.scenario = &scenario;
  setup.plan = &plan;
  for (size_t e = 0; e < plan.events; ++e) {
    setup.stores.push_back(objects.stores[e].get());
    setup.guards.push_back(objects.guards[e].get());
  }
  setup.signals = &signals;
  setup.progress = &progress;
  setup.chooser = chooser;
  if (plan.threads) setup.threads = &objects.threads;
  return setup;
}

// The one way this run's buyers start: a user's program, agents on the
// scenario's hosts, or ticketsim's own processes.
std::unique_ptr<BuyerLaunch> LaunchFor(const BuyerSetup& setup,
                                       const RunObjects& objects,
                                       const RunNames& names) {
  const Scenario& scenario = *setup.scenario;
  if (scenario.program.set()) {
    return std::make_unique<ProgramBuyers>(scenario, names, *setup.stores[0],
                                           *setup.signals, *setup.progress);
  }
  if (!scenario.buyers.hosts.empty()) {
    return std::make_unique<HostBuyers>(scenario, names,
                                        objects.remote_conninfo, *setup.signals,
                                        *setup.progress);
  }
  return std::make_unique<OwnBuyers>(setup);
}

// Reads each event's final count into `result`, or why it could not be.
void ReadFinalCounts(const std::vector<std::unique_ptr<TicketStore>>& stores,
                     std::string* failure, RunResult* result) {
  for (const std::unique_ptr<TicketStore>& owned : stores) {
    TicketStore* store = owned.get();
    Status s = store->Attach();
    Reading reading;
    if (s.ok()) s = store->Read(&reading);
    store->Detach();
    result->final_counts.push_back(
        s.ok() ? std::optional<int64_t>(reading.count) : std::nullopt);
    result->final_errors.push_back(s.ok() ? "" : s.message());
    // A count the system would not let us read is not a corrupt one.
    if (s.code() == Status::Code::kEnvironment) {
      if (failure->empty())
        *failure = "reading the final count: " + s.message();
    }
  }
  result->final_count = result->final_counts[0];
  result->final_error = result->final_errors[0];
}

}  // namespace

Status RunScenario(const Scenario& scenario, RunResult* result,
                   const ProgressFn& progress, StepChooser* chooser) {
  // First, so that the cleanup below runs before the mask is lifted.
  RunSignals signals;
  // What a run that was killed outright left behind goes now.
  CleanLeftovers(/*all=*/false);
  result->scenario = scenario;
  const RunPlan plan = PlanRun(scenario);
  if (plan.history_bytes > kMaxHistoryBytes) {
    return Status::Invalid("the history would not fit; see ValidateScenario");
  }
  // Held until the run's objects are gone (declared before the cleanup, so
  // let go after it): while it is, no other ticketsim removes them.
  RunLease lease;
  Status s = StartRun(&result->names, &lease);
  if (!s.ok()) return s;
  // Until the cleanup below is done.
  int64_t interrupted_at = 0;
  PgWaitWatch server_waits(
      [&] { return ServerWaitCheck(scenario, result, &interrupted_at); });
  RunCleanup cleanup(result->names);
  RunObjects objects;
  s = MakeRunObjects(scenario, plan, &cleanup, &objects, result);
  if (!s.ok() && result->interrupted) {
    return EndWithoutBuyers(scenario, plan, signals, result);
  }
  if (!s.ok()) return s;
  const BuyerSetup setup =
      SetUpBuyers(scenario, plan, objects, signals, progress, chooser);
  const std::unique_ptr<BuyerLaunch> buyers =
      LaunchFor(setup, objects, result->names);
  const Status ran = buyers->Run(result);
  // The final count, read under one rule whoever the buyers were.
  std::string read_failure;
  if (buyers->LeftACount(ran)) {
    ReadFinalCounts(objects.stores, &read_failure, result);
  }
  return buyers->Finish(ran, read_failure, result);
}

}  // namespace ticketsim
