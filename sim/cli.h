// The command line: `ticketsim run | compare | check | list | clean`, and
// the exit codes.
#ifndef TICKETSIM_SIM_CLI_H_
#define TICKETSIM_SIM_CLI_H_

#include <memory>
#include <span>
#include <string>

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

// The whole program; main() only calls this.
int Main(int argc, char** argv);

// A command line read and checked, ready to run (defined in cli.cc).
struct PreparedCommand;
struct PreparedCommandDeleter {
  void operator()(PreparedCommand* command) const;
};
using PreparedCommandPtr =
    std::unique_ptr<PreparedCommand, PreparedCommandDeleter>;

// The first half of Main: parses `args` (args[0] the program's name) into a
// command, loads and validates the scenarios it names, and checks and opens
// its output paths (--json, --html, --junit, --history: see output_file.h).
// Runs nothing: makes no process, run or named object, and writes nothing
// but the outputs' empty temporary files, which destroying *prepared
// removes. Returns -1 with *prepared set, or the exit status to end with
// (kExitOk after --help, kExitUsage). Appends what the user should read to
// *out (help) and *err (what is wrong).
int PrepareCommand(std::span<const std::string> args,
                   PreparedCommandPtr* prepared, std::string* out,
                   std::string* err);

// The second half: runs a prepared command, writes its outputs, and returns
// its exit status.
int RunPreparedCommand(PreparedCommand* command);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_H_
