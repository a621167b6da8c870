#include "sim/cli/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include "base/clock.h"

namespace ticketsim {
namespace {

constexpr int64_t kShowAfterNs = 1000000000;
constexpr int64_t kEveryNs = 100000000;
// Not on a terminal: what a long run is, and how often it says how far it is.
constexpr double kLongSeconds = 10;
constexpr int64_t kLogEveryNs = 10000000000;

double Mean(const MsRange& range) { return (range.min + range.max) / 2; }

// "1 h 5 min", "11 min 40 s", "12 s".
std::string Duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds);
  if (s >= 3600) return fmt::format("{} h {} min", s / 3600, s % 3600 / 60);
  if (s >= 60) return fmt::format("{} min {} s", s / 60, s % 60);
  return fmt::format("{} s", s);
}

// "20-50 ms", or "20 ms" for a range of one value.
std::string Range(const MsRange& range) {
  if (range.max <= range.min) return fmt::format("{:g} ms", range.min);
  return fmt::format("{:g}-{:g} ms", range.min, range.max);
}

// How many holders a guard lets think at once; 0: it does not exclude
// while they think (none, and BEGIN DEFERRED, which locks only at the
// write).
int64_t HoldersAtOnce(const GuardSpec& guard) {
  switch (guard.kind) {
    case GuardKind::kNone:
    case GuardKind::kSqliteDeferred:
      return 0;
    case GuardKind::kNamedSemaphore:
      return guard.permits;
    default:
      return 1;
  }
}

}  // namespace

LeastTime LeastTimeOf(const Scenario& scenario) {
  const BuyersSpec& b = scenario.buyers;
  if (scenario.program.set() || scenario.schedule.kind != ScheduleKind::kOs) {
    return {};
  }
  const int64_t processes = b.pool > 0 ? std::min(b.pool, b.count) : b.count;
  const int64_t attempts = b.count * b.attempts;
  // An atomic purchase has no window to think in.
  const double think = b.method == Method::kAtomic ? 0 : Mean(b.think_ms);
  const int64_t sales = std::min(attempts, scenario.initial);
  const int64_t at_once = HoldersAtOnce(scenario.guard);
  const int64_t thinking = at_once > 0 ? at_once : processes;
  LeastTime least;
  least.seconds =
      (Mean(b.query_delay_ms) * static_cast<double>(attempts) /
           static_cast<double>(processes) +
       think * static_cast<double>(sales) / static_cast<double>(thinking)) /
      1000;
  least.why =
      fmt::format("{} sales x {} of think time{}", sales, Range(b.think_ms),
                  at_once == 1 ? ", one holder of the guard at a time" : "");
  if (Mean(b.query_delay_ms) > 0) {
    least.why += fmt::format(", {} attempts x {} of query delay", attempts,
                             Range(b.query_delay_ms));
  }
  return least;
}

ProgressLine::ProgressLine(std::FILE* out, bool enabled)
    : out_(out),
      active_(enabled && isatty(fileno(out))),
      log_(enabled && !active_),
      start_ns_(MonotonicNs()) {}

void ProgressLine::Expect(const LeastTime& least) {
  if (!log_ || least.seconds < kLongSeconds) return;
  long_ = true;
  fmt::print(out_,
             "ticketsim: this run will take at least {} ({}); it says how far "
             "it is every {} s\n",
             Duration(least.seconds), least.why, kLogEveryNs / 1000000000);
  std::fflush(out_);
}

void ProgressLine::Update(const std::string& text) {
  const int64_t now = MonotonicNs();
  if (long_ && now - std::max(last_ns_, start_ns_) >= kLogEveryNs) {
    last_ns_ = now;
    fmt::print(out_, "ticketsim: {} so far: {}\n",
               Duration(static_cast<double>(now - start_ns_) / 1e9), text);
    std::fflush(out_);
    return;
  }
  if (!active_) return;
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
