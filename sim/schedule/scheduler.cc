#include "sim/schedule/scheduler.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <random>

#include "base/escape.h"
#include "base/futex.h"

namespace ticketsim {
namespace {

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The scheduler's own stream, apart from the buyers' (which decide their
// delays and faults), so that choosing never changes what a buyer draws.
std::mt19937_64 StreamFor(uint64_t seed, uint64_t salt) {
  return std::mt19937_64(Mix(seed ^ Mix(salt)));
}

// A number in [0, n): the same on every machine for the same stream.
uint64_t Below(std::mt19937_64& random, uint64_t n) { return random() % n; }

class SeededChooser : public StepChooser {
 public:
  explicit SeededChooser(uint64_t seed) : random_(StreamFor(seed, 0x5eed)) {}
  Choice Choose(const StepBoard& board) override {
    Choice c;
    c.buyer = board.runnable[Below(random_, board.runnable.size())];
    return c;
  }

 private:
  std::mt19937_64 random_;
};

class PctChooser : public StepChooser {
 public:
  PctChooser(uint64_t seed, size_t buyers, int64_t depth, int64_t steps)
      : random_(StreamFor(seed, 0x9c7)), depth_(depth), priority_(buyers) {
    // Priorities depth .. depth + n - 1, in a random order.
    for (size_t b = 0; b < buyers; ++b) {
      priority_[b] = depth + static_cast<int64_t>(b);
    }
    for (size_t b = buyers; b > 1; --b) {
      std::swap(priority_[b - 1], priority_[Below(random_, b)]);
    }
    // depth - 1 change points among steps 1 .. k, distinct.
    const int64_t k = std::max<int64_t>(steps, 1);
    for (int64_t i = 1; i < depth && i <= k; ++i) {
      int64_t point;
      do {
        point = 1 + static_cast<int64_t>(Below(random_, k));
      } while (std::find(changes_.begin(), changes_.end(), point) !=
               changes_.end());
      changes_.push_back(point);
    }
  }

  Choice Choose(const StepBoard& board) override {
    Choice c;
    c.buyer = board.runnable.front();
    for (uint32_t b : board.runnable) {
      if (priority_[b] > priority_[c.buyer]) c.buyer = b;
    }
    return c;
  }

  void Took(uint64_t step, uint32_t buyer, StepKind kind) override {
    // Step numbers from 1, as the change points are drawn.
    const int64_t taken = static_cast<int64_t>(step) + 1;
    const auto it = std::find(changes_.begin(), changes_.end(), taken);
    if (it != changes_.end()) {
      // The i-th change point (from 1) lowers it to depth - i: below every
      // start priority and every earlier change.
      priority_[buyer] = depth_ - 1 - (it - changes_.begin());
    }
    if (kind == StepKind::kBackoff) priority_[buyer] = --floor_;
  }

 private:
  std::mt19937_64 random_;
  const int64_t depth_;
  std::vector<int64_t> priority_;
  std::vector<int64_t> changes_;
  int64_t floor_ = 0;  // backing off lowers below this
};

class ListChooser : public StepChooser {
 public:
  ListChooser(std::vector<uint32_t> list, std::unique_ptr<StepChooser> after)
      : list_(std::move(list)), after_(std::move(after)) {}

  Choice Choose(const StepBoard& board) override {
    if (board.step >= list_.size()) return after_->Choose(board);
    Choice c;
    c.buyer = list_[board.step];
    if (std::binary_search(board.runnable.begin(), board.runnable.end(),
                           c.buyer)) {
      return c;
    }
    c.what = Choice::What::kError;
    c.error = fmt::format(
        "step {} of the list names buyer {}, which cannot "
        "take a step now: {}",
        board.step + 1, c.buyer, WhyNotRunnable(board, c.buyer));
    return c;
  }

  void Took(uint64_t step, uint32_t buyer, StepKind kind) override {
    after_->Took(step, buyer, kind);
  }

 private:
  std::vector<uint32_t> list_;
  std::unique_ptr<StepChooser> after_;
};

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// What became of the wait for one process to stop.
enum class Waited { kStopped, kDied, kPaused, kEnd, kTimedOut };

// The parent's waiting: for the one process that moves to stop, while
// taking the run's signals as they come.
class StepWaiter {
 public:
  StepWaiter(StepControl* steps, const sigset_t& signals,
             const ScheduleHooks& hooks)
      : steps_(steps), hooks_(hooks) {
    // Non-blocking, for it is read until empty.
    signal_fd_ = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  }
  ~StepWaiter() {
    if (signal_fd_ >= 0) close(signal_fd_);
  }
  bool ok() const { return signal_fd_ >= 0; }
  int signal_fd() const { return signal_fd_; }

  // Takes the pending signals; false if one ends the run.
  bool TakeSignals() {
    signalfd_siginfo info;
    while (read(signal_fd_, &info, sizeof info) ==
           static_cast<ssize_t>(sizeof info)) {
      const pid_t child =
          info.ssi_signo == SIGCHLD && info.ssi_code != CLD_CONTINUED
              ? static_cast<pid_t>(info.ssi_pid)
              : 0;
      if (hooks_.took_signal(static_cast<int>(info.ssi_signo), child)) {
        end_ = true;
      }
    }
    return !end_;
  }

  // Waits until process `p` has stopped, died or paused, or the run must
  // end, or `deadline` (CLOCK_MONOTONIC ns) has passed.
  Waited WaitFor(uint32_t p, int64_t deadline) {
    // Most steps take microseconds: look a while before sleeping.
    for (int spin = 0; spin < kSpins; ++spin) {
      if (steps_->stopped[p].load(std::memory_order_acquire) != 0) {
        return Waited::kStopped;
      }
      CpuRelax();
    }
    for (;;) {
      steps_->sleeping.store(1, std::memory_order_seq_cst);
      if (steps_->stopped[p].load(std::memory_order_seq_cst) != 0) {
        steps_->sleeping.store(0, std::memory_order_relaxed);
        return Waited::kStopped;
      }
      const int64_t left = deadline - MonotonicNs();
      if (left <= 0) {
        steps_->sleeping.store(0, std::memory_order_relaxed);
        return Waited::kTimedOut;
      }
      pollfd fds[2] = {{steps_->wake_fd, POLLIN, 0}, {signal_fd_, POLLIN, 0}};
      const timespec limit{static_cast<time_t>(left / 1000000000),
                           static_cast<long>(left % 1000000000)};
      const int n = ppoll(fds, 2, &limit, nullptr);
      steps_->sleeping.store(0, std::memory_order_relaxed);
      if (n < 0 && errno != EINTR) return Waited::kTimedOut;
      if (fds[0].revents != 0) {
        uint64_t count;
        [[maybe_unused]] ssize_t r =
            read(steps_->wake_fd, &count, sizeof count);
      }
      if (fds[1].revents != 0 && !TakeSignals()) return Waited::kEnd;
      if (steps_->stopped[p].load(std::memory_order_acquire) != 0) {
        return Waited::kStopped;
      }
      if (hooks_.ended(p)) return Waited::kDied;
      if (hooks_.paused(p)) return Waited::kPaused;
    }
  }

  bool end() const { return end_; }

 private:
  static constexpr int kSpins = 4000;

  StepControl* const steps_;
  const ScheduleHooks& hooks_;
  int signal_fd_ = -1;
  bool end_ = false;
};

}  // namespace

std::unique_ptr<StepChooser> MakeSeededChooser(uint64_t seed) {
  return std::make_unique<SeededChooser>(seed);
}

std::unique_ptr<StepChooser> MakePctChooser(uint64_t seed, size_t buyers,
                                            int64_t depth, int64_t steps) {
  return std::make_unique<PctChooser>(seed, buyers, depth, steps);
}

std::unique_ptr<StepChooser> MakeListChooser(
    std::vector<uint32_t> list, std::unique_ptr<StepChooser> after) {
  return std::make_unique<ListChooser>(std::move(list), std::move(after));
}

std::unique_ptr<StepChooser> MakeChooser(const Scenario& scenario) {
  const ScheduleSpec& spec = scenario.schedule;
  std::unique_ptr<StepChooser> chooser;
  if (spec.kind == ScheduleKind::kPct) {
    chooser = MakePctChooser(scenario.buyers.seed,
                             static_cast<size_t>(scenario.buyers.count),
                             spec.pct_depth, StepEstimate(scenario));
  } else {
    chooser = MakeSeededChooser(scenario.buyers.seed);
  }
  if (spec.steps.empty()) return chooser;
  return MakeListChooser(spec.steps, std::move(chooser));
}

int64_t StepEstimate(const Scenario& scenario) {
  const bool guarded = scenario.guard.kind != GuardKind::kNone;
  const int64_t events = static_cast<int64_t>(EventCount(scenario));
  const bool think = scenario.buyers.think_ms.max > 0;
  const int64_t halves = WritesInTwoHalves(scenario.store) ? 2 : 1;
  int64_t per_attempt = 1;  // the query
  if (scenario.buyers.method == Method::kAtomic && events == 1) {
    per_attempt += 1 + (guarded ? 2 : 0);
  } else {
    per_attempt += (think ? 1 : 0) + events * ((guarded ? 2 : 0) + 1 + halves);
  }
  return per_attempt * scenario.buyers.attempts * scenario.buyers.count;
}

double PctBound(int64_t buyers, int64_t steps, int64_t depth) {
  return 1.0 / (static_cast<double>(std::max<int64_t>(buyers, 1)) *
                std::pow(static_cast<double>(std::max<int64_t>(steps, 1)),
                         static_cast<double>(depth - 1)));
}

namespace {

// One controlled run's steps, as RunSchedule takes them: the board the
// chooser looks at, rebuilt before each step, and the waiter that lets
// exactly one buyer move.
class Stepper {
 public:
  Stepper(const ScheduleSetup& setup, ScheduleLog* log)
      : setup_(setup),
        log_(log),
        waiter_(setup.steps, *setup.signals, setup.hooks),
        buyers_(static_cast<size_t>(setup.scenario->buyers.count)),
        permits_(Permits(*setup.scenario)),
        holders_(EventCount(*setup.scenario)) {}

