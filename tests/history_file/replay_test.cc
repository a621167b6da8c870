// `--history` under a controlled schedule, then `--replay` of it, through the
// command line as a user runs them: the replay takes the same steps and
// reaches the same verdict, on every store and guard. And the files
// --replay is given that are no history, or the wrong one.
#include "sim/history_file/replay.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "sim/guards/guard.h"
#include "sim/scenario/scenario_file.h"
#include "sim/scenario/scenario_settings.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::Ran;
using ::ticketsim::testing::ReadJson;
using ::ticketsim::testing::RunProgram;
using ::ticketsim::testing::RunTicketsimArgs;
using ::ticketsim::testing::TempDir;

// The verdict's words in a JSON report, with times and pids blanked.
std::string Verdict(const nlohmann::json& report) {
  static const std::regex kTime(R"(\d+\.\d+ (ms|s)\b)");
  static const std::regex kPid(R"(pid \d+)");
  static const std::regex kNs(R"re("(time_ns|from_ns|to_ns)":\d+)re");
  const nlohmann::json& trial = report["scenarios"][0]["runs"][0];
  std::string text = trial["violations"].dump() + trial["tickets"].dump();
  text = std::regex_replace(text, kTime, "T");
  text = std::regex_replace(text, kNs, "\"$1\":T");
  return std::regex_replace(text, kPid, "pid P");
}

const nlohmann::json& Steps(const nlohmann::json& report) {
  return report["scenarios"][0]["runs"][0]["schedule"]["steps"];
}

using Combo = std::tuple<StoreKind, GuardKind>;

std::vector<Combo> AllCombos() {
  std::vector<Combo> combos;
  for (const auto& store : kStoreKinds) {
    if (store.value == StoreKind::kMemory) continue;  // threads only
    for (GuardKind guard : GuardsFor(store.value, BuyerMode::kProcess)) {
      combos.emplace_back(store.value, guard);
    }
  }
  return combos;
}

class ReplayTest : public ::testing::TestWithParam<Combo> {};

