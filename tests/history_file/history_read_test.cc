// `ticketsim check --history FILE`: a history written by `run --history`,
// read back, gives every trial the verdict the run gave it (the same kinds,
// counts and witnesses as the run's JSON report), for ticketsim's own
// buyers and for a program's; a file that is no history is refused (exit 2)
// with its file and line.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::Has;
using ::ticketsim::testing::LeavesNothingTest;
using ::ticketsim::testing::Library;
using ::ticketsim::testing::Ran;
using ::ticketsim::testing::ReadFile;
using ::ticketsim::testing::RunProgram;
using ::ticketsim::testing::RunTicketsimArgs;
using ::ticketsim::testing::TempDir;

// One trial as `check --history` prints it.
struct CheckedTrial {
  std::string title;  // "<scenario>, trial N"
  int64_t confirmed = -1;
  int64_t indeterminate = -1;
  std::string verdict;  // "" if ok, else the list after "VIOLATED: "
  bool said_ok = false;
  std::vector<std::string> witnesses;  // "- " lines, "and N more" included
};

std::vector<CheckedTrial> ParseCheck(const std::string& out) {
  std::vector<CheckedTrial> trials;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    if (line[0] != ' ') {
      CheckedTrial t;
      t.title = line;
      trials.push_back(std::move(t));
      continue;
    }
    if (trials.empty()) continue;
    CheckedTrial& t = trials.back();
    long long confirmed = 0, indeterminate = 0;
    if (std::sscanf(line.c_str(), "  purchases: %lld confirmed, %lld",
                    &confirmed, &indeterminate) == 2) {
      t.confirmed = confirmed;
      t.indeterminate = indeterminate;
    } else if (line.starts_with("  VIOLATED: ")) {
      t.verdict = line.substr(12);
    } else if (line == "  verdict: ok") {
      t.said_ok = true;
    } else if (line.starts_with("    - ")) {
      t.witnesses.push_back(line.substr(6));
    }
  }
  return trials;
}

// The run's report of one trial, in the same form.
CheckedTrial FromReport(const nlohmann::json& run) {
  CheckedTrial t;
  t.confirmed = run["purchases"]["confirmed"];
  t.indeterminate = run["purchases"]["indeterminate"];
  for (const auto& v : run["violations"]) {
    t.verdict += (t.verdict.empty() ? "" : ", ") +
                 v["kind"].get<std::string>() + " x" +
                 std::to_string(v["count"].get<int64_t>());
    for (const auto& w : v["witnesses"]) t.witnesses.push_back(w["text"]);
    if (v["more"].get<int64_t>() > 0) {
      t.witnesses.push_back("and " + std::to_string(v["more"].get<int64_t>()) +
                            " more");
    }
  }
  t.said_ok = t.verdict.empty();
  return t;
}

class HistoryReadTest : public LeavesNothingTest {
 protected:
  // Runs `args` with --history and --json, then checks the history: every
  // trial's verdict read back equals the run's. Returns the run's report.
  nlohmann::json ExpectSameVerdicts(std::vector<std::string> args) {
    const std::string history = tmp_.path() + "/history.jsonl";
    const std::string json = tmp_.path() + "/report.json";
    args.insert(args.end(), {"--history", history, "--json", json});
    const Ran ran = RunTicketsimArgs(args, tmp_.path());
    EXPECT_TRUE(ran.exit_code == 0 || ran.exit_code == 1) << ran.out;
    const auto report = nlohmann::json::parse(ReadFile(json));
    const Ran check = RunTicketsimArgs({"check", "--history", history});
    const std::vector<CheckedTrial> checked = ParseCheck(check.out);
    std::vector<CheckedTrial> ran_trials;
    for (const auto& scenario : report["scenarios"]) {
      for (const auto& run : scenario["runs"]) {
        ran_trials.push_back(FromReport(run));
        ran_trials.back().title = scenario["name"].get<std::string>() +
                                  ", trial " +
                                  std::to_string(run["trial"].get<int64_t>());
      }
    }
    EXPECT_FALSE(ran_trials.empty()) << ran.out;
    EXPECT_EQ(checked.size(), ran_trials.size()) << check.out;
    bool violated = false;
    for (size_t i = 0; i < checked.size() && i < ran_trials.size(); ++i) {
      const CheckedTrial& a = checked[i];
      const CheckedTrial& b = ran_trials[i];
      EXPECT_EQ(a.title, b.title);
      EXPECT_EQ(a.verdict, b.verdict) << a.title;
      EXPECT_EQ(a.said_ok, b.said_ok) << a.title;
      EXPECT_EQ(a.confirmed, b.confirmed) << a.title;
      EXPECT_EQ(a.indeterminate, b.indeterminate) << a.title;
      EXPECT_EQ(a.witnesses, b.witnesses) << a.title;
      violated = violated || !b.verdict.empty();
    }
    EXPECT_EQ(check.exit_code, violated ? 1 : 0) << check.out;
    return report;
  }

