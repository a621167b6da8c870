// ticketsim as installed: the Debian package `make package` builds (built
// once per test run, by the PackageTest.Builds step, into package-test/ of
// the build folder) and `cmake --install`. What the package depends on, and
// the installed program used as a user would, from a scratch root: a library
// scenario run by name with the clone out of sight, the manual page and the
// completions where Debian looks for them.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/escape.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

namespace fs = std::filesystem;
using ::ticketsim::testing::Ran;
using ::ticketsim::testing::ReadFile;
using ::ticketsim::testing::RunInPrivateMounts;
using ::ticketsim::testing::RunShell;
using ::ticketsim::testing::TempDir;

constexpr auto npos = std::string::npos;

// The package the tests share; "" (and a failure) if it was not built.
std::string Package() {
  const std::string folder = TICKETSIM_BUILD_DIR "/package-test";
  std::vector<std::string> debs;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    if (entry.path().extension() == ".deb") debs.push_back(entry.path());
  }
  if (debs.size() != 1) {
    ADD_FAILURE() << "no package in " << folder
                  << " (ctest -R PackageTest builds it first)";
    return "";
  }
  return debs[0];
}

// The package unpacked under a fresh root, as dpkg would install it.
class PackageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    deb_ = Package();
    ASSERT_FALSE(deb_.empty());
    const Ran ran = RunShell(
        fmt::format("dpkg -x {} {}", ShellWord(deb_), ShellWord(root_.path())));
    ASSERT_EQ(ran.exit_code, 0) << ran.out;
  }
  std::string Installed(const std::string& path) const {
    return root_.path() + path;
  }

  std::string deb_;
  TempDir root_;
};

// Its Depends name the Debian package of every library the program links
// (as dpkg -S finds it), and the version of this build.
TEST_F(PackageTest, DependsOnThePackagesOfTheLibrariesItLinks) {
  const Ran libraries = RunShell(fmt::format(
      R"sh(bin={}
for lib in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  path=$(ldd "$bin" | awk -v l="$lib" '$1 == l {{ print $3 }}')
  owner=$(dpkg -S "$(realpath "$path")" 2>/dev/null || dpkg -S "$path")
  echo "${{owner%%:*}}"
done)sh",
      ShellWord(TICKETSIM_BINARY)));
  ASSERT_EQ(libraries.exit_code, 0) << libraries.out;
  const Ran fields =
      RunShell(fmt::format("dpkg-deb -f {} Version Depends", ShellWord(deb_)));
  ASSERT_EQ(fields.exit_code, 0) << fields.out;
  EXPECT_NE(fields.out.find("Version: " TICKETSIM_VERSION), npos) << fields.out;
  std::istringstream owners(libraries.out);
  int named = 0;
  for (std::string owner; std::getline(owners, owner);) {
    // Named with a version, or without one (a sanitizer's runtime).
    const bool listed = fields.out.find(" " + owner + " (") != npos ||
                        fields.out.find(" " + owner + ",") != npos ||
                        fields.out.find(" " + owner + "\n") != npos;
    EXPECT_TRUE(listed) << owner << " is not among\n" << fields.out;
    ++named;
  }
  EXPECT_GE(named, 5) << libraries.out;  // sqlite, pq, re2, fmt, toml++...
}

// From the unpacked root, with the clone hidden under an empty tmpfs in a
// mount namespace of its own: the program finds its installed library, runs
// the rush by name, and a program scenario finds its example and helper.
TEST_F(PackageTest, TheInstalledProgramRunsTheLibraryWithTheCloneHidden) {
  // Read through a descriptor the script inherits: the fresh /tmp of the
  // mount namespace hides the package of a clone under /tmp.
  const int deb = open(deb_.c_str(), O_RDONLY);
  ASSERT_GE(deb, 0) << deb_;
  const std::string script = fmt::format(
      R"sh(deb={deb}; src={src}; build={build}
dpkg -x "$deb" /tmp/root || exit 1
if [ -d "$src" ]; then mount -t tmpfs none "$src" || exit 1; fi
if [ -d "$build" ]; then mount -t tmpfs none "$build" || exit 1; fi
if [ -e "$src/scenarios" ] || [ -e "$build/ticketsim" ]; then
  echo "the clone is still there"; exit 1
fi
cd /tmp && unset TICKETSIM_SCENARIOS
/tmp/root/usr/bin/ticketsim list | grep '^scenarios '
/tmp/root/usr/bin/ticketsim run 01-rush-unguarded; echo "rush: exit $?"
/tmp/root/usr/bin/ticketsim run 25-program-python-unlocked
echo "program: exit $?"
)sh",
      fmt::arg("deb", fmt::format("/proc/self/fd/{}", deb)),
      fmt::arg("src", ShellWord(TICKETSIM_SOURCE_DIR)),
      fmt::arg("build", ShellWord(TICKETSIM_BUILD_DIR)));
  const Ran ran = RunInPrivateMounts(script);
  close(deb);
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_NE(ran.out.find("scenarios (/tmp/root/usr/share/ticketsim/scenarios, "
                         "installed with ticketsim):"),
            npos)
      << ran.out;
  EXPECT_NE(ran.out.find("seat 1 was sold 10 times"), npos) << ran.out;
  EXPECT_NE(ran.out.find("rush: exit 0"), npos) << ran.out;
  EXPECT_NE(ran.out.find("/tmp/root/usr/share/ticketsim/examples/python/"
                         "unlocked.py"),
            npos)
      << ran.out;
  EXPECT_NE(ran.out.find("program: exit 0"), npos) << ran.out;
}

