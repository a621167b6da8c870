#include "fuzz/fuzz_program_events.h"

#include <fmt/format.h>

#include <string_view>

#include "sim/history/history.h"
#include "sim/program/program_events.h"

namespace ticketsim {
namespace {

constexpr uint32_t kBuyer = 3;

// What is wrong with the events recorded so far, or "": each is the
// buyer's, of a kind, in time order inside the window, in purchases that
// only go forward, and names a lock that was named.
std::string CheckRecorded(const ProgramEvents& events, const LockNames& locks) {
  const std::vector<Event>& recorded = events.events();
  if (recorded.size() > kFuzzEventCapacity) {
    return fmt::format("{} events in a share of {}", recorded.size(),
                       kFuzzEventCapacity);
  }
  uint64_t last_t = kFuzzWindowStart;
  uint32_t last_attempt = 0;
  for (const Event& e : recorded) {
    if (e.buyer != kBuyer) return fmt::format("an event of buyer {}", e.buyer);
    if (e.kind == EventKind::kEmpty || e.kind > EventKind::kRetry) {
      return fmt::format("an event of kind {}", static_cast<int>(e.kind));
    }
    if (e.time_ns < last_t || e.time_ns > kFuzzWindowEnd) {
      return fmt::format("an event at {} after one at {}", e.time_ns, last_t);
    }
    if (e.attempt < last_attempt) {
      return fmt::format("attempt {} after {}", e.attempt, last_attempt);
    }
    if (e.event != 0 && e.event >= locks.names().size()) {
      return fmt::format("lock {} of {} named", e.event, locks.names().size());
    }
    last_t = e.time_ns;
    last_attempt = e.attempt;
  }
  return "";
}

}  // namespace

std::string CheckProgramEventsInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  LockNames locks;
  ProgramEvents events(kBuyer, kFuzzEventCapacity, &locks);
  int64_t now = kFuzzWindowStart;
  size_t at = 0;
  while (at <= input.size()) {
    const size_t end = std::min(input.find('\n', at), input.size());
    const std::string_view whole = input.substr(at, end - at);
    at = end + 1;
    if (end == input.size() && whole.empty()) break;  // after the last '\n'
    const bool cut = whole.size() > kMaxEventLine;
    const std::string line(whole.substr(0, kMaxEventLine));
    now += 1000;
    const Status s = events.Line(line, cut, now, {kFuzzWindowStart, now});
    if (const std::string wrong = CheckRecorded(events, locks);
        !wrong.empty()) {
      return wrong;
    }
    if (!s.ok()) {
      const std::string place = fmt::format(
          "protocol error: buyer {}, line {} of its events (fd 3): ", kBuyer,
          events.lines());
      if (s.code() != Status::Code::kCorrupt ||
          !s.message().starts_with(place) ||
          s.message().size() == place.size()) {
        return fmt::format("refused without its place: \"{}\"", s.message());
      }
      break;
    }
  }
  return "";
}

}  // namespace ticketsim
