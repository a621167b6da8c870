// The checker alone, on histories written by hand: each rule counts exactly
// and names its witnesses.
#include "sim/check/checker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace ticketsim {
namespace {

// Builds a history buyer by buyer, as the buyers would record it.
class HistoryBuilder {
 public:
  explicit HistoryBuilder(size_t buyers) : events_(buyers) {}

  // A read-modify-write purchase: reads `seat` at `read_ms`, writes seat - 1
  // at `write_ms`.
  HistoryBuilder& Bought(uint32_t buyer, int64_t seat, double read_ms,
                         double write_ms) {
    Add(buyer, read_ms, EventKind::kRead, seat);
    Add(buyer, write_ms, EventKind::kWrite, seat - 1);
    return Next(buyer);
  }
  HistoryBuilder& SoldOut(uint32_t buyer, double ms) {
    Add(buyer, ms, EventKind::kRead, 0);
    Add(buyer, ms, EventKind::kSoldOut, 0);
    return Next(buyer);
  }
  // Read and then died: no outcome.
  HistoryBuilder& DiedAfterReading(uint32_t buyer, int64_t seat, double ms) {
    Add(buyer, ms, EventKind::kRead, seat);
    killed_[buyer] = true;
    return Next(buyer);
  }
  HistoryBuilder& TornQuery(uint32_t buyer, double ms, uint32_t bytes) {
    Add(buyer, ms, EventKind::kQuery, 0, kTorn, bytes);
    return Next(buyer);
  }
  HistoryBuilder& TimedOut(uint32_t buyer, double ms) {
    Add(buyer, ms, EventKind::kFailed, 0, 0,
        static_cast<uint32_t>(Failure::kGuardTimeout));
    return Next(buyer);
  }

  Verdict Check(int64_t initial, std::optional<int64_t> final_count) {
    CheckInput input;
    input.initial = initial;
    input.final_count = final_count;
    input.final_error = "empty file";
    for (size_t b = 0; b < events_.size(); ++b) {
      input.events.emplace_back(events_[b]);
      input.pids.push_back(static_cast<pid_t>(1000 + b));
      input.killed.push_back(killed_.count(b) > 0);
    }
    return ticketsim::Check(input);
  }

 private:
  void Add(uint32_t buyer, double ms, EventKind kind, int64_t value,
           uint8_t flags = 0, uint32_t aux = 0) {
    events_[buyer].push_back(Event{static_cast<uint64_t>(ms * 1e6), value,
                                   buyer, attempt_[buyer], kind, flags, 0,
                                   aux});
  }
  HistoryBuilder& Next(uint32_t buyer) {
    ++attempt_[buyer];
    return *this;
  }

  std::vector<std::vector<Event>> events_;
  std::map<size_t, bool> killed_;
  std::map<uint32_t, uint32_t> attempt_;
};

// Two buyers in turn, each reading what the other left: nothing wrong.
TEST(CheckerTest, PurchasesInTurnAreClean) {
  const Verdict v =
      HistoryBuilder(2).Bought(0, 5, 1, 2).Bought(1, 4, 3, 4).Check(5, 3);
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.confirmed, 2);
}

// The classic: buyers 3 and 7 both read 5 and both write 4. One sale is
// lost, seat 5 is sold twice, and the witness names both buyers.
TEST(CheckerTest, TwoBuyersReadingTheSameCountLoseAnUpdate) {
  const Verdict v = HistoryBuilder(8)
                        .Bought(3, 5, 1.204, 2.0)
                        .Bought(7, 5, 1.209, 2.5)
                        .Check(5, 4);
  EXPECT_EQ(v.CountOf(ViolationKind::kLostUpdate), 1);
  EXPECT_EQ(v.CountOf(ViolationKind::kDuplicateSeat), 1);
  EXPECT_EQ(v.CountOf(ViolationKind::kOversell), 0);
  const Violation& dup = v.violations[1];
  ASSERT_EQ(dup.kind, ViolationKind::kDuplicateSeat);
  ASSERT_EQ(dup.witnesses.size(), 1u);
  EXPECT_EQ(dup.witnesses[0].text,
            "seat 5 was sold twice: buyers 3 and 7 both read 5 (at 1.204 ms "
            "and 1.209 ms) and both wrote 4 (at 2.000 ms and 2.500 ms)");
  EXPECT_NE(v.violations[0].witnesses.at(0).text.find("buyer 7 read 5"),
            std::string::npos);
}

// The lost updates are exactly sold - (initial - final), however the writes
// interleave: here a stale write even raises the count.
TEST(CheckerTest, LostUpdatesAreSoldMinusTheFall) {
  const Verdict v = HistoryBuilder(3)
                        .Bought(0, 5, 1, 2)    // 5 -> 4
                        .Bought(1, 4, 3, 4)    // 4 -> 3
                        .Bought(2, 5, 0.5, 5)  // stale: 3 -> 4
                        .Check(5, 4);
  EXPECT_EQ(v.confirmed, 3);
  EXPECT_EQ(v.CountOf(ViolationKind::kLostUpdate), 2);
  EXPECT_EQ(v.CountOf(ViolationKind::kDuplicateSeat), 1);
}

