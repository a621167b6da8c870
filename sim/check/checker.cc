#include "sim/check/checker.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>
#include <vector>

#include "sim/check/starvation.h"
#include "sim/history/event_words.h"

namespace ticketsim {
namespace {

constexpr EnumWord<ViolationKind> kViolationKindWords[] = {
    {ViolationKind::kLostUpdate, "lost update",
     "more purchases confirmed than the count fell by"},
    {ViolationKind::kOversell, "oversell",
     "more purchases confirmed than there were tickets"},
    {ViolationKind::kDuplicateSeat, "duplicate seat",
     "one seat sold to more than one buyer"},
    {ViolationKind::kTornRead, "torn read",
     "a read that did not parse or lay outside [0, initial]"},
    {ViolationKind::kFalseSoldOut, "false sold-out",
     "told sold out though tickets were left at the end"},
    {ViolationKind::kCorruptFinal, "corrupt final state",
     "final count unreadable, out of range, or fallen too far"},
    {ViolationKind::kGuardFailure, "guard failure",
     "a purchase could not get its guard (timeout, error)"},
    {ViolationKind::kStoreError, "store error",
     "a purchase the store failed (I/O, busy)"},
    {ViolationKind::kAbandonedLock, "abandoned lock",
     "a buyer died holding a guard that nothing releases; the run was ended"},
    {ViolationKind::kDeadlock, "deadlock",
     "buyers each held a guard the next one waited for; the run was ended"},
    {ViolationKind::kLockOverlap, "lock overlap",
     "two buyers of a program inside the same lock at once"},
    {ViolationKind::kProgramCrash, "program crash",
     "a buyer program exited with an error or died of a signal ticketsim did "
     "not send"},
    {ViolationKind::kStarvation, "starvation",
     "a buyer gave up waiting for a guard the others kept taking: a finding, "
     "not a violation"},
};

// A confirmed purchase: the buyer read `seat` and wrote seat - 1 (or took
// it in one step: `atomic`).
struct Purchase {
  uint32_t buyer;
  uint32_t attempt;
  uint64_t read_ns;
  uint64_t write_ns;
  int64_t seat;
  bool atomic;
  bool seat_known = true;  // false: a program's sale with no seat given
  bool printed = false;    // counted from a line a program printed
};

WitnessStep ReadStep(const Purchase& p) {
  return {p.buyer, p.attempt, p.atomic ? "invoke" : "read",
          p.atomic ? std::nullopt : std::optional<int64_t>(p.seat), p.read_ns};
}
WitnessStep WriteStep(const Purchase& p) {
  return {p.buyer, p.attempt, p.atomic ? "take" : "write",
          p.atomic ? p.seat : p.seat - 1, p.write_ns};
}

// A window in which a truncating writer had emptied the file: from its
// truncate to its write (or, if it never wrote, to the end).
struct EmptyWindow {
  uint32_t buyer;
  uint32_t attempt;
  uint16_t event;
  uint64_t from_ns;
  uint64_t to_ns;       // UINT64_MAX: never written
  int64_t written = 0;  // the count it wrote then
};

// A read that found no valid count.
struct TornRead {
  Event event;
  std::string saw;
};

// Of the instances offered (a buyer at a time, so not in time order), the
// kMaxWitnesses earliest, and how many others there were: witnesses show
// how a run went wrong first.
template <typename T>
class Earliest {
 public:
  void Offer(uint64_t time_ns, T item) {
    if (kept_.size() < kMaxWitnesses) {
      kept_.emplace_back(time_ns, std::move(item));
      return;
    }
    ++dropped_;
    auto latest = std::max_element(
        kept_.begin(), kept_.end(),
        [](const auto& a, const auto& b) { return a.first < b.first; });
    if (time_ns < latest->first) *latest = {time_ns, std::move(item)};
  }
  // The kept ones, in time order.
  std::vector<T> Take() {
    std::stable_sort(
        kept_.begin(), kept_.end(),
        [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<T> out;
    for (auto& [time, item] : kept_) out.push_back(std::move(item));
    return out;
  }
  int64_t dropped() const { return dropped_; }

 private:
  std::vector<std::pair<uint64_t, T>> kept_;
  int64_t dropped_ = 0;
};

// A witness of a purchase that failed.
Witness FailureWitness(const Event& e) {
  Witness w;
  w.Add({e.buyer, e.attempt, "failed", std::nullopt, e.time_ns});
  w.text = fmt::format("buyer {} {} at {}", e.buyer, FailureWhy(e.aux),
                       FormatTime(e.time_ns));
  return w;
}

// Collects violations of one kind, keeping the exact count and the first
// few witnesses.
class ViolationBuilder {
 public:
  explicit ViolationBuilder(ViolationKind kind) { violation_.kind = kind; }
  void Add(int64_t n = 1) { violation_.count += n; }
  // One more instance of the violation found: true if it should be given a
  // witness (the first few), false if it is only counted as unwitnessed.
  bool Instance() {
    if (violation_.witnesses.size() + pending_ < kMaxWitnesses) {
      ++pending_;
      return true;
    }
    ++violation_.unwitnessed;
    return false;
  }
  // The witness of an instance Instance() wanted one for.
  void Witness(ticketsim::Witness w) {
    if (pending_ > 0) --pending_;
    violation_.witnesses.push_back(std::move(w));
  }
  // Instances found that were not given a witness.
  void Unwitnessed(int64_t n) { violation_.unwitnessed += n; }
  void Summary(std::string text) { violation_.summary = std::move(text); }
  void AddTo(std::vector<Violation>* out) {
    if (violation_.count > 0) out->push_back(std::move(violation_));
  }

 private:
  Violation violation_;
  size_t pending_ = 0;  // instances promised a witness, not yet given
};

// Adds one buyer's counts to the verdict's totals, and its row.
void AddBuyer(BuyerSummary summary, Verdict* verdict) {
  verdict->confirmed += summary.bought;
  verdict->sold_out += summary.sold_out;
  verdict->failed += summary.failed;
  verdict->torn_reads += summary.torn_reads;
  verdict->recovered += summary.recovered;
  verdict->paused += summary.paused;
  verdict->backoffs += summary.backoffs;
  if (summary.fault == static_cast<uint32_t>(FaultKind::kKill)) {
    ++verdict->fault_kills;
  }
  if (summary.fault == static_cast<uint32_t>(FaultKind::kCrash)) {
    ++verdict->fault_crashes;
  }
  if (summary.killed) ++verdict->killed_buyers;
  verdict->buyers.push_back(std::move(summary));
}

// Walks every buyer's events once, turning them into purchases and counts.
class HistoryScan {
 public:
  HistoryScan(const CheckInput& input, const StarvationJudge& starvation,
              Verdict* verdict)
      : input_(input),
        starvation_(starvation),
        verdict_(verdict),
        torn_(ViolationKind::kTornRead),
        failures_(ViolationKind::kGuardFailure),
        store_errors_(ViolationKind::kStoreError) {}

  void Run() {
    // A purchase takes at least two events (read and write, or invoke and
    // took): room for all of them at once, not grown by copying.
    size_t events = 0;
    for (const auto& buyer : input_.events) events += buyer.size();
    purchases_.reserve(events / 2);
    for (size_t b = 0; b < input_.events.size(); ++b) ScanBuyer(b);
  }

  std::vector<Purchase>& purchases() { return purchases_; }
  std::vector<Event>& sold_outs() { return sold_outs_; }
  void AddViolations(std::vector<Violation>* out) {
    for (const TornRead& torn : torn_reads_.Take()) {
      torn_.Witness(TornWitness(torn));
    }
    torn_.Unwitnessed(torn_reads_.dropped());
    for (const Event& e : failed_.Take()) failures_.Witness(FailureWitness(e));
    failures_.Unwitnessed(failed_.dropped());
    for (const Event& e : store_failed_.Take()) {
      store_errors_.Witness(FailureWitness(e));
    }
    store_errors_.Unwitnessed(store_failed_.dropped());
    torn_.Summary(
        fmt::format("{} reads saw no valid count", verdict_->torn_reads));
    torn_.AddTo(out);
    failures_.Summary("purchases that could not get or keep their lock");
    failures_.AddTo(out);
    store_errors_.Summary("purchases the store failed");
    store_errors_.AddTo(out);
  }

 private:
  // Where the scan of one buyer's events stands.
  struct BuyerScan {
    BuyerSummary summary;
    bool pending = false;      // read (or invoked) with no outcome yet
    bool open_window = false;  // emptied the file, not yet written it
    Purchase current{};
  };

  void ScanBuyer(size_t b) {
    BuyerScan scan;
    scan.summary.buyer = static_cast<uint32_t>(b);
    scan.summary.pid = b < input_.pids.size() ? input_.pids[b] : 0;
    scan.summary.killed = b < input_.killed.size() && input_.killed[b];
    int64_t last_attempt = -1;
    for (const Event& e : input_.events[b]) {
      if (static_cast<int64_t>(e.attempt) != last_attempt) {
        last_attempt = e.attempt;
        ++verdict_->attempts;
      }
      Scan(e, &scan);
    }
    // A buyer that died between reading and recording its outcome may or may
    // not have written: its purchase is indeterminate.
    if (scan.pending) ++verdict_->indeterminate;
    AddBuyer(std::move(scan.summary), verdict_);
  }

  // What each kind of event adds: one function per kind.
  void Scan(const Event& e, BuyerScan* scan) {
    switch (e.kind) {
      case EventKind::kQuery:
      case EventKind::kRead:
        return ScanRead(e, scan);
      case EventKind::kInvoke:
        return ScanInvoke(e, scan);
      case EventKind::kTruncated:
        return ScanTruncated(e, scan);
      case EventKind::kWrite:
      case EventKind::kTook:
        return ScanSale(e, scan);
      case EventKind::kSoldOut:
        return ScanSoldOut(e, scan);
      case EventKind::kFailed:
        return ScanFailed(e, scan);
      case EventKind::kAcquired:
        return ScanAcquired(e, scan);
      case EventKind::kFault:
        return ScanFault(e, scan);
      case EventKind::kBackoff:
        ++scan->summary.backoffs;
        return;
      case EventKind::kRetry:
        // Rolled back: the read before it bought nothing.
        ++verdict_->retries;
        scan->pending = false;
        return;
      case EventKind::kRelease:
      case EventKind::kWaiting:
      case EventKind::kEmpty:
        return;
    }
  }

  void ScanRead(const Event& e, BuyerScan* scan) {
    if (CheckRead(e, &scan->summary) && e.kind == EventKind::kRead) {
      scan->pending = true;
      scan->current = {e.buyer, e.attempt, e.time_ns, 0, e.value, false};
    }
  }

  void ScanInvoke(const Event& e, BuyerScan* scan) {
    // A program's purchase that never told its outcome, followed by
    // another: indeterminate.
    if (scan->pending && input_.program) ++verdict_->indeterminate;
    scan->pending = true;
    scan->current = {e.buyer, e.attempt, e.time_ns, 0, 0, true};
  }

  void ScanTruncated(const Event& e, BuyerScan* scan) {
    if (scan->open_window) windows_.back().to_ns = e.time_ns;
    windows_.push_back({e.buyer, e.attempt, e.event, e.time_ns, UINT64_MAX, 0});
    scan->open_window = true;
  }

  // A confirmed purchase: a write (which also closes an emptied file's
  // window) or an atomic take.
  void ScanSale(const Event& e, BuyerScan* scan) {
    if (scan->open_window && e.kind == EventKind::kWrite) {
      windows_.back().to_ns = e.time_ns;
      windows_.back().written = e.value;
      scan->open_window = false;
    }
    Purchase& current = scan->current;
    current.write_ns = e.time_ns;
    current.seat = e.kind == EventKind::kWrite ? e.value + 1 : e.value;
    current.seat_known = (e.flags & kNoSeat) == 0;
    current.printed = (e.flags & kPrinted) != 0;
    purchases_.push_back(current);
    BuyerSummary& summary = scan->summary;
    ++summary.bought;
    if (current.seat_known && summary.seats.size() < kSeatsPerBuyerShown) {
      summary.seats.push_back(current.seat);
    }
    scan->pending = false;
  }

  void ScanSoldOut(const Event& e, BuyerScan* scan) {
    ++scan->summary.sold_out;
    sold_outs_.push_back(e);
    scan->pending = false;
  }

  void ScanFailed(const Event& e, BuyerScan* scan) {
    RecordFailure(e, &scan->summary);
    // A change whose connection broke in flight may have happened.
    if (static_cast<Failure>(e.aux) == Failure::kOutcomeUnknown) {
      ++verdict_->indeterminate;
    }
    scan->pending = false;
  }

  void ScanAcquired(const Event& e, BuyerScan* scan) {
    BuyerSummary& summary = scan->summary;
    summary.max_wait_us = std::max<int64_t>(summary.max_wait_us, e.aux);
    if (e.flags & kRecovered) ++summary.recovered;
  }

  // A pause is survived; any other fault ends the buyer.
  void ScanFault(const Event& e, BuyerScan* scan) {
    if (static_cast<FaultKind>(e.aux) == FaultKind::kPause) {
      ++scan->summary.paused;
    } else {
      scan->summary.fault = e.aux;
    }
  }

  // Returns true if the read saw a valid count.
  bool CheckRead(const Event& e, BuyerSummary* summary) {
    std::string saw;
    if ((e.flags & kTorn) && e.aux == kUnreadable) {
      saw = "found no count";
    } else if (e.flags & kTorn) {
      saw = e.aux == 0
                ? "found the file empty"
                : fmt::format("found {} bytes that are not a count", e.aux);
    } else if (e.value < 0 || e.value > input_.initial) {
      saw = fmt::format("saw {}, outside [0, {}]", e.value, input_.initial);
    } else {
      return true;
    }
    ++summary->torn_reads;
    torn_.Add();
    torn_reads_.Offer(e.time_ns, {e, std::move(saw)});
    return false;
  }

  // Of the windows in which another buyer had emptied the file, the one
  // nearest read `e` (*gap 0: it holds the read's time), or null.
  const EmptyWindow* NearestWindow(const Event& e, uint64_t* gap) const {
    const EmptyWindow* best = nullptr;
    for (const EmptyWindow& window : windows_) {
      if (window.buyer == e.buyer || window.event != e.event) continue;
      const uint64_t from = window.from_ns, to = window.to_ns;
      const uint64_t g = e.time_ns < from ? from - e.time_ns
                         : e.time_ns > to ? e.time_ns - to
                                          : 0;
      if (g < *gap) {
        best = &window;
        *gap = g;
      }
    }
    return best;
  }

  // A torn read's witness, naming the writer whose emptied file it found
  // when one was writing then: the window that holds the read's time, or
  // else the nearest (the two buyers' clocks are read just after the
  // truncate and just after the read, not at once with them).
  Witness TornWitness(const TornRead& torn) const {
    const Event& e = torn.event;
    const char* what = e.kind == EventKind::kQuery ? "query" : "read";
    Witness w;
    w.Add({e.buyer, e.attempt, what, std::nullopt, e.time_ns});
    uint64_t best_gap = UINT64_MAX;
    const EmptyWindow* best = NearestWindow(e, &best_gap);
    // Farther than this from every write, no writer is named.
    constexpr uint64_t kNearNs = 1000000;
    std::string writer;
    if (best != nullptr && best_gap <= kNearNs) {
      const bool wrote = best->to_ns != UINT64_MAX;
      w.Add({best->buyer, best->attempt, "truncate", std::nullopt,
             best->from_ns});
      if (wrote) {
        w.Add(
            {best->buyer, best->attempt, "write", best->written, best->to_ns});
      }
      const std::string written =
          wrote ? fmt::format("wrote it at {}", FormatTime(best->to_ns))
                : "never wrote it";
      writer =
          best_gap == 0
              ? fmt::format(": buyer {} had truncated it at {} and {}",
                            best->buyer, FormatTime(best->from_ns), written)
              : fmt::format(": buyer {} was writing it (truncated at {}, {})",
                            best->buyer, FormatTime(best->from_ns),
                            wrote ? fmt::format("written at {}",
                                                FormatTime(best->to_ns))
                                  : "never written");
    }
    w.text = fmt::format("buyer {}'s {} at {} {}{}", e.buyer, what,
                         FormatTime(e.time_ns), torn.saw, writer);
    return w;
  }

  void RecordFailure(const Event& e, BuyerSummary* summary) {
    ++summary->failed;
    // A program's own failed purchase is its answer, not a fault.
    if (static_cast<Failure>(e.aux) == Failure::kDeclined) return;
    // The server's refusal, and a change lost with its connection, are
    // outcomes a correct program meets: counted, not violations.
    if (static_cast<Failure>(e.aux) == Failure::kSerialization) {
      ++verdict_->serialization_failures;
      return;
    }
    if (static_cast<Failure>(e.aux) == Failure::kOutcomeUnknown) return;
    // A wait that ran out while the others kept taking the guard: the
    // guard did not fail, it was not fair (a finding of its own).
    if (starvation_.Starved(e)) return;
    const bool store_error =
        static_cast<Failure>(e.aux) == Failure::kStoreError;
    (store_error ? store_errors_ : failures_).Add();
    (store_error ? store_failed_ : failed_).Offer(e.time_ns, e);
  }

  const CheckInput& input_;
  const StarvationJudge& starvation_;
  Verdict* verdict_;
  std::vector<Purchase> purchases_;
  std::vector<Event> sold_outs_;
  std::vector<EmptyWindow> windows_;  // in each buyer's time order
  Earliest<TornRead> torn_reads_;     // the witnessed ones
  Earliest<Event> failed_;            // guard failures
  Earliest<Event> store_failed_;      // store errors
  ViolationBuilder torn_;
  ViolationBuilder failures_;
  ViolationBuilder store_errors_;
};

// Replays the confirmed writes in time order: each buyer should have read
// the count the previous writer left; one that read more wrote over sales.
// The witness of purchase `p`, which read more than the `count` that
// `previous`, the write before it, had left.
Witness LostUpdateWitness(const Purchase& p, const Purchase& previous,
                          int64_t count) {
  Witness w;
  w.Add(ReadStep(p));
  w.Add(WriteStep(previous));
  w.Add(WriteStep(p));
  w.buyers = {p.buyer, previous.buyer};
  if (p.buyer == previous.buyer) w.buyers.pop_back();
  w.seats = {p.seat};
  w.text = fmt::format(
      "buyer {} read {} at {} and wrote {} at {}, but buyer {} had "
      "already written {} at {}: buyer {}'s write undid {} sale{}",
      p.buyer, p.seat, FormatTime(p.read_ns), p.seat - 1,
      FormatTime(p.write_ns), previous.buyer, count,
      FormatTime(previous.write_ns), p.buyer, p.seat - count,
      p.seat - count == 1 ? "" : "s");
  return w;
}

void CheckLostUpdates(const CheckInput& input, Verdict* verdict,
                      std::vector<Purchase>* by_write) {
  if (!input.final_count) return;
  const int64_t fell = input.initial - *input.final_count;
  ViolationBuilder lost(ViolationKind::kLostUpdate);
  lost.Add(verdict->confirmed - fell);
  if (verdict->confirmed <= fell) return;
  lost.Summary(fmt::format(
      "{} purchases confirmed, but the count fell by only {}: {} {} written "
      "over",
      verdict->confirmed, fell, verdict->confirmed - fell,
      verdict->confirmed - fell == 1 ? "sale was" : "sales were"));
  std::sort(by_write->begin(), by_write->end(),
            [](const Purchase& a, const Purchase& b) {
              return a.write_ns < b.write_ns;
            });
  int64_t count = input.initial;
  const Purchase* previous = nullptr;
  for (const Purchase& p : *by_write) {
    // A printed sale says nothing of what its buyer read: no witness.
    if (p.seat > count && previous != nullptr && !p.printed &&
        !previous->printed && lost.Instance()) {
      lost.Witness(LostUpdateWitness(p, *previous, count));
    }
    count = p.seat - 1;
    previous = &p;
  }
  lost.AddTo(&verdict->violations);
}

// The sales beyond the tickets there were, by the time they were written:
// the first of them are its witnesses.
void CheckOversell(const CheckInput& input, Verdict* verdict,
                   std::vector<Purchase>* purchases) {
  if (verdict->confirmed <= input.initial) return;
  ViolationBuilder oversell(ViolationKind::kOversell);
  oversell.Add(verdict->confirmed - input.initial);
  oversell.Summary(fmt::format(
      "{} purchases confirmed, but only {} ticket{} "
      "existed",
      verdict->confirmed, input.initial, input.initial == 1 ? "" : "s"));
  std::stable_sort(purchases->begin(), purchases->end(),
                   [](const Purchase& a, const Purchase& b) {
                     return a.write_ns < b.write_ns;
                   });
  const auto first = static_cast<size_t>(std::max<int64_t>(0, input.initial));
  for (size_t i = first; i < purchases->size(); ++i) {
    if (i - first == kMaxWitnesses) {
      oversell.Unwitnessed(static_cast<int64_t>(purchases->size() - i));
      break;
    }
    const Purchase& p = (*purchases)[i];
    Witness w;
    w.Add(ReadStep(p));
    w.Add(WriteStep(p));
    if (p.seat_known) w.seats = {p.seat};
    w.text =
        fmt::format("{}'s sale{}, {} at {}, was sale {} of {} ticket{}",
                    input.whole_program ? std::string("the program")
                                        : fmt::format("buyer {}", p.buyer),
                    p.seat_known ? fmt::format(" of seat {}", p.seat) : "",
                    p.printed ? "printed" : "confirmed", FormatTime(p.write_ns),
                    i + 1, input.initial, input.initial == 1 ? "" : "s");
    oversell.Witness(std::move(w));
  }
  oversell.AddTo(&verdict->violations);
}

// "0, 3 and 5": the buyers of `buyers` (distinct, in order), at most `limit`
// of them named ("0, 3 and 2 more").
std::string BuyerList(const std::vector<uint32_t>& buyers, size_t limit) {
  std::string out;
  for (size_t i = 0; i < buyers.size() && i < limit; ++i) {
    if (i > 0) out += i + 1 == buyers.size() ? " and " : ", ";
    out += std::to_string(buyers[i]);
  }
  if (buyers.size() > limit) {
    out += fmt::format(" and {} more", buyers.size() - limit);
  }
  return out;
}

// The witness steps of purchases that sold one seat: every read and write,
// gathered and put in time order once (a seat sold a million times makes a
// witness of two million steps).
Witness SeatWitness(const std::vector<Purchase>& group) {
  std::vector<WitnessStep> steps;
  steps.reserve(2 * group.size());
  for (const Purchase& p : group) steps.push_back(ReadStep(p));
  for (const Purchase& p : group) steps.push_back(WriteStep(p));
  Witness w;
  w.AddAll(std::move(steps));
  w.seats = {group[0].seat};
  return w;
}

// Orders purchases by seat, keeping their order within a seat: a counting
// sort (linear) when the seats lie in [0, initial] and initial is not far
// above their number, as in every run; a comparison sort otherwise.
void SortBySeat(int64_t initial, std::vector<Purchase>* purchases) {
  const auto n = static_cast<int64_t>(purchases->size());
  const bool in_range = std::all_of(purchases->begin(), purchases->end(),
                                    [initial](const Purchase& p) {
                                      return p.seat >= 0 && p.seat <= initial;
                                    });
  if (!in_range || initial > 4 * n + 1024) {
    std::stable_sort(
        purchases->begin(), purchases->end(),
        [](const Purchase& a, const Purchase& b) { return a.seat < b.seat; });
    return;
  }
  std::vector<int64_t> start(static_cast<size_t>(initial) + 2, 0);
  for (const Purchase& p : *purchases) ++start[p.seat + 1];
  for (size_t i = 1; i < start.size(); ++i) start[i] += start[i - 1];
  std::vector<Purchase> sorted(purchases->size());
  for (const Purchase& p : *purchases) sorted[start[p.seat]++] = p;
  purchases->swap(sorted);
}

// The witness of a seat sold more than once, to the buyers of `group`.
Witness DuplicateWitness(std::vector<Purchase> group, bool whole_program) {
  std::sort(group.begin(), group.end(),
            [](const Purchase& a, const Purchase& b) {
              return a.read_ns < b.read_ns;
            });
  const Purchase& a = group[0];
  const Purchase& b = group[1];
  Witness w = SeatWitness(group);
  if (a.printed) {
    w.text = fmt::format(
        "seat {} was sold {}: {} printed a sale of it (the first at {}, "
        "the last at {})",
        a.seat, TimesSold(static_cast<int64_t>(group.size())),
        whole_program ? std::string("the program")
                      : "buyers " + BuyerList(w.buyers, 8),
        FormatTime(group.front().write_ns), FormatTime(group.back().write_ns));
  } else if (group.size() == 2) {
    w.text = (fmt::format(
        "seat {} was sold twice: buyers {} and {} both read {} (at {} "
        "and {}) and both wrote {} (at {} and {})",
        a.seat, a.buyer, b.buyer, a.seat, FormatTime(a.read_ns),
        FormatTime(b.read_ns), a.seat - 1, FormatTime(a.write_ns),
        FormatTime(b.write_ns)));
  } else {
    w.text = (fmt::format(
        "seat {} was sold {}: buyers {} all read {} (the first at "
        "{}, the last at {}) and all wrote {}",
        a.seat, TimesSold(static_cast<int64_t>(group.size())),
        BuyerList(w.buyers, 8), a.seat, FormatTime(group.front().read_ns),
        FormatTime(group.back().read_ns), a.seat - 1));
  }
  return w;
}

void CheckDuplicateSeats(int64_t initial, bool whole_program, Verdict* verdict,
                         std::vector<Purchase>* by_seat) {
  SortBySeat(initial, by_seat);
  ViolationBuilder duplicates(ViolationKind::kDuplicateSeat);
  int64_t seats = 0;
  for (size_t i = 0; i < by_seat->size();) {
    size_t j = i + 1;
    while (j < by_seat->size() && (*by_seat)[j].seat == (*by_seat)[i].seat) ++j;
    if (j - i > 1) {
      ++seats;
      duplicates.Add(static_cast<int64_t>(j - i - 1));
      if (duplicates.Instance()) {
        duplicates.Witness(DuplicateWitness(
            {by_seat->begin() + i, by_seat->begin() + j}, whole_program));
      }
    }
    i = j;
  }
  duplicates.Summary(fmt::format("{} seat{} sold more than once", seats,
                                 seats == 1 ? "" : "s"));
  duplicates.AddTo(&verdict->violations);
}

void CheckFinalState(const CheckInput& input, Verdict* verdict) {
  ViolationBuilder corrupt(ViolationKind::kCorruptFinal);
  if (!input.final_count) {
    corrupt.Add();
    corrupt.Summary("the final count could not be read: " + input.final_error);
  } else if (*input.final_count < 0 || *input.final_count > input.initial) {
    corrupt.Add();
    corrupt.Summary(fmt::format("the final count {} lies outside [0, {}]",
                                *input.final_count, input.initial));
  } else if (const int64_t fell = input.initial - *input.final_count;
             !input.sales_unknown &&
             fell > verdict->confirmed + verdict->indeterminate) {
    corrupt.Add(fell - verdict->confirmed - verdict->indeterminate);
    corrupt.Summary(fmt::format(
        "the count fell by {}, but only {} purchases were confirmed and {} "
        "indeterminate",
        fell, verdict->confirmed, verdict->indeterminate));
  }
  corrupt.AddTo(&verdict->violations);
}

void CheckFalseSoldOut(const CheckInput& input, Verdict* verdict,
                       const std::vector<Event>& sold_outs) {
  if (!input.final_count || *input.final_count <= 0) return;
  ViolationBuilder false_sold_out(ViolationKind::kFalseSoldOut);
  Earliest<Event> earliest;
  for (const Event& e : sold_outs) {
    false_sold_out.Add();
    earliest.Offer(e.time_ns, e);
  }
  for (const Event& e : earliest.Take()) {
    Witness w;
    w.Add({e.buyer, e.attempt, "sold out", e.value, e.time_ns});
    w.text =
        fmt::format("buyer {} was told sold out at {}, but {} ticket{} remain",
                    e.buyer, FormatTime(e.time_ns), *input.final_count,
                    *input.final_count == 1 ? "" : "s");
    false_sold_out.Witness(std::move(w));
  }
  false_sold_out.Unwitnessed(earliest.dropped());
  false_sold_out.Summary("sold out was reported while tickets were left");
  false_sold_out.AddTo(&verdict->violations);
}

// One buyer's stay inside a lock: from taking it to letting it go (to its
// last event if it never did: it died holding it, or the run ended).
struct Hold {
  uint32_t buyer;
  uint32_t attempt;
  uint16_t lock;
  uint64_t from_ns;
  uint64_t to_ns;
  bool released;
};

// Lock overlap: a program's lock held by two buyers at once. Each hold
// that begins while another buyer's hold of the same lock has not ended is
// one instance; its witness names both.
// Every buyer's holds of a program's locks, by lock, in the order taken.
std::vector<Hold> HoldsOf(const CheckInput& input) {
  std::vector<Hold> holds;
  for (const auto& events : input.events) {
    std::vector<int64_t> open(kMaxLocksChecked, -1);  // index in holds
    for (const Event& e : events) {
      if (e.event >= kMaxLocksChecked) continue;
      if (e.kind == EventKind::kAcquired && open[e.event] < 0) {
        open[e.event] = static_cast<int64_t>(holds.size());
        holds.push_back(
            {e.buyer, e.attempt, e.event, e.time_ns, UINT64_MAX, false});
      } else if (e.kind == EventKind::kRelease && open[e.event] >= 0) {
        holds[open[e.event]].to_ns = e.time_ns;
        holds[open[e.event]].released = true;
        open[e.event] = -1;
      }
    }
    // Still held at its last event.
    for (int64_t at : open) {
      if (at >= 0 && !events.empty()) holds[at].to_ns = events.back().time_ns;
    }
  }
  std::stable_sort(
      holds.begin(), holds.end(), [](const Hold& a, const Hold& b) {
        return a.lock != b.lock ? a.lock < b.lock : a.from_ns < b.from_ns;
      });
  return holds;
}

// The witness of hold `h` begun while `a`, another buyer's, went on.
Witness OverlapWitness(const Hold& a, const Hold& h) {
  Witness w;
  w.Add({a.buyer, a.attempt, "hold", std::nullopt, a.from_ns});
  w.Add({h.buyer, h.attempt, "hold", std::nullopt, h.from_ns});
  if (a.released) {
    w.Add({a.buyer, a.attempt, "release", std::nullopt, a.to_ns});
  }
  w.buyers = {a.buyer, h.buyer};
  w.text = fmt::format(
      "buyers {} and {} were inside the lock at once: buyer {} took it "
      "at {} and {}, but buyer {} took it at {}",
      a.buyer, h.buyer, a.buyer, FormatTime(a.from_ns),
      a.released ? fmt::format("let it go only at {}", FormatTime(a.to_ns))
                 : "never let it go",
      h.buyer, FormatTime(h.from_ns));
  return w;
}

void CheckLockOverlap(const CheckInput& input, Verdict* verdict) {
  const std::vector<Hold> holds = HoldsOf(input);
  ViolationBuilder overlap(ViolationKind::kLockOverlap);
  // Per lock, the hold that ends last among those begun so far.
  const Hold* longest = nullptr;
  for (const Hold& h : holds) {
    if (longest != nullptr && longest->lock != h.lock) longest = nullptr;
    if (longest != nullptr && h.from_ns < longest->to_ns &&
        h.buyer != longest->buyer) {
      overlap.Add();
      if (overlap.Instance()) overlap.Witness(OverlapWitness(*longest, h));
    }
    if (longest == nullptr || h.to_ns > longest->to_ns) longest = &h;
  }
  overlap.Summary("holds of a lock that began while another buyer held it");
  overlap.AddTo(&verdict->violations);
}

}  // namespace

const std::span<const EnumWord<ViolationKind>> kViolationKinds =
    kViolationKindWords;

std::string_view ViolationName(ViolationKind kind) {
  return WordOf(kViolationKinds, kind);
}

std::string ListViolations(std::span<const ViolationCount> counts) {
  std::string out;
  for (const auto& [kind, count] : counts) {
    out += fmt::format("{}{} x{}", out.empty() ? "" : ", ", ViolationName(kind),
                       count);
  }
  return out;
}

std::vector<ViolationCount> Verdict::Counts() const {
  std::vector<ViolationCount> counts;
  for (const Violation& v : violations) counts.emplace_back(v.kind, v.count);
  return counts;
}

int64_t Verdict::CountOf(ViolationKind kind) const {
  for (const auto* list : {&violations, &findings}) {
    for (const Violation& v : *list) {
      if (v.kind == kind) return v.count;
    }
  }
  return 0;
}

std::vector<ViolationCount> Verdict::FindingCounts() const {
  std::vector<ViolationCount> counts;
  for (const Violation& v : findings) counts.emplace_back(v.kind, v.count);
  return counts;
}

std::string FormatTime(uint64_t ns) {
  if (ns >= 10000000000ULL) return fmt::format("{:.3f} s", ns / 1e9);
  return fmt::format("{:.3f} ms", ns / 1e6);
}

void Witness::Add(WitnessStep step) {
  if (std::find(buyers.begin(), buyers.end(), step.buyer) == buyers.end()) {
    buyers.push_back(step.buyer);
  }
  if (steps.empty() || step.time_ns < from_ns) from_ns = step.time_ns;
  if (steps.empty() || step.time_ns > to_ns) to_ns = step.time_ns;
  const auto at = std::upper_bound(
      steps.begin(), steps.end(), step.time_ns,
      [](uint64_t t, const WitnessStep& s) { return t < s.time_ns; });
  steps.insert(at, step);
}

void Witness::AddAll(std::vector<WitnessStep> more) {
  std::unordered_set<uint32_t> named(buyers.begin(), buyers.end());
  for (const WitnessStep& step : more) {
    if (named.insert(step.buyer).second) buyers.push_back(step.buyer);
  }
  steps.insert(steps.end(), more.begin(), more.end());
  std::stable_sort(steps.begin(), steps.end(),
                   [](const WitnessStep& a, const WitnessStep& b) {
                     return a.time_ns < b.time_ns;
                   });
  if (!steps.empty()) {
    from_ns = steps.front().time_ns;
    to_ns = steps.back().time_ns;
  }
}

Witness WitnessOf(std::string text) {
  Witness w;
  w.text = std::move(text);
  return w;
}

void MergeViolation(Violation more, Verdict* verdict) {
  MergeViolation(std::move(more), &verdict->violations);
}

void MergeViolation(Violation more, std::vector<Violation>* list) {
  for (Violation& v : *list) {
    if (v.kind != more.kind) continue;
    v.count += more.count;
    v.summary += "; " + more.summary;
    v.unwitnessed += more.unwitnessed;
    for (Witness& w : more.witnesses) {
      if (v.witnesses.size() < kMaxWitnesses) {
        v.witnesses.push_back(std::move(w));
      } else {
        ++v.unwitnessed;
      }
    }
    return;
  }
  list->push_back(std::move(more));
}

Verdict Check(const CheckInput& input) {
  Verdict verdict;
  verdict.initial = input.initial;
  verdict.final_count = input.final_count;
  const StarvationJudge starvation(input);
  HistoryScan scan(input, starvation, &verdict);
  scan.Run();
  std::vector<Purchase>& purchases = scan.purchases();
  // A program may report sales without their seats: those count, but name
  // no seat to replay or to find twice.
  std::vector<Purchase> seated;
  const bool all_seated =
      std::all_of(purchases.begin(), purchases.end(),
                  [](const Purchase& p) { return p.seat_known; });
  if (!all_seated) {
    std::copy_if(purchases.begin(), purchases.end(), std::back_inserter(seated),
                 [](const Purchase& p) { return p.seat_known; });
  }
  std::vector<Purchase>& with_seats = all_seated ? purchases : seated;
  CheckLostUpdates(input, &verdict, &with_seats);
  CheckOversell(input, &verdict, &purchases);
  CheckDuplicateSeats(input.initial, input.whole_program, &verdict,
                      &with_seats);
  scan.AddViolations(&verdict.violations);
  CheckFalseSoldOut(input, &verdict, scan.sold_outs());
  CheckFinalState(input, &verdict);
  if (input.program) CheckLockOverlap(input, &verdict);
  starvation.AddTo(&verdict.findings);
  return verdict;
}

namespace {

// What a summary's violations say of their missing witnesses.
constexpr const char* kNoWitnesses =
    " (history = \"summary\" keeps no witnesses)";

// The failures the buyers' tallies counted, which are violations.
struct TallyFailures {
  int64_t guard_failures = 0;
  int64_t store_errors = 0;
  int64_t self_duplicates = 0;
};

// Buyer `b`'s row, from its tally.
BuyerSummary SummaryOf(const TallyInput& input, uint32_t b) {
  const BuyerTally& t = input.tallies->TallyOf(b);
  BuyerSummary summary;
  summary.buyer = b;
  summary.pid = b < input.pids.size() ? input.pids[b] : 0;
  summary.killed = b < input.killed.size() && input.killed[b];
  summary.bought = t.bought;
  summary.sold_out = t.sold_out;
  summary.failed = t.guard_failures + t.store_errors +
                   t.serialization_failures + t.outcome_unknown;
  summary.torn_reads = t.torn_reads;
  summary.recovered = t.recovered;
  summary.paused = t.paused;
  summary.backoffs = t.backoffs;
  summary.fault = t.fault;
  summary.seats.assign(t.seats, t.seats + t.seats_shown);
  return summary;
}

// Adds every buyer's tally to the verdict: its row and the totals.
TallyFailures AddTallies(const TallyInput& input, Verdict* verdict) {
  TallyFailures failures;
  for (uint32_t b = 0; b < input.tallies->buyers(); ++b) {
    const BuyerTally& t = input.tallies->TallyOf(b);
    verdict->attempts += t.attempts;
    // Pending at the end: it died between its read and its outcome.
    verdict->indeterminate += t.pending + t.outcome_unknown;
    verdict->retries += t.retries;
    verdict->serialization_failures += t.serialization_failures;
    failures.guard_failures += t.guard_failures;
    failures.store_errors += t.store_errors;
    failures.self_duplicates += t.self_duplicates;
    AddBuyer(SummaryOf(input, b), verdict);
  }
  return failures;
}

// A violation of `count` instances known by count alone.
void AddCounted(ViolationKind kind, int64_t count, std::string summary,
                Verdict* verdict) {
  if (count == 0) return;
  ViolationBuilder builder(kind);
  builder.Add(count);
  builder.Summary(std::move(summary));
  builder.AddTo(&verdict->violations);
}

// The violations the tallies count: seats sold twice, torn reads, failed
// purchases, sold out told too soon.
void AddTallyViolations(const TallyInput& input, const TallyFailures& failures,
                        Verdict* verdict) {
  const int64_t duplicates =
      failures.self_duplicates + input.tallies->CrossBuyerDuplicates();
  AddCounted(ViolationKind::kDuplicateSeat, duplicates,
             fmt::format("{} extra sales of seats already sold{}", duplicates,
                         kNoWitnesses),
             verdict);
  AddCounted(ViolationKind::kTornRead, verdict->torn_reads,
             fmt::format("{} reads saw no valid count", verdict->torn_reads),
             verdict);
  AddCounted(ViolationKind::kGuardFailure, failures.guard_failures,
             "purchases that could not get or keep their lock", verdict);
  AddCounted(ViolationKind::kStoreError, failures.store_errors,
             "purchases the store failed", verdict);
  if (input.final_count && *input.final_count > 0) {
    AddCounted(ViolationKind::kFalseSoldOut, verdict->sold_out,
               "sold out was reported while tickets were left", verdict);
  }
}

}  // namespace

Verdict CheckTallies(const TallyInput& input) {
  Verdict verdict;
  verdict.initial = input.initial;
  verdict.final_count = input.final_count;
  const TallyFailures failures = AddTallies(input, &verdict);
  // The books, as a full history's are checked, with no purchases to
  // replay.
  CheckInput books;
  books.initial = input.initial;
  books.final_count = input.final_count;
  books.final_error = input.final_error;
  std::vector<Purchase> none;
  CheckLostUpdates(books, &verdict, &none);
  CheckOversell(books, &verdict, &none);
  AddTallyViolations(input, failures, &verdict);
  CheckFinalState(books, &verdict);
  for (Violation& v : verdict.violations) {
    if (v.kind == ViolationKind::kLostUpdate) v.summary += kNoWitnesses;
  }
  return verdict;
}

}  // namespace ticketsim
