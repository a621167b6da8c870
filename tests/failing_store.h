// FailingStore: a TicketStore that forwards every call to a real store and
// fails the one a test chooses, with the Status the test chooses, so that
// what a full disk, a store that cannot be opened or a write that goes
// wrong does to a buyer or a run can be shown without making the machine
// fail (no root, no private mounts, no tiny tmpfs).
//
// A chosen call that fails does not reach the real store: a failed Write
// leaves the count as it was, a failed Attach opens nothing. Calls are
// counted in the process that makes them: a forked buyer process counts
// its own from the counts it inherited.
#ifndef TICKETSIM_TESTS_FAILING_STORE_H_
#define TICKETSIM_TESTS_FAILING_STORE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "storage/ticket_store.h"

namespace ticketsim::testing {

// The calls of TicketStore that can fail.
enum class StoreCall { kCreate, kAttach, kRead, kWrite, kTakeOne };

class FailingStore : public TicketStore {
 public:
  explicit FailingStore(std::unique_ptr<TicketStore> real);

  // From now on, call `call` returns `status` instead of reaching the real
  // store: every time (`nth` 0: a disk that stays full), or only the
  // `nth` time it is made (1: the first), counting the calls made so far.
  void Fail(StoreCall call, Status status, int64_t nth = 0);
  // How many times `call` was made, failed or not.
  int64_t Calls(StoreCall call) const {
    return calls_[static_cast<size_t>(call)];
  }
  TicketStore& real() { return *real_; }

  Status Create(int64_t initial) override;
  void Destroy() override { real_->Destroy(); }
  Status Attach() override;
  void Detach() override { real_->Detach(); }
  Status Read(Reading* out) override;
  Status Write(int64_t count) override;
  Status TakeOne(int64_t* seat) override;
  bool HasAtomicStep() const override { return real_->HasAtomicStep(); }
  std::string Location() const override { return real_->Location(); }
  std::vector<std::string> ObjectPurposes() const override {
    return real_->ObjectPurposes();
  }
  void NeverWait() override { real_->NeverWait(); }

 private:
  static constexpr size_t kCalls = 5;
  struct Fault {
    Status status;
    int64_t nth = 0;
  };

  // Counts `call`; the status it is to fail with, if this one fails.
  std::optional<Status> Counted(StoreCall call);

  std::unique_ptr<TicketStore> real_;
  std::array<int64_t, kCalls> calls_{};
  std::array<std::optional<Fault>, kCalls> faults_;
};

}  // namespace ticketsim::testing

#endif  // TICKETSIM_TESTS_FAILING_STORE_H_
