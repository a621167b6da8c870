#include "sim/timeline/timeline_sample.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace ticketsim {

namespace {

// A witness's mark at `t` concerns `buyer`: its lane comes first in a
// sample, and the window starts a little before the first of them.
void Note(Witnesses* w, uint32_t buyer, int64_t t) {
  w->buyers.insert(buyer);
  if (w->first_ns < 0 || t < w->first_ns) w->first_ns = t;
}

// The seat a confirmed sale of the first event sold, if `e` is one.
std::optional<int64_t> SeatSold(const Event& e) {
  if (e.event != 0) return std::nullopt;
  if (e.kind == EventKind::kWrite) return e.value + 1;
  if (e.kind == EventKind::kTook && (e.flags & kNoSeat) == 0) return e.value;
  return std::nullopt;
}

// Up to kWitnessSeats seats sold more than once, a colour each, and the
// sales of them.
void FindSeatsSoldTwice(const RunResult& run, Witnesses* w) {
  const size_t buyers = run.served_by.size();
  std::vector<int64_t> seats;
  for (uint32_t b = 0; b < buyers; ++b) {
    for (const Event& e : run.history->EventsOf(b)) {
      if (const auto seat = SeatSold(e)) seats.push_back(*seat);
    }
  }
  std::sort(seats.begin(), seats.end());
  // The highest seats sell first: they are the race at the start.
  for (size_t i = seats.size(); i > 1 && w->seat_group.size() < kWitnessSeats;
       --i) {
    if (seats[i - 1] == seats[i - 2] && !w->seat_group.contains(seats[i - 1])) {
      w->seat_group.emplace(seats[i - 1], w->seat_group.size());
    }
  }
  for (uint32_t b = 0; b < buyers; ++b) {
    for (const Event& e : run.history->EventsOf(b)) {
      const auto seat = SeatSold(e);
      if (seat && w->seat_group.contains(*seat)) {
        Note(w, b, static_cast<int64_t>(e.time_ns));
      }
    }
  }
}

// The holds a lock overlap's witnesses name.
void FindOverlapHolds(const Verdict& verdict, Witnesses* w) {
  for (const Violation& v : verdict.violations) {
    if (v.kind != ViolationKind::kLockOverlap) continue;
    for (const Witness& witness : v.witnesses) {
      for (const WitnessStep& step : witness.steps) {
        if (step.what == "hold") {
          w->overlap_holds.emplace(step.buyer,
                                   static_cast<int64_t>(step.time_ns));
        }
      }
    }
  }
}

// A torn read's witness in colour `color`: its reader's read, the writer's
// truncation, and the line between them.
void FindTornLink(const Witness& witness, size_t color, Witnesses* w) {
  Witnesses::Link link{0, -1, 0, -1, -1, color};
  for (const WitnessStep& step : witness.steps) {
    const auto t = static_cast<int64_t>(step.time_ns);
    if (step.what == "query" || step.what == "read") {
      link.reader = step.buyer;
      link.read_ns = t;
      w->torn_reader[{step.buyer, t}] = color;
    } else if (step.what == "truncate") {
      link.writer = step.buyer;
      link.from_ns = t;
      w->torn_writer[{step.buyer, t}] = color;
    } else if (step.what == "write") {
      link.to_ns = t;
    }
  }
  if (link.read_ns >= 0 && link.from_ns >= 0) w->links.push_back(link);
}

// Every witness's steps concern their buyers; a torn read's is drawn.
void FindWitnessSteps(const Verdict& verdict, Witnesses* w) {
  for (const Violation& v : verdict.violations) {
    for (size_t i = 0; i < v.witnesses.size(); ++i) {
      const Witness& witness = v.witnesses[i];
      for (const WitnessStep& step : witness.steps) {
        Note(w, step.buyer, static_cast<int64_t>(step.time_ns));
      }
      if (v.kind != ViolationKind::kTornRead) continue;
      FindTornLink(witness, i % std::size(kWitnessColors), w);
    }
  }
}

// The lanes: all, or the witnesses' first and then evenly spread others.
std::vector<uint32_t> ChooseLanes(uint32_t buyers, const Witnesses& witnesses) {
  std::vector<uint32_t> lanes;
  if (buyers <= kMaxLanes) {
    for (uint32_t b = 0; b < buyers; ++b) lanes.push_back(b);
    return lanes;
  }
  std::set<uint32_t> chosen;
  for (uint32_t b : witnesses.buyers) {
    if (chosen.size() < kMaxLanes / 2 && b < buyers) chosen.insert(b);
  }
  const size_t wanted = kMaxLanes - chosen.size();
  for (size_t i = 0; i < wanted; ++i) {
    chosen.insert(static_cast<uint32_t>(i * buyers / wanted));
  }
  // Where a spread lane was a witness's already, the next free one.
  for (uint32_t b = 0; chosen.size() < kMaxLanes && b < buyers; ++b) {
    chosen.insert(b);
  }
  lanes.assign(chosen.begin(), chosen.end());
  return lanes;
}

// The window of time: the whole run, or, when the lanes hold more than
// kMaxPurchases attempts (`in_lanes`), a window that holds about
// kMaxPurchases of them, at an even rate, starting a little before the
// first witness.
void ChooseWindow(int64_t in_lanes, int64_t end, const Witnesses& witnesses,
                  Sample* s) {
  s->from_ns = 0;
  s->to_ns = end;
  s->shown_attempts = in_lanes;
  if (in_lanes <= static_cast<int64_t>(kMaxPurchases)) return;
  s->all_time = false;
  const double share = static_cast<double>(kMaxPurchases) / in_lanes;
  const int64_t length = std::max<int64_t>(1000, end * share);
  const int64_t anchor = std::max<int64_t>(0, witnesses.first_ns);
  s->from_ns = std::max<int64_t>(0, anchor - length / 5);
  s->to_ns = std::min<int64_t>(end, s->from_ns + length);
  s->shown_attempts = 0;
}

}  // namespace

