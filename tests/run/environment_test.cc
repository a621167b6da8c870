// The environment fails a run: a full disk, too few descriptors, a process
// limit, too little memory. Each is the machine's doing, not the race's: it
// is never reported as a violation, it names its cause, and a run it stops
// exits 3 (a scenario it makes impossible exits 2, before anything runs).
//
// The full disks are tiny tmpfs mounts inside a private mount namespace
// (unshare -m), so nothing of the host's /tmp is touched; the limits are set
// by a shell for ticketsim alone (ulimit), and the process limit is tried as
// the unprivileged user nobody, since root is exempt from it.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "base/thread_sanitizer.h"
#include "sim/history/history.h"
#include "sim/run/run.h"
#include "sim/scenario/scenario.h"
#include "sim/scenario/scenario_file.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::Ran;
using ::ticketsim::testing::RunProgram;
using ::ticketsim::testing::TempDir;

constexpr uid_t kNobody = 65534;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// What a ticketsim built with ThreadSanitizer takes of TMPDIR before it
// runs anything: its runtime writes 512 KiB there, or as much as the disk
// holds, and keeps it for as long as the process lives (tsan.rodata.PID,
// unlinked, mapped). A disk that is to be as full for ticketsim's own files
// as in any other build is made that much larger.
constexpr int kSanitizerTmpdirKiB = kThreadSanitizer ? 512 : 0;

// Runs `shell` (a /bin/bash script, in which "$TICKETSIM" is the binary) in
// a mount namespace of its own, where `dir` is a fresh tmpfs with room for
// `kib` KiB of ticketsim's files.
Ran RunWithTmpfs(const std::string& dir, int kib, const std::string& shell) {
  return RunProgram(
      {"/usr/bin/unshare", "-m", "/bin/bash", "-c",
       fmt::format("mount -t tmpfs -o size={}k tmpfs '{}' && "
                   "TICKETSIM='{}' && {}",
                   kib + kSanitizerTmpdirKiB, dir, TICKETSIM_BINARY, shell)});
}

// Tasks (threads included) whose real uid is `uid`, as /proc shows them.
int64_t TasksOf(uid_t uid) {
  int64_t tasks = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.empty() || !isdigit(static_cast<unsigned char>(name[0]))) {
      continue;
    }
    std::ifstream status(entry.path() / "status");
    int64_t real = -1, threads = 1;
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("Uid:", 0) == 0) real = std::stoll(line.substr(4));
      if (line.rfind("Threads:", 0) == 0) threads = std::stoll(line.substr(8));
    }
    if (real == static_cast<int64_t>(uid)) tasks += threads;
  }
  return tasks;
}

class EnvironmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Mounting a tmpfs and becoming nobody both need root, as CI has.
    ASSERT_EQ(geteuid(), 0u) << "these tests mount tmpfs and change uid";
  }
};

// Given an SQLite store in a TMPDIR with room to create the database but not
// for its write-ahead log to grow, the writes fail mid-run with SQLITE_FULL:
// the run fails (exit 3) naming the buyer and SQLite's cause, in the text
// and the JSON report, and no violation is reported.
TEST_F(EnvironmentTest, SqliteStoreInAFullTmpdirFailsTheRunWithSqlitesCause) {
  TempDir mount;
  const Ran ran = RunWithTmpfs(
      mount.path(), 128,
      fmt::format("TMPDIR='{}' exec \"$TICKETSIM\" run --store sqlite "
                  "--guard sqlite-immediate --buyers 4 --attempts 100 "
                  "--tickets 1000 --think-ms 0,0 --json -",
                  mount.path()));
  EXPECT_EQ(ran.exit_code, 3) << ran.out;
  EXPECT_TRUE(Contains(ran.out, "the run failed: buyer ")) << ran.out;
  EXPECT_TRUE(Contains(ran.out, "database or disk is full (SQLITE_FULL"))
      << ran.out;
  EXPECT_TRUE(Contains(ran.out, "\"run_error\": \"buyer ")) << ran.out;
  EXPECT_FALSE(Contains(ran.out, "VIOLATED")) << ran.out;
  EXPECT_FALSE(Contains(ran.out, "store error")) << ran.out;
}

