// Run names and liveness: names nobody can plant in advance, planted names
// never followed or opened, liveness decided by a lock (never by a pid, so
// PID namespaces and pid reuse change nothing), and a full /dev/shm failing
// a run cleanly. The attacks run for real, in a private /tmp and /dev/shm
// (RunInPrivateMounts), with ticketsim in PID namespaces of its own
// (unshare -fp) and the attacker as uid 65534.
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "sim/guards/guard.h"
#include "storage/make_store.h"
#include "storage/run_names.h"
#include "storage/ticket_store.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::PrivateMounts;
using ::ticketsim::testing::Ran;
using ::ticketsim::testing::RunInPrivateMounts;

// The old names, ticketsim.<uid>.<pid>.<n>, that anyone could compute: for
// every pid a fresh PID namespace hands out first, and every trial of one.
constexpr int kPlantedPids = 4096;
constexpr int kPlantedTrials = 3;

// How many times `needle` occurs in `text`.
size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// A shell function that waits (at most a minute) until /dev/shm has an entry
// matching the grep pattern $1.
constexpr const char* kWaitFor = R"sh(
wait_for() {
  i=0
  until ls /dev/shm | grep -q "$1"; do
    i=$((i + 1))
    if [ $i -gt 1200 ]; then echo "never appeared: $1"; exit 1; fi
    sleep 0.05
  done
}
)sh";

// Given a fresh name, it says whose it is (uid), which process made it
// (pid), and has a random part nobody can compute.
TEST(RunNamesTest, ATagCarriesUidPidAndARandomPart) {
  const RunNames a = NewRunNames();
  const RunNames b = NewRunNames();
  const std::regex pattern(
      fmt::format(R"(ticketsim\.{}\.{}\.[a-z2-7]{{12}})", geteuid(), getpid()));
  EXPECT_TRUE(std::regex_match(a.tag, pattern)) << a.tag;
  EXPECT_TRUE(std::regex_match(b.tag, pattern)) << b.tag;
  EXPECT_NE(a.tag, b.tag);
  EXPECT_EQ(a.dir.substr(a.dir.rfind('/') + 1), a.tag);
}

// Given a TMPDIR that does not exist, the run fails at once and says so
// (exit 3), rather than drawing name after name as if each were taken.
TEST(RunNamesTest, AMissingTmpdirIsNamed) {
  const Ran ran = testing::RunTicketsimArgs(
      {"run", "--store", "shm", "--guard", "robust-mutex", "--buyers", "2"},
      "/nonexistent-ticketsim-tmpdir");
  EXPECT_EQ(ran.exit_code, 3) << ran.out;
  EXPECT_NE(ran.out.find("TMPDIR /nonexistent-ticketsim-tmpdir: "),
            std::string::npos)
      << ran.out;
  EXPECT_NE(ran.out.find("No such file or directory"), std::string::npos)
      << ran.out;
  EXPECT_TRUE(testing::LeftoversOf(ran.pid).empty());
}

// What ARunIsAliveExactlyWhileItHoldsItsLock checks, in a process of its
// own; false (having said why on stderr) if a check failed.
bool LockTellsLiveFromDead() {
  bool ok = true;
  const auto expect = [&ok](bool holds, const char* what) {
    if (!holds) fmt::print(stderr, "not so: {}\n", what);
    ok = ok && holds;
  };
  testing::ScopedRun run;
  const std::string shm_lock = "/dev/shm/" + run.names().Object("live");
  expect(!RunHasEnded(run.names().dir), "a live run's directory is alive");
  expect(!RunHasEnded(shm_lock), "a live run's /dev/shm lock is alive");
  // A forked child inherits the lock (as buyers do) and, like any other
  // process, cannot take it.
  const int seen = testing::RunInChild([&] {
    return RunHasEnded(run.names().dir) || RunHasEnded(shm_lock) ? 1 : 0;
  });
  expect(WIFEXITED(seen) && WEXITSTATUS(seen) == 0,
         "a child sees the run alive");

  // A run that ends without removing anything (SIGKILLed): its names stay,
  // and now say it has ended.
  int names[2];
  if (pipe(names) != 0) return false;
  const int status = testing::RunInChild([&] {
    RunNames dead;
    RunLease lease;
    if (!StartRun(&dead, &lease).ok()) return 1;
    const std::string line = dead.tag + "\n";
    if (write(names[1], line.data(), line.size()) < 0) return 1;
    kill(getpid(), SIGKILL);
    return 1;
  });
  close(names[1]);
  expect(WIFSIGNALED(status), "the dead run was killed");
  char buf[256] = {};
  const bool got = read(names[0], buf, sizeof buf - 1) > 0;
  close(names[0]);
  if (!got) return false;
  std::string tag(buf);
  tag.pop_back();
  const std::string dir =
      run.names().dir.substr(0, run.names().dir.rfind('/') + 1) + tag;
  const std::string dead_lock = fmt::format("/dev/shm/{}.live", tag);
  expect(RunHasEnded(dir), "the dead run's directory has ended");
  expect(RunHasEnded(dead_lock), "the dead run's /dev/shm lock has ended");
  expect(!RunHasEnded(run.names().dir), "the live run's directory lives on");
  expect(!RunHasEnded(shm_lock), "the live run's /dev/shm lock lives on");
  return ok;
}

