// The helpers a program's buyers use (helpers/shell, helpers/c,
// helpers/python) and the examples built on them, run by the real binary as
// a user would: a read that meets an emptied file is a torn read in every
// language, a shell copy is seen at the start barrier, the C helper compiles
// as C99 wherever it is included, and a correct program's purchases are
// drawn inside its lock holds.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
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
using ::ticketsim::testing::ReadJson;
using ::ticketsim::testing::RunProgram;
using ::ticketsim::testing::RunTicketsimArgs;

const std::string kHelpers = TICKETSIM_SOURCE_DIR "/helpers";

// The first run of a --json report.
nlohmann::json FirstRun(const std::string& json) {
  const nlohmann::json report = ReadJson(json);
  if (report.is_discarded()) return nullptr;
  return report["scenarios"][0]["runs"][0];
}

// The count of violations of `kind` in a run of a JSON report (0 if none).
int64_t CountOf(const nlohmann::json& run, const std::string& kind) {
  for (const auto& v : run["violations"]) {
    if (v["kind"] == kind) return v["count"].get<int64_t>();
  }
  return 0;
}

class HelperTest : public LeavesNothingTest {
 protected:
  // Runs ticketsim with `args` and a --json report; returns its first run.
  nlohmann::json RunJson(std::vector<std::string> args, Ran* ran) {
    const std::string json = tmp_.path() + "/report.json";
    args.insert(args.end(), {"--json", json});
    *ran = RunTicketsimArgs(args, runs_.path());
    return FirstRun(json);
  }

  // A file `name` in tmp_, executable.
  std::string Executable(const std::string& name, const std::string& body) {
    const std::string path = tmp_.Write(name, body);
    chmod(path.c_str(), 0755);
    return path;
  }

  testing::TempDir runs_;
};

// --- A read that meets an emptied file --------------------------------------

// Two unlocked shell buyers and a truncating write, forced: buyer 0 reads
// the count, empties db.txt as a truncating write begins, and writes it
// only once buyer 1 has read it; buyer 1 reads only once it is empty. Its
// count is "" (tr finds no digits), which it reports with the helper's
// plain ts_read, as a careless program would.
constexpr char kShellTornRead[] = R"(#!/bin/sh
set -eu
. "$HELPERS/shell/ticketsim_buyer.sh"
ts_wait_for_start
db=$TICKETSIM_DB
ts_invoke_buy
if [ "$TICKETSIM_BUYER" = 0 ]; then
  count=$(tr -cd '0-9' < "$db")
  ts_read "$count"
  : > "$db"
  touch emptied
  while [ ! -e read ]; do sleep 0.01; done
  printf '{"count": %d}\n' $((count - 1)) > "$db"
  ts_ok_buy "$count"
else
  while [ ! -e emptied ]; do sleep 0.01; done
  count=$(tr -cd '0-9' < "$db")
  ts_read "$count"
  touch read
  ts_fail "torn read"
fi
)";

TEST_F(HelperTest, AShellBuyerThatReadsAnEmptiedFileReportsATornRead) {
  const std::string script = Executable("torn.sh", kShellTornRead);
  Ran ran;
  const nlohmann::json run =
      RunJson({"run", "--program", "env HELPERS=" + kHelpers + " " + script,
               "--buyers", "2", "--attempts", "1", "--tickets", "5"},
              &ran);
  EXPECT_EQ(ran.exit_code, 1) << ran.out;
  EXPECT_FALSE(Has(ran.out, "protocol error")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "VIOLATED: torn read x1")) << ran.out;
  ASSERT_FALSE(run.is_null()) << ran.out;
  EXPECT_EQ(CountOf(run, "torn read"), 1) << run["violations"].dump();
  EXPECT_EQ(run["buyers"][1]["torn_reads"], 1);
  EXPECT_EQ(run["purchases"]["confirmed"], 1);
  EXPECT_EQ(run["tickets"]["remaining"], 4);
}

