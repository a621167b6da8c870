#include "storage/pg_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/random.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/fd.h"
#include "base/spawn.h"
#include "storage/pg_connect.h"

namespace ticketsim {
namespace {

constexpr const char* kRole = "ticketsim";
constexpr int kSocketOnlyPort = 5432;  // then it only names the socket file
// How many ports are tried when another process takes the one picked.
constexpr int kPortTries = 3;
// How long initdb and the server's start may take before ticketsim gives
// up: a loaded machine is slow, a broken installation never finishes.
constexpr int64_t kStartLimitNs = int64_t{120} * 1000000000;
// How long an immediate shutdown may take before the server is killed
// (then its System V segment is removed by ticketsim).
constexpr int64_t kStopLimitNs = int64_t{2} * 1000000000;
// How long one connection may take while the server starts.
constexpr int64_t kStartConnectLimitMs = 10000;
// ticketsim's record of the server, in the run directory.
constexpr const char* kRecordName = "pg.server";

// pidfds through syscall(2): glibc 2.36's <sys/pidfd.h> declares its
// wrappers without C linkage.
int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0U));
}

void PidfdSignal(int pidfd, int sig) {
  syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0U);
}

// Who runs the server: nobody else when this process is not root; as root,
// the unprivileged "postgres" user (PostgreSQL refuses to run as root).
struct ServerUser {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

Status FindServerUser(ServerUser* out) {
  out->uid = geteuid();
  out->gid = getegid();
  if (geteuid() != 0) return Status::Ok();
  const passwd* pw = getpwnam("postgres");
  if (pw == nullptr || pw->pw_uid == 0) {
    return Status::Environment(
        "PostgreSQL refuses to run as root, and there is no user \"postgres\" "
        "to run it as: install the Debian package postgresql (it makes that "
        "user), run ticketsim as another user, or set store.url");
  }
  out->switch_user = true;
  out->uid = pw->pw_uid;
  out->gid = pw->pw_gid;
  return Status::Ok();
}

// A server command: the program and its arguments, where it runs, where its
// output goes.
struct Command {
  std::vector<std::string> argv;
  std::string dir;  // its working directory
  int out_fd = -1;  // stdout and stderr; -1: /dev/null
  // Sent to it should ticketsim die (the server's: SIGQUIT, its immediate
  // shutdown).
  int death_signal = SIGKILL;
  bool keeper = false;  // SpawnPlan::keeper
};

// Starts `command` as `user` with a plain environment (no PG* variable of the
// caller's steers the server) and stdin from /dev/null; sets *pid.
Status StartCommand(const Command& command, const ServerUser& user,
                    pid_t* pid) {
  const Fd dir(open(command.dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) {
    return Status::FromErrno(fmt::format("open {}", command.dir), errno);
  }
  SpawnPlan plan;
  plan.argv = command.argv;
  plan.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C"};
  plan.dir = dir.get();
  plan.fds[1] = plan.fds[2] = command.out_fd;
  plan.fd_count = 3;
  plan.death_signal = command.death_signal;
  plan.keeper = command.keeper;
  if (user.switch_user) plan.user = SpawnPlan::User{user.uid, user.gid};
  if (Status s = Spawn(plan, pid); !s.ok()) {
    return Status::Environment(fmt::format("{} could not be started: {}",
                                           command.argv[0], s.message()));
  }
  return Status::Ok();
}

// Waits for child `pid` (and kills the process group it leads, if `group`,
// when it does not end) until `deadline` and as the wait watch allows;
// sets *status. Timeout if it was still running at the deadline, the
// watch's status if that stopped the wait (it is then killed and reaped).
Status WaitFor(pid_t pid, bool group, int64_t deadline, int* status) {
  for (;;) {
    const pid_t got = waitpid(pid, status, WNOHANG);
    if (got == pid) return Status::Ok();
    if (got < 0 && errno != EINTR) {
      *status = 0;
      return Status::Ok();  // reaped by someone else: it has ended
    }
    Status s = MonotonicNs() >= deadline ? Status::Timeout("took too long")
                                         : PgWaitNap(2000000);
    if (!s.ok()) {
      kill(group ? -pid : pid, SIGKILL);
      waitpid(pid, status, 0);
      return s;
    }
  }
}

// The last lines of a log, for a message (a line each): what the server
// said when it failed.
std::string TailOf(const std::string& path, size_t lines = 6) {
  FILE* f = fopen(path.c_str(), "re");
  if (f == nullptr) return "";
  std::vector<std::string> kept;
  char line[1024];
  while (fgets(line, sizeof line, f) != nullptr) {
    std::string text = ServerLines(line);
    if (text.empty()) continue;
    kept.push_back(std::move(text));
    if (kept.size() > lines) kept.erase(kept.begin());
  }
  fclose(f);
  std::string out;
  for (const std::string& text : kept) out += "\n" + text;
  return out;
}

// Runs `argv` to its end and keeps what it printed on stdout (at most 4 KiB).
Status Capture(const std::vector<std::string>& argv, std::string* out) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return Status::FromErrno("make a pipe", errno);
  }
  pid_t pid = -1;
  Status started = StartCommand({argv, "/", pipe_fds[1]}, ServerUser{}, &pid);
  close(pipe_fds[1]);
  if (!started.ok()) {
    close(pipe_fds[0]);
    return started;
  }
  char buf[4096];
  size_t got = 0;
  ssize_t n;
  while (got < sizeof buf &&
         (n = read(pipe_fds[0], buf + got, sizeof buf - got)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    got += static_cast<size_t>(n);
  }
  close(pipe_fds[0]);
  int status = 0;
  Status s =
      WaitFor(pid, false, MonotonicNs() + 10 * int64_t{1000000000}, &status);
  if (s.code() == Status::Code::kTimeout) {
    return Status::IOError(fmt::format("{} took too long", argv[0]));
  }
  if (!s.ok()) return s;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::IOError(fmt::format("{} {}", argv[0], ExitWords(status)));
  }
  out->assign(buf, got);
  while (!out->empty() && (out->back() == '\n' || out->back() == ' ')) {
    out->pop_back();
  }
  return Status::Ok();
}

