#include "sim/cli/cli_model.h"

#include <algorithm>

#include "base/color.h"
#include "sim/check/violation.h"
#include "sim/scenario/scenario.h"
#include "sim/scenario/schedule.h"
#include "storage/ticket_store.h"

namespace ticketsim {
namespace {

template <typename E>
std::vector<ValueWord> Words(std::span<const EnumWord<E>> table) {
  std::vector<ValueWord> words;
  for (const EnumWord<E>& entry : table) {
    words.push_back({std::string(entry.word), std::string(entry.help)});
  }
  return words;
}

// "FILE: write the JSON report there" -> {"FILE", "write the JSON report
// there"}: --help names an option's value first, in capitals. Help that
// starts otherwise ("file store: ...") has no placeholder.
std::pair<std::string, std::string> SplitPlaceholder(const std::string& help) {
  const size_t colon = help.find(": ");
  if (colon == std::string::npos || colon == 0) return {"", help};
  const std::string head = help.substr(0, colon);
  if (std::any_of(head.begin(), head.end(),
                  [](char c) { return c >= 'a' && c <= 'z'; })) {
    return {"", help};
  }
  return {head, help.substr(colon + 2)};
}

std::string_view KeyOf(std::span<const FlagKey> flag_keys,
                       std::string_view flag) {
  for (const FlagKey& entry : flag_keys) {
    if (entry.flag == flag) return entry.key;
  }
  return "";
}

OptionModel Describe(const CLI::Option& option,
                     std::span<const FlagKey> flag_keys) {
  OptionModel model;
  for (const std::string& s : option.get_snames())
    model.names.push_back("-" + s);
  for (const std::string& l : option.get_lnames()) {
    model.names.push_back("--" + l);
  }
  if (option.get_positional()) model.names.push_back(option.get_name(true));
  std::tie(model.placeholder, model.help) =
      SplitPlaceholder(option.get_description());
  const std::string& name = model.names.back();
  if (option.get_expected_max() == 0) {
    model.value = ValueKind::kFlag;
  } else if (name == "--set") {
    model.value = ValueKind::kSetting;
    for (const ScenarioKeyHelp& k : ScenarioKeys()) {
      model.words.push_back({std::string(k.key), std::string(k.help)});
    }
  } else if (name == "scenario") {
    model.value = ValueKind::kScenario;
  } else if (name == "--color") {
    model.value = ValueKind::kWords;
    model.words = Words(kColorModes);
  } else if (name == "shell") {
    model.value = ValueKind::kWords;
    for (std::string_view shell : kShellNames) {
      model.words.push_back({std::string(shell), ""});
    }
  } else if (model.words = KeyWords(KeyOf(flag_keys, name));
             !model.words.empty()) {
    model.value = option.get_delimiter() == ',' ? ValueKind::kWordList
                                                : ValueKind::kWords;
  } else if (model.placeholder == "FILE") {
    model.value = ValueKind::kFile;
  } else {
    model.value = ValueKind::kFree;
  }
  return model;
}

// The options of `app` that a user gives: --help first, then in the order
// they were added; the positionals apart.
void DescribeOptions(const CLI::App& app, std::span<const FlagKey> flag_keys,
                     std::vector<OptionModel>* options,
                     std::vector<OptionModel>* positional) {
  for (const CLI::Option* option : app.get_options()) {
    if (option->get_group().empty()) continue;  // hidden
    OptionModel model = Describe(*option, flag_keys);
    (option->get_positional() ? positional : options)
        ->push_back(std::move(model));
  }
}

}  // namespace

std::vector<ValueWord> KeyWords(std::string_view key) {
  if (key == "store.kind") return Words(kStoreKinds);
  if (key == "store.write") return Words(kFileWrites);
  if (key == "store.journal") return Words(kSqliteJournals);
  if (key == "store.isolation") return Words(kPgIsolations);
  if (key == "guard.kind") return Words(kGuardKinds);
  if (key == "guard.scope") return Words(kScopes);
  if (key == "guard.order") return Words(kGuardOrders);
  if (key == "guard.acquire") return Words(kGuardAcquires);
  if (key == "buyers.method") return Words(kMethods);
  if (key == "buyers.mode") return Words(kBuyerModes);
  if (key == "program.mode") return Words(kProgramModes);
  if (key == "run.schedule") return Words(kScheduleKinds);
  if (key == "history") return Words(kHistoryModes);
  if (key == "expect.violations") return Words(kExpectations);
  if (key == "expect.kinds") return Words(kViolationKinds);
  return {};
}

CliModel DescribeCommandLine(const CLI::App& app,
                             std::span<const FlagKey> flag_keys) {
  CliModel model;
  model.name = "ticketsim";
  model.help = app.get_description();
  std::vector<OptionModel> none;
  DescribeOptions(app, flag_keys, &model.options, &none);
  for (const CLI::App* sub : app.get_subcommands({})) {
    CommandModel command;
    command.name = sub->get_name();
    command.help = sub->get_description();
    command.hidden = sub->get_group().empty();
    DescribeOptions(*sub, flag_keys, &command.options, &command.positional);
    model.commands.push_back(std::move(command));
  }
  return model;
}

}  // namespace ticketsim