// Given a started run, its lock says it is alive, in its directory and in
// /dev/shm, to this process and to any other; once its last process is gone
// the lock is free. In a /tmp and /dev/shm of its own: no other test's run
// may see the dead run it makes, or remove it first.
TEST(RunNamesTest, ARunIsAliveExactlyWhileItHoldsItsLock) {
  PrivateMounts mounts;
  mounts.as_root = [] {
    setenv("TMPDIR", "/tmp", 1);
    return LockTellsLiveFromDead();
  };
  const Ran ran = RunInPrivateMounts("true", mounts);
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
}

// Given every old-style name of the first 4096 pids and 3 trials, and names
// of the new pattern with guessed random parts, planted by another user as
// directories, files, and symlinks to a victim's file and directory, in
// /tmp and /dev/shm: runs of every store and guard as PID 1 of a fresh PID
// namespace succeed, `clean` and `clean --all` remove none of them, and
// nothing was followed: the victim is untouched.
TEST(PlantedNamesTest, RunsSucceedAndNeverFollowAPlantedName) {
  const uid_t uid = geteuid();
  PrivateMounts mounts;
  mounts.as_root = [] {
    if (mkdir("/tmp/victim", 0755) != 0) return false;
    std::ofstream("/tmp/victim/secret") << "untouched\n";
    return chmod("/tmp/victim/secret", 0644) == 0;
  };
  mounts.as_nobody = [uid] {
    bool ok = true;
    const auto file = [&ok](const std::string& path) {
      const int fd = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0666);
      ok = ok && fd >= 0 && write(fd, "planted", 7) == 7;
      if (fd >= 0) close(fd);
    };
    const auto link = [&ok](const char* target, const std::string& path) {
      ok = ok && symlink(target, path.c_str()) == 0;
    };
    const auto plant = [&](const std::string& tag, int kind) {
      const std::string dir = "/tmp/" + tag;
      if (kind == 0) ok = ok && mkdir(dir.c_str(), 0777) == 0;
      if (kind == 1) link("/tmp/victim", dir);
      if (kind == 2) link("/tmp/victim/secret", dir);
      link("/tmp/victim/secret", fmt::format("/dev/shm/{}.store", tag));
      file(fmt::format("/dev/shm/{}.guard", tag));
      link("/tmp/victim/secret", fmt::format("/dev/shm/sem.{}.mutex", tag));
      file(fmt::format("/dev/shm/sem.{}.semaphore", tag));
      link("/tmp/victim/secret", fmt::format("/dev/shm/{}.live", tag));
    };
    for (int pid = 1; pid <= kPlantedPids; ++pid) {
      for (int n = 1; n <= kPlantedTrials; ++n) {
        plant(fmt::format("ticketsim.{}.{}.{}", uid, pid, n), n - 1);
      }
    }
    // The new pattern, with random parts an attacker might try; a directory
    // of it with a lock file inside, as a run's would have.
    for (int pid = 1; pid <= 64; ++pid) {
      for (const char* guess : {"aaaaaaaaaaaa", "222222222222"}) {
        const std::string tag =
            fmt::format("ticketsim.{}.{}.{}", uid, pid, guess);
        plant(tag, pid % 3);
        if (pid % 3 == 0) file(fmt::format("/tmp/{}/live", tag));
      }
    }
    return ok;
  };
  const std::string script = R"sh(