bool Executable(const std::string& path) {
  return access(path.c_str(), X_OK) == 0;
}

// The directory holding initdb and postgres.
Status FindBinDir(const std::string& given, std::string* out) {
  if (!given.empty()) {
    if (!Executable(given + "/initdb") || !Executable(given + "/postgres")) {
      return Status::Invalid(fmt::format(
          "store.postgres_bin: {} holds no initdb and postgres", given));
    }
    *out = given;
    return Status::Ok();
  }
  std::string pg_config;
  const char* path = getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
  while (pg_config.empty()) {
    const size_t colon = dirs.find(':');
    const std::string dir(dirs.substr(0, colon));
    if (!dir.empty() && Executable(dir + "/pg_config")) {
      pg_config = dir + "/pg_config";
    }
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  if (pg_config.empty()) {
    return Status::Environment(
        "PostgreSQL is not installed: no pg_config in PATH (Debian: apt-get "
        "install postgresql libpq-dev), or set store.postgres_bin or "
        "store.url");
  }
  std::string bin;
  Status s = Capture({pg_config, "--bindir"}, &bin);
  if (!s.ok()) return Status::Environment(s.message());
  if (!Executable(bin + "/initdb") || !Executable(bin + "/postgres")) {
    return Status::Environment(fmt::format(
        "no PostgreSQL server in {} (pg_config --bindir): install the Debian "
        "package postgresql, or set store.postgres_bin or store.url",
        bin));
  }
  *out = bin;
  return Status::Ok();
}

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  size_t got = 0;
  while (got < bytes) {
    const ssize_t n = getrandom(raw.data() + got, bytes - got, 0);
    if (n <= 0) continue;  // EINTR
    got += static_cast<size_t>(n);
  }
  std::string out;
  for (unsigned char c : raw) out += fmt::format("{:02x}", c);
  return out;
}