// Given a TMPDIR too small for the SQLite database itself, the run cannot be
// made: exit 3, with SQLite's cause.
TEST_F(EnvironmentTest, SqliteStoreThatCannotBeCreatedSaysWhy) {
  TempDir mount;
  const Ran ran = RunWithTmpfs(
      mount.path(), 32,
      fmt::format("TMPDIR='{}' exec \"$TICKETSIM\" run --store sqlite "
                  "--guard sqlite-immediate --buyers 2",
                  mount.path()));
  EXPECT_EQ(ran.exit_code, 3) << ran.out;
  EXPECT_TRUE(Contains(ran.out, "the run failed: create ")) << ran.out;
  // Which call finds the disk full decides which code SQLite gives.
  EXPECT_TRUE(Contains(ran.out, "database or disk is full (SQLITE_FULL") ||
              Contains(ran.out, "disk I/O error (SQLITE_IOERR"))
      << ran.out;
  EXPECT_FALSE(Contains(ran.out, "VIOLATED")) << ran.out;
}

// Given a file store (write = replace) on a disk filled up to its last page,
// which the count takes, each write's temporary file finds no room: the run
// fails with the buyer's errno, not a store-error violation.
TEST_F(EnvironmentTest, FileStoreOnAFullDiskFailsTheRunWithTheErrno) {
  TempDir mount;
  const Ran ran = RunWithTmpfs(
      mount.path(), 64,
      fmt::format("head -c 61440 /dev/zero > '{0}/filler' && "
                  "TMPDIR='{0}' exec \"$TICKETSIM\" run --store file "
                  "--write replace --guard file-lock --buyers 4 --attempts 5 "
                  "--think-ms 0,0",
                  mount.path()));
  EXPECT_EQ(ran.exit_code, 3) << ran.out;
  EXPECT_TRUE(Contains(ran.out, "the run failed: buyer ")) << ran.out;
  EXPECT_TRUE(Contains(ran.out, "No space left on device")) << ran.out;
  EXPECT_FALSE(Contains(ran.out, "VIOLATED")) << ran.out;
}

// Given fewer descriptors than a buyer needs to open its events' guards
// (three events, three lock files held at once, while the parent creates
// them one at a time), the run fails naming the first buyer process that
// could not, and why. Swept over limits, since the descriptors a process
// starts with vary: at every limit ticketsim either runs cleanly or fails
// with the cause (or, below what the loader needs, never starts), and at
// some limit the buyers, and only they, run out.
TEST_F(EnvironmentTest, TooFewDescriptorsNameTheFirstBuyersCause) {
  TempDir tmp;
  bool buyers_ran_out = false;
  int largest_exit = -1;
  for (int limit = 4; limit <= 24; ++limit) {
    const Ran ran = RunProgram(
        {"/bin/bash", "-c",
         fmt::format("ulimit -n {}; exec '{}' run --store file --write "
                     "replace --guard file-lock --set "
                     "'events=[\"concert\", \"parking\", \"bus\"]' "
                     "--buyers 4 --attempts 2 --think-ms 0,0",
                     limit, TICKETSIM_BINARY)},
        tmp.path());
    SCOPED_TRACE(fmt::format("ulimit -n {}: {}", limit, ran.out));
    EXPECT_FALSE(Contains(ran.out, "VIOLATED"));
    if (Contains(ran.out, "error while loading shared libraries")) {
      EXPECT_EQ(ran.exit_code, 127);  // the loader's, before ticketsim runs
      continue;
    }
    EXPECT_TRUE(ran.exit_code == 0 || ran.exit_code == 3);
    if (ran.exit_code == 3) {
      EXPECT_TRUE(Contains(ran.out, "Too many open files"));
    }
    if (Contains(ran.out,
                 "could open the store and the guard: buyer process ") &&
        Contains(ran.out, "could not open the guard: open ") &&
        Contains(ran.out, "Too many open files")) {
      buyers_ran_out = true;
    }
    largest_exit = ran.exit_code;
  }
  EXPECT_TRUE(buyers_ran_out);
  EXPECT_EQ(largest_exit, 0);
}

