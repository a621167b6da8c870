#include "storage/pg_store.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <cctype>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <vector>

#include "storage/pg_connect.h"

namespace ticketsim {
namespace {

// ticketsim.<uid>.<pid>.<random>[.e<n>] -> ticketsim_<random>[_e<n>]: the
// run's random part, so that runs (and a run's events) never share a table.
std::string TableOf(const RunNames& names) {
  std::string_view tag = names.tag;
  // Past "ticketsim", the uid and the pid.
  for (int dots = 0; dots < 3; ++dots) {
    const size_t dot = tag.find('.');
    if (dot == std::string_view::npos) break;
    tag.remove_prefix(dot + 1);
  }
  std::string table = "ticketsim_";
  for (char c : tag) {
    const unsigned char u = static_cast<unsigned char>(c);
    table += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '_';
  }
  return table;
}

// The advisory lock's key: the table's name hashed (FNV-1a) to the 64 bits
// pg_advisory_lock takes. Runs of the same database never share one.
int64_t KeyOf(const std::string& table) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : table) {
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  }
  return static_cast<int64_t>(h);
}

struct StatementText {
  const char* sql;   // with {} for the table
  const char* what;  // for messages: "write ticketsim_x: ..."
};
constexpr StatementText kStatements[] = {
    {"SELECT count FROM {}", "read"},
    {"UPDATE {} SET count = $1", "write"},
    {"UPDATE {} SET count = count - 1 WHERE count > 0 RETURNING count",
     "take a ticket from"},
    {"SELECT count FROM {} FOR UPDATE", "lock the row of"},
    {"SELECT count FROM {} FOR UPDATE NOWAIT", "lock the row of"},
    {"SELECT pg_advisory_lock($1)", "take the advisory lock of"},
    {"SELECT pg_try_advisory_lock($1)", "take the advisory lock of"},
    {"SELECT pg_advisory_unlock($1)", "give back the advisory lock of"},
    {"SELECT set_config('lock_timeout', $1, $2)", "set the lock timeout for"},
    {"COMMIT", "commit to"},
    {"ROLLBACK", "roll back"},
};

const char* BeginSql(PgIsolation isolation) {
  switch (isolation) {
    case PgIsolation::kAutocommit:
    case PgIsolation::kReadCommitted:
      return "BEGIN ISOLATION LEVEL READ COMMITTED";
    case PgIsolation::kRepeatableRead:
      return "BEGIN ISOLATION LEVEL REPEATABLE READ";
    case PgIsolation::kSerializable:
      return "BEGIN ISOLATION LEVEL SERIALIZABLE";
  }
  return "BEGIN";
}

// A connection's trouble, not a statement's: the link or the server went
// (class 08, or the server shutting down: 57P01-57P03), or no SQLSTATE.
bool ConnectionTrouble(PGconn* db, const char* state) {
  if (db == nullptr || PQstatus(db) == CONNECTION_BAD) return true;
  if (state == nullptr) return true;
  return std::strncmp(state, "08", 2) == 0 ||
         std::strcmp(state, "57P01") == 0 || std::strcmp(state, "57P02") == 0 ||
         std::strcmp(state, "57P03") == 0;
}

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

// The result of the statement just sent (`sent`: what PQsend... returned:
// 0 if it could not be), waited for as the run's watch allows.
Status Awaited(PGconn* db, int sent, Result* out) {
  PGresult* got = nullptr;
  const Status s = sent != 0 ? PgAwaitResult(db, &got) : Status::Ok();
  out->reset(got);
  return s;
}

// How long a connection may take to be made.
constexpr int64_t kConnectLimitMs = 10000;

}  // namespace

PgStore::PgStore(const StoreSpec& spec, const RunNames& names)
    : spec_(spec),
      table_(TableOf(names)),
      advisory_key_(KeyOf(table_)),
      lock_timeout_ms_(spec.busy_timeout_ms) {
  // Until the run fills conninfo in, an existing server's url is it.
  if (spec_.conninfo.empty()) spec_.conninfo = spec_.url;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(spec_.conninfo.c_str(), &error);
  PQfreemem(error);
  if (options == nullptr) {
    server_ = "the server of store.url";
    return;
  }
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || *o->val == '\0') continue;
    const std::string_view key = o->keyword;
    if (key == "password") {
      password_ = o->val;
    } else if (key == "host" || key == "hostaddr" || key == "port" ||
               key == "dbname" || key == "user") {
      server_ +=
          fmt::format("{}{}={}", server_.empty() ? "" : " ", key, o->val);
    }
  }
  PQconninfoFree(options);
  if (server_.empty()) server_ = "the default server";
}

std::string PgStore::Scrubbed(std::string text) const {
  text = HidePasswords(text);
  if (password_.empty()) return text;
  for (size_t at = 0; (at = text.find(password_, at)) != std::string::npos;) {
    text.replace(at, password_.size(), "********");
    at += 8;
  }
  return text;
}

