#include "base/spawn.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/interrupt.h"

namespace ticketsim {

pid_t ForkFlushed() {
  std::fflush(nullptr);
  return fork();
}

std::vector<pid_t> Children(pid_t spared) {
  std::vector<pid_t> out;
  const pid_t self = getpid();
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* entry = readdir(proc)) {
    char* end = nullptr;
    const long pid = strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == spared) continue;
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buf[512];
    const ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got <= 0) continue;
    buf[got] = '\0';
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const char* close_paren = strrchr(buf, ')');
    if (close_paren == nullptr) continue;
    char state = 0;
    long ppid = 0;
    if (sscanf(close_paren + 1, " %c %ld", &state, &ppid) == 2 &&
        ppid == self) {
      out.push_back(static_cast<pid_t>(pid));
    }
  }
  closedir(proc);
  return out;
}

namespace {

// What a child sends when it could not start.
struct StartFailure {
  int32_t step;
  int32_t err;
};

std::string StepWords(StartStep step, const char* program) {
  switch (step) {
    case StartStep::kDescriptors:
      return "setting up its descriptors";
    case StartStep::kDirectory:
      return "changing to the run directory";
    case StartStep::kCgroup:
      return "joining the run's cgroup";
    case StartStep::kUser:
      return "switching to the user it runs as";
    case StartStep::kKeeper:
      return "forking it from its keeper";
    case StartStep::kExec:
      return fmt::format("executing {}", program);
  }
  return "starting";
}

// "Too many open files (EMFILE; ulimit -n is 24)".
std::string ErrorWords(int err, StartStep step, const char* program) {
  const char* name = strerrorname_np(err);
  std::string words =
      fmt::format("{} ({}", strerror(err), name != nullptr ? name : "?");
  struct rlimit limit;
  if (err == EMFILE && getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    words += fmt::format("; ulimit -n is {}", limit.rlim_cur);
  }
  if (err == ENOENT && step == StartStep::kExec) {
    words += strchr(program, '/') != nullptr
                 ? "; the interpreter its #! line names may be missing"
                 : "; not found on PATH";
  }
  return words + ")";
}

}  // namespace

Status StartReport::Open() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno("pipe", errno);
  read_.reset(fds[0]);
  write_.reset(fds[1]);
  if (fds[1] <= 4) {
    const int high = fcntl(fds[1], F_DUPFD_CLOEXEC, 5);
    if (high < 0) return Status::FromErrno("fcntl", errno);
    write_.reset(high);
  }
  return Status::Ok();
}

void StartReport::Fail(StartStep step, int err) const {
  const StartFailure failure{static_cast<int32_t>(step), err};
  (void)!write(write_.get(), &failure, sizeof failure);
  _exit(127);
}

Status StartReport::Wait(const char* program) {
  write_.reset();
  StartFailure failure{};
  ssize_t got;
  do {
    got = read(read_.get(), &failure, sizeof failure);
  } while (got < 0 && errno == EINTR);
  read_.reset();
  if (got == 0) return Status::Ok();  // executed: the pipe closed with it
  if (got != static_cast<ssize_t>(sizeof failure)) {
    return Status::Environment(
        fmt::format("it ended before it could say why it did not start ({})",
                    got < 0 ? strerror(errno) : "a short message"));
  }
  const auto step = static_cast<StartStep>(failure.step);
  return Status::Environment(
      fmt::format("{}: {}", StepWords(step, program),
                  ErrorWords(failure.err, step, program)));
}

}  // namespace ticketsim

