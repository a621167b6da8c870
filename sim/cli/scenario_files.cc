#include "sim/cli/scenario_files.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "sim/scenario/scenario.h"
#include "sim/scenario/scenario_library.h"
#include "storage/pg_connect.h"

namespace ticketsim {
namespace {

// Where the scenario library is (see scenario_library.h).
std::string ScenarioLibrary() { return FindScenarioLibrary().path; }

// `name` itself when it is a path that exists; else the library's scenario
// of that name, as `ticketsim list` shows it ("01-rush-unguarded", with or
// without ".toml"), when there is one. Failing both: `name`, whose loading
// says that there is no such file.
std::string LibraryScenario(const std::string& name) {
  struct stat st {};
  if (name.empty() || name.find('/') != std::string::npos ||
      lstat(name.c_str(), &st) == 0 || errno != ENOENT) {
    return name;
  }
  const std::string file =
      name.ends_with(".toml") ? name : fmt::format("{}.toml", name);
  const std::string in_library = ScenarioLibrary() + "/" + file;
  if (stat(in_library.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    return in_library;
  }
  return name;
}

// "rush-unguarded" for "01-rush-unguarded": a library name without its
// number, which a person may forget or get wrong.
std::string WithoutNumber(const std::string& stem) {
  const size_t dash = stem.find('-');
  if (dash == 0 || dash == std::string::npos ||
      !std::all_of(stem.begin(), stem.begin() + dash,
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return stem;
  }
  return stem.substr(dash + 1);
}

// The library's scenario nearest to a misspelt `name` ("01-rush-unguardd",
// "rush-unguarded", "02-rush-unguarded"), or "" when none is near.
std::string NearestLibraryScenario(const std::string& name) {
  const std::vector<std::string> stems = LibraryScenarioNames();
  std::vector<std::string> bare;
  for (const std::string& stem : stems) bare.push_back(WithoutNumber(stem));
  const std::string word =
      name.ends_with(".toml") ? name.substr(0, name.size() - 5) : name;
  if (std::string near = NearestWord(word, stems); !near.empty()) return near;
  const std::string near = NearestWord(WithoutNumber(word), bare);
  if (near.empty()) return "";
  return stems[std::find(bare.begin(), bare.end(), near) - bare.begin()];
}

// Why `given` (loaded as `path`) names no scenario file: `message`, and
// when there is nothing at `path`, what the person may have meant.
std::string NoScenarioMessage(const std::string& given, const std::string& path,
                              const std::string& message) {
  struct stat st {};
  const bool nothing = lstat(path.c_str(), &st) != 0 && errno == ENOENT;
  if (nothing && given.find('=') != std::string::npos) {
    return fmt::format(
        "{}: not a scenario file; a setting needs a --set of its own "
        "(--set {})",
        given, given);
  }
  if (!nothing) return message;
  const std::string near =
      given.find('/') == std::string::npos ? NearestLibraryScenario(given) : "";
  return fmt::format("{}, nor a scenario of that name in the library {}{}",
                     message, ScenarioLibrary(),
                     near.empty()
                         ? " (`ticketsim list` shows the scenarios)"
                         : fmt::format(": did you mean \"{}\"?", near));
}

}  // namespace

std::vector<std::string> LibraryScenarioNames() {
  const std::string library[] = {ScenarioLibrary()};
  std::vector<std::string> files;
  if (!ExpandScenarioPaths(library, &files).ok()) return {};
  std::vector<std::string> names;
  for (const std::string& file : files) {
    names.push_back(std::filesystem::path(file).stem().string());
  }
  return names;
}

std::vector<std::string> ScenarioFiles(const ScenarioOptions& options,
                                       std::vector<ScenarioProblem>* problems) {
  std::vector<std::string> files;
  if (options.paths.empty()) files.push_back("");
  for (const std::string& given : options.paths) {
    std::vector<std::string> found;
    const std::string path = LibraryScenario(given);
    const std::string one[] = {path};
    if (Status s = ExpandScenarioPaths(one, &found); !s.ok()) {
      problems->push_back(
          {path, HidePasswords(NoScenarioMessage(given, path, s.message()))});
      continue;
    }
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

}  // namespace ticketsim
