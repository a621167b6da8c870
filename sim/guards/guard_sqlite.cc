// sqlite-immediate and sqlite-deferred: a transaction on the buyer's own
// connection is the guard. The store does the SQL (sqlite_store.h explains
// the three SQLite lessons); the guard only says when a transaction starts
// and ends. The guard's timeout is the busy timeout of BEGIN.
#include "sim/guards/guard_kinds.h"

namespace ticketsim {
namespace {

class SqliteGuard : public Guard {
 public:
  SqliteGuard(SqliteStore* store, bool immediate)
      : store_(store), immediate_(immediate) {}

  Status Acquire(int64_t timeout_ms, bool* recovered) override {
    *recovered = false;
    Status s = store_->Begin(immediate_, timeout_ms);
    if (s.code() == Status::Code::kBusy) return Status::Timeout(s.message());
    return s;
  }

  Status Release() override {
    Status s = store_->Commit();
    if (!s.ok()) store_->Rollback();
    return s;
  }

  void Abort() override { store_->Rollback(); }

  bool Transactional() const override { return true; }

 private:
  SqliteStore* const store_;
  const bool immediate_;
};

}  // namespace

std::unique_ptr<Guard> MakeSqliteGuard(SqliteStore* store, bool immediate) {
  return std::make_unique<SqliteGuard>(store, immediate);
}

}  // namespace ticketsim