planted_tmp=$(ls -A /tmp | wc -l)
planted_shm=$(ls -A /dev/shm | wc -l)
run() {
  out=$(unshare -fp --mount-proc "$TICKETSIM" "$@" 2>&1)
  rc=$?
  echo "rc=$rc: $*"
  if [ $rc = 0 ]; then echo "$out" | tail -n 3; else echo "$out"; fi
}
# A guard wait long enough for a loaded machine, and a file written by
# rename (a truncated file's torn read is a lesson of its own): a
# violation is not what this test is about.
wait=--timeout-ms=60000
run run --store shm --guard named-mutex --buyers 3 --tickets 9 --trials 3 $wait
run run --store shm --guard named-semaphore --buyers 3 --tickets 9 --trials 3 $wait
run run --store shm --guard robust-mutex --buyers 3 --tickets 9 --trials 3 $wait
run run --store file --write replace --guard file-lock --buyers 3 --tickets 9 --trials 3 $wait
run run --store sqlite --guard sqlite-immediate --buyers 3 --tickets 9 --trials 3 $wait
run clean
run clean --all
echo "tmp: $planted_tmp -> $(ls -A /tmp | wc -l)"
echo "shm: $planted_shm -> $(ls -A /dev/shm | wc -l)"
echo "ours: $(find /tmp /dev/shm -mindepth 1 -user 0 ! -path '/tmp/victim*' | head -n 5)."
echo "secret: $(cat /tmp/victim/secret) $(stat -c '%a %u %s' /tmp/victim/secret)"
echo "victim: $(ls -A /tmp/victim | tr '\n' ' ')"
)sh";
  const Ran ran = RunInPrivateMounts(script, mounts);
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  for (const char* run : {"rc=0: run --store shm --guard named-mutex",
                          "rc=0: run --store shm --guard named-semaphore",
                          "rc=0: run --store shm --guard robust-mutex",
                          "rc=0: run --store file --write replace --guard "
                          "file-lock",
                          "rc=0: run --store sqlite --guard sqlite-immediate",
                          "rc=0: clean\n", "rc=0: clean --all"}) {
    EXPECT_NE(ran.out.find(run), std::string::npos) << run << "\n" << ran.out;
  }
  // Nothing planted was removed, nothing of the runs is left.
  EXPECT_EQ(Count(ran.out, "0 leftovers removed"), 2u) << ran.out;
  const std::regex same(R"(tmp: (\d+) -> \1\nshm: (\d+) -> \2\n)");
  EXPECT_TRUE(std::regex_search(ran.out, same)) << ran.out;
  EXPECT_NE(ran.out.find("ours: ."), std::string::npos) << ran.out;
  // The victim: same content, mode, owner and size; nothing added.
  EXPECT_NE(ran.out.find("secret: untouched 644 0 10\n"), std::string::npos)
      << ran.out;
  EXPECT_NE(ran.out.find("victim: secret \n"), std::string::npos) << ran.out;
}

