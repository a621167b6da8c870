// PgStore: the count in a table of a PostgreSQL server, through libpq.
//
// The table is ticketsim_<run id> (one row, one column `count`), created by
// Create and dropped by Destroy; nothing else in the database is touched.
// Each process opens its own connection in Attach (a connection must never
// cross a fork), and every statement is prepared once there.
//
// The PostgreSQL lessons, and how a scenario reaches each:
//   read-modify-write in autocommit (guard none): SELECT, then UPDATE SET
//     count = <value read>; each commits on its own: lost updates.
//   the same in one transaction (store.isolation): read committed still
//     loses updates (the UPDATE waits for the other's commit, then writes
//     over it); repeatable read and serializable refuse the second writer
//     with SQLSTATE 40001 (Conflict), which a retry of the whole
//     transaction gets past.
//   SELECT ... FOR UPDATE before the read (guard pg-row-lock), or a session
//     advisory lock (guard pg-advisory): correct.
//   UPDATE ... SET count = count - 1 WHERE count > 0 RETURNING count
//     (method atomic): correct in one statement.
//
// How errors come back: SQLSTATE 40001 and 40P01 are Conflict, 55P03 (a
// lock not available in time) Busy, class 53 (out of memory, disk or
// connections) Environment; a connection that broke while a change was in
// flight (an UPDATE outside a transaction, a COMMIT) is Lost: it may or may
// not have happened; with nothing in flight, IOError. A server that cannot
// be reached (a connection not made) is Environment: the run failed, not a
// purchase. Every message names the table, the SQLSTATE and the server's
// own words (its lines kept), never a password (storage/pg_connect.h).
#ifndef TICKETSIM_STORAGE_PG_STORE_H_
#define TICKETSIM_STORAGE_PG_STORE_H_

#include <cstdint>
#include <initializer_list>
#include <string>

#include "storage/ticket_store.h"

// libpq's connection and result, kept out of every includer's namespace.
typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace ticketsim {

class PgStore : public TicketStore {
 public:
  PgStore(const StoreSpec& spec, const RunNames& names);
  ~PgStore() override { Detach(); }

  Status Create(int64_t initial) override;
  void Destroy() override;
  Status Attach() override;
  void Detach() override;
  Status Read(Reading* out) override;
  Status Write(int64_t count) override;
  Status TakeOne(int64_t* seat) override;
  bool HasAtomicStep() const override { return true; }
  // "table ticketsim_<id> on host=... port=... dbname=... user=...".
  std::string Location() const override;
  // Every lock is waited for at most a millisecond (lock_timeout), so a
  // statement another process blocks fails with Busy.
  void NeverWait() override;

  // A transaction on this process's connection, for the pg guards and the
  // isolation of a read-modify-write purchase. Autocommit begins one at
  // read committed, PostgreSQL's default.
  Status Begin(PgIsolation isolation);
  // Commit returns Conflict when the server cannot serialize it (the
  // transaction is then gone), Lost when the connection broke meanwhile.
  Status Commit();
  // Never fails: no transaction open is fine.
  void Rollback();
  bool in_transaction() const;

  // SELECT count ... FOR UPDATE inside the open transaction: waits up to
  // `timeout_ms` for the row (0: not at all, NOWAIT), then Timeout. On any
  // failure the transaction is rolled back.
  Status LockRow(int64_t timeout_ms);
  // The run's session advisory lock: waits up to `timeout_ms` (0: one
  // try), then Timeout. Held until AdvisoryUnlock or the session ends.
  Status AdvisoryLock(int64_t timeout_ms);
  Status AdvisoryUnlock();

  const std::string& table() const { return table_; }
  PgIsolation isolation() const { return spec_.isolation; }

 private:
  enum Statement {
    kSelect,
    kUpdate,
    kTake,
    kLockRow,
    kLockRowNowait,
    kAdvisoryLock,
    kAdvisoryTry,
    kAdvisoryUnlock,
    kSetLockTimeout,
    kCommit,
    kRollback,
    kNumStatements
  };

  // Opens a connection with the run's conninfo and the options that bound
  // every wait on the network.
  Status Connect(PGconn** out) const;
  // Runs a prepared statement; `value` (if given) receives the first column
  // of the first row (a boolean as 0 or 1), *has_row whether there was one.
  Status Run(Statement which, std::initializer_list<std::string> params = {},
             int64_t* value = nullptr, bool* has_row = nullptr);
  // Sets the session's lock_timeout, in milliseconds (0 waits forever).
  Status SetLockTimeout(int64_t ms);
  // The status of a failed result on `db` (or of no result at all);
  // `changes`: whether a broken connection leaves the outcome unknown
  // (Lost).
  Status Error(PGconn* db, const char* what, PGresult* result,
               bool changes) const;
  // `text` with the password, if the conninfo holds one, blanked out.
  std::string Scrubbed(std::string text) const;

  StoreSpec spec_;
  const std::string table_;
  const int64_t advisory_key_;
  std::string password_;  // to blank out of messages; never shown
  std::string server_;    // where, for messages: host, port, dbname, user
  int64_t lock_timeout_ms_;
  PGconn* db_ = nullptr;
};

}  // namespace ticketsim

#endif  // TICKETSIM_STORAGE_PG_STORE_H_
