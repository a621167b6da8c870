// StepGate: where a buyer under a controlled schedule waits for its turn.
//
// Before each step of its purchase a controlled buyer publishes, in shared
// memory, what it is about to do (StepSlot), says it has stopped, and waits
// on its own futex until the scheduler (sim/schedule/scheduler.h) lets it take
// that one step. Only one process moves at a time, so each hand-off is one wake
// each way: the buyer's futex, and the scheduler's eventfd (written only when
// the scheduler has stopped spinning and sleeps on it).
//
// Under `os` the gate is off and every call returns at once.
#ifndef TICKETSIM_SIM_BUYERS_STEP_GATE_H_
#define TICKETSIM_SIM_BUYERS_STEP_GATE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "base/status.h"
#include "sim/scenario/schedule.h"

namespace ticketsim {

// What a controlled buyer is stopped for.
enum class StepState : uint32_t {
  kStarting = 0,  // not stopped yet (or not served by any process yet)
  kReady,         // stopped before `kind`, ready to take it
  kBlocked,       // stopped before a try of `event`'s guard that failed
  kFinished,      // made every attempt (or gave up)
};

// One per buyer. Written by its buyer while it moves, read by the scheduler
// while it is stopped.
struct alignas(64) StepSlot {
  std::atomic<uint32_t> turn{0};      // futex: the scheduler adds 1 per step
  std::atomic<uint32_t> state{0};     // a StepState
  std::atomic<uint32_t> kind{0};      // the StepKind it is about to take
  std::atomic<uint32_t> event{0};     // whose guard or store
  std::atomic<uint32_t> recorded{0};  // history events recorded so far
  std::atomic<uint32_t> has_read{0};  // 1 once `read` holds a count
  std::atomic<int64_t> read{0};       // the count its last read saw
};

// Shared by the parent and every buyer process of a controlled run.
struct StepControl {
  // 1 while the scheduler sleeps on wake_fd: a buyer that stops writes it.
  std::atomic<uint32_t> sleeping{0};
  int wake_fd = -1;                          // an eventfd
  StepSlot* slots = nullptr;                 // one per buyer
  std::atomic<uint32_t>* stopped = nullptr;  // one per process: 1 = stopped
};

// Maps a StepControl for `buyers` buyers and `processes` processes in
// anonymous shared memory, before fork, with its eventfd.
class SharedSteps {
 public:
  SharedSteps() = default;
  SharedSteps(const SharedSteps&) = delete;
  SharedSteps& operator=(const SharedSteps&) = delete;
  ~SharedSteps();

  Status Map(size_t buyers, size_t processes);
  StepControl* get() const { return control_; }

 private:
  void* memory_ = nullptr;
  size_t bytes_ = 0;
  StepControl* control_ = nullptr;
};

// The buyer's side. Off (every call returns at once) without a StepControl.
class StepGate {
 public:
  StepGate() = default;
  StepGate(StepControl* control, uint32_t buyer, uint32_t process)
      : control_(control),
        slot_(control == nullptr ? nullptr : &control->slots[buyer]),
        process_(process) {}

  bool on() const { return control_ != nullptr; }

  // Stops before step `kind` of `event` and returns once the scheduler lets
  // the buyer take it. `recorded`: the history events recorded so far.
  // `blocked`: the buyer's last try of event's guard failed; it stops until
  // the guard is given back.
  void Before(StepKind kind, size_t event, size_t recorded,
              bool blocked = false) {
    if (on()) Stop(kind, event, recorded, blocked);
  }
  // Publishes the count the buyer just read (for `ticketsim step`).
  void Read(int64_t count) {
    if (!on()) return;
    slot_->read.store(count, std::memory_order_relaxed);
    slot_->has_read.store(1, std::memory_order_relaxed);
  }
  // The buyer has made its last step. Its process goes on (a pool's next
  // buyer) or ends (ProcessEnds), either of which stops it.
  void Finished(size_t recorded);

  // Process `process` is about to exit: it is stopped for good.
  static void ProcessEnds(StepControl* control, uint32_t process);

 private:
  void Stop(StepKind kind, size_t event, size_t recorded, bool blocked);

  StepControl* control_ = nullptr;
  StepSlot* slot_ = nullptr;
  uint32_t process_ = 0;
};

// Says process `process` has stopped, waking the scheduler if it sleeps.
void SayStopped(StepControl* control, uint32_t process);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_BUYERS_STEP_GATE_H_
