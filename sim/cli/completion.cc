#include "sim/cli/completion.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <set>
#include <utility>
#include <vector>

#include "base/escape.h"

namespace ticketsim {
namespace {

// The first sentence of `help`, at most about a line: for menus that show
// a description beside each word.
std::string Short(std::string_view help) {
  constexpr size_t kMost = 90;
  help = help.substr(0, help.find(". "));
  if (help.size() <= kMost) return std::string(help);
  const size_t space = help.rfind(' ', kMost);
  return std::string(help.substr(0, space)) + "...";
}

std::vector<std::string> WordsOf(const OptionModel& option) {
  std::vector<std::string> words;
  for (const ValueWord& w : option.words) words.push_back(w.word);
  return words;
}

// What a shell does with an option's value, as the scripts name it.
std::string_view KindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kFlag:
      return "";
    case ValueKind::kFree:
      return "free";
    case ValueKind::kWords:
      return "words";
    case ValueKind::kWordList:
      return "list";
    case ValueKind::kFile:
      return "file";
    case ValueKind::kSetting:
      return "setting";
    case ValueKind::kScenario:
      return "scenario";
  }
  return "";
}

std::vector<std::string> CommandNames(const CliModel& model) {
  std::vector<std::string> names;
  for (const CommandModel& c : model.commands) {
    if (!c.hidden) names.push_back(c.name);
  }
  return names;
}

std::vector<std::string> OptionNames(const std::vector<OptionModel>& options) {
  std::vector<std::string> names;
  for (const OptionModel& o : options) {
    names.insert(names.end(), o.names.begin(), o.names.end());
  }
  return names;
}

// --- bash ------------------------------------------------------------------

// _ticketsim_value's case: "COMMAND OPTION" patterns, one arm per kind and
// words, for every option that takes a value.
std::string BashValueCases(const CliModel& model) {
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> arms;
  std::vector<std::pair<std::string, std::string>> order;
  for (const CommandModel& c : model.commands) {
    for (const OptionModel& o : c.options) {
      if (o.value == ValueKind::kFlag) continue;
      const std::pair<std::string, std::string> arm{
          std::string(KindName(o.value)),
          fmt::format("{}", fmt::join(WordsOf(o), " "))};
      if (!arms.contains(arm)) order.push_back(arm);
      for (const std::string& name : o.names) {
        arms[arm].push_back(ShellWord(c.name + " " + name));
      }
    }
  }
  std::string out;
  for (const auto& arm : order) {
    out += fmt::format("    {})\n      _ticketsim_kind={}",
                       fmt::join(arms[arm], "|"), arm.first);
    if (!arm.second.empty()) {
      out += fmt::format(" _ticketsim_words={}", ShellWord(arm.second));
    }
    out += " ;;\n";
  }
  return out;
}

// _ticketsim_command's case: each command's options, and what its other
// words are.
std::string BashCommandCases(const CliModel& model) {
  std::string out;
  for (const CommandModel& c : model.commands) {
    if (c.hidden) continue;
    out += fmt::format(
        "    {})\n      _ticketsim_options={}", ShellWord(c.name),
        ShellWord(fmt::format("{}", fmt::join(OptionNames(c.options), " "))));
    for (const OptionModel& p : c.positional) {
      out += fmt::format(" _ticketsim_kind={}", KindName(p.value));
      if (!p.words.empty()) {
        out += fmt::format(
            " _ticketsim_words={}",
            ShellWord(fmt::format("{}", fmt::join(WordsOf(p), " "))));
      }
    }
    out += " ;;\n";
  }
  return out;
}