// A free TCP port on `address`, found by binding port 0 there.
Status FreePort(const std::string& address, int* port) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(address.c_str(), "0", &hints, &found) != 0) {
    return Status::Invalid(
        fmt::format("store.listen: \"{}\" is not an IP address", address));
  }
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  Status s;
  if (fd < 0 || bind(fd, found->ai_addr, found->ai_addrlen) != 0) {
    s = Status::Environment(fmt::format("store.listen: cannot listen on {}: {}",
                                        address, strerror(errno)));
  } else {
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    *port = ntohs(bound.ss_family == AF_INET6
                      ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                      : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }
  if (fd >= 0) close(fd);
  freeaddrinfo(found);
  return s;
}

// Writes a file in a directory the server's user owns: a name it planted
// (a link to another file) is refused, not written through.
Status WriteFile(const std::string& path, const std::string& text, int flags,
                 const ServerUser& user) {
  const int fd = open(
      path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | flags, 0600);
  if (fd < 0) return Status::FromErrno(fmt::format("write {}", path), errno);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
      (st.st_uid != geteuid() && st.st_uid != user.uid)) {
    close(fd);
    return Status::IOError(
        fmt::format("write {}: not the server's file", path));
  }
  const bool ok =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int err = errno;
  if (user.switch_user) (void)!fchown(fd, user.uid, user.gid);
  close(fd);
  if (!ok) return Status::FromErrno(fmt::format("write {}", path), err);
  return Status::Ok();
}

// A new file for a child's output, given to the server's user.
Status CreateLog(const std::string& path, const ServerUser& user, int* fd) {
  *fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (*fd < 0) return Status::FromErrno(fmt::format("create {}", path), errno);
  if (user.switch_user) (void)!fchown(*fd, user.uid, user.gid);
  return Status::Ok();
}

std::string ReadLink(const std::string& path) {
  char buf[4096];
  const ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

// A process's state letter and start time (clock ticks since boot), from
// /proc/<pid>/stat; false if there is no such process.
bool StatOf(pid_t pid, char* state, unsigned long long* start_time) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  FILE* f = fopen(path, "re");
  if (f == nullptr) return false;
  char buf[1024];
  const size_t got = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[got] = '\0';
  // After the name, which may hold anything: "S ppid pgrp ..." (field 3);
  // the start time is field 22.
  const char* paren = strrchr(buf, ')');
  if (paren == nullptr) return false;
  return sscanf(paren + 1,
                " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
                "%*d %*d %*d %*d %llu",
                state, start_time) == 2;
}

// The real uid a process runs as, or -1.
uid_t UidOf(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(pid));
  FILE* f = fopen(path, "re");
  if (f == nullptr) return static_cast<uid_t>(-1);
  char line[256];
  unsigned uid = static_cast<unsigned>(-1);
  while (fgets(line, sizeof line, f) != nullptr) {
    if (sscanf(line, "Uid: %u", &uid) == 1) break;
  }
  fclose(f);
  return static_cast<uid_t>(uid);
}

// The inodes of the sockets listening on TCP port `port` (any address).
std::set<unsigned long> ListenersOn(int port) {
  std::set<unsigned long> inodes;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    FILE* f = fopen(table, "re");
    if (f == nullptr) continue;
    char line[512];
    while (fgets(line, sizeof line, f) != nullptr) {
      // "sl local:port remote:port st ... uid timeout inode"
      unsigned local_port = 0, state = 0;
      unsigned long inode = 0;
      if (sscanf(line,
                 " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*x:%*x %*x:%*x "
                 "%*x %*u %*u %lu",
                 &local_port, &state, &inode) == 3 &&
          state == 0x0A && static_cast<int>(local_port) == port) {
        inodes.insert(inode);
      }
    }
    fclose(f);
  }
  return inodes;
}

