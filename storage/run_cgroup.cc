#include "storage/run_cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "base/spawn.h"

namespace ticketsim {
namespace {

// Cgroup trees nest deeper than a run's directory (systemd's reach six or
// seven levels); deeper than this is nothing a run made.
constexpr int kMaxCgroupDepth = 32;
// How long a killed cgroup may take to empty before it is left for the
// next cleanup.
constexpr int kEmptyWaitMs = 10000;
// How long the watch may take to go once told.
constexpr int kWatchEndMs = 2000;

// A field of /proc/self/mountinfo with its octal escapes ("\040" for a
// blank) undone.
std::string Unescape(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const std::string octal = field.substr(i + 1, 3);
      if (octal.find_first_not_of("01234567") == std::string::npos) {
        out += static_cast<char>(std::stoi(octal, nullptr, 8));
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

// The first cgroup v2 mount this process sees: its root within the
// hierarchy and its mount point. False if there is none.
bool FindCgroup2(std::string* root, std::string* point) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // "id parent major:minor root point options [tags...] - type source ..."
    std::istringstream words(line);
    std::vector<std::string> fields;
    for (std::string w; words >> w;) fields.push_back(w);
    size_t dash = 0;
    while (dash < fields.size() && fields[dash] != "-") ++dash;
    if (dash < 5 || dash + 1 >= fields.size()) continue;
    if (fields[dash + 1] != "cgroup2") continue;
    *root = Unescape(fields[3]);
    *point = Unescape(fields[4]);
    return true;
  }
  return false;
}

// This process's cgroup directory in the v2 hierarchy; "" with *why set
// if it has none this process can reach.
std::string OwnCgroupDir(std::string* why) {
  std::string root, point;
  if (!FindCgroup2(&root, &point)) {
    *why = "no cgroup v2 hierarchy is mounted";
    return "";
  }
  std::ifstream in("/proc/self/cgroup");
  std::string line, path;
  while (std::getline(in, line)) {
    if (line.starts_with("0::")) path = line.substr(3);
  }
  if (path.empty() || path.ends_with(" (deleted)")) {
    *why = "this process has no place in the cgroup v2 hierarchy";
    return "";
  }
  if (root != "/") {
    if (!path.starts_with(root)) {
      *why = fmt::format("its cgroup {} lies outside the mount at {}", path,
                         point);
      return "";
    }
    path = path.substr(root.size());
  }
  while (path.ends_with("/")) path.pop_back();
  return point + path;
}

// SIGKILLs every process in the open cgroup directory `dir`.
void KillAt(int dir) {
  const int fd = openat(dir, "cgroup.kill", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)!write(fd, "1", 1);
  close(fd);
}

// Waits up to `ms` for the open cgroup directory `dir` to hold no live
// process (a zombie is not one); true once it holds none. Only system
// calls: a forked watch runs it too.
bool WaitEmpty(int dir, int ms) {
  const int events = openat(dir, "cgroup.events", O_RDONLY | O_CLOEXEC);
  if (events < 0) return false;
  timespec start{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  bool empty = false;
  for (;;) {
    char buf[256];
    const ssize_t got = pread(events, buf, sizeof buf - 1, 0);
    if (got <= 0) break;
    buf[got] = '\0';
    if (strstr(buf, "populated 0") != nullptr) {
      empty = true;
      break;
    }
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const long spent = (now.tv_sec - start.tv_sec) * 1000 +
                       (now.tv_nsec - start.tv_nsec) / 1000000;
    if (spent >= ms) break;
    // The kernel signals a change of cgroup.events as POLLPRI.
    pollfd p{events, POLLPRI, 0};
    poll(&p, 1, static_cast<int>(std::min<long>(ms - spent, 100)));
  }
  close(events);
  return empty;
}

// The watch, in a forked child: waits on its socket; end-of-file without a
// byte means the run's process died without removing the cgroup, so it
// kills it, waits for it to empty and removes it. In a session of its own,
// deaf to every signal it can be, with nothing of the run open but these.
[[noreturn]] void Watch(int link, int parent, int dir, const char* name) {
  setsid();
  prctl(PR_SET_NAME, "ticketsim watch");
  for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_IGN);
  const int keep[3] = {fcntl(link, F_DUPFD, 10), fcntl(parent, F_DUPFD, 10),
                       fcntl(dir, F_DUPFD, 10)};
  const int null_fd = open("/dev/null", O_RDWR);
  for (int i = 0; i < 3; ++i) dup2(null_fd, i);
  for (int i = 0; i < 3; ++i) dup2(keep[i], 3 + i);
  close_range(6, ~0U, 0);
  char byte = 0;
  ssize_t n;
  do {
    n = read(3, &byte, 1);
  } while (n < 0 && errno == EINTR);
  if (n == 1) _exit(0);
  KillAt(5);
  WaitEmpty(5, kEmptyWaitMs);
  unlinkat(4, name, AT_REMOVEDIR);
  _exit(0);
}

// 0 if a child of this process can join the cgroup through `procs`, else
// the errno it got: the kernel asks for more than write access to the file
// (write access to the common ancestor's too, in a delegated subtree).
int CheckJoin(int procs) {
  const pid_t pid = ForkFlushed();
  if (pid < 0) return errno;
  if (pid == 0) _exit(write(procs, "0", 1) == 1 ? 0 : errno);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : EPERM;
}

// Removes the cgroups under the open directory `dir` (at `path`) that this
// uid owns and `ended` names, depth first.
void CleanUnder(int dir, const std::string& path, int depth,
                const std::function<bool(std::string_view)>& ended,
                std::vector<std::string>* removed) {
  if (depth > kMaxCgroupDepth) return;
  DIR* d = fdopendir(dup(dir));
  if (d == nullptr) return;
  std::vector<std::string> subdirs;
  while (const dirent* entry = readdir(d)) {
    if (entry->d_type != DT_DIR) continue;
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") subdirs.emplace_back(name);
  }
  closedir(d);
  for (const std::string& name : subdirs) {
    const int sub = openat(dir, name.c_str(),
                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) continue;
    struct stat st;
    if (fstat(sub, &st) == 0 && st.st_uid == geteuid() && ended(name)) {
      KillAt(sub);
      if (WaitEmpty(sub, kEmptyWaitMs) &&
          unlinkat(dir, name.c_str(), AT_REMOVEDIR) == 0) {
        removed->push_back(fmt::format("{}/{}", path, name));
      }
    } else {
      CleanUnder(sub, fmt::format("{}/{}", path, name), depth + 1, ended,
                 removed);
    }
    close(sub);
  }
}

}  // namespace

Status RunCgroup::Create(const RunNames& names) {
  Remove();
  std::string why;
  const std::string own = OwnCgroupDir(&why);
  if (own.empty()) return Status::Unsupported(why);
  const auto fail = [&](std::string_view what, int err) {
    const Status s = Status::FromErrno(
        fmt::format("cgroup {}/{}: {}", own, names.tag, what), err);
    Remove();
    return s;
  };
  parent_ = open(own.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent_ < 0) return fail("open its parent", errno);
  name_ = names.tag;
  if (mkdirat(parent_, name_.c_str(), 0755) != 0) {
    const int err = errno;
    name_.clear();
    return fail("make it", err);
  }
  path_ = fmt::format("{}/{}", own, name_);
  dir_ = openat(parent_, name_.c_str(),
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir_ < 0) return fail("open it", errno);
  if (faccessat(dir_, "cgroup.kill", W_OK, 0) != 0) {
    return fail("cgroup.kill", errno);
  }
  procs_ = openat(dir_, "cgroup.procs", O_WRONLY | O_CLOEXEC);
  if (procs_ < 0) return fail("cgroup.procs", errno);
  if (const int err = CheckJoin(procs_); err != 0) return fail("join it", err);
  // A socket, not a pipe: the watch's end closes when it exits, which
  // Remove waits for, so that no watch outlives the run.
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return fail("socketpair", errno);
  }
  const pid_t middle = ForkFlushed();
  if (middle == 0) {
    // Its parent exits at once: the watch is nobody's child here.
    if (fork() == 0) Watch(fds[0], parent_, dir_, name_.c_str());
    _exit(0);
  }
  close(fds[0]);
  watch_ = fds[1];
  if (middle < 0) return fail("fork its watch", errno);
  while (waitpid(middle, nullptr, 0) < 0 && errno == EINTR) {
  }
  return Status::Ok();
}

