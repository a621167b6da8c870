// SqliteStore: the count in a real SQLite database file, one row per event in
// the `tickets` table. Each process opens its own connection in Attach (a
// connection must never cross a fork).
//
// The three SQLite lessons, and how a scenario reaches each:
//   read-modify-write in autocommit (guard none): SELECT, then UPDATE SET
//     count = <value read>; nothing holds the row between them: lost updates.
//   BEGIN DEFERRED, SELECT, UPDATE (guard sqlite-deferred): two buyers both
//     read under a shared lock, and the second to upgrade to a writer gets
//     SQLITE_BUSY at once, whatever the busy timeout: SQLite refuses the
//     deadlock instead of waiting it out.
//   BEGIN IMMEDIATE (guard sqlite-immediate): the write lock is taken before
//     the read; correct.
#ifndef TICKETSIM_STORAGE_SQLITE_STORE_H_
#define TICKETSIM_STORAGE_SQLITE_STORE_H_

#include <sqlite3.h>

#include <string>

#include "storage/ticket_store.h"

namespace ticketsim {

class SqliteStore : public TicketStore {
 public:
  void NeverWait() override;
  SqliteStore(const StoreSpec& spec, const RunNames& names);
  ~SqliteStore() override { Detach(); }

  Status Create(int64_t initial) override;
  Status Attach() override;
  void Detach() override;
  Status Read(Reading* out) override;
  Status Write(int64_t count) override;
  Status TakeOne(int64_t* seat) override;
  bool HasAtomicStep() const override { return true; }

  // Transactions on this process's connection, for the sqlite guards.
  // Begin waits up to `timeout_ms` for the lock it asks for (immediate: the
  // write lock; deferred: none yet) and returns Busy if it runs out.
  Status Begin(bool immediate, int64_t timeout_ms);
  Status Commit();
  // Never fails: a transaction SQLite already rolled back is fine.
  void Rollback();

  std::string Location() const override { return path_; }
  const std::string& path() const { return path_; }

 private:
  enum Statement {
    kSelect,
    kUpdate,
    kTake,
    kBeginImmediate,
    kBeginDeferred,
    kCommit,
    kRollback,
    kNumStatements
  };

  // Steps a prepared statement to completion; `row` (if given) receives the
  // first column of the first row, `*has_row` whether there was one.
  Status Step(Statement which, int64_t* row = nullptr, bool* has_row = nullptr);
  Status Error(const std::string& context, int rc) const;

  StoreSpec spec_;  // busy_timeout_ms 0 once NeverWait is called
  const RunNames names_;
  const std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* statements_[kNumStatements] = {};
};

}  // namespace ticketsim

#endif  // TICKETSIM_STORAGE_SQLITE_STORE_H_
