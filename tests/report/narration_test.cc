// The narration (--narrate) tells what happened as it happened: a guard is
// never told as held by more buyers than it lets in, a wait names its
// holder, a back-off gives back only what was told taken, ticketsim's own
// acts are told in its own words at the time it did them, and a story cut
// short keeps every witness's events.
#include "sim/report/narration.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdio.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sim/scenario/scenario_file.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::CheckedRun;
using ::ticketsim::testing::Ran;
using ::ticketsim::testing::RunChecked;
using ::ticketsim::testing::RunTicketsimArgs;
using ::ticketsim::testing::TempDir;

const std::string kLibrary = std::string(TICKETSIM_SOURCE_DIR) + "/scenarios/";

// Runs library scenario `name` with --narrate and `more`, from a directory
// of its own.
Ran Narrate(const std::string& name,
            const std::vector<std::string>& more = {}) {
  TempDir dir;
  std::vector<std::string> args = {"run", kLibrary + name + ".toml",
                                   "--narrate"};
  args.insert(args.end(), more.begin(), more.end());
  return RunTicketsimArgs(args, dir.path());
}

// The story's lines (those with a time), from a ticketsim output.
std::vector<std::string> StoryLines(const std::string& out) {
  std::vector<std::string> lines;
  std::istringstream in(out);
  bool story = false;
  static const std::regex kTimed(R"(^\s+\d+\.\d{3}  (.*)$)");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("What happened")) story = true;
    if (story && line.empty()) break;
    std::smatch m;
    if (story && std::regex_match(line, m, kTimed)) lines.push_back(m[1]);
  }
  return lines;
}

// Follows who holds which guard through the story; fails the test if one
// is told held by more buyers than `permits`, or given back by a buyer that
// was not told to hold it.
// With `released_at_death`, a holder killed or crashed (told by its fault's
// line) holds nothing from then on: the kernel, the database or the next
// locker of a robust mutex takes the guard back.
void CheckHolders(const std::vector<std::string>& lines, size_t permits,
                  const std::string& where, bool released_at_death = false) {
  static const std::regex kDies(
      R"(^buyer (\d+) (is killed|crashes) .*\((kill_holder|crash_before_write)\)$)");
  static const std::regex kHeldBy(
      R"(held by buyers? (\d+(?:(?:, | and )\d+)*))");
  static const std::regex kTakes(
      R"(^buyer (\d+) takes (the guard|\w+'s guard))");
  static const std::regex kLetsGo(
      R"(^buyer (\d+) lets go of (the guard|\w+'s guard))");
  static const std::regex kBacksOff(
      R"(^buyer (\d+) finds .* held.*?(?:, gives back (.*),)? and backs off$)");
  std::map<std::string, std::set<std::string>> holders;
  for (const std::string& line : lines) {
    std::smatch m;
    if (std::regex_search(line, m, kHeldBy)) {
      // A wait names at most as many holders as the guard lets in.
      const std::string list = m[1];
      const size_t named = 1 + std::count(list.begin(), list.end(), ',') +
                           (list.find(" and ") != std::string::npos);
      EXPECT_LE(named, permits) << where << ": " << line;
    }
    if (released_at_death && std::regex_match(line, m, kDies)) {
      for (auto& [guard, holders] : holders) holders.erase(m[1]);
    } else if (std::regex_search(line, m, kTakes)) {
      std::set<std::string>& h = holders[m[2]];
      EXPECT_FALSE(h.contains(m[1])) << where << ": " << line;
      h.insert(m[1]);
      EXPECT_LE(h.size(), permits) << where << ": " << line;
    } else if (std::regex_search(line, m, kLetsGo)) {
      EXPECT_EQ(holders[m[2]].erase(m[1]), 1u)
          << where << ": let go untold taken: " << line;
    } else if (std::regex_match(line, m, kBacksOff) && m[2].matched) {
      static const std::regex kEvent(R"((\w+)'s)");
      const std::string given = m[2];
      for (std::sregex_iterator e(given.begin(), given.end(), kEvent), end;
           e != end; ++e) {
        EXPECT_EQ(holders[(*e)[1].str() + "'s guard"].erase(m[1]), 1u)
            << where << ": gave back untold taken: " << line;
      }
    }
  }
}

// 50 seeds of the guarded rush: the release is stamped before the unlock,
// so the order told is the order that happened.
TEST(NarrationTest, GuardedRushNeverHasTwoHolders) {
  for (int seed = 1; seed <= 50; ++seed) {
    const Ran ran =
        Narrate("02-rush-guarded", {"--seed", std::to_string(seed)});
    ASSERT_EQ(ran.exit_code, 0) << ran.out;
    const std::vector<std::string> lines = StoryLines(ran.out);
    const std::string where = "seed " + std::to_string(seed);
    CheckHolders(lines, 1, where);
    int takes = 0, sold_out = 0;
    for (const std::string& line : lines) {
      takes += line.find("takes the guard") != std::string::npos;
      sold_out += line.find("sold out") != std::string::npos;
    }
    EXPECT_EQ(takes, 10) << where;
    EXPECT_EQ(sold_out, 9) << where;
  }
}

