#include "sim/cli/command_table.h"

#include "sim/cli/buyer_command.h"
#include "sim/cli/check_command.h"
#include "sim/cli/clean_command.h"
#include "sim/cli/compare_command.h"
#include "sim/cli/completion_command.h"
#include "sim/cli/list_command.h"
#include "sim/cli/manual_command.h"
#include "sim/cli/run_command.h"
#include "sim/cli/serve_command.h"
#include "sim/cli/step_command.h"

namespace ticketsim {
namespace {

// A table of words, the commands' help as `ticketsim --help` shows it: it
// is as long as there are commands.
constexpr CommandEntry kCommands[] = {
    {"run",
     "run scenario files (or directories of them; none: the flags make "
     "one) and report the verdict. Exit 0: expectations met, 1: not met, "
     "2: usage or scenario error, 3: a run failed, 4: unchecked (a "
     "program told nothing of its sales), 128 + the signal: interrupted "
     "(130 for SIGINT, 143 for SIGTERM)",
     AddRunOptions, RunCommand},
    {"check",
     "validate scenario files without running them (exit 2 if one "
     "is wrong)",
     AddCheckOptions, CheckCommand},
    {"compare", "run one scenario under several guards or modes, one row each",
     AddCompareOptions, CompareCommand},
    {"list",
     "stores, guards, violations, scenario keys, and the "
     "scenario library",
     AddNoOptions, ListCommand},
    {"clean", "remove named objects and files left by runs that died",
     AddCleanOptions, CleanCommand},
    {"step",
     "run one scenario a step at a time: press a buyer's number (0-9) to "
     "move it one step, r for a random buyer, u to undo, q to quit; keys "
     "from a pipe work too (\"0 0 1 1 q\"). Prints the verdict and the "
     "--steps that replays it",
     AddStepOptions, StepCommand},
    {"serve",
     "open a box office: an HTTP server holding the count, whose handlers "
     "make the purchases with the scenario's store, guard and think time; "
     "anyone buys with POST /buy (curl, a browser, a load tool) until "
     "Ctrl-C or sold out, then every purchase is checked. Exit 0: no "
     "violation, 1: violations, 2: usage, 3: it could not open "
     "(docs/server.md)",
     AddServeOptions, ServeCommand},
    {"buyer",
     "run one host's share of a run with buyers.hosts: started by that run "
     "through buyers.launcher, it reads its share on stdin and streams its "
     "buyers' events to stdout (docs/hosts.md)",
     AddNoOptions, BuyerCommand},
    {"completion",
     "print the completion script for a shell (bash, zsh, fish): source it, "
     "or install it where the shell looks (`source <(ticketsim completion "
     "bash)`)",
     AddCompletionOptions, nullptr},
    {"manual",
     "print the manual page, ticketsim(1), in roff (`ticketsim manual | "
     "man -l -`)",
     AddManualOptions, nullptr},
};

}  // namespace

std::span<const CommandEntry> CommandTable() { return kCommands; }

}  // namespace ticketsim
