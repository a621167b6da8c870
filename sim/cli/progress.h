// The progress line: one line on a terminal, rewritten in place, for runs
// longer than a second. Where stderr is not a terminal (a log, a pipe, a CI
// job), a run that will take long says so at its start, with how long at
// least, and then how far it is every ten seconds, each on a line of its
// own; any other run says nothing there, so that logs and pipes see only
// the report.
#ifndef TICKETSIM_SIM_CLI_PROGRESS_H_
#define TICKETSIM_SIM_CLI_PROGRESS_H_

#include <cstdint>
#include <cstdio>
#include <string>

#include "sim/scenario/scenario.h"

namespace ticketsim {

// The least time a trial of `scenario` takes: the mean of its think times
// and query delays, added up as its buyers spend them (side by side, but
// one holder at a time thinking under a guard that excludes; only a sale
// thinks, never a sold-out purchase). 0 where they are not slept: under a
// controlled schedule, or for a program, whose delays are its own.
struct LeastTime {
  double seconds = 0;
  std::string why;  // "20000 sales x 20-50 ms of think time, one at a time"
};
LeastTime LeastTimeOf(const Scenario& scenario);

class ProgressLine {
 public:
  // Shows on `out` only if it is a terminal (and `enabled`).
  explicit ProgressLine(std::FILE* out, bool enabled = true);
  ~ProgressLine() { Clear(); }

  // Where `out` is not a terminal: if `least` is long (ten seconds or
  // more), says so now on a line of its own, and from then on lets Update
  // write one line every ten seconds.
  void Expect(const LeastTime& least);
  // Shows `text`, once a second has passed since construction, at most ten
  // times a second; where `out` is not a terminal, after Expect said the
  // run is long, every ten seconds with the time so far.
  void Update(const std::string& text);
  // Removes the line, so a report can be printed; Update shows it again.
  void Clear();
  bool active() const { return active_; }

 private:
  std::FILE* const out_;
  const bool active_;
  const bool log_;     // `out` is not a terminal
  bool long_ = false;  // Expect said the run is long
  const int64_t start_ns_;
  int64_t last_ns_ = 0;
  bool shown_ = false;
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_PROGRESS_H_