Witnesses FindWitnesses(const RunResult& run, const Verdict& verdict) {
  Witnesses w;
  if (verdict.CountOf(ViolationKind::kDuplicateSeat) > 0) {
    FindSeatsSoldTwice(run, &w);
  }
  FindOverlapHolds(verdict, &w);
  FindWitnessSteps(verdict, &w);
  return w;
}

Sample ChooseSample(const RunResult& run, const Witnesses& witnesses) {
  Sample s;
  const uint32_t buyers = static_cast<uint32_t>(run.served_by.size());
  std::vector<int64_t> attempts(buyers, 0);
  for (uint32_t b = 0; b < buyers; ++b) {
    const auto events = run.history->EventsOf(b);
    if (events.empty()) continue;
    attempts[b] = int64_t{events.back().attempt} + 1;
    s.total_attempts += attempts[b];
  }
  s.lanes = ChooseLanes(buyers, witnesses);
  s.all_lanes = buyers <= kMaxLanes;
  int64_t in_lanes = 0;
  for (uint32_t b : s.lanes) in_lanes += attempts[b];
  ChooseWindow(in_lanes, RunEndNs(run), witnesses, &s);
  return s;
}

std::span<const Event> EventsInWindow(const RunResult& run, uint32_t b,
                                      const Sample& s) {
  const auto events = run.history->EventsOf(b);
  if (s.all_time) return events;
  const auto first = std::lower_bound(
      events.begin(), events.end(), s.from_ns, [](const Event& e, int64_t t) {
        return static_cast<int64_t>(e.time_ns) < t;
      });
  const auto last = std::upper_bound(
      first, events.end(), s.to_ns, [](int64_t t, const Event& e) {
        return t < static_cast<int64_t>(e.time_ns);
      });
  return {first, last};
}

int64_t RunEndNs(const RunResult& run) {
  if (run.ended_by != RunEnd::kNone && run.ended_ns > 0) {
    return static_cast<int64_t>(run.ended_ns);
  }
  int64_t end = std::llround(run.seconds * 1e9);
  if (run.history != nullptr) {
    for (uint32_t b = 0; b < run.served_by.size(); ++b) {
      const auto events = run.history->EventsOf(b);
      if (events.empty()) continue;
      end = std::max(end, static_cast<int64_t>(events.back().time_ns));
    }
  }
  return std::max<int64_t>(end, 1);
}

}  // namespace ticketsim