// Whatever a shell program hands the helper (an empty or garbled count, a
// seat that is no number, a message with quotes, control characters and
// bytes that are not UTF-8), every line it writes is JSON ticketsim takes.
TEST_F(HelperTest, AShellHelperLineIsJsonWhateverItIsGiven) {
  const std::string script = Executable("odd.sh", R"sh(#!/bin/sh
set -eu
. "$HELPERS/shell/ticketsim_buyer.sh"
ts_wait_for_start
ts_read ''
ts_read '{"cou'
ts_read 99999999999999999999
ts_read_failed 'found "nothing" \ here'
ts_invoke_buy
ts_read 5
ts_fail "$(printf 'bad \001\377\303 "byte" \\')"
ts_invoke_buy
ts_read 5
ts_ok_buy 'not a seat'
)sh");
  Ran ran;
  const nlohmann::json run =
      RunJson({"run", "--program", "env HELPERS=" + kHelpers + " " + script,
               "--buyers", "1", "--attempts", "2", "--tickets", "5"},
              &ran);
  EXPECT_EQ(ran.exit_code, 1) << ran.out;
  EXPECT_FALSE(Has(ran.out, "protocol error")) << ran.out;
  ASSERT_FALSE(run.is_null()) << ran.out;
  EXPECT_EQ(CountOf(run, "torn read"), 4) << run["violations"].dump();
  EXPECT_EQ(run["purchases"]["confirmed"], 1);
  EXPECT_EQ(run["purchases"]["failed"], 1);
}

// A Python buyer that found the file empty and hands the helper what it
// could parse (None) reports a torn read, as read_failed does.
TEST_F(HelperTest, APythonBuyerThatReadsNoCountReportsATornRead) {
  const std::string script = tmp_.Write("torn.py", R"(import os, sys
sys.path.insert(0, os.environ["HELPERS"] + "/python")
from ticketsim_buyer import Buyer
b = Buyer()
b.wait_for_start()
with open(b.db) as f:
    saved = f.read()
open(b.db, "w").close()  # a truncating write begins
with b.purchase() as p:
    with open(b.db) as f:
        text = f.read()
    p.read(int(text) if text.strip().isdigit() else None)
    with open(b.db) as f:
        p.read_failed("empty file: " + repr(f.read()))
    p.fail("torn read")
with open(b.db, "w") as f:
    f.write(saved)
)");
  Ran ran;
  const nlohmann::json run = RunJson(
      {"run", "--program", "env HELPERS=" + kHelpers + " python3 " + script,
       "--buyers", "1", "--attempts", "1", "--tickets", "5"},
      &ran);
  EXPECT_EQ(ran.exit_code, 1) << ran.out;
  EXPECT_FALSE(Has(ran.out, "protocol error")) << ran.out;
  ASSERT_FALSE(run.is_null()) << ran.out;
  EXPECT_EQ(CountOf(run, "torn read"), 2) << run["violations"].dump();
  EXPECT_EQ(run["tickets"]["remaining"], 5);
}

// --- The C helper under C99 --------------------------------------------------

// A C buyer that empties the file as a truncating write begins, finds no
// count in it (ts_read_failed), then puts the count back and buys.
// `helper_first`: the helper is included before the system headers, or
// after them (which used to leave clock_gettime undeclared under -std=c99).
std::string CBuyer(bool helper_first) {
  const std::string helper = "#include \"ticketsim_buyer.h\"\n";
  return (helper_first ? helper : "") + R"(#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
)" + (helper_first ? "" : helper) +
         R"(
static long read_count(void) {
  char text[64] = {0};
  FILE* f = fopen(ts_db, "r");
  size_t got = f != NULL ? fread(text, 1, sizeof text - 1, f) : 0;
  const char* digits = strpbrk(text, "0123456789");
  if (f != NULL) fclose(f);
  return got > 0 && digits != NULL ? strtol(digits, NULL, 10) : -1;
}

static void write_count(long count) {
  FILE* f = fopen(ts_db, "w");
  if (f == NULL) exit(1);
  if (count >= 0) fprintf(f, "{\"count\": %ld}\n", count);
  fclose(f);
}

int main(void) {
  long count, seen;
  ts_init();
  ts_wait_for_start();
  ts_invoke_buy();
  count = read_count();
  ts_read(count);
  write_count(-1); /* emptied: a truncating write begins */
  seen = read_count();
  if (seen < 0) ts_read_failed("the file was empty");
  write_count(count - 1);
  ts_ok_buy(count);
  return 0;
}
)";
}

