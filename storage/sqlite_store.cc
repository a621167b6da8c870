#include "storage/sqlite_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstring>
#include <iterator>

namespace ticketsim {
namespace {

// The one row's key: each event of a scenario has a database of its own.
constexpr const char* kEvent = "main";

constexpr const char* kStatementSql[] = {
    "SELECT count FROM tickets WHERE event = ?1",
    "UPDATE tickets SET count = ?2 WHERE event = ?1",
    "UPDATE tickets SET count = count - 1 WHERE event = ?1 AND count > 0 "
    "RETURNING count",
    "BEGIN IMMEDIATE",
    "BEGIN DEFERRED",
    "COMMIT",
    "ROLLBACK",
};

// What each statement does to the database, for an error's message:
// "write /tmp/.../tickets.db: database or disk is full (SQLITE_FULL)".
constexpr const char* kStatementWhat[] = {
    "read",
    "write",
    "take a ticket from",
    "begin a transaction on",
    "begin a transaction on",
    "commit to",
    "roll back",
};
static_assert(std::size(kStatementWhat) == std::size(kStatementSql));

// The name of a result code's primary code, which SQLite's API does not give.
const char* PrimaryName(int rc) {
  switch (rc & 0xff) {
    case SQLITE_ERROR:
      return "SQLITE_ERROR";
    case SQLITE_PERM:
      return "SQLITE_PERM";
    case SQLITE_BUSY:
      return "SQLITE_BUSY";
    case SQLITE_LOCKED:
      return "SQLITE_LOCKED";
    case SQLITE_NOMEM:
      return "SQLITE_NOMEM";
    case SQLITE_READONLY:
      return "SQLITE_READONLY";
    case SQLITE_IOERR:
      return "SQLITE_IOERR";
    case SQLITE_CORRUPT:
      return "SQLITE_CORRUPT";
    case SQLITE_FULL:
      return "SQLITE_FULL";
    case SQLITE_CANTOPEN:
      return "SQLITE_CANTOPEN";
    case SQLITE_PROTOCOL:
      return "SQLITE_PROTOCOL";
    case SQLITE_SCHEMA:
      return "SQLITE_SCHEMA";
    case SQLITE_CONSTRAINT:
      return "SQLITE_CONSTRAINT";
    case SQLITE_MISUSE:
      return "SQLITE_MISUSE";
    case SQLITE_NOTADB:
      return "SQLITE_NOTADB";
  }
  return "SQLITE error";
}

// Out of disk, memory or descriptors, or the device failed: the machine's
// doing, not a lesson of the scenario (SQLITE_BUSY and SQLITE_LOCKED are).
bool EnvironmentCode(int rc) {
  switch (rc & 0xff) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
      return true;
  }
  return false;
}

// The database's file in the run directory.
constexpr const char* kDatabaseName = "tickets.db";

}  // namespace

SqliteStore::SqliteStore(const StoreSpec& spec, const RunNames& names)
    : spec_(spec), names_(names), path_(names.File(kDatabaseName)) {}

Status SqliteStore::Error(const std::string& context, int rc) const {
  std::string msg =
      fmt::format("{} {}: {} ({}", context, path_,
                  db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc),
                  PrimaryName(rc));
  // The system call's own error says which resource ran out.
  const int err = db_ != nullptr ? sqlite3_system_errno(db_) : 0;
  if (EnvironmentCode(rc) && err != 0) {
    msg += fmt::format(": {}", std::strerror(err));
  }
  msg += ")";
  const int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return Status::Busy(msg);
  }
  if (EnvironmentCode(rc)) return Status::Environment(msg);
  return Status::IOError(msg);
}

Status SqliteStore::Create(int64_t initial) {
  // The database file is made (empty: SQLite makes it a database) through
  // the run directory's descriptor, and must not exist yet, so that a stale
  // or planted file is never opened.
  int fd = -1;
  Status s =
      OpenInRunDirectory(names_, kDatabaseName, O_RDWR | O_CREAT | O_EXCL, &fd);
  if (!s.ok()) return s;
  close(fd);
  s = Attach();
  if (!s.ok()) return s;
  const std::string sql = fmt::format(
      "PRAGMA journal_mode = {};"
      "CREATE TABLE tickets (event TEXT PRIMARY KEY, count INTEGER NOT NULL);"
      "INSERT INTO tickets VALUES ('{}', {});",
      WordOf(kSqliteJournals, spec_.journal), kEvent, initial);
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);  // the connection keeps the same message
  if (rc != SQLITE_OK) s = Error("create", rc);
  Detach();
  return s;
}

