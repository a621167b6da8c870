#include "sim/cli/list_command.h"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "base/escape.h"
#include "base/exit_status.h"
#include "sim/check/violation.h"
#include "sim/report/report_text.h"
#include "sim/scenario/scenario.h"
#include "sim/scenario/scenario_file.h"
#include "sim/scenario/scenario_library.h"
#include "storage/ticket_store.h"

namespace ticketsim {
namespace {

// The scenario's word tables and keys, each word with its meaning.
void ListWords() {
  fmt::print("stores:\n");
  for (const auto& e : kStoreKinds) fmt::print("  {:<18} {}\n", e.word, e.help);
  fmt::print("guards:\n");
  for (const auto& e : kGuardKinds) fmt::print("  {:<18} {}\n", e.word, e.help);
  fmt::print("scopes:\n");
  for (const auto& e : kScopes) fmt::print("  {:<18} {}\n", e.word, e.help);
  fmt::print("methods:\n");
  for (const auto& e : kMethods) fmt::print("  {:<18} {}\n", e.word, e.help);
  fmt::print("violations:\n");
  for (const auto& e : kViolationKinds)
    fmt::print("  {:<20} {}\n", e.word, e.help);
  fmt::print("scenario keys (in a file, or --set key=value):\n");
  for (const auto& k : ScenarioKeys())
    fmt::print("  {:<22} {}\n", k.key, k.help);
}

// One of the library's scenarios: its file, name, expectation and
// description; or why it does not load.
void ListScenario(const std::string& file) {
  LoadedScenario s;
  const Status status = LoadScenario(file, {}, &s);
  fmt::print("  {}\n", Visible(file));
  if (!status.ok()) {
    fmt::print("      (invalid) {}\n", Visible(status.message()));
    return;
  }
  fmt::print("      {}  [expect {}]\n", Visible(s.scenario.name),
             s.scenario.expect.violations == Expectation::kUnset
                 ? "not given: no violation"
                 : WordOf(kExpectations, s.scenario.expect.violations));
  for (const std::string& line : WrapText(s.scenario.description, 70)) {
    fmt::print("      {}\n", Visible(line));
  }
}

// Where the library is, its helpers for programs, and its scenarios.
void ListLibrary() {
  const ScenarioLibraryPlace library = FindScenarioLibrary();
  if (!library.helpers.empty()) {
    fmt::print("helpers for a program's events (docs/programs.md): {}\n",
               Visible(library.helpers));
  }
  std::vector<std::string> files;
  const std::string paths[] = {library.path};
  if (Status s = ExpandScenarioPaths(paths, &files); !s.ok()) {
    fmt::print("scenarios: none found: {} ({})\n", Visible(s.message()),
               library.origin);
    return;
  }
  fmt::print("scenarios ({}, {}):\n", Visible(library.path), library.origin);
  for (const std::string& file : files) ListScenario(file);
}

}  // namespace

int ListCommand(PreparedCommand*) {
  ListWords();
  ListLibrary();
  return kExitOk;
}

}  // namespace ticketsim
