#include "sim/cli/manual.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <vector>

#include "base/exit_status.h"

namespace ticketsim {
namespace {

// An option's name or a word a user types: its hyphens are minus signs.
std::string Typed(std::string_view word) {
  std::string out;
  for (const char c : RoffText(word)) {
    if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Bold(std::string_view word) {
  return fmt::format("\\fB{}\\fR", Typed(word));
}

std::string Italic(std::string_view word) {
  return fmt::format("\\fI{}\\fR", Typed(word));
}

// What the page calls the value: --help's own placeholder, else a word
// for its kind.
std::string Placeholder(const OptionModel& option) {
  if (!option.placeholder.empty()) return option.placeholder;
  switch (option.value) {
    case ValueKind::kFlag:
      return "";
    case ValueKind::kWords:
      return "WORD";
    case ValueKind::kWordList:
      return "WORD,...";
    case ValueKind::kFile:
      return "FILE";
    case ValueKind::kSetting:
      return "KEY=VALUE";
    case ValueKind::kScenario:
      return "SCENARIO";
    case ValueKind::kFree:
      break;
  }
  return "VALUE";
}

// "One of bash, zsh, fish." for words that need no explaining.
std::string OneOf(const OptionModel& option) {
  std::vector<std::string> words;
  for (const ValueWord& w : option.words) words.push_back(Bold(w.word));
  return fmt::format("One of {}.\n", fmt::join(words, ", "));
}

// ".TP" paragraph of one option, with the words it takes and their
// meanings (not the scenario keys of --set: `ticketsim list` has those).
void WriteOption(const OptionModel& option, std::string* out) {
  std::vector<std::string> names;
  for (const std::string& name : option.names) names.push_back(Bold(name));
  const std::string value = Placeholder(option);
  *out += fmt::format(".TP\n{}{}\n{}\n", fmt::join(names, ", "),
                      value.empty() ? "" : " " + Italic(value),
                      RoffText(option.help));
  if (option.value != ValueKind::kWords &&
      option.value != ValueKind::kWordList) {
    return;
  }
  const bool explained =
      std::any_of(option.words.begin(), option.words.end(),
                  [](const ValueWord& w) { return !w.help.empty(); });
  if (!explained) {
    *out += OneOf(option);
    return;
  }
  *out += ".RS\n";
  for (const ValueWord& w : option.words) {
    *out += fmt::format(".TP\n{}\n{}\n", Bold(w.word), RoffText(w.help));
  }
  *out += ".RE\n";
}

// The commands that have an option, by its names and help.
using Sharing = std::map<std::string, std::vector<std::string>>;

std::string OptionId(const OptionModel& option) {
  return fmt::format("{}\n{}", fmt::join(option.names, " "), option.help);
}

Sharing WhoHas(const CliModel& model) {
  Sharing sharing;
  for (const CommandModel& command : model.commands) {
    if (command.hidden) continue;
    for (const OptionModel& option : command.options) {
      sharing[OptionId(option)].push_back(command.name);
    }
  }
  return sharing;
}

void WriteSynopsis(const CliModel& model, std::string* out) {
  *out += ".SH SYNOPSIS\n.nf\n";
  for (const CommandModel& command : model.commands) {
    if (command.hidden) continue;
    std::string line = fmt::format(
        "{} [{}]...", Bold(model.name + " " + command.name), Italic("OPTION"));
    for (const OptionModel& p : command.positional) {
      std::string name = p.names[0];
      std::transform(name.begin(), name.end(), name.begin(), ::toupper);
      line += p.value == ValueKind::kScenario
                  ? fmt::format(" [{}]...", Italic(name))
                  : fmt::format(" {}", Italic(name));
    }
    *out += line + "\n";
  }
  *out += fmt::format("{} {}\n{} {}\n.fi\n", Bold(model.name),
                      Bold("--version"), Bold(model.name), Bold("--help"));
}

// Each command: what it does, its positional words, and the options no
// other command has.
void WriteCommands(const CliModel& model, const Sharing& sharing,
                   std::string* out) {
  *out += ".SH COMMANDS\n";
  for (const CommandModel& command : model.commands) {
    if (command.hidden) continue;
    *out += fmt::format(".SS {}\n{}\n", Bold(model.name + " " + command.name),
                        RoffText(command.help));
    for (const OptionModel& p : command.positional) {
      const bool words = p.value == ValueKind::kWords;
      *out += fmt::format(".TP\n{}\n{}{}\n", Italic(p.names[0]),
                          RoffText(p.help), words ? "." : "");
      if (words) *out += OneOf(p);
    }
    for (const OptionModel& option : command.options) {
      if (sharing.at(OptionId(option)).size() == 1) WriteOption(option, out);
    }
  }
}

// The options several commands share, once, under the commands that have
// them ("Options of run, check, compare and step").
void WriteSharedOptions(const CliModel& model, const Sharing& sharing,
                        std::string* out) {
  std::vector<std::vector<std::string>> groups;
  std::map<std::vector<std::string>, std::vector<const OptionModel*>> members;
  for (const CommandModel& command : model.commands) {
    for (const OptionModel& option : command.options) {
      const auto who = sharing.find(OptionId(option));
      if (who == sharing.end() || who->second.size() < 2 ||
          who->second[0] != command.name) {
        continue;
      }
      if (!members.contains(who->second)) groups.push_back(who->second);
      members[who->second].push_back(&option);
    }
  }
  if (groups.empty()) return;
  const auto shown = std::count_if(
      model.commands.begin(), model.commands.end(),
      [](const CommandModel& command) { return !command.hidden; });
  *out += ".SH OPTIONS OF SEVERAL COMMANDS\n";
  for (const std::vector<std::string>& group : groups) {
    const std::vector<std::string> rest(group.begin(), group.end() - 1);
    *out += std::ssize(group) == shown
                ? std::string(".SS Options of every command\n")
                : fmt::format(".SS Options of {} and {}\n",
                              fmt::join(rest, ", "), group.back());
    for (const OptionModel* option : members[group]) WriteOption(*option, out);
  }
}

// What the command line's tables do not hold: exit statuses
// (base/exit_status.h), the environment, the files an installation has, and
// where to read more.
void WriteClosingSections(std::string* out) {
  *out += fmt::format(
      ".SH EXIT STATUS\n"
      ".TP\n{}\nexpectations met (a scenario without [expect]: no violation)\n"
      ".TP\n{}\nexpectations not met: the checker found violations, or none "
      "where some were expected\n"
      ".TP\n{}\na bad flag, value or scenario\n"
      ".TP\n{}\nthe run itself failed (could not start, timed out), or an "
      "output could not be written\n"
      ".TP\n{}\ninterrupted by SIGINT; any interrupt: 128 + its signal\n",
      static_cast<int>(kExitOk), static_cast<int>(kExitViolations),
      static_cast<int>(kExitUsage), static_cast<int>(kExitRunFailed),
      static_cast<int>(kExitInterrupted));
  *out +=
      ".SH ENVIRONMENT\n"
      ".TP\n\\fBTICKETSIM_SCENARIOS\\fR\n"
      "the folder of the scenario library, over the installed one\n"
      ".TP\n\\fBTMPDIR\\fR\n"
      "where runs make their directories (default /tmp)\n"
      ".TP\n\\fBNO_COLOR\\fR\n"
      "no colour, even on a terminal (unless \\fB--color always\\fR)\n"
      ".TP\n\\fBFORCE_COLOR\\fR\n"
      "colour, even into a pipe or a file, over \\fBNO_COLOR\\fR (unless "
      "\\fB--color never\\fR)\n"
      ".SH FILES\n"
      "Beside the program's folder (\\fI/usr/bin\\fR for the package):\n"
      ".TP\n\\fI../share/ticketsim/scenarios\\fR\n"
      "the scenario library: \\fBticketsim list\\fR shows it and says which "
      "folder it uses, \\fBticketsim run\\fR takes its names "
      "(\\fB01\\-rush\\-unguarded\\fR)\n"
      ".TP\n\\fI../share/ticketsim/helpers\\fR\n"
      "helpers for Python, C and shell that write a program's events\n"
      ".TP\n\\fI../share/ticketsim/examples\\fR\n"
      "the buyer programs the library's program scenarios run\n"
      ".TP\n\\fI../share/doc/ticketsim\\fR\n"
      "README.md, and docs/ (programs, history and report formats, "
      "PostgreSQL, several hosts)\n"
      ".SH EXAMPLES\n"
      ".nf\n"
      "ticketsim run 01\\-rush\\-unguarded 02\\-rush\\-guarded\n"
      "ticketsim compare 03\\-torn\\-read \\-\\-guards "
      "none,named\\-mutex,file\\-lock\n"
      "ticketsim run my\\-scenarios/ \\-\\-trials 20 \\-\\-junit report.xml "
      "\\-\\-html timeline.html\n"
      "ticketsim run \\-\\-store shm \\-\\-buyers 4 \\-\\-tickets 100 "
      "\\-\\-attempts 50\n"
      ".fi\n"
      ".SH SEE ALSO\n"
      "\\fBflock\\fR(2), \\fBsem_overview\\fR(7), \\fBsqlite3\\fR(1), "
      "\\fBpsql\\fR(1)\n";
}

}  // namespace

std::string RoffText(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (const char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') {
      out += "\\e";
    } else {
      out += c;
    }
    line_start = c == '\n';
  }
  return out;
}

std::string ManPage(const CliModel& model, std::string_view version) {
  std::string help = model.help;
  if (help.starts_with(model.name + ": ")) {
    help.erase(0, model.name.size() + 2);
  }
  if (help.ends_with('.')) help.pop_back();
  std::string sentence = help;
  if (!sentence.empty()) sentence[0] = std::toupper(sentence[0]);
  std::string out = fmt::format(
      ".TH TICKETSIM 1 \"\" \"ticketsim {}\" \"User Commands\"\n"
      ".SH NAME\n{} \\- {}\n",
      RoffText(version), model.name, RoffText(help));
  WriteSynopsis(model, &out);
  out += fmt::format(
      ".SH DESCRIPTION\n{}.\n.PP\n"
      "Each command prints its options with {}; this page holds them all, "
      "the options several commands share once, under "
      "OPTIONS OF SEVERAL COMMANDS. Every option that sets a scenario key "
      "can also be given as {} over the file; {} lists every key.\n",
      RoffText(sentence), Bold("--help"), Bold("--set key=value"),
      Bold("ticketsim list"));
  const Sharing sharing = WhoHas(model);
  WriteCommands(model, sharing, &out);
  WriteSharedOptions(model, sharing, &out);
  WriteClosingSections(&out);
  return out;
}

}  // namespace ticketsim
