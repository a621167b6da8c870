// named-semaphore: boost::interprocess::named_semaphore, created with
// `permits` units. A buyer takes one unit to enter and gives it back to
// leave, so up to `permits` buyers are inside at once: with one permit it
// excludes like a mutex; with more it is a box office with several windows,
// and buyers at different windows still race for the same count. Like the
// named mutex it is a POSIX named semaphore that nothing gives back when its
// holder dies.
#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/sync/named_semaphore.hpp>
#include <optional>

#include "sim/guards/guard_kinds.h"
#include "sim/guards/guard_semaphore_wait.h"

namespace ticketsim {
namespace {

namespace bip = boost::interprocess;

class NamedSemaphoreGuard : public Guard {
 public:
  NamedSemaphoreGuard(const RunNames& names, int64_t permits)
      : name_(names.Object(kPurpose)), permits_(permits) {}

  Status Create() override {
    try {
      // create_only is sem_open(O_CREAT | O_EXCL): a name that exists,
      // whoever made it, is refused, never opened.
      bip::named_semaphore created(bip::create_only, name_.c_str(),
                                   static_cast<unsigned>(permits_),
                                   bip::permissions(0600));
      return Status::Ok();
    } catch (const bip::interprocess_exception& e) {
      return Status::IOError("create named semaphore " + name_ + ": " +
                             e.what());
    }
  }

  Status Attach() override {
    try {
      semaphore_.emplace(bip::open_only, name_.c_str());
    } catch (const bip::interprocess_exception& e) {
      return Status::IOError("open named semaphore " + name_ + ": " + e.what());
    }
    // The same semaphore again, for waits against CLOCK_MONOTONIC.
    return wait_.Open(name_);
  }
  void Detach() override {
    wait_.Close();
    semaphore_.reset();
  }

  Status Acquire(int64_t timeout_ms, bool* recovered) override {
    *recovered = false;
    if (semaphore_->try_wait()) return Status::Ok();
    return wait_.Wait(timeout_ms, "named semaphore " + name_);
  }

  Status Release() override {
    semaphore_->post();
    return Status::Ok();
  }

  std::vector<std::string> ObjectPurposes() const override {
    return {kPurpose};
  }

 private:
  static constexpr const char* kPurpose = "semaphore";
  const std::string name_;
  const int64_t permits_;
  std::optional<bip::named_semaphore> semaphore_;
  SemaphoreWait wait_;
};

}  // namespace

std::unique_ptr<Guard> MakeNamedSemaphoreGuard(const RunNames& names,
                                               int64_t permits) {
  return std::make_unique<NamedSemaphoreGuard>(names, permits);
}

}  // namespace ticketsim
