#include "sim/scenario/scenario_library.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace ticketsim {
namespace {

// Whether `path` is a folder, or is there but cannot be looked at (which
// the user should hear about rather than have it skipped).
bool IsThere(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
  return errno != ENOENT && errno != ENOTDIR;
}

// The folder the running program's file is in, "" if it cannot be told.
std::filesystem::path ProgramFolder() {
  std::error_code error;
  const std::filesystem::path self =
      std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::filesystem::path() : self.parent_path();
}

bool SameFolder(const std::filesystem::path& a,
                const std::filesystem::path& b) {
  std::error_code error;
  return !a.empty() && std::filesystem::equivalent(a, b, error) && !error;
}

ScenarioLibraryPlace Place(const std::filesystem::path& path,
                           std::string origin) {
  ScenarioLibraryPlace place{path.string(), std::move(origin), ""};
  const std::filesystem::path helpers = path.parent_path() / "helpers";
  std::error_code error;
  if (std::filesystem::is_directory(helpers, error)) {
    place.helpers = helpers.lexically_normal().string();
  }
  return place;
}

}  // namespace

ScenarioLibraryPlace FindScenarioLibrary() {
  if (const char* env = std::getenv("TICKETSIM_SCENARIOS");
      env != nullptr && *env != '\0') {
    return Place(env, "from TICKETSIM_SCENARIOS");
  }
  const std::filesystem::path program = ProgramFolder();
  // TICKETSIM_DATA_FROM_BIN: the data folder as installed, relative to the
  // program's ("../share/ticketsim").
  const std::filesystem::path installed =
      (program / TICKETSIM_DATA_FROM_BIN / "scenarios").lexically_normal();
  if (!program.empty() && IsThere(installed)) {
    return Place(installed, "installed with ticketsim");
  }
  if (IsThere("scenarios")) {
    return Place("scenarios", "in the current folder");
  }
  if (SameFolder(program, TICKETSIM_BUILD_DIR)) {
    return Place(TICKETSIM_SOURCE_DIR "/scenarios",
                 "the source tree this build folder was built from");
  }
  return Place(installed,
               "where an installed ticketsim keeps it; set "
               "TICKETSIM_SCENARIOS to a folder of scenario files");
}

}  // namespace ticketsim
