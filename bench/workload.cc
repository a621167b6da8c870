#include "bench/workload.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "sim/check/checker.h"
#include "sim/run/run.h"
#include "sim/scenario/schedule.h"

namespace ticketsim {

std::vector<std::string> Settings(const Workload& w) {
  std::vector<std::string> settings = {
      fmt::format("store.kind={}", WordOf(kStoreKinds, w.store)),
      fmt::format("guard.kind={}", WordOf(kGuardKinds, w.guard)),
      "guard.scope=buy",
      "guard.timeout_ms=30000",
      fmt::format("buyers.method={}", WordOf(kMethods, w.method)),
      fmt::format("buyers.mode={}", WordOf(kBuyerModes, w.mode)),
      fmt::format("buyers.count={}", w.buyers),
      fmt::format("buyers.attempts={}", w.attempts),
      fmt::format("tickets.initial={}", w.tickets),
      "buyers.think_ms=[0, 0]",
      "buyers.query_delay_ms=[0, 0]",
      fmt::format("history={}", WordOf(kHistoryModes, w.history)),
      fmt::format("run.schedule={}", WordOf(kScheduleKinds, w.schedule)),
  };
  if (w.store == StoreKind::kFile) {
    settings.push_back(
        fmt::format("store.write={}", WordOf(kFileWrites, w.write)));
  }
  if (w.store == StoreKind::kSqlite) {
    settings.push_back("store.busy_timeout_ms=30000");
  }
  settings.insert(settings.end(), w.more.begin(), w.more.end());
  return settings;
}

Scenario ScenarioOf(const Workload& w) {
  Scenario s;
  s.name = "bench";
  for (const std::string& setting : Settings(w)) {
    if (Status st = ApplySetting(&s, setting); !st.ok()) {
      fmt::print(stderr, "bench: {}\n", st.message());
      std::exit(1);
    }
  }
  return s;
}

std::vector<std::string> CommandLineOf(const std::string& binary,
                                       const Workload& w) {
  std::vector<std::string> argv = {binary, "run"};
  for (const std::string& setting : Settings(w)) {
    argv.push_back("--set");
    argv.push_back(setting);
  }
  return argv;
}

Round TicketsimRound(const Scenario& s, bool race) {
  const double cpu_before = ChildCpuSeconds();
  RunResult result;
  const Status st = RunScenario(s, &result);
  const double cpu_seconds = ChildCpuSeconds() - cpu_before;
  const Verdict v = CheckRun(result);
  const int64_t wanted =
      std::min(s.buyers.count * s.buyers.attempts, s.initial);
  if (!st.ok() || v.confirmed != wanted ||
      (!race && v.CountOf(ViolationKind::kLostUpdate) > 0)) {
    fmt::print(stderr, "bench run failed: {} {}\n", st.message(),
               ListViolations(v.Counts()));
    std::exit(1);
  }
  const int64_t hand_offs =
      result.tallies != nullptr ? result.tallies->SellerChanges() : 0;
  return {wanted, result.seconds, cpu_seconds, hand_offs};
}

std::string Describe(const Workload& w) {
  return fmt::format("{} buyer{} x {} attempts", w.buyers,
                     w.buyers == 1 ? "" : "s", w.attempts);
}

}  // namespace ticketsim
