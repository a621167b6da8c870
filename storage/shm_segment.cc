#include "storage/shm_segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>

namespace ticketsim {

namespace bip = boost::interprocess;

Status ShmSegment::Create(const std::string& name, size_t size,
                          const std::function<void(void*)>& init) {
  try {
    // create_only is O_CREAT | O_EXCL: an object that exists already, under
    // any owner, is refused, never opened.
    bip::shared_memory_object object(bip::create_only, name.c_str(),
                                     bip::read_write, bip::permissions(0600));
    // Truncating makes a sparse object: its pages are found only when
    // written, and on a full /dev/shm that write through the mapping is a
    // SIGBUS. Reserving them first turns it into ENOSPC, here.
    const int rc = posix_fallocate(object.get_mapping_handle().handle, 0,
                                   static_cast<off_t>(size));
    if (rc != 0) {
      bip::shared_memory_object::remove(name.c_str());
      return Status::FromErrno("create shared memory " + name, rc);
    }
    bip::mapped_region region(object, bip::read_write);
    init(region.get_address());
    return Status::Ok();
  } catch (const bip::interprocess_exception& e) {
    return Status::IOError("create shared memory " + name + ": " + e.what());
  }
}

Status ShmSegment::Open(const std::string& name) {
  Close();
  // shm_open itself: Boost's open builds the object's path in a new string.
  const int fd = shm_open(name.c_str(), O_RDWR, 0);
  if (fd < 0) {
    return Status::FromErrno("open shared memory " + name, errno);
  }
  struct stat st {};
  const bool stated = fstat(fd, &st) == 0;
  const int stat_err = errno;
  if (!stated || st.st_size <= 0) {
    close(fd);
    return stated ? Status::IOError("shared memory " + name + " is empty")
                  : Status::FromErrno("stat shared memory " + name, stat_err);
  }
  // Populated now, while the buyer waits at the start barrier, not by a
  // page fault in the middle of its first purchase.
  void* at = mmap(nullptr, static_cast<size_t>(st.st_size),
                  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  const int err = errno;
  close(fd);
  if (at == MAP_FAILED) {
    return Status::FromErrno("map shared memory " + name, err);
  }
  address_ = at;
  size_ = static_cast<size_t>(st.st_size);
  return Status::Ok();
}

void ShmSegment::Close() {
  if (address_ != nullptr) munmap(address_, size_);
  address_ = nullptr;
  size_ = 0;
}

}  // namespace ticketsim
