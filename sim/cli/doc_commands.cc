#include "sim/cli/doc_commands.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "base/escape.h"
#include "base/version.h"
#include "sim/cli/cli.h"
#include "sim/cli/completion.h"
#include "sim/cli/manual.h"
#include "sim/scenario/scenario_file.h"
#include "sim/scenario/scenario_library.h"

namespace ticketsim {
namespace {

// The names `ticketsim run` takes from the library, one a line; none when
// there is no library.
std::string ScenarioNames() {
  const std::string library[] = {FindScenarioLibrary().path};
  std::vector<std::string> files;
  if (!ExpandScenarioPaths(library, &files).ok()) return "";
  std::string out;
  for (const std::string& file : files) {
    out += std::filesystem::path(file).stem().string() + "\n";
  }
  return out;
}

}  // namespace

DocCommands::DocCommands(CLI::App* app) {
  completion_ = app->add_subcommand(
      "completion",
      "print the completion script for a shell (bash, zsh, fish): source it, "
      "or install it where the shell looks (`source <(ticketsim completion "
      "bash)`)");
  completion_->add_option("shell", shell_, "the shell to complete for");
  completion_->add_flag("--scenarios", scenarios_,
                        "print the names of the library's scenarios, one a "
                        "line, as the scripts complete them");
  manual_ = app->add_subcommand(
      "manual",
      "print the manual page, ticketsim(1), in roff (`ticketsim manual | "
      "man -l -`)");
}

bool DocCommands::Run(const CLI::App& app, std::span<const FlagKey> flag_keys,
                      std::string* out, std::string* err, int* status) const {
  if (!completion_->parsed() && !manual_->parsed()) return false;
  *status = kExitOk;
  if (manual_->parsed()) {
    *out += ManPage(DescribeCommandLine(app, flag_keys), kToolVersion);
    return true;
  }
  if (scenarios_) {
    *out += VisibleLines(ScenarioNames());
    return true;
  }
  const std::string script =
      CompletionScript(DescribeCommandLine(app, flag_keys), shell_);
  if (script.empty()) {
    *err += fmt::format(
        "ticketsim completion: {}; the shells are {}\n",
        shell_.empty() ? "give a shell"
                       : fmt::format("no script for \"{}\"", Visible(shell_)),
        fmt::join(kShellNames, ", "));
    *status = kExitUsage;
    return true;
  }
  *out += script;
  return true;
}

}  // namespace ticketsim
