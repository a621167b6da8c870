#include "sim/check/starvation.h"

#include <fmt/format.h>

#include <algorithm>

namespace ticketsim {
namespace {

// The longest run of consecutive takings by one buyer among `buyers` (in
// taking order): its length and buyer.
std::pair<int64_t, uint32_t> LongestStreak(
    const std::vector<uint32_t>& buyers) {
  std::pair<int64_t, uint32_t> longest{0, 0};
  int64_t run = 0;
  for (size_t i = 0; i < buyers.size(); ++i) {
    run = i > 0 && buyers[i] == buyers[i - 1] ? run + 1 : 1;
    if (run > longest.first) longest = {run, buyers[i]};
  }
  return longest;
}

std::string Times(int64_t n) {
  return n == 1 ? "once" : n == 2 ? "twice" : fmt::format("{} times", n);
}

// "buyer 2 x5, buyer 0 x3": the buyers that took a lock most often, of
// `by_buyer` (per buyer, how often), the first four and how many more.
std::string MostTakers(const std::map<uint32_t, int64_t>& by_buyer) {
  std::vector<std::pair<int64_t, uint32_t>> most;  // count, buyer
  for (const auto& [buyer, n] : by_buyer) most.emplace_back(-n, buyer);
  std::sort(most.begin(), most.end());
  std::string who;
  for (size_t i = 0; i < most.size() && i < 4; ++i) {
    who += fmt::format("{}buyer {} x{}", i == 0 ? "" : ", ", most[i].second,
                       -most[i].first);
  }
  if (most.size() > 4) who += fmt::format(", and {} more", most.size() - 4);
  return who;
}

}  // namespace

StarvationJudge::StarvationJudge(const CheckInput& input)
    : lock_word_(input.program ? "the lock" : "the guard") {
  for (size_t b = 0; b < input.events.size(); ++b) {
    CollectBuyer(input.events[b], b < input.killed.size() && input.killed[b]);
  }
  for (auto& [lock, takings] : takings_) {
    std::stable_sort(takings.begin(), takings.end(),
                     [](const Taking& a, const Taking& b) {
                       return a.acquired_ns < b.acquired_ns;
                     });
    std::vector<uint64_t>& released = releases_[lock];
    for (const Taking& k : takings) {
      if (k.released_ns != UINT64_MAX) released.push_back(k.released_ns);
    }
    std::sort(released.begin(), released.end());
  }
  for (const Wait& w : waits_) {
    if (!Judge(w)) continue;
    starved_.push_back(w);
    starved_keys_.emplace_back(w.buyer, w.to_ns, w.lock);
  }
  std::stable_sort(
      starved_.begin(), starved_.end(),
      [](const Wait& a, const Wait& b) { return a.to_ns < b.to_ns; });
  std::sort(starved_keys_.begin(), starved_keys_.end());
}

void StarvationJudge::CollectBuyer(std::span<const Event> events, bool killed) {
  std::map<uint16_t, uint64_t> asked;  // per lock, its open wait's start
  std::map<uint16_t, size_t> open;     // per lock, its open hold
  for (const Event& e : events) {
    const uint16_t lock = e.event;
    std::vector<Taking>& takings = takings_[lock];
    switch (e.kind) {
      case EventKind::kWaiting:
        asked[lock] = e.time_ns;
        break;
      case EventKind::kAcquired: {
        const auto it = asked.find(lock);
        const uint64_t from = it != asked.end() ? it->second : e.time_ns;
        asked.erase(lock);
        takings.push_back(
            {e.buyer, e.attempt, from, e.time_ns, UINT64_MAX, false});
        open[lock] = takings.size() - 1;
        break;
      }
      case EventKind::kRelease:
      case EventKind::kRetry:  // rolled back: its locks were let go
        if (const auto it = open.find(lock); it != open.end()) {
          takings[it->second].released_ns = e.time_ns;
          open.erase(it);
        }
        break;
      case EventKind::kFault:  // stopped, crashed or killed: a stall
        for (const auto& [l, at] : open) takings_[l][at].struck = true;
        break;
      case EventKind::kFailed:
        if (static_cast<Failure>(e.aux) == Failure::kGuardTimeout) {
          CollectTimeout(e, &asked);
        }
        break;
      default:
        break;
    }
  }
  // Never let go by a buyer that was killed: it died holding it.
  if (killed) {
    for (const auto& [l, at] : open) takings_[l][at].struck = true;
  }
}

void StarvationJudge::CollectTimeout(const Event& e,
                                     std::map<uint16_t, uint64_t>* asked) {
  const uint16_t lock = e.event;
  const auto it = asked->find(lock);
  const bool told = (e.flags & kStarved) != 0;
  if (it == asked->end() && !told) return;
  waits_.push_back({e.buyer, e.attempt, lock,
                    it != asked->end() ? it->second : e.time_ns, e.time_ns,
                    told});
  if (it != asked->end()) asked->erase(it);
}

const std::vector<StarvationJudge::Taking>& StarvationJudge::TakingsOf(
    uint16_t lock) const {
  static const std::vector<Taking> kNone;
  const auto it = takings_.find(lock);
  return it != takings_.end() ? it->second : kNone;
}

bool StarvationJudge::Judge(const Wait& w) const {
  if (w.told) return true;
  bool overtaken = false;
  for (const Taking& k : TakingsOf(w.lock)) {
    if (k.buyer == w.buyer || k.acquired_ns > w.to_ns) continue;
    // A hold the wait ran out behind was a stall, or a dead holder's.
    if (k.released_ns > w.to_ns && k.struck) return false;
    if (k.acquired_ns > w.from_ns && k.asked_ns > w.from_ns &&
        ReleasedBetween(w.lock, w.from_ns, k.acquired_ns)) {
      overtaken = true;
    }
  }
  return overtaken;
}

// Whether `lock` was let go in [from, to]. A taking overtakes a wait only at
// a hand-off during it: a lock free when the waiter asked, taken by a buyer
// that asked later, says only that the waiter's request was recorded before
// it reached the lock (a buyer descheduled between the two under load).
bool StarvationJudge::ReleasedBetween(uint16_t lock, uint64_t from,
                                      uint64_t to) const {
  const auto it = releases_.find(lock);
  if (it == releases_.end()) return false;
  const auto first =
      std::lower_bound(it->second.begin(), it->second.end(), from);
  return first != it->second.end() && *first <= to;
}

bool StarvationJudge::Starved(const Event& failed) const {
  return std::binary_search(starved_keys_.begin(), starved_keys_.end(),
                            Key{failed.buyer, failed.time_ns, failed.event});
}

Witness StarvationJudge::WitnessOf(const Wait& w) const {
  Witness witness;
  witness.Add({w.buyer, w.attempt, "wait", w.lock, w.from_ns});
  std::vector<uint32_t> takers;  // in taking order
  std::map<uint32_t, int64_t> by_buyer;
  int64_t later = 0;  // by buyers that asked after it
  for (const Taking& k : TakingsOf(w.lock)) {
    if (k.buyer == w.buyer || k.acquired_ns <= w.from_ns ||
        k.acquired_ns > w.to_ns) {
      continue;
    }
    takers.push_back(k.buyer);
    ++by_buyer[k.buyer];
    if (k.asked_ns > w.from_ns && later++ == 0) {
      witness.Add({k.buyer, k.attempt, "hold", w.lock, k.acquired_ns});
    }
  }
  witness.Add({w.buyer, w.attempt, "failed", std::nullopt, w.to_ns});
  if (takers.empty()) {
    witness.text = fmt::format(
        "buyer {} gave up waiting for {} at {} while the others kept taking "
        "it (as judged when it ran: the history read back keeps no holds)",
        w.buyer, lock_word_, FormatTime(w.to_ns));
    return witness;
  }
  const auto [streak, streaker] = LongestStreak(takers);
  witness.text = fmt::format(
      "buyer {} waited {} for {} and gave up at {}: meanwhile it was taken "
      "{}, {} by buyers that asked for it after buyer {} did ({}){}",
      w.buyer, FormatTime(w.to_ns - w.from_ns), lock_word_, FormatTime(w.to_ns),
      Times(static_cast<int64_t>(takers.size())),
      later == static_cast<int64_t>(takers.size()) ? std::string("every time")
                                                   : Times(later),
      w.buyer, MostTakers(by_buyer),
      streak > 1 ? fmt::format("; buyer {} took it {} in a row", streaker,
                               Times(streak))
                 : "");
  return witness;
}

std::string StarvationJudge::Summary(uint16_t lock) const {
  const std::string what = fmt::format(
      "waits that ran out while the others kept taking {}: it excluded, but "
      "let buyers that asked later in first",
      lock_word_);
  std::vector<uint32_t> takers;
  for (const Taking& k : TakingsOf(lock)) takers.push_back(k.buyer);
  if (takers.size() < 2) return what;
  int64_t again = 0;  // taken by the buyer that had just let it go
  for (size_t i = 1; i < takers.size(); ++i) {
    if (takers[i] == takers[i - 1]) ++again;
  }
  const auto [streak, streaker] = LongestStreak(takers);
  return fmt::format(
      "{}. Of its {} takings, {} ({:.1f}%) went straight back to the buyer "
      "that had just let it go{}",
      what, takers.size(), again, 100.0 * again / (takers.size() - 1),
      streak > 1 ? fmt::format(", up to {} in a row (buyer {})", Times(streak),
                               streaker)
                 : "");
}

void StarvationJudge::AddTo(std::vector<Violation>* findings) const {
  if (starved_.empty()) return;
  Violation v;
  v.kind = ViolationKind::kStarvation;
  v.count = static_cast<int64_t>(starved_.size());
  for (const Wait& w : starved_) {
    if (v.witnesses.size() < kMaxWitnesses) {
      v.witnesses.push_back(WitnessOf(w));
    } else {
      ++v.unwitnessed;
    }
  }
  v.summary = Summary(starved_.front().lock);
  findings->push_back(std::move(v));
}

}  // namespace ticketsim