Status SqliteStore::Attach() {
  if (db_ != nullptr) return Status::Ok();
  // SQLite takes a path: it must still lead into the run's directory.
  if (Status s = CheckRunDirectory(names_); !s.ok()) return s;
  int rc = sqlite3_open_v2(
      path_.c_str(), &db_,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
      nullptr);
  if (rc != SQLITE_OK) {
    Status s = Error("open", rc);
    Detach();
    return s;
  }
  sqlite3_busy_timeout(db_, spec_.busy_timeout_ms);
  // In WAL mode NORMAL still never corrupts the database; it only skips the
  // fsync per commit that this simulation has no use for.
  sqlite3_exec(db_, "PRAGMA synchronous = NORMAL", nullptr, nullptr, nullptr);
  for (int i = 0; i < kNumStatements; ++i) {
    rc =
        sqlite3_prepare_v3(db_, kStatementSql[i], -1, SQLITE_PREPARE_PERSISTENT,
                           &statements_[i], nullptr);
    if (rc == SQLITE_OK) continue;
    // The table does not exist yet while Create is running (SQLITE_ERROR:
    // no such table); anything else, such as a WAL file that could not be
    // opened, leaves the store unusable.
    if (rc == SQLITE_ERROR && i <= kTake) {
      statements_[i] = nullptr;
      continue;
    }
    Status s = Error("open", rc);
    Detach();
    return s;
  }
  return Status::Ok();
}

void SqliteStore::Detach() {
  for (sqlite3_stmt*& statement : statements_) {
    sqlite3_finalize(statement);
    statement = nullptr;
  }
  sqlite3_close(db_);
  db_ = nullptr;
}

Status SqliteStore::Step(Statement which, int64_t* row, bool* has_row) {
  sqlite3_stmt* statement = statements_[which];
  if (statement == nullptr) {
    return Status::IOError(fmt::format("{}: no table tickets", path_));
  }
  if (which <= kTake) {
    sqlite3_bind_text(statement, 1, kEvent, -1, SQLITE_STATIC);
  }
  if (has_row != nullptr) *has_row = false;
  int rc;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    if (row != nullptr && (has_row == nullptr || !*has_row)) {
      *row = sqlite3_column_int64(statement, 0);
      if (has_row != nullptr) *has_row = true;
    }
  }
  sqlite3_reset(statement);
  if (rc != SQLITE_DONE) return Error(kStatementWhat[which], rc);
  return Status::Ok();
}

Status SqliteStore::Read(Reading* out) {
  bool found = false;
  Status s = Step(kSelect, &out->count, &found);
  if (s.ok() && !found) return Status::Corrupt("no row for the event");
  return s;
}

Status SqliteStore::Write(int64_t count) {
  if (statements_[kUpdate] != nullptr) {
    sqlite3_bind_int64(statements_[kUpdate], 2, count);
  }
  return Step(kUpdate);
}

Status SqliteStore::TakeOne(int64_t* seat) {
  int64_t after = 0;
  bool took = false;
  Status s = Step(kTake, &after, &took);
  *seat = took ? after + 1 : 0;
  return s;
}

void SqliteStore::NeverWait() {
  spec_.busy_timeout_ms = 0;
  if (db_ != nullptr) sqlite3_busy_timeout(db_, 0);
}

Status SqliteStore::Begin(bool immediate, int64_t timeout_ms) {
  sqlite3_busy_timeout(db_, static_cast<int>(timeout_ms));
  Status s = Step(immediate ? kBeginImmediate : kBeginDeferred);
  sqlite3_busy_timeout(db_, spec_.busy_timeout_ms);
  return s;
}

Status SqliteStore::Commit() { return Step(kCommit); }

void SqliteStore::Rollback() {
  if (sqlite3_get_autocommit(db_) == 0) Step(kRollback);
}

}  // namespace ticketsim
