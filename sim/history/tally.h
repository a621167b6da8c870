// Tally: the history = "summary" form of what the buyers did. Instead of
// every event, each buyer keeps counts and a map of the seats it sold, in
// anonymous shared memory the parent mapped before forking, so that a run of
// a hundred million attempts runs in memory that does not grow with them.
//
// It keeps exactly what the checker's verdict needs: confirmed,
// indeterminate, sold-out, failed and torn counts, and the seats sold, from
// which duplicate seats are counted exactly. It keeps no times, so there are
// no witnesses, no timeline and no narration.
#ifndef TICKETSIM_SIM_HISTORY_TALLY_H_
#define TICKETSIM_SIM_HISTORY_TALLY_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>

#include "base/status.h"
#include "sim/history/history.h"

namespace ticketsim {

// A buyer of at most this many attempts finds every seat it sold in its
// tally's list of seats, and needs no seat map.
inline constexpr int64_t kSeatsListed = 8;

// One buyer's counts. Written only by the process serving that buyer; the
// parent reads them once that process has been reaped.
struct alignas(64) BuyerTally {
  int64_t attempts = 0;
  int64_t bought = 0;
  int64_t sold_out = 0;
  int64_t guard_failures = 0;  // timeouts, guard errors, SQLITE_BUSY
  int64_t store_errors = 0;
  int64_t torn_reads = 0;
  int64_t recovered = 0;
  int64_t paused = 0;
  int64_t backoffs = 0;
  int64_t retries = 0;                 // refused transactions run again
  int64_t serialization_failures = 0;  // refused, no retry left
  int64_t outcome_unknown = 0;         // the connection broke in flight
  int64_t self_duplicates = 0;         // seats this buyer sold more than once
  int64_t pending = 0;                 // 1 between a read and its outcome
  uint32_t fault = 0;                  // the FaultKind that ended it, or 0
  uint32_t seats_shown = 0;
  int64_t seats[kSeatsListed] = {};  // its first seats
};

class TallyArena {
 public:
  TallyArena() = default;
  TallyArena(const TallyArena&) = delete;
  TallyArena& operator=(const TallyArena&) = delete;
  ~TallyArena();

  // Maps `buyers` tallies of `attempts` attempts each. Seats are counted
  // among the top `seats` seats below `initial`: in each tally's list of
  // seats when it holds them all (at most kSeatsListed attempts), otherwise
  // in a map of those seats for each buyer (pages are touched only when
  // written). A map per buyer would grow as buyers x buyers when each
  // makes one attempt, and every buyer would touch a page of its own.
  Status Map(size_t buyers, int64_t initial, uint64_t seats, int64_t attempts);

  BuyerTally* TallyOf(uint32_t buyer) { return &tallies_[buyer]; }
  const BuyerTally& TallyOf(uint32_t buyer) const { return tallies_[buyer]; }
  size_t buyers() const { return buyers_; }

  // Counts event `e` of buyer `buyer` (in that buyer's process), as the
  // checker would count it in a full history.
  void Count(uint32_t buyer, EventKind kind, int64_t value, uint8_t flags,
             uint32_t aux);

  // Seats sold more than once across all buyers, by other buyers than the
  // first: the sum over the seats of (buyers holding a seat - 1).
  int64_t CrossBuyerDuplicates() const;

  // How often the seller changed from one counted seat sold to the next
  // (SellerChanges).
  int64_t SellerChanges() const;

 private:
  void SoldSeat(uint32_t buyer, int64_t seat);

  BuyerTally* tallies_ = nullptr;
  uint64_t* seat_words_ = nullptr;
  size_t buyers_ = 0;
  int64_t initial_ = 0;
  uint64_t seats_ = 0;
  bool listed_ = false;  // every buyer's seats are in its list; no maps
  size_t words_per_buyer_ = 0;
  size_t bytes_ = 0;
};

// Over `seats` seats, each buyer's map of the seats it sold (bit i: the
// seat i below the top one): how often the seller changed from one seat
// sold to the next, in seat order. For purchases made one at a time (under
// a lock, or by a compare-and-swap), how often the count passed from one
// buyer to another. A seat sold twice counts once, by its first buyer.
int64_t SellerChanges(std::span<const uint64_t* const> maps, uint64_t seats);

// Inline: called once per step of every purchase, with the kind known at
// the call, so that the compiler keeps only the case that applies.
inline void TallyArena::SoldSeat(uint32_t buyer, int64_t seat) {
  BuyerTally& t = tallies_[buyer];
  // Seat s is bit initial - s: the top seats are counted, any other value
  // is a torn one, counted as such.
  const uint64_t bit = static_cast<uint64_t>(initial_ - seat);
  const bool counted = seat >= 1 && bit < seats_;
  int64_t* const shown = t.seats + t.seats_shown;
  if (listed_ && counted && std::find(t.seats, shown, seat) != shown) {
    ++t.self_duplicates;
  }
  if (t.seats_shown < std::size(t.seats)) t.seats[t.seats_shown++] = seat;
  if (listed_ || !counted) return;
  uint64_t& word = seat_words_[buyer * words_per_buyer_ + bit / 64];
  const uint64_t mask = uint64_t{1} << (bit % 64);
  if (word & mask) ++t.self_duplicates;
  word |= mask;
}

// The count a failed purchase adds to, by why it failed.
inline int64_t& FailuresOf(BuyerTally* t, Failure failure) {
  switch (failure) {
    case Failure::kStoreError:
      return t->store_errors;
    case Failure::kSerialization:
      return t->serialization_failures;
    case Failure::kOutcomeUnknown:
      return t->outcome_unknown;
    default:  // the guard's timeouts and errors, and the store busy
      return t->guard_failures;
  }
}

inline void TallyArena::Count(uint32_t buyer, EventKind kind, int64_t value,
                              uint8_t flags, uint32_t aux) {
  BuyerTally& t = tallies_[buyer];
  // A read outside [0, initial] is torn, as the checker judges it.
  const bool torn = (flags & kTorn) != 0 || value < 0 || value > initial_;
  switch (kind) {
    case EventKind::kQuery:
      if (torn) ++t.torn_reads;
      break;
    case EventKind::kRead:
      if (torn) {
        ++t.torn_reads;
      } else {
        t.pending = 1;
      }
      break;
    case EventKind::kInvoke:
      t.pending = 1;
      break;
    case EventKind::kWrite:
    case EventKind::kTook:
      ++t.bought;
      SoldSeat(buyer, kind == EventKind::kWrite ? value + 1 : value);
      t.pending = 0;
      break;
    case EventKind::kSoldOut:
      ++t.sold_out;
      t.pending = 0;
      break;
    case EventKind::kFailed:
      ++FailuresOf(&t, static_cast<Failure>(aux));
      t.pending = 0;
      break;
    case EventKind::kAcquired:
      if (flags & kRecovered) ++t.recovered;
      break;
    case EventKind::kFault:
      // A pause is survived; any other fault ends the buyer.
      if (static_cast<FaultKind>(aux) == FaultKind::kPause) {
        ++t.paused;
      } else {
        t.fault = aux;
      }
      break;
    case EventKind::kBackoff:
      ++t.backoffs;
      break;
    case EventKind::kRetry:
      ++t.retries;
      t.pending = 0;
      break;
    case EventKind::kRelease:
    case EventKind::kWaiting:
    case EventKind::kTruncated:
    case EventKind::kEmpty:
      break;
  }
}

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_HISTORY_TALLY_H_
