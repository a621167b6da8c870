// Programs users bring, run by the real binary: small shell and Python
// buyers written here, each run checked for its exit code, the words of its
// message, and that nothing of it is left: no run directory, no named
// object, and no process whose command line holds the run's marker.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "sim/program/program_events.h"
#include "sim/run/run.h"
#include "sim/scenario/scenario_file.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::Has;
using ::ticketsim::testing::LeavesNothingTest;
using ::ticketsim::testing::LeftoversOf;
using ::ticketsim::testing::Library;
using ::ticketsim::testing::Ran;
using ::ticketsim::testing::ReadFile;
using ::ticketsim::testing::ReadJson;
using ::ticketsim::testing::RunInPrivateMounts;
using ::ticketsim::testing::RunProgram;
using ::ticketsim::testing::RunTicketsimArgs;
using ::ticketsim::testing::TempDir;

// A word no other process has in its command line: also a number of
// seconds, so that `sleep "$1"` sleeps "for ever" under it.
std::string NewMarker() {
  static int next = 0;
  return fmt::format("1000.{}{:04}", getpid(), next++);
}

// The live processes whose command line holds `marker`: pid and command
// line (its words joined by blanks).
std::vector<std::pair<pid_t, std::string>> AliveWith(
    const std::string& marker) {
  std::vector<std::pair<pid_t, std::string>> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = ReadFile(entry.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (Has(cmdline, marker)) found.emplace_back(std::stoi(name), cmdline);
  }
  return found;
}

// A shell script `name` in `dir`, executable.
std::string Script(const TempDir& dir, const std::string& name,
                   const std::string& body) {
  const std::string path = dir.Write(name, "#!/bin/sh\n" + body);
  chmod(path.c_str(), 0755);
  return path;
}

// A buyer with events, in shell: waits at the barrier (unless `barrier` is
// false), then buys `TICKETSIM_ATTEMPTS` times under flock on db.lock,
// each purchase one invoke and its ok (stamped by ticketsim).
std::string ShellBuyer(bool barrier) {
  return std::string(barrier ? "read go <&4\n" : "") + R"(exec 9>>db.lock
i=0
while [ $i -lt "$TICKETSIM_ATTEMPTS" ]; do
  echo '{"type":"invoke","f":"buy"}' >&3
  flock 9
  n=$(tr -dc 0-9 < "$TICKETSIM_DB")
  if [ "$n" -le 0 ]; then
    flock -u 9
    echo '{"type":"fail","f":"buy","error":"sold out","read":0}' >&3
    exit 0
  fi
  printf '{"count": %d}' $((n - 1)) > db.new && mv db.new "$TICKETSIM_DB"
  flock -u 9
  echo "{\"type\":\"ok\",\"f\":\"buy\",\"seat\":$n}" >&3
  i=$((i + 1))
done
)";
}

// A buyer with events, in Python, run as `python3 buyer.py MARKER MODE
// HOLD`: MODE "lock" buys under flock on db.lock (and says so on fd 3),
// "nolock" does not; HOLD seconds pass between its read and its write.
constexpr char kPythonBuyer[] = R"(import fcntl, json, os, sys, time
events = int(os.environ["TICKETSIM_EVENTS_FD"])
def emit(**line):
    line["t"] = time.monotonic_ns()
    os.write(events, (json.dumps(line) + "\n").encode())
while os.read(int(os.environ["TICKETSIM_START_FD"]), 64):
    pass
locked = sys.argv[2] == "lock"
hold = float(sys.argv[3])
db = os.environ["TICKETSIM_DB"]
lock = open("db.lock", "a")
for attempt in range(int(os.environ["TICKETSIM_ATTEMPTS"])):
    emit(type="invoke", f="buy")
    if locked:
        emit(type="invoke", f="lock")
        fcntl.flock(lock, fcntl.LOCK_EX)
        emit(type="ok", f="lock")
    with open(db) as f:
        n = json.load(f)["count"]
    emit(type="ok", f="read", value=n)
    if n <= 0:
        if locked:
            emit(type="ok", f="unlock")
            fcntl.flock(lock, fcntl.LOCK_UN)
        emit(type="fail", f="buy", error="sold out", read=n)
        break
    time.sleep(hold)
    new = "%s.%d" % (db, os.getpid())
    with open(new, "w") as f:
        json.dump({"count": n - 1}, f)
    os.rename(new, db)
    if locked:
        emit(type="ok", f="unlock")
        fcntl.flock(lock, fcntl.LOCK_UN)
    emit(type="ok", f="buy", seat=n, read=n)
)";

// The violation of `kind` in a run of a JSON report (null if none).
nlohmann::json ViolationOf(const nlohmann::json& run, const std::string& kind) {
  for (const auto& v : run["violations"]) {
    if (v["kind"] == kind) return v;
  }
  return nullptr;
}

// Runs ticketsim with `args` as RunTicketsimArgs does, sending it SIGINT
// once `interrupt_when` holds (if given), and giving up on it after 60 s: a
// bound, not a timing. One it gave up on is killed, and its exit code is -1.
Ran RunBounded(const std::vector<std::string>& args, const std::string& tmpdir,
               const std::function<bool()>& interrupt_when = nullptr) {
  Ran ran;
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return ran;
  ran.pid = testing::ForkNoted();
  if (ran.pid == 0) {
    for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    setenv("TMPDIR", tmpdir.c_str(), 1);
    std::vector<char*> argv = {const_cast<char*>(TICKETSIM_BINARY)};
    for (const std::string& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(TICKETSIM_BINARY, argv.data());
    _exit(127);
  }
  close(out[1]);
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool interrupted = false, gave_up = false;
  for (;;) {
    if (!interrupted && interrupt_when && interrupt_when()) {
      interrupted = kill(ran.pid, SIGINT) == 0;
    }
    if (!gave_up && std::chrono::steady_clock::now() > give_up) {
      gave_up = true;
      kill(ran.pid, SIGKILL);
    }
    pollfd ready = {out[0], POLLIN, 0};
    if (poll(&ready, 1, 20) <= 0) continue;
    char buf[4096];
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) break;
    if (n > 0) ran.out.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  waitpid(ran.pid, &status, 0);
  ran.exit_code = gave_up             ? -1
                  : WIFEXITED(status) ? WEXITSTATUS(status)
                                      : 128 + WTERMSIG(status);
  if (gave_up) ran.out += "\n(still running after 60 s: killed)";
  return ran;
}
// Waits (polling, 30 s at most) for `done`; returns whether it came.
bool WaitFor(const std::function<bool()>& done) {
  for (int waited = 0; waited < 30000; waited += 5) {
    if (done()) return true;
    usleep(5000);
  }
  return done();
}

// How many of the live processes with `marker` in their command line run
// `command` (their command line starts with it).
size_t CountAlive(const std::string& marker, const std::string& command) {
  const auto alive = AliveWith(marker);
  return std::count_if(alive.begin(), alive.end(), [&](const auto& p) {
    return p.second.starts_with(command);
  });
}

// ticketsim started in the background with `args`, its runs under TMPDIR
// `tmpdir`; its stdout and stderr go to `out`.
struct Started {
  pid_t pid = -1;
  int out = -1;
};
// `private_shm`: in a mount namespace of its own with a /dev/shm of its
// own, as in a container sharing the machine's cgroups.
Started StartTicketsim(const std::vector<std::string>& args,
                       const std::string& tmpdir, bool private_shm = false) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return {};
  std::vector<char*> argv = {const_cast<char*>(TICKETSIM_BINARY)};
  for (const std::string& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    setenv("TMPDIR", tmpdir.c_str(), 1);
    if (private_shm &&
        (unshare(CLONE_NEWNS) != 0 ||
         mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
         mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777") != 0)) {
      _exit(125);
    }
    execv(TICKETSIM_BINARY, argv.data());
    _exit(127);
  }
  close(out[1]);
  return {pid, out[0]};
}

// Reads all that `started` writes and waits for it to end.
Ran Finish(const Started& started) {
  Ran ran;
  ran.pid = started.pid;
  char buf[4096];
  for (ssize_t n; (n = read(started.out, buf, sizeof buf)) != 0;) {
    if (n > 0) ran.out.append(buf, n);
    if (n < 0 && errno != EINTR) break;
  }
  close(started.out);
  int status = 0;
  while (waitpid(started.pid, &status, 0) < 0 && errno == EINTR) {
  }
  ran.exit_code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return ran;
}

// The cgroups (v2) whose name holds `tag`, anywhere in the hierarchy.
std::vector<std::string> CgroupsNamed(const std::string& tag) {
  std::vector<std::string> found;
  std::ifstream mounts("/proc/self/mountinfo");
  for (std::string line; std::getline(mounts, line);) {
    if (!Has(line, " - cgroup2 ")) continue;
    std::istringstream words(line);
    std::string point;
    for (int i = 0; i < 5; ++i) words >> point;
    std::error_code error;
    for (auto it = std::filesystem::recursive_directory_iterator(point, error);
         it != std::filesystem::recursive_directory_iterator();
         it.increment(error)) {
      if (it->is_directory() && Has(it->path().filename(), tag)) {
        found.push_back(it->path());
      }
    }
  }
  return found;
}

class ProgramTest : public LeavesNothingTest {
 protected:
  // Runs ticketsim with `args`, its runs under a TMPDIR of their own.
  Ran Run(const std::vector<std::string>& args) {
    return RunTicketsimArgs(args, runs_.path());
  }

  // Nothing of `ran` is left: no run directory, no named object, and no
  // process with `marker` in its command line.
  void ExpectNothingLeft(const Ran& ran, const std::string& marker) {
    EXPECT_TRUE(runs_.Entries().empty()) << runs_.Entries().front();
    const std::vector<std::string> left = LeftoversOf(ran.pid);
    EXPECT_TRUE(left.empty()) << left.front();
    const auto alive = AliveWith(marker);
    EXPECT_TRUE(alive.empty()) << "still alive: pid " << alive.front().first
                               << ": " << alive.front().second;
  }

  // A scenario file `name` in tmp_ with guard none and `body` after it.
  std::string Scenario(const std::string& name, const std::string& body) {
    return tmp_.Write(name,
                      "name = \"program\"\n[guard]\nkind = \"none\"\n" + body);
  }

  TempDir runs_;
};

// --- The command ------------------------------------------------------------

TEST_F(ProgramTest, ACommandThatDoesNotExistIsAUsageError) {
  const std::string marker = NewMarker();
  const Ran flag = Run({"run", "--program", "no-such-cmd-xyz " + marker});
  EXPECT_EQ(flag.exit_code, 2) << flag.out;
  EXPECT_TRUE(Has(flag.out, "--program"));
  EXPECT_TRUE(Has(flag.out, "\"no-such-cmd-xyz\" was not found on PATH"))
      << flag.out;
  ExpectNothingLeft(flag, marker);

  // Line 5, column 11: where the command's value begins.
  const std::string file =
      Scenario("missing.toml",
               "[program]\ncommand = [\"./missing.sh\", \"" + marker + "\"]\n");
  const Ran ran = Run({"run", file});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out, file + ":5:11: program.command: "
                                  "\"./missing.sh\" cannot be run: No such "
                                  "file or directory"))
      << ran.out;
  ExpectNothingLeft(ran, marker);
}

