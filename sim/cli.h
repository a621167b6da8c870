// The command line: `ticketsim run | list | clean`, and the exit codes.
#ifndef TICKETSIM_SIM_CLI_H_
#define TICKETSIM_SIM_CLI_H_

namespace ticketsim {

enum ExitStatus {
  kExitOk = 0,             // expectations met: no violation
  kExitViolations = 1,     // the checker found violations
  kExitUsage = 2,          // a bad flag, value or scenario
  kExitRunFailed = 3,      // the run itself failed (could not start, timed out)
  kExitInterrupted = 130,  // SIGINT; any interrupt: 128 + its signal
};

// The whole program; main() only calls this.
int Main(int argc, char** argv);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_H_
