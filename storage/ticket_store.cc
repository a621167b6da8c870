#include "storage/ticket_store.h"

#include <time.h>

#include <cerrno>
#include <cmath>

namespace ticketsim {
namespace {

constexpr EnumWord<StoreKind> kStoreKindWords[] = {
    {StoreKind::kFile, "file", "a JSON file like the tutorial's db.txt"},
    {StoreKind::kShm, "shm", "a Boost.Interprocess shared memory object"},
    {StoreKind::kSqlite, "sqlite", "an SQLite database file"},
    {StoreKind::kPostgres, "postgres",
     "a table in a PostgreSQL server (a throwaway one, or store.url)"},
    {StoreKind::kMemory, "memory",
     "a variable of the buyer process its threads share, as the tutorial's "
     "global (buyers.mode = \"thread\" only)"},
};
constexpr EnumWord<FileWrite> kFileWriteWords[] = {
    {FileWrite::kTruncate, "truncate",
     "open with O_TRUNC, then write (as the tutorial's program; readers can "
     "see it empty)"},
    {FileWrite::kReplace, "replace", "write a temp file and rename it over"},
    {FileWrite::kMapped, "mmap",
     "the file mapped into each buyer: reads and writes are memory copies, "
     "no system call (fastest; a read can catch a write half done)"},
};
constexpr EnumWord<SqliteJournal> kSqliteJournalWords[] = {
    {SqliteJournal::kWal, "wal", "write-ahead log: readers never wait"},
    {SqliteJournal::kDelete, "delete",
     "rollback journal: readers and writers "
     "exclude each other"},
};

constexpr EnumWord<PgIsolation> kPgIsolationWords[] = {
    {PgIsolation::kAutocommit, "autocommit",
     "no transaction: the read and the write commit each on its own"},
    {PgIsolation::kReadCommitted, "read-committed",
     "one transaction per purchase; each statement sees what is committed "
     "when it starts (updates are lost)"},
    {PgIsolation::kRepeatableRead, "repeatable-read",
     "one transaction per purchase on a snapshot; a write over a newer "
     "commit fails (SQLSTATE 40001)"},
    {PgIsolation::kSerializable, "serializable",
     "one transaction per purchase, as if they ran one at a time; the "
     "server refuses what it cannot order (SQLSTATE 40001)"},
};

}  // namespace

const std::span<const EnumWord<PgIsolation>> kPgIsolations = kPgIsolationWords;
const std::span<const EnumWord<StoreKind>> kStoreKinds = kStoreKindWords;
const std::span<const EnumWord<FileWrite>> kFileWrites = kFileWriteWords;
const std::span<const EnumWord<SqliteJournal>> kSqliteJournals =
    kSqliteJournalWords;

Status TicketStore::TakeOne(int64_t* /*seat*/) {
  return Status::Unsupported("this store has no atomic step");
}

bool WritesInTwoHalves(const StoreSpec& spec) {
  return spec.kind == StoreKind::kFile && spec.write != FileWrite::kMapped;
}

bool EmptiesWhileWriting(const StoreSpec& spec) {
  return spec.kind == StoreKind::kFile && spec.write == FileWrite::kTruncate;
}

void SleepFor(double ms) {
  const double seconds = std::floor(ms / 1000);
  timespec left{static_cast<time_t>(seconds),
                static_cast<long>((ms - seconds * 1000) * 1e6)};
  while (clock_nanosleep(CLOCK_MONOTONIC, 0, &left, &left) == EINTR) {
  }
}

}  // namespace ticketsim