TEST_F(ProgramTest, ACommandThatIsNotExecutableIsAUsageError) {
  const std::string marker = NewMarker();
  const std::string script = tmp_.Write("plain.sh", "#!/bin/sh\nexit 0\n");
  chmod(script.c_str(), 0644);
  const Ran flag = Run({"run", "--program", script + " " + marker});
  EXPECT_EQ(flag.exit_code, 2) << flag.out;
  EXPECT_TRUE(
      Has(flag.out, "\"" + script + "\" cannot be run: it is not executable"))
      << flag.out;
  ExpectNothingLeft(flag, marker);

  const std::string file =
      Scenario("plain.toml",
               "[program]\ncommand = [\"./plain.sh\", \"" + marker + "\"]\n");
  const Ran ran = Run({"run", file});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out, file + ":5:11: program.command: \"./plain.sh\" "
                                  "cannot be run: it is not executable"))
      << ran.out;
  ExpectNothingLeft(ran, marker);
}

// A misspelt script is refused before anything runs, as is an empty
// command given on purpose (an unset $CMD): neither runs anything else.
TEST_F(ProgramTest, AMissingScriptOrAnEmptyCommandIsAUsageError) {
  const std::string marker = NewMarker();
  const Ran missing =
      Run({"run", "--program", "python3 no_such_buyer.py " + marker});
  EXPECT_EQ(missing.exit_code, 2) << missing.out;
  EXPECT_TRUE(Has(missing.out, "\"no_such_buyer.py\" was not found in"))
      << missing.out;
  ExpectNothingLeft(missing, marker);

  const std::string file = Scenario(
      "missing.toml", "[program]\ncommand = [\"python3\", \"../gone.py\"]\n");
  const Ran check = Run({"check", file});
  EXPECT_EQ(check.exit_code, 2) << check.out;
  EXPECT_TRUE(Has(check.out, "\"../gone.py\" was not found in")) << check.out;

  const Ran empty = Run({"run", "--program", ""});
  EXPECT_EQ(empty.exit_code, 2) << empty.out;
  EXPECT_TRUE(Has(empty.out, "the command is empty")) << empty.out;
}

// A program is handed a file, shared memory or SQLite; a PostgreSQL store
// is refused before anything runs.
TEST_F(ProgramTest, APostgresStoreIsRefusedForAProgram) {
  const std::string file =
      Scenario("pg.toml",
               "[store]\nkind = \"postgres\"\n[program]\ncommand = "
               "[\"true\"]\n");
  const Ran ran = Run({"run", file});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out,
                  "store.kind: a program is handed a file, shared "
                  "memory or an SQLite database"))
      << ran.out;
}

// `python3 buyer.py db.txt` next to a db.txt of the user's: buyer.py is
// taken from the folder, db.txt is passed as written, so the copies buy
// from the run's own store and the user's file is left as it was. The
// report says which word was which.
TEST_F(ProgramTest, ADataFileInTheCommandIsTheRunsOwnNeverTheUsers) {
  const std::string marker = NewMarker();
  const std::string users = tmp_.Write("db.txt", "{\"count\": 100}");
  tmp_.Write("buyer.py", R"(import json, sys
path = sys.argv[1]
with open(path) as f:
    n = json.load(f)["count"]
with open(path, "w") as f:
    json.dump({"count": n - 1}, f)
print("bought seat %d" % n)
)");
  const std::string file = Scenario(
      "data.toml",
      "[tickets]\ninitial = 5\n[buyers]\ncount = 1\nattempts = 1\n"
      "[program]\ncommand = [\"python3\", \"buyer.py\", \"db.txt\", \"" +
          marker + "\"]\nsold_pattern = 'bought seat (\\d+)'\n");
  const std::string json = tmp_.path() + "/report.json";
  const Ran ran = Run({"run", file, "--json", json});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_EQ(ReadFile(users), "{\"count\": 100}");
  EXPECT_TRUE(Has(ran.out, "words     buyer.py from " + tmp_.path() +
                               "; db.txt passed as written"))
      << ran.out;
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded()) << ran.out;
  const nlohmann::json& run = report["scenarios"][0]["runs"][0];
  EXPECT_EQ(run["tickets"]["remaining"], 4);
  EXPECT_EQ(run["buyers"][0]["seats"], nlohmann::json::array({5}));
  EXPECT_EQ(run["program"]["from_folder"], nlohmann::json::array({"buyer.py"}));
  EXPECT_EQ(run["program"]["as_written"], nlohmann::json::array({"db.txt"}));
  ExpectNothingLeft(ran, marker);
}

// The same, as a user types it: in the folder holding the program and a
// db.txt of 100 of their own, `--program "python3 buyer.py db.txt"` with
// three buyers. The copies buy the run's five tickets, never the user's
// hundred, and the report says which word was the store's.
TEST_F(ProgramTest, AUsersDbTxtBesideTheirProgramIsNeverTheStore) {
  const std::string users = tmp_.Write("db.txt", "{\"count\": 100}");
  // Each copy buys under flock, so that the count says where they bought.
  tmp_.Write("buyer.py", R"(import fcntl, json, sys
with open(sys.argv[1], "r+") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    n = json.load(f)["count"]
    f.seek(0)
    f.truncate()
    json.dump({"count": n - 1}, f)
print("bought seat %d" % n)
)");
  const std::string json = tmp_.path() + "/report.json";
  // The shell execs ticketsim: the pid noted is ticketsim's.
  const Ran ran = RunProgram(
      {"/bin/sh", "-c",
       "cd \"$1\" && exec \"$2\" run --program \"python3 buyer.py db.txt\" "
       "--buyers 3 --tickets 5 --sold-pattern 'bought seat (\\d+)' "
       "--json \"$3\"",
       "sh", tmp_.path(), TICKETSIM_BINARY, json},
      runs_.path());
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_EQ(ReadFile(users), "{\"count\": 100}");
  EXPECT_TRUE(Has(ran.out, "verdict   no violation")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "words     buyer.py from " + tmp_.path() +
                               "; db.txt passed as written"))
      << ran.out;
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded()) << ran.out;
  const nlohmann::json& run = report["scenarios"][0]["runs"][0];
  EXPECT_EQ(run["tickets"]["sold"], 3) << run.dump();
  EXPECT_EQ(run["tickets"]["remaining"], 2) << run.dump();
  EXPECT_EQ(run["program"]["as_written"], nlohmann::json::array({"db.txt"}));
  EXPECT_TRUE(runs_.Entries().empty()) << runs_.Entries().front();
  const std::vector<std::string> left = LeftoversOf(ran.pid);
  EXPECT_TRUE(left.empty()) << left.front();
}

// --- Crashes ----------------------------------------------------------------

