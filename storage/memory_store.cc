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

}  // namespace ticketsim