// The title comes before the story; a read of 0 is told once, as sold out;
// a waiting buyer is told waiting, with its holder. Under a seeded schedule,
// so that the buyers ask for the guard in the same order every time.
TEST(NarrationTest, TitleFirstWaitsNamedAndSoldOutOnce) {
  const Ran ran = Narrate("02-rush-guarded", {"--schedule", "seeded"});
  // Seeded, some queries (unguarded in 02) fall in a write's empty file:
  // torn reads, so 02's [expect] of none is not met.
  ASSERT_EQ(ran.exit_code, 1) << ran.out;
  EXPECT_TRUE(ran.out.starts_with("The rush with its lock\n")) << ran.out;
  // Once: the report below the story does not repeat the title.
  EXPECT_EQ(ran.out.find("The rush with its lock", 1), std::string::npos);
  EXPECT_LT(ran.out.find("seed 42"), ran.out.find("What happened"));
  EXPECT_LT(ran.out.find("What happened"), ran.out.find("verdict"));
  const std::vector<std::string> lines = StoryLines(ran.out);
  static const std::regex kWaits(
      R"(^buyer \d+ waits for the guard, held by buyer \d+$)");
  int waits = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    waits += std::regex_match(lines[i], kWaits);
    EXPECT_FALSE(std::regex_match(lines[i], std::regex(R"(buyer \d+ reads 0)")))
        << "a read of 0 told apart from its sold out: " << lines[i];
  }
  EXPECT_GT(waits, 0) << ran.out;
  CheckHolders(lines, 1, "02 seeded");
}

// The deadlock told as it stood: each buyer of the cycle waits for the
// guard the other holds, named; ticketsim finds it and ends the buyers, in
// its own words, and no buyer is told "dead".
TEST(NarrationTest, DeadlockToldInTicketsimsWords) {
  const Ran ran = Narrate("15-deadlock");
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  const std::vector<std::string> lines = StoryLines(ran.out);
  ASSERT_GE(lines.size(), 4u) << ran.out;
  CheckHolders(lines, 1, "15-deadlock");
  EXPECT_TRUE(std::regex_search(
      ran.out,
      std::regex(R"(buyer \d+ waits for parking's guard, held by buyer \d+)")))
      << ran.out;
  EXPECT_TRUE(std::regex_search(
      ran.out,
      std::regex(R"(buyer \d+ waits for concert's guard, held by buyer \d+)")))
      << ran.out;
  EXPECT_NE(lines[lines.size() - 2].find("ticketsim finds a deadlock: buyer"),
            std::string::npos)
      << ran.out;
  EXPECT_EQ(lines.back(), "ticketsim ends buyers 0, 1, 2 and 3: deadlock")
      << ran.out;
  EXPECT_EQ(ran.out.find("is dead"), std::string::npos) << ran.out;
}

// A holder killed inside: the kill is told when it happened, by the fault's
// own line, then what ticketsim saw and did. Seeded: no buyer moves once the
// holder is dead (under the kernel's schedule, one that ticketsim's kill has
// not reached yet may still query after the run's end is told).
TEST(NarrationTest, KilledHolderToldWhenKilled) {
  const Ran ran =
      Narrate("18-killed-holder-named-mutex", {"--schedule", "seeded"});
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  const std::vector<std::string> lines = StoryLines(ran.out);
  ASSERT_GE(lines.size(), 3u);
  static const std::regex kKilled(
      R"(buyer (\d+) is killed \(SIGKILL\) inside .*\(kill_holder\))");
  size_t killed = lines.size();
  std::smatch m;
  for (size_t i = 0; i < lines.size() && killed == lines.size(); ++i) {
    if (std::regex_match(lines[i], m, kKilled)) killed = i;
  }
  ASSERT_LT(killed, lines.size() - 2) << ran.out;
  EXPECT_EQ(lines[lines.size() - 2],
            "ticketsim sees buyer " + m[1].str() +
                " dead, holding the guard, which nothing releases")
      << ran.out;
  EXPECT_TRUE(std::regex_match(
      lines.back(),
      std::regex(R"(ticketsim ends buyers? [\d, and]+: abandoned lock)")))
      << ran.out;
  EXPECT_EQ(ran.out.find("is dead"), std::string::npos) << ran.out;
  CheckHolders(lines, 1, "18-killed-holder");
}