// Buyer 0 dies of SIGSEGV, buyer 1 exits 7, each inside a purchase it
// opened and after 30 lines of stderr: two program crashes, each with its
// exit status and its stderr's end, and two indeterminate purchases.
TEST_F(ProgramTest, ACrashingBuyerIsAProgramCrashWithItsStatusAndStderr) {
  const std::string marker = NewMarker();
  const std::string script = Script(tmp_, "crash.sh", R"(read go <&4
echo '{"type":"invoke","f":"buy"}' >&3
i=1
while [ $i -le 30 ]; do echo "stderr line $i end" >&2; i=$((i + 1)); done
if [ "$TICKETSIM_BUYER" = 0 ]; then kill -SEGV $$; fi
exit 7
)");
  const std::string json = tmp_.path() + "/report.json";
  const Ran ran =
      Run({"run", "--program", script + " " + marker, "--buyers", "2",
           "--attempts", "1", "--tickets", "5", "--json", json});
  EXPECT_EQ(ran.exit_code, 1) << ran.out;
  EXPECT_TRUE(Has(ran.out, "VIOLATED: program crash x2")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "buyer 0 was killed by SIGSEGV")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "buyer 1 exited with status 7")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "stderr line 30 end")) << ran.out;
  EXPECT_FALSE(Has(ran.out, "stderr line 10 end")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "2 indeterminate")) << ran.out;
  ExpectNothingLeft(ran, marker);

  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded()) << ran.out;
  const nlohmann::json& run = report["scenarios"][0]["runs"][0];
  const nlohmann::json crash = ViolationOf(run, "program crash");
  ASSERT_FALSE(crash.is_null()) << run["violations"].dump();
  EXPECT_EQ(crash["count"], 2);
  ASSERT_EQ(crash["witnesses"].size(), 2u);
  const std::string w0 = crash["witnesses"][0]["text"];
  const std::string w1 = crash["witnesses"][1]["text"];
  EXPECT_TRUE(Has(w0, "buyer 0 was killed by SIGSEGV")) << w0;
  EXPECT_TRUE(Has(w1, "buyer 1 exited with status 7")) << w1;
  for (const std::string& w : {w0, w1}) {
    EXPECT_TRUE(Has(w, "stderr line 30 end")) << w;
    EXPECT_FALSE(Has(w, "stderr line 10 end")) << w;
  }
  EXPECT_FALSE(Has(report.dump(), "stderr line 10 end"));
  EXPECT_EQ(run["buyers"][0]["killed_by_signal"], SIGSEGV);
  EXPECT_EQ(run["buyers"][1]["exit_code"], 7);
  EXPECT_EQ(run["purchases"]["indeterminate"], 2);
  EXPECT_EQ(run["purchases"]["confirmed"], 0);
}

// Given too few descriptors to set up every copy of the library's Python
// buyer, the run fails naming the cause (exit 3), and never blames the
// program. Swept over limits, since the descriptors a process starts with
// vary: at every limit the run passes or fails with the cause, and at some
// limit a copy, and only it, could not be set up.
TEST_F(ProgramTest, ACopyThatCannotBeStartedIsARunFailureNamingTheCause) {
  bool copy_refused = false;
  for (int limit = 16; limit <= 34; limit += 2) {
    const Ran ran =
        RunProgram({"/bin/bash", "-c",
                    fmt::format("ulimit -n {}; exec '{}' run '{}'", limit,
                                TICKETSIM_BINARY,
                                Library("26-program-python-flock.toml"))},
                   runs_.path());
    SCOPED_TRACE(fmt::format("ulimit -n {}: {}", limit, ran.out));
    EXPECT_FALSE(Has(ran.out, "PROGRAM CRASH"));
    EXPECT_TRUE(ran.exit_code == 0 || ran.exit_code == 3);
    if (ran.exit_code == 3) {
      EXPECT_TRUE(Has(ran.out, "Too many open files"));
    }
    if (Has(ran.out, "could not start the program for buyer ") &&
        Has(ran.out,
            "setting up its descriptors: Too many open files "
            "(EMFILE; ulimit -n is ")) {
      copy_refused = true;
    }
    EXPECT_TRUE(LeftoversOf(ran.pid).empty());
  }
  EXPECT_TRUE(copy_refused);
}

// What the run keeps of a crashed copy's stderr: its last 20 lines, in
// order (the reports take their words from these).
TEST_F(ProgramTest, ACrashKeepsTheLastTwentyLinesOfStderr) {
  const std::string marker = NewMarker();
  Script(tmp_, "crash.sh", R"(read go <&4
i=1
while [ $i -le 30 ]; do echo "stderr line $i end" >&2; i=$((i + 1)); done
exit 7
)");
  const std::string file =
      Scenario("crash.toml",
               "[buyers]\ncount = 1\nattempts = 1\n[program]\ncommand = "
               "[\"./crash.sh\", \"" +
                   marker + "\"]\n");
  LoadedScenario loaded;
  const Status load = LoadScenario(file, {}, &loaded);
  ASSERT_TRUE(load.ok()) << load.ToString();
  RunResult result;
  const Status s = RunScenario(loaded.scenario, &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_NE(result.program, nullptr);
  ASSERT_EQ(result.program->lanes.size(), 1u);
  const ProgramLane& lane = result.program->lanes[0];
  EXPECT_EQ(lane.crash, "exited with status 7");
  std::vector<std::string> expected;
  for (int i = 11; i <= 30; ++i) {
    expected.push_back(fmt::format("stderr line {} end", i));
  }
  EXPECT_EQ(lane.stderr_tail, expected);
  EXPECT_TRUE(AliveWith(marker).empty());
}

// --- Protocol errors --------------------------------------------------------

struct ProtocolCase {
  const char* name;
  // Buyer 1's lines on fd 3, as shell commands (python3 where a real
  // CLOCK_MONOTONIC time is needed).
  std::string lines;
  int line;          // the line blamed
  const char* why;   // the words that say what is wrong with it
  const char* text;  // the start of the line as the message shows it
};

void PrintTo(const ProtocolCase& c, std::ostream* os) { *os << c.name; }

std::string Pad(size_t n) { return std::string(n, 'a'); }

const ProtocolCase kProtocolCases[] = {
    {"MalformedJson", R"(echo '{"type":"invoke","f":"buy"' >&3)", 1, "not JSON",
     R"({"type":"invoke","f":"buy")"},
    {"UnknownType",
     R"(echo '{"type":"invoke","f":"buy"}' >&3
echo '{"type":"ok","f":"buy"}' >&3
echo '{"type":"begin","f":"buy"}' >&3)",
     3, R"(unknown type "begin")", R"({"type":"begin","f":"buy"})"},
    {"UnknownF", R"(echo '{"type":"invoke","f":"sell"}' >&3)", 1,
     R"(unknown f "sell")", R"({"type":"invoke","f":"sell"})"},
    {"OkWithoutInvoke",
     R"(echo '{"type":"ok","f":"read","value":3}' >&3
echo '{"type":"ok","f":"buy","seat":3}' >&3)",
     2, "an ok of buy with no invoke before it",
     R"({"type":"ok","f":"buy","seat":3})"},
    {"TimeGoesBackwards",
     R"(python3 -c 'import os, time
t = time.monotonic_ns()
os.write(3, b"{\"type\":\"invoke\",\"f\":\"buy\",\"t\":%d}\n" % t)
os.write(3, b"{\"type\":\"ok\",\"f\":\"buy\",\"t\":%d}\n" % (t - 1000))')",
     2, "goes back before the previous line's",
     R"({"type":"ok","f":"buy","t":)"},
    {"TimeOutsideTheRun", R"(echo '{"type":"invoke","f":"buy","t":1}' >&3)", 1,
     "t = 1 lies outside the run", R"({"type":"invoke","f":"buy","t":1})"},
    {"NulByte",
     R"(printf '{"type":"invoke","f":"buy"}\000{"type":"ok","f":"buy"}\n' >&3)",
     1, "a NUL byte at byte 28",
     R"({"type":"invoke","f":"buy"}\x00{"type":"ok","f":"buy"})"},
    {"LineTooLong",
     "echo '{\"type\":\"invoke\",\"f\":\"buy\",\"pad\":\"" + Pad(5000) +
         "\"}' >&3",
     1, "the line is longer than 4096 bytes",
     R"({"type":"invoke","f":"buy","pad":"aaaa)"},
};

class ProgramProtocolTest : public ProgramTest,
                            public ::testing::WithParamInterface<ProtocolCase> {
};

