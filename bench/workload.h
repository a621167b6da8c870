// A bench run's workload, every key of it spelled out, and ticketsim's side
// of a pair: the same workload run in this process (RunScenario) or by the
// ticketsim binary. No bench run may inherit a default: the command line's
// own is the classroom rush (10 buyers thinking 20-50 ms), which turns a
// benchmark of thousands of purchases into minutes of sleep.
#ifndef TICKETSIM_BENCH_WORKLOAD_H_
#define TICKETSIM_BENCH_WORKLOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "bench/rounds.h"
#include "sim/scenario/scenario.h"

namespace ticketsim {

struct Workload {
  StoreKind store = StoreKind::kShm;
  FileWrite write = FileWrite::kTruncate;  // file store only
  GuardKind guard = GuardKind::kNone;
  Method method = Method::kReadModifyWrite;
  BuyerMode mode = BuyerMode::kProcess;
  int64_t buyers = 2;
  int64_t attempts = 1;  // per buyer
  int64_t tickets = 1;
  HistoryMode history = HistoryMode::kSummary;
  ScheduleKind schedule = ScheduleKind::kOs;
  // Any other "key=value" (a seed, a PCT depth), after the rest.
  std::vector<std::string> more;
};

// "key=value" for every key the workload sets: store, guard (scope buy, a
// 30 s timeout), method, buyers (what they run as, how many), attempts,
// tickets, no think time and no query delay, history, schedule; then `more`.
std::vector<std::string> Settings(const Workload& w);

// The scenario of `w`, made of Settings(w); exits on a setting refused.
Scenario ScenarioOf(const Workload& w);

// `ticketsim run` with every setting of `w` as a --set.
std::vector<std::string> CommandLineOf(const std::string& binary,
                                       const Workload& w);

// One run of `s` in this process, checked: every purchase was made, and
// unless `race` (an unguarded read-modify-write, whose lost updates are the
// lesson, not the benchmark's business) none was lost. Exits if not.
Round TicketsimRound(const Scenario& s, bool race = false);

// Says what the workload is, for a section's heading: "2 buyers x 1000
// attempts".
std::string Describe(const Workload& w);

}  // namespace ticketsim

#endif  // TICKETSIM_BENCH_WORKLOAD_H_
