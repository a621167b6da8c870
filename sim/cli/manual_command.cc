#include "sim/cli/manual_command.h"

#include "base/exit_status.h"
#include "base/version.h"
#include "sim/cli/cli_model.h"
#include "sim/cli/manual.h"
#include "sim/cli/scenario_options.h"

namespace ticketsim {
namespace {

class ManualOptions : public CommandOptions {
 public:
  int Prepare(const ParsedLine& line, PreparedCommand*) override {
    *line.out +=
        ManPage(DescribeCommandLine(line.app, FlagKeys()), kToolVersion);
    return kExitOk;
  }
};

}  // namespace

std::unique_ptr<CommandOptions> AddManualOptions(CLI::App*) {
  return std::make_unique<ManualOptions>();
}

}  // namespace ticketsim
