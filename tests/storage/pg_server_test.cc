// The throwaway PostgreSQL server: it starts, takes only its own password,
// listens where it is told, stops without a trace, and one left behind by a
// ticketsim killed outright is stopped and removed by the next cleanup.
#include "storage/pg_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "storage/run_names.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

// Runs `sql` on a connection made with `conninfo`; returns the first value
// of the first row, or "error: ..." with the connection's message.
std::string Query(const std::string& conninfo, const std::string& sql) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  std::string out;
  if (PQstatus(conn) != CONNECTION_OK) {
    out = std::string("error: ") + PQerrorMessage(conn);
  } else {
    PGresult* res = PQexec(conn, sql.c_str());
    out = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0
              ? PQgetvalue(res, 0, 0)
              : std::string("error: ") + PQerrorMessage(conn);
    PQclear(res);
  }
  PQfinish(conn);
  return out;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// Whether `pid` is a process that has not ended (a zombie has).
bool Running(pid_t pid) {
  const std::string stat =
      testing::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() &&
         stat[paren + 2] != 'Z';
}

// The uid a process runs as.
uid_t UidOf(pid_t pid) {
  const std::string status =
      testing::ReadFile("/proc/" + std::to_string(pid) + "/status");
  const size_t at = status.find("Uid:");
  return at == std::string::npos
             ? static_cast<uid_t>(-1)
             : static_cast<uid_t>(std::stoul(status.substr(at + 4)));
}

TEST(PgServerTest, StartsTakesConnectionsAndLeavesNothingWhenStopped) {
  PgServer server;
  const Status s = server.Start({});
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_GT(server.start_up_ms(), 0);
  EXPECT_EQ(Query(server.conninfo(), "SELECT 40 + 2"), "42");
  EXPECT_EQ(Query(server.conninfo(), "SHOW fsync"), "off");
  EXPECT_EQ(Query(server.conninfo(), "SHOW client_connection_check_interval"),
            "200ms");
  // Unix socket only.
  EXPECT_EQ(Query(server.conninfo(), "SHOW listen_addresses"), "");
  const pid_t pid = server.pid();
  if (geteuid() == 0) {
    // PostgreSQL refuses root: it runs as the unprivileged postgres user.
    EXPECT_NE(UidOf(pid), 0u);
  }
  const std::string dir = server.names().dir;
  EXPECT_TRUE(Exists(dir + "/pg/data/PG_VERSION"));
  server.Stop();
  EXPECT_FALSE(Running(pid));
  EXPECT_FALSE(Exists(dir));
}

TEST(PgServerTest, TakesNoConnectionWithoutItsPassword) {
  PgServer server;
  ASSERT_TRUE(server.Start({}).ok());
  std::string without = server.conninfo();
  const size_t at = without.find("password=");
  ASSERT_NE(at, std::string::npos);
  without.erase(at, without.find(' ', at) - at);
  const std::string got = Query(without + " password='guess'", "SELECT 1");
  EXPECT_NE(got.find("password authentication failed"), std::string::npos)
      << got;
}

TEST(PgServerTest, ListensOnTheTcpAddressItIsGiven) {
  PgServer server;
  PgServerOptions options;
  options.listen = "127.0.0.1";
  const Status s = server.Start(options);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_NE(server.remote_conninfo().find("host='127.0.0.1'"),
            std::string::npos);
  EXPECT_EQ(Query(server.remote_conninfo(), "SELECT inet_server_addr()::text"),
            "127.0.0.1/32");
  // Processes on this machine use its socket.
  EXPECT_EQ(server.conninfo().find("127.0.0.1"), std::string::npos);
}

TEST(PgServerTest, NamesWhatIsWrongWithItsBinaries) {
  PgServer server;
  PgServerOptions options;
  options.bin_dir = "/nonexistent/bin";
  const Status s = server.Start(options);
  EXPECT_EQ(s.code(), Status::Code::kInvalid);
  EXPECT_NE(s.message().find("store.postgres_bin: /nonexistent/bin holds no "
                             "initdb and postgres"),
            std::string::npos)
      << s.message();
  options = {};
  options.listen = "not-an-address";
  EXPECT_EQ(server.Start(options).code(), Status::Code::kInvalid);
  EXPECT_FALSE(server.running());
}

