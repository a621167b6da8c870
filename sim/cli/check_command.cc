#include "sim/cli/check_command.h"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "base/escape.h"
#include "base/exit_status.h"
#include "sim/cli/scenario_files.h"
#include "sim/cli/scenario_loading.h"
#include "sim/cli/scenario_options.h"
#include "sim/history_file/history_import.h"
#include "sim/scenario/scenario.h"

namespace ticketsim {
namespace {

class CheckOptions : public CommandOptions {
 public:
  explicit CheckOptions(CLI::App* command) {
    command->add_option("scenario", scenario_.paths,
                        "scenario files or directories");
    scenario_.AddTo(command);
    command->add_option("--history", history_,
                        "FILE: check the runs of a history `run --history` "
                        "wrote, a verdict per trial (exit 1 if one is "
                        "violated)");
  }

  int Prepare(const ParsedLine& line, PreparedCommand* command) override {
    if (scenario_.paths.empty() && history_.empty()) {
      return line.Usage("check: give scenario files or --history FILE");
    }
    command->check_history = history_;
    if (scenario_.paths.empty()) return kReady;
    const std::vector<std::string> files =
        ScenarioFiles(scenario_, &command->problems);
    LoadAll(files, scenario_.Overrides(), &command->scenarios,
            &command->problems);
    // The scenarios that loaded are still told.
    line.SayProblems(command->problems);
    return kReady;
  }

 private:
  ScenarioOptions scenario_;
  std::string history_;
};

}  // namespace

std::unique_ptr<CommandOptions> AddCheckOptions(CLI::App* command) {
  return std::make_unique<CheckOptions>(command);
}

int CheckCommand(PreparedCommand* command) {
  for (const LoadedScenario& s : command->scenarios) {
    fmt::print("ok  {}: {}\n",
               s.path.empty() ? "(command line)" : Visible(s.path),
               Visible(DescribeSetup(s.scenario)));
  }
  if (!command->problems.empty()) return kExitUsage;
  if (command->check_history.empty()) return kExitOk;
  return CheckHistory(command->check_history, stdout, stderr);
}

}  // namespace ticketsim