std::string PgStore::Location() const {
  return fmt::format("table {} on {}", table_, server_);
}

Status PgStore::Connect(PGconn** out) const {
  // The run's conninfo comes last (expand_dbname), so what it says itself
  // wins. The keepalives and tcp_user_timeout matter over TCP only: a cut
  // link ends a statement instead of hanging it.
  const char* keys[] = {"keepalives",
                        "keepalives_idle",
                        "keepalives_interval",
                        "keepalives_count",
                        "tcp_user_timeout",
                        "application_name",
                        "dbname",
                        nullptr};
  const char* values[] = {
      "1", "5", "1", "3", "5000", "ticketsim", spec_.conninfo.c_str(), nullptr};
  const Status s = PgConnect(keys, values, kConnectLimitMs, out);
  if (s.ok()) return s;
  // A server that cannot be reached fails the run, not the scenario.
  return Status::Environment(
      fmt::format("could not connect to PostgreSQL ({}): {}", server_,
                  Scrubbed(ServerLines(s.message()))));
}

Status PgStore::Error(PGconn* db, const char* what, PGresult* result,
                      bool changes) const {
  const char* state = result != nullptr
                          ? PQresultErrorField(result, PG_DIAG_SQLSTATE)
                          : nullptr;
  const char* primary =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY)
                        : nullptr;
  const std::string why =
      Scrubbed(ServerLines(primary != nullptr ? primary : PQerrorMessage(db)));
  const std::string msg = fmt::format("{} {}: {} (SQLSTATE {})", what, table_,
                                      why, state != nullptr ? state : "none");
  if (ConnectionTrouble(db, state)) {
    if (changes) {
      return Status::Lost(fmt::format(
          "{}; the connection broke with the change in flight: it may or "
          "may not have happened",
          msg));
    }
    // A purchase failed: the link may come back (a partition), and a
    // server that went fails the run where the run sees it go.
    return Status::IOError(msg);
  }
  if (std::strcmp(state, "40001") == 0 || std::strcmp(state, "40P01") == 0) {
    return Status::Conflict(msg);
  }
  if (std::strcmp(state, "55P03") == 0) return Status::Busy(msg);
  if (std::strncmp(state, "53", 2) == 0) return Status::Environment(msg);
  return Status::IOError(msg);
}

Status PgStore::Create(int64_t initial) {
  PGconn* db = nullptr;
  Status s = Connect(&db);
  if (!s.ok()) return s;
  // Fails if the table exists: a run never takes over another's.
  const std::string sql = fmt::format(
      "CREATE TABLE {0} (count bigint NOT NULL); "
      "INSERT INTO {0} VALUES ({1})",
      table_, initial);
  Result result(nullptr, &PQclear);
  s = Awaited(db, PQsendQuery(db, sql.c_str()), &result);
  if (s.ok() && PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
    s = Error(db, "create", result.get(), false);
  }
  PQfinish(db);
  return s;
}

void PgStore::Destroy() {
  // A connection of its own: the parent's may be gone or mid-transaction.
  PGconn* db = nullptr;
  if (!Connect(&db).ok()) return;  // the server went, and the table with it
  const std::string sql = fmt::format("DROP TABLE IF EXISTS {}", table_);
  Result result(nullptr, &PQclear);
  Awaited(db, PQsendQuery(db, sql.c_str()), &result);
  PQfinish(db);
}

Status PgStore::Attach() {
  if (db_ != nullptr) return Status::Ok();
  Status s = Connect(&db_);
  if (!s.ok()) return s;
  for (int i = 0; i < kNumStatements; ++i) {
    const std::string sql =
        fmt::format(fmt::runtime(kStatements[i].sql), table_);
    const std::string name = fmt::format("s{}", i);
    Result result(nullptr, &PQclear);
    s = Awaited(db_, PQsendPrepare(db_, name.c_str(), sql.c_str(), 0, nullptr),
                &result);
    if (s.ok() && PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      s = Error(db_, "prepare statements for", result.get(), false);
    }
    if (!s.ok()) {
      Detach();
      return s;
    }
  }
  s = SetLockTimeout(lock_timeout_ms_);
  if (!s.ok()) Detach();
  return s;
}

void PgStore::Detach() {
  if (db_ != nullptr) PQfinish(db_);
  db_ = nullptr;
}

