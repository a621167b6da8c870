// Where the program finds its scenario library: installed beside it
// (../share/ticketsim/scenarios from its own folder), else
// $TICKETSIM_SCENARIOS, ./scenarios, or the source tree when it runs from its
// build folder; never the clone's for a copy elsewhere. `list` says which.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "base/escape.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

namespace fs = std::filesystem;
using ::ticketsim::testing::Ran;
using ::ticketsim::testing::RunShell;
using ::ticketsim::testing::TempDir;

constexpr auto npos = std::string::npos;

// A copy of the program at `root`/bin/ticketsim, as an installation has it.
std::string CopyProgramTo(const std::string& root) {
  fs::create_directories(root + "/bin");
  const std::string program = root + "/bin/ticketsim";
  fs::copy_file(TICKETSIM_BINARY, program);
  return program;
}

// `program ARGS` run from the folder `cwd`, with no TICKETSIM_SCENARIOS
// unless `library` names one.
Ran RunIn(const std::string& cwd, const std::string& program,
          const std::string& args, const std::string& library = "") {
  return RunShell(fmt::format(
      "cd {} && unset TICKETSIM_SCENARIOS && {}{} {}", ShellWord(cwd),
      library.empty()
          ? ""
          : fmt::format("TICKETSIM_SCENARIOS={} ", ShellWord(library)),
      ShellWord(program), args));
}

// A copy of the program elsewhere is not in a clone: it does not read the
// scenarios of the tree it was built from, and says where it looked.
TEST(ScenarioLibraryTest, ACopiedProgramDoesNotReadTheClone) {
  TempDir dir;
  const std::string root = fs::canonical(dir.path()).string() + "/opt";
  const std::string program = CopyProgramTo(root);
  const std::string installed = root + "/share/ticketsim/scenarios";

  const Ran list = RunIn(dir.path(), program, "list");
  EXPECT_EQ(list.exit_code, 0) << list.out;
  EXPECT_NE(list.out.find("scenarios: none found: " + installed), npos)
      << list.out;
  EXPECT_NE(list.out.find("set TICKETSIM_SCENARIOS"), npos) << list.out;
  EXPECT_EQ(list.out.find(TICKETSIM_SOURCE_DIR), npos) << list.out;

  const Ran run = RunIn(dir.path(), program, "run 01-rush-unguarded");
  EXPECT_EQ(run.exit_code, 2) << run.out;
  EXPECT_NE(
      run.out.find("nor a scenario of that name in the library " + installed),
      npos)
      << run.out;
}

// Installed under any prefix, the program finds the library and helpers
// installed with it, runs a library scenario by name, and `list` says so;
// TICKETSIM_SCENARIOS still chooses another.
TEST(ScenarioLibraryTest, AnInstalledProgramFindsTheLibraryBesideIt) {
  TempDir dir;
  const std::string root = fs::canonical(dir.path()).string() + "/prefix";
  const std::string program = CopyProgramTo(root);
  const std::string library = root + "/share/ticketsim/scenarios";
  fs::create_directories(library);
  fs::create_directories(root + "/share/ticketsim/helpers");
  fs::copy_file(TICKETSIM_SOURCE_DIR "/scenarios/02-rush-guarded.toml",
                library + "/my-rush.toml");

  const Ran list = RunIn(dir.path(), program, "list");
  EXPECT_EQ(list.exit_code, 0) << list.out;
  EXPECT_NE(list.out.find(fmt::format(
                "scenarios ({}, installed with ticketsim):", library)),
            npos)
      << list.out;
  EXPECT_NE(list.out.find(root + "/share/ticketsim/helpers"), npos) << list.out;
  const Ran run = RunIn(dir.path(), program, "run my-rush");
  EXPECT_EQ(run.exit_code, 0) << run.out;

  const std::string mine = dir.path() + "/mine";
  fs::create_directories(mine);
  fs::copy_file(TICKETSIM_SOURCE_DIR "/scenarios/02-rush-guarded.toml",
                mine + "/other.toml");
  const Ran chosen = RunIn(dir.path(), program, "list", mine);
  EXPECT_NE(chosen.out.find(
                fmt::format("scenarios ({}, from TICKETSIM_SCENARIOS):", mine)),
            npos)
      << chosen.out;
}

// The program in its build folder, run from anywhere, uses the library of
// the source tree it was built from, and says so.
TEST(ScenarioLibraryTest, TheBuildFolderProgramSaysItUsesTheSourceTree) {
  TempDir dir;
  const Ran list = RunIn(dir.path(), TICKETSIM_BINARY, "list");
  EXPECT_EQ(list.exit_code, 0) << list.out;
  EXPECT_NE(list.out.find(fmt::format(
                "scenarios ({}/scenarios, the source tree this build folder "
                "was built from):",
                TICKETSIM_SOURCE_DIR)),
            npos)
      << list.out;
}

}  // namespace
}  // namespace ticketsim