// Buyer 1 breaks the protocol while buyer 0 sleeps: exit 3, the message
// names buyer 1, the line and its text, and both copies are killed.
TEST_P(ProgramProtocolTest, AProtocolErrorStopsTheRunNamingBuyerLineAndText) {
  const ProtocolCase& c = GetParam();
  const std::string marker = NewMarker();
  const std::string script =
      Script(tmp_, "proto.sh",
             "read go <&4\nif [ \"$TICKETSIM_BUYER\" = 1 ]; then\n" + c.lines +
                 "\nfi\nsleep \"$1\"\n");
  const Ran ran = Run({"run", "--program", script + " " + marker, "--buyers",
                       "2", "--attempts", "1", "--tickets", "5"});
  EXPECT_EQ(ran.exit_code, 3) << ran.out;
  EXPECT_TRUE(
      Has(ran.out, fmt::format("protocol error: buyer 1, line {} of its "
                               "events (fd 3): ",
                               c.line)))
      << ran.out;
  EXPECT_TRUE(Has(ran.out, c.why)) << ran.out;
  EXPECT_TRUE(Has(ran.out, c.text)) << ran.out;
  ExpectNothingLeft(ran, marker);
}

INSTANTIATE_TEST_SUITE_P(
    EveryBreach, ProgramProtocolTest, ::testing::ValuesIn(kProtocolCases),
    [](const ::testing::TestParamInfo<ProtocolCase>& info) {
      return std::string(info.param.name);
    });

// --- Hangs and floods -------------------------------------------------------

// A program that hangs after the barrier, with a background child of its
// own: at run.timeout_ms its whole process group is killed; exit 3.
TEST_F(ProgramTest, AHangingProgramIsKilledAtTheTimeLimit) {
  const std::string marker = NewMarker();
  const std::string script =
      Script(tmp_, "hang.sh", "read go <&4\nsleep \"$1\" &\nsleep \"$1\"\n");
  const Ran ran = Run({"run", "--program", script + " " + marker, "--buyers",
                       "2", "--attempts", "1", "--tickets", "5", "--set",
                       "run.timeout_ms=1500"});
  EXPECT_EQ(ran.exit_code, 3) << ran.out;
  EXPECT_TRUE(Has(ran.out, "the run hit its time limit")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "killed (SIGKILL)")) << ran.out;
  ExpectNothingLeft(ran, marker);
}

// Events in an endless loop fill the buyer's share of the history: the run
// stops, naming the buyer and the flood; exit 3.
TEST_F(ProgramTest, AnEventFloodIsStoppedNamingTheBuyer) {
  const std::string marker = NewMarker();
  const std::string script = Script(tmp_, "flood.sh", R"(read go <&4
while :; do
  echo '{"type":"invoke","f":"buy"}'
  echo '{"type":"info","f":"buy","error":"unknown"}'
done >&3
)");
  const Ran ran = Run({"run", "--program", script + " " + marker, "--buyers",
                       "2", "--attempts", "2", "--tickets", "5"});
  EXPECT_EQ(ran.exit_code, 3) << ran.out;
  EXPECT_TRUE(Has(ran.out, "protocol error: buyer ")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "its share of the history is full (a flood"))
      << ran.out;
  ExpectNothingLeft(ran, marker);
}

// Writers that never stop and never fill anything ticketsim bounds (stdout
// with no sale in it, stderr, empty lines on fd 3) do not keep the run
// from its time limit: stopped, exit 3, nothing left.
TEST_F(ProgramTest, AnEndlessWriterIsStoppedAtTheTimeLimit) {
  for (const std::string writer :
       {"yes \"no sale $1\"", "yes \"$1\" >&2", "yes '' >&3"}) {
    SCOPED_TRACE(writer);
    const std::string marker = NewMarker();
    const std::string script =
        Script(tmp_, "endless.sh", "read go <&4\n" + writer + "\n");
    const Ran ran =
        Run({"run", "--program", script + " " + marker, "--buyers", "2",
             "--attempts", "1", "--tickets", "5", "--sold-pattern",
             "bought seat (\\d+)", "--set", "run.timeout_ms=500"});
    EXPECT_EQ(ran.exit_code, 3) << ran.out;
    EXPECT_TRUE(Has(ran.out, "the run hit its time limit") ||
                Has(ran.out, "stopped as a flood"))
        << ran.out;
    ExpectNothingLeft(ran, marker);
  }
}

// --- The pattern ------------------------------------------------------------

// Lines of 1 MiB and of 30,000 bytes before the sale, each a line a
// backtracking matcher recursed over to its end: the run ends with its
// verdict. Only the first 4096 bytes of a line are matched, so the sale at
// the end of the 1 MiB line is not counted, and the one after is.
TEST_F(ProgramTest, ALongStdoutLineIsMatchedNotACrash) {
  const std::string marker = NewMarker();
  const std::string script = Script(tmp_, "long.sh", R"(read go <&4
head -c 1048576 /dev/zero | tr '\0' x; echo ' bought seat 7'
head -c 30000 /dev/zero | tr '\0' x; echo
printf '{"count": 1}' > "$TICKETSIM_DB"
echo 'bought seat 2'
)");
  const std::string json = tmp_.path() + "/report.json";
  const Ran ran = Run({"run", "--program", script + " " + marker, "--buyers",
                       "1", "--tickets", "2", "--sold-pattern", ".*seat (\\d+)",
                       "--json", json});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded()) << ran.out;
  const nlohmann::json& run = report["scenarios"][0]["runs"][0];
  EXPECT_EQ(run["purchases"]["confirmed"], 1);
  EXPECT_EQ(run["buyers"][0]["seats"], nlohmann::json::array({2}));
  ExpectNothingLeft(ran, marker);
}

// Patterns that backtrack without end over a line of words or of x's:
// matched in linear time, the run ends at its time limit (exit 3), or at
// once at SIGINT (exit 130), leaving nothing.
TEST_F(ProgramTest, ABacktrackingPatternEndsAtTheTimeLimitAndAtAnInterrupt) {
  const std::string words =
      "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu "
      "xi omicron pi rho sigma tau";
  const std::pair<std::string, std::string> cases[] = {
      {"(?:\\w+\\s?)+ seat (\\d+)", words}, {"(x+x+)+y", std::string(40, 'x')}};
  for (const auto& [pattern, line] : cases) {
    for (const bool interrupt : {false, true}) {
      SCOPED_TRACE(pattern + (interrupt ? ", SIGINT" : ", time limit"));
      const std::string marker = NewMarker();
      const std::string script =
          Script(tmp_, "words.sh",
                 "read go <&4\necho '" + line + "'\necho '" + line +
                     "'\nsleep \"$1\"\n");
      const auto sleeping = [&] {
        const auto alive = AliveWith(marker);
        return std::any_of(alive.begin(), alive.end(), [](const auto& p) {
          return p.second.starts_with("sleep ");
        });
      };
      const Ran ran = RunBounded(
          {"run", "--program", script + " " + marker, "--buyers", "2",
           "--tickets", "5", "--sold-pattern", pattern, "--run-timeout-ms",
           interrupt ? "60000" : "2000"},
          runs_.path(), interrupt ? std::function<bool()>(sleeping) : nullptr);
      if (interrupt) {
        EXPECT_EQ(ran.exit_code, 130) << ran.out;
        EXPECT_TRUE(Has(ran.out, "interrupted by SIGINT")) << ran.out;
      } else {
        EXPECT_EQ(ran.exit_code, 3) << ran.out;
        EXPECT_TRUE(Has(ran.out, "the run hit its time limit")) << ran.out;
      }
      ExpectNothingLeft(ran, marker);
    }
  }
}

// A `clean --all` in another mount namespace (a container with a /tmp and
// a /dev/shm of its own) sees no lock of this run, though it sees the same
// cgroups: it ends none of the program's processes, and removes nothing.
TEST_F(ProgramTest, CleanAllInAnotherMountNamespaceEndsNoRunItCannotSee) {
  const std::string marker = NewMarker();
  const std::string script =
      Script(tmp_, "slow.sh", "read go <&4\nsleep \"$1\"\n");
  Ran clean;
  const auto sleeping_then_clean = [&] {
    const auto alive = AliveWith(marker);
    if (std::none_of(alive.begin(), alive.end(), [](const auto& p) {
          return p.second.starts_with("sleep ");
        })) {
      return false;
    }
    clean = RunInPrivateMounts("\"$TICKETSIM\" clean --all");
    return true;
  };
  const Ran ran = RunBounded(
      {"run", "--program", script + " " + marker, "--buyers", "2", "--tickets",
       "5", "--sold-pattern", "seat (\\d+)", "--run-timeout-ms", "60000"},
      runs_.path(), sleeping_then_clean);
  EXPECT_EQ(clean.exit_code, 0) << clean.out;
  EXPECT_TRUE(Has(clean.out, "0 leftovers removed")) << clean.out;
  EXPECT_EQ(ran.exit_code, 130) << ran.out;
  EXPECT_TRUE(Has(ran.out, "interrupted by SIGINT")) << ran.out;
  // Ended by ticketsim at the interrupt, not killed before it.
  EXPECT_FALSE(Has(ran.out, "PROGRAM CRASH")) << ran.out;
  ExpectNothingLeft(ran, marker);
}

