#include "base/children.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace ticketsim {

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

void ExitExecFailed(const char* program, int err) {
  const char* what = strerror(err);
  (void)!write(2, "ticketsim: cannot execute ", 26);
  (void)!write(2, program, strlen(program));
  (void)!write(2, ": ", 2);
  (void)!write(2, what, strlen(what));
  (void)!write(2, "\n", 1);
  _exit(127);
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
    case StartStep::kExec:
      return fmt::format("executing {}", program);
  }
  return "starting";
}

// "Too many open files (EMFILE; ulimit -n is 24)".
std::string ErrorWords(int err, StartStep step) {
  const char* name = strerrorname_np(err);
  std::string words =
      fmt::format("{} ({}", strerror(err), name != nullptr ? name : "?");
  struct rlimit limit;
  if (err == EMFILE && getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    words += fmt::format("; ulimit -n is {}", limit.rlim_cur);
  }
  if (err == ENOENT && step == StartStep::kExec) {
    words += "; the interpreter its #! line names may be missing";
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
  return Status::Environment(fmt::format("{}: {}", StepWords(step, program),
                                         ErrorWords(failure.err, step)));
}

}  // namespace ticketsim