// The manual page renders without a warning, and the completions are where
// bash-completion, zsh and fish look on Debian, the bash one working as
// readline calls it.
TEST_F(PackageTest, TheManualPageAndCompletionsAreWhereDebianLooks) {
  const std::string page = Installed("/usr/share/man/man1/ticketsim.1.gz");
  ASSERT_TRUE(fs::exists(page));
  const Ran man = RunShell(fmt::format(
      "MANWIDTH=80 man --warnings -l {} 2>&1 >/dev/null", ShellWord(page)));
  EXPECT_EQ(man.exit_code, 0) << man.out;
  EXPECT_EQ(man.out, "");

  const std::string bash =
      Installed("/usr/share/bash-completion/completions/ticketsim");
  for (const auto& [file, shell] :
       {std::pair{bash, "bash"},
        std::pair{Installed("/usr/share/zsh/vendor-completions/_ticketsim"),
                  "zsh"},
        std::pair{
            Installed("/usr/share/fish/vendor_completions.d/ticketsim.fish"),
            "fish"}}) {
    ASSERT_TRUE(fs::exists(file)) << file;
    const Ran printed = RunShell(fmt::format(
        "{} completion {}", ShellWord(Installed("/usr/bin/ticketsim")), shell));
    EXPECT_EQ(ReadFile(file), printed.out) << shell;
  }
  const auto complete = [&](const std::string& words, int cword) {
    return RunShell(
               fmt::format(
                   "exec bash -c {}",
                   ShellWord(fmt::format(
                       "source {}; COMP_WORDS=({}); COMP_CWORD={}; _ticketsim; "
                       "echo \"${{COMPREPLY[*]}}\"",
                       ShellWord(bash), words, cword))))
        .out;
  };
  EXPECT_EQ(complete("ticketsim r", 1), "run\n");
  EXPECT_EQ(complete("ticketsim run --guard n", 3),
            "none named-mutex named-semaphore\n");
}

// The documentation, the examples (beside the library, and linked where
// Debian keeps examples) and the helpers are in place.
TEST_F(PackageTest, TheDocsExamplesAndHelpersAreInstalled) {
  for (const char* path :
       {"/usr/share/doc/ticketsim/README.md",
        "/usr/share/doc/ticketsim/docs/programs.md",
        "/usr/share/doc/ticketsim/examples/python/unlocked.py",
        "/usr/share/doc/ticketsim/examples/ci/github-actions.yml",
        "/usr/share/ticketsim/helpers/python/ticketsim_buyer.py",
        "/usr/share/ticketsim/helpers/c/ticketsim_buyer.h",
        "/usr/share/ticketsim/helpers/shell/ticketsim_buyer.sh",
        "/usr/share/ticketsim/scenarios/01-rush-unguarded.toml"}) {
    EXPECT_TRUE(fs::exists(Installed(path))) << path;
  }
  EXPECT_TRUE(fs::is_symlink(Installed("/usr/share/doc/ticketsim/examples")));
}

// `cmake --install` (what `make install` runs) under another prefix and a
// staging root: the program there finds the library installed with it.
TEST(InstallTest, AnyPrefixHasItsOwnLibrary) {
  TempDir stage;
  const Ran install = RunShell(fmt::format(
      "DESTDIR={} cmake --install {} --prefix /opt/ticketsim >/dev/null",
      ShellWord(stage.path()), ShellWord(TICKETSIM_BUILD_DIR)));
  ASSERT_EQ(install.exit_code, 0) << install.out;
  const std::string root =
      fs::canonical(stage.path()).string() + "/opt/ticketsim";
  const Ran list = RunShell(
      fmt::format("cd / && unset TICKETSIM_SCENARIOS && {}/bin/ticketsim list",
                  ShellWord(root)));
  EXPECT_EQ(list.exit_code, 0) << list.out;
  EXPECT_NE(list.out.find(fmt::format("scenarios ({}/share/ticketsim/"
                                      "scenarios, installed with ticketsim):",
                                      root)),
            npos)
      << list.out;
  EXPECT_TRUE(fs::exists(root + "/share/man/man1/ticketsim.1.gz"));
}

}  // namespace
}  // namespace ticketsim
