// What a subcommand of `ticketsim` is: the options it adds to the command
// line, what it makes of them once parsed (a PreparedCommand, or an exit
// status), and the function that runs what it made. The commands
// themselves, one file each, are listed in command_table.cc.
#ifndef TICKETSIM_SIM_CLI_COMMAND_H_
#define TICKETSIM_SIM_CLI_COMMAND_H_

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/color.h"
#include "base/output_file.h"
#include "sim/report/report_junit.h"
#include "sim/scenario/scenario_file.h"

namespace ticketsim {

// What a command line asks for, checked; its `run` runs it. One shape for
// all commands: each fills what it uses.
struct PreparedCommand {
  // Runs the command and returns its exit status.
  int (*run)(PreparedCommand* command) = nullptr;
  std::vector<LoadedScenario> scenarios;  // compare: one per guard or mode
  bool compare_modes = false;  // compare: its rows are modes (--modes)
  std::vector<ScenarioProblem> problems;  // the scenarios that did not load
  // run, compare: the outputs asked for (null: not asked), and where the
  // text goes.
  std::unique_ptr<OutputFile> json;
  std::unique_ptr<OutputFile> html;
  std::unique_ptr<OutputFile> junit;
  std::unique_ptr<OutputFile> history;
  std::FILE* text = stdout;
  bool narrate = false;
  bool quiet = false;           // run: one line per scenario
  bool verdicts_first = false;  // run: every verdict in short, then reports
  ColorMode color = ColorMode::kAuto;
  bool clean_all = false;
  // step: the `ticketsim run` that replays it, but for its --steps.
  std::string replay;
  std::string check_history;  // check --history: the history to check
  // A failed write to stdout was said already, so it is said once.
  bool stdout_failure_told = false;
};

// What Prepare returns when the command is ready to run.
inline constexpr int kReady = -1;

// The command line once parsed, as a command's Prepare sees it.
struct ParsedLine {
  const CLI::App& app;      // the whole of it (the manual page describes it)
  const CLI::App& command;  // the command given, with its options
  std::string* out;         // what the user should read (help, a script)
  std::string* err;         // what is wrong

  // Appends "ticketsim: MESSAGE" to *err; returns kExitUsage.
  int Usage(std::string_view message) const;
  // Appends each scenario's problem to *err, a line each.
  void SayProblems(const std::vector<ScenarioProblem>& problems) const;
};

// A command's options, bound to the CLI11 command they were added to.
class CommandOptions {
 public:
  virtual ~CommandOptions() = default;
  // After the command line parsed with this command given: checks what it
  // asks for, and loads and opens what it names, into *prepared. Returns
  // kReady, or the exit status to end with (having said why in line).
  virtual int Prepare(const ParsedLine& line, PreparedCommand* prepared) = 0;
};

// The options of a command that takes none.
std::unique_ptr<CommandOptions> AddNoOptions(CLI::App* command);

// A row of the command table.
struct CommandEntry {
  const char* name;  // "run"
  const char* help;  // its line in `ticketsim --help`
  // Adds the command's options to `command` and returns them, to be
  // prepared once the command line is parsed.
  std::unique_ptr<CommandOptions> (*options)(CLI::App* command);
  // Runs what Prepare made. Null for a command that says all it has to say
  // while preparing (completion, manual: what the command line is).
  int (*run)(PreparedCommand* command);
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_COMMAND_H_
