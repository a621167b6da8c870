// TicketStore: where the one shared ticket count lives.
//
// Four stores, one file each:
//   file    a JSON file like the tutorial's db.txt, {"count": N}
//             write = truncate: open with O_TRUNC, then write (as the tutorial;
//                     a reader can see an empty file: a torn read)
//             write = replace:  write a temp file, rename it over (readers see
//                     the old or the new file, never half of one)
//           The file store has no atomic step.
//   shm     a Boost.Interprocess shared memory object holding the count; its
//           atomic step is a compare-and-swap on std::atomic<int64_t>.
//   sqlite  a real SQLite database file, one row per event in `tickets`; each
//           process opens its own connection. Its atomic step is
//           UPDATE ... SET count = count - 1 WHERE count > 0 RETURNING count.
//   postgres the count in a table of a PostgreSQL server (pg_store.h), one
//           table per event, created by Create and dropped by Destroy; each
//           process opens its own connection. Its atomic step is the same
//           UPDATE ... RETURNING.
//
// Life cycle, and what crosses a fork:
//   the parent calls Create() once, before any buyer exists; Create leaves
//   nothing open. Each process that uses the store (every buyer after fork,
//   the parent afterwards to read the final count) calls Attach() and opens its
//   own handles; nothing Attach opens may cross a fork. The named objects are
//   removed by the run (RemoveRunObjects with ObjectPurposes()), whatever
//   happened to the buyers.
//
// A store knows nothing of buyers or guards: it does not lock. A buyer killed
// in the middle of Write leaves whatever the store's write leaves: the file
// store with write = truncate can be left empty; the others change the count
// in one step or not at all.
#ifndef TICKETSIM_STORAGE_TICKET_STORE_H_
#define TICKETSIM_STORAGE_TICKET_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/enum_table.h"
#include "base/status.h"
#include "storage/run_names.h"

namespace ticketsim {

enum class StoreKind { kFile, kShm, kSqlite, kPostgres, kMemory };
enum class FileWrite { kTruncate, kReplace, kMapped };
enum class SqliteJournal { kWal, kDelete };
// The transaction a read-modify-write purchase on postgres runs in.
enum class PgIsolation {
  kAutocommit,  // none: each statement commits on its own
  kReadCommitted,
  kRepeatableRead,
  kSerializable,
};

extern const std::span<const EnumWord<StoreKind>> kStoreKinds;
extern const std::span<const EnumWord<FileWrite>> kFileWrites;
extern const std::span<const EnumWord<SqliteJournal>> kSqliteJournals;
extern const std::span<const EnumWord<PgIsolation>> kPgIsolations;

struct StoreSpec {
  StoreKind kind = StoreKind::kFile;
  // file store
  FileWrite write = FileWrite::kTruncate;
  // file store: the file's name in the run directory (a program finds it
  // in its current directory).
  std::string file_name = "db.txt";
  // file store: how long a write takes between its first step (truncating, or
  // creating the temp file) and its last (writing, or renaming): a slow disk.
  // With write = truncate this is how long the file stays empty.
  double slow_write_ms = 0;
  // sqlite store
  SqliteJournal journal = SqliteJournal::kWal;
  int busy_timeout_ms = 5000;
  // postgres store: an existing server (a libpq URI or key=value string);
  // "" for the throwaway server ticketsim starts itself (storage/pg_server.h)
  // from the binaries in `postgres_bin` ("" = pg_config --bindir), listening
  // on the TCP address `listen` too if set (for buyers on other hosts).
  std::string url;
  std::string postgres_bin;
  std::string listen;
  // postgres store: the transaction of a read-modify-write purchase, and how
  // often one the server could not serialize (SQLSTATE 40001) runs again.
  PgIsolation isolation = PgIsolation::kAutocommit;
  int64_t retries = 0;
  // Not a key: how every process reaches the server, set by the run before
  // the store is created (the url, or the throwaway server's, with its
  // password: never shown).
  std::string conninfo;
};

// What one read saw.
struct Reading {
  int64_t count = 0;   // the count, when Read returned ok
  uint32_t bytes = 0;  // file store: how many bytes the file held
};

class TicketStore {
 public:
  TicketStore() = default;
  TicketStore(const TicketStore&) = delete;
  TicketStore& operator=(const TicketStore&) = delete;
  virtual ~TicketStore() = default;

  // Parent only, once, before buyers start: creates the store's objects with
  // mode 0600 (failing if they exist) and sets the count to `initial`.
  virtual Status Create(int64_t initial) = 0;
  // Parent only, at the end of the run: removes what Create made that the
  // run's directory and named objects do not hold (a server's table). Best
  // effort; by default nothing.
  virtual void Destroy() {}

  // Opens this process's own handles. REQUIRES: Create() ran (in the parent).
  virtual Status Attach() = 0;
  // Closes what Attach opened. Safe to call when not attached.
  virtual void Detach() = 0;

  // Reads the count. Returns Corrupt when what was read is not a count (a torn
  // read: the file store caught in the middle of a truncating write). Does not
  // block on other buyers, except sqlite waiting up to busy_timeout_ms.
  virtual Status Read(Reading* out) = 0;

  // Writes the count, unconditionally. Returns Busy when sqlite's busy
  // timeout ran out.
  virtual Status Write(int64_t count) = 0;

  // The store's own single step: if the count is above 0, lowers it by one
  // and sets *seat to the count before (the seat sold); otherwise sets *seat
  // to 0 (sold out). Returns Unsupported where the store has no such step.
  virtual Status TakeOne(int64_t* seat);
  virtual bool HasAtomicStep() const { return false; }
  // Where another program finds the count: the file's path, the database
  // file's, or the shared memory object's under /dev/shm.
  virtual std::string Location() const = 0;

  // The purposes (RunNames::Object) of the named IPC objects this store
  // created, for removal. Files live in the run directory.
  virtual std::vector<std::string> ObjectPurposes() const { return {}; }

  // Whether one object serves every thread of a buyer process (its state
  // is that process's memory, and a thread opens nothing of its own);
  // otherwise each thread makes and attaches its own, as each process does.
  virtual bool SharedByThreads() const { return false; }

  // From now on, in this process, a lock another process holds is not
  // waited for: the operation fails at once (SQLite: a busy timeout of 0,
  // and SQLITE_BUSY). A controlled schedule, where only one process moves
  // at a time, calls it after Attach.
  virtual void NeverWait() {}

  // Sets what Write calls between the two halves of a write that has two
  // (the file store: after truncating and before writing, or after writing
  // the temporary and before renaming it), where a controlled schedule
  // stops the writer; empty: nothing.
  void SetMidWrite(std::function<void()> hook) { mid_write_ = std::move(hook); }

 protected:
  void MidWrite() {
    if (mid_write_) mid_write_();
  }

 private:
  std::function<void()> mid_write_;
};

// Whether a store of `spec` writes in two halves (SetMidWrite).
bool WritesInTwoHalves(const StoreSpec& spec);
// Whether its first half leaves the count unreadable (the file store's
// truncate: readers find the file empty until the second half).
bool EmptiesWhileWriting(const StoreSpec& spec);

// Sleeps for `ms` milliseconds (fractions allowed); returns at once for 0.
void SleepFor(double ms);
inline void SleepMs(double ms) {
  if (ms > 0) SleepFor(ms);  // inline: most purchases have no delay at all
}

}  // namespace ticketsim

#endif  // TICKETSIM_STORAGE_TICKET_STORE_H_