// The inodes of the sockets process `pid` holds open.
std::set<unsigned long> SocketsOf(pid_t pid) {
  std::set<unsigned long> inodes;
  const std::string fds = fmt::format("/proc/{}/fd", pid);
  DIR* dir = opendir(fds.c_str());
  if (dir == nullptr) return inodes;
  while (const dirent* entry = readdir(dir)) {
    unsigned long inode = 0;
    if (sscanf(ReadLink(fds + "/" + entry->d_name).c_str(), "socket:[%lu]",
               &inode) == 1) {
      inodes.insert(inode);
    }
  }
  closedir(dir);
  return inodes;
}

// A System V segment, as /proc/sysvipc/shm lists it.
struct Segment {
  long long key = 0;
  int id = -1;
  pid_t creator = 0;
  uid_t owner = 0;
  uid_t creator_uid = 0;
};

std::vector<Segment> Segments() {
  std::vector<Segment> out;
  FILE* f = fopen("/proc/sysvipc/shm", "re");
  if (f == nullptr) return out;
  char line[512];
  while (fgets(line, sizeof line, f) != nullptr) {
    // key shmid perms size cpid lpid nattch uid gid cuid cgid ...
    Segment s;
    unsigned uid = 0, cuid = 0;
    if (sscanf(line, " %lld %d %*o %*u %d %*d %*u %u %*u %u", &s.key, &s.id,
               &s.creator, &uid, &cuid) == 5) {
      s.owner = uid;
      s.creator_uid = cuid;
      out.push_back(s);
    }
  }
  fclose(f);
  return out;
}

// The key of the segment process `pid` of user `uid` made, or -1.
long long SegmentKeyOf(pid_t pid, uid_t uid) {
  for (const Segment& s : Segments()) {
    if (s.creator == pid && s.creator_uid == uid) return s.key;
  }
  return -1;
}

// What ticketsim knows of a server it started.
struct ServerRecord {
  pid_t pid = -1;
  unsigned long long start_time = 0;
  uid_t uid = 0;
  long long key = -1;
};

// Removes the segments the recorded server made: made by that very pid,
// owned by its user, with the key it had at start. (A server that crashed
// and started over makes its new segment with the same key.)
void RemoveSegments(const ServerRecord& record) {
  if (record.pid <= 0 || record.key < 0) return;
  for (const Segment& s : Segments()) {
    if (s.creator != record.pid || s.key != record.key ||
        s.owner != record.uid || s.creator_uid != record.uid) {
      continue;
    }
    // Looked at again by its id, just before it goes.
    shmid_ds info{};
    if (shmctl(s.id, IPC_STAT, &info) == 0 && info.shm_cpid == record.pid &&
        static_cast<long long>(info.shm_perm.__key) == record.key &&
        info.shm_perm.uid == record.uid && info.shm_perm.cuid == record.uid) {
      shmctl(s.id, IPC_RMID, nullptr);
    }
  }
}

