#include "sim/program_command.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "sim/escape.h"
#include "sim/scenario.h"
#include "sim/step_command.h"

namespace ticketsim {
namespace {

namespace fs = std::filesystem;

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n'; }

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

}  // namespace

Status SplitCommandLine(std::string_view line, std::vector<std::string>* out) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (IsBlank(c)) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
    } else if (c == '\'' || c == '"') {
      const size_t close = line.find(c, i + 1);
      if (close == std::string_view::npos) {
        return Status::Invalid(fmt::format(
            "the quote {} at character {} is never closed", c, i + 1));
      }
      word += line.substr(i + 1, close - i - 1);
      i = close;
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(std::move(word));
  *out = std::move(words);
  return Status::Ok();
}

Status ResolveProgram(const ProgramSpec& program,
                      std::vector<std::string>* argv) {
  if (program.command.empty()) return Status::Invalid("no program.command");
  std::vector<std::string> out = program.command;
  const std::string& name = program.command[0];
  if (name.find('/') != std::string::npos) {
    out[0] = From(program.base_dir, name);
    if (const std::string why = NotExecutable(out[0]); !why.empty()) {
      return Status::Invalid(
          fmt::format("\"{}\" cannot be run: {}", Visible(name), why));
    }
  } else {
    const char* path = std::getenv("PATH");
    std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
    std::string found;
    while (found.empty()) {
      const size_t colon = dirs.find(':');
      const std::string dir(dirs.substr(0, colon));
      const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
      if (NotExecutable(candidate).empty()) found = candidate;
      if (colon == std::string_view::npos) break;
      dirs.remove_prefix(colon + 1);
    }
    if (found.empty()) {
      return Status::Invalid(fmt::format(
          "\"{}\" was not found on PATH (nor is it executable there)",
          Visible(name)));
    }
    out[0] = found;
  }
  for (size_t i = 1; i < out.size(); ++i) {
    if (out[i].empty() || out[i].starts_with('-')) continue;
    const std::string candidate = From(program.base_dir, out[i]);
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0) {
      out[i] = candidate;
    } else if (LooksLikeScript(out[i])) {
      // Else the interpreter would fail in every copy, in the run's
      // directory, and the run would look like a crash.
      return Status::Invalid(fmt::format(
          "\"{}\" was not found in {}", Visible(program.command[i]),
          program.base_dir.empty() ? "." : Visible(program.base_dir)));
    }
  }
  *argv = std::move(out);
  return Status::Ok();
}

std::string CommandLine(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& word : argv) {
    if (!line.empty()) line += ' ';
    line += ShellWord(word);
  }
  return line;
}

}  // namespace ticketsim