Status PgStore::Run(Statement which, std::initializer_list<std::string> params,
                    int64_t* value, bool* has_row) {
  if (db_ == nullptr) {
    return Status::IOError(fmt::format("{}: not connected", table_));
  }
  // Outside a transaction an UPDATE commits as it runs; inside one, only
  // COMMIT does (a broken link rolls the rest back).
  const bool in_transaction = PQtransactionStatus(db_) != PQTRANS_IDLE;
  const bool changes =
      which == kCommit ||
      ((which == kUpdate || which == kTake) && !in_transaction);
  std::vector<const char*> texts;
  for (const std::string& p : params) texts.push_back(p.c_str());
  const std::string name = fmt::format("s{}", static_cast<int>(which));
  Result result(nullptr, &PQclear);
  const int sent =
      PQsendQueryPrepared(db_, name.c_str(), static_cast<int>(texts.size()),
                          texts.data(), nullptr, nullptr, 0);
  if (Status s = Awaited(db_, sent, &result); !s.ok()) return s;
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return Error(db_, kStatements[which].what, result.get(), changes);
  }
  if (has_row != nullptr) *has_row = PQntuples(result.get()) > 0;
  if (value != nullptr && PQntuples(result.get()) > 0) {
    const char* text = PQgetvalue(result.get(), 0, 0);
    if (std::strcmp(text, "t") == 0 || std::strcmp(text, "f") == 0) {
      *value = text[0] == 't';  // a boolean: pg_try_advisory_lock
    } else {
      *value = std::strtoll(text, nullptr, 10);
    }
  }
  return Status::Ok();
}

Status PgStore::SetLockTimeout(int64_t ms) {
  return Run(kSetLockTimeout, {fmt::format("{}", ms), "false"});
}

Status PgStore::Read(Reading* out) {
  bool found = false;
  Status s = Run(kSelect, {}, &out->count, &found);
  if (s.ok() && !found) return Status::Corrupt("no row in " + table_);
  return s;
}

Status PgStore::Write(int64_t count) {
  return Run(kUpdate, {fmt::format("{}", count)});
}

Status PgStore::TakeOne(int64_t* seat) {
  int64_t after = 0;
  bool took = false;
  Status s = Run(kTake, {}, &after, &took);
  *seat = s.ok() && took ? after + 1 : 0;
  return s;
}

void PgStore::NeverWait() {
  lock_timeout_ms_ = 1;
  if (db_ != nullptr) SetLockTimeout(lock_timeout_ms_);
}

Status PgStore::Begin(PgIsolation isolation) {
  if (db_ == nullptr) {
    return Status::IOError(fmt::format("{}: not connected", table_));
  }
  Result result(nullptr, &PQclear);
  Status s = Awaited(db_, PQsendQuery(db_, BeginSql(isolation)), &result);
  if (s.ok() && PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
    s = Error(db_, "begin a transaction on", result.get(), false);
  }
  return s;
}

Status PgStore::Commit() {
  Status s = Run(kCommit);
  if (!s.ok()) Rollback();
  return s;
}

void PgStore::Rollback() {
  if (db_ != nullptr && PQtransactionStatus(db_) != PQTRANS_IDLE) {
    Run(kRollback);
  }
}

bool PgStore::in_transaction() const {
  return db_ != nullptr && PQtransactionStatus(db_) != PQTRANS_IDLE;
}

Status PgStore::LockRow(int64_t timeout_ms) {
  // SET LOCAL: the wait's limit ends with the transaction, whichever way.
  Status s = timeout_ms > 0
                 ? Run(kSetLockTimeout, {fmt::format("{}", timeout_ms), "true"})
                 : Status::Ok();
  if (s.ok()) s = Run(timeout_ms > 0 ? kLockRow : kLockRowNowait);
  if (s.ok() && timeout_ms > 0) {
    s = Run(kSetLockTimeout, {fmt::format("{}", lock_timeout_ms_), "true"});
  }
  if (!s.ok()) Rollback();
  if (s.code() == Status::Code::kBusy) return Status::Timeout(s.message());
  return s;
}

Status PgStore::AdvisoryLock(int64_t timeout_ms) {
  const std::string key = fmt::format("{}", advisory_key_);
  if (timeout_ms <= 0) {
    int64_t took = 0;
    Status s = Run(kAdvisoryTry, {key}, &took);
    if (s.ok() && took == 0) {
      return Status::Timeout(
          fmt::format("the advisory lock of {} is held", table_));
    }
    return s;
  }
  Status s = SetLockTimeout(timeout_ms);
  if (s.ok()) s = Run(kAdvisoryLock, {key});
  if (Status reset = SetLockTimeout(lock_timeout_ms_); s.ok()) s = reset;
  if (s.code() == Status::Code::kBusy) return Status::Timeout(s.message());
  return s;
}

Status PgStore::AdvisoryUnlock() {
  int64_t held = 0;
  Status s = Run(kAdvisoryUnlock, {fmt::format("{}", advisory_key_)}, &held);
  if (s.ok() && held == 0) {
    return Status::IOError(
        fmt::format("the advisory lock of {} was not held", table_));
  }
  return s;
}

}  // namespace ticketsim
