// Interrupts: the signals that end ticketsim before it is done, and how
// each ends it.
//
// An interrupt is any signal whose default action ends a process and that
// is sent to ask for that: SIGINT (Ctrl-C), SIGTERM, SIGHUP (the terminal
// closed, the ssh session dropped), SIGQUIT (Ctrl-\: a run's objects matter
// more than a core dump), SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF,
// SIGXCPU (the CPU time limit), SIGPOLL, SIGSTKFLT, SIGPWR and the real-time
// signals. Not interrupts: SIGPIPE (a write to a closed pipe is that
// output's error), SIGXFSZ (ignored, so a write past the file size limit
// fails with EFBIG and is reported as that file's error), and the faults
// (SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGSYS, SIGTRAP), which are
// bugs to be seen, not requests. A signal ticketsim was started with
// ignored (nohup ignores SIGHUP) stays ignored, but for SIGINT and SIGTERM,
// which are always taken.
//
// Whatever the interrupt, ticketsim exits 128 + its number (SIGINT 130,
// SIGTERM 143, SIGHUP 129), and nothing of it is left behind:
// - Inside a run, interrupts are blocked (see RunScenario) and taken only
//   where the run waits for its buyers: it kills and reaps them, removes
//   every named object and file, and returns a partial result, which the
//   command reports before it exits.
// - From a run's end until its trial is checked (work that never waits),
//   they stay blocked (DeferInterrupts): one that comes then stops the
//   trials after this one, whose report is still printed.
// - Anywhere else ticketsim has made nothing that must be removed, so an
//   interrupt ends it at once, whatever it is waiting for: a scenario file
//   on a slow device, a full pipe on stdout that nobody reads. (An output
//   file half written is the output's own concern.) Blocking interrupts
//   there instead would leave ticketsim deaf to them for as long as such a
//   wait lasts.
#ifndef TICKETSIM_BASE_INTERRUPT_H_
#define TICKETSIM_BASE_INTERRUPT_H_

#include <signal.h>

#include <string>

namespace ticketsim {

// The interrupts this process takes: those above, less any that were
// ignored when it was first asked (EndOnInterrupt asks at start-up).
const sigset_t& InterruptSignals();
bool IsInterrupt(int sig);

// Reads every signal waiting on the signalfd `fd` (non-blocking); returns
// the last interrupt among them, or 0 if none was one.
int TakeInterrupt(int fd);

// "SIGHUP", "SIGRTMIN+3", "signal 99".
std::string SignalName(int sig);

// The exit status of a command ended by `sig`: 128 + sig.
inline int ExitStatusFor(int sig) { return 128 + sig; }
// Whether an exit status is one of ExitStatusFor's.
inline bool IsInterruptedStatus(int status) { return status > 128; }

// For the life of a command: an interrupt outside a run ends the process
// at once with ExitStatusFor(sig), after a line on stderr if stderr can
// take it without waiting. Unblocks the interrupts (a parent may have
// started ticketsim with some blocked) and ignores SIGXFSZ. The destructor
// puts back what was there.
class EndOnInterrupt {
 public:
  EndOnInterrupt();
  ~EndOnInterrupt();
  EndOnInterrupt(const EndOnInterrupt&) = delete;
  EndOnInterrupt& operator=(const EndOnInterrupt&) = delete;

 private:
  struct sigaction old_[NSIG] = {};
  struct sigaction old_file_size_ = {};
  sigset_t old_mask_;
};

// A file of ticketsim's own making that is not in its place yet (an
// output's temporary): if an interrupt ends ticketsim at once, the handler
// removes it first, so that nothing is left behind. `path` must stay valid
// and unchanged until ForgetOnInterrupt(path). Holds a few at a time; false
// if it is full.
bool RemoveOnInterrupt(const char* path);
void ForgetOnInterrupt(const char* path);

// Takes an interrupt that is blocked and pending, if there is one; returns
// it, or 0.
int TakePendingInterrupt();

// Blocks interrupts for a stretch of work that never waits, so that one
// that comes is taken at its end (TakePendingInterrupt) rather than ending
// ticketsim with the work lost. The destructor puts back the mask; an
// interrupt still pending is then delivered (EndOnInterrupt).
class DeferInterrupts {
 public:
  DeferInterrupts();
  ~DeferInterrupts();
  DeferInterrupts(const DeferInterrupts&) = delete;
  DeferInterrupts& operator=(const DeferInterrupts&) = delete;

 private:
  sigset_t old_;
};

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_INTERRUPT_H_
