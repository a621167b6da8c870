#include "sim/cli/clean_command.h"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "base/exit_status.h"
#include "storage/run_names.h"

namespace ticketsim {
namespace {

class CleanOptions : public CommandOptions {
 public:
  explicit CleanOptions(CLI::App* command) {
    command->add_flag("--all", all_,
                      "also those of runs whose process is still alive");
  }
  int Prepare(const ParsedLine&, PreparedCommand* command) override {
    command->clean_all = all_;
    return kReady;
  }

 private:
  bool all_ = false;
};

}  // namespace

std::unique_ptr<CommandOptions> AddCleanOptions(CLI::App* command) {
  return std::make_unique<CleanOptions>(command);
}

int CleanCommand(PreparedCommand* command) {
  const std::vector<std::string> removed = CleanLeftovers(command->clean_all);
  for (const std::string& path : removed) fmt::print("removed {}\n", path);
  fmt::print("{} leftover{} removed\n", removed.size(),
             removed.size() == 1 ? "" : "s");
  return kExitOk;
}

}  // namespace ticketsim
