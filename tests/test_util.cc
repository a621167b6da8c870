#include "tests/test_util.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>

#include "sim/guards/guard.h"

namespace ticketsim::testing {

std::string ReadFile(const std::string& path) {
  // read(2), not a stream: a stream throws when a read fails, as reading
  // /proc/PID/cmdline does once the process has gone.
  std::string out;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

nlohmann::json ReadJson(const std::string& path) {
  return nlohmann::json::parse(ReadFile(path), nullptr, false);
}

void LeavesNothingTest::TearDown() {
  const auto left = LeftoversOfEndedRuns();
  EXPECT_TRUE(left.empty()) << "left behind: " << left.front();
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string Library(const std::string& file) {
  return std::string(TICKETSIM_SOURCE_DIR "/scenarios/") + file;
}

std::string EveryBuyerReadsFirst(int buyers) {
  std::string steps;
  for (int b = 0; b < buyers; ++b) {
    steps += fmt::format("{}{},{}", b == 0 ? "" : ",", b, b);
  }
  return steps;
}
namespace {

namespace fs = std::filesystem;

std::string TempRoot() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

// The processes this one started (StartNoted), each with when it began and,
// once reaped here, when it had ended, on the clock file times are stamped
// with. A run's names carry the pid of the process that made it; a pid
// alone proves nothing (another process of this uid had it before or after,
// maybe in another suite), but a name made while one of ours had that pid
// is our process's.
struct Life {
  timespec began;
  timespec ended;
};
std::mutex started_mutex;
std::map<pid_t, Life>& Started() {
  static std::map<pid_t, Life> started;
  return started;
}

timespec CoarseNow() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  return now;
}

constexpr timespec kNotYet = {INT64_MAX, 0};

// When this process began (before any test: at its start).
const timespec kProcessStart = CoarseNow();

// When process `pid` lived, if it is this one or one it started.
std::optional<Life> LifeOf(pid_t pid) {
  if (pid == getpid()) return Life{kProcessStart, kNotYet};
  std::lock_guard<std::mutex> lock(started_mutex);
  const auto it = Started().find(pid);
  if (it == Started().end()) return std::nullopt;
  return it->second;
}

// Notes that a process started here has ended (it was just reaped).
void NoteEnded(pid_t pid) {
  std::lock_guard<std::mutex> lock(started_mutex);
  const auto it = Started().find(pid);
  if (it != Started().end()) it->second.ended = CoarseNow();
}

bool NotBefore(const timespec& a, const timespec& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec >= b.tv_nsec;
}

// The pid in the tag a name of /dev/shm or the temp directory begins with
// ("ticketsim.<uid>.<pid>.", after "sem." for a semaphore).
std::optional<pid_t> PidOfName(std::string_view name) {
  if (name.starts_with("sem.")) name.remove_prefix(4);
  const std::string prefix = fmt::format("ticketsim.{}.", geteuid());
  if (!name.starts_with(prefix)) return std::nullopt;
  name.remove_prefix(prefix.size());
  const size_t dot = name.find('.');
  if (dot == 0 || dot == std::string_view::npos) return std::nullopt;
  pid_t pid = 0;
  for (char c : name.substr(0, dot)) {
    if (c < '0' || c > '9') return std::nullopt;
    pid = pid * 10 + (c - '0');
  }
  return pid;
}

// Whether `path` was made while the process its name names lived, if that
// process is known here; `unknown` otherwise.
bool MadeInItsLife(const std::string& path, bool unknown) {
  const std::optional<pid_t> pid = PidOfName(fs::path(path).filename().c_str());
  const std::optional<Life> life = pid ? LifeOf(*pid) : std::optional<Life>();
  if (!life) return unknown;
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return false;
  return NotBefore(st.st_ctim, life->began) &&
         NotBefore(life->ended, st.st_ctim);
}

// Adds the entries of `dir` whose name contains `needle` and pass `keep`.
void Scan(const std::string& dir, const std::string& needle,
          std::vector<std::string>* found,
          const std::function<bool(const std::string&)>& keep = nullptr) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename();
    if (name.find(needle) != std::string::npos && (!keep || keep(name))) {
      found->push_back(entry.path());
    }
  }
}

// Fails the test after which anything of this process's runs remains.
class LeftoverListener : public ::testing::EmptyTestEventListener {
  void OnTestEnd(const ::testing::TestInfo&) override {
    const std::vector<std::string> left = LeftoversOf(getpid());
    EXPECT_TRUE(left.empty())
        << "left behind: " << fmt::format("{}", fmt::join(left, ", "));
    for (const std::string& path : left) {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  }
};

const bool kListenerInstalled = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new LeftoverListener);
  return true;
}();

}  // namespace

