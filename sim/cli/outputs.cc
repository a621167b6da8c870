#include "sim/cli/outputs.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "base/exit_status.h"
#include "base/interrupt.h"

namespace ticketsim {
namespace {

// An output given on the command line, classified.
struct WantedOutput {
  const char* flag;
  std::string path;
  std::unique_ptr<OutputFile>* file;
  OutputFile::Kind kind = OutputFile::Kind::kFile;
  FileIdentity id;
};

// The outputs given to `command`, each classified (Invalid if one cannot
// be an output), in the order --json, --html, --junit, --history.
Status GivenOutputs(const OutputPaths& paths, const CLI::App& command,
                    PreparedCommand* prepared,
                    std::vector<WantedOutput>* wanted) {
  const auto want = [](const char* flag, const std::string& path,
                       std::unique_ptr<OutputFile>* file) {
    return WantedOutput{flag, path, file, OutputFile::Kind::kFile,
                        FileIdentity{}};
  };
  for (WantedOutput w :
       {want("--json", paths.json, &prepared->json),
        want("--html", paths.html, &prepared->html),
        want("--junit", paths.junit, &prepared->junit),
        want("--history", paths.history, &prepared->history)}) {
    if (command.get_option_no_throw(w.flag) == nullptr ||
        command.count(w.flag) == 0) {
      continue;
    }
    if (Status s = OutputFile::Classify(w.flag, w.path, &w.kind); !s.ok()) {
      return s;
    }
    if (w.kind == OutputFile::Kind::kFile) w.id = IdentityOf(w.path);
    wanted->push_back(std::move(w));
  }
  return Status::Ok();
}

// Two outputs that would write into one another: the same file, or both
// on stdout (or stderr).
Status RefuseSameTarget(const WantedOutput& a, const WantedOutput& b) {
  using Kind = OutputFile::Kind;
  const bool same_stream =
      a.kind == b.kind && (a.kind == Kind::kStdout || a.kind == Kind::kStderr);
  if (!same_stream &&
      !(a.kind == Kind::kFile && b.kind == Kind::kFile && a.id == b.id)) {
    return Status::Ok();
  }
  return Status::Invalid(fmt::format(
      "{} {} and {} {}: {}", a.flag, a.path, b.flag, b.path,
      a.kind == Kind::kFile
          ? "the same file; each output needs its own"
          : fmt::format("only one output can go to {}",
                        a.kind == Kind::kStdout ? "stdout" : "stderr")));
}

// An output over what else the command writes or reads: stderr while it
// takes the text report, or a scenario file.
Status RefuseTakenTarget(const WantedOutput& a, const std::FILE* text,
                         std::span<const std::string> scenario_files) {
  if (a.kind == OutputFile::Kind::kStderr && text == stderr) {
    return Status::Invalid(fmt::format(
        "{} {}: that is stderr, which takes the text report while another "
        "output is on stdout",
        a.flag, a.path));
  }
  if (a.kind != OutputFile::Kind::kFile) return Status::Ok();
  for (const std::string& file : scenario_files) {
    if (!file.empty() && IdentityOf(file) == a.id) {
      return Status::Invalid(
          fmt::format("{} {}: that is the scenario file {}; it would be "
                      "overwritten",
                      a.flag, a.path, file));
    }
  }
  return Status::Ok();
}

}  // namespace

Status OpenOutputs(const OutputPaths& paths, const CLI::App& command,
                   std::span<const std::string> scenario_files,
                   PreparedCommand* prepared) {
  std::vector<WantedOutput> wanted;
  if (Status s = GivenOutputs(paths, command, prepared, &wanted); !s.ok()) {
    return s;
  }
  if (std::any_of(wanted.begin(), wanted.end(), [](const WantedOutput& w) {
        return w.kind == OutputFile::Kind::kStdout;
      })) {
    prepared->text = stderr;
  }
  for (size_t i = 0; i < wanted.size(); ++i) {
    for (size_t j = i + 1; j < wanted.size(); ++j) {
      if (Status s = RefuseSameTarget(wanted[i], wanted[j]); !s.ok()) return s;
    }
    if (Status s = RefuseTakenTarget(wanted[i], prepared->text, scenario_files);
        !s.ok()) {
      return s;
    }
  }
  for (const WantedOutput& w : wanted) {
    if (Status s = OutputFile::Open(w.flag, w.path, w.file); !s.ok()) return s;
  }
  return Status::Ok();
}

void AddColorTo(CLI::App* command, std::string* when) {
  command->add_option(
      "--color", *when,
      fmt::format("WHEN: colour the text: {} (auto: on a terminal, unless "
                  "NO_COLOR is set; FORCE_COLOR forces it)",
                  WordList(kColorModes)));
}

Status ParseColor(const std::string& when, ColorMode* mode) {
  const std::optional<ColorMode> parsed = ValueOf(kColorModes, when);
  if (!parsed) {
    return Status::Invalid(
        fmt::format("--color {}: expected {}", when, WordList(kColorModes)));
  }
  *mode = *parsed;
  return Status::Ok();
}

void OutputEnding::FinishText(TextStream* text, std::string_view what) {
  const std::string error = text->Finish();
  if (text->failed() && text->get() == stdout) *stdout_failure_told_ = true;
  if (!error.empty()) Failed(fmt::format("{}{}", what, error));
}

void OutputEnding::Commit(OutputFile* output) {
  if (Status s = output->Commit(); !s.ok()) {
    NoteFailed(*output);
    Failed(s.message());
  }
}

void OutputEnding::Failed(const std::string& message) {
  Complain(message);
  if (!IsInterruptedStatus(status_)) status_ = kExitRunFailed;
}

void OutputEnding::NoteFailed(const OutputFile& output) {
  if (output.kind() == OutputFile::Kind::kStdout) *stdout_failure_told_ = true;
}

}  // namespace ticketsim
