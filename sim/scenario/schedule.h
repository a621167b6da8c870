// Schedule: who decides the interleaving, and the steps a controlled one is
// made of.
//
// Under `os` the kernel interleaves the buyers. Under a controlled schedule
// (`seeded`, `pct`, `step`, or a list of steps given with --steps or
// --replay) every buyer stops before each step of its purchase and the
// scheduler (sim/schedule/scheduler.h) lets exactly one buyer take exactly one
// real step at a time, so that the same seed, or the same list, replays the
// same interleaving on the real store.
#ifndef TICKETSIM_SIM_SCENARIO_SCHEDULE_H_
#define TICKETSIM_SIM_SCENARIO_SCHEDULE_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/enum_table.h"

namespace ticketsim {

enum class ScheduleKind {
  kOs,      // the kernel decides (think times force the classroom races)
  kSeeded,  // a uniform choice among the buyers that can move, from the random
            // seed
  kPct,     // probabilistic concurrency testing (Burckhardt et al., 2010)
  kStep,    // a person chooses each step (`ticketsim step`)
};
extern const std::span<const EnumWord<ScheduleKind>> kScheduleKinds;

struct ScheduleSpec {
  ScheduleKind kind = ScheduleKind::kOs;
  int64_t pct_depth = 2;  // pct: the depth of the bug it hunts (d)
  // The buyers that take the first steps, in order (--steps, --replay);
  // after the list the run goes on under `kind` (seeded when that is os).
  std::vector<uint32_t> steps;

  bool controlled() const {
    return kind != ScheduleKind::kOs || !steps.empty();
  }
};

inline constexpr int64_t kMaxPctDepth = 16;
inline constexpr size_t kMaxListedSteps = 10000000;
// The most buyers a controlled schedule steps: before each step it looks
// at every buyer.
inline constexpr int64_t kMaxControlledBuyers = 1000;

// The step a controlled buyer is about to take.
enum class StepKind : uint8_t {
  kNone = 0,
  kQuery,     // read the count outside the purchase (the tutorial's search())
  kAcquire,   // try to take a guard
  kRead,      // read the count inside the purchase
  kThink,     // the race window: where faults strike
  kWrite,     // write count - 1 (file store, truncate: truncate the file)
  kWriteEnd,  // file store: the second half of a write (write the text, or
              // rename the temporary over the file)
  kRelease,   // give a guard back
  kTake,      // method atomic: the store's own step
  kBackoff,   // try-backoff: wait before starting again
};
extern const std::span<const EnumWord<StepKind>> kStepKinds;

// What became of one step.
enum class StepOutcome : uint8_t {
  kMoved,    // it ran and the buyer stopped before its next step, or ended
  kBlocked,  // a try found the guard taken: the buyer waits for its release
  kPaused,   // the buyer stopped itself (fault pause_holder)
  kDied,     // the buyer died during it
};

// One step of a controlled run, as the scheduler let it happen.
struct ScheduledStep {
  uint32_t buyer = 0;
  StepKind kind = StepKind::kNone;
  StepOutcome outcome = StepOutcome::kMoved;
  uint16_t event = 0;  // whose store or guard (Scenario::events); 0 if one
  // The buyer's history events this step recorded: [first_event,
  // first_event + events) of its slice.
  uint32_t first_event = 0;
  uint32_t events = 0;
};

// What the run's controlled schedule did (empty under os).
struct ScheduleLog {
  ScheduleKind kind = ScheduleKind::kOs;
  std::vector<ScheduledStep> steps;
  // pct: its depth d, the step estimate k and the bound 1 / (n k^(d-1)).
  int64_t pct_depth = 0;
  int64_t pct_steps = 0;
  double pct_bound = 0;
  // The list of buyers, one per step: what --steps takes to replay it.
  std::vector<uint32_t> Buyers() const;
  // "0,1,1,0": the --steps list.
  std::string StepsList() const;
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_SCENARIO_SCHEDULE_H_
