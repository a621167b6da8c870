// Buyer: one process running the purchase loop of DESIGN.md.
//
// One purchase (one attempt):
//   1. query: read the count (under the guard only with scope query-and-buy)
//   2. wait query_delay_ms
//   3. acquire the guard, timed; record how long it waited
//   4. read the count; if 0: sold out, release, done
//   5. think (think_ms): the race window the seed's sleep opens
//   6. write count - 1; the seat is the count read
//   7. release the guard
// With method atomic, 4-6 are the store's own single step.
//
// A buyer never throws past its loop: every outcome, failures included, is
// an event in its slice of the history arena.
#ifndef TICKETSIM_SIM_BUYER_H_
#define TICKETSIM_SIM_BUYER_H_

#include <atomic>
#include <cstdint>

#include "sim/guard.h"
#include "sim/history.h"
#include "sim/scenario.h"
#include "storage/ticket_store.h"

namespace ticketsim {

// Shared by the parent and all buyers (anonymous shared memory mapped before
// forking): the start barrier.
struct RunControl {
  std::atomic<uint32_t> ready{0};    // buyers attached and waiting
  std::atomic<uint32_t> go{0};       // 1 once the barrier opens (a futex word)
  std::atomic<int64_t> start_ns{0};  // CLOCK_MONOTONIC when it opened
};

// How a buyer process ends (its exit status).
enum BuyerExit {
  kBuyerDone = 0,
  kBuyerAttachFailed = 10,  // could not open the store or the guard
  kBuyerStopped = 11,       // gave up: a guard timeout or error
};

// Nanoseconds on CLOCK_MONOTONIC, the clock every event is measured on.
int64_t MonotonicNs();

// Opens the barrier: records the start time and wakes every waiting buyer.
void OpenStartBarrier(RunControl* control);

// The whole life of one buyer process after fork: attach, wait at the
// barrier, run the attempts, detach. Returns a BuyerExit.
int RunBuyer(const Scenario& scenario, uint32_t index, TicketStore* store,
             Guard* guard, RunControl* control, EventWriter events);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_BUYER_H_
