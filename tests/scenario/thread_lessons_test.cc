// The library's lessons on threads (scenarios 42-48) reach their verdicts
// through the command line, as a teacher runs them; and what thread mode
// cannot be (a variable or a std::mutex shared by processes, a program's
// copies, buyers on hosts) is refused before anything runs, naming the keys.
#include <gtest/gtest.h>

#include <ostream>
#include <regex>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::Has;
using ::ticketsim::testing::LeftoversOf;
using ::ticketsim::testing::Library;
using ::ticketsim::testing::Ran;
using ::ticketsim::testing::RunTicketsimArgs;
using ::ticketsim::testing::TempDir;

// Runs `args` with a private TMPDIR, and checks that the run left nothing
// there nor in /dev/shm.
Ran RunLeavingNothing(const std::vector<std::string>& args) {
  TempDir tmp;
  const Ran ran = RunTicketsimArgs(args, tmp.path());
  EXPECT_TRUE(tmp.Entries().empty()) << "left behind: " << tmp.Entries()[0];
  EXPECT_TRUE(LeftoversOf(ran.pid).empty());
  return ran;
}

struct Lesson {
  const char* file;
  const char* verdict;  // as the text report writes it
};

// Test names show the lesson, not its fields.
void PrintTo(const Lesson& lesson, std::ostream* out) { *out << lesson.file; }

class ThreadLessonTest : public ::testing::TestWithParam<Lesson> {};

// Each lesson meets its [expect] (exit 0) with the verdict it teaches.
TEST_P(ThreadLessonTest, MeetsItsExpectationWithItsVerdict) {
  const Ran ran = RunLeavingNothing({"run", Library(GetParam().file)});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_TRUE(Has(ran.out, "as threads of one process")) << ran.out;
  EXPECT_TRUE(Has(ran.out, std::string("verdict   ") + GetParam().verdict))
      << ran.out;
}

constexpr char kLost[] = "VIOLATED: lost update";
constexpr char kNone[] = "no violation";

INSTANTIATE_TEST_SUITE_P(
    Library, ThreadLessonTest,
    ::testing::Values(Lesson{"42-threads-counter-unguarded.toml", kLost},
                      Lesson{"43-threads-counter-std-mutex.toml", kNone},
                      Lesson{"44-threads-counter-atomic.toml", kNone},
                      Lesson{"45-threads-rush-unguarded.toml", kLost},
                      Lesson{"46-threads-rush-guarded.toml", kNone},
                      Lesson{"47-threads-pool.toml", kNone},
                      Lesson{"48-threads-crash-before-write.toml", kNone}),
    [](const ::testing::TestParamInfo<Lesson>& info) {
      std::string name = std::string(info.param.file).substr(0, 2);
      return "Scenario" + name;
    });

// How many report lines say "died with its process".
int DiedWithTheProcess(const std::string& out) {
  static const std::regex kDied("died with its process");
  return static_cast<int>(
      std::distance(std::sregex_iterator(out.begin(), out.end(), kDied),
                    std::sregex_iterator()));
}

// The counter without a lock never reaches 0; with one it does.
TEST(ThreadLessonReportTest, TheUnguardedCounterEndsAboveZero) {
  const Ran ran =
      RunLeavingNothing({"run", Library("42-threads-counter-unguarded.toml")});
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_TRUE(Has(ran.out, "initial 10000, sold 10000, remaining ")) << ran.out;
  EXPECT_FALSE(Has(ran.out, "remaining 0\n")) << ran.out;
}

// One thread's crash takes every buyer of its process (48), where one
// process's crash ended only its own buyer (24): the five other threads are
// told dead with the process, and the report names the thread that ended it.
TEST(ThreadLessonReportTest, AThreadsCrashEndsEveryBuyerWhereAProcessEndsOne) {
  const Ran threads =
      RunLeavingNothing({"run", Library("48-threads-crash-before-write.toml")});
  ASSERT_EQ(threads.exit_code, 0) << threads.out;
  EXPECT_TRUE(Has(threads.out, "the whole process died with buyer "))
      << threads.out;
  EXPECT_EQ(DiedWithTheProcess(threads.out), 5) << threads.out;

  const Ran processes =
      RunLeavingNothing({"run", Library("24-crash-before-write.toml")});
  ASSERT_EQ(processes.exit_code, 0) << processes.out;
  EXPECT_TRUE(Has(processes.out, "crashed (crash_before_write)"))
      << processes.out;
  EXPECT_EQ(DiedWithTheProcess(processes.out), 0) << processes.out;
}

// A bad combination exits 2 naming its keys (and the flag it came by),
// and runs nothing.
void ExpectRefused(const std::vector<std::string>& args,
                   const std::vector<std::string>& named) {
  const Ran ran = RunLeavingNothing(args);
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  for (const std::string& part : named) {
    EXPECT_TRUE(Has(ran.out, part)) << "expected " << part << ":\n" << ran.out;
  }
  EXPECT_FALSE(Has(ran.out, "verdict")) << ran.out;
}

TEST(ThreadModeInputTest, AMemoryStoreForProcessesIsRefusedNamingBothKeys) {
  TempDir dir;
  const std::string file =
      dir.Write("memory.toml", "[store]\nkind = \"memory\"\n");
  ExpectRefused({"run", file},
                {file + ":2:8: store.kind: ", "buyers.mode = \"thread\""});
  ExpectRefused({"run", "--store", "memory"},
                {"--store memory: store.kind: ", "buyers.mode = \"thread\""});
}

TEST(ThreadModeInputTest, AStdMutexForProcessesIsRefusedNamingBothKeys) {
  TempDir dir;
  const std::string file =
      dir.Write("mutex.toml", "[guard]\nkind = \"std-mutex\"\n");
  ExpectRefused({"run", file},
                {file + ":2:8: guard.kind: ", "buyers.mode = \"thread\""});
  ExpectRefused(
      {"run", "--guard", "std-mutex"},
      {"--guard std-mutex: guard.kind: ", "buyers.mode = \"thread\""});
}

TEST(ThreadModeInputTest, ThreadsWithAProgramAreRefusedNamingBothKeys) {
  ExpectRefused({"run", "--threads", "--program", "python3 buy.py"},
                {"--threads: buyers.mode: ", "program.command"});
  ExpectRefused(
      {"run", Library("25-program-python-unlocked.toml"), "--mode", "thread"},
      {"--mode thread: buyers.mode: ", "program.command"});
}

TEST(ThreadModeInputTest, ThreadsWithHostsAreRefusedNamingBothKeys) {
  ExpectRefused({"run", Library("41-hosts-local-lock.toml"), "--threads"},
                {"--threads: buyers.mode: ", "buyers.hosts"});
}

}  // namespace
}  // namespace ticketsim
