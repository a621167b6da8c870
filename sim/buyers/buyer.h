// Buyer: one process running the purchase loop of DESIGN.md.
//
// One purchase (one attempt):
//   1. query: read the count (under the guard only with scope query-and-buy)
//   2. wait query_delay_ms
//   3. acquire the guard, timed; record how long it waited
//   4. read the count; if 0: sold out, release, done
//   5. think (think_ms): the race window the tutorial's sleep opens
//   6. write count - 1; the seat is the count read
//   7. release the guard
// With method atomic, 4-6 are the store's own single step.
//
// With several events (a concert and its parking) a purchase buys one
// ticket of each: it takes every event's guard in the buyer's order,
// thinking between one and the next (the window in which two buyers taking
// them in opposite orders deadlock), reads every count, thinks, writes every
// count - 1, and gives the guards back in reverse order. With try-backoff, a
// guard after the first is only tried; if it is taken, the buyer gives back
// what it holds, backs off and starts again.
//
// Faults (FaultsSpec) strike inside the critical section, each recorded as
// an event just before it happens.
//
// A buyer never throws past its loop: every outcome, failures included, is
// an event in its slice of the history arena.
#ifndef TICKETSIM_SIM_BUYERS_BUYER_H_
#define TICKETSIM_SIM_BUYERS_BUYER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "sim/buyers/step_gate.h"
#include "sim/guards/guard.h"
#include "sim/history/history.h"
#include "sim/history/tally.h"
#include "sim/scenario/scenario.h"
#include "storage/run_names.h"
#include "storage/ticket_store.h"

namespace ticketsim {

// What the parent knows of one buyer while the run goes on. One cache line
// each, so that buyers counting their progress do not slow each other.
struct alignas(64) BuyerSlot {
  std::atomic<int32_t> process{-1};  // the process serving it; -1: none yet
  std::atomic<int64_t> done{0};      // attempts finished
  // The guards it holds (bit e: event e's) and the one it waits for (e + 1;
  // 0: none), so that the parent can name the holder of an abandoned lock
  // and the buyers of a deadlock. `waits` counts its waits: a cycle seen
  // twice with the same counts is one that has not moved.
  std::atomic<uint32_t> held{0};
  std::atomic<uint32_t> waiting{0};
  std::atomic<uint32_t> waits{0};
};

// The first of several processes' messages, kept in shared memory: the
// first to claim it writes the text, then publishes it.
struct FirstText {
  std::atomic<uint32_t> claimed{0};
  std::atomic<uint32_t> written{0};
  char text[480] = {};

  // Keeps `text` (cut to fit) unless one is kept already.
  void Set(std::string_view message);
  bool empty() const { return written.load(std::memory_order_acquire) == 0; }
  // The text kept; "" if none.
  std::string Get() const;
};

// Shared by the parent and all buyer processes (anonymous shared memory
// mapped before forking): the start barrier, the pool's queue, and one slot
// per buyer.
struct RunControl {
  std::atomic<uint32_t> ready{0};       // processes attached and waiting
  std::atomic<uint32_t> go{0};          // 1 once the barrier opens (a futex)
  std::atomic<int64_t> start_ns{0};     // CLOCK_MONOTONIC when it opened
  std::atomic<uint32_t> next_buyer{0};  // pool: the next buyer to serve
  BuyerSlot* slots = nullptr;           // buyers.count of them
  // Processes that have said they are ending, in that order: `ended_count`
  // of them, each entry the process index + 1 (0 while it is being written).
  // The parent then waits for those pids alone: waiting for one pid costs
  // the same however many children there are, while waiting for any child
  // looks at every one of them.
  std::atomic<uint32_t> ended_count{0};
  std::atomic<uint32_t>* ended = nullptr;  // one entry per process
  // Why the run failed, in the words of the first buyer process that could
  // not open the store or the guard, or of the first buyer the system
  // failed (out of disk, memory, descriptors: Status::Code::kEnvironment).
  FirstText failure;
  // The first store error and the first guard error that are part of the
  // verdict (not the system's, not a timeout or SQLITE_BUSY), so that the
  // report can say what they were.
  FirstText first_store_error;
  FirstText first_guard_error;
  // Under a controlled schedule, where buyers wait for their turns
  // (sim/buyers/step_gate.h); nullptr under os.
  StepControl* steps = nullptr;
  // Whether the workers ("processes") are threads of one buyer process.
  bool threads = false;

  // Attempts finished by all buyers so far.
  int64_t AttemptsDone(size_t buyers) const;
};

// How a buyer process ends (its exit status).
enum BuyerExit {
  kBuyerDone = 0,
  kBuyerAttachFailed = 10,  // could not open the store or the guard
  kBuyerStopped = 11,       // gave up: a guard timeout or error
};

// Opens the barrier: records the start time and wakes every waiting buyer.
void OpenStartBarrier(RunControl* control);

// With buyers as threads: what each thread makes its own store and guard
// of each event from, as the parent made the run's (sim/run/run.cc).
struct ThreadObjectSpecs {
  StoreSpec store;
  GuardSpec guard;
  std::vector<RunNames> names;  // each event's
};

// What a buyer process works with: the scenario, one store and one guard
// per event, the run's control block, and where it records what it did.
// With history "summary", `tallies` counts what `history` would record;
// otherwise it is null. With buyers as threads, `threads` says how each
// thread makes its own store and guard; otherwise it is null.
struct BuyerWork {
  const Scenario* scenario = nullptr;
  std::span<TicketStore* const> stores;
  std::span<Guard* const> guards;
  RunControl* control = nullptr;
  HistoryArena* history = nullptr;
  TallyArena* tallies = nullptr;
  const ThreadObjectSpecs* threads = nullptr;
};

// The whole life of buyer process `process` after fork: attach, wait at the
// barrier, run the attempts of its buyer (the buyer of the same index) or,
// with a pool, of buyer after buyer from the shared queue, detach. Returns
// a BuyerExit.
int RunBuyerProcess(const BuyerWork& work, uint32_t process);

// What one purchase came to, as its lane of the history says.
struct PurchaseOutcome {
  enum Kind { kNone, kSold, kSoldOut, kFailed };
  Kind kind = kNone;     // kNone: the buyer stopped before an outcome
  int64_t seat = 0;      // kSold
  Failure failure{};     // kFailed
  bool went_on = false;  // false: the buyer must stop (a guard failed)
};

// Buyer `index`'s purchases made one at a time, by whoever calls Next: the
// same steps, recorded in its lane of work.history, as a buyer process
// makes in its loop (a box office's handler serving that buyer's requests,
// sim/server). work.history must keep events (not history "summary").
class Purchaser {
 public:
  Purchaser(const BuyerWork& work, uint32_t index);
  ~Purchaser();
  Purchaser(const Purchaser&) = delete;
  Purchaser& operator=(const Purchaser&) = delete;

  // Makes the next attempt.
  PurchaseOutcome Next();

  class Loop;  // a buyer's loop (buyer.cc)

 private:
  HistoryArena* history_;
  uint32_t index_;
  std::unique_ptr<Loop> loop_;
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_BUYERS_BUYER_H_
