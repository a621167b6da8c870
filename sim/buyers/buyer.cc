#include "sim/buyers/buyer.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <boost/container/static_vector.hpp>
#include <cstring>
#include <optional>
#include <random>
#include <utility>

#include "base/futex.h"
#include "storage/memory_store.h"
#include "storage/shm_store.h"

namespace ticketsim {
namespace {

// One entry per event, held inline: a buyer allocates nothing on the heap,
// where each first write in a freshly forked process copies a page.
template <typename T>
using PerEvent = boost::container::static_vector<T, kMaxEvents>;

// Every buyer gets its own random stream, fixed by the seed and its index,
// so a run repeats with the same delays.
uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

Failure FailureOf(const Status& s) {
  switch (s.code()) {
    case Status::Code::kTimeout:
      return Failure::kGuardTimeout;
    case Status::Code::kBusy:
      return Failure::kStoreBusy;
    case Status::Code::kConflict:
      return Failure::kSerialization;
    case Status::Code::kLost:
      return Failure::kOutcomeUnknown;
    default:
      return Failure::kStoreError;
  }
}

class BuyerLoop {
 public:
  // Buyer `index`, served by process `process`, recording into its own
  // lane of work.history.
  BuyerLoop(const BuyerWork& work, uint32_t index, uint32_t process)
      : scenario_(*work.scenario),
        index_(index),
        tallies_(work.tallies),
        stores_(work.stores),
        guards_(work.guards),
        control_(work.control),
        slot_(&work.control->slots[index]),
        events_(work.history->WriterFor(index)),
        gate_(work.control->steps, index, process),
        think_step_(gate_.on() && scenario_.buyers.think_ms.max > 0),
        // A purchase under store.isolation is a transaction, begun and
        // committed as a guard is taken and given back.
        guarded_(scenario_.guard.kind != GuardKind::kNone ||
                 guards_[0]->Transactional()),
        transactional_(guards_[0]->Transactional()),
        random_(SplitMix64(scenario_.buyers.seed ^ SplitMix64(index))),
        counts_(stores_.size()) {
    for (size_t e = 0; e < stores_.size(); ++e) order_.push_back(e);
    if (scenario_.guard.order == GuardOrder::kOpposite && index % 2 == 1) {
      std::reverse(order_.begin(), order_.end());
    }
    // The moment a truncating write has emptied the file opens the window
    // a torn read falls in: the history keeps it. A controlled buyer also
    // stops between the two halves of a write that has them. A store that
    // every thread shares writes in one step, and is no buyer's to hook.
    const bool truncated =
        tallies_ == nullptr && EmptiesWhileWriting(scenario_.store);
    if (gate_.on() || truncated) {
      for (size_t e = 0; e < stores_.size(); ++e) {
        if (stores_[e]->SharedByThreads()) continue;
        stores_[e]->SetMidWrite([this, e, truncated] {
          if (truncated) Record(EventKind::kTruncated, 0, 0, 0, e);
          if (gate_.on()) Step(StepKind::kWriteEnd, e);
        });
      }
    }
  }
  ~BuyerLoop() {
    for (TicketStore* store : stores_) {
      if (!store->SharedByThreads()) store->SetMidWrite({});
    }
  }
  BuyerLoop(const BuyerLoop&) = delete;
  BuyerLoop& operator=(const BuyerLoop&) = delete;

  // Runs the next attempt alone (a box office serving one request);
  // returns false when the buyer must stop.
  bool RunOne() {
    if (tallies_ != nullptr) ++tallies_->TallyOf(index_)->attempts;
    const bool went_on = stores_.size() > 1 ? BundleAttempt() : Attempt();
    ++attempt_;
    slot_->done.store(attempt_, std::memory_order_relaxed);
    return went_on && !failed_;
  }
  // Events recorded so far in this buyer's lane.
  size_t used() const { return events_.used(); }

  // Runs every attempt; returns false when the buyer must stop.
  bool Run() {
    TicketStore* const fast = FastPathStore();
    bool finished = true;
    if (auto* shm = dynamic_cast<ShmStore*>(fast)) {
      finished = RunFast(shm);
    } else if (auto* memory = dynamic_cast<MemoryStore*>(fast)) {
      finished = RunFast(memory);
    } else {
      finished = RunEach();
    }
    gate_.Finished(events_.used());
    return finished;
  }

