// pg-row-lock: SELECT count ... FOR UPDATE inside a transaction on the
// buyer's own connection. The row stays locked until COMMIT (Release) or
// ROLLBACK (Abort); a holder that dies is rolled back by the server, which
// frees the row. The store does the SQL (pg_store.h explains the lessons);
// the guard only says when the transaction starts and ends.
//
// The same class, without the row lock, is the transaction a read-modify-
// write purchase runs in under store.isolation with guard none: BEGIN at
// the isolation level, nothing locked until the UPDATE.
#include "sim/guards/guard_kinds.h"

namespace ticketsim {
namespace {

class PgTransactionGuard : public Guard {
 public:
  PgTransactionGuard(PgStore* store, PgIsolation isolation, bool lock_row)
      : store_(store), isolation_(isolation), lock_row_(lock_row) {}

  // The row is waited for up to `timeout_ms` (the server's lock_timeout);
  // 0 is one try (NOWAIT). A failed lock rolls the transaction back.
  Status Acquire(int64_t timeout_ms, bool* recovered) override {
    *recovered = false;
    Status s = store_->Begin(isolation_);
    if (s.ok() && lock_row_) s = store_->LockRow(timeout_ms);
    if (!s.ok()) store_->Rollback();
    return s;
  }

  Status TryAcquire(bool* recovered) override { return Acquire(0, recovered); }

  Status Release() override { return store_->Commit(); }

  void Abort() override { store_->Rollback(); }

  bool Transactional() const override { return true; }

 private:
  PgStore* const store_;
  const PgIsolation isolation_;
  const bool lock_row_;
};

}  // namespace

std::unique_ptr<Guard> MakePgRowLockGuard(PgStore* store, PgIsolation isolation,
                                          bool lock_row) {
  return std::make_unique<PgTransactionGuard>(store, isolation, lock_row);
}

}  // namespace ticketsim
