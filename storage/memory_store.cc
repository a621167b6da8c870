#include "storage/memory_store.h"

#include <sys/mman.h>

#include <cerrno>
#include <new>

namespace ticketsim {

MemoryStore::~MemoryStore() {
  if (count_ != nullptr) munmap(count_, sizeof *count_);
}

Status MemoryStore::Create(int64_t initial) {
  void* at = mmap(nullptr, sizeof *count_, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (at == MAP_FAILED) return Status::FromErrno("map the count", errno);
  count_ = new (at) std::atomic<int64_t>(initial);
  return Status::Ok();
}

Status MemoryStore::TakeOne(int64_t* seat) {
  int64_t seen = count_->load(std::memory_order_relaxed);
  // One step: the count is lowered only from the value just seen, so two
  // threads never sell the same seat (on failure `seen` is reloaded).
  while (seen > 0 && !count_->compare_exchange_weak(
                         seen, seen - 1, std::memory_order_relaxed)) {
  }
  *seat = seen > 0 ? seen : 0;
  return Status::Ok();
}

}  // namespace ticketsim
