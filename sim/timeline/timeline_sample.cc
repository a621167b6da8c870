#include "sim/timeline/timeline_sample.h"

#include <algorithm>
#include <cmath>

namespace ticketsim {

Witnesses FindWitnesses(const RunResult& run, const Verdict& verdict) {
  Witnesses w;
  const size_t buyers = run.served_by.size();
  const auto note = [&w](uint32_t buyer, int64_t t) {
    w.buyers.insert(buyer);
    if (w.first_ns < 0 || t < w.first_ns) w.first_ns = t;
  };
  if (verdict.CountOf(ViolationKind::kDuplicateSeat) > 0) {
    std::vector<int64_t> seats;
    for (uint32_t b = 0; b < buyers; ++b) {
      for (const Event& e : run.history->EventsOf(b)) {
        if (e.event != 0) continue;
        if (e.kind == EventKind::kWrite) seats.push_back(e.value + 1);
        if (e.kind == EventKind::kTook && (e.flags & kNoSeat) == 0) {
          seats.push_back(e.value);
        }
      }
    }
    std::sort(seats.begin(), seats.end());
    // The highest seats sell first: they are the race at the start.
    for (size_t i = seats.size(); i > 1 && w.seat_group.size() < kWitnessSeats;
         --i) {
      if (seats[i - 1] == seats[i - 2] &&
          !w.seat_group.contains(seats[i - 1])) {
        w.seat_group.emplace(seats[i - 1], w.seat_group.size());
      }
    }
    for (uint32_t b = 0; b < buyers; ++b) {
      for (const Event& e : run.history->EventsOf(b)) {
        if (e.event != 0) continue;
        if ((e.kind == EventKind::kWrite &&
             w.seat_group.contains(e.value + 1)) ||
            (e.kind == EventKind::kTook && (e.flags & kNoSeat) == 0 &&
             w.seat_group.contains(e.value))) {
          note(b, static_cast<int64_t>(e.time_ns));
        }
      }
    }
  }
  for (const Violation& v : verdict.violations) {
    if (v.kind != ViolationKind::kLockOverlap) continue;
    for (const Witness& witness : v.witnesses) {
      for (const WitnessStep& step : witness.steps) {
        if (step.what == "hold") {
          w.overlap_holds.emplace(step.buyer,
                                  static_cast<int64_t>(step.time_ns));
        }
      }
    }
  }
  for (const Violation& v : verdict.violations) {
    for (size_t i = 0; i < v.witnesses.size(); ++i) {
      const Witness& witness = v.witnesses[i];
      for (const WitnessStep& step : witness.steps) {
        note(step.buyer, static_cast<int64_t>(step.time_ns));
      }
      if (v.kind != ViolationKind::kTornRead) continue;
      const size_t color = i % std::size(kWitnessColors);
      Witnesses::Link link{0, -1, 0, -1, -1, color};
      for (const WitnessStep& step : witness.steps) {
        const auto t = static_cast<int64_t>(step.time_ns);
        if (step.what == "query" || step.what == "read") {
          link.reader = step.buyer;
          link.read_ns = t;
          w.torn_reader[{step.buyer, t}] = color;
        } else if (step.what == "truncate") {
          link.writer = step.buyer;
          link.from_ns = t;
          w.torn_writer[{step.buyer, t}] = color;
        } else if (step.what == "write") {
          link.to_ns = t;
        }
      }
      if (link.read_ns >= 0 && link.from_ns >= 0) w.links.push_back(link);
    }
  }
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
  const int64_t end = RunEndNs(run);
  // Lanes: all, or the witnesses' first and then evenly spread others.
  if (buyers <= kMaxLanes) {
    for (uint32_t b = 0; b < buyers; ++b) s.lanes.push_back(b);
  } else {
    s.all_lanes = false;
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
    s.lanes.assign(chosen.begin(), chosen.end());
  }
  int64_t in_lanes = 0;
  for (uint32_t b : s.lanes) in_lanes += attempts[b];
  s.from_ns = 0;
  s.to_ns = end;
  s.shown_attempts = in_lanes;
  if (in_lanes > static_cast<int64_t>(kMaxPurchases)) {
    // A window that holds about kMaxPurchases of them, at an even rate,
    // starting a little before the first witness.
    s.all_time = false;
    const double share = static_cast<double>(kMaxPurchases) / in_lanes;
    const int64_t length = std::max<int64_t>(1000, end * share);
    const int64_t anchor = std::max<int64_t>(0, witnesses.first_ns);
    s.from_ns = std::max<int64_t>(0, anchor - length / 5);
    s.to_ns = std::min<int64_t>(end, s.from_ns + length);
    s.shown_attempts = 0;
  }
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
