#include "sim/cli/completion_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>

#include "base/escape.h"
#include "base/exit_status.h"
#include "sim/cli/cli_model.h"
#include "sim/cli/completion.h"
#include "sim/cli/scenario_files.h"
#include "sim/cli/scenario_options.h"

namespace ticketsim {
namespace {

class CompletionOptions : public CommandOptions {
 public:
  explicit CompletionOptions(CLI::App* command) {
    command->add_option("shell", shell_, "the shell to complete for");
    command->add_flag("--scenarios", scenarios_,
                      "print the names of the library's scenarios, one a "
                      "line, as the scripts complete them");
  }
  int Prepare(const ParsedLine& line, PreparedCommand* command) override;

 private:
  std::string shell_;
  bool scenarios_ = false;
};

int CompletionOptions::Prepare(const ParsedLine& line, PreparedCommand*) {
  if (scenarios_) {
    std::string names;
    for (const std::string& name : LibraryScenarioNames()) {
      names += name + "\n";
    }
    *line.out += VisibleLines(names);
    return kExitOk;
  }
  const std::string script =
      CompletionScript(DescribeCommandLine(line.app, FlagKeys()), shell_);
  if (script.empty()) {
    *line.err += fmt::format(
        "ticketsim completion: {}; the shells are {}\n",
        shell_.empty() ? "give a shell"
                       : fmt::format("no script for \"{}\"", Visible(shell_)),
        fmt::join(kShellNames, ", "));
    return kExitUsage;
  }
  *line.out += script;
  return kExitOk;
}

}  // namespace

std::unique_ptr<CommandOptions> AddCompletionOptions(CLI::App* command) {
  return std::make_unique<CompletionOptions>(command);
}

}  // namespace ticketsim