TEST(PgServerTest, TheSharedServerIsStartedOnceAndAgainForMoreConnections) {
  std::string conninfo;
  double start_up_ms = 0;
  ASSERT_TRUE(UseThrowawayServer({}, &conninfo, &start_up_ms).ok());
  EXPECT_GT(start_up_ms, 0);
  const pid_t first = ThrowawayServerPid();
  ASSERT_TRUE(UseThrowawayServer({}, &conninfo, &start_up_ms).ok());
  EXPECT_EQ(start_up_ms, -1);  // already up
  EXPECT_EQ(ThrowawayServerPid(), first);
  PgServerOptions more;
  more.connections = 150;
  ASSERT_TRUE(UseThrowawayServer(more, &conninfo, &start_up_ms).ok());
  EXPECT_GT(start_up_ms, 0);
  EXPECT_EQ(Query(conninfo, "SHOW max_connections"), "150");
  StopThrowawayServer();
  EXPECT_EQ(ThrowawayServerPid(), -1);
  EXPECT_FALSE(Running(first));
}

// What ticketsim recorded of the server in run directory `dir` (pg.server:
// pid, start time, uid, the key of its System V segment).
struct Recorded {
  int pid = 0;
  unsigned long long start_time = 0;
  unsigned uid = 0;
  long long key = -1;
};
Recorded RecordIn(const std::string& dir) {
  Recorded r;
  sscanf(testing::ReadFile(dir + "/pg.server").c_str(), "%d %llu %u %lld",
         &r.pid, &r.start_time, &r.uid, &r.key);
  return r;
}

// The ids of the System V segments process `pid` made.
std::vector<int> SegmentsMadeBy(pid_t pid) {
  std::vector<int> ids;
  std::istringstream table(testing::ReadFile("/proc/sysvipc/shm"));
  std::string line;
  std::getline(table, line);  // the header
  while (std::getline(table, line)) {
    long long key = 0;
    int id = -1, creator = 0;
    if (sscanf(line.c_str(), " %lld %d %*o %*u %d", &key, &id, &creator) == 3 &&
        creator == pid) {
      ids.push_back(id);
    }
  }
  return ids;
}

// TMPDIR set to `dir` for the life of this: runs made meanwhile are seen by
// the cleanups of processes that share it only.
class ScopedTmpdir {
 public:
  explicit ScopedTmpdir(const std::string& dir) {
    if (const char* was = getenv("TMPDIR"); was != nullptr) was_ = was;
    had_ = getenv("TMPDIR") != nullptr;
    setenv("TMPDIR", dir.c_str(), 1);
  }
  ~ScopedTmpdir() {
    if (had_) {
      setenv("TMPDIR", was_.c_str(), 1);
    } else {
      unsetenv("TMPDIR");
    }
  }

 private:
  bool had_ = false;
  std::string was_;
};

// A ticketsim killed outright: its server gets the parent-death signal and
// may still be shutting down when the next run's cleanup comes. The cleanup
// finds the run's lock free, waits for (or stops) the server ticketsim
// recorded, and removes the System V segment it made and the directory.
// (In a TMPDIR of the test's own: a cleanup of another process, finding
// the run first, would do that work instead of the one tested here.)
TEST(PgServerTest, AServerLeftByAKilledRunIsStoppedByTheNextCleanup) {
  testing::TempDir tmp;
  chmod(tmp.path().c_str(), 0711);  // the server's user passes through
  const ScopedTmpdir private_tmp(tmp.path());
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  const pid_t owner = fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    close(report[0]);
    PgServer* server = new PgServer;  // never stopped: the owner is killed
    if (!server->Start({}).ok()) _exit(1);
    const std::string line = server->names().dir + "\n";
    (void)!write(report[1], line.data(), line.size());
    pause();
    _exit(0);
  }
  close(report[1]);
  char buf[1024] = {};
  size_t got = 0;
  ssize_t n;
  while ((n = read(report[0], buf + got, sizeof buf - 1 - got)) > 0) {
    got += static_cast<size_t>(n);
    if (buf[got - 1] == '\n') break;
  }
  close(report[0]);
  ASSERT_GT(got, 1u) << "the server did not start";
  const std::string dir(buf, got - 1);
  // ticketsim's own record, which the server's shutdown does not touch.
  const Recorded record = RecordIn(dir);
  ASSERT_GT(record.pid, 1);
  ASSERT_GE(record.key, 0);
  EXPECT_FALSE(SegmentsMadeBy(record.pid).empty());
  kill(owner, SIGKILL);
  waitpid(owner, nullptr, 0);

  const std::vector<std::string> removed = CleanLeftovers(/*all=*/false);
  EXPECT_FALSE(Running(record.pid));
  EXPECT_FALSE(Exists(dir));
  bool listed = false;
  for (const std::string& path : removed) listed |= path == dir;
  EXPECT_TRUE(listed);
  EXPECT_TRUE(SegmentsMadeBy(record.pid).empty());
}

}  // namespace
}  // namespace ticketsim