// What RE2 cannot match in linear time (a backreference, a lookaround) and
// a pattern too large are refused before anything runs, naming the flag or
// the file, line and column, and saying why.
TEST_F(ProgramTest, APatternRE2CannotReadIsAUsageError) {
  const std::string marker = NewMarker();
  const std::string script = Script(tmp_, "seller.sh", "echo bought seat 1\n");
  const std::pair<std::string, std::string> cases[] = {
      {"(seat) \\1", "a backreference such as \\1 is not part of RE2's syntax"},
      {"seat (?=\\d)", "lookahead and lookbehind"},
      {"(?<=seat )(\\d+)", "lookahead and lookbehind"},
      {"(?:ab|cd){600}", "is too large: it compiles to"}};
  for (const auto& [pattern, why] : cases) {
    SCOPED_TRACE(pattern);
    const Ran flag = Run(
        {"run", "--program", script + " " + marker, "--sold-pattern", pattern});
    EXPECT_EQ(flag.exit_code, 2) << flag.out;
    EXPECT_TRUE(Has(flag.out, "--sold-pattern ")) << flag.out;
    EXPECT_TRUE(Has(flag.out, why)) << flag.out;
    ExpectNothingLeft(flag, marker);
  }
  const std::string file = Scenario(
      "lookbehind.toml", "[program]\ncommand = [\"./seller.sh\", \"" + marker +
                             "\"]\nsold_pattern = '(?<=seat )(\\d+)'\n");
  const Ran ran = Run({"run", file});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out, file + ":6:16: program.sold_pattern: "
                                  "\"(?<=seat )(\\d+)\" is not a pattern "
                                  "(RE2's syntax): invalid perl operator: (?<"))
      << ran.out;
  ExpectNothingLeft(ran, marker);
}

// --- The barrier ------------------------------------------------------------

// Copies that never read fd 4 (they buy at once) do not hold the start:
// the run goes on and ends with their purchases.
TEST_F(ProgramTest, ABuyerThatNeverReadsTheBarrierDoesNotHangTheStart) {
  const std::string marker = NewMarker();
  const std::string script = Script(tmp_, "eager.sh", ShellBuyer(false));
  const std::string json = tmp_.path() + "/report.json";
  const Ran ran =
      Run({"run", "--program", script + " " + marker, "--buyers", "3",
           "--attempts", "2", "--tickets", "20", "--json", json});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_TRUE(Has(ran.out, "verdict   no violation")) << ran.out;
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded()) << ran.out;
  const nlohmann::json& run = report["scenarios"][0]["runs"][0];
  EXPECT_EQ(run["purchases"]["confirmed"], 6);
  EXPECT_EQ(run["tickets"]["remaining"], 14);
  ExpectNothingLeft(ran, marker);
}

// --- Whole mode -------------------------------------------------------------

// The program exits at once; its five children sell later: the run waits
// for every one of them, and counts five sales of seat 1 of 1 ticket.
TEST_F(ProgramTest, AWholeProgramsRunWaitsForAllItsChildren) {
  const std::string marker = NewMarker();
  const std::string script =
      Script(tmp_, "whole.sh", R"sh(for i in 1 2 3 4 5; do
  ( sleep 0.3; echo "bought seat 1 ($1)" ) &
done
)sh");
  const std::string json = tmp_.path() + "/report.json";
  const Ran ran = Run({"run", "--program", script + " " + marker,
                       "--program-mode", "whole", "--sold-pattern",
                       "bought seat (\\d+)", "--tickets", "1", "--json", json});
  EXPECT_EQ(ran.exit_code, 1) << ran.out;
  EXPECT_TRUE(Has(ran.out, "OVERSELL")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "DUPLICATE SEAT")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "seat 1 was sold 5 times")) << ran.out;
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded()) << ran.out;
  const nlohmann::json& run = report["scenarios"][0]["runs"][0];
  EXPECT_EQ(run["purchases"]["confirmed"], 5);
  EXPECT_FALSE(ViolationOf(run, "oversell").is_null());
  EXPECT_FALSE(ViolationOf(run, "duplicate seat").is_null());
  ExpectNothingLeft(ran, marker);
}

// A whole program's child that leaves its session and closes its output
// (a daemon) is still the run's: killed at the time limit, gone after.
TEST_F(ProgramTest, AWholeProgramsDaemonIsKilledAtTheTimeLimit) {
  const std::string marker = NewMarker();
  const std::string script = Script(tmp_, "daemon.sh", R"(
setsid sh -c 'exec >/dev/null 2>&1 </dev/null; sleep "$1"; :' daemon "$1" &
echo "bought seat 1"
)");
  const Ran ran =
      Run({"run", "--program", script + " " + marker, "--program-mode", "whole",
           "--sold-pattern", "bought seat (\\d+)", "--tickets", "1", "--set",
           "run.timeout_ms=1000"});
  EXPECT_EQ(ran.exit_code, 3) << ran.out;
  EXPECT_TRUE(Has(ran.out, "the run hit its time limit")) << ran.out;
  ExpectNothingLeft(ran, marker);
}

// A student's rush: one buyer takes the lock and writes db.txt slowly,
// truncating it first; four others look at the count without the lock
// (search()) while it is empty, which they are made to do: the writer waits
// for their four reads before it writes. Each of the four dies of a
// json.decoder.JSONDecodeError, and the parent, which joins them, exits 0.
constexpr char kRushTorn[] = R"(import json, multiprocessing, sys

LOOKERS = 4

def search():
    with open("db.txt") as f:
        text = f.read()
    return text

def get(lock, truncated, looked):
    with lock:
        count = json.loads(search())["count"]
        with open("db.txt", "w") as f:
            truncated.set()
            for _ in range(LOOKERS):
                looked.acquire()
            json.dump({"count": count - 1}, f)
        print("bought a ticket", sys.argv[1], flush=True)

def look(truncated, looked):
    truncated.wait()
    text = search()
    looked.release()
    print("tickets left:", json.loads(text)["count"], flush=True)

if __name__ == "__main__":
    lock = multiprocessing.Lock()
    truncated = multiprocessing.Event()
    looked = multiprocessing.Semaphore(0)
    buyers = [multiprocessing.Process(target=get, args=(lock, truncated, looked))]
    buyers += [multiprocessing.Process(target=look, args=(truncated, looked))
               for _ in range(LOOKERS)]
    for b in buyers:
        b.start()
    for b in buyers:
        b.join()
)";

// The rush run whole: the four children that died of the torn read are
// four program crashes, each with its exit status and the traceback's last
// line, although the program itself exited 0.
TEST_F(ProgramTest, AWholeProgramWhoseChildrenCrashIsAProgramCrash) {
  const std::string marker = NewMarker();
  const std::string rush = tmp_.Write("rush_torn.py", kRushTorn);
  const std::string json = tmp_.path() + "/report.json";
  const Ran ran = Run({"run", "--program", "python3 " + rush + " " + marker,
                       "--program-mode", "whole", "--sold-pattern",
                       "bought a ticket", "--tickets", "100", "--json", json});
  EXPECT_EQ(ran.exit_code, 1) << ran.out;
  EXPECT_TRUE(Has(ran.out, "VIOLATED: program crash x4")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "sold 1, remaining 99")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "json.decoder.JSONDecodeError")) << ran.out;
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded()) << ran.out;
  const nlohmann::json& run = report["scenarios"][0]["runs"][0];
  EXPECT_EQ(run["program"]["lanes"][0]["crash"], "");
  EXPECT_EQ(run["program"]["failed_processes"].size(), 4u);
  const nlohmann::json crash = ViolationOf(run, "program crash");
  ASSERT_FALSE(crash.is_null()) << run["violations"].dump();
  EXPECT_EQ(crash["count"], 4);
  for (const auto& w : crash["witnesses"]) {
    const std::string text = w["text"];
    EXPECT_TRUE(Has(text, "started by the program, exited with status 1"))
        << text;
    EXPECT_TRUE(Has(text, "JSONDecodeError")) << text;
  }
  ExpectNothingLeft(ran, marker);
}

// What a whole program's processes do on purpose is no crash: a command
// that exits non-zero (grep finding nothing, false) and a child the program
// stops with SIGTERM, as a pool's terminate() does.
TEST_F(ProgramTest, AWholeProgramsCommandsMayFailOnPurpose) {
  const std::string marker = NewMarker();
  const std::string script = Script(tmp_, "calm.sh", R"(
grep -q nothing-like-this db.txt
false
printf '{"count": 4}' > db.txt
sleep "$1" &
kill -TERM $!
wait
echo "bought seat 1"
)");
  const Ran ran =
      Run({"run", "--program", script + " " + marker, "--program-mode", "whole",
           "--sold-pattern", "bought seat (\\d+)", "--tickets", "5"});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_TRUE(Has(ran.out, "verdict   no violation")) << ran.out;
  ExpectNothingLeft(ran, marker);
}

// --- Copies with processes of their own -------------------------------------