// Try-backoff under a seeded schedule (the same steps for the same seed):
// every back-off gives back only what was told taken.
TEST(NarrationTest, BackoffGivesBackWhatWasToldTaken) {
  for (int seed = 1; seed <= 3; ++seed) {
    const Ran ran =
        Narrate("17-deadlock-fix-try-backoff",
                {"--schedule", "seeded", "--seed", std::to_string(seed)});
    ASSERT_EQ(ran.exit_code, 0) << ran.out;
    const std::vector<std::string> lines = StoryLines(ran.out);
    int backoffs = 0;
    for (const std::string& line : lines) {
      backoffs += line.find("backs off") != std::string::npos;
    }
    EXPECT_GT(backoffs, 0) << "seed " << seed;
    CheckHolders(lines, 1, "seed " + std::to_string(seed));
  }
  // The history says the same: which guard was held, what was given back.
  TempDir dir;
  const Ran ran = RunTicketsimArgs(
      {"run", kLibrary + "17-deadlock-fix-try-backoff.toml", "--schedule",
       "seeded", "--seed", "1", "--history", dir.path() + "/h.jsonl"},
      dir.path());
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  std::ifstream in(dir.path() + "/h.jsonl");
  int backoffs = 0;
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j["f"] != "backoff") continue;
    ++backoffs;
    const std::string held = j["held"];
    ASSERT_EQ(j["gave_back"].size(), 1u) << line;
    EXPECT_NE(j["gave_back"][0], held) << line;
  }
  EXPECT_GT(backoffs, 0);
}

// A holder killed (19, robust mutex) or crashed (24, file lock) inside
// holds nothing after its death: nobody waits for a dead buyer, and the
// next one takes the guard alone.
TEST(NarrationTest, ADeadHolderOfAReleasedGuardHoldsNothing) {
  for (const std::string name :
       {"19-killed-holder-robust-mutex", "24-crash-before-write"}) {
    const Ran ran = Narrate(name);
    ASSERT_EQ(ran.exit_code, 0) << ran.out;
    const std::vector<std::string> lines = StoryLines(ran.out);
    CheckHolders(lines, 1, name, /*released_at_death=*/true);
    std::set<std::string> dead;
    static const std::regex kDead(R"(^buyer (\d+) (is killed|crashes) .*)");
    static const std::regex kHeldBy(R"(held by buyer (\d+))");
    int deaths = 0;
    for (const std::string& line : lines) {
      std::smatch m;
      if (std::regex_match(line, m, kDead)) {
        dead.insert(m[1]);
        ++deaths;
      } else if (std::regex_search(line, m, kHeldBy)) {
        EXPECT_FALSE(dead.contains(m[1])) << name << ": " << line;
      }
    }
    EXPECT_GT(deaths, 0) << name << "\n" << ran.out;
  }
}

// A stalled holder is continued by ticketsim, told in its words.
TEST(NarrationTest, AStalledHolderIsContinued) {
  const Ran ran = Narrate("23-stalled-holder");
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  const std::vector<std::string> lines = StoryLines(ran.out);
  static const std::regex kStopped(R"(^buyer (\d+) is stopped \(SIGSTOP\).*)");
  int stops = 0, continues = 0;
  std::string stopped;
  for (const std::string& line : lines) {
    std::smatch m;
    if (std::regex_match(line, m, kStopped)) {
      ++stops;
      stopped = m[1];
    } else if (line.starts_with("ticketsim continues buyer " + stopped +
                                " (SIGCONT)")) {
      ++continues;
    }
  }
  EXPECT_GT(stops, 0) << ran.out;
  EXPECT_EQ(continues, stops) << ran.out;
  CheckHolders(lines, 1, "23-stalled-holder");
}

// With several trials, the first is told, and the output says so.
TEST(NarrationTest, TrialsTellTheFirst) {
  const Ran ran = Narrate("02-rush-guarded", {"--trials", "3"});
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_TRUE(ran.out.starts_with("trial 1 of 3 (seed 42), told")) << ran.out;
  EXPECT_EQ(ran.out.find("What happened"), ran.out.rfind("What happened"));
}

// A story cut at 5 lines still tells every event a witness rests on, and
// says how many it left out.
TEST(NarrationTest, CutStoryKeepsTheWitnesses) {
  LoadedScenario loaded;
  ASSERT_TRUE(
      LoadScenario(kLibrary + "01-rush-unguarded.toml", {}, &loaded).ok());
  const CheckedRun r = RunChecked(loaded.scenario);
  ASSERT_FALSE(r.verdict.ok());
  char* text = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  WriteNarration(out, r.run, r.verdict, 5);
  fclose(out);
  const std::string story(text, size);
  free(text);
  EXPECT_TRUE(std::regex_search(story, std::regex(R"(\d+ events? left out)")))
      << story;
  size_t steps = 0;
  for (const Violation& v : r.verdict.violations) {
    for (const Witness& w : v.witnesses) {
      for (const WitnessStep& step : w.steps) {
        if (step.what != "write" && step.what != "read") continue;
        ++steps;
        const std::string line =
            fmt::format("{:>10.3f}  buyer {} {}s {}", step.time_ns / 1e6,
                        step.buyer, step.what, *step.value);
        EXPECT_NE(story.find(line), std::string::npos) << line << "\n" << story;
      }
    }
  }
  EXPECT_GT(steps, 0u);
}

}  // namespace
}  // namespace ticketsim