 private:
  bool RunEach() {
    const bool bundle = stores_.size() > 1;
    for (attempt_ = 0; attempt_ < scenario_.buyers.attempts; ++attempt_) {
      if (tallies_ != nullptr) ++tallies_->TallyOf(index_)->attempts;
      if (!(bundle ? BundleAttempt() : Attempt())) return false;
      slot_->done.store(attempt_ + 1, std::memory_order_relaxed);
      if (failed_) return false;
    }
    return true;
  }

  // --- The summary's fast path ---------------------------------------------
  //
  // A long summary run on shared memory spends its time in the purchase
  // loop itself: Attempt asks at every step whether a step is controlled,
  // a clock is read, a delay drawn, a fault due, and calls the store through
  // its interface. Where every one of those questions has one answer for
  // the whole run, RunFast makes the same purchases with the answers taken
  // once: the same steps, the same tally counts and slot words in the same
  // order, the shm store's steps called directly (inline, no status left to
  // build), the guard's as Attempt calls them, and on a failure the very
  // functions Attempt uses. That is when (FastPathStore):
  //   - history "summary" (no clock is read, no event written);
  //   - schedule os (no step waits for a turn);
  //   - one event, on the shm or the memory store, whose steps never fail;
  //   - scope buy (the query is not guarded);
  //   - no think time and no query delay (nothing drawn, nothing slept);
  //   - no faults (no chance drawn);
  //   - a guard that is not a transaction (the shm store's guards: none,
  //     the named mutex and semaphore, the file lock, the robust mutex,
  //     none of which refuses a transaction to retry).

  // A range that Draw returns as 0 without drawing, and Sleep skips.
  static bool Instant(const MsRange& range) {
    return range.max <= range.min && range.min <= 0;
  }

  // The store, when the fast path makes exactly Attempt's purchases (on a
  // store it knows); nullptr when it does not apply.
  TicketStore* FastPathStore() const {
    const BuyersSpec& b = scenario_.buyers;
    if (tallies_ == nullptr || gate_.on() || stores_.size() != 1 ||
        scenario_.guard.scope != Scope::kBuy || transactional_ ||
        !Instant(b.think_ms) || !Instant(b.query_delay_ms) ||
        scenario_.faults.any()) {
      return nullptr;
    }
    return stores_[0];
  }

  // Its steps called directly: Store is final, its steps inline.
  template <typename Store>
  bool RunFast(Store* store) {
    return scenario_.buyers.method == Method::kAtomic
               ? RunFast</*kAtomic=*/true>(store)
               : RunFast</*kAtomic=*/false>(store);
  }

  template <bool kAtomic, typename Store>
  bool RunFast(Store* store) {
    BuyerTally* const tally = tallies_->TallyOf(index_);
    Guard* const guard = guarded_ ? guards_[0] : nullptr;
    const auto count = [this](EventKind kind, int64_t value, uint8_t flags) {
      tallies_->Count(index_, kind, value, flags, 0);
    };
    Reading reading;
    for (attempt_ = 0; attempt_ < scenario_.buyers.attempts; ++attempt_) {
      ++tally->attempts;
      store->Read(&reading);  // the query
      count(EventKind::kQuery, reading.count, 0);
      bool recovered = false;
      if (guard != nullptr) {
        MarkWaiting(0);
        Status s = guard->Acquire(scenario_.guard.timeout_ms, &recovered);
        slot_->waiting.store(0, std::memory_order_release);
        if (!s.ok()) {
          GuardRefused(s, 0);
          return false;
        }
        MarkHeld(0, true);
        count(EventKind::kAcquired, 0, recovered ? kRecovered : 0);
      }
      if constexpr (kAtomic) {
        count(EventKind::kInvoke, 0, 0);
        int64_t seat = 0;
        store->TakeOne(&seat);
        if (seat == 0) {
          count(EventKind::kSoldOut, 0, 0);
        } else {
          count(EventKind::kTook, seat, 0);
        }
      } else {
        store->Read(&reading);
        count(EventKind::kRead, reading.count, 0);
        if (reading.count <= 0) {
          count(EventKind::kSoldOut, reading.count, 0);
        } else {
          store->Write(reading.count - 1);
          count(EventKind::kWrite, reading.count - 1, 0);
        }
      }
      if (guard != nullptr) {
        MarkHeld(0, false);
        if (Status s = guard->Release(); !s.ok()) RecordFailure(s, 0);
      }
      slot_->done.store(attempt_ + 1, std::memory_order_relaxed);
      if (failed_) return false;
    }
    return true;
  }

