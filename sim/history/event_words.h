// The words the reports share, so that the narration, the witnesses and the
// timeline's hover text say the same thing the same way.
#ifndef TICKETSIM_SIM_HISTORY_EVENT_WORDS_H_
#define TICKETSIM_SIM_HISTORY_EVENT_WORDS_H_

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/escape.h"
#include "sim/history/history.h"

namespace ticketsim {

// "once", "twice", "3 times".
inline std::string TimesSold(int64_t n) {
  if (n == 1) return "once";
  if (n == 2) return "twice";
  return fmt::format("{} times", n);
}

// "seat 1" and, for a seat sold more than once, "seat 1: sold twice".
inline std::string SeatSold(int64_t seat, int64_t times) {
  if (times <= 1) return fmt::format("seat {}", seat);
  return fmt::format("seat {}: sold {}", seat, TimesSold(times));
}

// What a failed purchase met, after "buyer 3 ": "timed out waiting for the
// guard".
inline std::string_view FailureWhy(uint32_t aux) {
  switch (static_cast<Failure>(aux)) {
    case Failure::kGuardTimeout:
      return "timed out waiting for the guard";
    case Failure::kGuardError:
      return "could not take the guard";
    case Failure::kStoreBusy:
      return "was refused by the store (busy: the database was locked)";
    case Failure::kStoreError:
      return "hit a store error";
    case Failure::kDeclined:
      return "was told the purchase failed";
    case Failure::kSerialization:
      return "was refused by the server: it could not serialize the "
             "transaction (SQLSTATE 40001), rolled back";
    case Failure::kOutcomeUnknown:
      return "lost its connection with the change in flight: the outcome is "
             "unknown";
  }
  return "failed";
}

// The same as a short phrase: "guard timeout".
inline std::string_view FailureName(uint32_t aux) {
  switch (static_cast<Failure>(aux)) {
    case Failure::kGuardTimeout:
      return "guard timeout";
    case Failure::kGuardError:
      return "guard error";
    case Failure::kStoreBusy:
      return "store busy";
    case Failure::kStoreError:
      return "store error";
    case Failure::kDeclined:
      return "declined";
    case Failure::kSerialization:
      return "serialization failure";
    case Failure::kOutcomeUnknown:
      return "outcome unknown";
  }
  return "failed";
}

// The scenario key of an injected fault: "kill_holder".
inline std::string_view FaultName(uint32_t aux) {
  switch (static_cast<FaultKind>(aux)) {
    case FaultKind::kKill:
      return "kill_holder";
    case FaultKind::kPause:
      return "pause_holder";
    case FaultKind::kCrash:
      return "crash_before_write";
  }
  return "fault";
}

// What an injected fault does, after "buyer 3 ": "is stopped (SIGSTOP) for
// 200 ms inside its critical section".
inline std::string FaultWhat(uint32_t aux, int64_t value) {
  switch (static_cast<FaultKind>(aux)) {
    case FaultKind::kKill:
      return "is killed (SIGKILL) inside its critical section";
    case FaultKind::kPause:
      return fmt::format(
          "is stopped (SIGSTOP) inside its critical section, for {} ms", value);
    case FaultKind::kCrash:
      return "crashes (SIGABRT) between its read and its write";
  }
  return "suffers a fault";
}

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_HISTORY_EVENT_WORDS_H_
