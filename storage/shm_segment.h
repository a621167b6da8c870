// ShmSegment: one named Boost.Interprocess shared memory object, mapped.
// Shared by the shm store (the count) and the robust-mutex guard (the mutex),
// so both create, open and map their segment the same way.
#ifndef TICKETSIM_STORAGE_SHM_SEGMENT_H_
#define TICKETSIM_STORAGE_SHM_SEGMENT_H_

#include <boost/interprocess/mapped_region.hpp>
#include <cstddef>
#include <functional>
#include <string>

#include "storage/status.h"

namespace ticketsim {

class ShmSegment {
 public:
  // Creates the object `name` (mode 0600, failing if it exists), sizes it,
  // maps it, runs `init` on the mapping, and unmaps it again: a segment is
  // made whole before anyone can open it under its final contents.
  static Status Create(const std::string& name, size_t size,
                       const std::function<void(void*)>& init);

  // Opens and maps an existing object. Returns IOError if it does not exist.
  Status Open(const std::string& name);
  void Close() { region_ = boost::interprocess::mapped_region(); }
  bool is_open() const { return region_.get_address() != nullptr; }

  template <typename T>
  T* As() const {
    return static_cast<T*>(region_.get_address());
  }

 private:
  boost::interprocess::mapped_region region_;
};

}  // namespace ticketsim

#endif  // TICKETSIM_STORAGE_SHM_SEGMENT_H_