constexpr std::string_view kBashMain = R"sh(
_ticketsim() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev= command= head= i
  local _ticketsim_kind= _ticketsim_words= _ticketsim_options=
  COMPREPLY=()
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  # bash splits --flag=value at the '=' (COMP_WORDBREAKS).
  if [[ $cur == = ]]; then
    cur=
  elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
    prev=${COMP_WORDS[COMP_CWORD - 2]}
  fi
  for ((i = 1; i < COMP_CWORD; i++)); do
    [[ ${COMP_WORDS[i]} == -* ]] && continue
    command=${COMP_WORDS[i]}
    break
  done
  if [[ -z $command ]]; then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "$_ticketsim_top_options" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$_ticketsim_commands" -- "$cur"))
    fi
    return
  fi
  _ticketsim_value "$command" "$prev"
  case $_ticketsim_kind in
    words)
      COMPREPLY=($(compgen -W "$_ticketsim_words" -- "$cur"))
      return ;;
    list)
      [[ $cur == *,* ]] && head=${cur%,*},
      COMPREPLY=($(compgen -P "$head" -W "$_ticketsim_words" -- "${cur##*,}"))
      compopt -o nospace 2>/dev/null
      return ;;
    setting)
      COMPREPLY=($(compgen -S = -W "$_ticketsim_words" -- "$cur"))
      compopt -o nospace 2>/dev/null
      return ;;
    file)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return ;;
    free)
      return ;;
  esac
  _ticketsim_command "$command"
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$_ticketsim_options" -- "$cur"))
    return
  fi
  case $_ticketsim_kind in
    scenario)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(
        compgen -W "$("${COMP_WORDS[0]}" completion --scenarios 2>/dev/null)" \
          -- "$cur"
        compgen -f -- "$cur") ;;
    words)
      COMPREPLY=($(compgen -W "$_ticketsim_words" -- "$cur")) ;;
  esac
}
complete -F _ticketsim ticketsim
)sh";

std::string BashScript(const CliModel& model) {
  return fmt::format(
      "# bash completion for ticketsim, made by `ticketsim completion bash` "
      "from\n# the program's own command line. Source it, or install it as\n"
      "# /usr/share/bash-completion/completions/ticketsim.\n\n"
      "_ticketsim_commands={}\n_ticketsim_top_options={}\n\n"
      "# The value of option $2 of command $1: _ticketsim_kind (words, list,\n"
      "# setting, file, free; empty: not an option that takes a value), and\n"
      "# _ticketsim_words.\n"
      "_ticketsim_value() {{\n  case \"$1 $2\" in\n{}  esac\n}}\n\n"
      "# The options of command $1, and what its other words are.\n"
      "_ticketsim_command() {{\n  case $1 in\n{}  esac\n}}\n{}",
      ShellWord(fmt::format("{}", fmt::join(CommandNames(model), " "))),
      ShellWord(fmt::format("{}", fmt::join(OptionNames(model.options), " "))),
      BashValueCases(model), BashCommandCases(model), kBashMain);
}

// --- zsh -------------------------------------------------------------------

// `text` inside the [...] of an _arguments spec or a _values item.
std::string ZshBracketed(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\' || c == '[' || c == ']' || c == ':') out += '\\';
    out += c;
  }
  return out;
}

// What zsh calls the values of `option` in its menus: "guard" for --guard
// (never a word starting with '-', which _describe would take for an option).
std::string ZshTag(const OptionModel& option) {
  const std::string& name = option.names.back();
  return name.substr(name.find_first_not_of('-'));
}

// A function completing the value of `option`, named `name`; "" for a value
// with nothing to offer.
std::string ZshValueFunction(const OptionModel& option,
                             const std::string& name) {
  std::vector<std::string> items;
  switch (option.value) {
    case ValueKind::kWords:
    case ValueKind::kSetting:
      for (const ValueWord& w : option.words) {
        items.push_back(
            ShellWord(w.help.empty() ? w.word : w.word + ":" + Short(w.help)));
      }
      return fmt::format(
          "{}() {{\n  local -a values=(\n    {}\n  )\n  _describe -t values "
          "{} values{}\n}}\n",
          name, fmt::join(items, "\n    "), ShellWord(ZshTag(option)),
          option.value == ValueKind::kSetting ? " -S =" : "");
    case ValueKind::kWordList:
      for (const ValueWord& w : option.words) {
        items.push_back(ShellWord(
            fmt::format("{}[{}]", w.word, ZshBracketed(Short(w.help)))));
      }
      return fmt::format("{}() {{\n  _values -s , {} \\\n    {}\n}}\n", name,
                         ShellWord(ZshTag(option)),
                         fmt::join(items, " \\\n    "));
    default:
      return "";
  }
}