TEST_P(ReplayTest, ReplayOfTheHistoryTakesTheSameSteps) {
  const auto [store, guard] = GetParam();
  TempDir dir;
  const std::vector<std::string> setup = {
      "--store",    std::string(WordOf(kStoreKinds, store)),
      "--guard",    std::string(WordOf(kGuardKinds, guard)),
      "--buyers",   "3",
      "--attempts", "2",
      "--tickets",  "3",
      "--think-ms", "1,2",
      "--trials",   "3",
      "--schedule", "pct"};
  std::vector<std::string> first = {"run"};
  first.insert(first.end(), setup.begin(), setup.end());
  for (const std::string& word :
       {std::string("--history"), dir.path() + "/h.jsonl",
        std::string("--json"), dir.path() + "/a.json"}) {
    first.push_back(word);
  }
  const Ran ran = RunTicketsimArgs(first);
  ASSERT_TRUE(ran.exit_code == 0 || ran.exit_code == 1) << ran.out;
  const nlohmann::json a = ReadJson(dir.path() + "/a.json");
  ASSERT_FALSE(a.is_discarded()) << ran.out;
  const nlohmann::json& trials = a["scenarios"][0]["runs"];
  ASSERT_EQ(trials.size(), 3u);

  // Every trial, by its number, replays alone.
  for (int t = 1; t <= 3; ++t) {
    std::vector<std::string> again = {"run"};
    again.insert(again.end(), setup.begin(), setup.end() - 2);  // no pct
    for (const std::string& word :
         {std::string("--replay"), dir.path() + "/h.jsonl",
          std::string("--replay-trial"), std::to_string(t),
          std::string("--json"), dir.path() + "/b.json"}) {
      again.push_back(word);
    }
    const Ran replayed = RunTicketsimArgs(again);
    ASSERT_TRUE(replayed.exit_code == 0 || replayed.exit_code == 1)
        << replayed.out;
    EXPECT_NE(replayed.out.find(fmt::format("replaying trial {} of", t)),
              std::string::npos)
        << replayed.out;
    const nlohmann::json b = ReadJson(dir.path() + "/b.json");
    ASSERT_FALSE(b.is_discarded()) << replayed.out;
    nlohmann::json one = a;
    one["scenarios"][0]["runs"] = nlohmann::json::array({trials[t - 1]});
    EXPECT_EQ(Steps(b), Steps(one)) << "trial " << t;
    EXPECT_FALSE(Steps(b).empty());
    EXPECT_EQ(Verdict(b), Verdict(one)) << "trial " << t;
    EXPECT_EQ(b["scenarios"][0]["runs"][0]["seed"], trials[t - 1]["seed"]);
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryStoreGuard, ReplayTest, ::testing::ValuesIn(AllCombos()),
    [](const ::testing::TestParamInfo<Combo>& info) {
      std::string name =
          fmt::format("{}_{}", WordOf(kStoreKinds, std::get<0>(info.param)),
                      WordOf(kGuardKinds, std::get<1>(info.param)));
      for (char& c : name)
        c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return name;
    });

// Without --replay-trial, the first trial that showed a violation.
TEST(ReplayFileTest, PicksTheFirstTrialThatShowedAViolation) {
  TempDir dir;
  const std::string path = dir.Write(
      "h.jsonl",
      "{\"type\": \"info\", \"f\": \"start\", \"schedule\": \"pct\", "
      "\"trial\": 1}\n"
      "{\"type\": \"info\", \"f\": \"schedule\", \"schedule\": \"pct\", "
      "\"seed\": 7, \"steps\": [0,1], \"violations\": [], \"trial\": 1}\n"
      "{\"type\": \"info\", \"f\": \"schedule\", \"schedule\": \"pct\", "
      "\"seed\": 8, \"steps\": [1,1,0], \"violations\": [\"lost update\"], "
      "\"trial\": 2}\n"
      "{\"type\": \"info\", \"f\": \"schedule\", \"schedule\": \"pct\", "
      "\"seed\": 9, \"steps\": [0], \"violations\": [\"oversell\"], "
      "\"trial\": 3}\n");
  Replay r;
  ASSERT_TRUE(LoadReplay(path, 0, &r).ok());
  EXPECT_EQ(r.trial, 2);
  EXPECT_EQ(r.seed, 8u);
  EXPECT_EQ(r.steps, (std::vector<uint32_t>{1, 1, 0}));
  ASSERT_TRUE(LoadReplay(path, 1, &r).ok());
  EXPECT_EQ(r.seed, 7u);
  const Status missing = LoadReplay(path, 4, &r);
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("no trial 4 (3 trials"), std::string::npos)
      << missing.message();
}

// What is not a history is refused, naming the file (and the line), exit 2.
TEST(ReplayFileTest, BadFilesAreUsageErrors) {
  TempDir dir;
  std::string binary(4096, '\0');
  for (size_t i = 0; i < binary.size(); ++i)
    binary[i] = static_cast<char>(i * 7);
  const struct {
    std::string name, content, message;
  } cases[] = {
      {"empty", "", "holds no schedule"},
      {"binary", binary, "holds no schedule"},
      {"os", "{\"type\": \"info\", \"f\": \"start\", \"schedule\": \"os\"}\n",
       "holds no schedule"},
      {"broken", "{\"f\": \"schedule\", \"steps\": [0, 1\n", ":1: not JSON"},
      {"negative",
       "{\"f\": \"schedule\", \"seed\": 1, \"trial\": 1, \"steps\": [0, -1]}\n",
       ":1: \"steps\" must list buyer numbers"},
      {"noseed", "\n{\"f\": \"schedule\", \"trial\": 1, \"steps\": [0]}\n",
       ":2: a schedule line needs"},
  };
  for (const auto& c : cases) {
    const std::string path = dir.Write(c.name, c.content);
    const Ran ran = RunTicketsimArgs({"run", "--replay", path});
    EXPECT_EQ(ran.exit_code, 2) << c.name << ": " << ran.out;
    EXPECT_NE(ran.out.find("--replay " + path), std::string::npos)
        << c.name << ": " << ran.out;
    EXPECT_NE(ran.out.find(c.message), std::string::npos)
        << c.name << ": " << ran.out;
  }
  const Ran missing =
      RunTicketsimArgs({"run", "--replay", dir.path() + "/nothing"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.out.find("cannot open it"), std::string::npos)
      << missing.out;
  const Ran directory = RunTicketsimArgs({"run", "--replay", dir.path()});
  EXPECT_EQ(directory.exit_code, 2) << directory.out;
  EXPECT_NE(directory.out.find("it is a directory"), std::string::npos)
      << directory.out;
  const Ran lone = RunTicketsimArgs({"run", "--replay-trial", "2"});
  EXPECT_EQ(lone.exit_code, 2);
  EXPECT_NE(lone.out.find("--replay-trial needs --replay FILE"),
            std::string::npos)
      << lone.out;
}

// A FIFO or a device given as the history is refused before it is opened:
// opening a FIFO would wait for a writer, and /dev/zero never ends. (The
// command runs under a time limit, so that waiting fails the test.)
TEST(ReplayFileTest, AFifoOrADeviceIsRefusedNotWaitedOn) {
  TempDir dir;
  const std::string fifo = dir.path() + "/h.jsonl";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const auto& [path, kind] :
       {std::pair{fifo, "a FIFO"},
        std::pair{std::string("/dev/zero"), "a character device"}}) {
    const Ran ran = RunProgram({"/usr/bin/timeout", "-s", "KILL", "30",
                                TICKETSIM_BINARY, "run", "--replay", path});
    EXPECT_EQ(ran.exit_code, 2) << path << ": " << ran.out;
    EXPECT_NE(ran.out.find(fmt::format("--replay {}: it is {}, not a history",
                                       path, kind)),
              std::string::npos)
        << ran.out;
  }
}

