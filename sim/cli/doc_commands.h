// `ticketsim completion SHELL`, a shell's completion script (and, for the
// scripts, `--scenarios`: the library's names), and `ticketsim manual`, the
// manual page in roff: both made from the command line they are part of.
#ifndef TICKETSIM_SIM_CLI_DOC_COMMANDS_H_
#define TICKETSIM_SIM_CLI_DOC_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <span>
#include <string>

#include "sim/cli/cli_model.h"

namespace ticketsim {

class DocCommands {
 public:
  // Adds both commands to `app`, which must outlive this.
  explicit DocCommands(CLI::App* app);

  // After `app` parsed: whether one of the two was given. If so, appends its
  // output to *out, or what is wrong to *err, and sets *status (kExitOk,
  // kExitUsage). `flag_keys` says which scenario key each flag sets.
  bool Run(const CLI::App& app, std::span<const FlagKey> flag_keys,
           std::string* out, std::string* err, int* status) const;

 private:
  CLI::App* completion_;
  CLI::App* manual_;
  std::string shell_;
  bool scenarios_ = false;
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_DOC_COMMANDS_H_
