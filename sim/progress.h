// The progress line: one line on a terminal, rewritten in place, for runs
// longer than a second. Nothing at all when stderr is not a terminal, so
// logs and pipes see only the report.
#ifndef TICKETSIM_SIM_PROGRESS_H_
#define TICKETSIM_SIM_PROGRESS_H_

#include <cstdint>
#include <cstdio>
#include <string>

namespace ticketsim {

class ProgressLine {
 public:
  // Shows on `out` only if it is a terminal (and `enabled`).
  explicit ProgressLine(std::FILE* out, bool enabled = true);
  ~ProgressLine() { Clear(); }

  // Shows `text`, once a second has passed since construction, at most ten
  // times a second.
  void Update(const std::string& text);
  // Removes the line, so a report can be printed; Update shows it again.
  void Clear();
  bool active() const { return active_; }

 private:
  std::FILE* const out_;
  const bool active_;
  const int64_t start_ns_;
  int64_t last_ns_ = 0;
  bool shown_ = false;
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_PROGRESS_H_