  ScheduleOutcome Run() {
    if (!waiter_.ok()) {
      return {ScheduleEnd::kError,
              fmt::format("signalfd: {}", std::strerror(errno))};
    }
    // Every process runs to its first step (or ends) on its own.
    for (uint32_t p = 0; p < setup_.processes; ++p) {
      const Waited w = WaitFor(p);
      if (w == Waited::kEnd || w == Waited::kTimedOut) return Ended(w);
    }
    SetUpBoard();
    for (;;) {
      const Standing standing = Look();
      if (board_.runnable.empty()) {
        if (standing.paused_process < 0) {
          return EndedBy(standing.blocked ? ScheduleEnd::kDeadlock
                                          : ScheduleEnd::kFinished);
        }
        // The stalled holder goes on once nobody else can.
        const uint32_t p = static_cast<uint32_t>(standing.paused_process);
        setup_.hooks.resume(p);
        const Waited w = WaitFor(p);
        if (w == Waited::kEnd || w == Waited::kTimedOut) return Ended(w);
        continue;
      }
      Choice choice = setup_.chooser->Choose(board_);
      if (choice.what == Choice::What::kWait) {
        if (!waiter_.TakeSignals()) return Ended(Waited::kEnd);
        continue;
      }
      if (choice.what != Choice::What::kBuyer) return Refused(choice);
      if (std::optional<ScheduleOutcome> out = Step(choice.buyer)) return *out;
    }
  }

