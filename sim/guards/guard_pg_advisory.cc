// pg-advisory: a session-level advisory lock (pg_advisory_lock) on the
// buyer's own connection, keyed by the run's table. It is not a
// transaction: what is written under it commits at once. A holder SIGKILLed
// inside keeps it until the server notices its client is gone and ends the
// session (at once when the backend is idle, within
// client_connection_check_interval when it is busy); then the next waiter
// takes it. Nothing is abandoned, but the others wait meanwhile.
#include "sim/guards/guard_kinds.h"

namespace ticketsim {
namespace {

class PgAdvisoryGuard : public Guard {
 public:
  explicit PgAdvisoryGuard(PgStore* store) : store_(store) {}

  // Waits up to `timeout_ms` (the server's lock_timeout); 0 is one try
  // (pg_try_advisory_lock).
  Status Acquire(int64_t timeout_ms, bool* recovered) override {
    *recovered = false;
    return store_->AdvisoryLock(timeout_ms);
  }

  Status TryAcquire(bool* recovered) override {
    *recovered = false;
    return store_->AdvisoryLock(0);
  }

  Status Release() override { return store_->AdvisoryUnlock(); }

 private:
  PgStore* const store_;
};

}  // namespace

std::unique_ptr<Guard> MakePgAdvisoryGuard(PgStore* store) {
  return std::make_unique<PgAdvisoryGuard>(store);
}

}  // namespace ticketsim