namespace ticketsim {
namespace {

// The processes whose working directory is under `dir`: a server's is its
// data directory.
std::vector<pid_t> ProcessesIn(const std::string& dir) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code error;
    const auto cwd = std::filesystem::read_symlink(entry.path() / "cwd", error);
    if (!error && cwd.string().rfind(dir, 0) == 0) {
      const pid_t pid = static_cast<pid_t>(std::stol(name));
      if (Running(pid)) out.push_back(pid);
    }
  }
  return out;
}

// ticketsim killed by SIGKILL in the middle of a postgres run: the next run
// stops the server it left (or finds it gone after its parent-death
// signal) and removes its directory.
TEST(PgServerTest, TheRunAfterAKilledPostgresRunRemovesItsServer) {
  testing::TempDir tmp;
  // The server's user passes through it (as root: user postgres).
  chmod(tmp.path().c_str(), 0711);
  const std::string slow = tmp.Write("slow.toml", R"(
[store]
kind = "postgres"
[buyers]
count = 2
think_ms = [60000, 60000]
)");
  const pid_t ticketsim = fork();
  ASSERT_GE(ticketsim, 0);
  if (ticketsim == 0) {
    setenv("TMPDIR", tmp.path().c_str(), 1);
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(TICKETSIM_BINARY, TICKETSIM_BINARY, "run", slow.c_str(), nullptr);
    _exit(127);
  }
  // Bounded: until the buyers think inside the run (its server up, the
  // table made, the buyers' connections open).
  std::vector<pid_t> server;
  for (int i = 0; i < 600; ++i) {
    server = ProcessesIn(tmp.path());
    if (server.size() >= 2 + 4) break;  // postmaster, 2 backends, helpers
    usleep(50000);
  }
  ASSERT_GE(server.size(), 6u) << "the run's server never came up";
  kill(ticketsim, SIGKILL);
  waitpid(ticketsim, nullptr, 0);

  const testing::Ran next = testing::RunTicketsimArgs(
      {"run",
       tmp.Write("next.toml",
                 "[store]\nkind = \"shm\"\n[buyers]\nmethod = \"atomic\"\n")},
      tmp.path());
  EXPECT_EQ(next.exit_code, 0) << next.out;
  EXPECT_TRUE(ProcessesIn(tmp.path()).empty());
  std::vector<std::string> left;
  for (const std::string& entry : tmp.Entries()) {
    if (entry.rfind("ticketsim.", 0) == 0) left.push_back(entry);
  }
  EXPECT_TRUE(left.empty()) << left.front();
}