// The action after an option's (or positional's) "desc:message:".
std::string ZshAction(const OptionModel& option, const std::string& function) {
  switch (option.value) {
    case ValueKind::kFile:
      return "_files";
    case ValueKind::kScenario:
      return "_ticketsim_scenarios";
    case ValueKind::kFree:
      return " ";
    default:
      return function;
  }
}

// The value functions a script needs, each written once however many
// commands share it: "_ticketsim_guard".
class ZshFunctions {
 public:
  // The function completing `option`'s value; "" if it needs none.
  std::string For(const OptionModel& option) {
    const std::string key = ZshValueFunction(option, "");
    if (key.empty()) return "";
    if (const auto known = names_.find(key); known != names_.end()) {
      return known->second;
    }
    std::string name = "_ticketsim_" + ZshTag(option);
    if (used_.contains(name)) name += fmt::format("_{}", used_.size());
    used_.insert(name);
    names_[key] = name;
    text_ += ZshValueFunction(option, name);
    return name;
  }
  const std::string& text() const { return text_; }

 private:
  std::map<std::string, std::string> names_;  // by the function's body
  std::set<std::string> used_ = {"_ticketsim", "_ticketsim_scenarios"};
  std::string text_;
};

// One _arguments spec per option and positional of `command`.
std::vector<std::string> ZshSpecs(const CommandModel& command,
                                  ZshFunctions* functions) {
  std::vector<std::string> specs;
  for (const OptionModel& o : command.options) {
    const std::string names =
        o.names.size() == 1 ? ShellWord(o.names[0])
                            : fmt::format("{{{}}}", fmt::join(o.names, ","));
    std::string spec = fmt::format("[{}]", ZshBracketed(Short(o.help)));
    if (o.value != ValueKind::kFlag) {
      spec += fmt::format(":{}:{}", ZshTag(o), ZshAction(o, functions->For(o)));
    }
    specs.push_back(fmt::format("{}{}{}",
                                o.value == ValueKind::kSetting ? "'*'" : "",
                                names, ShellWord(spec)));
  }
  for (const OptionModel& p : command.positional) {
    specs.push_back(ShellWord(
        fmt::format("{}:{}:{}", p.value == ValueKind::kScenario ? "*" : "1",
                    p.names[0], ZshAction(p, functions->For(p)))));
  }
  return specs;
}

constexpr std::string_view kZshScenarios = R"sh(
# The library's scenario names, as the program typed gives them
# ($_ticketsim_program, set by _ticketsim), and files.
_ticketsim_scenarios() {
  local -a names
  names=(${(f)"$(_call_program scenarios ${(q)_ticketsim_program} completion --scenarios 2>/dev/null)"})
  _alternative 'scenarios:library scenario:compadd -a names' \
    'files:scenario file:_files'
}
)sh";

std::string ZshScript(const CliModel& model) {
  ZshFunctions functions;
  std::string cases;
  std::vector<std::string> commands;
  for (const CommandModel& c : model.commands) {
    if (c.hidden) continue;
    commands.push_back(ShellWord(c.name + ":" + Short(c.help)));
    const std::vector<std::string> specs = ZshSpecs(c, &functions);
    cases += fmt::format("    {})\n      _arguments -S \\\n        {} ;;\n",
                         ShellWord(c.name), fmt::join(specs, " \\\n        "));
  }
  std::vector<std::string> top;
  for (const OptionModel& o : model.options) {
    for (const std::string& name : o.names) {
      top.push_back(ShellWord(
          fmt::format("(- *){}[{}]", name, ZshBracketed(Short(o.help)))));
    }
  }
  return fmt::format(
      "#compdef ticketsim\n# zsh completion for ticketsim, made by `ticketsim "
      "completion zsh` "
      "from\n# the program's own command line.\n{}\n{}\n"
      "_ticketsim() {{\n  local curcontext=$curcontext state line\n"
      "  local _ticketsim_program=$words[1]\n"
      "  _arguments -C \\\n    {} \\\n    '1:command:->command' \\\n"
      "    '*::argument:->argument'\n  case $state in\n    command)\n"
      "      local -a commands=(\n        {}\n      )\n"
      "      _describe -t commands 'ticketsim command' commands ;;\n"
      "    argument)\n      "
      "curcontext=${{curcontext%:*:*}}:ticketsim-$words[1]:\n"
      "      case $words[1] in\n{}      esac ;;\n  esac\n}}\n\n"
      "if [[ $funcstack[1] == _ticketsim ]]; then\n  _ticketsim \"$@\"\nelse\n"
      "  compdef _ticketsim ticketsim\nfi\n",
      kZshScenarios, functions.text(), fmt::join(top, " \\\n    "),
      fmt::join(commands, "\n        "), cases);
}