bool WriteRecord(const std::string& path, const ServerRecord& record) {
  const std::string text = fmt::format(
      "{} {} {} {}\n", record.pid, record.start_time, record.uid, record.key);
  const int fd = open(
      path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const bool ok =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return ok;
}

// The record in the run directory `run_dir`, if it is ticketsim's own: a
// regular file of this user's.
bool ReadRecord(int run_dir, ServerRecord* record) {
  const int fd =
      openat(run_dir, kRecordName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  char buf[256] = {};
  const bool ours = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                    st.st_uid == geteuid() && read(fd, buf, sizeof buf - 1) > 0;
  close(fd);
  int pid = 0;
  unsigned uid = 0;
  if (!ours || sscanf(buf, "%d %llu %u %lld", &pid, &record->start_time, &uid,
                      &record->key) != 4) {
    return false;
  }
  record->pid = pid;
  record->uid = uid;
  return pid > 1;
}

// Whether the process of `pidfd` ended within `ns`.
bool AwaitExit(int pidfd, int64_t ns) {
  pollfd p{pidfd, POLLIN, 0};
  const int64_t deadline = MonotonicNs() + ns;
  for (int64_t left = ns; left > 0; left = deadline - MonotonicNs()) {
    const int n = poll(&p, 1, static_cast<int>((left + 999999) / 1000000));
    if (n == 1) return true;
    if (n < 0 && errno != EINTR) return true;  // no such process
  }
  return false;
}

// Shuts a server down: an immediate shutdown (SIGQUIT; SIGCONT, should it
// be stopped), then SIGKILL if it lingers. Through its pidfd: a reused pid
// is never signalled.
void EndProcess(int pidfd) {
  PidfdSignal(pidfd, SIGQUIT);
  PidfdSignal(pidfd, SIGCONT);
  if (!AwaitExit(pidfd, kStopLimitNs)) {
    PidfdSignal(pidfd, SIGKILL);
    AwaitExit(pidfd, kStopLimitNs);
  }
}

// Makes the server's directory, its user's alone; as root, the run
// directory becomes passable (not readable) for that user.
Status MakeServerDir(const RunNames& names, const ServerUser& user) {
  const std::string pg_dir = names.File("pg");
  // The socket's path must fit in sockaddr_un (107 bytes).
  if (pg_dir.size() + sizeof("/.s.PGSQL.65535") > 107) {
    return Status::Environment(fmt::format(
        "the server's socket path {}/.s.PGSQL.{} is too long for a Unix "
        "socket: set TMPDIR to a shorter directory",
        pg_dir, kSocketOnlyPort));
  }
  // Through the run directory's checked descriptor, never by a path that
  // another user could have pointed elsewhere.
  int run_dir = -1;
  if (Status s = OpenRunDirectory(names, &run_dir); !s.ok()) return s;
  Status s;
  if (mkdirat(run_dir, "pg", 0700) != 0) {
    s = Status::FromErrno(fmt::format("create {}", pg_dir), errno);
  } else if (user.switch_user && (fchmod(run_dir, 0711) != 0 ||
                                  fchownat(run_dir, "pg", user.uid, user.gid,
                                           AT_SYMLINK_NOFOLLOW) != 0)) {
    s = Status::FromErrno(fmt::format("hand {} to user postgres", pg_dir),
                          errno);
  }
  close(run_dir);
  return s;
}

// Makes the cluster in <pg_dir>/data with initdb (under a keeper, until
// `deadline` and as the wait watch allows): its one role, with `password`,
// reached over TCP too if `tcp`.
Status InitCluster(const std::string& bin_dir, const std::string& pg_dir,
                   const std::string& password, bool tcp,
                   const ServerUser& user, int64_t deadline) {
  const std::string pwfile = pg_dir + "/password";
  Status s = WriteFile(pwfile, password + "\n", O_EXCL, user);
  if (!s.ok()) return s;
  const std::string log = pg_dir + "/initdb.log";
  int log_fd = -1;
  if (s = CreateLog(log, user, &log_fd); !s.ok()) return s;
  const Command initdb{{bin_dir + "/initdb", "-D", pg_dir + "/data", "-U",
                        kRole, "--pwfile=" + pwfile, "-A", "scram-sha-256",
                        "-E", "UTF8", "--no-locale", "-N"},
                       pg_dir,
                       log_fd,
                       SIGKILL,
                       /*keeper=*/true};
  pid_t keeper = -1;
  s = StartCommand(initdb, user, &keeper);
  close(log_fd);
  if (!s.ok()) return s;
  int status = 0;
  s = WaitFor(keeper, /*group=*/true, deadline, &status);
  unlink(pwfile.c_str());
  if (s.code() == Status::Code::kTimeout) {
    return Status::Environment("initdb took too long" + TailOf(log));
  }
  if (!s.ok()) return s;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Environment(
        fmt::format("initdb {}{}", ExitWords(status), TailOf(log)));
  }
  if (!tcp) return Status::Ok();
  // Hosts reach it over TCP, with the password.
  return WriteFile(pg_dir + "/data/pg_hba.conf",
                   fmt::format("host all {0} 0.0.0.0/0 scram-sha-256\n"
                               "host all {0} ::/0 scram-sha-256\n",
                               kRole),
                   O_APPEND, user);
}

// The server: on `port` (which only names its socket file without
// `options.listen`), its output to `log_fd`.
Command ServerCommand(const std::string& bin_dir, const std::string& pg_dir,
                      int port, const PgServerOptions& options, int log_fd) {
  const auto setting = [](std::string_view name, const std::string& value) {
    return fmt::format("--{}={}", name, value);
  };
  return Command{
      {bin_dir + "/postgres", "-D", pg_dir + "/data", "-k", pg_dir, "-p",
       std::to_string(port), setting("listen_addresses", options.listen),
       // Nothing here needs to survive a crash of the machine.
       setting("fsync", "off"), setting("synchronous_commit", "off"),
       setting("full_page_writes", "off"),
       setting("max_connections", std::to_string(options.connections)),
       // A killed client's session (and its advisory locks) goes soon,
       // even while its backend is busy; a cut link's within seconds.
       setting("client_connection_check_interval", "200ms"),
       setting("tcp_keepalives_idle", "2"),
       setting("tcp_keepalives_interval", "1"),
       setting("tcp_keepalives_count", "3"),
       setting("tcp_user_timeout", "5000"),
       // Dynamic shared memory in the data directory, not in /dev/shm:
       // removed with it, whatever happened to the server.
       setting("dynamic_shared_memory_type", "mmap"),
       setting("unix_socket_permissions", "0700"),
       setting("shared_buffers", "16MB"), setting("autovacuum", "off"),
       setting("jit", "off"), setting("log_min_messages", "warning")},
      pg_dir,
      log_fd,
      SIGQUIT,
      /*keeper=*/false};
}

// Whether every socket listening on TCP port `port` (there is one at
// least) is one process `pid` holds.
bool OnlyListener(pid_t pid, int port) {
  const std::set<unsigned long> listeners = ListenersOn(port);
  const std::set<unsigned long> own = SocketsOf(pid);
  return !listeners.empty() &&
         std::includes(own.begin(), own.end(), listeners.begin(),
                       listeners.end());
}

}  // namespace

