// history = "summary": the tallies give the checker's exact counts, the
// same as the full history does.
#include "sim/tally.h"

#include <gtest/gtest.h>

#include <random>

#include "sim/checker.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::RaceScenario;
using ::ticketsim::testing::RunChecked;

// Random purchases of every outcome, by `buyers` buyers, fed both to a full
// history and to the tallies: the two verdicts must count alike.
TEST(TallyTest, CountsWhatTheFullHistoryCounts) {
  std::mt19937_64 random(7);
  for (int round = 0; round < 200; ++round) {
    SCOPED_TRACE(::testing::Message() << "round " << round);
    const uint32_t buyers = 1 + random() % 6;
    const int64_t attempts = 1 + random() % 12;
    const int64_t initial = 1 + random() % 40;
    const int64_t final_count = random() % (initial + 1);
    const uint64_t seats = std::min<uint64_t>(initial, buyers * attempts);
    TallyArena tallies;
    ASSERT_TRUE(tallies.Map(buyers, initial, seats, attempts).ok());
    std::vector<std::vector<Event>> events(buyers);
    CheckInput full;
    full.initial = initial;
    full.final_count = final_count;
    TallyInput summary;
    summary.initial = initial;
    summary.final_count = final_count;
    summary.tallies = &tallies;
    for (uint32_t b = 0; b < buyers; ++b) {
      uint64_t time = 0;
      const auto record = [&](uint32_t attempt, EventKind kind,
                              int64_t value = 0, uint8_t flags = 0,
                              uint32_t aux = 0) {
        events[b].push_back({++time, value, b, attempt, kind, flags, 0, aux});
        tallies.Count(b, kind, value, flags, aux);
      };
      bool killed = false;
      for (uint32_t a = 0; a < attempts && !killed; ++a) {
        ++tallies.TallyOf(b)->attempts;
        // A seat the map covers: within `seats` of the top.
        const int64_t seat = initial - static_cast<int64_t>(random() % seats);
        const int64_t query =
            static_cast<int64_t>(random() % (initial + 3)) - 1;
        record(a, EventKind::kQuery, query, random() % 8 == 0 ? kTorn : 0);
        switch (random() % 8) {
          case 0:  // bought by read-modify-write
            record(a, EventKind::kAcquired, 0,
                   random() % 4 == 0 ? kRecovered : 0);
            record(a, EventKind::kRead, seat);
            record(a, EventKind::kWrite, seat - 1);
            record(a, EventKind::kRelease);
            break;
          case 1:  // bought in one atomic step
            record(a, EventKind::kInvoke);
            record(a, EventKind::kTook, seat);
            break;
          case 2:
            record(a, EventKind::kRead, 0);
            record(a, EventKind::kSoldOut, 0);
            break;
          case 3:
            record(a, EventKind::kFailed, 0, 0,
                   static_cast<uint32_t>(Failure::kGuardTimeout));
            break;
          case 4:
            record(a, EventKind::kRead, seat);
            record(a, EventKind::kFailed, 0, 0,
                   static_cast<uint32_t>(Failure::kStoreError));
            break;
          case 5:  // a torn read, flagged or out of range
            record(a, EventKind::kRead, random() % 2 ? 0 : initial + 5,
                   random() % 2 ? kTorn : 0, 3);
            break;
          case 6:  // stopped a while, then bought
            record(a, EventKind::kFault, 10, 0,
                   static_cast<uint32_t>(FaultKind::kPause));
            record(a, EventKind::kRead, seat);
            record(a, EventKind::kWrite, seat - 1);
            break;
          case 7:  // killed between its read and its write
            record(a, EventKind::kRead, seat);
            record(a, EventKind::kFault, 0, 0,
                   static_cast<uint32_t>(FaultKind::kKill));
            killed = true;
            break;
        }
      }
      full.events.emplace_back(events[b]);
      full.pids.push_back(static_cast<pid_t>(1000 + b));
      full.killed.push_back(killed);
      summary.pids.push_back(static_cast<pid_t>(1000 + b));
      summary.killed.push_back(killed);
    }
    const Verdict expected = Check(full);
    const Verdict got = CheckTallies(summary);
    EXPECT_EQ(got.Counts(), expected.Counts());
    EXPECT_EQ(got.attempts, expected.attempts);
    EXPECT_EQ(got.confirmed, expected.confirmed);
    EXPECT_EQ(got.indeterminate, expected.indeterminate);
    EXPECT_EQ(got.sold_out, expected.sold_out);
    EXPECT_EQ(got.failed, expected.failed);
    EXPECT_EQ(got.torn_reads, expected.torn_reads);
    EXPECT_EQ(got.recovered, expected.recovered);
    EXPECT_EQ(got.paused, expected.paused);
    EXPECT_EQ(got.fault_kills, expected.fault_kills);
    EXPECT_EQ(got.killed_buyers, expected.killed_buyers);
    for (uint32_t b = 0; b < buyers; ++b) {
      EXPECT_EQ(got.buyers[b].bought, expected.buyers[b].bought);
      EXPECT_EQ(got.buyers[b].seats, expected.buyers[b].seats);
    }
  }
}

// The classroom rush, run with history = "summary": the same exact counts
// as ever, without witnesses.
TEST(TallyTest, ASummaryRunOfTheRushCountsItExactly) {
  Scenario s = RaceScenario(StoreKind::kFile, GuardKind::kNone,
                            Method::kReadModifyWrite, 10, 1);
  s.initial = 1;
  s.history = HistoryMode::kSummary;
  const auto r = RunChecked(s);
  EXPECT_EQ(r.verdict.confirmed, 10);
  EXPECT_EQ(r.verdict.CountOf(ViolationKind::kLostUpdate), 9);
  EXPECT_EQ(r.verdict.CountOf(ViolationKind::kOversell), 9);
  EXPECT_EQ(r.verdict.CountOf(ViolationKind::kDuplicateSeat), 9);
  EXPECT_TRUE(r.run.history->EventsOf(0).empty());
  for (const Violation& v : r.verdict.violations) {
    EXPECT_TRUE(v.witnesses.empty());
  }
}

// Guarded and summarised, with holders killed: the books still balance.
// Every holder dies, each at the purchase its seeded draws name (with seed
// 7, its first or second, long before the 100 tickets run out). Left to a
// 5% chance per purchase, whether any holder died hung on how many
// purchases the buyers whose draws kill early got before the tickets ran
// out: on some interleavings, none.
TEST(TallyTest, ASummaryRunKeepsTheBooksOfKilledHolders) {
  Scenario s = RaceScenario(StoreKind::kShm, GuardKind::kRobustMutex,
                            Method::kReadModifyWrite, 6, 50);
  s.buyers.think_ms = {0, 0};
  s.faults.kill_holder = 1.0;
  s.history = HistoryMode::kSummary;
  const auto r = RunChecked(s);
  const Verdict& v = r.verdict;
  EXPECT_EQ(v.fault_kills, 6);
  EXPECT_GT(v.indeterminate, 0);
  const int64_t fell = v.initial - *v.final_count;
  EXPECT_LE(v.confirmed, fell);
  EXPECT_LE(fell, v.confirmed + v.indeterminate);
  EXPECT_TRUE(v.ok()) << ListViolations(v.Counts());
}

}  // namespace
}  // namespace ticketsim