std::vector<std::string> LeftoversOf(pid_t pid) {
  // The pid in a run's tag says which process made it (it decides nothing).
  const std::string needle = fmt::format("ticketsim.{}.{}.", geteuid(), pid);
  std::vector<std::string> found;
  Scan("/dev/shm", needle, &found);
  Scan(TempRoot(), needle, &found);
  std::erase_if(found, [](const std::string& path) {
    return !MadeInItsLife(path, /*unknown=*/true);
  });
  return found;
}

namespace {

// The runs' leftovers already there when this test process started: an
// earlier run killed outright (SIGKILL, a machine's session ended) leaves its
// directory until `ticketsim clean`, and no test here made it.
const std::vector<std::string>& LeftoversBeforeTheseTests() {
  static const std::vector<std::string> before = [] {
    const std::string needle = fmt::format("ticketsim.{}.", geteuid());
    std::vector<std::string> found;
    Scan("/dev/shm", needle, &found);
    Scan(TempRoot(), needle, &found);
    return found;
  }();
  return before;
}

// Taken as the test process starts, before any test runs.
[[maybe_unused]] const auto& kBefore = LeftoversBeforeTheseTests();

}  // namespace

pid_t StartNoted(const std::function<pid_t()>& start) {
  // Taken before the start: what the process makes is stamped after it.
  const timespec before = CoarseNow();
  const pid_t pid = start();
  if (pid > 0) {
    std::lock_guard<std::mutex> lock(started_mutex);
    Started()[pid] = {before, kNotYet};
  }
  return pid;
}

pid_t ForkNoted() {
  return StartNoted([] { return fork(); });
}

std::vector<std::string> LeftoversOfEndedRuns(Whose whose) {
  const std::string needle = fmt::format("ticketsim.{}.", geteuid());
  // Ended: the run's liveness lock there is free, as `ticketsim clean`
  // judges it. Ours: made by a process this one started, after it began.
  const auto ended = [whose](const std::string& dir) {
    return [dir, whose](const std::string& name) {
      const std::string path = fmt::format("{}/{}", dir, name);
      return (whose == Whose::kEveryones ||
              MadeInItsLife(path, /*unknown=*/false)) &&
             RunHasEnded(path);
    };
  };
  std::vector<std::string> found;
  Scan("/dev/shm", needle, &found, ended("/dev/shm"));
  Scan(TempRoot(), needle, &found, ended(TempRoot()));
  // A run may remove its objects and let go of its lock between the scan and
  // the look at its lock: only what is still there now is left behind.
  std::erase_if(found, [](const std::string& path) {
    std::error_code ec;
    return !fs::exists(fs::symlink_status(path, ec)) ||
           std::ranges::find(LeftoversBeforeTheseTests(), path) !=
               LeftoversBeforeTheseTests().end();
  });
  return found;
}

namespace {

[[noreturn]] void Exec(const std::vector<std::string>& argv) {
  std::vector<char*> pointers;
  for (const std::string& a : argv) {
    pointers.push_back(const_cast<char*>(a.c_str()));
  }
  pointers.push_back(nullptr);
  execv(pointers[0], pointers.data());
  _exit(127);
}

// Reads `fd` to its end (EIO too: a pty whose other side has closed).
std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n;
       (n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR);) {
    if (n > 0) out.append(buf, n);
  }
  return out;
}

