#include "sim/cli/scenario_loading.h"

#include <utility>

#include "sim/cli/ignored_keys.h"
#include "sim/scenario/scenario.h"
#include "storage/pg_connect.h"

namespace ticketsim {
namespace {

// The scenario a command line without a file starts from: the classroom
// rush of scenarios/01-rush-unguarded.toml. Its think time makes the verdict
// the same every time: every buyer queries and reads the count at the start,
// and the first write comes at least 20 ms later, so unguarded all of them
// buy the one ticket, and guarded no query can land in a truncating write.
Scenario CommandLineRush() {
  Scenario rush;
  rush.name = "ticket rush (command line)";
  rush.initial = 1;
  rush.store.kind = StoreKind::kFile;
  rush.store.write = FileWrite::kTruncate;
  rush.buyers.count = 10;
  rush.buyers.attempts = 1;
  rush.buyers.think_ms = {20, 50};
  rush.buyers.seed = 42;
  return rush;
}

}  // namespace

void DropRushThinkWhenControlled(LoadedScenario* loaded, bool controlled) {
  if (!loaded->path.empty() || !controlled ||
      loaded->where.contains("buyers.think_ms")) {
    return;
  }
  loaded->scenario.buyers.think_ms = {};
}

void LoadAll(std::span<const std::string> files,
             const std::vector<Override>& overrides,
             std::vector<LoadedScenario>* loaded,
             std::vector<ScenarioProblem>* problems, bool compared_guard,
             bool stepped) {
  for (const std::string& file : files) {
    LoadedScenario scenario;
    if (file.empty()) scenario.scenario = CommandLineRush();
    if (Status s = LoadScenario(file, overrides, &scenario); !s.ok()) {
      problems->push_back({file, HidePasswords(s.message())});
      continue;
    }
    if (Status s = RefuseIgnoredKeys(scenario, compared_guard); !s.ok()) {
      problems->push_back({file, HidePasswords(s.message())});
      continue;
    }
    DropRushThinkWhenControlled(
        &scenario, stepped || scenario.scenario.schedule.controlled());
    // The rush's think time is its own buyers'; a program has its own.
    if (scenario.path.empty() && scenario.scenario.program.set()) {
      scenario.scenario.buyers.think_ms = {};
      scenario.scenario.name = "program (command line)";
    }
    loaded->push_back(std::move(scenario));
  }
}

}  // namespace ticketsim