  // Runs library scenario `file` and checks its history; the scenario's
  // own expectation (it shows the kinds it names) holds in every trial.
  void ExpectLibraryScenario(const std::string& file, int trials = 1) {
    std::vector<std::string> args = {"run", Library(file)};
    if (trials > 1) {
      args.insert(args.end(), {"--trials", std::to_string(trials)});
    }
    const auto report = ExpectSameVerdicts(args);
    EXPECT_TRUE(report["passed"].get<bool>()) << file;
  }
};

TEST_F(HistoryReadTest, TheRushUnguardedReadsBackAsItRan) {
  ExpectLibraryScenario("01-rush-unguarded.toml", 3);
}

TEST_F(HistoryReadTest, TornReadsReadBackWithTheirWriters) {
  ExpectLibraryScenario("03-torn-read.toml");
}

TEST_F(HistoryReadTest, SqliteAutocommitReadsBackAsItRan) {
  ExpectLibraryScenario("08-sqlite-autocommit.toml", 3);
}

TEST_F(HistoryReadTest, AnAbandonedLockReadsBackWithItsKill) {
  ExpectLibraryScenario("18-killed-holder-named-mutex.toml");
}

TEST_F(HistoryReadTest, AtomicTakesReadBackClean) {
  ExpectLibraryScenario("11-atomic-cas.toml", 3);
}

TEST_F(HistoryReadTest, ADeadlockReadsBackWithItsCycle) {
  ExpectLibraryScenario("15-deadlock.toml");
}

TEST_F(HistoryReadTest, SeveralEventsReadBackWithEachOnesBooks) {
  ExpectLibraryScenario("17-deadlock-fix-try-backoff.toml");
}

// Without guards, with a file store that empties its file to write it:
// each event's books (lost updates, torn reads) come back from the further
// events' notes.
TEST_F(HistoryReadTest, SeveralUnguardedEventsReadBackWithTheirBooks) {
  ExpectSameVerdicts({"run", Library("16-deadlock-fix-global-order.toml"),
                      "--set", "guard.kind=none", "--set", "store.kind=file",
                      "--set", "store.write=truncate", "--set",
                      "store.slow_write_ms=0.5", "--set", "tickets.initial=3",
                      "--buyers", "6", "--think-ms", "0,1", "--trials", "2"});
}

// A program whose copies all read before any writes (they wait for each
// other's read in a directory of the test's), with a lock that excludes no
// one: every round sells one seat to every copy. Buyer 2 gives no seats;
// buyer 1 exits with status 1 at the end.
constexpr const char* kProgram = R"(import json, os, sys, time
rendezvous = sys.argv[1]
def emit(**line):
    line["t"] = time.monotonic_ns()
    os.write(3, (json.dumps(line) + "\n").encode())
os.read(4, 1)
db = os.environ["TICKETSIM_DB"]
me = int(os.environ["TICKETSIM_BUYER"])
buyers = int(os.environ["TICKETSIM_BUYERS"])
for attempt in range(int(os.environ["TICKETSIM_ATTEMPTS"])):
    emit(type="invoke", f="buy")
    emit(type="invoke", f="lock", lock="door")
    emit(type="ok", f="lock", lock="door")
    with open(db) as f:
        count = json.load(f)["count"]
    emit(type="ok", f="read", value=count)
    open(os.path.join(rendezvous, "%d.%d" % (attempt, me)), "w").close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(
            os.path.exists(os.path.join(rendezvous, "%d.%d" % (attempt, b)))
            for b in range(buyers)):
        time.sleep(0.002)
    time.sleep(0.02)
    with open(db + ".%d" % me, "w") as f:
        json.dump({"count": count - 1}, f)
    os.rename(db + ".%d" % me, db)
    emit(type="ok", f="unlock", lock="door")
    if me == 2:
        emit(type="ok", f="buy")
    else:
        emit(type="ok", f="buy", seat=count)
