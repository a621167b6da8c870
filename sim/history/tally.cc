#include "sim/history/tally.h"

#include <sys/mman.h>

#include <bit>
#include <cerrno>
#include <vector>

namespace ticketsim {

TallyArena::~TallyArena() {
  if (tallies_ != nullptr) munmap(tallies_, bytes_);
}

Status TallyArena::Map(size_t buyers, int64_t initial, uint64_t seats,
                       int64_t attempts) {
  listed_ = attempts <= kSeatsListed;
  words_per_buyer_ = listed_ ? 0 : static_cast<size_t>((seats + 63) / 64);
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

int64_t TallyArena::CrossBuyerDuplicates() const {
  int64_t duplicates = 0;
  if (listed_) {
    // Each buyer's seats once (SoldSeat counted its own repeats), marked in
    // one map of the counted seats.
    std::vector<bool> sold(seats_);
    for (size_t b = 0; b < buyers_; ++b) {
      const BuyerTally& t = tallies_[b];
      for (uint32_t i = 0; i < t.seats_shown; ++i) {
        const int64_t seat = t.seats[i];
        const uint64_t bit = static_cast<uint64_t>(initial_ - seat);
        if (seat < 1 || bit >= seats_ ||
            std::find(t.seats, t.seats + i, seat) != t.seats + i) {
          continue;
        }
        if (sold[bit]) ++duplicates;
        sold[bit] = true;
      }
    }
    return duplicates;
  }
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

int64_t TallyArena::SellerChanges() const {
  std::vector<const uint64_t*> maps;
  // Every buyer's seats in a map of its own, as with more attempts.
  std::vector<std::vector<uint64_t>> listed;
  const size_t words = static_cast<size_t>((seats_ + 63) / 64);
  for (size_t b = 0; b < buyers_; ++b) {
    if (!listed_) {
      maps.push_back(seat_words_ + b * words_per_buyer_);
      continue;
    }
    std::vector<uint64_t>& map = listed.emplace_back(words);
    const BuyerTally& t = tallies_[b];
    for (uint32_t i = 0; i < t.seats_shown; ++i) {
      const uint64_t bit = static_cast<uint64_t>(initial_ - t.seats[i]);
      if (t.seats[i] >= 1 && bit < seats_) map[bit / 64] |= 1ull << bit % 64;
    }
  }
  for (const std::vector<uint64_t>& map : listed) maps.push_back(map.data());
  return ticketsim::SellerChanges(maps, seats_);
}

int64_t SellerChanges(std::span<const uint64_t* const> maps, uint64_t seats) {
  int64_t changes = 0;
  size_t last = maps.size();  // none yet
  for (uint64_t bit = 0; bit < seats; ++bit) {
    const uint64_t mask = uint64_t{1} << (bit % 64);
    for (size_t b = 0; b < maps.size(); ++b) {
      if ((maps[b][bit / 64] & mask) == 0) continue;
      if (last != maps.size() && last != b) ++changes;
      last = b;
      break;
    }
  }
  return changes;
}

}  // namespace ticketsim