// ticketsim started in the background with TMPDIR `tmp`, its stdout and
// stderr in the file `out` there. Killed, if still running, when this goes.
class Background {
 public:
  Background(const std::string& tmp, const std::vector<std::string>& args)
      : out_(tmp + "/out") {
    std::vector<std::string> words = {TICKETSIM_BINARY};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& word : words) argv.push_back(word.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      setenv("TMPDIR", tmp.c_str(), 1);
      const int out = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(out, 1);
      dup2(out, 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~Background() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  // Its exit code (128 + the signal that killed it), waiting at most
  // `limit_s` seconds; -1 if it was still running then (it is killed).
  int Wait(double limit_s) {
    const auto give_up = std::chrono::steady_clock::now() +
                         std::chrono::duration<double>(limit_s);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > give_up) return -1;
      usleep(5000);
    }
    pid_ = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string Output() const { return testing::ReadFile(out_); }

 private:
  const std::string out_;
  pid_t pid_ = 0;
};

// A process's parent, from /proc.
pid_t ParentOf(pid_t pid) {
  const std::string stat =
      testing::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  int parent = 0;
  if (paren != std::string::npos) {
    sscanf(stat.c_str() + paren + 1, " %*c %d", &parent);
  }
  return parent;
}

// Whether the command line of `pid` holds `word` as one of its arguments.
bool RunsWith(pid_t pid, const std::string& word) {
  const std::string cmdline =
      testing::ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  return ('\0' + cmdline).find('\0' + word + '\0') != std::string::npos ||
         cmdline.rfind(word, 0) == 0;
}

// Waits (at most two minutes) for the processes working under `dir` to
// include a child of `parent` and `backends` sessions of role ticketsim
// ("postgres: ticketsim ..."); returns that child, the server, or 0.
pid_t AwaitServer(const std::string& dir, pid_t parent, size_t backends) {
  for (int i = 0; i < 2400; ++i) {
    pid_t server = 0;
    size_t sessions = 0;
    for (pid_t pid : ProcessesIn(dir)) {
      if (ParentOf(pid) == parent) server = pid;
      const std::string cmdline =
          testing::ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
      if (cmdline.rfind("postgres: ticketsim ", 0) == 0) ++sessions;
    }
    if (server != 0 && sessions >= backends) return server;
    usleep(50000);
  }
  return 0;
}

// Waits (at most two minutes) for a process working under `dir` that runs
// with `word` among its arguments.
bool AwaitProcessWith(const std::string& dir, const std::string& word) {
  for (int i = 0; i < 2400; ++i) {
    for (pid_t pid : ProcessesIn(dir)) {
      if (RunsWith(pid, word)) return true;
    }
    usleep(50000);
  }
  return false;
}

// Waits (at most `limit_s` seconds) until no process works under `dir`.
bool AwaitNoProcessIn(const std::string& dir, double limit_s) {
  for (double waited = 0; waited < limit_s; waited += 0.05) {
    if (ProcessesIn(dir).empty()) return true;
    usleep(50000);
  }
  return ProcessesIn(dir).empty();
}

// A temporary directory the server's user may pass through (as root: user
// postgres), for TMPDIR.
struct ServerTmp {
  ServerTmp() { chmod(tmp.path().c_str(), 0711); }
  testing::TempDir tmp;
  const std::string& path() const { return tmp.path(); }
};

// Two buyers on the throwaway server, each waiting `delay_ms` between its
// query and its purchase (one atomic step each: no violation).
std::string SlowScenario(const ServerTmp& dir, int delay_ms,
                         const std::string& more = "") {
  return dir.tmp.Write("slow.toml",
                       fmt::format("[tickets]\ninitial = 10\n"
                                   "[store]\nkind = \"postgres\"\n{}\n"
                                   "[buyers]\ncount = 2\nattempts = 1\n"
                                   "method = \"atomic\"\n"
                                   "query_delay_ms = [{}, {}]\n",
                                   more, delay_ms, delay_ms));
}

// A directory of stand-ins for initdb and postgres (shell scripts, run as
// the server's user), for store.postgres_bin.
std::string FakeBinaries(const ServerTmp& dir, const std::string& initdb,
                         const std::string& postgres) {
  const std::string bin = dir.path() + "/bin";
  mkdir(bin.c_str(), 0755);
  for (const auto& [name, script] :
       {std::pair{"initdb", initdb}, std::pair{"postgres", postgres}}) {
    const std::string path = bin + "/" + name;
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fputs(("#!/bin/sh\n" + script + "\n").c_str(), f);
    std::fclose(f);
    chmod(path.c_str(), 0755);
  }
  return bin;
}

// The server of a run stops serving mid-run: the run failed (exit 3), it
// is no violation, and ticketsim says what happened to the server (or what
// its buyers saw of it, if they saw it first).
void ExpectTheRunFailsWhenTheServerGets(int sig, int delay_ms) {
  ServerTmp dir;
  Background ticketsim(dir.path(), {"run", SlowScenario(dir, delay_ms)});
  const pid_t server = AwaitServer(dir.path(), ticketsim.pid(), 2);
  ASSERT_NE(server, 0) << ticketsim.Output();
  kill(server, sig);
  const int code = ticketsim.Wait(120);
  kill(server, SIGCONT);
  const std::string out = ticketsim.Output();
  EXPECT_EQ(code, 3) << out;
  EXPECT_FALSE(testing::Has(out, "corrupt final state")) << out;
  EXPECT_TRUE(testing::Has(out, "the run failed")) << out;
  EXPECT_TRUE(testing::Has(out, "server")) << out;
  EXPECT_TRUE(AwaitNoProcessIn(dir.path(), 10));
  // Killed, it could not remove its System V segment: ticketsim did.
  EXPECT_TRUE(SegmentsMadeBy(server).empty());
}

TEST(PgServerTest, AServerKilledMidRunFailsTheRunAndLeavesNoSegment) {
  ExpectTheRunFailsWhenTheServerGets(SIGKILL, 60000);
}

// SIGTERM is a smart shutdown: the buyers' sessions go on, then the final
// read is refused ("the database system is shutting down").
TEST(PgServerTest, AServerShutDownMidRunFailsTheRun) {
  ExpectTheRunFailsWhenTheServerGets(SIGTERM, 2000);
}

// Stopped, the server answers no new connection: the run fails at once,
// not after each of its waits has run out.
TEST(PgServerTest, AServerStoppedMidRunFailsTheRun) {
  ExpectTheRunFailsWhenTheServerGets(SIGSTOP, 60000);
}

// The library's row-lock scenario, its buyers buying for longer than the
// run's 8 s limit, its server stopped (SIGSTOP) while they buy: the run
// fails (exit 3) naming the server, and ends by its own limit, not after
// each wait for the stopped server (final read, DROP, stop) has run out.
TEST(PgServerTest, AServerStoppedWhileBuyersBuyFailsTheRunByItsTimeLimit) {
  ServerTmp dir;
  Background ticketsim(
      dir.path(), {"run", testing::Library("37-pg-row-lock.toml"), "--attempts",
                   "1000000", "--set", "run.timeout_ms=8000"});
  const pid_t server = AwaitServer(dir.path(), ticketsim.pid(), 4);
  ASSERT_NE(server, 0) << ticketsim.Output();
  kill(server, SIGSTOP);
  // A bound, not a timing: three times the run's limit (it took 31 s).
  const int code = ticketsim.Wait(24);
  kill(server, SIGCONT);
  const std::string out = ticketsim.Output();
  EXPECT_EQ(code, 3) << out;
  EXPECT_TRUE(testing::Has(out, fmt::format("the PostgreSQL server (pid {}) "
                                            "was stopped (SIGSTOP)",
                                            server)))
      << out;
  EXPECT_FALSE(testing::Has(out, "corrupt final state")) << out;
  EXPECT_TRUE(AwaitNoProcessIn(dir.path(), 10));
  EXPECT_TRUE(SegmentsMadeBy(server).empty());
}

// An interrupt ends a run promptly whatever it waits for; returns how long
// it took from the interrupt to ticketsim's end, in ms, or -1.
double InterruptAndTime(Background* ticketsim) {
  const auto sent = std::chrono::steady_clock::now();
  kill(ticketsim->pid(), SIGINT);
  const int code = ticketsim->Wait(60);
  const double ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - sent)
                        .count();
  EXPECT_EQ(code, 130) << ticketsim->Output();
  return code == 130 ? ms : -1;
}

