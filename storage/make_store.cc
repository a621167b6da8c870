#include "storage/make_store.h"

#include "storage/file_store.h"
#include "storage/memory_store.h"
#include "storage/pg_store.h"
#include "storage/shm_store.h"
#include "storage/sqlite_store.h"

namespace ticketsim {

std::unique_ptr<TicketStore> MakeStore(const StoreSpec& spec,
                                       const RunNames& names) {
  switch (spec.kind) {
    case StoreKind::kFile:
      return std::make_unique<FileStore>(spec, names);
    case StoreKind::kShm:
      return std::make_unique<ShmStore>(names);
    case StoreKind::kSqlite:
      return std::make_unique<SqliteStore>(spec, names);
    case StoreKind::kPostgres:
      return std::make_unique<PgStore>(spec, names);
    case StoreKind::kMemory:
      return std::make_unique<MemoryStore>();
  }
  return nullptr;
}

}  // namespace ticketsim