// Given RLIMIT_NPROC of 100 for the user nobody, who runs few processes,
// 20 buyers run; 150 are refused before anything runs (exit 2), with the
// limit and the count of nobody's own tasks, not of everyone's.
TEST_F(EnvironmentTest, ProcessLimitCountsTheUsersOwnTasks) {
  TempDir dir;
  // nobody must reach its TMPDIR; the test's directory is root's.
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
  const std::string tmp = dir.path() + "/tmp";
  ASSERT_TRUE(std::filesystem::create_directory(tmp));
  ASSERT_EQ(chmod(tmp.c_str(), 01777), 0);
  const auto run_as_nobody = [&](int buyers) {
    return RunProgram(
        {"/usr/bin/setpriv", fmt::format("--reuid={}", kNobody),
         fmt::format("--regid={}", kNobody), "--clear-groups", "/bin/bash",
         "-c",
         fmt::format("ulimit -u 100; exec '{}' run --store file --write "
                     "replace --guard file-lock --buyers {} --attempts 1",
                     TICKETSIM_BINARY, buyers)},
        tmp);
  };

  const Ran few = run_as_nobody(20);
  EXPECT_EQ(few.exit_code, 0) << few.out;
  EXPECT_FALSE(Contains(few.out, "can start only")) << few.out;

  // Nobody's own tasks are few (ticketsim itself among them; other tests
  // may run one or two as nobody meanwhile), never everyone's: the room
  // is the limit less exactly the count the message gives.
  const Ran many = run_as_nobody(150);
  EXPECT_EQ(many.exit_code, 2) << many.out;
  std::smatch found;
  ASSERT_TRUE(std::regex_search(
      many.out, found,
      std::regex(R"(buyers.count: 150 processes, but this machine can start )"
                 R"(only about (\d+) more \(RLIMIT_NPROC \(ulimit -u\) is )"
                 R"(100 and user 65534 has (\d+) tasks?\))")))
      << many.out;
  const int room = std::stoi(found[1]);
  const int own = std::stoi(found[2]);
  EXPECT_GE(own, 1);
  EXPECT_LT(own, 50) << "counted more than nobody's own tasks";
  EXPECT_EQ(room, 100 - own);
  EXPECT_LT(TasksOf(kNobody), 50);
}

// Root is exempt from RLIMIT_NPROC: a low limit does not refuse its run.
TEST_F(EnvironmentTest, ProcessLimitDoesNotBindRoot) {
  TempDir tmp;
  const Ran ran = RunProgram(
      {"/bin/bash", "-c",
       fmt::format("ulimit -u 5; exec '{}' run --store file --write replace "
                   "--guard file-lock --buyers 20 --attempts 1",
                   TICKETSIM_BINARY)},
      tmp.path());
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
}

// The memory this machine has available now, from /proc/meminfo.
uint64_t MemAvailable() {
  std::ifstream meminfo("/proc/meminfo");
  for (std::string key; meminfo >> key;) {
    uint64_t kib = 0;
    meminfo >> kib;
    if (key == "MemAvailable:") return kib * 1024;
    meminfo.ignore(64, '\n');
  }
  return 0;
}

// Given a full history larger than all the memory available, the scenario
// is refused before anything runs (exit 2), naming the key, the bytes it
// would take and the way out, history = "summary".
TEST_F(EnvironmentTest, HistoryLargerThanTheMemoryIsAScenarioError) {
  const uint64_t available = MemAvailable();
  ASSERT_GT(available, 0u);
  // 1,000 buyers record at most 6 events of 32 bytes per attempt.
  const uint64_t attempts = available / (1000 * 6 * 32) + 1;
  ASSERT_LE(attempts, static_cast<uint64_t>(kMaxAttempts));
  TempDir tmp;
  const Ran ran = RunProgram({TICKETSIM_BINARY, "run", "--buyers", "1000",
                              "--attempts", std::to_string(attempts)},
                             tmp.path());
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Contains(ran.out, "buyers.attempts: ")) << ran.out;
  EXPECT_TRUE(Contains(ran.out, "their history would take")) << ran.out;
  EXPECT_TRUE(Contains(ran.out, "of memory available")) << ran.out;
  EXPECT_TRUE(Contains(ran.out, "history = \"summary\"")) << ran.out;
}

