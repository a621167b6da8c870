#include "sim/cli/command.h"

#include <fmt/format.h>

#include "base/escape.h"
#include "base/exit_status.h"

namespace ticketsim {

int ParsedLine::Usage(std::string_view message) const {
  *err += fmt::format("ticketsim: {}\n", Visible(message));
  return kExitUsage;
}

void ParsedLine::SayProblems(
    const std::vector<ScenarioProblem>& problems) const {
  for (const ScenarioProblem& p : problems) {
    *err += VisibleLines(p.message) + "\n";
  }
}

namespace {

// A command that takes no options and has nothing to check.
class NoOptions : public CommandOptions {
 public:
  int Prepare(const ParsedLine&, PreparedCommand*) override { return kReady; }
};

}  // namespace

std::unique_ptr<CommandOptions> AddNoOptions(CLI::App*) {
  return std::make_unique<NoOptions>();
}

}  // namespace ticketsim