// Each of ten copies starts ten multiprocessing children that buy side by
// side, all ten reading before any of them writes: lost updates, and the
// report says that the copies ran buyers of their own and how to run such a
// program.
TEST_F(ProgramTest, CopiesThatRunBuyersOfTheirOwnGetAHint) {
  const std::string marker = NewMarker();
  const std::string buyer =
      tmp_.Write("mp_copy.py", R"(import json, multiprocessing, os
def buy(ready):
    ready.wait()
    with open("db.txt") as f:
        n = json.load(f)["count"]
    ready.wait()
    temp = "db.txt.%d" % os.getpid()
    with open(temp, "w") as f:
        json.dump({"count": n - 1}, f)
    os.replace(temp, "db.txt")
    os.write(1, b"bought seat %d\n" % n)
if __name__ == "__main__":
    ready = multiprocessing.Barrier(10)
    children = [multiprocessing.Process(target=buy, args=(ready,)) for _ in range(10)]
    for c in children:
        c.start()
    for c in children:
        c.join()
)");
  const std::string json = tmp_.path() + "/report.json";
  const Ran ran = Run({"run", "--program", "python3 " + buyer + " " + marker,
                       "--buyers", "10", "--sold-pattern", "bought seat (\\d+)",
                       "--tickets", "100", "--json", json});
  EXPECT_EQ(ran.exit_code, 1) << ran.out;
  EXPECT_TRUE(Has(ran.out, "LOST UPDATE")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "10 of the 10 copies ran processes of their own"))
      << ran.out;
  EXPECT_TRUE(Has(ran.out, "--program-mode whole")) << ran.out;
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded()) << ran.out;
  const nlohmann::json& program = report["scenarios"][0]["runs"][0]["program"];
  EXPECT_TRUE(Has(program.value("hint", std::string()), "--program-mode whole"))
      << program.dump();
  for (const auto& lane : program["lanes"]) {
    EXPECT_EQ(lane["own_processes"], 10) << program.dump();
    EXPECT_EQ(lane["most_at_once"], 10) << program.dump();
  }
  ExpectNothingLeft(ran, marker);
}

// --- Sales unknown ----------------------------------------------------------

// A program that writes no events and is given no sold_pattern: only the
// final count can be checked, which shows nothing. That is no pass: the
// verdict is "unchecked", exit 4, in the text, the JSON and the JUnit
// report; a scenario that says violations = "unchecked" accepts it (0).
TEST_F(ProgramTest, AProgramWhoseSalesAreUnknownIsUnchecked) {
  const std::string marker = NewMarker();
  const std::string script =
      Script(tmp_, "quiet.sh", "read go <&4\necho 'I did my best'\n");
  const std::string json = tmp_.path() + "/report.json";
  const std::string junit = tmp_.path() + "/report.xml";
  const Ran ran =
      Run({"run", "--program", script + " " + marker, "--buyers", "2",
           "--tickets", "5", "--json", json, "--junit", junit});
  EXPECT_EQ(ran.exit_code, 4) << ran.out;
  EXPECT_TRUE(Has(ran.out, "verdict   UNCHECKED")) << ran.out;
  EXPECT_FALSE(Has(ran.out,
                   "no violation expected (no [expect] given) -- "
                   "held"))
      << ran.out;
  EXPECT_TRUE(Has(ran.out, "NOT CHECKED")) << ran.out;
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded()) << ran.out;
  EXPECT_EQ(report["exit_code"], 4);
  EXPECT_EQ(report["passed"], false);
  EXPECT_EQ(report["scenarios"][0]["unchecked"], true);
  EXPECT_EQ(report["scenarios"][0]["runs"][0]["unchecked"], true);
  EXPECT_TRUE(Has(ReadFile(junit), "<failure type=\"unchecked\""))
      << ReadFile(junit);

  const std::string accepted =
      Scenario("accepted.toml",
               fmt::format("[program]\ncommand = [\"{}\", \"{}\"]\n"
                           "[buyers]\ncount = 2\n[tickets]\ninitial = 5\n"
                           "[expect]\nviolations = \"unchecked\"\n",
                           script, marker));
  const Ran ok = Run({"run", accepted});
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_TRUE(Has(ok.out, "verdict   UNCHECKED")) << ok.out;
  EXPECT_TRUE(Has(ok.out, "expect    unchecked -- met")) << ok.out;
  ExpectNothingLeft(ok, marker);
}

// --- Operation mode ---------------------------------------------------------

// One run per purchase of a client that locks db.lock: 3 buyers x 4
// attempts on 8 tickets sell all 8, each buyer stops at its sold-out, and
// nothing is violated.
TEST_F(ProgramTest, AnOperationPerPurchaseSellsEveryTicketOnce) {
  const std::string marker = NewMarker();
  const std::string script = Script(tmp_, "client.sh", R"(exec 9>>db.lock
flock 9
n=$(tr -dc 0-9 < "$TICKETSIM_DB")
if [ "$n" -le 0 ]; then exit 3; fi
printf '{"count": %d}' $((n - 1)) > db.new && mv db.new "$TICKETSIM_DB"
echo "$n"
)");
  const std::string json = tmp_.path() + "/report.json";
  const Ran ran = Run({"run", "--program", script + " " + marker,
                       "--program-mode", "operation", "--buyers", "3",
                       "--attempts", "4", "--tickets", "8", "--json", json});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_TRUE(Has(ran.out, "verdict   no violation")) << ran.out;
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded()) << ran.out;
  const nlohmann::json& run = report["scenarios"][0]["runs"][0];
  EXPECT_EQ(run["purchases"]["confirmed"], 8);
  EXPECT_EQ(run["tickets"]["remaining"], 0);
  EXPECT_TRUE(run["violations"].empty()) << run["violations"].dump();
  // A buyer that sold all its four never met the sold-out; at most two can.
  const int sold_out = run["purchases"]["sold_out"];
  EXPECT_GE(sold_out, 1);
  EXPECT_EQ(run["purchases"]["attempts"], 8 + sold_out);
  // Every seat from 8 down to 1 once.
  std::vector<int> seats;
  for (const auto& buyer : run["buyers"]) {
    for (const auto& seat : buyer["seats"]) seats.push_back(seat);
  }
  std::sort(seats.begin(), seats.end());
  EXPECT_EQ(seats, (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}));
  ExpectNothingLeft(ran, marker);
}

// An operation that exits 5 neither sold nor found the tickets sold out:
// each such purchase is indeterminate.
TEST_F(ProgramTest, AnOperationThatExitsFiveIsIndeterminate) {
  const std::string marker = NewMarker();
  const std::string script = Script(tmp_, "odd.sh", "exit 5\n");
  const std::string json = tmp_.path() + "/report.json";
  const Ran ran = Run({"run", "--program", script + " " + marker,
                       "--program-mode", "operation", "--buyers", "2",
                       "--attempts", "2", "--tickets", "8", "--json", json});
  EXPECT_TRUE(ran.exit_code == 0 || ran.exit_code == 1) << ran.out;
  EXPECT_TRUE(Has(ran.out, "4 indeterminate")) << ran.out;
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded()) << ran.out;
  const nlohmann::json& run = report["scenarios"][0]["runs"][0];
  EXPECT_EQ(run["purchases"]["indeterminate"], 4);
  EXPECT_EQ(run["purchases"]["confirmed"], 0);
  ExpectNothingLeft(ran, marker);
}

// A purchase whose command exits but leaves a child holding its stdout
// ends at program.timeout_ms all the same, the child in the command's
// process group or in a session of its own (a daemon): the buyer goes on
// with its next purchase, and once every purchase has its outcome what the
// commands left is killed, not waited for until the run's limit. (The
// limit leaves a loaded machine's bash time to start and do its work: each
// operation takes all of it, for the sleep holds its output.)
TEST_F(ProgramTest, AnOperationsLimitCountsFromItsStartWhateverHoldsItsOutput) {
  for (const std::string leave : {"sleep \"$1\" &", "setsid sleep \"$1\" &"}) {
    SCOPED_TRACE(leave);
    const std::string marker = NewMarker();
    const std::string script = Script(tmp_, "leaves.sh", leave + R"(
n=$(tr -dc 0-9 < "$TICKETSIM_DB")
printf '{"count": %d}' $((n - 1)) > "$TICKETSIM_DB"
echo "$n"
)");
    const std::string json = tmp_.path() + "/report.json";
    const Ran ran =
        Run({"run", "--program", script + " " + marker, "--program-mode",
             "operation", "--buyers", "1", "--attempts", "2", "--tickets", "5",
             "--set", "program.timeout_ms=2000", "--run-timeout-ms", "60000",
             "--json", json});
    EXPECT_EQ(ran.exit_code, 0) << ran.out;
    const nlohmann::json report = ReadJson(json);
    ASSERT_FALSE(report.is_discarded()) << ran.out;
    const nlohmann::json& run = report["scenarios"][0]["runs"][0];
    EXPECT_EQ(run["purchases"]["confirmed"], 2);
    EXPECT_EQ(run["buyers"][0]["seats"], nlohmann::json::array({5, 4}));
    EXPECT_TRUE(run["violations"].empty()) << run["violations"].dump();
    EXPECT_EQ(run["run"]["timed_out"], false) << ran.out;
    ExpectNothingLeft(ran, marker);
  }
}