// The limit is half of what is available, within its floor and its cap;
// unknown availability falls back to the cap.
TEST(HistoryLimitTest, HalfOfTheMemoryAvailable) {
  constexpr uint64_t kGiB = uint64_t{1} << 30;
  EXPECT_EQ(HistoryLimit(24 * kGiB), 12 * kGiB);
  EXPECT_EQ(HistoryLimit(200 * kGiB), kMaxHistoryBytes);
  EXPECT_EQ(HistoryLimit(kHistoryAlwaysFits), kHistoryAlwaysFits);
  EXPECT_EQ(HistoryLimit(std::nullopt), kMaxHistoryBytes);
}

// A 31.4 GiB history on a machine with 24 GiB free is refused, where the
// old fixed limit of 32 GiB let it meet the OOM killer.
TEST(HistoryLimitTest, ThirtyOneGibDoesNotFitInTwentyFour) {
  Scenario scenario;
  scenario.buyers.count = 10000;
  // 10,000 x 11,700 attempts x 9 events x 32 bytes: about 31.4 GiB.
  scenario.buyers.attempts = 11700;
  const uint64_t bytes = HistoryBytes(scenario);
  EXPECT_GT(bytes, uint64_t{31} << 30);
  EXPECT_LT(bytes, kMaxHistoryBytes);
  EXPECT_GT(bytes, HistoryLimit(uint64_t{24} << 30));
}

// Every scenario of the library is below the size that is accepted without
// asking the machine, so none of them can be refused for want of memory.
TEST(HistoryLimitTest, LibraryScenariosNeverAskTheMachine) {
  for (const auto& entry :
       std::filesystem::directory_iterator(TICKETSIM_SOURCE_DIR "/scenarios")) {
    if (entry.path().extension() != ".toml") continue;
    LoadedScenario loaded;
    ASSERT_TRUE(LoadScenario(entry.path().string(), {}, &loaded).ok())
        << entry.path();
    EXPECT_LE(HistoryBytes(loaded.scenario), kHistoryAlwaysFits)
        << entry.path();
  }
}

// A store error that is part of the verdict (not the system's) keeps its
// cause: the violation's summary says what the first one was.
TEST(FirstErrorTest, StoreErrorViolationSaysWhatTheFirstWas) {
  RunResult run;
  run.scenario.initial = 1;
  run.scenario.buyers.count = 1;
  run.history = std::make_unique<HistoryArena>();
  ASSERT_TRUE(run.history->Map(1, kEventsPerAttempt).ok());
  EventWriter events = run.history->WriterFor(0);
  events.Record({.time_ns = 1000, .value = 1, .kind = EventKind::kRead});
  events.Record({.time_ns = 2000,
                 .kind = EventKind::kFailed,
                 .aux = static_cast<uint32_t>(Failure::kStoreError)});
  run.processes.push_back({getpid(), 0, 0});
  run.served_by = {0};
  run.final_count = 1;
  run.final_counts = {1};
  run.final_errors = {""};
  run.first_store_error = "buyer 0: write /x/db.txt: Bad file descriptor";
  const Verdict verdict = CheckRun(run);
  ASSERT_EQ(verdict.CountOf(ViolationKind::kStoreError), 1);
  for (const Violation& v : verdict.violations) {
    if (v.kind != ViolationKind::kStoreError) continue;
    EXPECT_TRUE(Contains(
        v.summary, "the first: buyer 0: write /x/db.txt: Bad file descriptor"))
        << v.summary;
  }
}

}  // namespace
}  // namespace ticketsim
