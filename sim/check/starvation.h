// Starvation: a buyer that gave up waiting for a lock the others kept
// taking. A lock with no hand-off (a POSIX semaphore, under the named mutex)
// lets the buyer that lets it go take it straight back before the waiter it
// woke gets to run, again and again: the lock excludes, but it is not fair.
// A wait that runs out so is a finding of its own, not a guard failure (the
// lock did not fail) nor an abandoned lock (its holders let it go).
//
// Judged from the history alone: a timed-out wait (kWaiting, then kFailed
// with a guard timeout) starved when, during it, the lock went to a buyer
// that had asked for it after the waiter did, and no hold in progress when
// it ran out was one whose holder was stopped, crashed or killed inside it
// (that wait ran out behind a stall or a dead holder). The lock must have
// gone to that later buyer at a hand-off during the wait (let go after the
// waiter asked): a lock that was free when the waiter's request was
// recorded, and then taken by another, was not one the waiter waited for
// yet (its request had not reached the lock).
#ifndef TICKETSIM_SIM_CHECK_STARVATION_H_
#define TICKETSIM_SIM_CHECK_STARVATION_H_

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "sim/check/checker.h"

namespace ticketsim {

class StarvationJudge {
 public:
  // Judges every timed-out wait of `input`'s history. REQUIRES: `input`
  // outlives the judge.
  explicit StarvationJudge(const CheckInput& input);

  // Whether `failed`, a kFailed guard timeout of the history, ended a wait
  // that starved.
  bool Starved(const Event& failed) const;

  // The finding "starvation", with its witnesses, if any wait starved.
  void AddTo(std::vector<Violation>* findings) const;

 private:
  // One buyer's hold of one lock.
  struct Taking {
    uint32_t buyer;
    uint32_t attempt;
    uint64_t asked_ns;     // its wait began (its kAcquired's time if none)
    uint64_t acquired_ns;  // taken
    uint64_t released_ns;  // given back; UINT64_MAX: held to the end
    bool struck;  // stopped, crashed or killed inside, or died holding it
  };
  // A wait that ran out.
  struct Wait {
    uint32_t buyer;
    uint32_t attempt;
    uint16_t lock;
    uint64_t from_ns;
    uint64_t to_ns;
    bool told;  // judged starvation when the run was checked (kStarved)
  };

  void CollectBuyer(std::span<const Event> events, bool killed);
  // A guard timeout: the wait that ran out, from when it was asked for
  // (`asked`, per lock), or judged already when the history was written.
  void CollectTimeout(const Event& e, std::map<uint16_t, uint64_t>* asked);
  const std::vector<Taking>& TakingsOf(uint16_t lock) const;
  bool Judge(const Wait& w) const;
  bool ReleasedBetween(uint16_t lock, uint64_t from, uint64_t to) const;
  Witness WitnessOf(const Wait& w) const;
  std::string Summary(uint16_t lock) const;

  const char* lock_word_;  // "the guard", or a program's "the lock"
  std::map<uint16_t, std::vector<Taking>> takings_;     // per lock, by time
  std::map<uint16_t, std::vector<uint64_t>> releases_;  // per lock, sorted
  std::vector<Wait> waits_;
  std::vector<Wait> starved_;                            // in time order
  using Key = std::tuple<uint32_t, uint64_t, uint16_t>;  // buyer, time, lock
  std::vector<Key> starved_keys_;                        // sorted
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CHECK_STARVATION_H_
