// Checker: turns a history into a verdict, exactly.
//
// The count only goes down, so the books must balance (after Jepsen's counter
// and bank checkers): with `confirmed` purchases whose buyer saw them through
// and `indeterminate` ones whose buyer died midway,
//     confirmed <= initial - final <= confirmed + indeterminate.
// Each violation is counted exactly; a few witnesses (buyers, values, times)
// show how it happened.
#ifndef TICKETSIM_SIM_CHECK_CHECKER_H_
#define TICKETSIM_SIM_CHECK_CHECKER_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/check/violation.h"
#include "sim/history/history.h"
#include "sim/history/tally.h"

namespace ticketsim {

std::string_view ViolationName(ViolationKind kind);  // "lost update"

// A kind of violation and how many.
using ViolationCount = std::pair<ViolationKind, int64_t>;

// "lost update x9, oversell x9": the form every report lists them in.
std::string ListViolations(std::span<const ViolationCount> counts);

// One thing a buyer did that a witness rests on.
struct WitnessStep {
  uint32_t buyer = 0;
  uint32_t attempt = 0;
  // "query", "read", "truncate", "write", "take", "sold out", "failed",
  // "wait", "hold", "died"
  std::string_view what;
  std::optional<int64_t> value;  // the count read or written, the seat taken
  uint64_t time_ns = 0;
};

// How one instance of a violation happened: the sentence the reports print,
// and the same facts as fields, for tools (the JSON report), the timeline
// (to zoom to it) and the narration (to keep its events in).
struct Witness {
  std::string text;
  std::vector<uint32_t> buyers;    // in the order the text names them
  std::vector<int64_t> seats;      // the seats it concerns, if any
  std::vector<WitnessStep> steps;  // in time order
  uint64_t from_ns = 0;            // the time its steps span
  uint64_t to_ns = 0;

  // Adds a step, its buyer (once) and widens the span.
  void Add(WitnessStep step);
  // Adds many steps at once, as Add would one by one (the buyers in the
  // order of `more`), in time n log n rather than Add's n squared.
  void AddAll(std::vector<WitnessStep> more);
};

struct Violation {
  ViolationKind kind;
  int64_t count = 0;  // exact
  std::string summary;
  std::vector<Witness> witnesses;  // at most kMaxWitnesses
  int64_t unwitnessed = 0;         // instances found beyond the witnesses kept
};

inline constexpr size_t kMaxWitnesses = 5;

struct BuyerSummary {
  uint32_t buyer = 0;
  pid_t pid = 0;
  int64_t bought = 0;
  int64_t sold_out = 0;
  int64_t failed = 0;
  int64_t torn_reads = 0;
  int64_t recovered = 0;  // times it took over a dead holder's guard
  int64_t paused = 0;     // times it was stopped inside (pause_holder)
  int64_t backoffs = 0;   // try-backoff: times it gave its guards back
  uint32_t fault = 0;     // the FaultKind that ended it (kill, crash), or 0
  bool killed = false;
  std::vector<int64_t> seats;  // the first few
  int64_t max_wait_us = 0;
};

inline constexpr size_t kSeatsPerBuyerShown = 8;

struct CheckInput {
  int64_t initial = 0;
  std::optional<int64_t> final_count;  // empty: unreadable
  std::string final_error;
  // Per buyer, in buyer order: its events, its pid, whether it was killed.
  std::vector<std::span<const Event>> events;
  std::vector<pid_t> pids;
  std::vector<bool> killed;
  // A program's run: holds of its locks (kAcquired to kRelease, per lock
  // in `event`) may not overlap between buyers, and a purchase begun while
  // another is open leaves that one indeterminate.
  bool program = false;
  // A whole program: one lane, the program itself, not a buyer.
  bool whole_program = false;
  // A program that told nothing of its sales (no events, no sold_pattern):
  // only the final count itself can be checked.
  bool sales_unknown = false;
};
inline constexpr uint16_t kMaxLocksChecked = 8;

struct Verdict {
  int64_t initial = 0;
  std::optional<int64_t> final_count;
  int64_t attempts = 0;       // attempts begun
  int64_t confirmed = 0;      // purchases seen through
  int64_t indeterminate = 0;  // purchases whose buyer died midway
  int64_t sold_out = 0;
  int64_t failed = 0;
  int64_t torn_reads = 0;
  int64_t recovered = 0;
  int64_t paused = 0;
  int64_t backoffs = 0;
  // Transactions the server refused (SQLSTATE 40001): run again while
  // store.retries lasted (retries), or failed (serialization_failures).
  // Neither is a violation.
  int64_t retries = 0;
  int64_t serialization_failures = 0;
  int64_t fault_kills = 0;    // buyers killed by kill_holder
  int64_t fault_crashes = 0;  // buyers crashed by crash_before_write
  int64_t killed_buyers = 0;  // by any signal, the run's end's included
  // With several events, the books of each (the first is the fields above).
  struct EventBooks {
    std::string name;
    std::optional<int64_t> final_count;
    int64_t confirmed = 0;
    int64_t indeterminate = 0;
  };
  std::vector<EventBooks> events;
  std::vector<Violation> violations;
  // What is found that is not a violation (starvation: the guard excluded
  // but was not fair), with its witnesses as a violation has them. It does
  // not make the verdict red; `[expect] kinds` may ask for it.
  std::vector<Violation> findings;
  std::vector<BuyerSummary> buyers;

  bool ok() const { return violations.empty(); }
  // The count of one kind of violation or finding (0 if none).
  int64_t CountOf(ViolationKind kind) const;
  // Each kind of violation found, with its count, in report order.
  std::vector<ViolationCount> Counts() const;
  // The same for the findings.
  std::vector<ViolationCount> FindingCounts() const;
};

Verdict Check(const CheckInput& input);

// The same verdict from a summary (history = "summary"): exact counts, no
// witnesses.
struct TallyInput {
  int64_t initial = 0;
  std::optional<int64_t> final_count;
  std::string final_error;
  const TallyArena* tallies = nullptr;
  std::vector<pid_t> pids;
  std::vector<bool> killed;
};
Verdict CheckTallies(const TallyInput& input);

// A witness that is only a sentence (the run's own findings carry their
// facts in the fields they set after).
Witness WitnessOf(std::string text);

// Adds `more` to `verdict`'s violations: its count to a kind already there
// (with witnesses up to the limit), or as a new kind.
void MergeViolation(Violation more, Verdict* verdict);
// The same into `list` (a verdict's findings).
void MergeViolation(Violation more, std::vector<Violation>* list);

// "1.204 ms": a history time as the reports write it.
std::string FormatTime(uint64_t ns);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CHECK_CHECKER_H_
