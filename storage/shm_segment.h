// ShmSegment: one named POSIX shared memory object, mapped: created through
// Boost.Interprocess, opened with shm_open.
// Shared by the shm store (the count) and the robust-mutex guard (the mutex),
// so both create, open and map their segment the same way.
#ifndef TICKETSIM_STORAGE_SHM_SEGMENT_H_
#define TICKETSIM_STORAGE_SHM_SEGMENT_H_

#include <cstddef>
#include <functional>
#include <string>

#include "base/status.h"

namespace ticketsim {

class ShmSegment {
 public:
  // Creates the object `name` (mode 0600, failing if it exists), reserves
  // its memory (failing with ENOSPC, and removing it, if /dev/shm is full),
  // maps it, runs `init` on the mapping, and unmaps it again: a segment is
  // made whole before anyone can open it under its final contents.
  static Status Create(const std::string& name, size_t size,
                       const std::function<void(void*)>& init);

  ShmSegment() = default;
  ShmSegment(const ShmSegment&) = delete;
  ShmSegment& operator=(const ShmSegment&) = delete;
  ~ShmSegment() { Close(); }

  // Opens and maps an existing object. Returns IOError if it does not exist.
  // Each buyer process opens its own, just after fork, so this allocates
  // nothing: in a fresh child the first write to a heap page copies it.
  Status Open(const std::string& name);
  void Close();
  bool is_open() const { return address_ != nullptr; }

  template <typename T>
  T* As() const {
    return static_cast<T*>(address_);
  }

 private:
  void* address_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ticketsim

#endif  // TICKETSIM_STORAGE_SHM_SEGMENT_H_
