// Timeline: a buyer's events gathered into its attempts, each with the times
// of its steps, for the reports that draw or tell a run (the HTML page, the
// narration).
#ifndef TICKETSIM_SIM_TIMELINE_TIMELINE_H_
#define TICKETSIM_SIM_TIMELINE_TIMELINE_H_

#include <cstdint>
#include <span>
#include <vector>

#include "sim/history/history.h"

namespace ticketsim {

enum class Outcome {
  kPending,  // no outcome recorded: the buyer died midway (indeterminate)
  kBought,   // a confirmed purchase of `seat`
  kSoldOut,
  kFailed,  // `failure` says why
  kTorn,    // the purchase's read found no valid count
};

// One attempt of one buyer. A time of -1 means the step did not happen.
struct Attempt {
  uint32_t buyer = 0;
  uint32_t attempt = 0;
  int64_t query_ns = -1;
  int64_t query_value = 0;
  bool query_torn = false;
  int64_t wait_ns = -1;      // began to wait for the guard
  int64_t acquired_ns = -1;  // held it
  bool recovered = false;    // took it over from a dead holder
  int64_t read_ns = -1;      // read the count, or invoked the atomic step
  int64_t read_value = 0;
  Outcome outcome = Outcome::kPending;
  int64_t outcome_ns = -1;
  int64_t seat = 0;     // kBought
  int64_t written = 0;  // kBought by read-modify-write: the count written
  bool atomic = false;  // the store's own step, not read-modify-write
  uint32_t failure = 0;
  int64_t release_ns = -1;
  int64_t last_ns = 0;  // the time of its last event
  uint32_t fault = 0;   // a FaultKind injected in it, or 0
  int64_t fault_ns = -1;
  int64_t fault_value = 0;  // pause: the milliseconds
  int64_t backoffs = 0;     // try-backoff rounds given back
  int64_t retries = 0;      // refused transactions run again
};

// The attempts of one buyer's events, in order. With several events, the
// first event's steps (its guard, its read and write) stand for the
// purchase.
std::vector<Attempt> AttemptsOf(std::span<const Event> events);

// What a buyer did with the guards, read from all its events (every event's
// guard, not only the first's).
enum class SpanKind { kWait, kHold };
enum class SpanEnd {
  kOpen,      // nothing recorded ends it: it lasts until the buyer dies or
              // the run ends
  kAcquired,  // a wait that got its guard
  kFailed,    // a wait that gave up (timeout, guard error)
  kRelease,   // a hold given up
  kBackoff,   // a hold given back by a try-backoff round
};
struct GuardSpan {
  uint32_t buyer = 0;
  uint32_t attempt = 0;
  size_t event = 0;  // whose guard
  SpanKind kind = SpanKind::kWait;
  int64_t from_ns = 0;
  int64_t to_ns = -1;  // -1 while open
  SpanEnd end = SpanEnd::kOpen;
  bool recovered = false;  // a hold taken over from a dead holder
  uint32_t failure = 0;    // kFailed: a Failure
};

// A try-backoff round given up: `found_held`'s guard was taken, and the
// guards in the bit mask `given_back` were given back.
struct BackoffMark {
  uint32_t buyer = 0;
  uint32_t attempt = 0;
  int64_t time_ns = 0;
  size_t found_held = 0;
  uint32_t given_back = 0;
  int64_t round = 0;  // which back-off of its attempt (1, 2, ...)
};

// A truncating write's empty file: from the truncation to the write that
// follows it (-1 if none did).
struct EmptyFile {
  uint32_t buyer = 0;
  uint32_t attempt = 0;
  size_t event = 0;
  int64_t from_ns = 0;
  int64_t to_ns = -1;
};

struct GuardHistory {
  std::vector<GuardSpan> spans;  // in the order they began
  std::vector<BackoffMark> backoffs;
  std::vector<EmptyFile> empty_files;
  // The time of a fault that kills (kill_holder, crash_before_write) when
  // it is the buyer's last event: the moment it died. -1 otherwise.
  int64_t killed_ns = -1;
  uint32_t killed_by = 0;  // that fault's FaultKind
};

GuardHistory GuardHistoryOf(std::span<const Event> events);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_TIMELINE_TIMELINE_H_
