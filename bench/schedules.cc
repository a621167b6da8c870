#include "bench/schedules.h"

#include <fmt/format.h>

#include <algorithm>

#include "bench/rounds.h"
#include "sim/run/trials.h"
#include "sim/scenario/scenario_file.h"

namespace ticketsim {

std::vector<LibraryRace> LibraryRaces() {
  return {
      {"01-rush-unguarded.toml", {}, "the rush: 10 buyers, 1 ticket"},
      {"01-rush-unguarded.toml", {"buyers.count=2"}, "the rush with 2 buyers"},
      {"03-torn-read.toml",
       {"buyers.attempts=20"},
       "a query in a truncating write (torn read)"},
      {"06-shm-counter-unguarded.toml", {}, "shm counter, 8 buyers"},
      {"06-shm-counter-unguarded.toml",
       {"buyers.count=2", "buyers.attempts=1", "buyers.think_ms=0",
        "tickets.initial=1"},
       "shm counter, 2 buyers x 1 attempt, no think time"},
      {"08-sqlite-autocommit.toml",
       {"buyers.attempts=1"},
       "SQLite autocommit lost update"},
      {"13-semaphore-3-permits.toml", {}, "a semaphore of 3 permits"},
      {"15-deadlock.toml", {}, "two locks in opposite orders"},
  };
}

ScheduleFinds MeasureSchedule(const std::string& library,
                              const LibraryRace& race, ScheduleKind schedule,
                              int64_t trials) {
  ScheduleFinds finds;
  std::vector<Override> overrides;
  for (const std::string& setting : race.settings) {
    overrides.push_back({setting, "--set " + setting});
  }
  for (const std::string& setting :
       {fmt::format("run.schedule={}", WordOf(kScheduleKinds, schedule)),
        fmt::format("run.trials={}", trials), std::string("buyers.seed=1")}) {
    overrides.push_back({setting, "--set " + setting});
  }
  LoadedScenario loaded;
  if (Status s = LoadScenario(library + "/" + race.file, overrides, &loaded);
      !s.ok()) {
    finds.failed = s.message();
    return finds;
  }
  const double start = Now();
  const ScenarioResult result = RunTrials(loaded, SuiteHooks{});
  finds.seconds = Now() - start;
  finds.trials = static_cast<int64_t>(result.trials.size());
  finds.found = std::count_if(result.trials.begin(), result.trials.end(),
                              [](const TrialResult& t) {
                                return t.ran && !t.failed() && t.miss.empty();
                              });
  if (result.run_failed() || result.interrupted()) {
    finds.failed = result.FirstProblem();
  }
  return finds;
}

}  // namespace ticketsim
