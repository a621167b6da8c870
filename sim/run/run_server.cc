#include "sim/run/run_server.h"

#include <signal.h>

#include "base/clock.h"
#include "base/interrupt.h"
#include "base/run_signals.h"
#include "storage/pg_server.h"

namespace ticketsim {
namespace {

bool UsesThrowawayServer(const Scenario& scenario) {
  return scenario.store.kind == StoreKind::kPostgres &&
         scenario.store.url.empty();
}

// The interrupt waiting to be taken, if any; left waiting, for the wait
// that takes the run's signals.
int PendingInterrupt() {
  sigset_t pending;
  if (sigpending(&pending) != 0) return 0;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sigismember(&pending, sig) == 1 && IsInterrupt(sig)) return sig;
  }
  return 0;
}

}  // namespace

Status ReachServer(const RunPlan& plan, StoreSpec* store, RunResult* result,
                   std::string* remote) {
  if (store->kind != StoreKind::kPostgres) return Status::Ok();
  if (!store->url.empty()) {
    store->conninfo = store->url;
    *remote = store->url;
    return Status::Ok();
  }
  PgServerOptions options;
  options.bin_dir = store->postgres_bin;
  options.listen = store->listen;
  options.connections = plan.server_connections;
  double start_up_ms = 0;
  Status s =
      UseThrowawayServer(options, &store->conninfo, &start_up_ms, remote);
  if (s.ok()) result->server_start_up_ms = start_up_ms;
  return s;
}

Status ServerWaitCheck(const Scenario& scenario, RunResult* result,
                       int64_t* interrupted_at) {
  constexpr int64_t kInterruptGraceNs = 500000000;
  if (const int sig = PendingInterrupt(); sig != 0 && !result->interrupted) {
    result->interrupted = true;
    result->interrupt_signal = sig;
  }
  if (result->interrupted) {
    const int64_t now = MonotonicNs();
    if (*interrupted_at == 0) *interrupted_at = now;
    if (now - *interrupted_at > kInterruptGraceNs) {
      return Status::Environment("interrupted by " +
                                 SignalName(result->interrupt_signal));
    }
  }
  if (UsesThrowawayServer(scenario)) {
    if (std::string trouble = ThrowawayServerTrouble(); !trouble.empty()) {
      return Status::Environment(trouble);
    }
  }
  return Status::Ok();
}

std::string ServerTrouble(const Scenario& scenario) {
  const std::string trouble =
      UsesThrowawayServer(scenario) ? ThrowawayServerTrouble() : "";
  return trouble.empty() ? "" : trouble + " during the run";
}

void CheckServer(const Scenario& scenario, RunControl* control) {
  if (std::string trouble = ServerTrouble(scenario); !trouble.empty()) {
    control->failure.Set(trouble);
  }
}

}  // namespace ticketsim
