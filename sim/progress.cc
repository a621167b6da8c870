#include "sim/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include "sim/buyer.h"

namespace ticketsim {
namespace {

constexpr int64_t kShowAfterNs = 1000000000;
constexpr int64_t kEveryNs = 100000000;

}  // namespace

ProgressLine::ProgressLine(std::FILE* out, bool enabled)
    : out_(out),
      active_(enabled && isatty(fileno(out))),
      start_ns_(MonotonicNs()) {}

void ProgressLine::Update(const std::string& text) {
  if (!active_) return;
  const int64_t now = MonotonicNs();
  if (now - start_ns_ < kShowAfterNs || now - last_ns_ < kEveryNs) return;
  last_ns_ = now;
  // \r back to the start, ESC[K erases the rest of the old line.
  fmt::print(out_, "\r\033[K{}", text);
  std::fflush(out_);
  shown_ = true;
}

void ProgressLine::Clear() {
  if (!shown_) return;
  fmt::print(out_, "\r\033[K");
  std::fflush(out_);
  shown_ = false;
}

}  // namespace ticketsim