std::string ConninfoValue(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

bool PgServer::running() {
  Trouble();  // notes whether it ended
  return pidfd_ >= 0 && ended_.empty();
}

std::string PgServer::Trouble() {
  if (pidfd_ < 0 || !ended_.empty()) return ended_;
  pollfd p{pidfd_, POLLIN, 0};
  if (poll(&p, 1, 0) == 1) {
    // Reaped here, for how it ended, unless a sweep of children was first.
    siginfo_t info{};
    const bool known =
        waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_), &info,
               WEXITED | WNOHANG) == 0 &&
        info.si_pid != 0;
    ended_ = fmt::format(
        "the PostgreSQL server (pid {}) {}", pid_,
        !known ? "ended"
        : info.si_code == CLD_EXITED
            ? fmt::format("exited with status {}", info.si_status)
            : fmt::format("was killed by signal {}", info.si_status));
    return ended_;
  }
  char state = '?';
  unsigned long long start = 0;
  if (StatOf(pid_, &state, &start) && (state == 'T' || state == 't')) {
    return fmt::format("the PostgreSQL server (pid {}) was stopped (SIGSTOP)",
                       pid_);
  }
  return "";
}

Status PgServer::Start(const PgServerOptions& options) {
  Stop();
  options_ = options;
  std::string bin_dir;
  Status s = FindBinDir(options.bin_dir, &bin_dir);
  if (!s.ok()) return s;
  s = StartRun(&names_, &lease_);
  if (!s.ok()) return s;
  started_run_ = true;
  owner_ = getpid();
  s = StartIn(bin_dir);
  if (!s.ok()) Stop();
  return s;
}

