// Seeing the race: the history as JSON lines, the narration, and the HTML
// timeline, each read back and held against the checker's verdict. The page
// is rendered by a real headless Chromium.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::Ran;
using ::ticketsim::testing::ReadFile;
using ::ticketsim::testing::RunProgram;
using ::ticketsim::testing::RunTicketsimArgs;
using ::ticketsim::testing::TempDir;

const std::string kLibrary = TICKETSIM_SOURCE_DIR "/scenarios/";

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// What a Jepsen-style reader of the history alone concludes.
struct HistoryVerdict {
  int64_t initial = -1;
  int64_t final_count = -1;
  int64_t confirmed = 0;
  int64_t indeterminate = 0;
  int64_t torn_reads = 0;
  int64_t failures = 0;
  int64_t duplicate_sales = 0;
  int64_t lost_updates = 0;
  int64_t oversold = 0;
};

HistoryVerdict ReadHistory(const std::string& path) {
  HistoryVerdict v;
  std::map<int64_t, int64_t> sold;
  std::map<int64_t, std::string> open;  // process -> f of its open invoke
  std::ifstream in(path);
  uint64_t last_time = 0;
  for (std::string line; std::getline(in, line);) {
    const auto op = nlohmann::json::parse(line);
    const std::string type = op["type"];
    const std::string f = op["f"];
    const uint64_t time = op["time"];
    EXPECT_GE(time, last_time) << "lines out of time order: " << line;
    last_time = time;
    // ticketsim's own lines (start, final) and the faults it injects
    // ("nemesis") are not operations of a buyer.
    if (op["process"].is_string()) {
      if (f == "start") v.initial = op["value"];
      if (f == "final") v.final_count = op["value"];
      continue;
    }
    const int64_t process = op["process"];
    if (type == "invoke") {
      EXPECT_FALSE(open.contains(process)) << "two open ops: " << line;
      open[process] = f;
      continue;
    }
    // A completion closes the process's open op of the same f.
    EXPECT_EQ(open[process], f) << line;
    open.erase(process);
    const bool torn = op.contains("error") && op["error"] == "torn read";
    if (torn) ++v.torn_reads;
    if (f != "buy") continue;
    if (type == "ok") {
      ++v.confirmed;
      ++sold[op["value"].get<int64_t>()];
    } else if (type == "info") {
      ++v.indeterminate;
    } else if (!torn && op["error"] != "sold out") {
      ++v.failures;
    }
  }
  for (const auto& [seat, n] : sold) v.duplicate_sales += n - 1;
  v.lost_updates =
      std::max<int64_t>(0, v.confirmed - (v.initial - v.final_count));
  v.oversold = std::max<int64_t>(0, v.confirmed - v.initial);
  return v;
}

int64_t ReportCount(const nlohmann::json& run, const std::string& kind) {
  for (const auto& violation : run["violations"]) {
    if (violation["kind"] == kind) return violation["count"];
  }
  return 0;
}

// Runs `args` with --history and --json, and checks that the history alone
// gives the checker's verdict.
void ExpectHistoryReproducesTheVerdict(std::vector<std::string> args) {
  TempDir dir;
  const std::string history = dir.path() + "/history.jsonl";
  const std::string json = dir.path() + "/report.json";
  args.insert(args.end(), {"--history", history, "--json", json});
  const Ran ran = RunTicketsimArgs(args);
  ASSERT_TRUE(ran.exit_code == 0 || ran.exit_code == 1) << ran.out;
  const auto report = nlohmann::json::parse(ReadFile(json));
  const auto& run = report["scenarios"][0]["runs"][0];
  const HistoryVerdict v = ReadHistory(history);
  EXPECT_EQ(v.initial, run["tickets"]["initial"]);
  EXPECT_EQ(v.final_count, run["tickets"]["remaining"]);
  EXPECT_EQ(v.confirmed, run["purchases"]["confirmed"]);
  EXPECT_EQ(v.indeterminate, run["purchases"]["indeterminate"]);
  EXPECT_EQ(v.torn_reads, run["purchases"]["torn_reads"]);
  EXPECT_EQ(v.lost_updates, ReportCount(run, "lost update"));
  EXPECT_EQ(v.oversold, ReportCount(run, "oversell"));
  EXPECT_EQ(v.duplicate_sales, ReportCount(run, "duplicate seat"));
  EXPECT_EQ(v.failures, ReportCount(run, "guard failure") +
                            ReportCount(run, "store error"));
}

TEST(HistoryExportTest, TheRushHistoryReproducesTheVerdict) {
  ExpectHistoryReproducesTheVerdict(
      {"run", kLibrary + "01-rush-unguarded.toml"});
}

TEST(HistoryExportTest, ASemaphoreRaceHistoryReproducesTheVerdict) {
  ExpectHistoryReproducesTheVerdict(
      {"run", kLibrary + "13-semaphore-3-permits.toml"});
}

TEST(HistoryExportTest, TornReadsAreFailedReads) {
  ExpectHistoryReproducesTheVerdict({"run", kLibrary + "03-torn-read.toml"});
}

TEST(HistoryExportTest, SqliteBusyIsAFailedBuy) {
  ExpectHistoryReproducesTheVerdict(
      {"run", kLibrary + "09-sqlite-deferred.toml"});
}