// Given a long run A in one PID namespace (its ticketsim is pid 2 there) and,
// sharing its /tmp and /dev/shm, a `clean` and another run in a namespace B
// where no pid 2 exists: A's directory and objects survive both, and A's
// verdict, once it is interrupted, reads its real final count.
TEST(PidNamespaceTest, ALiveRunInAnotherNamespaceKeepsItsObjects) {
  const std::string script = std::string(kWaitFor) + R"sh(
mkdir /tmp/out
unshare -fp --mount-proc sh -c '"$0" run --store shm --guard named-mutex --buyers 2 --tickets 100000 --attempts 20000 --think-ms 2,4 >/tmp/out/a 2>&1; echo $? >/tmp/out/a.rc' "$TICKETSIM" &
A=$!
wait_for 'mutex$'
wait_for '\.store$'
before=$( (ls /dev/shm; ls /tmp) | grep ticketsim)
echo "A has $(echo "$before" | wc -l) names"
echo "--- clean in B"
unshare -fp --mount-proc "$TICKETSIM" clean
echo "--- run in B"
unshare -fp --mount-proc "$TICKETSIM" run --store shm --guard named-mutex --buyers 2 --tickets 10 --timeout-ms 60000 >/tmp/out/b 2>&1
echo "b rc=$?"
after=$( (ls /dev/shm; ls /tmp) | grep ticketsim)
for name in $before; do
  echo "$after" | grep -qx "$name" || echo "GONE: $name"
done
kill -0 $A && echo "A still running"
shell=$(tr -d ' \n' </proc/$A/task/$A/children)
ticketsim=$(tr -d ' \n' </proc/$shell/task/$shell/children)
kill -INT "$ticketsim" || echo "no ticketsim to interrupt"
wait $A
echo "a rc=$(cat /tmp/out/a.rc)"
cat /tmp/out/a
echo "left: $( (ls -A /dev/shm; ls -A /tmp | grep -v '^out$') | tr '\n' ' ')."
)sh";
  const Ran ran = RunInPrivateMounts(script);
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  // A's tag names: its directory, its lock object, store and mutex.
  EXPECT_NE(ran.out.find("A has 4 names"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("--- clean in B\n0 leftovers removed\n"),
            std::string::npos)
      << ran.out;
  EXPECT_NE(ran.out.find("b rc=0"), std::string::npos) << ran.out;
  EXPECT_EQ(ran.out.find("GONE"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("A still running"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("a rc=130"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("interrupted by SIGINT"), std::string::npos)
      << ran.out;
  std::string lower = ran.out;
  for (char& c : lower) c = static_cast<char>(std::tolower(c));
  EXPECT_EQ(lower.find("corrupt final state"), std::string::npos) << ran.out;
  EXPECT_EQ(lower.find("store error"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("left: ."), std::string::npos) << ran.out;
}

// Given ticketsim as PID 1 of a PID namespace, SIGKILLed mid-run (so its
// buyers die with the namespace and nothing is removed): the next run, also
// PID 1 (the same pid in its names), removes what it left and succeeds; so
// does `clean` as PID 1 after a second such kill.
TEST(PidNamespaceTest, AKilledPidOneRunIsRemovedByTheNextPidOneRunOrClean) {
  const std::string script = std::string(kWaitFor) + R"sh(
start_and_kill() {
  unshare -fp --mount-proc "$TICKETSIM" run --store shm --guard named-mutex --buyers 2 --tickets 1000000 --attempts 100000 --think-ms 1,2 >/dev/null 2>&1 &
  U=$!
  wait_for 'mutex$'
  wait_for '\.store$'
  kill -KILL $(cat /proc/$U/task/$U/children)
  wait $U
  echo "killed: $(ls -A /tmp | wc -l) in /tmp, $(ls -A /dev/shm | wc -l) in /dev/shm, pid $(ls /tmp | cut -d. -f3)"
}
start_and_kill
unshare -fp --mount-proc "$TICKETSIM" run --store shm --guard named-mutex --buyers 2 --tickets 5 --timeout-ms 60000 >/dev/null 2>&1
echo "next run rc=$?"
echo "after the run: $( (ls -A /tmp; ls -A /dev/shm) | tr '\n' ' ')."
start_and_kill
unshare -fp --mount-proc "$TICKETSIM" clean
echo "after clean: $( (ls -A /tmp; ls -A /dev/shm) | tr '\n' ' ')."
)sh";
  const Ran ran = RunInPrivateMounts(script);
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  // Its directory; its lock object, store and mutex.
  EXPECT_EQ(Count(ran.out, "killed: 1 in /tmp, 3 in /dev/shm, pid 1\n"), 2u)
      << ran.out;
  EXPECT_NE(ran.out.find("next run rc=0"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("after the run: ."), std::string::npos) << ran.out;
  EXPECT_EQ(Count(ran.out, "removed /"), 4u) << ran.out;
  EXPECT_NE(ran.out.find("4 leftovers removed"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("after clean: ."), std::string::npos) << ran.out;
}

// Given a clean whose TMPDIR is not the run's (the temp directory and
// /dev/shm judged each by its own lock): it leaves a live run's objects
// alone, and removes a killed run's objects in /dev/shm but not its
// directory, which only a clean of that TMPDIR sees.
TEST(PidNamespaceTest, EachPlaceIsJudgedByItsOwnLock) {
  const std::string script = std::string(kWaitFor) + R"sh(
mkdir /tmp/elsewhere
"$TICKETSIM" run --store shm --guard named-mutex --buyers 2 --tickets 100000 --attempts 20000 --think-ms 2,4 >/dev/null 2>&1 &
R=$!
wait_for 'mutex$'
wait_for '\.store$'
echo "--- live"
TMPDIR=/tmp/elsewhere "$TICKETSIM" clean
buyers=$(cat /proc/$R/task/$R/children)
kill -KILL $R
wait $R
# Its buyers die with it (PR_SET_PDEATHSIG); the lock is free once they have.
for buyer in $buyers; do
  i=0
  while kill -0 $buyer 2>/dev/null && [ $i -lt 1200 ]; do
    i=$((i + 1))
    sleep 0.05
  done
done
echo "--- killed"
TMPDIR=/tmp/elsewhere "$TICKETSIM" clean
echo "left: $( (ls -A /dev/shm; ls -A /tmp) | tr '\n' ' ')."
echo "--- the run's own TMPDIR"
"$TICKETSIM" clean
)sh";
  const Ran ran = RunInPrivateMounts(script);
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_NE(ran.out.find("--- live\n0 leftovers removed\n"), std::string::npos)
      << ran.out;
  // Its lock object, store and mutex; then its directory.
  const std::regex shm_then_dir(
      R"(--- killed\n(removed /dev/shm/\S+\n){3}3 leftovers removed\n)"
      R"(left: elsewhere ticketsim\.\S+ \.\n)"
      R"(--- the run's own TMPDIR\nremoved /tmp/ticketsim\.\S+\n)"
      R"(1 leftover removed\n)");
  EXPECT_TRUE(std::regex_search(ran.out, shm_then_dir)) << ran.out;
}

// Given `ticketsim clean` running over and over while runs start and end
// beside it (in the same /tmp and /dev/shm), every run succeeds: a clean
// never takes a starting or running run for a dead one. At the end nothing
// is left.
TEST(PidNamespaceTest, CleansAlongsideRunsNeverBreakOne) {
  const std::string script = R"sh(
touch /tmp/cleaning
( while [ -e /tmp/cleaning ]; do "$TICKETSIM" clean >/dev/null; done ) &
C=$!
runs() {
  for i in $(seq 1 15); do
    "$TICKETSIM" run --store shm --guard robust-mutex --buyers 2 --tickets 4 --timeout-ms 60000 >/tmp/last.$1 2>&1
    rc=$?
    echo "rc=$rc"
    [ $rc = 0 ] || cat /tmp/last.$1
  done
}
runs 1 &
W1=$!
runs 2 &
W2=$!
wait $W1 $W2
rm /tmp/cleaning
wait $C
echo "left: $( (ls -A /dev/shm; ls -A /tmp | grep -v '^last\.') | tr '\n' ' ')."
)sh";
  const Ran ran = RunInPrivateMounts(script);
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_EQ(Count(ran.out, "rc=0\n"), 30u) << ran.out;
  EXPECT_EQ(Count(ran.out, "rc="), 30u) << ran.out;
  EXPECT_NE(ran.out.find("left: ."), std::string::npos) << ran.out;
}

constexpr uid_t kNobody = 65534;

// Another user's attack on the temp directory `tmpdir`: as uid 65534, in
// the background until the shell that runs the script ends, it renames
// every run directory ticketsim makes there away the moment it appears
// (inotify) and puts a symlink to `victim` in its place. Returns false if it
// could not start.
bool StartSwapper(const char* tmpdir, const char* victim) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) return pid > 0;
  const int null_fd = open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd) dup2(null_fd, fd);
  if (setgroups(0, nullptr) != 0 || setresgid(kNobody, kNobody, kNobody) != 0 ||
      setresuid(kNobody, kNobody, kNobody) != 0) {
    _exit(1);
  }
  // Ends with its parent, which becomes the script's shell. Only now: a
  // change of user clears a parent-death signal asked for before it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0);
  const int watch = inotify_init1(IN_CLOEXEC);
  const int dir = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (watch < 0 || dir < 0 || inotify_add_watch(watch, tmpdir, IN_CREATE) < 0) {
    _exit(1);
  }
  alignas(inotify_event) char buffer[4096];
  for (int swapped = 0;;) {
    const ssize_t got = read(watch, buffer, sizeof buffer);
    if (got <= 0) _exit(1);
    for (const char* at = buffer; at < buffer + got;) {
      const auto* event = reinterpret_cast<const inotify_event*>(at);
      at += sizeof(inotify_event) + event->len;
      if (event->len == 0 || (event->mask & IN_ISDIR) == 0 ||
          !std::string_view(event->name).starts_with("ticketsim.")) {
        continue;
      }
      const std::string away = fmt::format("swapped.{}", swapped++);
      if (renameat(dir, event->name, dir, away.c_str()) == 0) {
        symlinkat(victim, dir, event->name);
      }
    }
  }
}