// initdb that never ends: SIGINT ends the run at once, and initdb with
// everything it started.
TEST(PgServerTest, AnInterruptDuringInitdbEndsTheRunAtOnce) {
  ServerTmp dir;
  const std::string bin =
      FakeBinaries(dir, "sleep 600 &\nexec sleep 601", "exit 1");
  Background ticketsim(
      dir.path(),
      {"run", SlowScenario(dir, 0, "postgres_bin = \"" + bin + "\"")});
  ASSERT_TRUE(AwaitProcessWith(dir.path(), "601")) << ticketsim.Output();
  const double ms = InterruptAndTime(&ticketsim);
  RecordProperty("interrupt_to_exit_ms", static_cast<int>(ms));
  std::fprintf(stderr, "interrupt during initdb: ended in %.0f ms\n", ms);
  EXPECT_TRUE(AwaitNoProcessIn(dir.path(), 10));
}

// A server that never answers: SIGINT ends the run at once.
TEST(PgServerTest, AnInterruptWhileTheServerDoesNotAnswerEndsTheRunAtOnce) {
  ServerTmp dir;
  const std::string bin = FakeBinaries(dir, "exit 0", "exec sleep 602");
  Background ticketsim(
      dir.path(),
      {"run", SlowScenario(dir, 0, "postgres_bin = \"" + bin + "\"")});
  ASSERT_TRUE(AwaitProcessWith(dir.path(), "602")) << ticketsim.Output();
  const double ms = InterruptAndTime(&ticketsim);
  RecordProperty("interrupt_to_exit_ms", static_cast<int>(ms));
  std::fprintf(stderr, "interrupt while the server does not answer: %.0f ms\n",
               ms);
  EXPECT_TRUE(AwaitNoProcessIn(dir.path(), 10));
}

// The scenario's own server (store.url) is stopped while the buyers wait:
// SIGINT ends the run within a second or so, though neither its final
// read nor the DROP of its table can be answered.
TEST(PgServerTest, AnInterruptWithAStoppedServerEndsTheRunWithinASecond) {
  PgServer server;
  ASSERT_TRUE(server.Start({}).ok());
  ServerTmp dir;
  const std::string scenario = dir.tmp.Write(
      "url.toml",
      "[tickets]\ninitial = 10\n[store]\nkind = \"postgres\"\n"
      "url = \"" +
          server.conninfo() +
          "\"\n[buyers]\ncount = 2\nattempts = 1\n"
          "method = \"atomic\"\nquery_delay_ms = [60000, 60000]\n");
  Background ticketsim(dir.path(), {"run", scenario});
  ASSERT_NE(AwaitServer(server.names().dir, getpid(), 2), 0)
      << ticketsim.Output();
  kill(server.pid(), SIGSTOP);
  const double ms = InterruptAndTime(&ticketsim);
  kill(server.pid(), SIGCONT);
  RecordProperty("interrupt_to_exit_ms", static_cast<int>(ms));
  std::fprintf(stderr, "interrupt with a stopped server: %.0f ms\n", ms);
  // A generous bound for a loaded machine; each wait of its own was 10 s.
  EXPECT_GE(ms, 0);
  EXPECT_LT(ms, 8000);
}

