#include "sim/cli/cli.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "base/escape.h"
#include "base/interrupt.h"
#include "base/output_file.h"
#include "base/version.h"
#include "sim/cli/command.h"
#include "sim/cli/command_table.h"
#include "sim/cli/text_stream.h"
#include "sim/scenario/scenario.h"

namespace ticketsim {
namespace {

// The whole command line: the program's own flags, and the commands of
// the table, each with its options.
struct CommandLine {
  CommandLine();

  CLI::App app;
  std::vector<CLI::App*> commands;                       // in table order
  std::vector<std::unique_ptr<CommandOptions>> options;  // the same
};

CommandLine::CommandLine()
    : app("ticketsim: buyer processes race for tickets; the checker "
          "reports exactly what went wrong.") {
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("ticketsim ") + kToolVersion,
                       "print the version and exit");
  for (const CommandEntry& entry : CommandTable()) {
    commands.push_back(app.add_subcommand(entry.name, entry.help));
    options.push_back(entry.options(commands.back()));
  }
}

// A misspelt command is named, with the nearest right one, rather than left
// to CLI11's general words: the message, or "" when args[1] is a command
// (or an option).
std::string UnknownCommand(const CommandLine& line,
                           std::span<const std::string> args) {
  std::vector<std::string> names;
  for (const CLI::App* command : line.commands) {
    names.push_back(command->get_name());
  }
  if (args.size() < 2 || args[1].starts_with('-') ||
      std::find(names.begin(), names.end(), args[1]) != names.end()) {
    return "";
  }
  const std::string near = NearestWord(args[1], names);
  return Visible(near.empty()
                     ? fmt::format("ticketsim: unknown command \"{}\"; the "
                                   "commands are {}",
                                   args[1], fmt::join(names, ", "))
                     : fmt::format("ticketsim: unknown command \"{}\": did "
                                   "you mean \"{}\"?",
                                   args[1], near)) +
         "\n";
}

// "ticketsim run: unknown option "--gaurd": did you mean "--guard"?" for
// the first option the command given does not have; "" when all are known.
std::string UnknownOption(const CLI::App& app,
                          std::span<const std::string> args) {
  const CLI::App* command = nullptr;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->parsed()) command = sub;
  }
  if (command == nullptr) return "";
  std::vector<std::string> names;
  for (const CLI::Option* option : command->get_options()) {
    for (const std::string& name : option->get_lnames()) {
      names.push_back("--" + name);
    }
  }
  for (size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "--") break;
    if (!args[i].starts_with("--")) continue;
    const std::string name = args[i].substr(0, args[i].find('='));
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    const std::string near = NearestWord(name, names);
    return fmt::format(
        "ticketsim {}: unknown option \"{}\"{}", command->get_name(), name,
        near.empty()
            ? fmt::format(" (see ticketsim {} --help)", command->get_name())
            : fmt::format(": did you mean \"{}\"?", near));
  }
  return "";
}

// Parses `args` into `app`: kReady, or the status to end with after
// --help, --version or a parse error, which it appends to *out or *err.
int Parse(CLI::App* app, std::span<const std::string> args, std::string* out,
          std::string* err) {
  std::vector<const char*> argv;
  argv.push_back(args.empty() ? "ticketsim" : args[0].c_str());
  for (size_t i = 1; i < args.size(); ++i) argv.push_back(args[i].c_str());
  try {
    app->parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
      if (const std::string unknown = UnknownOption(*app, args);
          !unknown.empty()) {
        *err += Visible(unknown) + "\n";
        return kExitUsage;
      }
    }
    // --help is a ParseError too, with exit code 0. The message may echo
    // what was typed.
    std::ostringstream help;
    std::ostringstream error;
    const int code = app->exit(e, help, error);
    *out += VisibleLines(help.str());
    *err += VisibleLines(error.str());
    return code == 0 ? kExitOk : kExitUsage;
  }
  return kReady;
}

// SIGPIPE (a reader of stdout that went away, as `| head` does) would end
// ticketsim before it wrote the files it was asked for. An empty handler,
// rather than SIG_IGN, makes such a write fail with EPIPE instead and is
// not passed on to programs a buyer might exec.
void OnBrokenPipe(int) {}