  // --- Attempt and the steps it is made of ----------------------------------

  // Under a controlled schedule: stops before step `kind` of `event` until
  // the scheduler lets this buyer take it.
  void Step(StepKind kind, size_t event = 0, bool blocked = false) {
    gate_.Before(kind, event, events_.used(), blocked);
  }
  // A delay: under a controlled schedule none, for there the race window is
  // the steps other buyers take meanwhile.
  void Sleep(double ms) {
    if (!gate_.on()) SleepMs(ms);
  }

  uint64_t Now() const {
    return static_cast<uint64_t>(MonotonicNs() - control_->start_ns.load());
  }

  // Records an event: in the history, or with history "summary" in the
  // buyer's tally (with no clock read: the summary keeps no times).
  void Record(EventKind kind, int64_t value = 0, uint8_t flags = 0,
              uint32_t aux = 0, size_t event = 0) {
    RecordAt(tallies_ != nullptr ? 0 : Now(), kind, value, flags, aux, event);
  }
  void RecordAt(uint64_t time_ns, EventKind kind, int64_t value, uint8_t flags,
                uint32_t aux, size_t event) {
    if (tallies_ != nullptr) {
      tallies_->Count(index_, kind, value, flags, aux);
      return;
    }
    events_.Record({.time_ns = time_ns,
                    .value = value,
                    .attempt = static_cast<uint32_t>(attempt_),
                    .kind = kind,
                    .flags = flags,
                    .event = static_cast<uint16_t>(event),
                    .aux = aux});
    last_ns_ = time_ns;
  }
  // The time of the last event recorded: a buyer's events stay in time
  // order.
  uint64_t LastTime() const { return last_ns_; }
  // A transaction the server refused (SQLSTATE 40001) with store.retries
  // left is not a failure: it is rolled back, and Attempt runs it again.
  void RecordFailure(const Status& s, size_t event) {
    if (s.code() == Status::Code::kConflict &&
        retries_ < scenario_.store.retries && stores_.size() == 1) {
      retry_ = true;
      return;
    }
    const Failure failure = FailureOf(s);
    Record(EventKind::kFailed, 0, 0, static_cast<uint32_t>(failure), event);
    refused_ = failure == Failure::kSerialization;
    KeepCause(s, failure);
  }

  // Keeps the cause of a failed purchase. If the system, not the scenario,
  // failed it (a full disk, no memory, no descriptors), the run's verdict
  // would be the machine's, not the race's: the buyer stops, and the run
  // fails with this cause. A timeout or SQLITE_BUSY says all there is.
  void KeepCause(const Status& s, Failure failure) {
    const Status::Code code = s.code();
    if (code == Status::Code::kTimeout || code == Status::Code::kBusy ||
        code == Status::Code::kConflict || code == Status::Code::kLost) {
      return;
    }
    const std::string why = fmt::format("buyer {}: {}", index_, s.message());
    if (code != Status::Code::kEnvironment) {
      (failure == Failure::kGuardError ? control_->first_guard_error
                                       : control_->first_store_error)
          .Set(why);
      return;
    }
    control_->failure.Set(why);
    failed_ = true;
  }

  double Draw(const MsRange& range) {
    if (range.max <= range.min) return range.min;
    return std::uniform_real_distribution<double>(range.min,
                                                  range.max)(random_);
  }
  // Draws only for a fault that is on, so that a scenario without faults
  // keeps the delays it always had for its seed.
  bool Chance(double p) {
    return p > 0 && std::uniform_real_distribution<double>(0, 1)(random_) < p;
  }

  // The fault `kill_holder`: dies here, by a real SIGKILL, with its chance
  // (split over the two places it is called from).
  void MaybeDie() {
    if (!Chance(scenario_.faults.kill_holder / 2)) return;
    Record(EventKind::kFault, 0, 0, static_cast<uint32_t>(FaultKind::kKill));
    kill(getpid(), SIGKILL);
  }

