#include "fuzz/fuzz_command_line.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <vector>

#include "fuzz/fuzz_scenario.h"
#include "sim/cli/cli.h"

namespace ticketsim {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic("ticketsim\0", 10);
constexpr const char* kScenario = "fuzz.toml";

// Whether `arg` can only name paths inside the working directory: no
// absolute path (also after "--flag=" or in a comma list) and no "..".
bool IsConfined(std::string_view arg) {
  if (arg.find("..") != std::string_view::npos) return false;
  for (size_t at = arg.find('/'); at != std::string_view::npos;
       at = arg.find('/', at + 1)) {
    if (at == 0 || arg[at - 1] == '=' || arg[at - 1] == ',') return false;
  }
  return true;
}

// The process's own directory for command lines, removed at exit.
const std::string& WorkDir() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string name =
        fmt::format("{}/ticketsim-fuzz-XXXXXX", tmp != nullptr ? tmp : "/tmp");
    if (mkdtemp(name.data()) == nullptr) {
      std::perror("ticketsim fuzz: mkdtemp");
      std::abort();
    }
    return name;
  }();
  static const bool removed_at_exit = [] {
    return std::atexit([] {
             std::error_code error;
             fs::remove_all(WorkDir(), error);
           }) == 0;
  }();
  (void)removed_at_exit;
  return dir;
}

// The working directory changed for the life of this object.
class ScopedChdir {
 public:
  explicit ScopedChdir(const std::string& dir)
      : old_(open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (old_ == -1 || chdir(dir.c_str()) != 0) {
      std::perror("ticketsim fuzz: chdir");
      std::abort();
    }
  }
  ~ScopedChdir() {
    if (fchdir(old_) != 0) std::abort();
    close(old_);
  }
  ScopedChdir(const ScopedChdir&) = delete;
  ScopedChdir& operator=(const ScopedChdir&) = delete;

 private:
  int old_;
};

// What is in the working directory besides the scenario, removed.
std::vector<std::string> TakeLeftovers() {
  std::vector<std::string> left;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(".", error)) {
    const std::string name = entry.path().filename().string();
    if (name == kScenario) continue;
    left.push_back(name);
    fs::remove_all(entry.path(), error);
  }
  return left;
}

}  // namespace

bool IsCommandLineInput(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size)
      .starts_with(kMagic);
}

std::string CheckCommandLineInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  rest.remove_prefix(std::min(kMagic.size(), rest.size()));
  std::vector<std::string> args = {"ticketsim"};
  while (!rest.empty()) {
    const size_t end = std::min(rest.find('\0'), rest.size());
    if (end == 0) {
      rest.remove_prefix(1);
      break;
    }
    args.emplace_back(rest.substr(0, end));
    rest.remove_prefix(std::min(end + 1, rest.size()));
  }
  for (const std::string& arg : args) {
    if (!IsConfined(arg)) return "";
  }

  ScopedChdir in(WorkDir());
  if (std::FILE* f = std::fopen(kScenario, "wb")) {
    const bool written =
        std::fwrite(rest.data(), 1, rest.size(), f) == rest.size();
    if (std::fclose(f) != 0 || !written) return "cannot write fuzz.toml";
  } else {
    return "cannot write fuzz.toml";
  }
  PreparedCommandPtr prepared;
  std::string out;
  std::string err;
  const int status = PrepareCommand(args, &prepared, &out, &err);
  std::string problem;
  if (status == -1) {
    if (prepared == nullptr) problem = "ready to run, yet no command";
  } else if (prepared != nullptr) {
    problem = fmt::format("exit {}, yet a command to run", status);
  } else if (status == kExitOk) {
    if (out.empty()) problem = "exit 0 before running, with no help shown";
  } else if (status == kExitUsage) {
    if (err.empty()) problem = "exit 2 without a message";
  } else {
    problem = fmt::format("exit {} before running", status);
  }
  prepared.reset();
  const std::vector<std::string> left = TakeLeftovers();
  if (problem.empty() && !left.empty()) {
    problem = fmt::format("left behind after the command was dropped: {}",
                          left.front());
  }
  if (problem.empty()) return "";
  std::string words;
  for (const std::string& arg : args) words += " [" + arg + "]";
  return fmt::format("{}; argv:{}; stderr: {}", problem, words, err);
}

std::string CheckFuzzInput(const uint8_t* data, size_t size) {
  return IsCommandLineInput(data, size) ? CheckCommandLineInput(data, size)
                                        : CheckScenarioInput(data, size);
}

}  // namespace ticketsim
