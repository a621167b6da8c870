// ShmStore: the count in a named Boost.Interprocess shared memory object,
// mapped by every buyer: the tutorial's multiprocessing.Value.
#ifndef TICKETSIM_STORAGE_SHM_STORE_H_
#define TICKETSIM_STORAGE_SHM_STORE_H_

#include <atomic>

#include "storage/shm_segment.h"
#include "storage/ticket_store.h"

namespace ticketsim {

// Final, with its steps inline: a buyer holding a ShmStore* calls them
// directly (sim/buyers/buyer.cc's summary fast path), with no status left to
// build once they are inlined.
class ShmStore final : public TicketStore {
 public:
  explicit ShmStore(const RunNames& names);

  Status Create(int64_t initial) override;
  Status Attach() override;
  void Detach() override { segment_.Close(); }
  Status Read(Reading* out) override {
    out->count = count()->load(std::memory_order_acquire);
    return Status::Ok();
  }
  Status Write(int64_t value) override {
    count()->store(value, std::memory_order_release);
    return Status::Ok();
  }
  Status TakeOne(int64_t* seat) override {
    int64_t seen = count()->load(std::memory_order_acquire);
    // On failure compare_exchange reloads `seen`; stop once it reaches 0.
    while (seen > 0 && !count()->compare_exchange_weak(
                           seen, seen - 1, std::memory_order_acq_rel)) {
    }
    *seat = seen > 0 ? seen : 0;
    return Status::Ok();
  }
  bool HasAtomicStep() const override { return true; }
  std::string Location() const override { return "/dev/shm/" + name_; }
  std::vector<std::string> ObjectPurposes() const override {
    return {kPurpose};
  }

 private:
  static constexpr const char* kPurpose = "store";

  // The count is a std::atomic so that plain loads and stores by several
  // processes are defined behaviour; read-modify-write still races, because a
  // separate load and store leave the window open between them.
  std::atomic<int64_t>* count() const {
    return segment_.As<std::atomic<int64_t>>();
  }

  const std::string name_;
  ShmSegment segment_;
};

}  // namespace ticketsim

#endif  // TICKETSIM_STORAGE_SHM_STORE_H_
