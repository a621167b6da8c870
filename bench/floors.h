// The floors ticketsim is measured against: for a store x guard x method, a
// bare loop of exactly the steps of one purchase, made by forked processes
// started together at a barrier, as ticketsim starts its buyers:
//   rmw     the query (a read of the count), the guard's own timed acquire
//           (the Guard object's, as a buyer takes it: a few tries, then a
//           timed wait), the read, the write of count - 1 unless it is 0,
//           the guard's release;
//   atomic  the query, then the store's own single step.
// Around them nothing of ticketsim's: no history, no tally, no checks.
// Each process marks the seats it sold in a map of its own (one bit), from
// which the hand-offs are counted as ticketsim's are, from its tally.
#ifndef TICKETSIM_BENCH_FLOORS_H_
#define TICKETSIM_BENCH_FLOORS_H_

#include <cstdint>
#include <functional>

#include "bench/rounds.h"
#include "sim/scenario/scenario.h"

namespace ticketsim {

struct FloorSpec {
  StoreKind store = StoreKind::kShm;
  GuardKind guard = GuardKind::kNone;
  Method method = Method::kReadModifyWrite;
  int64_t initial = 0;  // the count at the start
};

// `processes` processes making `per_process` purchases each.
Round RunFloor(const FloorSpec& spec, int processes, int64_t per_process);

// What RunTogether measured.
struct Together {
  double seconds = 0;      // from opening the barrier to the last reaped
  double cpu_seconds = 0;  // user + system time of the processes
};

// The floor of buyers as threads, on the memory store: `threads` threads of
// this process, started together at a barrier, making `per_thread`
// purchases each, of exactly the steps a thread buyer makes: the query (a
// relaxed load of the count), then with guard std-mutex its timed acquire
// (std::timed_mutex::try_lock_for), the read and the write of count - 1
// unless it is 0 (a relaxed load and store), the unlock; with method atomic
// the query and the store's compare-and-swap loop. Guard none or std-mutex
// only; no hand-offs counted.
Round RunThreadFloor(const FloorSpec& spec, int threads, int64_t per_thread);

// Runs `attach(p)` in each of `processes` forked processes (p = 0, 1, ...),
// then, once all have and the barrier opens, `work(p)`. The processes wait
// at the barrier asleep (a futex), so that on one CPU no waiting is counted
// as work.
Together RunTogether(int processes, const std::function<void(int)>& attach,
                     const std::function<void(int)>& work);

// Opens the PostgreSQL server ticketsim's runs use (starting it if none of
// this process's runs has), and sets *conninfo; exits if there is none.
void UsePostgres(std::string* conninfo);

}  // namespace ticketsim

#endif  // TICKETSIM_BENCH_FLOORS_H_
