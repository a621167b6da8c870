#include "storage/shm_segment.h"

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

namespace ticketsim {

namespace bip = boost::interprocess;

Status ShmSegment::Create(const std::string& name, size_t size,
                          const std::function<void(void*)>& init) {
  try {
    bip::shared_memory_object object(bip::create_only, name.c_str(),
                                     bip::read_write, bip::permissions(0600));
    object.truncate(static_cast<bip::offset_t>(size));
    bip::mapped_region region(object, bip::read_write);
    init(region.get_address());
    return Status::Ok();
  } catch (const bip::interprocess_exception& e) {
    return Status::IOError("create shared memory " + name + ": " + e.what());
  }
}

Status ShmSegment::Open(const std::string& name) {
  try {
    bip::shared_memory_object object(bip::open_only, name.c_str(),
                                     bip::read_write);
    region_ = bip::mapped_region(object, bip::read_write);
    return Status::Ok();
  } catch (const bip::interprocess_exception& e) {
    return Status::IOError("open shared memory " + name + ": " + e.what());
  }
}

}  // namespace ticketsim