// initdb (and the bootstrap postgres it starts) never outlives a ticketsim
// killed outright.
TEST(PgServerTest, InitdbAndWhatItStartedDieWithAKilledTicketsim) {
  ServerTmp dir;
  const std::string bin =
      FakeBinaries(dir, "sleep 603 &\nexec sleep 604", "exit 1");
  Background ticketsim(
      dir.path(),
      {"run", SlowScenario(dir, 0, "postgres_bin = \"" + bin + "\"")});
  ASSERT_TRUE(AwaitProcessWith(dir.path(), "604")) << ticketsim.Output();
  ASSERT_TRUE(AwaitProcessWith(dir.path(), "603")) << ticketsim.Output();
  kill(ticketsim.pid(), SIGKILL);
  ticketsim.Wait(60);
  EXPECT_TRUE(AwaitNoProcessIn(dir.path(), 10));
  testing::RunTicketsimArgs({"clean"}, dir.path());
}

// Reads exactly `size` bytes from `fd`, waiting at most 10 s for each.
bool ReadExactly(int fd, void* into, size_t size) {
  auto* at = static_cast<char*>(into);
  while (size > 0) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) return false;
    const ssize_t n = read(fd, at, size);
    if (n <= 0) return false;
    at += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// One connection to the impostor: the client's startup (after refusing
// TLS and GSSAPI encryption), a request for the password in clear text,
// and the password, if the client sends it, written to `report`.
void ServeAsImpostor(int client, int report) {
  uint32_t length = 0, code = 0;
  for (;;) {
    if (!ReadExactly(client, &length, 4)) return;
    length = ntohl(length);
    if (length < 8 || length > 10000) return;
    std::string body(length - 4, '\0');
    if (!ReadExactly(client, body.data(), body.size())) return;
    std::memcpy(&code, body.data(), 4);
    code = ntohl(code);
    if (code != 80877103 && code != 80877104) break;  // SSLRequest, GSS
    (void)!write(client, "N", 1);
  }
  const unsigned char cleartext[] = {'R', 0, 0, 0, 8, 0, 0, 0, 3};
  (void)!write(client, cleartext, sizeof cleartext);
  char type = 0;
  if (!ReadExactly(client, &type, 1) || type != 'p') return;
  if (!ReadExactly(client, &length, 4)) return;
  length = ntohl(length);
  if (length < 5 || length > 10000) return;
  std::string password(length - 4, '\0');
  if (!ReadExactly(client, password.data(), password.size())) return;
  password = password.c_str();  // to its NUL
  password += '\n';
  (void)!write(report, password.data(), password.size());
}

// A process of another user (uid and gid 65534) listening on
// 127.0.0.1:`port` as if it were a PostgreSQL server; every password it
// is sent goes to the pipe `passwords()`. Killed when this goes.
class Impostor {
 public:
  explicit Impostor(int port) {
    int report[2], ready[2];
    if (pipe(report) != 0 || pipe(ready) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(report[0]);
      close(ready[0]);
      if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
          setresuid(65534, 65534, 65534) != 0) {
        _exit(1);
      }
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in at{};
      at.sin_family = AF_INET;
      at.sin_port = htons(static_cast<uint16_t>(port));
      at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0 ||
          listen(fd, 16) != 0) {
        _exit(1);
      }
      (void)!write(ready[1], "L", 1);
      for (;;) {
        const int client = accept(fd, nullptr, nullptr);
        if (client < 0) continue;
        ServeAsImpostor(client, report[1]);
        close(client);
      }
    }
    close(report[1]);
    close(ready[1]);
    char c = 0;
    listening_ = ReadExactly(ready[0], &c, 1);
    close(ready[0]);
    passwords_ = report[0];
  }
  ~Impostor() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (passwords_ >= 0) close(passwords_);
  }
  bool listening() const { return listening_; }
  // Every password it was sent so far, a line each.
  std::string Passwords() {
    fcntl(passwords_, F_SETFL, O_NONBLOCK);
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = read(passwords_, buf, sizeof buf)) > 0) out.append(buf, n);
    return out;
  }

 private:
  pid_t pid_ = -1;
  int passwords_ = -1;
  bool listening_ = false;
};

