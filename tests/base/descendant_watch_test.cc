#include "base/descendant_watch.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "base/clock.h"

namespace ticketsim {
namespace {

// The lane's process: a shell that forks two subshells (which run nothing
// else) and then executes Python, which forks three children that exit
// with 7, says so on stdout, and waits for stdin to close.
constexpr char kPython[] = R"(import os, sys
for _ in range(3):
    p = os.fork()
    if p == 0:
        os._exit(7)
    os.waitpid(p, 0)
os.write(1, b"x")
sys.stdin.read()
)";

// The watch learns of the shell's exec only after the shell has executed
// Python: reading /proc then shows Python. The subshells the shell forked
// ran the shell all the same, and are not the lane's program; the Python
// children are (the test with pyenv's shims, which are shell scripts).
TEST(DescendantWatchTest, AnExecReadLateIsNotGivenToTheForksBeforeIt) {
  DescendantWatch watch;
  ASSERT_TRUE(watch.Open()) << "the kernel's process events need root";
  int to_child[2], from_child[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(from_child), 0);
  const int64_t since = MonotonicNs();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    for (const int fd :
         {to_child[0], to_child[1], from_child[0], from_child[1]}) {
      close(fd);
    }
    execl("/bin/sh", "sh", "-c",
          "(exit 0); (exit 0); exec /usr/bin/python3 -c \"$0\"", kPython,
          static_cast<char*>(nullptr));
    _exit(127);
  }
  watch.AddLane(pid, 0, since);
  close(to_child[0]);
  close(from_child[1]);
  char said = 0;
  ASSERT_EQ(read(from_child[0], &said, 1), 1);  // every fork is over
  std::vector<DescendantEnd> ended;
  watch.Read(&ended);
  close(to_child[1]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  close(from_child[0]);
  watch.Read(&ended);
  ASSERT_FALSE(watch.lost());

  int python_children = 0, others = 0;
  for (const DescendantEnd& end : ended) {
    const bool exited_7 = WIFEXITED(end.status) && WEXITSTATUS(end.status) == 7;
    if (exited_7) ++python_children;
    if (!exited_7) ++others;
    EXPECT_EQ(watch.RunsLaneProgram(end), exited_7)
        << "pid " << end.pid << ", status " << end.status;
  }
  EXPECT_EQ(python_children, 3);
  EXPECT_GE(others, 1) << "the shell forked no subshell";
  EXPECT_EQ(watch.MostAtOnce(0), 1);
}

}  // namespace
}  // namespace ticketsim
