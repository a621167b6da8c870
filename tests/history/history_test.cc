// The history arena: bounded, and a killed buyer's events survive it.
#include "sim/history/history.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/test_util.h"

namespace ticketsim {
namespace {

// A buyer's slice holds what it was planned for and drops (and counts) the
// rest instead of writing past its end into the next buyer's slice.
TEST(HistoryTest, ASliceNeverOverflowsIntoTheNext) {
  HistoryArena arena;
  ASSERT_TRUE(arena.Map(2, 3).ok());
  EventWriter first = arena.WriterFor(0);
  for (int i = 0; i < 5; ++i) {
    first.Record({.time_ns = static_cast<uint64_t>(i),
                  .value = i,
                  .kind = EventKind::kQuery});
  }
  EXPECT_EQ(first.dropped(), 2u);
  EXPECT_EQ(arena.EventsOf(0).size(), 3u);
  EXPECT_EQ(arena.EventsOf(1).size(), 0u);
}

// Events are what was recorded, in order, tagged with the buyer.
TEST(HistoryTest, KeepsEventsInOrder) {
  HistoryArena arena;
  ASSERT_TRUE(arena.Map(2, 6).ok());
  EventWriter writer = arena.WriterFor(1);
  writer.Record({.time_ns = 10, .value = 5, .kind = EventKind::kRead});
  writer.Record({.time_ns = 20, .value = 4, .kind = EventKind::kWrite});
  const auto events = arena.EventsOf(1);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, EventKind::kRead);
  EXPECT_EQ(events[0].value, 5);
  EXPECT_EQ(events[1].time_ns, 20u);
  EXPECT_EQ(events[1].buyer, 1u);
}

// A buyer SIGKILLed after recording leaves its events for the parent.
TEST(HistoryTest, AKilledBuyersEventsSurvive) {
  HistoryArena arena;
  ASSERT_TRUE(arena.Map(1, 6).ok());
  const int status = testing::RunInChild([&] {
    EventWriter writer = arena.WriterFor(0);
    writer.Record({.time_ns = 1, .value = 7, .kind = EventKind::kQuery});
    writer.Record({.time_ns = 2, .value = 7, .kind = EventKind::kRead});
    kill(getpid(), SIGKILL);
    return 0;
  });
  ASSERT_TRUE(WIFSIGNALED(status));
  const auto events = arena.EventsOf(0);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].kind, EventKind::kRead);
  EXPECT_EQ(events[1].value, 7);
}

}  // namespace
}  // namespace ticketsim
