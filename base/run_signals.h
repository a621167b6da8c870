// RunSignals: the signal mask a run holds, and the one place it waits for
// its signals.
#ifndef TICKETSIM_BASE_RUN_SIGNALS_H_
#define TICKETSIM_BASE_RUN_SIGNALS_H_

#include <signal.h>
#include <sys/types.h>
#include <time.h>

#include <cstdint>

#include "base/interrupt.h"

namespace ticketsim {

// Blocks every interrupt (base/interrupt.h) and SIGCHLD for the life of the
// run, so that they are taken only where the parent waits for them
// (sigtimedwait) and never cut it off between creating and removing the
// run's objects. Buyers inherit the mask: Ctrl-C, or the SIGHUP of a closed
// terminal, reaches the parent, which stops them. An interrupt that comes
// after the last wait is delivered when the mask is lifted, once everything
// is removed, and ends ticketsim there (EndOnInterrupt).
class RunSignals {
 public:
  RunSignals() {
    set_ = InterruptSignals();
    sigaddset(&set_, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set_, &old_);
  }
  ~RunSignals() { sigprocmask(SIG_SETMASK, &old_, nullptr); }

  // Waits up to `ns` for one of the run's signals; returns it, or 0. For a
  // SIGCHLD that says a child ended or stopped, sets `*child` to that
  // child's pid (0 otherwise). SIGCHLDs are not queued: one can stand for
  // several children.
  int Wait(int64_t ns, pid_t* child = nullptr) const {
    if (ns < 0) ns = 0;
    timespec limit{static_cast<time_t>(ns / 1000000000), ns % 1000000000};
    siginfo_t info{};
    const int sig = sigtimedwait(&set_, &info, &limit);
    if (child != nullptr) {
      *child =
          sig == SIGCHLD && info.si_code != CLD_CONTINUED ? info.si_pid : 0;
    }
    return sig > 0 ? sig : 0;
  }

  const sigset_t& set() const { return set_; }

 private:
  sigset_t set_;
  sigset_t old_;
};

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_RUN_SIGNALS_H_
