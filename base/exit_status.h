// The exit codes of ticketsim, the same for every command (README.md,
// "Exit codes"): what CI and scripts read of a run.
#ifndef TICKETSIM_BASE_EXIT_STATUS_H_
#define TICKETSIM_BASE_EXIT_STATUS_H_

namespace ticketsim {

enum ExitStatus {
  kExitOk = 0,          // expectations met: no violation
  kExitViolations = 1,  // the checker found violations
  kExitUsage = 2,       // a bad flag, value or scenario
  kExitRunFailed = 3,   // the run itself failed (could not start, timed
                        // out), or an output could not be written
  // A program's run told nothing of its sales and nothing else was found:
  // no verdict either way. Not 1, which says the checker found something,
  // nor 3, which blames the run or the machine: the scenario has to say how
  // to see sales (events on fd 3, program.sold_pattern), or accept it with
  // expect.violations = "unchecked". Non-zero, so that CI never passes on
  // nothing checked.
  kExitUnchecked = 4,
  kExitInterrupted = 130,  // SIGINT; any interrupt: 128 + its signal
};

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_EXIT_STATUS_H_