// A history recorded with flags replays with none: the replay runs the
// scenario the trial's start line recorded (shared memory, two buyers), not
// the command line's default, and takes the same steps to the same verdict.
// Flags that repeat the scenario are fine; one, or a scenario file, that
// changes it is refused (exit 2), naming the first key it changes.
TEST(ReplayFileTest, AReplayWithoutFlagsRunsTheScenarioTheHistoryRecorded) {
  TempDir dir;
  const std::string history = dir.path() + "/h.jsonl";
  const Ran ran =
      RunTicketsimArgs({"run", "--buyers", "2", "--store", "shm", "--schedule",
                        "pct", "--trials", "200", "--history", history,
                        "--json", dir.path() + "/a.json"});
  ASSERT_TRUE(ran.exit_code == 0 || ran.exit_code == 1) << ran.out;
  const nlohmann::json a = ReadJson(dir.path() + "/a.json");
  ASSERT_FALSE(a.is_discarded()) << ran.out;
  // The trial a replay picks: the first that showed a violation.
  nlohmann::json one = a;
  for (const nlohmann::json& trial : a["scenarios"][0]["runs"]) {
    if (!trial["violations"].empty()) {
      one["scenarios"][0]["runs"] = nlohmann::json::array({trial});
      break;
    }
  }
  ASSERT_FALSE(one["scenarios"][0]["runs"][0]["violations"].empty());

  const Ran replayed = RunTicketsimArgs(
      {"run", "--replay", history, "--json", dir.path() + "/b.json"});
  ASSERT_EQ(replayed.exit_code, 1) << replayed.out;
  const nlohmann::json b = ReadJson(dir.path() + "/b.json");
  ASSERT_FALSE(b.is_discarded()) << replayed.out;
  const nlohmann::json& setup = b["scenarios"][0]["runs"][0]["scenario"];
  EXPECT_EQ(setup["store"]["kind"], "shm") << setup;
  EXPECT_EQ(setup["buyers"]["count"], 2) << setup;
  EXPECT_EQ(b["scenarios"][0]["name"], a["scenarios"][0]["name"]);
  EXPECT_EQ(Steps(b), Steps(one));
  EXPECT_EQ(Verdict(b), Verdict(one));
  EXPECT_EQ(b["scenarios"][0]["runs"][0]["seed"],
            one["scenarios"][0]["runs"][0]["seed"]);

  const Ran same = RunTicketsimArgs(
      {"run", "--replay", history, "--buyers", "2", "--store", "shm"});
  EXPECT_EQ(same.exit_code, 1) << same.out;
  const Ran more =
      RunTicketsimArgs({"run", "--replay", history, "--buyers", "3"});
  EXPECT_EQ(more.exit_code, 2) << more.out;
  EXPECT_NE(more.out.find("--replay " + history +
                          ": buyers.count: the trial ran with buyers.count = "
                          "2, but --buyers 3 makes it 3"),
            std::string::npos)
      << more.out;
  const std::string file = dir.Write("file.toml", "[store]\nkind = \"file\"\n");
  const Ran other = RunTicketsimArgs({"run", file, "--replay", history});
  EXPECT_EQ(other.exit_code, 2) << other.out;
  EXPECT_NE(other.out.find(": store.kind: the trial ran with store.kind = "
                           "\"shm\", but " +
                           file + ":2:8 makes it \"file\""),
            std::string::npos)
      << other.out;
}

