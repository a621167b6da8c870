// What of a run the timeline shows: the marks that witness a violation
// (and the buyers they concern), and, in a large run, a sample of its lanes
// over a window of time.
#ifndef TICKETSIM_SIM_TIMELINE_TIMELINE_SAMPLE_H_
#define TICKETSIM_SIM_TIMELINE_TIMELINE_SAMPLE_H_

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "sim/check/checker.h"
#include "sim/history/history.h"
#include "sim/result/run_result.h"

namespace ticketsim {

// A large run's page shows a sample: at most kMaxLanes lanes, over a window
// of at most kMaxPurchases purchases.
inline constexpr size_t kMaxLanes = 40;
inline constexpr size_t kMaxPurchases = 3000;

inline constexpr size_t kWitnessSeats = 5;

// The colours that tell one witness from another: a family of its own that
// no other mark uses.
inline constexpr const char* kWitnessColors[] = {
    "#e377c2", "#ad1457", "#f06292", "#880e4f", "#ff80ab"};

// The marks that witness a violation, and the buyers they concern.
struct Witnesses {
  std::map<int64_t, size_t> seat_group;  // seat sold twice -> colour
  // Torn reads: the reader's (buyer, time) and the writer's (buyer,
  // truncation time) -> the witness's colour, and the pairs to connect.
  std::map<std::pair<uint32_t, int64_t>, size_t> torn_reader;
  std::map<std::pair<uint32_t, int64_t>, size_t> torn_writer;
  struct Link {
    uint32_t reader;
    int64_t read_ns;
    uint32_t writer;
    int64_t from_ns;
    int64_t to_ns;  // -1: never written
    size_t color;
  };
  std::vector<Link> links;
  // A program's holds of a lock that overlapped another buyer's: (buyer,
  // time it took the lock).
  std::set<std::pair<uint32_t, int64_t>> overlap_holds;
  std::set<uint32_t> buyers;  // first into a sample
  int64_t first_ns = -1;
};

Witnesses FindWitnesses(const RunResult& run, const Verdict& verdict);

// What of a run the page shows: which lanes, over which window of time.
struct Sample {
  std::vector<uint32_t> lanes;
  int64_t from_ns = 0;
  int64_t to_ns = 1;
  int64_t total_attempts = 0;
  int64_t shown_attempts = 0;
  bool all_lanes = true;
  bool all_time = true;
};

Sample ChooseSample(const RunResult& run, const Witnesses& witnesses);

// The time the run ended: when ticketsim ended it, else its last reap (or
// its last event, whichever is later).
int64_t RunEndNs(const RunResult& run);

// The events of buyer `b` that fall in the sample's window.
std::span<const Event> EventsInWindow(const RunResult& run, uint32_t b,
                                      const Sample& s);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_TIMELINE_TIMELINE_SAMPLE_H_