// Buyers killed inside the critical section leave open buys, closed by info
// (indeterminate) lines: as many as the checker's indeterminate purchases.
TEST(HistoryExportTest, KilledHoldersLeaveIndeterminateBuys) {
  ExpectHistoryReproducesTheVerdict(
      {"run", "--store", "shm", "--guard", "robust-mutex", "--buyers", "8",
       "--tickets", "200", "--attempts", "10", "--think-ms", "0.2,0.5",
       "--kill-holder", "0.2"});
}

// The narration tells the interleaving in time order, in the words of the
// issue: reads, writes, and the seat sold twice.
TEST(NarrationTest, TellsTheRushInTimeOrder) {
  const Ran ran =
      RunTicketsimArgs({"run", kLibrary + "01-rush-unguarded.toml", "--narrate",
                        "--steps", testing::EveryBuyerReadsFirst(10)});
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_EQ(CountOf(ran.out, " reads 1\n"), 10u) << ran.out;
  EXPECT_EQ(CountOf(ran.out, " writes 0 -- seat 1"), 10u) << ran.out;
  EXPECT_NE(ran.out.find("-- seat 1: sold twice (buyer "), std::string::npos);
  EXPECT_NE(ran.out.find("-- seat 1: sold 10 times"), std::string::npos);
  // Every narrated line's time is no earlier than the one before.
  std::istringstream lines(ran.out);
  double last = -1;
  for (std::string line; std::getline(lines, line);) {
    // "      21.238  buyer 1 writes 0 -- seat 1"
    static const std::regex kNarrated(R"(^ +([0-9]+\.[0-9]{3})  buyer .*)");
    std::smatch m;
    if (!std::regex_match(line, m, kNarrated)) continue;
    const double t = std::stod(m[1]);
    EXPECT_GE(t, last) << line;
    last = t;
  }
  // The witness in the report uses the same words.
  EXPECT_NE(ran.out.find("seat 1 was sold 10 times"), std::string::npos);
}

// A big run's page shows a sample of lanes and says so.
TEST(HtmlTest, ABigRunShowsASampleAndSaysSo) {
  TempDir dir;
  const std::string page = dir.path() + "/big.html";
  const Ran ran = RunTicketsimArgs({"run", "--store", "shm", "--buyers", "100",
                                    "--tickets", "100000", "--attempts", "100",
                                    "--think-ms", "0", "--html", page});
  ASSERT_TRUE(ran.exit_code == 0 || ran.exit_code == 1) << ran.out;
  const std::string html = ReadFile(page);
  EXPECT_EQ(CountOf(html, "<g class=\"lane\""), 40u);
  EXPECT_NE(html.find("A sample: 40 of 100 buyers"), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));
  EXPECT_EQ(html.find("https://"), std::string::npos);
}

// Where Debian's chromium is; make test installs it.
std::string Chromium() {
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

// The page of a forced race, rendered by headless Chromium: one lane per
// buyer and a highlighted witness in the DOM, no console message at all,
// and a screenshot in the build folder.
TEST(HtmlTest, ChromiumRendersTheForcedRace) {
  const std::string chromium = Chromium();
  ASSERT_FALSE(chromium.empty())
      << "chromium is not installed; `make test` installs it";
  const std::string page = std::string(TICKETSIM_BUILD_DIR) + "/rush.html";
  const std::string png = std::string(TICKETSIM_BUILD_DIR) + "/rush.png";
  std::remove(png.c_str());
  const Ran ran =
      RunTicketsimArgs({"run", kLibrary + "01-rush-unguarded.toml", "--html",
                        page, "--steps", testing::EveryBuyerReadsFirst(10)});
  ASSERT_EQ(ran.exit_code, 0) << ran.out;

  TempDir profile;
  const std::vector<std::string> common = {chromium,
                                           "--headless",
                                           "--no-sandbox",
                                           "--disable-gpu",
                                           "--user-data-dir=" + profile.path(),
                                           "--enable-logging=stderr",
                                           "--v=0",
                                           "--window-size=1300,1000"};
  std::vector<std::string> dump = common;
  dump.insert(dump.end(), {"--dump-dom", "file://" + page});
  const Ran dom = RunProgram(dump);
  ASSERT_EQ(dom.exit_code, 0) << dom.out;
  EXPECT_EQ(CountOf(dom.out, "<g class=\"lane\""), 10u);
  for (int b = 0; b < 10; ++b) {
    EXPECT_NE(dom.out.find("data-buyer=\"" + std::to_string(b) + "\""),
              std::string::npos);
  }
  EXPECT_GE(CountOf(dom.out, "class=\"cs witness\""), 2u);
  EXPECT_GE(CountOf(dom.out, "class=\"witness-band\""), 1u);
  EXPECT_NE(dom.out.find("VIOLATED: lost update x9"), std::string::npos);
  // The page logs nothing: any console line is an error or a stray log.
  EXPECT_EQ(dom.out.find(":CONSOLE("), std::string::npos) << dom.out;
  EXPECT_EQ(dom.out.find("Uncaught"), std::string::npos) << dom.out;

  std::vector<std::string> shot = common;
  shot.insert(shot.end(), {"--screenshot=" + png, "file://" + page});
  const Ran screenshot = RunProgram(shot);
  ASSERT_EQ(screenshot.exit_code, 0) << screenshot.out;
  EXPECT_EQ(screenshot.out.find(":CONSOLE("), std::string::npos);
  const std::string image = ReadFile(png);
  ASSERT_GT(image.size(), 1000u);
  EXPECT_EQ(image.substr(1, 3), "PNG");
}

}  // namespace
}  // namespace ticketsim