void RunCgroup::Kill() {
  if (dir_ >= 0) KillAt(dir_);
}

void RunCgroup::Remove() {
  if (dir_ >= 0) {
    KillAt(dir_);
    if (WaitEmpty(dir_, kEmptyWaitMs)) {
      unlinkat(parent_, name_.c_str(), AT_REMOVEDIR);
    }
  } else if (parent_ >= 0 && !name_.empty()) {
    unlinkat(parent_, name_.c_str(), AT_REMOVEDIR);
  }
  if (watch_ >= 0) {
    // Removed (or left to the next cleanup): the watch has nothing to do,
    // and is gone once its end closes.
    if (write(watch_, "q", 1) == 1) {
      pollfd p{watch_, POLLIN, 0};
      char byte;
      while (poll(&p, 1, kWatchEndMs) > 0 && read(watch_, &byte, 1) > 0) {
      }
    }
    close(watch_);
  }
  for (int* fd : {&procs_, &dir_, &parent_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  watch_ = -1;
  name_.clear();
  path_.clear();
}

void CleanRunCgroups(const std::function<bool(std::string_view)>& ended,
                     std::vector<std::string>* removed) {
  std::string root, point;
  if (!FindCgroup2(&root, &point)) return;
  const int top = open(point.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (top < 0) return;
  CleanUnder(top, point, 0, ended, removed);
  close(top);
}

}  // namespace ticketsim