// Every key a scenario can set is recorded, but those that name it apart
// (name, description), the steps (the schedule line lists them) and
// store.url (it may hold a password); and the settings read back load the
// same scenario.
TEST(ScenarioSettingsTest, EveryKeyIsRecordedAndReadsBackTheSame) {
  Scenario full;
  full.events = {"concert", "parking"};
  full.buyers.hosts = {"a"};
  full.faults.partition_host = {"a", 1, 2};
  full.expect.violations = Expectation::kSome;
  full.expect.kinds = {ViolationKind::kTornRead};
  full.program.command = {"python3", "buyer.py"};
  full.program.sold_pattern = "seat (\\d+)";
  const nlohmann::ordered_json recorded = ScenarioSettings(full);
  for (const ScenarioKeyHelp& key : ScenarioKeys()) {
    const bool left_out = key.key == "name" || key.key == "description" ||
                          key.key == "run.steps" || key.key == "store.url";
    EXPECT_EQ(recorded.contains(std::string(key.key)), !left_out) << key.key;
  }

  LoadedScenario given;
  const Status loaded = LoadScenarioText("rich.toml", R"(
events = ["concert", "parking"]
[tickets]
initial = 7
[store]
kind = "file"
write = "replace"
slow_write_ms = 0.25
[guard]
kind = "file-lock"
timeout_ms = 1234
order = "opposite"
acquire = "try-backoff"
backoff_ms = [0.5, 2]
[buyers]
count = 3
attempts = 4
think_ms = [0.1, 0.3]
seed = 9
[faults]
kill_holder = 0.125
[expect]
violations = "some"
kinds = ["deadlock"]
[run]
schedule = "pct"
pct_depth = 3
)",
                                         {}, &given);
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  const nlohmann::ordered_json settings = ScenarioSettings(given.scenario);
  std::vector<Override> overrides;
  ASSERT_TRUE(SettingsAsOverrides(nlohmann::json::parse(settings.dump()),
                                  "--replay h.jsonl:1", &overrides)
                  .ok());
  LoadedScenario back;
  const Status read_back = LoadScenario("", overrides, &back);
  ASSERT_TRUE(read_back.ok()) << read_back.message();
  EXPECT_EQ(ScenarioSettings(back.scenario), settings);
  EXPECT_EQ(FirstDifferentKey(settings, ScenarioSettings(back.scenario), {}),
            std::nullopt);
  back.scenario.buyers.count = 4;
  EXPECT_EQ(FirstDifferentKey(settings, ScenarioSettings(back.scenario), {}),
            "buyers.count");
}

// A replay whose steps do not fit the scenario it is given.
TEST(ReplayFileTest, StepsThatDoNotFitTheScenarioAreRefused) {
  TempDir dir;
  const std::string path = dir.Write(
      "h.jsonl",
      "{\"f\": \"schedule\", \"seed\": 1, \"trial\": 1, \"steps\": [0, 5]}\n");
  const Ran ran = RunTicketsimArgs({"run", "--buyers", "2", "--replay", path});
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_NE(ran.out.find("names buyer 5, but there are 2 buyers"),
            std::string::npos)
      << ran.out;
  // A list that names a buyer who cannot move then: buyer 0 has finished.
  const Ran stuck = RunTicketsimArgs(
      {"run", "--buyers", "2", "--store", "shm", "--steps", "0,0,0,0,0"});
  EXPECT_EQ(stuck.exit_code, 2) << stuck.out;
  EXPECT_NE(stuck.out.find("--steps 0,0,0,0,0: step 4 of the list names "
                           "buyer 0, which cannot take a step now: it has "
                           "finished"),
            std::string::npos)
      << stuck.out;
}

}  // namespace
}  // namespace ticketsim