// --- Faults -----------------------------------------------------------------

// kill_holder = 1: every copy is killed at its first purchase, which it
// holds open (it sleeps inside): each purchase indeterminate, the kills
// counted, the count untouched, no crash blamed on the program.
TEST_F(ProgramTest, KillHolderKillsEachCopyInsideItsPurchase) {
  const std::string marker = NewMarker();
  tmp_.Write("buyer.py", kPythonBuyer);
  const std::string file =
      Scenario("kill.toml",
               "[tickets]\ninitial = 10\n[buyers]\ncount = 3\nattempts = "
               "2\n[faults]\nkill_holder = 1.0\n[program]\ncommand = "
               "[\"python3\", \"buyer.py\", \"" +
                   marker + "\", \"lock\", \"" + marker + "\"]\n");
  const std::string json = tmp_.path() + "/report.json";
  const Ran ran = Run({"run", file, "--json", json});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_TRUE(Has(ran.out, "3 indeterminate")) << ran.out;
  EXPECT_FALSE(Has(ran.out, "PROGRAM CRASH")) << ran.out;
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded()) << ran.out;
  const nlohmann::json& run = report["scenarios"][0]["runs"][0];
  EXPECT_EQ(run["faults"]["killed"], 3);
  EXPECT_EQ(run["purchases"]["indeterminate"], 3);
  EXPECT_EQ(run["purchases"]["confirmed"], 0);
  EXPECT_EQ(run["tickets"]["remaining"], 10);
  EXPECT_TRUE(run["violations"].empty()) << run["violations"].dump();
  ExpectNothingLeft(ran, marker);
}

// pause_holder = 1: purchases are stopped for 100 ms and continued; the
// run completes with every purchase made. (The buyer's lines carry its own
// t, earlier than the stop ticketsim stamps when it reads the invoke.)
TEST_F(ProgramTest, PauseHolderStopsAndContinuesEachPurchase) {
  const std::string marker = NewMarker();
  tmp_.Write("buyer.py", kPythonBuyer);
  const std::string file = Scenario(
      "pause.toml",
      "[tickets]\ninitial = 10\n[buyers]\ncount = 2\nattempts = "
      "2\n[faults]\npause_holder = 1.0\npause_holder_ms = 100\n[program]\n"
      "command = [\"python3\", \"buyer.py\", \"" +
          marker + "\", \"lock\", \"0\"]\n");
  const std::string json = tmp_.path() + "/report.json";
  const Ran ran = Run({"run", file, "--json", json});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded()) << ran.out;
  const nlohmann::json& run = report["scenarios"][0]["runs"][0];
  // Each copy's first purchase is stopped for sure; a later one is, unless
  // ticketsim reads its invoke while the copy is still stopped.
  EXPECT_GE(run["faults"]["paused"], 2);
  EXPECT_LE(run["faults"]["paused"], 4);
  EXPECT_EQ(run["purchases"]["confirmed"], 4);
  EXPECT_EQ(run["tickets"]["remaining"], 6);
  EXPECT_TRUE(run["violations"].empty()) << run["violations"].dump();
  ExpectNothingLeft(ran, marker);
}

// What ticketsim stamps itself (a fault, at the time it read an invoke)
// does not count as the program's previous line: the lines the copy wrote
// before it was struck, read after the stamp, are not going back in time;
// a t that goes back from the program's own previous t still is.
TEST(ProgramEventsTest, AStampIsNotTheProgramsPreviousLine) {
  LockNames locks;
  ProgramEvents events(0, 64, &locks);
  const std::pair<int64_t, int64_t> window = {1000, 1000000};
  const auto line = [](const char* type, const char* f, int64_t t) {
    return fmt::format(R"({{"type":"{}","f":"{}","t":{}}})", type, f, t);
  };
  ASSERT_TRUE(
      events.Line(line("invoke", "buy", 2000), false, 5000, window).ok());
  events.Stamp(EventKind::kFault, 9000,
               static_cast<uint32_t>(FaultKind::kPause), 100);
  const Status after =
      events.Line(line("invoke", "lock", 2100), false, 9500, window);
  EXPECT_TRUE(after.ok()) << after.ToString();
  // Recorded in order: none before the stamp it follows.
  ASSERT_EQ(events.events().size(), 3u);
  EXPECT_GE(events.events()[2].time_ns, events.events()[1].time_ns);
  const Status back =
      events.Line(line("ok", "lock", 2050), false, 9600, window);
  EXPECT_FALSE(back.ok());
  EXPECT_TRUE(Has(back.message(),
                  "t = 2050 goes back before the previous "
                  "line's 2100"))
      << back.ToString();
}

// --- Interrupts -------------------------------------------------------------

// SIGINT while the program sleeps: exit 130, the report says so, nothing
// left.
TEST_F(ProgramTest, AnInterruptEndsAProgramRunCleanly) {
  const std::string marker = NewMarker();
  const std::string script =
      Script(tmp_, "sleepy.sh", "read go <&4\nsleep \"$1\"\n");
  // Once both copies sleep (past the barrier), the run is on.
  const auto running = [&] {
    const auto alive = AliveWith(marker);
    return std::count_if(alive.begin(), alive.end(), [](const auto& p) {
             return p.second.starts_with("sleep ");
           }) == 2;
  };
  const Ran ran =
      RunBounded({"run", "--program", script + " " + marker, "--buyers", "2",
                  "--attempts", "1", "--tickets", "5"},
                 runs_.path(), running);
  EXPECT_EQ(ran.exit_code, 130) << ran.out;
  EXPECT_TRUE(Has(ran.out, "interrupted by SIGINT")) << ran.out;
  ExpectNothingLeft(ran, marker);
}

// --- A ticketsim killed outright --------------------------------------------

// Each copy sleeps, after starting a child in a session of its own that
// appends to a file in the run directory. ticketsim is SIGKILLed mid-run:
// none of the program's processes lives on, nothing writes to the run
// directory any more, and `ticketsim clean` removes what is left.
TEST_F(ProgramTest, AProgramDiesWithATicketsimKilledOutright) {
  const std::string marker = NewMarker();
  const std::string script = Script(tmp_, "stay.sh", R"(read go <&4
setsid sh -c 'while :; do echo x >> trail; sleep 0.05; done' writer "$1" &
sleep "$1"
echo bought seat 1
)");
  const Started started = StartTicketsim(
      {"run", "--program", script + " " + marker, "--buyers", "3"},
      runs_.path());
  ASSERT_GT(started.pid, 0);
  const bool running = WaitFor([&] {
    return CountAlive(marker, "sleep ") == 3 &&
           CountAlive(marker, "sh -c while") == 3;
  });
  kill(started.pid, SIGKILL);
  const Ran ran = Finish(started);
  ASSERT_TRUE(running) << "the program never ran: " << ran.out;
  EXPECT_EQ(ran.exit_code, 128 + SIGKILL);
  EXPECT_TRUE(WaitFor([&] { return AliveWith(marker).empty(); }))
      << "still alive: " << AliveWith(marker).front().second;
  const std::vector<std::string> runs = runs_.Entries();
  ASSERT_EQ(runs.size(), 1u);
  const std::string trail = runs_.path() + "/" + runs[0] + "/trail";
  std::error_code error;
  const auto size = std::filesystem::file_size(trail, error);
  usleep(300000);
  EXPECT_EQ(std::filesystem::file_size(trail, error), size)
      << "something still writes to " << trail;

  const Ran clean = Run({"clean"});
  EXPECT_EQ(clean.exit_code, 0) << clean.out;
  ExpectNothingLeft(ran, marker);
  EXPECT_TRUE(CgroupsNamed(runs[0]).empty()) << CgroupsNamed(runs[0]).front();
}

// A run whose liveness lock another ticketsim cannot see (its /dev/shm is
// its own, as in a container) keeps its cgroup through that ticketsim's
// cleanup: a lock not found is no proof that the run has ended.
TEST_F(ProgramTest, ACleanupLeavesTheCgroupOfARunItCannotSee) {
  const std::string marker = NewMarker();
  const std::string go = tmp_.path() + "/go";
  const std::string script = Script(tmp_, "wait.sh",
                                    fmt::format(R"(: "$1"
touch {0}.started
i=0
while [ ! -e {0} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
n=$(tr -dc 0-9 < "$TICKETSIM_DB")
printf '{{"count": %d}}' $((n - 1)) > "$TICKETSIM_DB"
echo "bought seat $n"
)",
                                                go));
  const Started started = StartTicketsim(
      {"run", "--program", script + " " + marker, "--buyers", "1", "--tickets",
       "2", "--sold-pattern", "bought seat (\\d+)"},
      runs_.path(), /*private_shm=*/true);
  ASSERT_GT(started.pid, 0);
  const bool waiting =
      WaitFor([&] { return std::filesystem::exists(go + ".started"); });
  const Ran clean = Run({"clean"});
  tmp_.Write("go", "");
  const Ran ran = Finish(started);
  ASSERT_TRUE(waiting) << ran.out;
  EXPECT_EQ(clean.exit_code, 0) << clean.out;
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_TRUE(Has(ran.out, "tickets   initial 2, sold 1, remaining 1"))
      << ran.out;
  EXPECT_TRUE(Has(ran.out, "verdict   no violation")) << ran.out;
}