  // The fault `pause_holder`: stops here; the parent continues it later.
  void MaybePause() {
    if (!Chance(scenario_.faults.pause_holder)) return;
    Record(EventKind::kFault,
           static_cast<int64_t>(scenario_.faults.pause_holder_ms), 0,
           static_cast<uint32_t>(FaultKind::kPause));
    kill(getpid(), SIGSTOP);
  }

  // The fault `crash_before_write`: a crash, as a program's bug would end
  // it, between reading the count and writing it.
  void MaybeCrash() {
    if (!Chance(scenario_.faults.crash_before_write)) return;
    Record(EventKind::kFault, 0, 0, static_cast<uint32_t>(FaultKind::kCrash));
    prctl(PR_SET_DUMPABLE, 0);  // no core file for an injected crash
    signal(SIGABRT, SIG_DFL);
    raise(SIGABRT);
  }

  // Reads event `event`'s count as event kind `kind`; false on a torn read
  // or a store failure.
  bool ReadCount(size_t event, EventKind kind, int64_t* count) {
    Reading reading;
    Status s = stores_[event]->Read(&reading);
    if (s.code() == Status::Code::kCorrupt) {
      Record(kind, 0, kTorn, reading.bytes, event);
      return false;
    }
    if (!s.ok()) {
      RecordFailure(s, event);
      return false;
    }
    *count = reading.count;
    gate_.Read(reading.count);
    Record(kind, reading.count, 0, 0, event);
    return true;
  }

  enum class Took { kYes, kBusy, kFailed };

  // Says in the buyer's slot that it waits for event `event`'s guard. Only
  // this process writes its slot: plain stores, no locked instructions on
  // the purchase's path.
  void MarkWaiting(size_t event) {
    slot_->waits.store(slot_->waits.load(std::memory_order_relaxed) + 1,
                       std::memory_order_relaxed);
    slot_->waiting.store(static_cast<uint32_t>(event) + 1,
                         std::memory_order_release);
  }
  // Says in the buyer's slot that it holds event `event`'s guard, or not.
  void MarkHeld(size_t event, bool held) {
    const uint32_t was = slot_->held.load(std::memory_order_relaxed);
    slot_->held.store(held ? was | (1u << event) : was & ~(1u << event),
                      std::memory_order_release);
  }

  // Records that event `event`'s guard was not taken, as status `s` says.
  void GuardRefused(const Status& s, size_t event) {
    // A transaction's lock refused by the server (repeatable read: the row
    // changed since the snapshot) is the store's refusal.
    if (s.code() == Status::Code::kConflict) {
      RecordFailure(s, event);
      return;
    }
    const Failure failure = s.code() == Status::Code::kTimeout
                                ? Failure::kGuardTimeout
                                : Failure::kGuardError;
    Record(EventKind::kFailed, 0, 0, static_cast<uint32_t>(failure), event);
    KeepCause(s, failure);
  }

  // Takes event `event`'s guard: a timed wait, or with `try_only` one try
  // (kBusy if someone holds it). Records a failure, but not the taking:
  // *at and *waited_us say when and how long, for the caller to record.
  Took TakeGuard(size_t event, bool try_only, uint64_t* at, uint32_t* waited_us,
                 bool* recovered) {
    *recovered = false;
    *at = 0;
    *waited_us = 0;
    if (!guarded_) return Took::kYes;
    // The summary keeps no times: no clock is read for it.
    const bool timed = tallies_ == nullptr;
    const int64_t before = timed ? MonotonicNs() : 0;
    Status s;
    if (try_only) {
      s = guards_[event]->TryAcquire(recovered);
    } else {
      MarkWaiting(event);
      s = guards_[event]->Acquire(scenario_.guard.timeout_ms, recovered);
      slot_->waiting.store(0, std::memory_order_release);
    }
    if (!s.ok()) {
      if (try_only && s.code() == Status::Code::kTimeout) return Took::kBusy;
      GuardRefused(s, event);
      return Took::kFailed;
    }
    MarkHeld(event, true);
    if (timed) {
      const int64_t now = MonotonicNs();
      *at = static_cast<uint64_t>(now - control_->start_ns.load());
      *waited_us = static_cast<uint32_t>(
          std::min<int64_t>((now - before) / 1000, UINT32_MAX));
    }
    return Took::kYes;
  }

