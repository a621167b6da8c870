#include "tests/failing_store.h"

#include <utility>

namespace ticketsim::testing {

FailingStore::FailingStore(std::unique_ptr<TicketStore> real)
    : real_(std::move(real)) {
  // SetMidWrite is the base class's own, not virtual: a hook set on this
  // wrapper is reached through the real store's writes.
  real_->SetMidWrite([this] { MidWrite(); });
}

void FailingStore::Fail(StoreCall call, Status status, int64_t nth) {
  faults_[static_cast<size_t>(call)] = Fault{std::move(status), nth};
}

std::optional<Status> FailingStore::Counted(StoreCall call) {
  const size_t at = static_cast<size_t>(call);
  const int64_t made = ++calls_[at];
  const std::optional<Fault>& fault = faults_[at];
  if (!fault.has_value() || (fault->nth != 0 && fault->nth != made)) {
    return std::nullopt;
  }
  return fault->status;
}

Status FailingStore::Create(int64_t initial) {
  if (auto failed = Counted(StoreCall::kCreate)) return *failed;
  return real_->Create(initial);
}

Status FailingStore::Attach() {
  if (auto failed = Counted(StoreCall::kAttach)) return *failed;
  return real_->Attach();
}

Status FailingStore::Read(Reading* out) {
  if (auto failed = Counted(StoreCall::kRead)) return *failed;
  return real_->Read(out);
}

Status FailingStore::Write(int64_t count) {
  if (auto failed = Counted(StoreCall::kWrite)) return *failed;
  return real_->Write(count);
}

Status FailingStore::TakeOne(int64_t* seat) {
  if (auto failed = Counted(StoreCall::kTakeOne)) return *failed;
  return real_->TakeOne(seat);
}

}  // namespace ticketsim::testing
