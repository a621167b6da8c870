#include "storage/pg_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/prctl.h>
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
#include <string_view>
#include <vector>

namespace ticketsim {
namespace {

constexpr const char* kRole = "ticketsim";
constexpr int kSocketPort = 5432;  // only names the socket file
// How long initdb and the server's start may take before ticketsim gives
// up: a loaded machine is slow, a broken installation never finishes.
constexpr int64_t kStartLimitNs = int64_t{120} * 1000000000;
// How long an immediate shutdown may take before the server is killed.
constexpr int64_t kStopLimitNs = int64_t{10} * 1000000000;

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

void Nap(int64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1000000000),
              static_cast<long>(ns % 1000000000)};
  nanosleep(&ts, nullptr);
}

// Who runs the server: nobody else when this process is not root; as root,
// the unprivileged "postgres" user (PostgreSQL refuses to run as root).
struct ServerUser {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

Status FindServerUser(ServerUser* out) {
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

// What a child runs: the program, its arguments, where its output goes.
struct Command {
  std::vector<std::string> argv;
  std::string dir;  // its working directory
  int out_fd = -1;  // stdout and stderr; -1: /dev/null
  bool own_group = false;
  bool die_with_parent = false;  // SIGQUIT when ticketsim dies
};

// In the child, after fork: only async-signal-safe calls, then exec.
[[noreturn]] void ExecChild(const Command& command,
                            const std::vector<char*>& argv,
                            const std::vector<char*>& env,
                            const ServerUser& user, pid_t parent) {
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
  if (command.own_group) setpgid(0, 0);
  const int null = open("/dev/null", O_RDWR);
  const int out = command.out_fd >= 0 ? command.out_fd : null;
  if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) {
    _exit(127);
  }
  syscall(SYS_close_range, 3U, ~0U, 0U);
  if (user.switch_user) {
    if (setgroups(0, nullptr) != 0 || setgid(user.gid) != 0 ||
        setuid(user.uid) != 0) {
      _exit(126);
    }
  }
  // After the switch: a change of user clears the parent-death signal.
  if (command.die_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGQUIT);
    if (getppid() != parent) _exit(127);
  }
  if (chdir(command.dir.c_str()) != 0) _exit(127);
  execve(argv[0], argv.data(), env.data());
  _exit(127);
}

// Starts `command` as a child; returns its pid, or -1 with errno set.
pid_t Spawn(const Command& command, const ServerUser& user) {
  std::vector<char*> argv;
  for (const std::string& word : command.argv) {
    argv.push_back(const_cast<char*>(word.c_str()));
  }
  argv.push_back(nullptr);
  // A plain environment: no PG* variable of the caller's steers the server.
  static char kPath[] = "PATH=/usr/local/bin:/usr/bin:/bin";
  static char kLang[] = "LC_ALL=C";
  std::vector<char*> env = {kPath, kLang, nullptr};
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) ExecChild(command, argv, env, user, parent);
  return pid;
}

// Waits for child `pid` until `deadline`; sets *status. False if it is still
// running at the deadline (it is then killed and reaped).
bool WaitUntil(pid_t pid, int64_t deadline, int* status) {
  for (;;) {
    const pid_t got = waitpid(pid, status, WNOHANG);
    if (got == pid) return true;
    if (got < 0 && errno != EINTR) {
      *status = 0;
      return true;  // reaped by someone else: it has ended
    }
    if (NowNs() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, status, 0);
      return false;
    }
    Nap(2000000);
  }
}

std::string ExitWords(int status) {
  if (WIFEXITED(status)) {
    if (WEXITSTATUS(status) == 127) return "could not be started";
    if (WEXITSTATUS(status) == 126) return "could not switch to user postgres";
    return fmt::format("exited with status {}", WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return fmt::format("was killed by signal {}", WTERMSIG(status));
  }
  return "ended";
}

// The last lines of a log, for a message: what the server said when it
// failed.
std::string TailOf(const std::string& path, size_t lines = 6) {
  FILE* f = fopen(path.c_str(), "re");
  if (f == nullptr) return "";
  std::vector<std::string> kept;
  char line[1024];
  while (fgets(line, sizeof line, f) != nullptr) {
    std::string text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
      text.pop_back();
    }
    if (text.empty()) continue;
    kept.push_back(std::move(text));
    if (kept.size() > lines) kept.erase(kept.begin());
  }
  fclose(f);
  std::string out;
  for (const std::string& text : kept) out += "\n  " + text;
  return out;
}

