// The throwaway PostgreSQL server: it starts, takes only its own password,
// listens where it is told, stops without a trace, and one left behind by a
// ticketsim killed outright is stopped and removed by the next cleanup.
#include "storage/pg_server.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

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
  EXPECT_NE(server.conninfo().find("host='127.0.0.1'"), std::string::npos);
  EXPECT_EQ(Query(server.conninfo(), "SELECT inet_server_addr()::text"),
            "127.0.0.1/32");
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

// A ticketsim killed outright: its server gets the parent-death signal and
// may still be shutting down when the next run's cleanup comes. The cleanup
// finds the run's lock free, waits for (or stops) the server its pid file
// names, and removes the System V segment it kept and the directory.
TEST(PgServerTest, AServerLeftByAKilledRunIsStoppedByTheNextCleanup) {
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  const pid_t owner = fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    close(report[0]);
    PgServer* server = new PgServer;  // never stopped: the owner is killed
    if (!server->Start({}).ok()) _exit(1);
    const std::string line =
        std::to_string(server->pid()) + " " + server->names().dir + "\n";
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
  int postmaster = 0;
  char dir[900] = {};
  ASSERT_EQ(sscanf(buf, "%d %899s", &postmaster, dir), 2) << buf;
  kill(owner, SIGKILL);
  waitpid(owner, nullptr, 0);
  const std::string pid_file =
      testing::ReadFile(std::string(dir) + "/pg/data/postmaster.pid");
  int segment = -1;
  long long key = 0;
  {
    // Line 7: the System V segment's key and id.
    size_t at = 0;
    for (int line = 0; line < 6 && at != std::string::npos; ++line) {
      at = pid_file.find('\n', at);
      if (at != std::string::npos) ++at;
    }
    ASSERT_NE(at, std::string::npos);
    ASSERT_EQ(sscanf(pid_file.c_str() + at, "%lld %d", &key, &segment), 2);
  }

  const std::vector<std::string> removed = CleanLeftovers(/*all=*/false);
  EXPECT_FALSE(Running(postmaster));
  EXPECT_FALSE(Exists(dir));
  bool listed = false;
  for (const std::string& path : removed) listed |= path == dir;
  EXPECT_TRUE(listed);
  shmid_ds info{};
  EXPECT_NE(shmctl(segment, IPC_STAT, &info), 0) << "segment " << segment;
}

}  // namespace
}  // namespace ticketsim