// Before anything else: closed standard descriptors guarded, SIGPIPE
// turned into EPIPE.
void PrepareStandardStreams() {
  GuardStandardDescriptors();
  struct sigaction action = {};
  action.sa_handler = OnBrokenPipe;
  sigemptyset(&action.sa_mask);
  sigaction(SIGPIPE, &action, nullptr);
}

// A write to stdout failed with `err`: said on stderr, and the run failed
// (3). But a reader that went away (`ticketsim list | head -1`) has read
// what it wanted: the text stops there, quietly, and the status stays.
void StdoutFailed(int err, int* status) {
  if (err == EPIPE) return;
  Complain(fmt::format("cannot write to stdout: {}", std::strerror(err)));
  if (!IsInterruptedStatus(*status)) *status = kExitRunFailed;
}

// The status of a command whose printing to stdout failed with `err`
// (list, check, clean and help print only to stdout).
int CutShort(const PreparedCommand* command, int status, int err) {
  if (status >= 0) {
    StdoutFailed(err, &status);
  } else if (!command->check_history.empty()) {
    // Cut short while it printed the verdicts it was asked for: whether
    // they hold is not known.
    Complain(fmt::format("cannot write to stdout: {}", std::strerror(err)));
    status = kExitRunFailed;
  } else {
    // Cut short while it printed: its status is what it had found.
    status = command->problems.empty() ? kExitOk : kExitUsage;
    StdoutFailed(err, &status);
  }
  return status;
}

int Command(int argc, char** argv) {
  const std::vector<std::string> args(argv, argv + argc);
  PreparedCommandPtr command;
  std::string out;
  std::string err;
  int status = PrepareCommand(args, &command, &out, &err);
  if (!err.empty()) {
    if (std::fwrite(err.data(), 1, err.size(), stderr) != err.size()) {
      std::clearerr(stderr);
    }
  }
  // Set once a failed write to stdout has been said, so it is said once.
  bool stdout_failure_told = false;
  try {
    if (!out.empty()) fmt::print("{}", out);
    if (status < 0) status = RunPreparedCommand(command.get());
  } catch (const std::system_error& e) {
    stdout_failure_told = true;
    status = CutShort(command.get(), status, e.code().value());
  }
  if (command != nullptr && command->stdout_failure_told) {
    stdout_failure_told = true;
  }
  if ((std::fflush(stdout) != 0 || std::ferror(stdout)) &&
      !stdout_failure_told) {
    StdoutFailed(errno != 0 ? errno : EIO, &status);
  }
  return status;
}

}  // namespace

void PreparedCommandDeleter::operator()(PreparedCommand* command) const {
  delete command;
}

int PrepareCommand(std::span<const std::string> args,
                   PreparedCommandPtr* prepared, std::string* out,
                   std::string* err) {
  CommandLine line;
  if (const std::string unknown = UnknownCommand(line, args);
      !unknown.empty()) {
    *err += unknown;
    return kExitUsage;
  }
  if (const int status = Parse(&line.app, args, out, err); status != kReady) {
    return status;
  }
  // require_subcommand(1): one of them was given.
  const size_t given =
      std::find_if(line.commands.begin(), line.commands.end(),
                   [](const CLI::App* command) { return command->parsed(); }) -
      line.commands.begin();
  PreparedCommand command;
  command.run = CommandTable()[given].run;
  const ParsedLine parsed{line.app, *line.commands[given], out, err};
  if (const int status = line.options[given]->Prepare(parsed, &command);
      status != kReady) {
    return status;
  }
  prepared->reset(new PreparedCommand(std::move(command)));
  return kReady;
}

int RunPreparedCommand(PreparedCommand* command) {
  return command->run(command);
}

int Main(int argc, char** argv) {
  PrepareStandardStreams();
  // A run takes its own interrupts, stops its buyers and removes its
  // objects; anywhere else an interrupt ends ticketsim at once, with 128 +
  // the signal (see base/interrupt.h).
  EndOnInterrupt interrupts;
  return Command(argc, argv);
}

}  // namespace ticketsim
