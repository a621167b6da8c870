#include "sim/guard.h"

#include "sim/guard_kinds.h"

namespace ticketsim {

std::unique_ptr<Guard> MakeGuard(const GuardSpec& spec, const RunNames& names,
                                 TicketStore* store) {
  switch (spec.kind) {
    case GuardKind::kNone:
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
  }
  return nullptr;
}

std::vector<GuardKind> GuardsFor(StoreKind store) {
  std::vector<GuardKind> kinds;
  for (const auto& entry : kGuardKinds) {
    const bool sqlite_only = entry.value == GuardKind::kSqliteImmediate ||
                             entry.value == GuardKind::kSqliteDeferred;
    if (!sqlite_only || store == StoreKind::kSqlite)
      kinds.push_back(entry.value);
  }
  return kinds;
}

}  // namespace ticketsim
