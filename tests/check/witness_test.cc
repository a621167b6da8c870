// Witnesses: each carries its facts beside its sentence (the JSON report
// gives both), a torn read names the writer whose emptied file it found,
// and a list cut at the first few says how many more there were.
//
// The races are forced with scripted steps (--steps), so every verdict and
// witness here is the same on every run.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::Ran;
using ::ticketsim::testing::ReadJson;
using ::ticketsim::testing::RunTicketsimArgs;
using ::ticketsim::testing::TempDir;

const nlohmann::json* FindViolation(const nlohmann::json& report,
                                    const std::string& kind) {
  for (const nlohmann::json& v :
       report["scenarios"][0]["runs"][0]["violations"]) {
    if (v["kind"] == kind) return &v;
  }
  return nullptr;
}

// Two buyers, 8 tickets, 8 attempts each, on shared memory with no guard:
// each round both read before either writes, so all 8 seats are sold twice.
std::vector<std::string> EightDuplicates(const std::string& json) {
  std::string steps = "0,0,1,1,0,1";
  for (int i = 1; i < 8; ++i) steps.append(",0,0,1,1,0,1");
  return {"run",    "--store",    "shm", "--buyers",   "2", "--tickets",
          "8",      "--attempts", "8",   "--think-ms", "0", "--schedule",
          "seeded", "--steps",    steps, "--json",     json};
}

TEST(WitnessTest, CutListsSayHowManyMore) {
  TempDir dir;
  const std::string json = dir.path() + "/r.json";
  const Ran ran = RunTicketsimArgs(EightDuplicates(json), dir.path());
  ASSERT_EQ(ran.exit_code, 1) << ran.out;  // no [expect]: a violation fails
  // Text: five witnesses, then the rest counted.
  EXPECT_NE(ran.out.find("DUPLICATE SEAT x8: 8 seats sold more than once"),
            std::string::npos)
      << ran.out;
  EXPECT_NE(ran.out.find("    - and 3 more\n"), std::string::npos) << ran.out;
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded());
  for (const std::string kind : {"duplicate seat", "lost update", "oversell"}) {
    const nlohmann::json* v = FindViolation(report, kind);
    ASSERT_NE(v, nullptr) << kind;
    EXPECT_EQ((*v)["witnesses"].size(), 5u) << kind;
    EXPECT_EQ((*v)["more"], 3) << kind;
  }
}

// Each duplicate-seat witness in the JSON report: its seat, both buyers,
// what each read and wrote, and the span of those steps.
TEST(WitnessTest, JsonWitnessesCarryTheirFacts) {
  TempDir dir;
  const std::string json = dir.path() + "/r.json";
  const Ran ran = RunTicketsimArgs(EightDuplicates(json), dir.path());
  ASSERT_EQ(ran.exit_code, 1) << ran.out;
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded());
  EXPECT_EQ(report["version"], 3);
  const nlohmann::json* dup = FindViolation(report, "duplicate seat");
  ASSERT_NE(dup, nullptr);
  for (const nlohmann::json& w : (*dup)["witnesses"]) {
    EXPECT_EQ(w["kind"], "duplicate seat");
    ASSERT_EQ(w["seats"].size(), 1u);
    const int64_t seat = w["seats"][0];
    EXPECT_EQ(w["buyers"], nlohmann::json::array({0, 1})) << w.dump();
    EXPECT_EQ(w["read"], nlohmann::json::array({seat, seat})) << w.dump();
    EXPECT_EQ(w["written"], nlohmann::json::array({seat - 1, seat - 1}))
        << w.dump();
    ASSERT_EQ(w["steps"].size(), 4u);
    EXPECT_EQ(w["from_ns"], w["steps"][0]["time_ns"]);
    EXPECT_EQ(w["to_ns"], w["steps"][3]["time_ns"]);
    uint64_t last = 0;
    for (const nlohmann::json& step : w["steps"]) {
      EXPECT_GE(step["time_ns"].get<uint64_t>(), last);
      last = step["time_ns"];
    }
    EXPECT_NE(w["text"].get<std::string>().find("seat " + std::to_string(seat) +
                                                " was sold twice"),
              std::string::npos);
  }
}

// Buyer 1's query falls between buyer 0's truncate and its write: the
// witness names buyer 0 as the writer, with both times, and its steps hold
// the truncate and the write.
TEST(WitnessTest, TornReadNamesTheWriter) {
  TempDir dir;
  const std::string json = dir.path() + "/r.json";
  const Ran ran = RunTicketsimArgs(
      {"run", "--store", "file", "--write", "truncate", "--buyers", "2",
       "--tickets", "1", "--attempts", "1", "--think-ms", "0", "--schedule",
       "seeded", "--steps", "0,0,0,1", "--json", json},
      dir.path());
  ASSERT_EQ(ran.exit_code, 1) << ran.out;
  const nlohmann::json report = ReadJson(json);
  const nlohmann::json* torn = FindViolation(report, "torn read");
  ASSERT_NE(torn, nullptr) << ran.out;
  const nlohmann::json& w = (*torn)["witnesses"][0];
  const std::string text = w["text"];
  EXPECT_TRUE(text.starts_with("buyer 1's query at ")) << text;
  EXPECT_NE(text.find("found the file empty: buyer 0 had truncated it at "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(" and wrote it at "), std::string::npos) << text;
  EXPECT_EQ(w["buyers"], nlohmann::json::array({1, 0})) << w.dump();
  std::vector<std::string> what;
  for (const nlohmann::json& step : w["steps"]) what.push_back(step["what"]);
  EXPECT_EQ(what, (std::vector<std::string>{"truncate", "query", "write"}))
      << w.dump();
  // The writer's write, with the count it wrote.
  EXPECT_EQ(w["written"], nlohmann::json::array({0})) << w.dump();
  EXPECT_NE(ran.out.find(text), std::string::npos);
}

}  // namespace
}  // namespace ticketsim