Status PgServer::StartIn(const std::string& bin_dir) {
  const int64_t begin = MonotonicNs();
  ServerUser user;
  Status s = FindServerUser(&user);
  if (!s.ok()) return s;
  uid_ = user.uid;
  const std::string pg_dir = names_.File("pg");
  // The first port now, which also says whether store.listen is an
  // address: before initdb, not after.
  int port = kSocketOnlyPort;
  if (!options_.listen.empty()) {
    if (s = FreePort(options_.listen, &port); !s.ok()) return s;
  }
  password_ = RandomHex(12);
  s = MakeServerDir(names_, user);
  // initdb takes paths: they must still lead into the run's directory.
  if (s.ok()) s = CheckRunDirectory(names_);
  if (s.ok()) {
    s = InitCluster(bin_dir, pg_dir, password_, !options_.listen.empty(), user,
                    begin + kStartLimitNs);
  }
  int log_fd = -1;
  if (s.ok()) s = CreateLog(pg_dir + "/server.log", user, &log_fd);
  if (!s.ok()) return s;
  for (int tries = 1;; ++tries) {
    bool port_taken = false;
    s = Launch(bin_dir, port, log_fd, &port_taken);
    if (s.ok() || !port_taken || tries == kPortTries) break;
    EndServer();
    if (s = FreePort(options_.listen, &port); !s.ok()) break;
  }
  close(log_fd);
  if (!s.ok()) return s;
  // What the next cleanup trusts, should this process die.
  if (!WriteRecord(names_.File(kRecordName),
                   {pid_, start_time_, uid_, segment_key_})) {
    return Status::FromErrno(fmt::format("write {}", names_.File(kRecordName)),
                             errno);
  }
  start_up_ms_ = static_cast<double>(MonotonicNs() - begin) / 1e6;
  return Status::Ok();
}

Status PgServer::Launch(const std::string& bin_dir, int port, int log_fd,
                        bool* port_taken) {
  const std::string pg_dir = names_.File("pg");
  ServerUser user;
  if (Status s = FindServerUser(&user); !s.ok()) return s;
  ended_.clear();
  Status started = StartCommand(
      ServerCommand(bin_dir, pg_dir, port, options_, log_fd), user, &pid_);
  if (!started.ok()) {
    pid_ = -1;
    return started;
  }
  // Opened before anything can reap it: the pid is still the server's.
  pidfd_ = PidfdOpen(pid_);
  char state = '?';
  if (pidfd_ < 0 || !StatOf(pid_, &state, &start_time_)) {
    return Status::FromErrno("open the server's pidfd", errno);
  }
  const std::string base = fmt::format(
      "port={} dbname=postgres user={} password={} application_name=ticketsim",
      port, kRole, password_);
  conninfo_ = fmt::format("host={} {}", ConninfoValue(pg_dir), base);
  remote_conninfo_ = conninfo_;
  const std::string log = pg_dir + "/server.log";
  Status s = AwaitReady(log);
  // A server that could not bind its port says so in its log, and ends.
  *port_taken = !s.ok() && !ended_.empty() &&
                TailOf(log).find("Address already in use") != std::string::npos;
  if (!s.ok()) return s;
  segment_key_ = SegmentKeyOf(pid_, uid_);
  if (options_.listen.empty()) return s;
  // Up on its socket. Once it listens on its port no one else can: but
  // someone may have been first.
  if (!OnlyListener(pid_, port)) {
    *port_taken = true;
    return Status::Environment(fmt::format(
        "TCP port {} on {} is held by another process than the PostgreSQL "
        "server ticketsim started (pid {}): refused",
        port, options_.listen, pid_));
  }
  // Without TLS, so that every authentication request can be seen
  // (storage/pg_connect.h).
  remote_conninfo_ =
      fmt::format("host={} {} sslmode=disable gssencmode=disable",
                  ConninfoValue(options_.listen), base);
  return Status::Ok();
}

Status PgServer::AwaitReady(const std::string& log) {
  const char* keys[] = {"dbname", nullptr};
  const char* values[] = {conninfo_.c_str(), nullptr};
  const int64_t deadline = MonotonicNs() + kStartLimitNs;
  for (;;) {
    PGconn* db = nullptr;
    Status s = PgConnect(keys, values, kStartConnectLimitMs, &db);
    if (s.ok()) {
      PQfinish(db);
      return s;
    }
    if (const std::string trouble = Trouble(); !trouble.empty()) {
      return Status::Environment(trouble + TailOf(log));
    }
    if (Status w = PgWaitCheck(); !w.ok()) return w;
    if (MonotonicNs() > deadline) {
      return Status::Environment(fmt::format(
          "the PostgreSQL server did not accept connections within {} s{}",
          kStartLimitNs / 1000000000, TailOf(log)));
    }
    if (s = PgWaitNap(20000000); !s.ok()) return s;
  }
}

