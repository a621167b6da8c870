#include "sim/buyer.h"

#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <random>

namespace ticketsim {
namespace {

// Every buyer gets its own random stream, fixed by the seed and its index,
// so a run repeats with the same delays.
uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

long Futex(std::atomic<uint32_t>* word, int op, uint32_t value) {
  // Not FUTEX_PRIVATE_FLAG: the word is shared between processes.
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, value,
                 nullptr, nullptr, 0);
}

Failure FailureOf(const Status& s) {
  switch (s.code()) {
    case Status::Code::kTimeout:
      return Failure::kGuardTimeout;
    case Status::Code::kBusy:
      return Failure::kStoreBusy;
    default:
      return Failure::kStoreError;
  }
}

class BuyerLoop {
 public:
  BuyerLoop(const Scenario& scenario, uint32_t index, TicketStore* store,
            Guard* guard, const RunControl* control, EventWriter events)
      : scenario_(scenario),
        store_(store),
        guard_(guard),
        control_(control),
        slot_(&control->slots[index]),
        events_(events),
        guarded_(scenario.guard.kind != GuardKind::kNone),
        random_(SplitMix64(scenario.buyers.seed ^ SplitMix64(index))) {}

  // Runs every attempt; returns false when the buyer must stop.
  bool Run() {
    for (attempt_ = 0; attempt_ < scenario_.buyers.attempts; ++attempt_) {
      if (!Attempt()) return false;
      slot_->done.store(attempt_ + 1, std::memory_order_relaxed);
    }
    return true;
  }

 private:
  uint64_t Now() const {
    return static_cast<uint64_t>(MonotonicNs() - control_->start_ns.load());
  }

  void Record(EventKind kind, int64_t value = 0, uint8_t flags = 0,
              uint32_t aux = 0) {
    events_.Record(Now(), static_cast<uint32_t>(attempt_), kind, value, flags,
                   aux);
  }

  double Draw(const MsRange& range) {
    if (range.max <= range.min) return range.min;
    return std::uniform_real_distribution<double>(range.min,
                                                  range.max)(random_);
  }

  // The fault `kill_holder`: dies here, by a real SIGKILL, with its chance.
  void MaybeDie() {
    if (scenario_.faults.kill_holder > 0 &&
        std::uniform_real_distribution<double>(0, 1)(random_) <
            scenario_.faults.kill_holder / 2) {
      kill(getpid(), SIGKILL);
    }
  }

  // Reads the count as event `kind`; returns false on a torn read.
  bool ReadCount(EventKind kind, int64_t* count) {
    Reading reading;
    Status s = store_->Read(&reading);
    if (s.code() == Status::Code::kCorrupt) {
      Record(kind, 0, kTorn, reading.bytes);
      return false;
    }
    if (!s.ok()) {
      Record(EventKind::kFailed, 0, 0, static_cast<uint32_t>(FailureOf(s)));
      return false;
    }
    *count = reading.count;
    Record(kind, reading.count);
    return true;
  }

  bool Acquire() {
    if (!guarded_) return true;
    const int64_t before = MonotonicNs();
    bool recovered = false;
    Status s = guard_->Acquire(scenario_.guard.timeout_ms, &recovered);
    if (!s.ok()) {
      Record(EventKind::kFailed, 0, 0,
             static_cast<uint32_t>(s.code() == Status::Code::kTimeout
                                       ? Failure::kGuardTimeout
                                       : Failure::kGuardError));
      return false;
    }
    const int64_t waited_us = (MonotonicNs() - before) / 1000;
    Record(EventKind::kAcquired, 0, recovered ? kRecovered : 0,
           static_cast<uint32_t>(std::min<int64_t>(waited_us, UINT32_MAX)));
    return true;
  }

  void Release(bool purchase_failed) {
    if (!guarded_) return;
    if (purchase_failed) {
      guard_->Abort();
    } else if (Status s = guard_->Release(); !s.ok()) {
      Record(EventKind::kFailed, 0, 0, static_cast<uint32_t>(FailureOf(s)));
    }
    Record(EventKind::kRelease);
  }

  // One purchase. Returns false when the buyer must stop (guard trouble).
  bool Attempt() {
    const bool guard_query = scenario_.guard.scope == Scope::kQueryAndBuy;
    if (guard_query && !Acquire()) return false;
    int64_t seen = 0;
    ReadCount(EventKind::kQuery, &seen);
    SleepMs(Draw(scenario_.buyers.query_delay_ms));
    if (!guard_query && !Acquire()) return false;
    const bool failed = scenario_.buyers.method == Method::kAtomic
                            ? !TakeAtomically()
                            : !ReadModifyWrite();
    Release(failed);
    return true;
  }

  // Steps 4-6. Returns false if the purchase failed (nothing was written).
  bool ReadModifyWrite() {
    int64_t count = 0;
    if (!ReadCount(EventKind::kRead, &count)) return false;
    if (count <= 0) {
      Record(EventKind::kSoldOut, count);
      return true;
    }
    MaybeDie();
    SleepMs(Draw(scenario_.buyers.think_ms));
    Status s = store_->Write(count - 1);
    if (!s.ok()) {
      Record(EventKind::kFailed, 0, 0, static_cast<uint32_t>(FailureOf(s)));
      return false;
    }
    Record(EventKind::kWrite, count - 1);
    MaybeDie();
    return true;
  }

  bool TakeAtomically() {
    Record(EventKind::kInvoke);
    int64_t seat = 0;
    Status s = store_->TakeOne(&seat);
    if (!s.ok()) {
      Record(EventKind::kFailed, 0, 0, static_cast<uint32_t>(FailureOf(s)));
      return false;
    }
    if (seat == 0) {
      Record(EventKind::kSoldOut, 0);
    } else {
      Record(EventKind::kTook, seat);
      MaybeDie();
    }
    return true;
  }

  const Scenario& scenario_;
  TicketStore* const store_;
  Guard* const guard_;
  const RunControl* const control_;
  BuyerSlot* const slot_;
  EventWriter events_;
  const bool guarded_;
  std::mt19937_64 random_;
  int64_t attempt_ = 0;
};

}  // namespace

int64_t MonotonicNs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
}

void OpenStartBarrier(RunControl* control) {
  control->start_ns.store(MonotonicNs());
  control->go.store(1, std::memory_order_release);
  Futex(&control->go, FUTEX_WAKE, INT32_MAX);
}

int64_t RunControl::AttemptsDone(size_t buyers) const {
  int64_t done = 0;
  for (size_t i = 0; i < buyers; ++i) {
    done += slots[i].done.load(std::memory_order_relaxed);
  }
  return done;
}

int RunBuyerProcess(const Scenario& scenario, uint32_t process,
                    TicketStore* store, Guard* guard, RunControl* control,
                    HistoryArena* history) {
  if (!store->Attach().ok() || !guard->Attach().ok()) return kBuyerAttachFailed;
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
    BuyerLoop loop(scenario, buyer, store, guard, control,
                   history->WriterFor(buyer));
    finished = loop.Run();
  }
  guard->Detach();
  store->Detach();
  return finished ? kBuyerDone : kBuyerStopped;
}

}  // namespace ticketsim
