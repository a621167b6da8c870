// named-mutex: boost::interprocess::named_mutex. On Linux it is a POSIX named
// semaphore (/dev/shm/sem.<name>), so nothing releases it when its holder
// dies: the next buyer's timed wait runs out, and the run reports it. The
// wait is on the semaphore itself, against CLOCK_MONOTONIC.
#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/sync/named_mutex.hpp>
#include <optional>

#include "sim/guards/guard_kinds.h"
#include "sim/guards/guard_semaphore_wait.h"

namespace ticketsim {
namespace {

namespace bip = boost::interprocess;

class NamedMutexGuard : public Guard {
 public:
  explicit NamedMutexGuard(const RunNames& names)
      : name_(names.Object(kPurpose)) {}

  Status Create() override {
    try {
      // create_only is sem_open(O_CREAT | O_EXCL): a name that exists,
      // whoever made it, is refused, never opened.
      bip::named_mutex created(bip::create_only, name_.c_str(),
                               bip::permissions(0600));
      return Status::Ok();
    } catch (const bip::interprocess_exception& e) {
      return Status::IOError("create named mutex " + name_ + ": " + e.what());
    }
  }

  Status Attach() override {
    try {
      mutex_.emplace(bip::open_only, name_.c_str());
    } catch (const bip::interprocess_exception& e) {
      return Status::IOError("open named mutex " + name_ + ": " + e.what());
    }
    // The same semaphore again, for waits against CLOCK_MONOTONIC.
    return wait_.Open(name_);
  }
  void Detach() override {
    wait_.Close();
    mutex_.reset();
  }

  Status Acquire(int64_t timeout_ms, bool* recovered) override {
    *recovered = false;
    for (int spin = 0; spin < kTriesBeforeSleep; ++spin) {
      if (mutex_->try_lock()) return Status::Ok();
      CpuRelax();
    }
    return wait_.Wait(timeout_ms, "named mutex " + name_);
  }

  Status Release() override {
    mutex_->unlock();
    return Status::Ok();
  }

  std::vector<std::string> ObjectPurposes() const override {
    return {kPurpose};
  }

 private:
  static constexpr const char* kPurpose = "mutex";
  const std::string name_;
  std::optional<bip::named_mutex> mutex_;
  SemaphoreWait wait_;
};

}  // namespace

std::unique_ptr<Guard> MakeNamedMutexGuard(const RunNames& names) {
  return std::make_unique<NamedMutexGuard>(names);
}

}  // namespace ticketsim