// Ten buyers selling the one ticket: nine oversold.
TEST(CheckerTest, MoreSalesThanTicketsIsAnOversell) {
  HistoryBuilder h(10);
  for (uint32_t b = 0; b < 10; ++b) h.Bought(b, 1, 0.1 * b, 20 + b);
  const Verdict v = h.Check(1, 0);
  EXPECT_EQ(v.CountOf(ViolationKind::kOversell), 9);
  EXPECT_EQ(v.CountOf(ViolationKind::kLostUpdate), 9);
  EXPECT_EQ(v.CountOf(ViolationKind::kDuplicateSeat), 9);
}

// A buyer that died after reading may or may not have written: the count
// may have fallen by one more than was confirmed, but not by two more.
TEST(CheckerTest, APurchaseCutShortIsIndeterminate) {
  HistoryBuilder h(2);
  h.Bought(0, 5, 1, 2).DiedAfterReading(1, 4, 3);
  EXPECT_TRUE(HistoryBuilder(h).Check(5, 4).ok());  // it did not write
  EXPECT_TRUE(HistoryBuilder(h).Check(5, 3).ok());  // it did
  const Verdict v = h.Check(5, 2);                  // impossible
  EXPECT_EQ(v.indeterminate, 1);
  EXPECT_EQ(v.CountOf(ViolationKind::kCorruptFinal), 1);
}

TEST(CheckerTest, AnEmptyFileIsATornRead) {
  const Verdict v = HistoryBuilder(1).TornQuery(0, 1.5, 0).Check(5, 5);
  EXPECT_EQ(v.CountOf(ViolationKind::kTornRead), 1);
  EXPECT_EQ(v.violations[0].witnesses[0].text,
            "buyer 0's query at 1.500 ms found the file empty");
}

// Told sold out, yet tickets remain at the end.
TEST(CheckerTest, SoldOutWithTicketsLeftIsFalse) {
  const Verdict v = HistoryBuilder(1).SoldOut(0, 1).Check(5, 2);
  EXPECT_EQ(v.CountOf(ViolationKind::kFalseSoldOut), 1);
}

TEST(CheckerTest, AnUnreadableFinalCountIsCorrupt) {
  const Verdict v = HistoryBuilder(1).Check(5, std::nullopt);
  EXPECT_EQ(v.CountOf(ViolationKind::kCorruptFinal), 1);
  EXPECT_NE(v.violations[0].summary.find("empty file"), std::string::npos);
}

TEST(CheckerTest, AGuardTimeoutIsAGuardFailure) {
  const Verdict v = HistoryBuilder(1).TimedOut(0, 5000).Check(5, 5);
  EXPECT_EQ(v.CountOf(ViolationKind::kGuardFailure), 1);
  EXPECT_EQ(v.failed, 1);
}

// Witnesses show how a run went wrong first: the earliest torn reads and
// timeouts, whichever buyer they were, however the history is scanned (a
// buyer at a time); the rest are counted as more.
TEST(CheckerTest, WitnessesAreTheEarliest) {
  HistoryBuilder h(2);
  for (int i = 0; i < 6; ++i) h.TornQuery(0, 10.0 + i, 0);
  for (int i = 0; i < 6; ++i) h.TimedOut(0, 20.0 + i);
  h.TornQuery(1, 1.0, 0).TimedOut(1, 2.0);
  const Verdict v = h.Check(10, 10);
  for (const ViolationKind kind :
       {ViolationKind::kTornRead, ViolationKind::kGuardFailure}) {
    const auto found =
        std::find_if(v.violations.begin(), v.violations.end(),
                     [kind](const Violation& x) { return x.kind == kind; });
    ASSERT_NE(found, v.violations.end());
    EXPECT_EQ(found->count, 7);
    ASSERT_EQ(found->witnesses.size(), kMaxWitnesses);
    EXPECT_EQ(found->unwitnessed, 2);
    // Buyer 1's came first, though buyer 0 is scanned first.
    EXPECT_EQ(found->witnesses[0].buyers, std::vector<uint32_t>{1});
    for (size_t i = 1; i < found->witnesses.size(); ++i) {
      EXPECT_LT(found->witnesses[i - 1].from_ns, found->witnesses[i].from_ns);
    }
  }
}

// Oversold: the sales past the tickets there were, by when they were
// written, are its witnesses.
TEST(CheckerTest, OversellWitnessesAreTheSalesPastTheTickets) {
  const Verdict v = HistoryBuilder(3)
                        .Bought(0, 1, 1.0, 3.0)
                        .Bought(1, 1, 1.5, 4.0)
                        .Bought(2, 1, 2.0, 5.0)
                        .Check(1, 0);
  const auto oversell = std::find_if(
      v.violations.begin(), v.violations.end(),
      [](const Violation& x) { return x.kind == ViolationKind::kOversell; });
  ASSERT_NE(oversell, v.violations.end());
  EXPECT_EQ(oversell->count, 2);
  ASSERT_EQ(oversell->witnesses.size(), 2u);
  EXPECT_EQ(oversell->witnesses[0].text,
            "buyer 1's sale of seat 1, confirmed at 4.000 ms, was sale 2 of 1 "
            "ticket");
  EXPECT_EQ(oversell->witnesses[1].buyers, std::vector<uint32_t>{2});
  EXPECT_EQ(oversell->unwitnessed, 0);
}

}  // namespace
}  // namespace ticketsim
