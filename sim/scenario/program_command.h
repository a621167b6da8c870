// A program's command line, found on this machine.
#ifndef TICKETSIM_SIM_SCENARIO_PROGRAM_COMMAND_H_
#define TICKETSIM_SIM_SCENARIO_PROGRAM_COMMAND_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/shell_words.h"
#include "base/status.h"

namespace ticketsim {

struct ProgramSpec;

// A program's command as it will be executed, and how its words were read.
struct ResolvedCommand {
  std::vector<std::string> argv;
  // The words, as written, taken from the scenario file's folder: the
  // program (a relative path with a '/') and the scripts it is given.
  std::vector<std::string> from_folder;
  // Later words naming something in that folder that were passed as
  // written all the same (data such as the store's own db.txt): the
  // program finds them, if at all, in the run directory it runs in.
  std::vector<std::string> as_written;
};

// The command of `program` as it will be executed: command[0] looked up on
// PATH (or, when it has a '/', taken from base_dir), and each later argument
// that names a script relative to base_dir (a regular file named like one,
// executable, or starting with "#!") made absolute, so "buyer.py" next to
// the scenario is found from the run directory the program runs in. Any
// other word is passed as written, and so is one whose file name is
// `store_file` (the file store's file), always. Invalid, naming it, when
// command[0] is not an executable file or a word named like a script does
// not exist.
Status ResolveProgram(const ProgramSpec& program, std::string_view store_file,
                      ResolvedCommand* resolved);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_SCENARIO_PROGRAM_COMMAND_H_