// The same with the run's watch killed too (`kill -9` of every ticketsim
// process): the copies die with ticketsim, the processes they started live
// on in the run's cgroup, and the next cleanup ends them by it. In a
// /dev/shm of its own: another test's run, whose first step is a cleanup,
// must not be the one that ends them.
TEST_F(ProgramTest, TheNextCleanupEndsWhatAKilledRunLeft) {
  testing::InPrivateShm([&] {
    const std::string marker = NewMarker();
    const std::string script =
        Script(tmp_, "stay.sh", "read go <&4\nsleep \"$1\"\necho bought\n");
    const Started started = StartTicketsim(
        {"run", "--program", script + " " + marker, "--buyers", "2"},
        runs_.path());
    ASSERT_GT(started.pid, 0);
    pid_t watch = 0;
    const bool running = WaitFor([&] {
      for (const auto& [pid, cmdline] : AliveWith(marker)) {
        if (ReadFile(fmt::format("/proc/{}/comm", pid)) ==
            "ticketsim watch\n") {
          watch = pid;
        }
      }
      return watch != 0 && CountAlive(marker, "sleep ") == 2;
    });
    if (watch != 0) kill(watch, SIGKILL);
    kill(started.pid, SIGKILL);
    const Ran ran = Finish(started);
    ASSERT_TRUE(running) << "no watch, or the program never ran: " << ran.out;
    const std::vector<std::string> runs = runs_.Entries();
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(CgroupsNamed(runs[0]).size(), 1u);
    // The copies died with ticketsim; their sleeps did not.
    EXPECT_TRUE(WaitFor([&] { return CountAlive(marker, "sh ") == 0; }));
    EXPECT_EQ(CountAlive(marker, "sleep "), 2u);

    const Ran clean = Run({"clean"});
    EXPECT_EQ(clean.exit_code, 0) << clean.out;
    EXPECT_TRUE(Has(clean.out, "removed /")) << clean.out;
    EXPECT_EQ(CountAlive(marker, "sleep "), 0u) << clean.out;
    EXPECT_TRUE(CgroupsNamed(runs[0]).empty()) << clean.out;
    ExpectNothingLeft(ran, marker);
  });
}

// Where no cgroup can be made (here: the cgroup hierarchy is read-only),
// the program runs in a PID namespace of its own, whose init dies with
// ticketsim: SIGKILLed mid-run, it takes every sleep with it. A whole
// program's orphans (children of that init) are still waited for, and
// their sales counted.
TEST(ProgramFenceTest, WithoutACgroupAPidNamespaceTakesTheProgramAlong) {
  const std::string marker = NewMarker();
  testing::PrivateMounts mounts;
  mounts.as_root = [] {
    std::ifstream in("/proc/self/mountinfo");
    for (std::string line; std::getline(in, line);) {
      if (!Has(line, " - cgroup2 ")) continue;
      std::istringstream words(line);
      std::string point;
      for (int i = 0; i < 5; ++i) words >> point;
      if (mount(nullptr, point.c_str(), nullptr,
                MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
        return false;
      }
    }
    return true;
  };
  const std::string script = fmt::format(R"sh(
cat > /tmp/stay.sh <<'EOF'
read go <&4
sleep "$1"
EOF
"$TICKETSIM" run --program "sh /tmp/stay.sh {0}" --buyers 2 >/tmp/out 2>&1 &
t=$!
i=0
while [ "$(pgrep -c -f '^sleep {0}')" != 2 ] && [ $i -lt 300 ]; do
  sleep 0.1; i=$((i + 1))
done
s=$(pgrep -f '^sleep {0}' | head -n 1)
[ -n "$s" ] &&
  [ "$(readlink /proc/$s/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] &&
  echo "sleeps in a namespace of their own"
kill -KILL $t
wait $t
i=0
while pgrep -f '^sleep {0}' >/dev/null && [ $i -lt 300 ]; do
  sleep 0.1; i=$((i + 1))
done
pgrep -f '^sleep {0}' >/dev/null || echo "no sleep left"
"$TICKETSIM" clean >/dev/null
cat > /tmp/whole.sh <<'EOF'
for i in 1 2 3; do (sleep 0.3; echo "bought seat $i") & done
EOF
"$TICKETSIM" run --program "sh /tmp/whole.sh" --program-mode whole \
  --sold-pattern 'bought seat (\d+)' --tickets 5 --json /tmp/r.json
echo "whole: exit $?"
grep -q '"fence": "pid namespace"' /tmp/r.json && echo "fence: pid namespace"
)sh",
                                         marker);
  const Ran ran = testing::RunInPrivateMounts(script, mounts);
  EXPECT_TRUE(Has(ran.out, "sleeps in a namespace of their own")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "no sleep left")) << ran.out;
  // (They print sales and write nothing: lost updates.)
  EXPECT_TRUE(Has(ran.out, "sold 3, remaining 5")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "whole: exit 1")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "fence: pid namespace")) << ran.out;
  EXPECT_TRUE(AliveWith(marker).empty());
}

// --- The history ------------------------------------------------------------

// "lost update x2, duplicate seat x2": the run's violations as the JSON
// report lists them, in the words `check --history` prints.
std::string ViolationWords(const nlohmann::json& run) {
  std::string words;
  for (const nlohmann::json& v : run["violations"]) {
    if (!words.empty()) words += ", ";
    words += v["kind"].get<std::string>() + " x" +
             std::to_string(v["count"].get<int64_t>());
  }
  return words;
}

// --history of a Python buyer's run, unlocked and with a lock of its own
// that it reports: `ticketsim check --history` reads the history back and
// gives the run's verdict, lock overlaps included.
// A run that fails (a protocol error) has no history to write: no file is
// left at the path (an empty one would be refused by check --history), and
// ticketsim says so.
TEST_F(ProgramTest, AFailedRunWritesNoHistoryAndSaysSo) {
  const std::string marker = NewMarker();
  const std::string script = Script(tmp_, "broken.sh", R"(read go <&4
echo 'not json' >&3
sleep "$1"
)");
  const std::string history = tmp_.path() + "/failed.jsonl";
  const Ran ran = Run({"run", "--program", script + " " + marker, "--buyers",
                       "1", "--tickets", "5", "--history", history});
  EXPECT_EQ(ran.exit_code, 3) << ran.out;
  EXPECT_TRUE(Has(ran.out, "protocol error: buyer 0")) << ran.out;
  EXPECT_FALSE(std::filesystem::exists(history));
  EXPECT_TRUE(Has(ran.out, "--history " + history +
                               ": not written: no run ended with a history"))
      << ran.out;
  ExpectNothingLeft(ran, marker);
}

TEST_F(ProgramTest, TheHistoryOfAProgramRunReproducesTheVerdict) {
  tmp_.Write("buyer.py", kPythonBuyer);
  for (const std::string mode : {"nolock", "lock"}) {
    SCOPED_TRACE(mode);
    const std::string marker = NewMarker();
    const std::string file =
        Scenario(mode + ".toml",
                 "[tickets]\ninitial = 4\n[buyers]\ncount = 3\nattempts = "
                 "2\n[program]\ncommand = [\"python3\", \"buyer.py\", \"" +
                     marker + "\", \"" + mode + "\", \"0.02\"]\n");
    const std::string history = tmp_.path() + "/" + mode + ".jsonl";
    const std::string json = tmp_.path() + "/" + mode + ".json";
    const Ran ran = Run({"run", file, "--history", history, "--json", json});
    ASSERT_TRUE(ran.exit_code == 0 || ran.exit_code == 1) << ran.out;
    const nlohmann::json report = ReadJson(json);
    ASSERT_FALSE(report.is_discarded()) << ran.out;
    const nlohmann::json& run = report["scenarios"][0]["runs"][0];
    EXPECT_GT(run["purchases"]["confirmed"].get<int64_t>(), 0);
    const Ran check = Run({"check", "--history", history});
    const std::string words = ViolationWords(run);
    if (words.empty()) {
      EXPECT_EQ(check.exit_code, 0) << check.out;
      EXPECT_TRUE(Has(check.out, "verdict: ok")) << check.out;
    } else {
      EXPECT_EQ(check.exit_code, 1) << check.out;
      EXPECT_TRUE(Has(check.out, "VIOLATED: " + words)) << check.out;
    }
    EXPECT_TRUE(
        Has(check.out,
            fmt::format("purchases: {} confirmed, {} indeterminate",
                        run["purchases"]["confirmed"].get<int64_t>(),
                        run["purchases"]["indeterminate"].get<int64_t>())))
        << check.out;
    ExpectNothingLeft(ran, marker);
  }
}

}  // namespace
}  // namespace ticketsim
