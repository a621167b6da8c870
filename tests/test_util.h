// Helpers shared by the tests: scenarios that force a race, running one, and
// the check that nothing of a run is left behind.
#ifndef TICKETSIM_TESTS_TEST_UTIL_H_
#define TICKETSIM_TESTS_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <sys/types.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "sim/check/checker.h"
#include "sim/run/run.h"
#include "sim/scenario/scenario.h"
#include "storage/run_names.h"

namespace ticketsim::testing {

// Starts a process as `start` does (fork or forkpty: 0 in the child) and, in
// the parent, notes it as one this process started, so that the runs it
// makes are known as this test's (LeftoversOf, LeftoversOfEndedRuns). The
// helpers below start theirs so; a test that forks on its own uses it.
pid_t StartNoted(const std::function<pid_t()>& start);
pid_t ForkNoted();

// Named objects (/dev/shm) and run directories ($TMPDIR or /tmp) that belong
// to runs of process `pid` (the pid in their tag). For a process started
// with StartNoted (or this one), names made before it began are not its:
// another process had the pid then. A test listener fails every test after
// which this process has any left.
std::vector<std::string> LeftoversOf(pid_t pid);

// The whole of a file ("" if it cannot be read).
std::string ReadFile(const std::string& path);
// A JSON file, parsed; discarded (is_discarded()) if it is not JSON.
nlohmann::json ReadJson(const std::string& path);

// Whose runs a check of leftovers judges. Other processes of this uid (a
// test beside this one, another suite) have runs too, and one they killed
// leaves its names until the next run anywhere cleans them up: a check that
// judged those would fail by their doing.
enum class Whose {
  kOurs,  // made by this process or one it started (StartNoted)
  // Every run of this uid: for a test whose runs are made by processes it
  // cannot name (agents a launcher starts); others' killed runs count too.
  kEveryones,
};

// Named objects and run directories whose run has ended (its liveness lock
// is free): what a run that ended (however it ended) must never leave.
std::vector<std::string> LeftoversOfEndedRuns(Whose whose = Whose::kOurs);

// Runs the ticketsim binary with `args` (a shell word list); returns its exit
// code and fills *out with its stdout (and stderr, with `merge_stderr`).
int RunTicketsim(const std::string& args, std::string* out,
                 bool merge_stderr = true);

// Runs the ticketsim binary with `args` (each one argument, no shell) and
// the environment's TMPDIR set to `tmpdir` if not empty; stdout and stderr
// together in `out`.
struct Ran {
  int exit_code = -1;  // 128 + signal if killed
  pid_t pid = 0;       // ticketsim's pid, for LeftoversOf
  std::string out;
};
Ran RunTicketsimArgs(const std::vector<std::string>& args,
                     const std::string& tmpdir = "");

// Runs `argv` (argv[0] a path) the same way.
Ran RunProgram(const std::vector<std::string>& argv,
               const std::string& tmpdir = "");

// Runs `script` with /bin/sh -c, as RunProgram runs a program.
Ran RunShell(const std::string& script);

// Runs `script` with /bin/sh in a mount namespace of its own whose /tmp and
// /dev/shm are fresh, empty tmpfs mounts (mode 1777, /dev/shm with
// `shm_options` too, e.g. "size=256k"): nothing it makes reaches the real
// ones, and it sees nothing of theirs. Its environment has TICKETSIM (the
// binary, reached through a descriptor: it may itself be under /tmp) and
// TMPDIR=/tmp. Before the script, `as_root` runs inside, then
// `as_nobody` in a child with uid and gid 65534, each returning false on
// failure (the script then does not run; exit 125). stdout and stderr
// together in `out`. Needs root, as the tests run.
struct PrivateMounts {
  std::string shm_options;
  std::function<bool()> as_root;
  std::function<bool()> as_nobody;
};
Ran RunInPrivateMounts(const std::string& script,
                       const PrivateMounts& mounts = {});

// Runs `body` in a forked child in a mount namespace of its own whose
// /dev/shm is a fresh, empty tmpfs, with TMPDIR a fresh directory: the runs
// it makes, and what a killed one leaves until the next clean, are seen by
// no other test (whose check for leftovers of ended runs would take them
// for its own), and it sees none of theirs. /tmp itself stays as it is: an
// agent that a run starts by the binary's path must find it there. The
// body's failures are printed by the child as they happen, and fail the
// test. Needs root, as the tests run.
void InPrivateShm(const std::function<void()>& body);

// Runs ticketsim with its stdout and stderr on a pseudo-terminal, as a
// person at a terminal would; returns what the terminal received.
Ran RunTicketsimOnTerminal(const std::vector<std::string>& args);

// A fresh, empty directory under the temp root, removed with everything in
// it when this goes out of scope.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  // Writes `content` to the file `name` in it; returns its path.
  std::string Write(const std::string& name, const std::string& content) const;
  // The names of the entries in it.
  std::vector<std::string> Entries() const;

 private:
  std::string path_;
};

// Whole runs of the binary that must leave nothing behind: the test fails
// if any run it made left a named object or a directory. `tmp_` is a
// directory of its own.
class LeavesNothingTest : public ::testing::Test {
 protected:
  void TearDown() override;
  TempDir tmp_;
};

// Whether `text` has `part` in it.
bool Has(const std::string& text, const std::string& part);
// The path of library scenario file `file` ("01-rush-unguarded.toml").
std::string Library(const std::string& file);

// A --steps list in which buyers 0 to `buyers` - 1 take, in turn, the first
// two steps of their purchase (query and read, with no guard): every one of
// them reads before any writes. The think time of the classroom rush makes
// that likely under the os schedule; a loaded machine can keep a buyer off
// the CPU for longer, and a test of what the race prints must not depend
// on it.
std::string EveryBuyerReadsFirst(int buyers);

// `buyers` buyers who all read before any of them writes: they start at the
// barrier together and think 20-30 ms between read and write, far longer
// than it takes them all to read. Unguarded, every round of purchases sells
// one seat to all of them. The file store writes by rename (no torn reads).
Scenario RaceScenario(StoreKind store, GuardKind guard, Method method,
                      int64_t buyers = 8, int64_t attempts = 2);

// Every store x every guard valid for it x both methods (the file store
// has no atomic step), for buyers of `mode`, and a test name for one
// ("sqlite_robust_mutex_atomic").
using StoreGuardMethod = std::tuple<StoreKind, GuardKind, Method>;
std::vector<StoreGuardMethod> EveryStoreGuardMethod(
    BuyerMode mode = BuyerMode::kProcess);
std::string NameOf(const StoreGuardMethod& combo);

// Runs a scenario that must run (asserting that it did) and checks it.
struct CheckedRun {
  RunResult run;
  Verdict verdict;
};
CheckedRun RunChecked(const Scenario& scenario);

// A started run (names, directory, liveness locks), removed by the
// destructor: for testing one store or guard alone.
class ScopedRun {
 public:
  ScopedRun();
  ~ScopedRun();
  const RunNames& names() const { return names_; }
  void AddPurposes(const std::vector<std::string>& purposes);

 private:
  RunLease lease_;  // let go after the destructor has removed the objects
  RunNames names_;
  std::vector<std::string> purposes_;
};

// Runs `child` in a forked process and returns its exit status (waitpid
// form). The child ends with _exit(child()).
int RunInChild(const std::function<int()>& child);

}  // namespace ticketsim::testing

#endif  // TICKETSIM_TESTS_TEST_UTIL_H_