if me == 1:
    print("buyer 1 gives up", file=sys.stderr)
    sys.exit(1)
)";

TEST_F(HistoryReadTest, AProgramsRunReadsBackAsItRan) {
  TempDir rendezvous;
  const std::string program = tmp_.Write("prog.py", kProgram);
  const auto report = ExpectSameVerdicts(
      {"run", "--program", "python3 " + program + " " + rendezvous.path(),
       "--buyers", "4", "--attempts", "3", "--tickets", "20"});
  const auto& run = report["scenarios"][0]["runs"][0];
  const auto count = [&run](const std::string& kind) -> int64_t {
    for (const auto& v : run["violations"]) {
      if (v["kind"] == kind) return v["count"];
    }
    return 0;
  };
  // Three rounds, each one seat sold four times (buyer 2's without seats).
  EXPECT_EQ(count("lost update"), 9);
  EXPECT_EQ(count("duplicate seat"), 6);
  EXPECT_GT(count("lock overlap"), 0);
  EXPECT_EQ(count("program crash"), 1);
  // What the history says of it, in its own lines.
  const std::string history = ReadFile(tmp_.path() + "/history.jsonl");
  EXPECT_TRUE(Has(history, R"("program": true, "mode": "buyer")"));
  EXPECT_TRUE(Has(history, R"("type": "ok", "f": "lock", "process": 0)"));
  EXPECT_TRUE(Has(history, R"("lock": "door")"));
  EXPECT_TRUE(Has(history, R"("f": "unlock")"));
  EXPECT_TRUE(Has(history, R"("process": 2, )"));
  EXPECT_TRUE(Has(history, R"("value": null)"));
  EXPECT_TRUE(
      Has(history, R"("f": "crash", "process": "ticketsim", "buyer": 1, )"));
  EXPECT_TRUE(
      Has(history,
          R"("error": "exited with status 1", "stderr": "buyer 1 gives up")"));
}

// Checks `content` as a history: exit 2, naming `file:line`.
void ExpectRefused(const TempDir& dir, const std::string& content,
                   const std::string& where, const std::string& why) {
  const std::string path = dir.Write("h.jsonl", content);
  const Ran check = RunTicketsimArgs({"check", "--history", path});
  EXPECT_EQ(check.exit_code, 2) << check.out;
  EXPECT_TRUE(Has(check.out, path + ":" + where + ": " + why)) << check.out;
}

TEST_F(HistoryReadTest, AMalformedHistoryIsRefusedWithItsLine) {
  const std::string start =
      R"({"type": "info", "f": "start", "process": "ticketsim", "time": 0, "value": 5, "scenario": "s", "seed": 1, "buyers": 2, "schedule": "os", "guard": "none", "trial": 1})"
      "\n";
  const std::string invoke =
      R"({"type": "invoke", "f": "buy", "process": 0, "time": 10, "trial": 1})"
      "\n";
  const std::string ok =
      R"({"type": "ok", "f": "buy", "process": 0, "time": 20, "value": 5, "read": 5, "wrote": 4, "trial": 1})"
      "\n";
  const std::string final =
      R"({"type": "info", "f": "final", "process": "ticketsim", "time": 30, "value": 4, "trial": 1})"
      "\n";
  // The well-formed one is read, and shows no violation.
  const std::string good =
      tmp_.Write("good.jsonl", start + invoke + ok + final);
  const Ran check = RunTicketsimArgs({"check", "--history", good});
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_TRUE(Has(check.out, "s, trial 1\n")) << check.out;
  EXPECT_TRUE(Has(check.out, "  verdict: ok\n")) << check.out;

  ExpectRefused(tmp_, start + invoke + "{\"type\": \"ok\", \"f\n" + final, "3",
                "not JSON");
  ExpectRefused(tmp_, start + "[1, 2]\n" + final, "2", "not a JSON object");
  ExpectRefused(
      tmp_,
      start +
          R"({"type": "invoke", "f": "buy", "process": 7, "time": 10})"
          "\n" +
          final,
      "2", "process 7 is not a buyer of the 2");
  ExpectRefused(tmp_, start + invoke + ok, "3",
                "the file ends inside the trial begun on line 1");
  ExpectRefused(tmp_, invoke + final, "1",
                "a line outside a trial (before its start line)");
  ExpectRefused(tmp_, "", "1", "no trial in it");
  ExpectRefused(
      tmp_,
      start + invoke +
          R"({"type": "fail", "f": "buy", "process": 0, "time": 20, "error": "gremlins"})"
          "\n" +
          final,
      "3", "unknown error \"gremlins\"");
  ExpectRefused(tmp_,
                start + R"({"type": "ok", "f": "read", "process": 0})"
                        "\n",
                "2", "no \"time\"");
}

