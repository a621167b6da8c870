// Which schedule finds which race: the library's races run under `os`,
// `seeded` and `pct`, trial after trial, counting the trials that showed
// what the scenario expects. For the "schedules" section of `make bench`,
// and the guidance the README and `run --help` give.
#ifndef TICKETSIM_BENCH_SCHEDULES_H_
#define TICKETSIM_BENCH_SCHEDULES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "sim/scenario/schedule.h"

namespace ticketsim {

// One race of the library, as a user runs it: a scenario file and the
// settings put over it ("buyers.count=2").
struct LibraryRace {
  std::string file;  // "06-shm-counter-unguarded.toml"
  std::vector<std::string> settings;
  std::string what;  // the race, in a few words, for the table
};

// The races measured: library scenarios that expect a violation and run
// ticketsim's own buyers on a store of this machine (no program, no server,
// no hosts, no faults), as written, and the tight variants a user tries
// (2 buyers, no think time). Few enough that `make bench` stays short.
std::vector<LibraryRace> LibraryRaces();

// How one schedule did on one race.
struct ScheduleFinds {
  int64_t trials = 0;
  int64_t found = 0;   // trials that showed every kind the scenario expects
  double seconds = 0;  // all trials, from the first start to the last verdict
  std::string failed;  // a run that failed, or a setting refused; "" if none
};

// Runs `race` (its file in `library`) `trials` times under `schedule`,
// seeds 1 to `trials`.
ScheduleFinds MeasureSchedule(const std::string& library,
                              const LibraryRace& race, ScheduleKind schedule,
                              int64_t trials);

}  // namespace ticketsim

#endif  // TICKETSIM_BENCH_SCHEDULES_H_