// --- fish ------------------------------------------------------------------

// `text` in fish's single quotes.
std::string FishQuoted(std::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

// `text` in fish's double quotes.
std::string FishDoubleQuoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '\\' || c == '"' || c == '$') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The -a argument for words with their meanings: word<TAB>meaning each.
std::string FishWords(const OptionModel& option, std::string_view suffix) {
  std::vector<std::string> items;
  for (const ValueWord& w : option.words) {
    items.push_back(w.help.empty()
                        ? w.word + std::string(suffix)
                        : fmt::format("{}{}\\t{}", w.word, suffix,
                                      FishDoubleQuoted(Short(w.help))));
  }
  return FishQuoted(fmt::format("{}", fmt::join(items, " ")));
}

// What follows an option's names: how its value is completed.
std::string FishValue(const OptionModel& option) {
  switch (option.value) {
    case ValueKind::kFlag:
      return "";
    case ValueKind::kFree:
      return " -x";
    case ValueKind::kFile:
    case ValueKind::kScenario:
      return " -r -F";
    case ValueKind::kWords:
      return " -x -a " + FishWords(option, "");
    case ValueKind::kSetting:
      return " -x -a " + FishWords(option, "=");
    case ValueKind::kWordList:
      return fmt::format(" -x -a {}", FishQuoted(fmt::format(
                                          "(__ticketsim_list {})",
                                          fmt::join(WordsOf(option), " "))));
  }
  return "";
}

std::string FishOption(const OptionModel& option,
                       const std::string& condition) {
  std::string line = "complete -c ticketsim -n " + FishQuoted(condition);
  for (const std::string& name : option.names) {
    line += name.starts_with("--") ? " -l " + name.substr(2)
                                   : " -s " + name.substr(1);
  }
  return line + FishValue(option) + " -d " + FishQuoted(Short(option.help)) +
         "\n";
}

constexpr std::string_view kFishFunctions = R"sh(
# The library's scenario names, as the program typed gives them.
function __ticketsim_scenarios
    set -l program (commandline -opc)[1]
    $program completion --scenarios 2>/dev/null
end

# WORD,WORD,...: the words $argv after the token's last comma.
function __ticketsim_list
    set -l head (string replace -r '[^,]*$' '' -- (commandline -ct))
    for word in $argv
        echo $head$word
    end
end

complete -c ticketsim -f
)sh";

std::string FishScript(const CliModel& model) {
  std::string out =
      "# fish completion for ticketsim, made by `ticketsim completion fish` "
      "from\n"
      "# the program's own command line.\n";
  out += kFishFunctions;
  for (const OptionModel& o : model.options)
    out += FishOption(o, "__fish_use_subcommand");
  for (const CommandModel& c : model.commands) {
    if (c.hidden) continue;
    out += fmt::format(
        "complete -c ticketsim -n __fish_use_subcommand -a {} -d {}\n",
        FishQuoted(c.name), FishQuoted(Short(c.help)));
  }
  for (const CommandModel& c : model.commands) {
    if (c.hidden) continue;
    const std::string condition = "__fish_seen_subcommand_from " + c.name;
    out += "\n";
    for (const OptionModel& o : c.options) out += FishOption(o, condition);
    for (const OptionModel& p : c.positional) {
      out += fmt::format(
          "complete -c ticketsim -n {}{} -d {}\n", FishQuoted(condition),
          p.value == ValueKind::kScenario ? " -F -a '(__ticketsim_scenarios)'"
                                          : " -a " + FishWords(p, ""),
          FishQuoted(Short(p.help)));
    }
  }
  return out;
}

}  // namespace

std::string CompletionScript(const CliModel& model, std::string_view shell) {
  if (shell == "bash") return BashScript(model);
  if (shell == "zsh") return ZshScript(model);
  if (shell == "fish") return FishScript(model);
  return "";
}

}  // namespace ticketsim