int Wait(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  NoteEnded(pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<std::string> TicketsimArgv(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {TICKETSIM_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

}  // namespace

namespace {

// Runs `child` (which must not return: it execs or exits) in a forked
// process whose stdout and (with `merge_stderr`) stderr go, together, into
// the result's `out`.
Ran RunWithOutput(const std::function<void()>& child,
                  bool merge_stderr = true) {
  Ran ran;
  int out[2];
  if (pipe(out) != 0) return ran;
  ran.pid = ForkNoted();
  if (ran.pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    if (merge_stderr) dup2(out[1], STDERR_FILENO);
    close(out[0]);
    close(out[1]);
    child();
    _exit(127);
  }
  close(out[1]);
  ran.out = ReadAll(out[0]);
  close(out[0]);
  ran.exit_code = Wait(ran.pid);
  return ran;
}

}  // namespace

int RunTicketsim(const std::string& args, std::string* out, bool merge_stderr) {
  // The shell execs ticketsim, which so keeps the pid noted for it.
  const std::string command = fmt::format("exec {} {}", TICKETSIM_BINARY, args);
  const Ran ran = RunWithOutput(
      [&] { execl("/bin/sh", "sh", "-c", command.c_str(), nullptr); },
      merge_stderr);
  *out = ran.out;
  return ran.exit_code;
}

Ran RunProgram(const std::vector<std::string>& argv,
               const std::string& tmpdir) {
  return RunWithOutput([&] {
    if (!tmpdir.empty()) setenv("TMPDIR", tmpdir.c_str(), 1);
    Exec(argv);
  });
}

Ran RunTicketsimArgs(const std::vector<std::string>& args,
                     const std::string& tmpdir) {
  return RunProgram(TicketsimArgv(args), tmpdir);
}

Ran RunShell(const std::string& script) {
  return RunProgram({"/bin/sh", "-c", script});
}

namespace {

// The inside of RunInPrivateMounts, in its child; returns only by exec.
[[noreturn]] void EnterPrivateMounts(const std::string& script,
                                     const PrivateMounts& mounts) {
  const auto fail = [](const char* what) {
    fmt::print(stderr, "private mounts: {}: {}\n", what, strerror(errno));
    _exit(125);
  };
  // The binary may itself live under /tmp (a checkout there), which the
  // fresh tmpfs hides: keep a descriptor of it, not close-on-exec, and run
  // it through that, in the script and in everything the script starts.
  const int binary = open(TICKETSIM_BINARY, O_PATH);
  if (binary < 0) fail("open " TICKETSIM_BINARY);
  if (unshare(CLONE_NEWNS) != 0) fail("unshare");
  // Nothing mounted here may propagate back to the real /tmp or /dev/shm.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    fail("make / private");
  }
  if (mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777") != 0) fail("/tmp");
  const std::string shm_options = mounts.shm_options.empty()
                                      ? "mode=1777"
                                      : "mode=1777," + mounts.shm_options;
  if (mount("tmpfs", "/dev/shm", "tmpfs", 0, shm_options.c_str()) != 0) {
    fail("/dev/shm");
  }
  if (mounts.as_root && !mounts.as_root()) fail("as root");
  if (mounts.as_nobody) {
    const int status = RunInChild([&mounts] {
      constexpr uid_t kNobody = 65534;
      if (setgroups(0, nullptr) != 0 ||
          setresgid(kNobody, kNobody, kNobody) != 0 ||
          setresuid(kNobody, kNobody, kNobody) != 0) {
        return 1;
      }
      return mounts.as_nobody() ? 0 : 1;
    });
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("as nobody");
  }
  setenv("TICKETSIM", fmt::format("/proc/self/fd/{}", binary).c_str(), 1);
  setenv("TMPDIR", "/tmp", 1);
  execl("/bin/sh", "sh", "-c", script.c_str(), nullptr);
  fail("exec /bin/sh");
  _exit(125);
}

}  // namespace

Ran RunInPrivateMounts(const std::string& script, const PrivateMounts& mounts) {
  return RunWithOutput([&] { EnterPrivateMounts(script, mounts); });
}

void InPrivateShm(const std::function<void()>& body) {
  const TempDir tmp;
  const int status = RunInChild([&] {
    if (unshare(CLONE_NEWNS) != 0 ||
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777") != 0) {
      fmt::print(stderr, "private /dev/shm: {}\n", strerror(errno));
      return 125;
    }
    setenv("TMPDIR", tmp.path().c_str(), 1);
    body();
    // The child ends with _exit: what it printed must be out first.
    fflush(stdout);
    fflush(stderr);
    return ::testing::Test::HasFailure() ? 1 : 0;
  });
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ADD_FAILURE() << "in a private /dev/shm, the test failed (above), status "
                  << status;
  }
}

Ran RunTicketsimOnTerminal(const std::vector<std::string>& args) {
  Ran ran;
  int terminal = -1;
  ran.pid =
      StartNoted([&] { return forkpty(&terminal, nullptr, nullptr, nullptr); });
  if (ran.pid == 0) Exec(TicketsimArgv(args));
  if (ran.pid < 0) return ran;
  ran.out = ReadAll(terminal);
  close(terminal);
  ran.exit_code = Wait(ran.pid);
  return ran;
}

TempDir::TempDir() {
  std::string pattern = TempRoot() + "/ticketsim-test.XXXXXX";
  if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  EXPECT_FALSE(path_.empty());
}

TempDir::~TempDir() {
  std::error_code error;
  if (!path_.empty()) std::filesystem::remove_all(path_, error);
}

std::string TempDir::Write(const std::string& name,
                           const std::string& content) const {
  const std::string file = path_ + "/" + name;
  std::ofstream(file, std::ios::binary) << content;
  return file;
}

std::vector<std::string> TempDir::Entries() const {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(path_, error)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

Scenario RaceScenario(StoreKind store, GuardKind guard, Method method,
                      int64_t buyers, int64_t attempts) {
  Scenario s;
  s.name = "forced race";
  s.initial = 100;
  s.store.kind = store;
  // Truncating writes also tear unguarded queries (see TornReadTest); here
  // the file store writes by rename so that only the race under test shows.
  s.store.write = FileWrite::kReplace;
  s.guard.kind = guard;
  s.guard.timeout_ms = 20000;
  s.buyers.count = buyers;
  s.buyers.attempts = attempts;
  s.buyers.method = method;
  s.buyers.think_ms = {20, 30};
  s.buyers.seed = 7;
  return s;
}

std::vector<StoreGuardMethod> EveryStoreGuardMethod(BuyerMode mode) {
  std::vector<StoreGuardMethod> combos;
  for (const auto& store : kStoreKinds) {
    // A postgres run needs a server: tests/storage/pg_store_test.cc covers it.
    if (store.value == StoreKind::kPostgres) continue;
    // The memory store is a variable of one process: threads only.
    if (store.value == StoreKind::kMemory && mode != BuyerMode::kThread) {
      continue;
    }
    for (GuardKind guard : GuardsFor(store.value, mode)) {
      for (const auto& method : kMethods) {
        if (method.value == Method::kAtomic &&
            store.value == StoreKind::kFile) {
          continue;
        }
        combos.emplace_back(store.value, guard, method.value);
      }
    }
  }
  return combos;
}

std::string NameOf(const StoreGuardMethod& combo) {
  std::string name =
      fmt::format("{}_{}_{}", WordOf(kStoreKinds, std::get<0>(combo)),
                  WordOf(kGuardKinds, std::get<1>(combo)),
                  WordOf(kMethods, std::get<2>(combo)));
  for (char& c : name) {
    c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  }
  return name;
}

CheckedRun RunChecked(const Scenario& scenario) {
  CheckedRun out;
  const Status valid = ValidateScenario(scenario);
  EXPECT_TRUE(valid.ok()) << valid.ToString();
  const Status s = RunScenario(scenario, &out.run);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(out.run.timed_out);
  EXPECT_FALSE(out.run.interrupted);
  if (out.run.history != nullptr) out.verdict = CheckRun(out.run);
  return out;
}

ScopedRun::ScopedRun() {
  const Status s = StartRun(&names_, &lease_);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

ScopedRun::~ScopedRun() { RemoveRunObjects(names_, purposes_); }

void ScopedRun::AddPurposes(const std::vector<std::string>& purposes) {
  purposes_.insert(purposes_.end(), purposes.begin(), purposes.end());
}

int RunInChild(const std::function<int()>& child) {
  const pid_t pid = ForkNoted();
  if (pid == 0) _exit(child());
  int status = 0;
  waitpid(pid, &status, 0);
  NoteEnded(pid);
  return status;
}

}  // namespace ticketsim::testing
