// MemoryStore: the count as a variable of the buyer process, which its
// threads share without asking: the tutorial's global `g_num`
// (buyers.mode = "thread" only; docs/threads.md).
//
// The variable is a std::atomic read and written with relaxed order, as
// separate load and store: the unguarded read-modify-write still loses
// updates (another thread's store lands between this one's load and
// store), but the race is a defined one. A plain `int64_t` read and
// written by two threads would be a data race, undefined behaviour, which
// the compiler may assume away (keep the count in a register for the whole
// loop, and fold a thousand decrements into one).
//
// It lives in a page the parent maps shared before it forks the buyer
// process, so that the parent can read the final count after the buyer
// process has ended; it has no name and nothing to remove.
#ifndef TICKETSIM_STORAGE_MEMORY_STORE_H_
#define TICKETSIM_STORAGE_MEMORY_STORE_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "storage/ticket_store.h"

namespace ticketsim {

class MemoryStore final : public TicketStore {
 public:
  MemoryStore() = default;
  ~MemoryStore() override;

  Status Create(int64_t initial) override;
  // Nothing to open: the page is there since Create, in every thread.
  Status Attach() override { return Status::Ok(); }
  void Detach() override {}
  Status Read(Reading* out) override {
    out->count = count_->load(std::memory_order_relaxed);
    return Status::Ok();
  }
  Status Write(int64_t value) override {
    count_->store(value, std::memory_order_relaxed);
    return Status::Ok();
  }
  // One step: the count is lowered only from the value just seen, so two
  // threads never sell the same seat (on failure `seen` is reloaded).
  Status TakeOne(int64_t* seat) override {
    int64_t seen = count_->load(std::memory_order_relaxed);
    while (seen > 0 && !count_->compare_exchange_weak(
                           seen, seen - 1, std::memory_order_relaxed)) {
    }
    *seat = seen > 0 ? seen : 0;
    return Status::Ok();
  }
  bool HasAtomicStep() const override { return true; }
  std::string Location() const override {
    return "a variable of the buyer process";
  }
  // One object for every thread: there is nothing a thread opens itself.
  bool SharedByThreads() const override { return true; }

 private:
  std::atomic<int64_t>* count_ = nullptr;
};

}  // namespace ticketsim

#endif  // TICKETSIM_STORAGE_MEMORY_STORE_H_