namespace ticketsim {
namespace {

// Asks for `signal` should the parent die, and ends at once if `parent`
// died before that. (In a PID namespace of its own the parent, outside, is
// 0 to it while alive.)
void AskForDeathSignal(int signal, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, signal);
  if (const pid_t now = getppid(); now != parent && now != 0) _exit(127);
}

// In the forked child: puts `plan`'s descriptors in place and executes it,
// or says on `report` which step failed. Nothing but system calls runs.
// Under a keeper it stays in the keeper's process group.
[[noreturn]] void StartChild(const SpawnPlan& plan, char* const* argv,
                             char* const* envp, pid_t parent,
                             const StartReport& report) {
  AskForDeathSignal(plan.death_signal, parent);
  if (!plan.keeper) setpgid(0, 0);
  // Before the descriptors are moved into place, which may close the
  // directory's.
  if (plan.dir >= 0 && fchdir(plan.dir) != 0) {
    report.Fail(StartStep::kDirectory, errno);
  }
  if (plan.join_cgroup >= 0 && write(plan.join_cgroup, "0", 1) != 1) {
    report.Fail(StartStep::kCgroup, errno);
  }
  // Out of the way first, then into place (dup2 clears O_CLOEXEC).
  int moved[5];
  int null_fd = -1;
  for (int i = 0; i < plan.fd_count; ++i) {
    if (plan.fds[i] < 0 && null_fd < 0) {
      null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
      if (null_fd < 0) report.Fail(StartStep::kDescriptors, errno);
    }
    moved[i] =
        fcntl(plan.fds[i] >= 0 ? plan.fds[i] : null_fd, F_DUPFD_CLOEXEC, 10);
    if (moved[i] < 0) report.Fail(StartStep::kDescriptors, errno);
  }
  for (int i = 0; i < plan.fd_count; ++i) {
    if (dup2(moved[i], i) < 0) report.Fail(StartStep::kDescriptors, errno);
  }
  if (plan.user) {
    if (setgroups(0, nullptr) != 0 || setgid(plan.user->gid) != 0 ||
        setuid(plan.user->uid) != 0) {
      report.Fail(StartStep::kUser, errno);
    }
    AskForDeathSignal(plan.death_signal, parent);
  }
  for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execvpe(argv[0], argv, envp);
  report.Fail(StartStep::kExec, errno);
}

// The keeper's parent-death signal: its whole group goes with this process.
void EndGroup(int) { kill(0, SIGKILL); }

// Closes every descriptor from 3 up but those in `kept` (sorted).
void CloseAllBut(int* kept, int count) {
  unsigned from = 3;
  for (int i = 0; i < count; ++i) {
    if (kept[i] < static_cast<int>(from)) continue;
    if (static_cast<unsigned>(kept[i]) > from) {
      syscall(SYS_close_range, from, static_cast<unsigned>(kept[i]) - 1, 0U);
    }
    from = static_cast<unsigned>(kept[i]) + 1;
  }
  syscall(SYS_close_range, from, ~0U, 0U);
}

// In the forked keeper (SpawnPlan::keeper): leads the group, keeps nothing
// of this process's open but what the program is to get, forks the program
// and ends as it did. Async-signal-safe calls only.
[[noreturn]] void Keep(const SpawnPlan& plan, char* const* argv,
                       char* const* envp, pid_t parent, StartReport& report) {
  setpgid(0, 0);
  for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
  struct sigaction end {};
  end.sa_handler = EndGroup;
  sigaction(SIGTERM, &end, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (const pid_t now = getppid(); now != parent && now != 0) EndGroup(0);
  int kept[8];
  int count = 0;
  for (int i = 0; i < plan.fd_count; ++i) kept[count++] = plan.fds[i];
  kept[count++] = plan.dir;
  kept[count++] = plan.join_cgroup;
  kept[count++] = report.child_end();
  std::sort(kept, kept + count);
  CloseAllBut(kept, count);
  const pid_t keeper = getpid();
  const pid_t child = fork();
  if (child < 0) report.Fail(StartStep::kKeeper, errno);
  if (child == 0) StartChild(plan, argv, envp, keeper, report);
  report.Handed();
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) _exit(127);
  }
  if (WIFSIGNALED(status)) {
    signal(WTERMSIG(status), SIG_DFL);
    raise(WTERMSIG(status));
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 127);
}

// The pointers exec takes, into `words`, ending in a null.
std::vector<char*> Pointers(const std::vector<std::string>& words) {
  std::vector<char*> out;
  out.reserve(words.size() + 1);
  for (const std::string& w : words)
    out.push_back(const_cast<char*>(w.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

Status Spawn(const SpawnPlan& plan, pid_t* pid) {
  if (plan.argv.empty() || plan.fd_count < 0 || plan.fd_count > 5) {
    return Status::Invalid("nothing to start");
  }
  const std::vector<char*> argv = Pointers(plan.argv);
  const std::vector<char*> envp =
      plan.env ? Pointers(*plan.env) : std::vector<char*>{};
  StartReport report;
  if (Status s = report.Open(); !s.ok()) return s;
  const pid_t parent = getpid();
  const pid_t child = ForkFlushed();
  if (child < 0) return Status::FromErrno("fork", errno);
  if (child == 0) {
    char* const* env = plan.env ? envp.data() : environ;
    if (plan.keeper) Keep(plan, argv.data(), env, parent, report);
    StartChild(plan, argv.data(), env, parent, report);
  }
  setpgid(child, child);  // either side may be first
  if (Status s = report.Wait(argv[0]); !s.ok()) {
    while (waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
    return s;
  }
  *pid = child;
  return Status::Ok();
}

std::string ExitWords(int status) {
  if (WIFEXITED(status)) {
    return fmt::format("exited with status {}", WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return fmt::format("was killed by {}{}", SignalName(WTERMSIG(status)),
                       WCOREDUMP(status) ? " (core dumped)" : "");
  }
  return "ended";
}

}  // namespace ticketsim