 private:
  // What the board shows beside the runnable buyers.
  struct Standing {
    bool blocked = false;         // some buyer waits for a guard
    int64_t paused_process = -1;  // one that stopped itself, if any
  };

  // A blocked buyer may try again once its guard has room: fewer live
  // holders than it has permits. (A dead holder's file lock or SQLite lock
  // the kernel has released, its robust mutex is the next locker's to
  // recover; a named mutex it held has ended the run.)
  static int64_t Permits(const Scenario& scenario) {
    return scenario.guard.kind == GuardKind::kNamedSemaphore
               ? scenario.guard.permits
               : 1;
  }

  static ScheduleOutcome EndedBy(ScheduleEnd end) {
    ScheduleOutcome out;
    out.end = end;
    return out;
  }

  static ScheduleOutcome Ended(Waited w) {
    return EndedBy(w == Waited::kEnd ? ScheduleEnd::kEnded
                                     : ScheduleEnd::kTimedOut);
  }

  // The chooser ended the run: stopped, undone, or unable to go on.
  static ScheduleOutcome Refused(Choice& choice) {
    return {choice.what == Choice::What::kStop   ? ScheduleEnd::kStopped
            : choice.what == Choice::What::kUndo ? ScheduleEnd::kUndo
                                                 : ScheduleEnd::kError,
            std::move(choice.error)};
  }

