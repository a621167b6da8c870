// Microbenchmarks of one purchase step, for each store x guard, in one
// process through the same TicketStore and Guard objects the buyers use:
// query, acquire, read, write count - 1, release (or the store's atomic
// step). What a purchase costs before any other process contends for it.
#include <benchmark/benchmark.h>

#include "sim/guards/guard.h"
#include "storage/make_store.h"
#include "storage/run_names.h"
#include "storage/ticket_store.h"

namespace ticketsim {
namespace {

void BM_Purchase(benchmark::State& state, StoreKind store_kind,
                 GuardKind guard_kind, Method method) {
  RunNames names;
  RunLease lease;
  if (!StartRun(&names, &lease).ok()) {
    state.SkipWithError("cannot create the run directory");
    return;
  }
  StoreSpec store_spec;
  store_spec.kind = store_kind;
  store_spec.write = FileWrite::kTruncate;
  GuardSpec guard_spec;
  guard_spec.kind = guard_kind;
  auto store = MakeStore(store_spec, names);
  auto guard = MakeGuard(guard_spec, names, store.get());
  std::vector<std::string> purposes = store->ObjectPurposes();
  for (const std::string& p : guard->ObjectPurposes()) purposes.push_back(p);
  if (store->Create(int64_t{1} << 40).ok() && guard->Create().ok() &&
      store->Attach().ok() && guard->Attach().ok()) {
    Reading reading;
    bool recovered = false;
    for (auto _ : state) {
      store->Read(&reading);  // the query
      guard->Acquire(1000, &recovered);
      if (method == Method::kAtomic) {
        int64_t seat = 0;
        store->TakeOne(&seat);
        benchmark::DoNotOptimize(seat);
      } else {
        store->Read(&reading);
        store->Write(reading.count - 1);
      }
      guard->Release();
    }
    guard->Detach();
    store->Detach();
  } else {
    state.SkipWithError("cannot create the store or the guard");
  }
  RemoveRunObjects(names, purposes);
}

constexpr Method kRmw = Method::kReadModifyWrite;
constexpr Method kAtomic = Method::kAtomic;

BENCHMARK_CAPTURE(BM_Purchase, shm_none_atomic, StoreKind::kShm,
                  GuardKind::kNone, kAtomic);
BENCHMARK_CAPTURE(BM_Purchase, shm_robust_mutex, StoreKind::kShm,
                  GuardKind::kRobustMutex, kRmw);
BENCHMARK_CAPTURE(BM_Purchase, shm_named_mutex, StoreKind::kShm,
                  GuardKind::kNamedMutex, kRmw);
BENCHMARK_CAPTURE(BM_Purchase, shm_named_semaphore, StoreKind::kShm,
                  GuardKind::kNamedSemaphore, kRmw);
BENCHMARK_CAPTURE(BM_Purchase, shm_file_lock, StoreKind::kShm,
                  GuardKind::kFileLock, kRmw);
BENCHMARK_CAPTURE(BM_Purchase, file_none, StoreKind::kFile, GuardKind::kNone,
                  kRmw);
BENCHMARK_CAPTURE(BM_Purchase, file_file_lock, StoreKind::kFile,
                  GuardKind::kFileLock, kRmw);
BENCHMARK_CAPTURE(BM_Purchase, file_named_mutex, StoreKind::kFile,
                  GuardKind::kNamedMutex, kRmw);
BENCHMARK_CAPTURE(BM_Purchase, file_robust_mutex, StoreKind::kFile,
                  GuardKind::kRobustMutex, kRmw);
BENCHMARK_CAPTURE(BM_Purchase, sqlite_immediate, StoreKind::kSqlite,
                  GuardKind::kSqliteImmediate, kRmw);
BENCHMARK_CAPTURE(BM_Purchase, sqlite_deferred, StoreKind::kSqlite,
                  GuardKind::kSqliteDeferred, kRmw);
BENCHMARK_CAPTURE(BM_Purchase, sqlite_none_atomic, StoreKind::kSqlite,
                  GuardKind::kNone, kAtomic);
BENCHMARK_CAPTURE(BM_Purchase, sqlite_robust_mutex, StoreKind::kSqlite,
                  GuardKind::kRobustMutex, kRmw);

}  // namespace
}  // namespace ticketsim

BENCHMARK_MAIN();
