#include "sim/children.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "storage/pg_server.h"

namespace ticketsim {

std::vector<pid_t> Children() {
  std::vector<pid_t> out;
  const pid_t self = getpid();
  const pid_t server = ThrowawayServerPid();
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* entry = readdir(proc)) {
    char* end = nullptr;
    const long pid = strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == server) continue;
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

// "ticketsim: cannot DOING OBJECT: REASON" on stderr, with write(2) alone.
[[noreturn]] void ExitCannot(const char* doing, const char* object, int err) {
  const char* what = strerror(err);
  (void)!write(2, "ticketsim: cannot ", 18);
  (void)!write(2, doing, strlen(doing));
  (void)!write(2, object, strlen(object));
  (void)!write(2, ": ", 2);
  (void)!write(2, what, strlen(what));
  (void)!write(2, "\n", 1);
  _exit(127);
}

}  // namespace

void ExitExecFailed(const char* program, int err) {
  ExitCannot("execute ", program, err);
}

void ExitChildFailed(const char* doing, int err) { ExitCannot(doing, "", err); }

}  // namespace ticketsim