// Given a TMPDIR that every user may write and that has no sticky bit, and
// another user (uid 65534) who swaps each run directory made there for a
// symlink to a victim's folder the moment it appears: a run refuses that
// TMPDIR before it makes anything (exit 3, naming TMPDIR and why), so the
// victim's folder is untouched. In /tmp (sticky) the same attacker cannot
// rename a run's directory, and the run goes through.
TEST(TmpdirTest, AnotherUserCannotSwapARunsDirectoryForALink) {
  PrivateMounts mounts;
  mounts.as_root = [] {
    return mkdir("/tmp/open", 0777) == 0 && chmod("/tmp/open", 0777) == 0 &&
           mkdir("/tmp/victim", 0755) == 0 && chmod("/tmp/victim", 0755) == 0 &&
           StartSwapper("/tmp/open", "/tmp/victim") &&
           StartSwapper("/tmp", "/tmp/victim");
  };
  const Ran ran = RunInPrivateMounts(R"sh(
TMPDIR=/tmp/open "$TICKETSIM" run --store sqlite --buyers 2 --tickets 1
echo "open: rc=$?"
"$TICKETSIM" run --store sqlite --buyers 2 --tickets 1 --steps 0,0,1,1 \
  >/dev/null 2>&1
echo "sticky: rc=$?"
echo "victim: $(stat -c %a /tmp/victim) $(ls -A /tmp/victim | tr '\n' ' ')."
echo "in /tmp/open: $(ls -A /tmp/open | tr '\n' ' ')."
)sh",
                                     mounts);
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_NE(ran.out.find("TMPDIR /tmp/open: /tmp/open can be written by "
                         "every user and has no sticky bit: another user "
                         "could swap a run's directory there"),
            std::string::npos)
      << ran.out;
  EXPECT_NE(ran.out.find("open: rc=3\n"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("sticky: rc=1\n"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("victim: 755 .\n"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("in /tmp/open: .\n"), std::string::npos) << ran.out;
}

// Given a TMPDIR that another user owns, one below a directory every user
// may write without the sticky bit, or one that a group other than the
// run's may write: each is refused, named with the directory and why
// (exit 3), and nothing is made there. A sticky one that everyone writes,
// as /tmp, is fine.
TEST(TmpdirTest, ATmpdirAnotherUserCouldRenameIsRefused) {
  PrivateMounts mounts;
  mounts.as_root = [] {
    return mkdir("/tmp/theirs", 0755) == 0 &&
           chown("/tmp/theirs", kNobody, kNobody) == 0 &&
           mkdir("/tmp/open", 0777) == 0 && chmod("/tmp/open", 0777) == 0 &&
           mkdir("/tmp/open/mine", 0700) == 0 &&
           mkdir("/tmp/group", 0770) == 0 && chmod("/tmp/group", 0770) == 0 &&
           chown("/tmp/group", 0, kNobody) == 0 &&
           mkdir("/tmp/shared", 0777) == 0 && chmod("/tmp/shared", 01777) == 0;
  };
  const Ran ran = RunInPrivateMounts(R"sh(
for d in /tmp/theirs /tmp/open/mine /tmp/group /tmp/shared; do
  out=$(TMPDIR=$d "$TICKETSIM" run --store shm --buyers 2 --tickets 1 2>&1)
  echo "$d: rc=$? $(echo "$out" | grep '^ticketsim:') left: $(ls -A $d | tr '\n' ' ')."
done
)sh",
                                     mounts);
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  for (const char* line :
       {"/tmp/theirs: rc=3 ticketsim: the run failed: TMPDIR /tmp/theirs: "
        "/tmp/theirs is owned by another user (uid 65534): ",
        "/tmp/open/mine: rc=3 ticketsim: the run failed: TMPDIR "
        "/tmp/open/mine: /tmp/open, above it, can be written by every user "
        "and has no sticky bit: ",
        "/tmp/group: rc=3 ticketsim: the run failed: TMPDIR /tmp/group: "
        "/tmp/group can be written by group 65534 and has no sticky bit: ",
        "/tmp/shared: rc=1  left: .\n"}) {
    EXPECT_NE(ran.out.find(line), std::string::npos) << line << "\n" << ran.out;
  }
  EXPECT_EQ(Count(ran.out, "left: .\n"), 4u) << ran.out;
}

// Given a run whose directory was renamed away, and a symlink to another
// folder or a new directory put in its place: nothing the run makes
// afterwards (the file store's file, the SQLite database, the file lock,
// an event's directory) lands there; each names the directory as no longer
// the run's, and removing the run leaves the impostor alone.
TEST(RunNamesTest, NothingIsMadeInARunDirectorySwappedForAnother) {
  for (const bool link : {true, false}) {
    SCOPED_TRACE(link ? "a symlink" : "a directory");
    testing::ScopedRun run;
    testing::TempDir victim;
    const std::string dir = run.names().dir;
    const std::string away = dir + ".away";
    ASSERT_EQ(rename(dir.c_str(), away.c_str()), 0);
    ASSERT_EQ(link ? symlink(victim.path().c_str(), dir.c_str())
                   : mkdir(dir.c_str(), 0700),
              0);
    std::vector<Status> made;
    StoreSpec spec;
    made.push_back(MakeStore(spec, run.names())->Create(5));
    spec.kind = StoreKind::kSqlite;
    made.push_back(MakeStore(spec, run.names())->Create(5));
    GuardSpec lock;
    lock.kind = GuardKind::kFileLock;
    made.push_back(MakeGuard(lock, run.names(), nullptr)->Create());
    RunNames event;
    made.push_back(CreateRunDirectory(run.names(), "e1", &event));
    for (const Status& s : made) {
      EXPECT_NE(s.message().find(dir + " is no longer the run's directory"),
                std::string::npos)
          << s.ToString();
    }
    RemoveRunObjects(run.names(), {});
    EXPECT_TRUE(victim.Entries().empty());
    struct stat st;
    EXPECT_EQ(lstat(dir.c_str(), &st), 0) << "the impostor was removed";
    // The run's own directory back, for its removal.
    ASSERT_EQ(link ? unlink(dir.c_str()) : rmdir(dir.c_str()), 0);
    ASSERT_EQ(rename(away.c_str(), dir.c_str()), 0);
  }
}

// Given a full /dev/shm (a 256 KiB tmpfs, filled up), a run whose shm store
// or robust mutex needs a page there fails with "No space left on device"
// and exit 3 (not SIGBUS), and leaves nothing in /dev/shm or /tmp.
TEST(FullShmTest, ARunFailsWithNoSpaceLeftAndLeavesNothing) {
  for (const char* objects :
       {"--store shm", "--store file --guard robust-mutex"}) {
    SCOPED_TRACE(objects);
    PrivateMounts mounts;
    mounts.shm_options = "size=256k";
    const std::string script = fmt::format(R"sh(
cat /dev/zero >/dev/shm/filler 2>/dev/null
echo "free: $(df --output=avail /dev/shm | tail -n 1 | tr -d ' ')"
"$TICKETSIM" run {} --buyers 2 --tickets 5
echo "rc=$?"
echo "left: $( (ls -A /dev/shm | grep -vx filler; ls -A /tmp) | tr '\n' ' ')."
)sh",
                                           objects);
    const Ran ran = RunInPrivateMounts(script, mounts);
    ASSERT_EQ(ran.exit_code, 0) << ran.out;
    EXPECT_NE(ran.out.find("free: 0\n"), std::string::npos) << ran.out;
    EXPECT_NE(ran.out.find("No space left on device"), std::string::npos)
        << ran.out;
    EXPECT_NE(ran.out.find("rc=3\n"), std::string::npos) << ran.out;
    EXPECT_NE(ran.out.find("left: ."), std::string::npos) << ran.out;
  }
}

}  // namespace
}  // namespace ticketsim
