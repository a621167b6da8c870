// The PostgreSQL store, its guards and its lessons, against a throwaway
// server: the store's own steps on a server this test starts, and each
// library lesson's verdict through the real command line.
#include "storage/pg_store.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sim/scenario/scenario.h"
#include "storage/pg_server.h"
#include "tests/test_util.h"

namespace ticketsim::testing {
namespace {

// The report of one run of a library lesson, `trials` times. The runs use
// the default temporary directory: the throwaway server's user (postgres,
// as root) must reach its run directory there.
struct Lesson {
  Ran ran;
  nlohmann::json scenario;  // the JSON report's scenario
};

Lesson RunLesson(const std::string& file, int trials = 1) {
  TempDir dir;
  const std::string json = dir.path() + "/report.json";
  Lesson lesson;
  lesson.ran = RunTicketsimArgs({"run", Library(file), "--trials",
                                 std::to_string(trials), "--json", json});
  const nlohmann::json report = ReadJson(json);
  if (!report.is_discarded() && report.contains("scenarios")) {
    lesson.scenario = report["scenarios"][0];
  }
  return lesson;
}

bool HasViolation(const nlohmann::json& run, const std::string& kind) {
  for (const auto& v : run["violations"]) {
    if (v.dump().find(kind) != std::string::npos) return true;
  }
  return false;
}

// Given a program's scenario after a PostgreSQL one in the same command,
// the throwaway server (a child of ticketsim that serves the runs that
// follow) is not the program's: the program's run ends when the program
// does, not at its time limit, and the server is not killed with it.
TEST(PgLessonTest, AProgramsRunAfterAServersEndsWithTheProgram) {
  TempDir dir;
  const std::string json = dir.path() + "/report.json";
  const Ran ran =
      RunTicketsimArgs({"run", Library("33-pg-autocommit.toml"),
                        Library("28-program-shell-flock.toml"),
                        Library("40-pg-atomic.toml"), "--json", json});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_FALSE(Has(ran.out, "time limit")) << ran.out;
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded()) << ran.out;
  ASSERT_EQ(report["scenarios"].size(), 3u) << ran.out;
  EXPECT_EQ(report["scenarios"][1]["runs"][0]["run"]["timed_out"], false)
      << ran.out;
  EXPECT_TRUE(LeftoversOf(ran.pid).empty());
}

// Given read-modify-write in autocommit, the buyers (forced to overlap by
// their think time) write over each other's sales.
TEST(PgLessonTest, AutocommitLosesUpdates) {
  const Lesson l = RunLesson("33-pg-autocommit.toml");
  ASSERT_EQ(l.ran.exit_code, 0) << l.ran.out;
  EXPECT_TRUE(HasViolation(l.scenario["runs"][0], "lost update")) << l.ran.out;
  EXPECT_TRUE(LeftoversOf(l.ran.pid).empty());
}

// Given one READ COMMITTED transaction per purchase, updates are still lost.
TEST(PgLessonTest, ReadCommittedLosesUpdates) {
  const Lesson l = RunLesson("34-pg-read-committed.toml");
  ASSERT_EQ(l.ran.exit_code, 0) << l.ran.out;
  EXPECT_TRUE(HasViolation(l.scenario["runs"][0], "lost update")) << l.ran.out;
}

// Given REPEATABLE READ and no retries, the server refuses the later
// writers: serialization failures, and no violation.
TEST(PgLessonTest, RepeatableReadRefusesWithoutRetries) {
  const Lesson l = RunLesson("35-pg-repeatable-read.toml");
  ASSERT_EQ(l.ran.exit_code, 0) << l.ran.out;
  const nlohmann::json& run = l.scenario["runs"][0];
  EXPECT_TRUE(run["violations"].empty()) << l.ran.out;
  EXPECT_GT(run["purchases"]["serialization_failures"].get<int64_t>(), 0)
      << l.ran.out;
  EXPECT_TRUE(Has(l.ran.out, "serialization failure")) << l.ran.out;
}

// Given SERIALIZABLE with retries, every purchase goes through after its
// retries: no failure, no violation.
TEST(PgLessonTest, SerializableWithRetriesSellsEveryTicket) {
  const Lesson l = RunLesson("36-pg-serializable-retries.toml");
  ASSERT_EQ(l.ran.exit_code, 0) << l.ran.out;
  const nlohmann::json& run = l.scenario["runs"][0];
  EXPECT_TRUE(run["violations"].empty()) << l.ran.out;
  EXPECT_EQ(run["purchases"]["failed"], 0) << l.ran.out;
  EXPECT_EQ(run["purchases"]["confirmed"], 3) << l.ran.out;
  EXPECT_GT(run["purchases"]["retries"].get<int64_t>(), 0) << l.ran.out;
}

TEST(PgLessonTest, RowLockIsCorrect) {
  const Lesson l = RunLesson("37-pg-row-lock.toml", 2);
  ASSERT_EQ(l.ran.exit_code, 0) << l.ran.out;
  EXPECT_EQ(l.scenario["trials_with_violations"], 0) << l.ran.out;
}

TEST(PgLessonTest, AdvisoryLockIsCorrect) {
  const Lesson l = RunLesson("38-pg-advisory.toml", 2);
  ASSERT_EQ(l.ran.exit_code, 0) << l.ran.out;
  EXPECT_EQ(l.scenario["trials_with_violations"], 0) << l.ran.out;
}

// Given advisory-lock holders killed inside, the server frees each lock
// when it notices: some holder was killed, nothing was abandoned, the books
// balance.
TEST(PgLessonTest, AdvisoryLockOfAKilledHolderIsFreed) {
  const Lesson l = RunLesson("39-pg-advisory-killed-holder.toml", 5);
  ASSERT_EQ(l.ran.exit_code, 0) << l.ran.out;
  int64_t killed = 0;
  for (const auto& run : l.scenario["runs"]) {
    killed += run["faults"]["killed"].get<int64_t>();
    EXPECT_TRUE(run["violations"].empty()) << l.ran.out;
  }
  EXPECT_GT(killed, 0) << l.ran.out;
  EXPECT_FALSE(Has(l.ran.out, "abandoned lock")) << l.ran.out;
}

TEST(PgLessonTest, AtomicUpdateIsCorrect) {
  const Lesson l = RunLesson("40-pg-atomic.toml", 2);
  ASSERT_EQ(l.ran.exit_code, 0) << l.ran.out;
  EXPECT_EQ(l.scenario["trials_with_violations"], 0) << l.ran.out;
}

// The store alone, on a server of the test's own.
class PgStoreTest : public ::testing::Test {
 protected:
  // A server per test: nothing of a test may outlive it.
  void SetUp() override {
    server_ = new PgServer;
    const Status s = server_->Start(PgServerOptions{});
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void TearDown() override {
    server_->Stop();
    delete server_;
    server_ = nullptr;
  }
  StoreSpec Spec() const {
    StoreSpec spec;
    spec.kind = StoreKind::kPostgres;
    spec.conninfo = server_->conninfo();
    return spec;
  }
  // Whether `table` exists on the server.
  static bool TableExists(const std::string& table) {
    PGconn* db = PQconnectdb(server_->conninfo().c_str());
    const std::string sql =
        "SELECT 1 FROM pg_tables WHERE tablename = '" + table + "'";
    PGresult* r = PQexec(db, sql.c_str());
    const bool found = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
    PQclear(r);
    PQfinish(db);
    return found;
  }
  static PgServer* server_;
};
PgServer* PgStoreTest::server_ = nullptr;

// Create, read, write, take and destroy: the table comes and goes.
TEST_F(PgStoreTest, CreateReadWriteTakeDestroy) {
  ScopedRun run;
  PgStore store(Spec(), run.names());
  ASSERT_TRUE(store.Create(3).ok());
  EXPECT_TRUE(TableExists(store.table()));
  ASSERT_TRUE(store.Attach().ok());
  Reading reading;
  ASSERT_TRUE(store.Read(&reading).ok());
  EXPECT_EQ(reading.count, 3);
  ASSERT_TRUE(store.Write(2).ok());
  int64_t seat = 0;
  ASSERT_TRUE(store.TakeOne(&seat).ok());
  EXPECT_EQ(seat, 2);
  ASSERT_TRUE(store.TakeOne(&seat).ok());
  EXPECT_EQ(seat, 1);
  ASSERT_TRUE(store.TakeOne(&seat).ok());
  EXPECT_EQ(seat, 0);  // sold out
  EXPECT_TRUE(Has(store.Location(), store.table()));
  store.Detach();
  store.Destroy();
  EXPECT_FALSE(TableExists(store.table()));
}

// Two repeatable-read transactions write the same row: the second's
// UPDATE is refused with SQLSTATE 40001, which is Conflict.
TEST_F(PgStoreTest, SerializationFailureIsConflict) {
  ScopedRun run;
  PgStore a(Spec(), run.names());
  PgStore b(Spec(), run.names());
  ASSERT_TRUE(a.Create(10).ok());
  ASSERT_TRUE(a.Attach().ok());
  ASSERT_TRUE(b.Attach().ok());
  ASSERT_TRUE(a.Begin(PgIsolation::kRepeatableRead).ok());
  ASSERT_TRUE(b.Begin(PgIsolation::kRepeatableRead).ok());
  Reading ra, rb;
  ASSERT_TRUE(a.Read(&ra).ok());
  ASSERT_TRUE(b.Read(&rb).ok());
  ASSERT_TRUE(a.Write(ra.count - 1).ok());
  ASSERT_TRUE(a.Commit().ok());
  const Status s = b.Write(rb.count - 1);
  EXPECT_EQ(s.code(), Status::Code::kConflict) << s.ToString();
  EXPECT_TRUE(Has(s.message(), "40001")) << s.message();
  b.Rollback();
  a.Destroy();
}

// The row lock and the advisory lock, tried while another holds them,
// are refused at once (Timeout), and taken once given back.
TEST_F(PgStoreTest, LocksTriedWhileHeldAreRefused) {
  ScopedRun run;
  PgStore a(Spec(), run.names());
  PgStore b(Spec(), run.names());
  ASSERT_TRUE(a.Create(10).ok());
  ASSERT_TRUE(a.Attach().ok());
  ASSERT_TRUE(b.Attach().ok());
  ASSERT_TRUE(a.Begin(PgIsolation::kReadCommitted).ok());
  ASSERT_TRUE(a.LockRow(1000).ok());
  ASSERT_TRUE(b.Begin(PgIsolation::kReadCommitted).ok());
  EXPECT_EQ(b.LockRow(0).code(), Status::Code::kTimeout);
  EXPECT_FALSE(b.in_transaction());  // rolled back
  ASSERT_TRUE(a.Commit().ok());
  ASSERT_TRUE(b.Begin(PgIsolation::kReadCommitted).ok());
  EXPECT_TRUE(b.LockRow(0).ok());
  b.Rollback();
  ASSERT_TRUE(a.AdvisoryLock(1000).ok());
  EXPECT_EQ(b.AdvisoryLock(0).code(), Status::Code::kTimeout);
  EXPECT_EQ(b.AdvisoryLock(50).code(), Status::Code::kTimeout);
  ASSERT_TRUE(a.AdvisoryUnlock().ok());
  EXPECT_TRUE(b.AdvisoryLock(0).ok());
  EXPECT_TRUE(b.AdvisoryUnlock().ok());
  a.Destroy();
}

// A url no server answers: exit 3, a message that says what failed, and
// the password nowhere in it.
TEST(PgCliTest, BadUrlFailsTheRunWithoutShowingThePassword) {
  TempDir dir;
  const Ran ran = RunTicketsimArgs(
      {"run", "--set", "store.kind=postgres", "--set",
       "store.url=\"postgresql://ticketsim:s3cr3tpw@127.0.0.1:1/postgres\""});
  EXPECT_EQ(ran.exit_code, 3) << ran.out;
  EXPECT_TRUE(Has(ran.out, "could not connect to PostgreSQL")) << ran.out;
  EXPECT_FALSE(Has(ran.out, "s3cr3tpw")) << ran.out;
  EXPECT_TRUE(LeftoversOf(ran.pid).empty());
}

// A url libpq cannot parse is quoted whole in libpq's message; a url or
// conninfo quoted in ticketsim's own messages too: the password is masked
// in each, in the text, JSON and JUnit reports alike.
TEST(PgCliTest, AMalformedUrlsPasswordIsInNoReport) {
  TempDir dir;
  const std::string json = dir.path() + "/report.json";
  const std::string junit = dir.path() + "/report.xml";
  const Ran ran =
      RunTicketsimArgs({"run", "--set", "store.kind=postgres", "--set",
                        "store.url=\"postgresql://u:SECRETPW3@[::1:1/db\"",
                        "--json", json, "--junit", junit});
  EXPECT_EQ(ran.exit_code, 3) << ran.out;
  EXPECT_TRUE(Has(ran.out, "postgresql://u:********@[::1:1/db")) << ran.out;
  for (const std::string& text : {ran.out, ReadFile(json), ReadFile(junit)}) {
    EXPECT_FALSE(text.empty());
    EXPECT_FALSE(Has(text, "SECRETPW3")) << text;
  }
  // Refused for another store, the setting is quoted: a conninfo's
  // password=, quoted or not, is masked too.
  for (const std::string url : {"host=h password='SECRET PW4' port=5",
                                "host=h password=SECRETPW5 port=5"}) {
    const Ran other = RunTicketsimArgs({"run", "--set", "store.kind=sqlite",
                                        "--set", "store.url=\"" + url + "\""});
    EXPECT_EQ(other.exit_code, 2) << other.out;
    EXPECT_TRUE(Has(other.out, "password=********")) << other.out;
    EXPECT_FALSE(Has(other.out, "PW4") || Has(other.out, "PW5")) << other.out;
  }
}

// What libpq and the server say over several lines (a failure and its
// hint, the end of initdb's log) is shown as indented lines, each still
// escaped for the terminal, never as one line with "\n" and "\t" in it.
TEST(PgCliTest, AMessageOfSeveralLinesIsShownAsIndentedLines) {
  const Ran refused = RunTicketsimArgs(
      {"run", "--set", "store.kind=postgres", "--set",
       "store.url=\"postgresql://u:pw@127.0.0.1:1/postgres\""});
  EXPECT_EQ(refused.exit_code, 3) << refused.out;
  EXPECT_TRUE(Has(refused.out,
                  "Connection refused\n    Is the server running on that host"))
      << refused.out;
  TempDir bin;
  chmod(bin.path().c_str(), 0755);  // the server's user runs what is in it
  for (const char* name : {"initdb", "postgres"}) {
    const std::string path = bin.Write(
        name,
        "#!/bin/sh\necho 'first line'\nprintf '\\tsecond \\033]0;x\\n'\n"
        "exit 1\n");
    chmod(path.c_str(), 0755);
  }
  const Ran failed =
      RunTicketsimArgs({"run", "--set", "store.kind=postgres", "--set",
                        "store.postgres_bin=\"" + bin.path() + "\""});
  EXPECT_EQ(failed.exit_code, 3) << failed.out;
  EXPECT_TRUE(Has(failed.out,
                  "initdb exited with status 1\n    first line\n    second "
                  "\\e]0;x"))
      << failed.out;
  for (const Ran* ran : {&refused, &failed}) {
    EXPECT_FALSE(Has(ran->out, "\\n") || Has(ran->out, "\\t")) << ran->out;
  }
}

// A run leaves no table behind on the server it used.
TEST_F(PgStoreTest, RunDropsItsTable) {
  TempDir dir;
  const Ran ran =
      RunTicketsimArgs({"run", "--set", "store.kind=postgres", "--set",
                        "store.url=\"" + server_->conninfo() + "\"", "--set",
                        "buyers.count=3", "--set", "buyers.method=atomic"});
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  PGconn* db = PQconnectdb(server_->conninfo().c_str());
  PGresult* r = PQexec(
      db, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'ticketsim_%'");
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  EXPECT_STREQ(PQgetvalue(r, 0, 0), "0");
  PQclear(r);
  PQfinish(db);
  EXPECT_TRUE(LeftoversOf(ran.pid).empty());
}

// Bad input: exit 2, naming the key.
TEST(PgCliTest, MisspeltIsolationIsRefused) {
  const Ran ran = RunTicketsimArgs({"run", "--set", "store.kind=postgres",
                                    "--set", "store.isolation=serialisable"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out, "store.isolation")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "serializable")) << ran.out;
}

TEST(PgCliTest, PgGuardOnSqliteIsRefused) {
  const Ran ran = RunTicketsimArgs(
      {"run", "--set", "store.kind=sqlite", "--set", "guard.kind=pg-row-lock"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out, "guard.kind")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "postgres")) << ran.out;
}

TEST(PgCliTest, NegativeRetriesAreRefused) {
  const Ran ran = RunTicketsimArgs(
      {"run", "--set", "store.kind=postgres", "--set", "store.retries=-1"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out, "store.retries")) << ran.out;
}

TEST(PgCliTest, PostgresKeyOnAnotherStoreIsRefused) {
  const Ran ran = RunTicketsimArgs({"run", "--set", "store.kind=sqlite",
                                    "--set", "store.isolation=serializable"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_TRUE(Has(ran.out, "store.isolation")) << ran.out;
}

TEST(PgCliTest, ListShowsTheStoreAndItsGuards) {
  const Ran ran = RunTicketsimArgs({"list"});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_TRUE(Has(ran.out, "postgres")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "pg-row-lock")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "pg-advisory")) << ran.out;
}

}  // namespace
}  // namespace ticketsim::testing
