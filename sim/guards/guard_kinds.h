// The guard implementations, one per file, made by MakeGuard (guard.cc).
#ifndef TICKETSIM_SIM_GUARDS_GUARD_KINDS_H_
#define TICKETSIM_SIM_GUARDS_GUARD_KINDS_H_

#include <memory>

#include "sim/guards/guard.h"
#include "storage/pg_store.h"
#include "storage/sqlite_store.h"

namespace ticketsim {

std::unique_ptr<Guard> MakeNoGuard();
std::unique_ptr<Guard> MakeNamedMutexGuard(const RunNames& names);
std::unique_ptr<Guard> MakeNamedSemaphoreGuard(const RunNames& names,
                                               int64_t permits);
std::unique_ptr<Guard> MakeFileLockGuard(const RunNames& names);
std::unique_ptr<Guard> MakeRobustMutexGuard(const RunNames& names);
std::unique_ptr<Guard> MakeSqliteGuard(SqliteStore* store, bool immediate);
// pg-row-lock; with `lock_row` false, the transaction alone (BEGIN at the
// isolation, no row lock): a read-modify-write purchase under
// store.isolation with guard none.
std::unique_ptr<Guard> MakePgRowLockGuard(PgStore* store, PgIsolation isolation,
                                          bool lock_row);
std::unique_ptr<Guard> MakePgAdvisoryGuard(PgStore* store);
std::unique_ptr<Guard> MakeStdMutexGuard();

// A holder's critical section is often shorter than a sleep and a wake:
// the mutex guards try this many times, a pause apart, before they wait in
// the kernel.
inline constexpr int kTriesBeforeSleep = 64;

// Tells the CPU this is a spin-wait (x86's pause), where there is one.
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_GUARDS_GUARD_KINDS_H_
