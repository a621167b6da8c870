// History: what every buyer did, as fixed-size events in shared memory.
//
// The parent maps one anonymous shared arena before forking; each buyer owns
// a slice of it and appends its events there. Because the arena belongs to
// the parent, a buyer's events survive the buyer being killed; because it is
// anonymous, there is no named object to leave behind. An event is published
// by storing its kind last (release order), so a buyer killed halfway through
// writing one leaves an empty slot, never a half event.
#ifndef TICKETSIM_SIM_HISTORY_HISTORY_H_
#define TICKETSIM_SIM_HISTORY_HISTORY_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"

namespace ticketsim {

enum class EventKind : uint8_t {
  kEmpty = 0,  // a slot never written
  kQuery,      // value: the count the query saw
  kAcquired,   // the guard is held; aux: microseconds waited for it
  kRead,       // value: the count read inside the purchase
  kWrite,      // value: the count written; a confirmed purchase of seat value+1
  kInvoke,     // atomic method: the store's step is about to run
  kTook,       // atomic method: a confirmed purchase; value: the seat
  kSoldOut,    // value: the count that said sold out
  kFailed,     // the purchase did not happen; aux: a Failure
  kRelease,    // the guard is given up
  kFault,      // a fault is injected now; aux: a FaultKind; value: ms paused
  kBackoff,    // try-backoff: `event`'s guard was held by another; the
               // guards in the bit mask aux were given back
  kWaiting,    // asks for `event`'s guard (a wait that may be short)
  kTruncated,  // the file store emptied the file; its write ends at kWrite
  kRetry,      // the server refused the purchase's transaction (SQLSTATE
               // 40001); it was rolled back and runs again from its read.
               // value: the how-manieth retry
};

// The faults a buyer can be made to suffer (FaultsSpec).
enum class FaultKind : uint32_t {
  kKill = 1,  // SIGKILL inside the critical section
  kPause,     // SIGSTOP inside it, SIGCONT later
  kCrash,     // SIGABRT between read and write
};

enum class Failure : uint32_t {
  kGuardTimeout = 1,  // waited guard.timeout_ms and gave up
  kGuardError,        // the guard itself failed
  kStoreBusy,         // the store refused: locked (SQLITE_BUSY)
  kStoreError,        // the store failed (I/O)
  kDeclined,          // a program said the purchase failed (not sold out)
  // The server refused the transaction (SQLSTATE 40001) and no retry was
  // left: rolled back, nothing written. Not a violation.
  kSerialization,
  // The connection broke with the change in flight: it may or may not have
  // happened. The checker counts the purchase indeterminate.
  kOutcomeUnknown,
};

// Flags on kQuery and kRead.
inline constexpr uint8_t kTorn = 1;  // unreadable; aux: bytes seen
// Flags on kAcquired.
inline constexpr uint8_t kRecovered = 2;  // the previous holder had died
// Flags on kTook: a program's sale whose seat is not known.
inline constexpr uint8_t kNoSeat = 4;
// Flags on kTook: a sale counted from a line a program printed
// (sold_pattern), not from its own account: no read or write is known.
inline constexpr uint8_t kPrinted = 8;
// Flags on kFailed (a guard timeout): the run judged it starvation
// (sim/check/starvation.h). A history read back keeps the judgment, not the
// holds it rests on.
inline constexpr uint8_t kStarved = 16;
// aux of a torn kQuery or kRead: a program could not read a count at all.
inline constexpr uint32_t kUnreadable = UINT32_MAX;

// Fields left out of an initializer are 0: Event{.time_ns = t, .value = v,
// .kind = EventKind::kRead} is a read with no flags, of the first event.
struct Event {
  uint64_t time_ns = 0;  // since the start barrier opened
  int64_t value = 0;
  uint32_t buyer = 0;
  uint32_t attempt = 0;
  EventKind kind = EventKind::kEmpty;
  uint8_t flags = 0;
  uint16_t event = 0;  // which event (Scenario::events) it concerns; 0 if one
  uint32_t aux = 0;
};
static_assert(sizeof(Event) == 32, "events are 32 bytes, as the arena plans");
inline constexpr size_t kEventBytes = sizeof(Event);

// At most this many events per attempt: query, waiting, acquired, read or
// invoke, a pause, truncated, write or took or sold out or failed, a kill
// after the write, release.
inline constexpr size_t kEventsPerAttempt = 9;
// And per retry of a refused transaction (store.retries): retry, waiting,
// acquired, read, a pause, release.
inline constexpr size_t kEventsPerRetry = 6;
// With several events: per event waiting, acquired, read, truncated,
// outcome, release; per attempt a query, two faults and the first
// kBackoffsRecorded back-offs, each with the waiting and acquired of each
// event it had taken.
inline constexpr size_t kEventsPerEventAttempt = 6;
inline constexpr size_t kBackoffsRecorded = 8;

// Appends one buyer's events to its slice. Used in the buyer process only.
class EventWriter {
 public:
  EventWriter() = default;
  EventWriter(Event* begin, size_t capacity, uint32_t buyer)
      : slots_(begin), capacity_(capacity), buyer_(buyer) {}

  // Appends `e` as this buyer's next event (its `buyer` is the writer's,
  // whatever `e` says). Drops it (and counts it) when the slice is full.
  // Inline: the purchase loop records every step, and builds `e` in place.
  void Record(const Event& e) {
    if (used_ == capacity_) {
      ++dropped_;
      return;
    }
    Event& slot = slots_[used_++];
    slot.time_ns = e.time_ns;
    slot.value = e.value;
    slot.buyer = buyer_;
    slot.attempt = e.attempt;
    slot.flags = e.flags;
    slot.event = e.event;
    slot.aux = e.aux;
    // Published last: a reader sees the whole event or an empty slot.
    std::atomic_ref<EventKind>(slot.kind).store(e.kind,
                                                std::memory_order_release);
  }
  size_t dropped() const { return dropped_; }
  // Events recorded in the slice so far.
  size_t used() const { return used_; }

 private:
  Event* slots_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
  size_t dropped_ = 0;
  uint32_t buyer_ = 0;
};

class HistoryArena {
 public:
  HistoryArena() = default;
  HistoryArena(const HistoryArena&) = delete;
  HistoryArena& operator=(const HistoryArena&) = delete;
  ~HistoryArena();

  // Maps room for `buyers` slices of `events_per_buyer` events each. Pages
  // are touched only when written, so a large plan costs what is used.
  Status Map(size_t buyers, size_t events_per_buyer);

  EventWriter WriterFor(uint32_t buyer);
  // The events a buyer published, in the order it recorded them.
  std::span<const Event> EventsOf(uint32_t buyer) const;
  size_t buyers() const { return buyers_; }

 private:
  Event* events_ = nullptr;
  size_t buyers_ = 0;
  size_t per_buyer_ = 0;
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_HISTORY_HISTORY_H_