void PgServer::EndServer() {
  if (pidfd_ >= 0) {
    EndProcess(pidfd_);
    Trouble();  // reaps it
    close(pidfd_);
    pidfd_ = -1;
  }
  if (pid_ > 0) RemoveSegments({pid_, start_time_, uid_, segment_key_});
  pid_ = -1;
  ended_.clear();
  segment_key_ = -1;
}

void PgServer::Stop() {
  if (owner_ != getpid()) return;  // a forked child: not its server
  EndServer();
  if (started_run_) {
    RemoveRunObjects(names_, {});
    lease_.Release();
    started_run_ = false;
  }
  conninfo_.clear();
  remote_conninfo_.clear();
  password_.clear();
  owner_ = -1;
}

void StopServerLeftIn(int run_dir) {
  ServerRecord record;
  if (!ReadRecord(run_dir, &record)) return;
  // The pidfd first, then the check: if the pid was reused before it, the
  // check fails; after it, the pidfd still names the recorded process.
  const int pidfd = PidfdOpen(record.pid);
  if (pidfd >= 0) {
    char state = '?';
    unsigned long long start_time = 0;
    if (StatOf(record.pid, &state, &start_time) &&
        start_time == record.start_time && UidOf(record.pid) == record.uid) {
      EndProcess(pidfd);
    }
    close(pidfd);
  }
  RemoveSegments(record);
}

namespace {

// The shared server: made on first use and never destroyed with the
// process's statics, so that a forked child that calls exit() cannot stop
// it; the exit handler stops it in the process that started it only.
PgServer* shared_server = nullptr;

void StopAtExit() { StopThrowawayServer(); }

}  // namespace

Status UseThrowawayServer(const PgServerOptions& options, std::string* conninfo,
                          double* start_up_ms, std::string* remote_conninfo) {
  if (shared_server == nullptr) {
    shared_server = new PgServer;
    std::atexit(StopAtExit);
  }
  PgServer& server = *shared_server;
  const PgServerOptions& has = server.options();
  const bool fits = server.Trouble().empty() && server.running() &&
                    has.bin_dir == options.bin_dir &&
                    has.listen == options.listen &&
                    has.connections >= options.connections;
  *start_up_ms = -1;  // already up
  if (!fits) {
    PgServerOptions wanted = options;
    wanted.connections = std::max(wanted.connections, has.connections);
    Status s = server.Start(wanted);
    if (!s.ok()) return s;
    *start_up_ms = server.start_up_ms();
  }
  *conninfo = server.conninfo();
  if (remote_conninfo != nullptr) *remote_conninfo = server.remote_conninfo();
  return Status::Ok();
}

void StopThrowawayServer() {
  if (shared_server != nullptr) shared_server->Stop();
}

pid_t ThrowawayServerPid() {
  return shared_server != nullptr && shared_server->running()
             ? shared_server->pid()
             : -1;
}

std::string ThrowawayServerTrouble() {
  return shared_server != nullptr ? shared_server->Trouble() : "";
}

pid_t ReapChild(int* status) {
  for (;;) {
    // Looked at first, not reaped: it may be the server's.
    siginfo_t info{};
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (info.si_pid == 0) {
      // Running children, but perhaps only the server: then none of ours.
      if (ThrowawayServerPid() > 0 && Children(ThrowawayServerPid()).empty()) {
        errno = ECHILD;
        return -1;
      }
      return 0;
    }
    if (info.si_pid == ThrowawayServerPid()) {
      (void)ThrowawayServerTrouble();  // reaps it, and keeps how it ended
      continue;
    }
    const pid_t pid = waitpid(info.si_pid, status, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    return pid;
  }
}

}  // namespace ticketsim
