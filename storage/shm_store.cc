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

Status ShmStore::Read(Reading* out) {
  out->count = count()->load(std::memory_order_acquire);
  return Status::Ok();
}

Status ShmStore::Write(int64_t value) {
  count()->store(value, std::memory_order_release);
  return Status::Ok();
}

Status ShmStore::TakeOne(int64_t* seat) {
  int64_t seen = count()->load(std::memory_order_acquire);
  // On failure compare_exchange reloads `seen`; stop once it reaches 0.
  while (seen > 0 && !count()->compare_exchange_weak(
                         seen, seen - 1, std::memory_order_acq_rel)) {
  }
  *seat = seen > 0 ? seen : 0;
  return Status::Ok();
}

}  // namespace ticketsim