TEST_F(HelperTest, TheCHelperCompilesAsC99WhereverItIsIncluded) {
  for (const bool helper_first : {true, false}) {
    SCOPED_TRACE(helper_first ? "helper first" : "helper after <time.h>");
    const std::string source =
        tmp_.Write(helper_first ? "first.c" : "after.c", CBuyer(helper_first));
    const std::string binary = source + ".bin";
    const Ran cc = RunProgram({TICKETSIM_C_COMPILER, "-std=c99", "-Wall",
                               "-Wextra", "-pedantic", "-Werror",
                               "-I" + kHelpers + "/c", "-o", binary, source});
    ASSERT_EQ(cc.exit_code, 0) << cc.out;
    EXPECT_EQ(cc.out, "");
    Ran ran;
    const nlohmann::json run =
        RunJson({"run", "--program", binary, "--buyers", "1", "--attempts", "1",
                 "--tickets", "5"},
                &ran);
    EXPECT_EQ(ran.exit_code, 1) << ran.out;
    EXPECT_FALSE(Has(ran.out, "protocol error")) << ran.out;
    ASSERT_FALSE(run.is_null()) << ran.out;
    EXPECT_EQ(CountOf(run, "torn read"), 1) << run["violations"].dump();
    EXPECT_EQ(run["purchases"]["confirmed"], 1);
    EXPECT_EQ(run["tickets"]["remaining"], 4);
  }
}

// --- The start barrier -------------------------------------------------------

// The shell example waits at the barrier with the helper: every copy is
// seen there, none is said to have started on its own.
TEST_F(HelperTest, EveryShellCopyIsSeenAtTheStartBarrier) {
  Ran ran;
  const nlohmann::json run =
      RunJson({"run", Library("28-program-shell-flock.toml")}, &ran);
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_FALSE(Has(ran.out, "had not reached the start barrier")) << ran.out;
  ASSERT_FALSE(run.is_null()) << ran.out;
  ASSERT_EQ(run["program"]["lanes"].size(), 4u);
  for (const auto& lane : run["program"]["lanes"]) {
    EXPECT_EQ(lane["late_start"], false) << run["program"].dump();
  }
}

// --- Purchases inside their holds --------------------------------------------

// One buyer's purchase as its history lines tell it.
struct Told {
  int64_t lock = -1, read = -1, outcome = -1, unlock = -1;
};

// Each buyer's purchases in a --history file, by the times of their lines.
std::map<int64_t, std::vector<Told>> PurchasesOf(const std::string& path) {
  std::map<int64_t, std::vector<Told>> told;
  std::istringstream lines(ReadFile(path));
  for (std::string line; std::getline(lines, line);) {
    const auto e = nlohmann::json::parse(line, nullptr, false);
    if (e.is_discarded() || !e.contains("time")) continue;
    const auto who = e.contains("buyer") ? e["buyer"] : e["process"];
    if (!who.is_number_integer()) continue;
    std::vector<Told>& own = told[who.get<int64_t>()];
    const std::string type = e["type"], f = e["f"];
    const int64_t t = e["time"];
    if (f == "buy" && type == "invoke") own.emplace_back();
    if (own.empty()) continue;
    if (f == "lock" && type == "ok") own.back().lock = t;
    if (f == "read") own.back().read = t;
    if (f == "buy" && type != "invoke") own.back().outcome = t;
    if (f == "unlock") own.back().unlock = t;
  }
  return told;
}

// The examples that lock correctly, as the docs show them: each purchase's
// read and its outcome (the end of the bar the timeline draws from its
// read to its write) lie inside its lock hold. Told after the unlock, every
// outcome would lie after it.
TEST_F(HelperTest, ACorrectProgramsPurchasesLieInsideItsLockHolds) {
  for (const char* file :
       {"26-program-python-flock.toml", "28-program-shell-flock.toml"}) {
    SCOPED_TRACE(file);
    const std::string history = tmp_.path() + "/history.jsonl";
    Ran ran;
    const nlohmann::json run =
        RunJson({"run", Library(file), "--history", history}, &ran);
    EXPECT_EQ(ran.exit_code, 0) << ran.out;
    ASSERT_FALSE(run.is_null()) << ran.out;
    const auto purchases = PurchasesOf(history);
    ASSERT_EQ(purchases.size(), 4u) << ReadFile(history);
    for (const auto& [buyer, own] : purchases) {
      ASSERT_FALSE(own.empty());
      for (const Told& p : own) {
        ASSERT_GE(p.lock, 0) << "buyer " << buyer;
        ASSERT_GE(p.unlock, 0) << "buyer " << buyer;
        EXPECT_LE(p.lock, p.read) << "buyer " << buyer;
        EXPECT_LE(p.read, p.outcome) << "buyer " << buyer;
        EXPECT_LE(p.outcome, p.unlock)
            << "buyer " << buyer << ": its outcome at " << p.outcome
            << " ns lies after its unlock at " << p.unlock << " ns";
      }
    }
  }
}

}  // namespace
}  // namespace ticketsim