// A free TCP port on 127.0.0.1.
int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof at;
  bind(fd, reinterpret_cast<sockaddr*>(&at), size);
  getsockname(fd, reinterpret_cast<sockaddr*>(&at), &size);
  close(fd);
  return ntohs(at.sin_port);
}

// A scenario's own server that asks for the password in clear text is
// refused before libpq can send it: the run fails, the password kept.
TEST(PgConnectTest, AServerAskingForThePasswordInClearTextGetsNone) {
  if (geteuid() != 0) GTEST_SKIP() << "another user is made as root";
  const int port = FreeLoopbackPort();
  Impostor impostor(port);
  ASSERT_TRUE(impostor.listening());
  const testing::Ran ran = testing::RunTicketsimArgs(
      {"run", "--set", "store.kind=postgres", "--set",
       fmt::format("store.url=\"postgresql://ticketsim:SECRETPW8@127.0.0.1:{}"
                   "/postgres\"",
                   port)});
  EXPECT_EQ(ran.exit_code, 3) << ran.out;
  EXPECT_TRUE(testing::Has(ran.out, "in clear text")) << ran.out;
  EXPECT_EQ(impostor.Passwords(), "");
}

// The throwaway server's TCP port is free for a moment before the server
// takes it: another user who takes it then gets no connection with the
// password, and the run goes on with a server on another port.
TEST(PgServerTest, AnotherUserOnTheServersPortGetsNoPassword) {
  if (geteuid() != 0) GTEST_SKIP() << "another user is made as root";
  ServerTmp dir;
  const std::string sync = dir.path() + "/sync";
  mkdir(sync.c_str(), 0700);
  chmod(sync.c_str(), 0777);
  std::string real;
  {
    std::FILE* p = popen("pg_config --bindir", "r");
    char line[512] = {};
    if (p != nullptr && std::fgets(line, sizeof line, p) != nullptr) {
      real = line;
      while (!real.empty() && real.back() == '\n') real.pop_back();
    }
    if (p != nullptr) pclose(p);
  }
  ASSERT_FALSE(real.empty());
  // postgres says which port it was given, then waits for the go.
  const std::string bin = FakeBinaries(
      dir, "exec " + real + "/initdb \"$@\"",
      fmt::format("for a; do [ \"$prev\" = -p ] && port=$a; prev=$a; done\n"
                  "echo \"$port\" > {0}/port.$$\n"
                  "i=0; while [ ! -e {0}/go ] && [ $i -lt 2400 ]; do\n"
                  "  sleep 0.05; i=$((i+1)); done\n"
                  "exec {1}/postgres \"$@\"",
                  sync, real));
  Background ticketsim(dir.path(),
                       {"run", SlowScenario(dir, 0,
                                            "postgres_bin = \"" + bin +
                                                "\"\nlisten = \"127.0.0.1\"")});
  int port = 0;
  for (int i = 0; i < 2400 && port == 0; ++i) {
    for (const auto& entry : std::filesystem::directory_iterator(sync)) {
      port = std::atoi(testing::ReadFile(entry.path()).c_str());
    }
    if (port == 0) usleep(50000);
  }
  ASSERT_NE(port, 0) << ticketsim.Output();
  Impostor impostor(port);
  ASSERT_TRUE(impostor.listening());
  const int go = open((sync + "/go").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(go, 0);
  close(go);
  const int code = ticketsim.Wait(180);
  EXPECT_EQ(code, 0) << ticketsim.Output();
  EXPECT_EQ(impostor.Passwords(), "");
}

// The server's user may write anything in the server's files (its pid
// file names a pid, a data directory, a System V segment): `clean`, even
// as root, stops and removes only what ticketsim itself recorded.
TEST(PgServerTest, CleanTrustsNothingTheServersUserWrote) {
  if (geteuid() != 0) GTEST_SKIP() << "the server's user differs as root";
  const passwd* postgres = getpwnam("postgres");
  ASSERT_NE(postgres, nullptr);
  const uid_t uid = postgres->pw_uid;
  const gid_t gid = postgres->pw_gid;
  PgServer decoy;  // another server, of the same user
  ASSERT_TRUE(decoy.Start({}).ok());
  // A segment that is none of ticketsim's business, removed by the test
  // however it ends.
  struct Victim {
    ~Victim() {
      if (id >= 0) shmctl(id, IPC_RMID, nullptr);
    }
    int id = -1;
    key_t key = 0;
  } victim;
  for (int i = 0; victim.id < 0 && i < 100; ++i) {
    victim.key = static_cast<key_t>(0x7e570000 + ((getpid() + i) & 0xffff));
    victim.id = shmget(victim.key, 4096, IPC_CREAT | IPC_EXCL | 0600);
  }
  ASSERT_GE(victim.id, 0);
  ServerTmp dir;
  Background ticketsim(dir.path(), {"run", SlowScenario(dir, 60000)});
  ASSERT_NE(AwaitServer(dir.path(), ticketsim.pid(), 2), 0)
      << ticketsim.Output();
  kill(ticketsim.pid(), SIGKILL);
  ticketsim.Wait(60);
  // Its parent gone, the server shuts itself down.
  ASSERT_TRUE(AwaitNoProcessIn(dir.path(), 60));
  // The server's run directory (the run has one of its own too).
  std::string run;
  for (const std::string& entry : dir.tmp.Entries()) {
    const std::string path = dir.path() + "/" + entry;
    if (entry.rfind("ticketsim.", 0) == 0 && Exists(path + "/pg")) {
      run = path;
    }
  }
  ASSERT_FALSE(run.empty());
  const std::string pid_file = fmt::format(
      "{}\n{}/pg/data\n0\n5432\n{}/pg\n\n{} {}\n", decoy.pid(),
      decoy.names().dir, run, static_cast<long long>(victim.key), victim.id);
  const int wrote = testing::RunInChild([&] {
    if (setgroups(0, nullptr) != 0 || setresgid(gid, gid, gid) != 0 ||
        setresuid(uid, uid, uid) != 0) {
      return 1;
    }
    std::FILE* f = std::fopen((run + "/pg/data/postmaster.pid").c_str(), "w");
    if (f == nullptr) return 2;
    std::fputs(pid_file.c_str(), f);
    return std::fclose(f) == 0 ? 0 : 3;
  });
  ASSERT_EQ(wrote, 0);
  const testing::Ran clean = testing::RunTicketsimArgs({"clean"}, dir.path());
  EXPECT_EQ(clean.exit_code, 0) << clean.out;
  EXPECT_TRUE(Running(decoy.pid()));
  shmid_ds info{};
  EXPECT_EQ(shmctl(victim.id, IPC_STAT, &info), 0) << "segment " << victim.id;
  EXPECT_FALSE(Exists(run));
}

// The run directories (ticketsim.*) in `dir`.
std::vector<std::string> RunDirsIn(const ServerTmp& dir) {
  std::vector<std::string> runs;
  for (const std::string& entry : dir.tmp.Entries()) {
    if (entry.rfind("ticketsim.", 0) == 0) runs.push_back(entry);
  }
  return runs;
}

// ticketsim and its server both killed outright mid-run (SIGKILL, as
// someone else may send it: neither could clean up, the server's System V
// segment is left with the run's directories): `ticketsim clean` removes
// the segment and the directories.
TEST(PgServerTest, CleanRemovesTheSegmentOfAServerKilledWithItsRun) {
  ServerTmp dir;
  Background ticketsim(dir.path(), {"run", SlowScenario(dir, 60000)});
  const pid_t server = AwaitServer(dir.path(), ticketsim.pid(), 2);
  ASSERT_NE(server, 0) << ticketsim.Output();
  const pid_t run = ticketsim.pid();
  // Stopped first, ticketsim cannot see its server go and stop the run.
  kill(run, SIGSTOP);
  kill(server, SIGKILL);
  kill(run, SIGKILL);
  EXPECT_EQ(ticketsim.Wait(60), 128 + SIGKILL);
  // The server's backends see it gone and end; its segment stays.
  ASSERT_TRUE(AwaitNoProcessIn(dir.path(), 60));
  ASSERT_FALSE(SegmentsMadeBy(server).empty());
  ASSERT_FALSE(RunDirsIn(dir).empty());

  const testing::Ran clean = testing::RunTicketsimArgs({"clean"}, dir.path());
  EXPECT_EQ(clean.exit_code, 0) << clean.out;
  EXPECT_TRUE(SegmentsMadeBy(server).empty()) << clean.out;
  std::vector<std::string> left = RunDirsIn(dir);
  EXPECT_TRUE(left.empty()) << left.front();
  left = testing::LeftoversOf(run);  // its named objects
  EXPECT_TRUE(left.empty()) << left.front();
}

}  // namespace
}  // namespace ticketsim
