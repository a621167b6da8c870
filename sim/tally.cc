#include "sim/tally.h"

#include <sys/mman.h>

#include <bit>
#include <cerrno>

namespace ticketsim {

TallyArena::~TallyArena() {
  if (tallies_ != nullptr) munmap(tallies_, bytes_);
}

Status TallyArena::Map(size_t buyers, int64_t initial, uint64_t seats) {
  words_per_buyer_ = static_cast<size_t>((seats + 63) / 64);
  const size_t tally_bytes = buyers * sizeof(BuyerTally);
  bytes_ = tally_bytes + buyers * words_per_buyer_ * sizeof(uint64_t);
  void* at = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (at == MAP_FAILED) {
    bytes_ = 0;
    return Status::FromErrno("map the tallies", errno);
  }
  // Zero pages are zero tallies (an aggregate, created implicitly by the
  // mapping): not writing them here keeps them out of the parent's page
  // tables, which every fork copies.
  tallies_ = static_cast<BuyerTally*>(at);
  seat_words_ =
      reinterpret_cast<uint64_t*>(static_cast<char*>(at) + tally_bytes);
  buyers_ = buyers;
  initial_ = initial;
  seats_ = seats;
  return Status::Ok();
}

void TallyArena::SoldSeat(uint32_t buyer, int64_t seat) {
  BuyerTally& t = tallies_[buyer];
  if (t.seats_shown < std::size(t.seats)) t.seats[t.seats_shown++] = seat;
  // Seat s is bit initial - s: a buyer's map covers the top seats.
  const uint64_t bit = static_cast<uint64_t>(initial_ - seat);
  if (seat < 1 || bit >= seats_) return;  // a torn value, counted as such
  uint64_t& word = seat_words_[buyer * words_per_buyer_ + bit / 64];
  const uint64_t mask = uint64_t{1} << (bit % 64);
  if (word & mask) ++t.self_duplicates;
  word |= mask;
}

void TallyArena::Count(uint32_t buyer, EventKind kind, int64_t value,
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
      if (static_cast<Failure>(aux) == Failure::kStoreError) {
        ++t.store_errors;
      } else {
        ++t.guard_failures;
      }
      t.pending = 0;
      break;
    case EventKind::kAcquired:
      if (flags & kRecovered) ++t.recovered;
      break;
    case EventKind::kFault:
      if (static_cast<FaultKind>(aux) == FaultKind::kPause) {
        ++t.paused;
      } else {
        t.fault = aux;
      }
      break;
    case EventKind::kBackoff:
      ++t.backoffs;
      break;
    case EventKind::kRelease:
    case EventKind::kEmpty:
      break;
  }
}

int64_t TallyArena::CrossBuyerDuplicates() const {
  int64_t duplicates = 0;
  for (size_t w = 0; w < words_per_buyer_; ++w) {
    uint64_t any = 0;
    int64_t sold = 0;
    for (size_t b = 0; b < buyers_; ++b) {
      const uint64_t word = seat_words_[b * words_per_buyer_ + w];
      sold += std::popcount(word);
      any |= word;
    }
    duplicates += sold - std::popcount(any);
  }
  return duplicates;
}

}  // namespace ticketsim
