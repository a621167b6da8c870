#include "sim/guards/guard.h"

#include "sim/guards/guard_kinds.h"

namespace ticketsim {

std::unique_ptr<Guard> MakeGuard(const GuardSpec& spec, const RunNames& names,
                                 TicketStore* store) {
  switch (spec.kind) {
    case GuardKind::kNone:
      // Isolation without a guard: each purchase is one transaction, which
      // the buyer begins and commits as it would take and give a guard.
      if (auto* pg = dynamic_cast<PgStore*>(store);
          pg != nullptr && pg->isolation() != PgIsolation::kAutocommit) {
        return MakePgRowLockGuard(pg, pg->isolation(), /*lock_row=*/false);
      }
      return MakeNoGuard();
    case GuardKind::kNamedMutex:
      return MakeNamedMutexGuard(names);
    case GuardKind::kNamedSemaphore:
      return MakeNamedSemaphoreGuard(names, spec.permits);
    case GuardKind::kFileLock:
      return MakeFileLockGuard(names);
    case GuardKind::kRobustMutex:
      return MakeRobustMutexGuard(names);
    case GuardKind::kSqliteImmediate:
    case GuardKind::kSqliteDeferred:
      return MakeSqliteGuard(dynamic_cast<SqliteStore*>(store),
                             spec.kind == GuardKind::kSqliteImmediate);
    case GuardKind::kPgRowLock: {
      auto* pg = dynamic_cast<PgStore*>(store);
      return MakePgRowLockGuard(pg, pg->isolation(), /*lock_row=*/true);
    }
    case GuardKind::kPgAdvisory:
      return MakePgAdvisoryGuard(dynamic_cast<PgStore*>(store));
    case GuardKind::kStdMutex:
      return MakeStdMutexGuard();
  }
  return nullptr;
}

}  // namespace ticketsim
