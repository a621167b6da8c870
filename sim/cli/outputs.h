// The outputs of the commands that write reports (run, compare): --json,
// --html, --junit and --history checked and opened before anything runs,
// --color, and their commit at the end, each failure said once.
#ifndef TICKETSIM_SIM_CLI_OUTPUTS_H_
#define TICKETSIM_SIM_CLI_OUTPUTS_H_

#include <CLI/CLI.hpp>
#include <span>
#include <string>
#include <string_view>

#include "base/color.h"
#include "base/output_file.h"
#include "base/status.h"
#include "sim/cli/command.h"
#include "sim/cli/text_stream.h"

namespace ticketsim {

// The output paths as given: unset when the flag was not (or the command
// has no such flag).
struct OutputPaths {
  std::string json;
  std::string junit;
  std::string html;
  std::string history;
  std::string color = "auto";
};

// Checks the outputs given to `command` before anything runs, and opens
// them into *prepared: each path usable, no two of them one file, none over
// one of `scenario_files`, at most one on stdout (which then sends the text
// report to stderr).
Status OpenOutputs(const OutputPaths& paths, const CLI::App& command,
                   std::span<const std::string> scenario_files,
                   PreparedCommand* prepared);

// --color WHEN, for the commands that print a report.
void AddColorTo(CLI::App* command, std::string* when);
// --color's word as a mode; Invalid, naming the flag, for another word.
Status ParseColor(const std::string& when, ColorMode* mode);

// The end of a command that wrote outputs: each one committed, each failure
// said on stderr and turned into a failed run (3), unless an interrupt
// decided the status.
class OutputEnding {
 public:
  // `status`: what the runs decided. Notes on *stdout_failure_told a failed
  // write to stdout, which it says (or, for a reader that went away, need
  // not).
  OutputEnding(int status, bool* stdout_failure_told)
      : status_(status), stdout_failure_told_(stdout_failure_told) {}

  // Flushes `text`; a failure is said after `what` ("the text report: ").
  void FinishText(TextStream* text, std::string_view what);
  void Commit(OutputFile* output);
  // Says `message`; the run failed.
  void Failed(const std::string& message);
  // `output` failed: if it is stdout, that is told.
  void NoteFailed(const OutputFile& output);

  int status() const { return status_; }

 private:
  int status_;
  bool* stdout_failure_told_;
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_OUTPUTS_H_
