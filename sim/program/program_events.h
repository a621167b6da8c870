// Program events: the JSON lines a program writes on fd 3 (docs/programs.md),
// read into history events, with every breach of the protocol named.
#ifndef TICKETSIM_SIM_PROGRAM_PROGRAM_EVENTS_H_
#define TICKETSIM_SIM_PROGRAM_PROGRAM_EVENTS_H_

#include <cstddef>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "sim/history/history.h"

namespace ticketsim {

// The longest event line: what one write(2) to a pipe keeps whole.
inline constexpr size_t kMaxEventLine = 4096;

// The locks a program's events name ("lock": "name"), shared by all its
// buyers: each gets the index its events are recorded with.
class LockNames {
 public:
  // The index of `name` ("" is the one unnamed lock), or -1 when there are
  // too many.
  int Index(const std::string& name);
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> names_;
};
inline constexpr size_t kMaxLockNames = 8;

// One buyer's events, as it reports them and as ticketsim sees them.
class ProgramEvents {
 public:
  ProgramEvents() = default;
  ProgramEvents(uint32_t buyer, size_t capacity, LockNames* locks)
      : buyer_(buyer), capacity_(capacity), locks_(locks) {}

  // One line read from fd 3 at `now` (CLOCK_MONOTONIC), cut short if
  // `cut`; a program's own `t` must lie in [window.first, window.second].
  // Returns Corrupt, naming the buyer, the line and its text, for a line
  // that breaks the protocol or does not fit the history.
  Status Line(const std::string& text, bool cut, int64_t now,
              std::pair<int64_t, int64_t> window);

  // What ticketsim saw itself (operation mode: a run begun and ended; a
  // fault struck): recorded at `now` in the purchase it belongs to.
  void Stamp(EventKind kind, int64_t now, uint32_t aux, int64_t value = 0,
             uint8_t flags = 0);

  // Whether a purchase was begun (an invoke of buy) since last asked; each
  // one is told once.
  bool TakeInvoke() {
    if (untold_invokes_ == 0) return false;
    --untold_invokes_;
    return true;
  }

  const std::vector<Event>& events() const { return events_; }
  int64_t lines() const { return lines_; }
  // Whether it reported a purchase of its own (then its stdout is not
  // counted as sales).
  bool bought_or_tried() const { return invokes_ > 0; }

 private:
  // Records an event of the current purchase at `t`.
  bool Record(EventKind kind, int64_t t, int64_t value = 0, uint8_t flags = 0,
              uint32_t aux = 0, uint16_t event = 0);
  // After a purchase's outcome, the next purchase begins.
  void BeginIfDone();
  // The parts of Line: when the line's event is recorded (its own `t`,
  // checked, or now), then what each "f" does.
  Status Stamp(const std::string& text, const nlohmann::json& doc, int64_t now,
               std::pair<int64_t, int64_t> window, int64_t* at);
  Status Buy(const std::string& text, const nlohmann::json& doc,
             const std::string& type, int64_t at);
  // A buy's invoke, and its outcome (ok, fail or info).
  Status BuyBegins(const std::string& text, int64_t at);
  Status BuyEnds(const std::string& text, const nlohmann::json& doc,
                 const std::string& type, int64_t at);
  Status Read(const std::string& text, const nlohmann::json& doc,
              const std::string& type, int64_t at);
  Status Lock(const std::string& text, const std::string& type, uint16_t lock,
              int64_t at);
  // The error for an event that finds the history full.
  Status Full(const std::string& text) const;
  Status Error(const std::string& text, const std::string& why) const;

  uint32_t buyer_ = 0;
  size_t capacity_ = 0;
  LockNames* locks_ = nullptr;
  std::vector<Event> events_;
  int64_t lines_ = 0;
  int64_t last_t_ = 0;       // of the last event recorded
  int64_t last_line_t_ = 0;  // the last `t` the program gave
  uint32_t attempt_ = 0;
  bool outcome_ = false;  // the current purchase has its outcome
  bool open_ = false;     // a purchase is begun and has no outcome yet
  int64_t open_line_ = 0;
  int64_t invokes_ = 0;
  int64_t untold_invokes_ = 0;
  std::vector<int64_t> asked_at_ = std::vector<int64_t>(kMaxLockNames, -1);
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_PROGRAM_PROGRAM_EVENTS_H_