  void RecordAcquired(size_t event, uint64_t at, uint32_t waited_us,
                      bool recovered) {
    if (!guarded_) return;
    RecordAt(at, EventKind::kAcquired, 0, recovered ? kRecovered : 0, waited_us,
             event);
  }

  // Takes event `event`'s guard as TakeGuard does, with `try_only` or a
  // timed wait. Under a controlled schedule taking is a step, and waiting
  // is a try that, failing, blocks the buyer: it stops until the guard is
  // given back, then tries again.
  Took StepTakeGuard(size_t event, bool try_only, uint64_t* at,
                     uint32_t* waited_us, bool* recovered) {
    // Nothing to take without a guard: no step either.
    if (!gate_.on() || !guarded_) {
      return TakeGuard(event, try_only, at, waited_us, recovered);
    }
    const int64_t first = tallies_ == nullptr ? MonotonicNs() : 0;
    Took took = Took::kBusy;
    for (bool blocked = false; took == Took::kBusy && !try_only;
         blocked = true) {
      if (blocked) MarkWaiting(event);
      Step(StepKind::kAcquire, event, blocked);
      took = TakeGuard(event, /*try_only=*/true, at, waited_us, recovered);
    }
    if (try_only) {
      Step(StepKind::kAcquire, event);
      took = TakeGuard(event, /*try_only=*/true, at, waited_us, recovered);
    }
    slot_->waiting.store(0, std::memory_order_release);
    // The wait ran from the first try.
    if (took == Took::kYes && tallies_ == nullptr) {
      *waited_us = static_cast<uint32_t>(std::min<int64_t>(
          (control_->start_ns.load() + static_cast<int64_t>(*at) - first) /
              1000,
          UINT32_MAX));
    }
    return took;
  }

  // Records that the buyer asks for event `event`'s guard: the start of
  // its wait, which ends when a kAcquired or kFailed of that event is
  // recorded (or never, for a deadlock's and an abandoned lock's waiters).
  void RecordWaiting(size_t event) {
    if (guarded_ && tallies_ == nullptr) {
      Record(EventKind::kWaiting, 0, 0, 0, event);
    }
  }

  bool Acquire(size_t event) {
    if (!guarded_) return true;
    RecordWaiting(event);
    uint64_t at = 0;
    uint32_t waited_us = 0;
    bool recovered = false;
    if (StepTakeGuard(event, /*try_only=*/false, &at, &waited_us, &recovered) !=
        Took::kYes) {
      return false;
    }
    RecordAcquired(event, at, waited_us, recovered);
    return true;
  }

  // Gives event `event`'s guard back; `record`: as an event of the history
  // (not for a try-backoff round that is started again, which gives its
  // guards back in its back-off step).
  //
  // The release is stamped with a time taken while the guard is still
  // held, so that no other buyer's taking of it is ever stamped before it.
  // A transactional guard commits as it lets go: its purchase, confirmed
  // only once committed, keeps the time it was written, before that.
  void Release(size_t event, bool purchase_failed, bool record = true) {
    if (!guarded_) return;
    if (record) Step(StepKind::kRelease, event);
    const uint64_t let_go = record && tallies_ == nullptr ? Now() : 0;
    // Cleared first: better an abandoned lock missed (its waiters then time
    // out) than one reported that was in fact given back.
    MarkHeld(event, false);
    if (!transactional_ && record) {
      RecordAt(let_go, EventKind::kRelease, 0, 0, 0, event);
    }
    if (purchase_failed) {
      guards_[event]->Abort();
    } else if (Status s = guards_[event]->Release(); !s.ok()) {
      RecordFailure(s, event);
    } else if (uncommitted_) {
      RecordAt(uncommitted_->time_ns, uncommitted_->kind, uncommitted_->value,
               0, 0, event);
    }
    uncommitted_.reset();
    if (transactional_ && record) {
      RecordAt(std::max(let_go, LastTime()), EventKind::kRelease, 0, 0, 0,
               event);
    }
  }

