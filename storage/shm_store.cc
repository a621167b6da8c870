#include "storage/shm_store.h"

#include <new>

namespace ticketsim {

static_assert(std::atomic<int64_t>::is_always_lock_free,
              "the count must be lock-free to be shared between processes");

ShmStore::ShmStore(const RunNames& names) : name_(names.Object(kPurpose)) {}

Status ShmStore::Create(int64_t initial) {
  return ShmSegment::Create(
      name_, sizeof(std::atomic<int64_t>),
      [initial](void* at) { new (at) std::atomic<int64_t>(initial); });
}

Status ShmStore::Attach() { return segment_.Open(name_); }

}  // namespace ticketsim
