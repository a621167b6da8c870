#include "sim/scenario/program_command.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/escape.h"
#include "sim/scenario/scenario.h"

namespace ticketsim {
namespace {

namespace fs = std::filesystem;

// Why `path` cannot be executed, or "" if it can.
std::string NotExecutable(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return std::strerror(errno);
  if (S_ISDIR(st.st_mode)) return "it is a directory";
  if (!S_ISREG(st.st_mode)) return "it is not a regular file";
  if (access(path.c_str(), X_OK) != 0) {
    return fmt::format("it is not executable ({})", std::strerror(errno));
  }
  return "";
}

// Whether an argument names a program's source file (buyer.py), which must
// then exist: a word of the run's own (db.txt) need not.
bool LooksLikeScript(std::string_view word) {
  for (std::string_view ext :
       {".py", ".sh", ".pl", ".rb", ".js", ".lua", ".php", ".tcl", ".jar"}) {
    if (word.ends_with(ext)) return true;
  }
  return false;
}

// `name` relative to `base` (or as it is, if absolute).
std::string From(const std::string& base, const std::string& name) {
  if (name.starts_with('/') || base.empty()) return name;
  return (fs::path(base) / name).lexically_normal().string();
}

// Whether `path` (the argument `word`) is a script the interpreter is to
// run: a regular file named like one, executable, or starting with "#!".
bool IsScript(const std::string& path, std::string_view word) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  if (LooksLikeScript(word) || access(path.c_str(), X_OK) == 0) return true;
  std::FILE* file = std::fopen(path.c_str(), "rbe");
  if (file == nullptr) return false;
  char start[2] = {};
  const bool shebang =
      std::fread(start, 1, 2, file) == 2 && start[0] == '#' && start[1] == '!';
  std::fclose(file);
  return shebang;
}

// The program itself, as it will be executed: looked up on PATH, or (with
// a '/') taken from `base`. Invalid, naming it, if it cannot be run.
Status ResolveCommandName(const std::string& name, const std::string& base,
                          std::string* out) {
  if (name.find('/') != std::string::npos) {
    *out = From(base, name);
    if (const std::string why = NotExecutable(*out); !why.empty()) {
      return Status::Invalid(
          fmt::format("\"{}\" cannot be run: {}", Visible(name), why));
    }
    return Status::Ok();
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
  for (;;) {
    const size_t colon = dirs.find(':');
    const std::string dir(dirs.substr(0, colon));
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (NotExecutable(candidate).empty()) {
      *out = candidate;
      return Status::Ok();
    }
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return Status::Invalid(
      fmt::format("\"{}\" was not found on PATH (nor is it executable there)",
                  Visible(name)));
}

}  // namespace

Status ResolveProgram(const ProgramSpec& program, std::string_view store_file,
                      ResolvedCommand* resolved) {
  if (program.command.empty()) return Status::Invalid("no program.command");
  ResolvedCommand out;
  out.argv = program.command;
  const std::string& name = program.command[0];
  if (Status s = ResolveCommandName(name, program.base_dir, &out.argv[0]);
      !s.ok()) {
    return s;
  }
  // An absolute path is nobody's neighbour: not said to be from the folder.
  const auto from_folder = [&](const std::string& word) {
    if (!word.starts_with('/')) out.from_folder.push_back(word);
  };
  if (name.find('/') != std::string::npos) from_folder(name);
  for (size_t i = 1; i < out.argv.size(); ++i) {
    const std::string& word = program.command[i];
    if (word.empty() || word.starts_with('-')) continue;
    const std::string candidate = From(program.base_dir, word);
    // The program's data (the store's file above all) is the run
    // directory's, where it runs: never the user's file of that name.
    const bool store = fs::path(word).filename() == store_file;
    if (!store && IsScript(candidate, word)) {
      out.argv[i] = candidate;
      from_folder(word);
    } else if (struct stat st; stat(candidate.c_str(), &st) == 0) {
      out.as_written.push_back(word);
    } else if (LooksLikeScript(word)) {
      // Else the interpreter would fail in every copy, in the run's
      // directory, and the run would look like a crash.
      return Status::Invalid(fmt::format(
          "\"{}\" was not found in {}", Visible(word),
          program.base_dir.empty() ? "." : Visible(program.base_dir)));
    }
  }
  *resolved = std::move(out);
  return Status::Ok();
}

}  // namespace ticketsim