// Runs `argv` to its end and keeps what it printed on stdout (at most 4 KiB).
Status Capture(const std::vector<std::string>& argv, std::string* out) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return Status::FromErrno("make a pipe", errno);
  }
  Command command{argv, "/", pipe_fds[1], false, false};
  const pid_t pid = Spawn(command, ServerUser{});
  const int err = errno;
  close(pipe_fds[1]);
  if (pid < 0) {
    close(pipe_fds[0]);
    return Status::FromErrno("fork", err);
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
  WaitUntil(pid, NowNs() + 10 * int64_t{1000000000}, &status);
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

Status WriteFile(const std::string& path, const std::string& text, int flags,
                 const ServerUser& user) {
  const int fd = open(
      path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | flags, 0600);
  if (fd < 0) return Status::FromErrno(fmt::format("write {}", path), errno);
  const bool ok =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int err = errno;
  if (user.switch_user) (void)!fchown(fd, user.uid, user.gid);
  close(fd);
  if (!ok) return Status::FromErrno(fmt::format("write {}", path), err);
  return Status::Ok();
}

// A line of the pid file a server keeps in its data directory.
std::vector<std::string> PidFileLines(int dir, const char* name) {
  std::vector<std::string> lines;
  const int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return lines;
  char buf[2048];
  const ssize_t got = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (got <= 0) return lines;
  std::string_view text(buf, static_cast<size_t>(got));
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    lines.emplace_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

std::string ReadLink(const std::string& path) {
  char buf[4096];
  const ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

// Whether `pid` runs: a zombie has ended, whoever is to reap it.
bool Alive(pid_t pid) {
  if (kill(pid, 0) != 0 && errno != EPERM) return false;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  FILE* f = fopen(path, "re");
  if (f == nullptr) return false;
  char buf[512];
  const size_t got = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[got] = '\0';
  const char* paren = strrchr(buf, ')');
  return paren == nullptr || paren[1] == '\0' || paren[2] != 'Z';
}

// Removes the System V segment a server that was killed outright left,
// named on line 7 of its pid file ("key id"), if nobody is attached.
void RemoveSegment(const std::vector<std::string>& lines) {
  if (lines.size() < 7) return;
  long long key = 0;
  int id = -1;
  if (sscanf(lines[6].c_str(), "%lld %d", &key, &id) != 2 || id < 0) return;
  shmid_ds info{};
  if (shmctl(id, IPC_STAT, &info) != 0) return;
  if (static_cast<long long>(info.shm_perm.__key) == key &&
      info.shm_nattch == 0) {
    shmctl(id, IPC_RMID, nullptr);
  }
}

// Makes the server's directory `name` in the run directory, through the
// run directory's checked descriptor (never by a path that another user
// could have pointed elsewhere): mode 0700, handed to the server's user
// when it is another, who may then pass through the run directory (0711)
// but not list it.
Status MakeServerDirectory(const RunNames& names, const char* name,
                           const ServerUser& user) {
  const std::string path = names.File(name);
  int run_dir = -1;
  if (Status s = OpenRunDirectory(names, &run_dir); !s.ok()) return s;
  Status s;
  if (mkdirat(run_dir, name, 0700) != 0) {
    s = Status::FromErrno(fmt::format("create {}", path), errno);
  } else if (user.switch_user && (fchmod(run_dir, 0711) != 0 ||
                                  fchownat(run_dir, name, user.uid, user.gid,
                                           AT_SYMLINK_NOFOLLOW) != 0)) {
    s = Status::FromErrno(fmt::format("hand {} to user postgres", path), errno);
  }
  close(run_dir);
  return s;
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

bool PgServer::running() const { return pid_ > 0 && Alive(pid_); }

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
  const int64_t begin = NowNs();
  ServerUser user;
  Status s = FindServerUser(&user);
  if (!s.ok()) return s;
  const std::string pg_dir = names_.File("pg");
  const std::string data_dir = pg_dir + "/data";
  // The socket's path must fit in sockaddr_un (107 bytes).
  if (pg_dir.size() + sizeof("/.s.PGSQL.5432") > 107) {
    return Status::Environment(fmt::format(
        "the server's socket path {}/.s.PGSQL.5432 is too long for a Unix "
        "socket: set TMPDIR to a shorter directory",
        pg_dir));
  }
  s = MakeServerDirectory(names_, "pg", user);
  if (!s.ok()) return s;
  int port = kSocketPort;
  if (!options_.listen.empty()) {
    s = FreePort(options_.listen, &port);
    if (!s.ok()) return s;
  }
  const std::string password = RandomHex(12);
  const std::string pwfile = pg_dir + "/password";
  s = WriteFile(pwfile, password + "\n", O_EXCL, user);
  if (!s.ok()) return s;

  const std::string initdb_log = pg_dir + "/initdb.log";
  const int initdb_out =
      open(initdb_log.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (initdb_out < 0) {
    return Status::FromErrno(fmt::format("create {}", initdb_log), errno);
  }
  if (user.switch_user) (void)!fchown(initdb_out, user.uid, user.gid);
  Command initdb{
      {bin_dir + "/initdb", "-D", data_dir, "-U", kRole, "--pwfile=" + pwfile,
       "-A", "scram-sha-256", "-E", "UTF8", "--no-locale", "-N"},
      pg_dir,
      initdb_out,
      /*own_group=*/true,
      /*die_with_parent=*/false};
  // initdb takes paths: they must still lead into the run's directory.
  s = CheckRunDirectory(names_);
  if (!s.ok()) {
    close(initdb_out);
    return s;
  }
  pid_t pid = Spawn(initdb, user);
  const int spawn_err = errno;
  close(initdb_out);
  if (pid < 0) return Status::FromErrno("fork initdb", spawn_err);
  int status = 0;
  const bool ended = WaitUntil(pid, begin + kStartLimitNs, &status);
  unlink(pwfile.c_str());
  if (!ended || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Environment(
        fmt::format("initdb {}{}", ended ? ExitWords(status) : "took too long",
                    TailOf(initdb_log)));
  }

  if (!options_.listen.empty()) {
    // Hosts reach it over TCP, with the password.
    s = WriteFile(data_dir + "/pg_hba.conf",
                  fmt::format("host all {0} 0.0.0.0/0 scram-sha-256\n"
                              "host all {0} ::/0 scram-sha-256\n",
                              kRole),
                  O_APPEND, user);
    if (!s.ok()) return s;
  }

  const std::string log = pg_dir + "/server.log";
  const int log_fd =
      open(log.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (log_fd < 0)
    return Status::FromErrno(fmt::format("create {}", log), errno);
  if (user.switch_user) (void)!fchown(log_fd, user.uid, user.gid);
  const auto setting = [](std::string_view name, const std::string& value) {
    return fmt::format("--{}={}", name, value);
  };
  Command server{
      {bin_dir + "/postgres", "-D", data_dir, "-k", pg_dir, "-p",
       std::to_string(port), setting("listen_addresses", options_.listen),
       // Nothing here needs to survive a crash of the machine.
       setting("fsync", "off"), setting("synchronous_commit", "off"),
       setting("full_page_writes", "off"),
       setting("max_connections", std::to_string(options_.connections)),
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
      /*own_group=*/true,
      /*die_with_parent=*/true};
  pid_ = Spawn(server, user);
  const int server_err = errno;
  close(log_fd);
  if (pid_ < 0) {
    pid_ = -1;
    return Status::FromErrno("fork postgres", server_err);
  }

  const std::string host = options_.listen.empty() ? pg_dir : options_.listen;
  conninfo_ = fmt::format(
      "host={} port={} dbname=postgres user={} password={} "
      "application_name=ticketsim",
      ConninfoValue(host), port, kRole, password);
  for (;;) {
    if (PQping(conninfo_.c_str()) == PQPING_OK) break;
    const pid_t got = waitpid(pid_, &status, WNOHANG);
    if (got == pid_ || (got < 0 && errno == ECHILD)) {
      pid_ = -1;
      return Status::Environment(
          fmt::format("the PostgreSQL server {}{}",
                      got == pid_ ? ExitWords(status) : "ended", TailOf(log)));
    }
    if (NowNs() - begin > kStartLimitNs) {
      return Status::Environment(fmt::format(
          "the PostgreSQL server did not accept connections within {} s{}",
          kStartLimitNs / 1000000000, TailOf(log)));
    }
    Nap(5000000);
  }
  start_up_ms_ = static_cast<double>(NowNs() - begin) / 1e6;
  return Status::Ok();
}

void PgServer::Stop() {
  if (owner_ != getpid()) return;  // a forked child: not its server
  if (pid_ > 0) {
    // Immediate shutdown: the data goes with the directory anyway.
    kill(pid_, SIGQUIT);
    int status = 0;
    if (!WaitUntil(pid_, NowNs() + kStopLimitNs, &status)) {
      // WaitUntil killed it; its System V segment may be left.
      int dir = -1;
      if (OpenRunDirectory(names_, &dir).ok()) {
        RemoveSegment(PidFileLines(dir, "pg/data/postmaster.pid"));
        close(dir);
      }
    }
    pid_ = -1;
  }
  if (started_run_) {
    RemoveRunObjects(names_, {});
    lease_.Release();
    started_run_ = false;
  }
  conninfo_.clear();
  owner_ = -1;
}

void StopServerLeftIn(int run_dir) {
  const std::vector<std::string> lines =
      PidFileLines(run_dir, "pg/data/postmaster.pid");
  if (lines.size() < 2) return;
  char* end = nullptr;
  const long pid = strtol(lines[0].c_str(), &end, 10);
  if (end == lines[0].c_str() || *end != '\0' || pid <= 1) return;
  // Only a postgres process working in that very data directory: the pid
  // may have been reused since.
  const std::string proc = fmt::format("/proc/{}", pid);
  const std::string exe = ReadLink(proc + "/exe");
  const std::string base = exe.substr(exe.rfind('/') + 1);
  char* data_dir = realpath(lines[1].c_str(), nullptr);
  const bool same_dir =
      data_dir != nullptr && ReadLink(proc + "/cwd") == data_dir;
  free(data_dir);
  if (base.rfind("postgres", 0) != 0 || !same_dir) {
    RemoveSegment(lines);
    return;
  }
  const pid_t server = static_cast<pid_t>(pid);
  kill(server, SIGQUIT);
  int64_t deadline = NowNs() + kStopLimitNs;
  while (Alive(server) && NowNs() < deadline) Nap(5000000);
  if (Alive(server)) {
    kill(server, SIGKILL);
    deadline = NowNs() + kStopLimitNs;
    while (Alive(server) && NowNs() < deadline) Nap(5000000);
  }
  RemoveSegment(lines);
}

namespace {

// The shared server: made on first use and never destroyed with the
// process's statics, so that a forked child that calls exit() cannot stop
// it; the exit handler stops it in the process that started it only.
PgServer* shared_server = nullptr;

void StopAtExit() { StopThrowawayServer(); }

}  // namespace

Status UseThrowawayServer(const PgServerOptions& options, std::string* conninfo,
                          double* start_up_ms) {
  if (shared_server == nullptr) {
    shared_server = new PgServer;
    std::atexit(StopAtExit);
  }
  PgServer& server = *shared_server;
  const PgServerOptions& has = server.options();
  const bool fits = server.running() && has.bin_dir == options.bin_dir &&
                    has.listen == options.listen &&
                    has.connections >= options.connections;
  if (fits) {
    *conninfo = server.conninfo();
    *start_up_ms = -1;
    return Status::Ok();
  }
  PgServerOptions wanted = options;
  wanted.connections = std::max(wanted.connections, has.connections);
  Status s = server.Start(wanted);
  if (!s.ok()) return s;
  *conninfo = server.conninfo();
  *start_up_ms = server.start_up_ms();
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

}  // namespace ticketsim
