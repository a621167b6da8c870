// The guard that guards nothing. Like SQLite's no-op mutex it is still a real,
// checked implementation: it counts enters and leaves and refuses to leave
// what it never entered, so a buyer that unbalances its steps is caught.
#include <fmt/format.h>

#include "sim/guards/guard_kinds.h"

namespace ticketsim {
namespace {

class NoGuard : public Guard {
 public:
  Status Acquire(int64_t /*timeout_ms*/, bool* recovered) override {
    *recovered = false;
    ++depth_;
    return Status::Ok();
  }
  Status Release() override {
    if (depth_ <= 0) {
      return Status::Invalid(fmt::format(
          "guard none released {} times more than acquired", 1 - depth_));
    }
    --depth_;
    return Status::Ok();
  }

 private:
  int depth_ = 0;
};

}  // namespace

std::unique_ptr<Guard> MakeNoGuard() { return std::make_unique<NoGuard>(); }

}  // namespace ticketsim