  // One purchase. Returns false when the buyer must stop (guard trouble).
  bool Attempt() {
    const bool guard_query = scenario_.guard.scope == Scope::kQueryAndBuy;
    if (guard_query && !Acquire(0)) return false;
    int64_t seen = 0;
    Step(StepKind::kQuery);
    ReadCount(0, EventKind::kQuery, &seen);
    Sleep(Draw(scenario_.buyers.query_delay_ms));
    // Each round is one transaction; a round the server refused runs
    // again while store.retries last (RecordFailure sets retry_).
    for (retries_ = 0;; ++retries_) {
      if ((retries_ > 0 || !guard_query) && !Acquire(0)) {
        // A guard that failed stops the buyer; a refused transaction is
        // one failed purchase.
        if (!retry_ && !std::exchange(refused_, false)) return false;
      } else {
        const bool failed = scenario_.buyers.method == Method::kAtomic
                                ? !TakeAtomically()
                                : !ReadModifyWrite();
        Release(0, failed);
      }
      if (!retry_) return true;
      retry_ = false;
      Record(EventKind::kRetry, retries_ + 1);
    }
  }

  // A purchase written: confirmed now, or under a transaction once it is
  // committed.
  void Done(EventKind kind, int64_t value) {
    if (transactional_) {
      uncommitted_.emplace(
          Uncommitted{tallies_ != nullptr ? 0 : Now(), kind, value});
    } else {
      Record(kind, value);
    }
  }

  // Steps 4-6. Returns false if the purchase failed (nothing was written).
  bool ReadModifyWrite() {
    int64_t count = 0;
    Step(StepKind::kRead);
    if (!ReadCount(0, EventKind::kRead, &count)) return false;
    if (count <= 0) {
      Record(EventKind::kSoldOut, count);
      return true;
    }
    StepsBeforeWrite(0);
    MaybePause();
    MaybeDie();
    Sleep(Draw(scenario_.buyers.think_ms));
    MaybeCrash();
    if (think_step_) Step(StepKind::kWrite);
    Status s = stores_[0]->Write(count - 1);
    if (!s.ok()) {
      RecordFailure(s, 0);
      return false;
    }
    Done(EventKind::kWrite, count - 1);
    MaybeDie();
    return true;
  }

  // Under a controlled schedule the faults between read and write strike in
  // the think step, or with no think time in the write step.
  void StepsBeforeWrite(size_t event) {
    if (gate_.on())
      Step(think_step_ ? StepKind::kThink : StepKind::kWrite, event);
  }

  bool TakeAtomically() {
    Step(StepKind::kTake);
    MaybePause();
    MaybeCrash();
    Record(EventKind::kInvoke);
    int64_t seat = 0;
    Status s = stores_[0]->TakeOne(&seat);
    if (!s.ok()) {
      RecordFailure(s, 0);
      return false;
    }
    if (seat == 0) {
      Record(EventKind::kSoldOut, 0);
    } else {
      Done(EventKind::kTook, seat);
      MaybeDie();
    }
    return true;
  }

  // Takes every event's guard in the buyer's order. Returns false when the
  // buyer must stop (a guard timed out or failed).
  bool TakeAllGuards() {
    const bool backoff =
        scenario_.guard.acquire == GuardAcquire::kTryBackoff && guarded_;
    int64_t backoffs = 0;
    PerEvent<uint64_t> at(order_.size());
    PerEvent<uint32_t> waited(order_.size());
    PerEvent<bool> recovered(order_.size());
    bool recorded = true;  // this round's waits and takings are recorded
    for (;;) {
      // A round whose back-off will be recorded is recorded as it goes, so
      // that the history shows what the back-off gave back. Past them, a
      // round's guards are recorded once all are taken: a buyer's slice
      // holds a bounded number of events.
      recorded = !backoff || backoffs < static_cast<int64_t>(kBackoffsRecorded);
      size_t taken = 0;
      Took took = Took::kYes;
      for (; taken < order_.size(); ++taken) {
        // Holding one, deciding on the next: the deadlock's window.
        if (taken > 0) Sleep(Draw(scenario_.buyers.think_ms));
        const bool try_only = backoff && taken > 0;
        if (!try_only && recorded) RecordWaiting(order_[taken]);
        bool r = false;
        took = StepTakeGuard(order_[taken], try_only, &at[taken],
                             &waited[taken], &r);
        recovered[taken] = r;
        if (took != Took::kYes) break;
        // Waiting, a guard once taken is kept: it is recorded now, so that
        // a deadlock shows who took what.
        if (recorded) {
          RecordAcquired(order_[taken], at[taken], waited[taken], r);
        }
      }
      if (took == Took::kYes) break;
      if (took == Took::kBusy) Step(StepKind::kBackoff, order_[taken]);
      uint32_t given_back = 0;
      for (size_t i = taken; i-- > 0;) {
        Release(order_[i], /*purchase_failed=*/true, /*record=*/false);
        given_back |= 1u << order_[i];
      }
      if (took == Took::kFailed) return false;
      if (++backoffs <= static_cast<int64_t>(kBackoffsRecorded)) {
        Record(EventKind::kBackoff, backoffs, 0, given_back, order_[taken]);
      }
      // Exponential: two buyers that keep meeting soon wait long enough
      // apart for one of them to take every guard.
      Sleep(Draw(scenario_.guard.backoff_ms) *
            static_cast<double>(1 << std::min<int64_t>(backoffs - 1, 8)));
    }
    if (!recorded) {
      for (size_t i = 0; i < order_.size(); ++i) {
        RecordAcquired(order_[i], at[i], waited[i], recovered[i]);
      }
    }
    return true;
  }