// Ten buyers who each sold the same seat 20,000 times: the one witness
// names each buyer once, and the check (the witness sorted once, not step by
// step) reads the 200,000 sales as fast as any other history.
TEST_F(HistoryReadTest, ASeatSoldTwoHundredThousandTimesNamesEachBuyerOnce) {
  constexpr int64_t kSales = 200000;
  std::string text = fmt::format(
      R"({{"type": "info", "f": "start", "process": "ticketsim", "time": 0, "value": {}, "scenario": "one seat", "seed": 1, "buyers": 10, "schedule": "os", "guard": "none", "trial": 1}})"
      "\n",
      kSales);
  int64_t time = 1000;
  for (int64_t i = 0; i < kSales; ++i, time += 20) {
    text += fmt::format(
        R"({{"type": "invoke", "f": "buy", "process": {}, "time": {}, "trial": 1}})"
        "\n"
        R"({{"type": "ok", "f": "buy", "process": {}, "time": {}, "value": {}, "read": {}, "wrote": {}, "trial": 1}})"
        "\n",
        i % 10, time, i % 10, time + 10, kSales, kSales, kSales - 1);
  }
  text += fmt::format(
      R"({{"type": "info", "f": "final", "process": "ticketsim", "time": {}, "value": {}, "trial": 1}})"
      "\n",
      time, kSales - 1);
  const std::string path = tmp_.Write("one-seat.jsonl", text);
  const Ran check = RunTicketsimArgs({"check", "--history", path});
  EXPECT_EQ(check.exit_code, 1) << check.out;
  EXPECT_TRUE(Has(check.out,
                  "duplicate seat x199999: 1 seat sold more than "
                  "once\n"
                  "    - seat 200000 was sold 200000 times: buyers "
                  "0, 1, 2, 3, 4, 5, 6, 7 and 2 more all read "
                  "200000 (the first at 0.001 ms, the last at "
                  "4.001 ms) and all wrote 199999\n"))
      << check.out.substr(0, 4000);
}

// A FIFO or a device is no history: refused before it is opened (a FIFO
// would wait for a writer, /dev/zero would be read forever). The command
// runs under a time limit, so that reading on fails the test.
TEST_F(HistoryReadTest, AFifoOrADeviceIsRefusedNotReadForever) {
  const std::string fifo = tmp_.path() + "/h.jsonl";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const auto& [path, kind] :
       {std::pair{fifo, "a FIFO"},
        std::pair{std::string("/dev/zero"), "a character device"}}) {
    const Ran check =
        RunProgram({"/usr/bin/timeout", "-s", "KILL", "30", TICKETSIM_BINARY,
                    "check", "--history", path});
    EXPECT_EQ(check.exit_code, 2) << path << ": " << check.out;
    EXPECT_TRUE(Has(check.out, path + ": it is " + kind + ", not a history"))
        << check.out;
  }
}

TEST_F(HistoryReadTest, AMissingHistoryOrNoneGivenIsAUsageError) {
  const Ran missing =
      RunTicketsimArgs({"check", "--history", tmp_.path() + "/no-such.jsonl"});
  EXPECT_EQ(missing.exit_code, 2) << missing.out;
  EXPECT_TRUE(Has(missing.out, "no-such.jsonl: cannot open it")) << missing.out;
  const Ran none = RunTicketsimArgs({"check"});
  EXPECT_EQ(none.exit_code, 2) << none.out;
  EXPECT_TRUE(Has(none.out, "--history")) << none.out;
}

}  // namespace
}  // namespace ticketsim
