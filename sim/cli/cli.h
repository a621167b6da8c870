// The command line: `ticketsim run | check | compare | list | clean | step |
// buyer | completion | manual`, a command of the table in command_table.cc
// (one file each: run_command.cc...), read, checked, then run.
#ifndef TICKETSIM_SIM_CLI_CLI_H_
#define TICKETSIM_SIM_CLI_CLI_H_

#include <memory>
#include <span>
#include <string>

#include "base/exit_status.h"

namespace ticketsim {

// The whole program; main() only calls this.
int Main(int argc, char** argv);

// A command line read and checked, ready to run (defined in command.h).
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

#endif  // TICKETSIM_SIM_CLI_CLI_H_