  void ReleaseAll(bool purchase_failed) {
    for (size_t i = order_.size(); i-- > 0;) {
      Release(order_[i], purchase_failed);
    }
  }

  // One purchase of a ticket of every event. Returns false when the buyer
  // must stop.
  bool BundleAttempt() {
    int64_t seen = 0;
    Step(StepKind::kQuery);
    ReadCount(0, EventKind::kQuery, &seen);
    Sleep(Draw(scenario_.buyers.query_delay_ms));
    if (!TakeAllGuards()) return false;
    bool sold_out = false;
    for (size_t e : order_) {
      Step(StepKind::kRead, e);
      if (!ReadCount(e, EventKind::kRead, &counts_[e])) {
        ReleaseAll(/*purchase_failed=*/true);
        return true;
      }
      sold_out = sold_out || counts_[e] <= 0;
    }
    if (sold_out) {
      for (size_t e : order_) Record(EventKind::kSoldOut, counts_[e], 0, 0, e);
      ReleaseAll(/*purchase_failed=*/false);
      return true;
    }
    StepsBeforeWrite(order_[0]);
    MaybePause();
    MaybeDie();
    Sleep(Draw(scenario_.buyers.think_ms));
    MaybeCrash();
    for (size_t i = 0; i < order_.size(); ++i) {
      const size_t e = order_[i];
      if (gate_.on() && (think_step_ || i > 0)) Step(StepKind::kWrite, e);
      if (Status s = stores_[e]->Write(counts_[e] - 1); !s.ok()) {
        RecordFailure(s, e);
        ReleaseAll(/*purchase_failed=*/true);
        return true;
      }
      Record(EventKind::kWrite, counts_[e] - 1, 0, 0, e);
    }
    MaybeDie();
    ReleaseAll(/*purchase_failed=*/false);
    return true;
  }

  const Scenario& scenario_;
  const uint32_t index_;
  TallyArena* const tallies_;  // with history "summary"; else nullptr
  const std::span<TicketStore* const> stores_;
  const std::span<Guard* const> guards_;
  RunControl* const control_;
  BuyerSlot* const slot_;
  EventWriter events_;
  StepGate gate_;
  const bool think_step_;  // controlled, with a think time: a step of its own
  const bool guarded_;
  const bool transactional_;
  std::mt19937_64 random_;
  // Under a transactional guard, the purchase done but not yet committed:
  // it is recorded once Release commits it.
  struct Uncommitted {
    uint64_t time_ns;
    EventKind kind;
    int64_t value;
  };
  std::optional<Uncommitted> uncommitted_;
  PerEvent<size_t> order_;    // the events, in the order it takes them
  PerEvent<int64_t> counts_;  // per event, the count read
  int64_t attempt_ = 0;
  int64_t retries_ = 0;   // of this attempt's transaction, so far
  bool retry_ = false;    // the server refused it; run it again
  bool refused_ = false;  // the server refused it, no retry left
  uint64_t last_ns_ = 0;
  bool failed_ = false;  // the system failed a purchase: stop
};

}  // namespace

void OpenStartBarrier(RunControl* control) {
  control->start_ns.store(MonotonicNs());
  control->go.store(1, std::memory_order_release);
  Futex(&control->go, FUTEX_WAKE, INT32_MAX);
}

void FirstText::Set(std::string_view message) {
  if (claimed.exchange(1) != 0) return;
  const size_t n = std::min(message.size(), sizeof text - 1);
  std::memcpy(text, message.data(), n);
  text[n] = '\0';
  written.store(1, std::memory_order_release);
}

std::string FirstText::Get() const { return empty() ? "" : text; }

int64_t RunControl::AttemptsDone(size_t buyers) const {
  int64_t done = 0;
  for (size_t i = 0; i < buyers; ++i) {
    done += slots[i].done.load(std::memory_order_relaxed);
  }
  return done;
}

class Purchaser::Loop {
 public:
  virtual ~Loop() = default;
  virtual bool RunOne() = 0;
  virtual size_t used() const = 0;
};

namespace {

class PurchaserLoop final : public Purchaser::Loop {
 public:
  PurchaserLoop(const BuyerWork& work, uint32_t index)
      : loop_(work, index, 0) {}
  bool RunOne() override { return loop_.RunOne(); }
  size_t used() const override { return loop_.used(); }