  Waited WaitFor(uint32_t p) {
    return waiter_.WaitFor(p, MonotonicNs() + setup_.step_timeout_ns);
  }

  int32_t ProcessOf(size_t b) const {
    return setup_.control->slots[b].process.load(std::memory_order_acquire);
  }

  void SetUpBoard() {
    board_.scenario = setup_.scenario;
    board_.count = setup_.hooks.count;
    board_.signal_fd = waiter_.signal_fd();
    board_.events = setup_.hooks.events;
    board_.buyers.resize(buyers_);
  }

  // Where every buyer stands.
  Standing Look() {
    board_.runnable.clear();
    std::fill(holders_.begin(), holders_.end(), 0);
    for (size_t b = 0; b < buyers_; ++b) View(b);
    Standing standing;
    for (size_t b = 0; b < buyers_; ++b) {
      const BuyerView& v = board_.buyers[b];
      if (!v.alive) continue;
      if (v.paused) {
        standing.paused_process = ProcessOf(b);
        continue;
      }
      const bool room = v.waits_for < 0 ||
                        holders_[static_cast<size_t>(v.waits_for)] < permits_;
      if (v.state == StepState::kReady ||
          (v.state == StepState::kBlocked && room)) {
        board_.runnable.push_back(static_cast<uint32_t>(b));
      } else if (v.state == StepState::kBlocked) {
        standing.blocked = true;
      }
    }
    board_.step = log_->steps.size();
    board_.taken = log_->steps;
    return standing;
  }

  // Buyer b as its slots read now; a live one's holds counted.
  void View(size_t b) {
    BuyerView& v = board_.buyers[b];
    const StepSlot& slot = setup_.steps->slots[b];
    const BuyerSlot& buyer = setup_.control->slots[b];
    const int32_t p = ProcessOf(b);
    v.served = p >= 0;
    v.alive = v.served && !setup_.hooks.ended(static_cast<uint32_t>(p));
    v.paused = v.alive && setup_.hooks.paused(static_cast<uint32_t>(p));
    v.state =
        static_cast<StepState>(slot.state.load(std::memory_order_acquire));
    v.next = static_cast<StepKind>(slot.kind.load(std::memory_order_relaxed));
    v.event = slot.event.load(std::memory_order_relaxed);
    v.held = buyer.held.load(std::memory_order_relaxed);
    const uint32_t waiting = buyer.waiting.load();
    v.waits_for = waiting == 0 ? -1 : static_cast<int64_t>(waiting) - 1;
    v.read = slot.has_read.load(std::memory_order_relaxed) != 0
                 ? std::optional<int64_t>(slot.read.load())
                 : std::nullopt;
    v.attempt = buyer.done.load(std::memory_order_relaxed);
    if (!v.alive) return;
    for (size_t e = 0; e < holders_.size(); ++e)
      holders_[e] += (v.held >> e) & 1;
  }

