// history = "summary": the tallies give the checker's exact counts, the
// same as the full history does.
#include "sim/history/tally.h"

#include <gtest/gtest.h>

#include <random>

#include "sim/check/checker.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::LeavesNothingTest;
using ::ticketsim::testing::RaceScenario;
using ::ticketsim::testing::Ran;
using ::ticketsim::testing::ReadJson;
using ::ticketsim::testing::RunChecked;
using ::ticketsim::testing::RunTicketsimArgs;

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

// The seats sold, in seat order, by buyers 0 0 1 0 1 1 (and one seat
// unsold, skipped): the seller changed three times, with seat maps and with
// lists of seats alike.
TEST(TallyTest, SellerChangesCountEachSeatSoldByAnotherBuyerThanTheLast) {
  const std::vector<uint32_t> sellers = {0, 0, 1, 0, 1, 1};
  for (int64_t attempts : {int64_t{4}, kSeatsListed + 1}) {
    SCOPED_TRACE(::testing::Message() << attempts << " attempts");
    constexpr int64_t kInitial = 20;
    TallyArena tallies;
    ASSERT_TRUE(tallies.Map(2, kInitial, 8, attempts).ok());
    int64_t seat = kInitial;
    for (uint32_t buyer : sellers) {
      if (seat == kInitial - 3) --seat;  // nobody sold this one
      tallies.Count(buyer, EventKind::kWrite, --seat, 0, 0);
    }
    EXPECT_EQ(tallies.SellerChanges(), 3);
  }
}

class SummaryRunTest : public LeavesNothingTest {
 protected:
  // What `ticketsim run` with `flags` and history `history` reports of its
  // purchases: the verdict's counts, the tickets, the violations, and each
  // buyer's books (not its pid or its waits, which are times).
  nlohmann::json Books(const std::vector<std::string>& flags,
                       const std::string& history) {
    const std::string json = tmp_.path() + "/" + history + ".json";
    std::vector<std::string> args = {"run", "--set", "history=" + history,
                                     "--json", json};
    args.insert(args.end(), flags.begin(), flags.end());
    const Ran ran = RunTicketsimArgs(args);
    EXPECT_EQ(ran.exit_code, 0) << ran.out;
    const nlohmann::json report = ReadJson(json);
    if (report.is_discarded()) return nullptr;
    const nlohmann::json& run = report["scenarios"][0]["runs"][0];
    nlohmann::json books = {{"purchases", run["purchases"]},
                            {"tickets", run["tickets"]},
                            {"violations", run["violations"]}};
    for (const nlohmann::json& buyer : run["buyers"]) {
      nlohmann::json kept = buyer;
      for (const char* time : {"pid", "max_wait_us"}) kept.erase(time);
      books["buyers"].push_back(kept);
    }
    return books;
  }
};

// A summary run on shared memory with no delay and no fault makes its
// purchases in a loop of its own, with its checks made once: it must keep
// the books a run recording every event keeps, for every guard of the shm
// store and both methods. One buyer, so that the books are the same every
// time: 5 tickets, 8 attempts, 3 of them sold out.
TEST_F(SummaryRunTest, ASummaryRunOnSharedMemoryKeepsTheBooksOfAFullOne) {
  for (const char* guard : {"none", "named-mutex", "named-semaphore",
                            "file-lock", "robust-mutex"}) {
    for (const char* method : {"read-modify-write", "atomic"}) {
      SCOPED_TRACE(::testing::Message() << guard << ", " << method);
      const std::vector<std::string> flags = {
          "--store",   "shm",      "--guard",    guard,        "--method",
          method,      "--buyers", "1",          "--attempts", "8",
          "--tickets", "5",        "--think-ms", "0,0"};
      const nlohmann::json summary = Books(flags, "summary");
      EXPECT_EQ(summary["purchases"]["confirmed"], 5);
      EXPECT_EQ(summary["purchases"]["sold_out"], 3);
      EXPECT_EQ(summary, Books(flags, "full"));
    }
  }
}

// Buyers contending for a lock in that loop: every ticket sold once, the
// rest sold out, as a full run counts them.
TEST_F(SummaryRunTest, ContendingSummaryBuyersSellEveryTicketOnce) {
  for (const char* guard : {"named-mutex", "robust-mutex"}) {
    SCOPED_TRACE(guard);
    const nlohmann::json books =
        Books({"--store", "shm", "--guard", guard, "--buyers", "3",
               "--attempts", "4000", "--tickets", "10000", "--think-ms", "0,0"},
              "summary");
    EXPECT_EQ(books["purchases"]["confirmed"], 10000);
    EXPECT_EQ(books["purchases"]["sold_out"], 2000);
    EXPECT_EQ(books["tickets"]["remaining"], 0);
    EXPECT_TRUE(books["violations"].empty()) << books["violations"];
  }
}

}  // namespace
}  // namespace ticketsim