 private:
  BuyerLoop loop_;
};

}  // namespace

Purchaser::Purchaser(const BuyerWork& work, uint32_t index)
    : history_(work.history),
      index_(index),
      loop_(std::make_unique<PurchaserLoop>(work, index)) {}

Purchaser::~Purchaser() = default;

PurchaseOutcome Purchaser::Next() {
  const size_t before = loop_->used();
  PurchaseOutcome outcome;
  outcome.went_on = loop_->RunOne();
  const std::span<const Event> events = history_->EventsOf(index_);
  for (size_t i = before; i < events.size(); ++i) {
    const Event& e = events[i];
    switch (e.kind) {
      case EventKind::kWrite:
        outcome.kind = PurchaseOutcome::kSold;
        outcome.seat = e.value + 1;
        break;
      case EventKind::kTook:
        outcome.kind = PurchaseOutcome::kSold;
        outcome.seat = e.value;
        break;
      case EventKind::kSoldOut:
        outcome.kind = PurchaseOutcome::kSoldOut;
        break;
      case EventKind::kFailed:
        outcome.kind = PurchaseOutcome::kFailed;
        outcome.failure = static_cast<Failure>(e.aux);
        break;
      default:
        break;
    }
  }
  return outcome;
}

int RunBuyerProcess(const BuyerWork& work, uint32_t process) {
  const Scenario& scenario = *work.scenario;
  const std::span<TicketStore* const> stores = work.stores;
  const std::span<Guard* const> guards = work.guards;
  RunControl* const control = work.control;
  for (size_t e = 0; e < stores.size(); ++e) {
    const char* what = "store";
    Status s = stores[e]->Attach();
    if (s.ok()) {
      what = "guard";
      s = guards[e]->Attach();
    }
    if (!s.ok()) {
      control->failure.Set(
          fmt::format("buyer process {} could not open the {}: {}", process,
                      what, s.message()));
      return kBuyerAttachFailed;
    }
  }
  // Under a controlled schedule nothing may wait for a lock inside a step
  // (SQLite's busy timeout is 0: SQLITE_BUSY is a failed try). Opening the
  // store, all buyers at once, still may.
  if (control->steps != nullptr) {
    for (TicketStore* store : stores) store->NeverWait();
  }
  control->ready.fetch_add(1);
  while (control->go.load(std::memory_order_acquire) == 0) {
    Futex(&control->go, FUTEX_WAIT, 0);
  }
  const uint32_t buyers = static_cast<uint32_t>(scenario.buyers.count);
  const bool pool = scenario.buyers.pool > 0;
  bool finished = true;
  for (uint32_t buyer = pool ? control->next_buyer.fetch_add(1) : process;
       finished && buyer < buyers;
       buyer = pool ? control->next_buyer.fetch_add(1) : buyers) {
    control->slots[buyer].process.store(static_cast<int32_t>(process));
    BuyerLoop loop(work, buyer, process);
    finished = loop.Run();
  }
  for (size_t e = 0; e < stores.size(); ++e) {
    guards[e]->Detach();
    stores[e]->Detach();
  }
  StepGate::ProcessEnds(control->steps, process);
  return finished ? kBuyerDone : kBuyerStopped;
}

}  // namespace ticketsim