  // Lets buyer b take exactly one step, and logs it; returns how the run
  // ends if that step ends it.
  std::optional<ScheduleOutcome> Step(uint32_t b) {
    const uint32_t p = static_cast<uint32_t>(ProcessOf(b));
    StepSlot& slot = setup_.steps->slots[b];
    ScheduledStep step;
    step.buyer = b;
    step.kind = board_.buyers[b].next;
    step.event = static_cast<uint16_t>(board_.buyers[b].event);
    step.first_event = slot.recorded.load(std::memory_order_relaxed);

    setup_.steps->stopped[p].store(0, std::memory_order_relaxed);
    slot.turn.fetch_add(1, std::memory_order_seq_cst);
    Futex(&slot.turn, FUTEX_WAKE, 1);
    const Waited w = WaitFor(p);
    if (w == Waited::kEnd || w == Waited::kTimedOut) {
      log_->steps.push_back(step);
      return Ended(w);
    }
    BookOutcome(w, slot, &step);
    log_->steps.push_back(step);
    setup_.chooser->Took(board_.step, b, step.kind);
    if (step.outcome == StepOutcome::kBlocked && setup_.hooks.cycle &&
        setup_.hooks.cycle()) {
      return EndedBy(ScheduleEnd::kDeadlock);
    }
    if (waiter_.end()) return Ended(Waited::kEnd);
    return std::nullopt;
  }

  // How the step ended (`w`), and the events its buyer recorded in it.
  void BookOutcome(Waited w, const StepSlot& slot, ScheduledStep* step) {
    if (w == Waited::kDied || w == Waited::kPaused) {
      step->outcome =
          w == Waited::kDied ? StepOutcome::kDied : StepOutcome::kPaused;
      step->events = static_cast<uint32_t>(
          setup_.hooks.events(step->buyer).size() - step->first_event);
      return;
    }
    // Its process has stopped: before this buyer's next step, or a pool's
    // next buyer's first, or for good.
    const StepState now =
        static_cast<StepState>(slot.state.load(std::memory_order_acquire));
    step->outcome = now == StepState::kBlocked ? StepOutcome::kBlocked
                                               : StepOutcome::kMoved;
    step->events =
        slot.recorded.load(std::memory_order_relaxed) - step->first_event;
  }

  const ScheduleSetup& setup_;
  ScheduleLog* const log_;
  StepWaiter waiter_;
  const size_t buyers_;
  const int64_t permits_;
  std::vector<int64_t> holders_;
  StepBoard board_;
};

}  // namespace

ScheduleOutcome RunSchedule(const ScheduleSetup& setup, ScheduleLog* log) {
  return Stepper(setup, log).Run();
}

std::vector<uint32_t> Holders(const StepBoard& board, size_t event) {
  std::vector<uint32_t> out;
  for (size_t b = 0; b < board.buyers.size(); ++b) {
    if ((board.buyers[b].held >> event) & 1) {
      out.push_back(static_cast<uint32_t>(b));
    }
  }
  return out;
}

std::string BuyerList(const std::vector<uint32_t>& buyers) {
  std::string out = buyers.size() == 1 ? "buyer " : "buyers ";
  for (size_t i = 0; i < buyers.size(); ++i) {
    out += fmt::format("{}{}", i == 0 ? "" : ", ", buyers[i]);
  }
  return out;
}

std::string GuardName(const Scenario& scenario, size_t event) {
  const char* what = StoreOfGuard(scenario.guard.kind) == StoreKind::kSqlite
                         ? "transaction"
                         : "lock";
  if (EventCount(scenario) == 1) return fmt::format("the {}", what);
  return fmt::format("{}'s {}", Visible(EventName(scenario, event)), what);
}

std::string WhyNotRunnable(const StepBoard& board, uint32_t buyer) {
  if (buyer >= board.buyers.size()) {
    return fmt::format("there is no buyer {} (buyers 0-{})", buyer,
                       board.buyers.size() - 1);
  }
  const BuyerView& v = board.buyers[buyer];
  if (!v.served) return "no process serves it yet";
  if (v.state == StepState::kFinished) return "it has finished";
  if (!v.alive) return "it has died";
  if (v.paused) return "it is paused (it goes on when nobody else can)";
  if (v.state == StepState::kBlocked) {
    const size_t e =
        v.waits_for < 0 ? v.event : static_cast<size_t>(v.waits_for);
    const std::vector<uint32_t> holders = Holders(board, e);
    if (holders.empty()) {
      return fmt::format("it waits for {}", GuardName(*board.scenario, e));
    }
    return fmt::format("it waits for {}, which {} hold{}",
                       GuardName(*board.scenario, e), BuyerList(holders),
                       holders.size() == 1 ? "s" : "");
  }
  return "it is not stopped before a step";
}

}  // namespace ticketsim
