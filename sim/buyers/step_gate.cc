#include "sim/buyers/step_gate.h"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <new>

#include "base/futex.h"

namespace ticketsim {
namespace {

// The control block's room: whole slots, so that the slots stay aligned.
constexpr size_t kHeadBytes = (sizeof(StepControl) + sizeof(StepSlot) - 1) /
                              sizeof(StepSlot) * sizeof(StepSlot);

}  // namespace

SharedSteps::~SharedSteps() {
  if (control_ != nullptr && control_->wake_fd >= 0) close(control_->wake_fd);
  if (memory_ != nullptr) munmap(memory_, bytes_);
}

Status SharedSteps::Map(size_t buyers, size_t processes) {
  bytes_ = kHeadBytes + sizeof(StepSlot) * buyers +
           sizeof(std::atomic<uint32_t>) * processes;
  void* at = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (at == MAP_FAILED) return Status::FromErrno("map the schedule", errno);
  memory_ = at;
  char* bytes = static_cast<char*>(at);
  control_ = new (bytes) StepControl();
  control_->slots = new (bytes + kHeadBytes) StepSlot[buyers];
  control_->stopped = new (bytes + kHeadBytes + sizeof(StepSlot) * buyers)
      std::atomic<uint32_t>[processes];
  // Buyers only write it; EFD_CLOEXEC keeps it from programs they might
  // run. Non-blocking: the scheduler reads it after poll says it can.
  control_->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (control_->wake_fd < 0) {
    return Status::FromErrno("create the schedule's eventfd", errno);
  }
  return Status::Ok();
}

void SayStopped(StepControl* control, uint32_t process) {
  // Sequentially consistent, as the scheduler's store to `sleeping` and
  // load of `stopped`: one of the two sees the other's write, so the
  // scheduler never sleeps through a buyer that has stopped.
  control->stopped[process].store(1, std::memory_order_seq_cst);
  if (control->sleeping.load(std::memory_order_seq_cst) != 0) {
    const uint64_t one = 1;
    // Can fail only when the counter is at its maximum: it is then readable.
    [[maybe_unused]] ssize_t n = write(control->wake_fd, &one, sizeof one);
  }
}

void StepGate::Stop(StepKind kind, size_t event, size_t recorded,
                    bool blocked) {
  slot_->kind.store(static_cast<uint32_t>(kind), std::memory_order_relaxed);
  slot_->event.store(static_cast<uint32_t>(event), std::memory_order_relaxed);
  slot_->recorded.store(static_cast<uint32_t>(recorded),
                        std::memory_order_relaxed);
  // Read before saying it has stopped: the next turn cannot come earlier.
  const uint32_t turn = slot_->turn.load(std::memory_order_acquire);
  slot_->state.store(
      static_cast<uint32_t>(blocked ? StepState::kBlocked : StepState::kReady),
      std::memory_order_release);
  SayStopped(control_, process_);
  while (slot_->turn.load(std::memory_order_acquire) == turn) {
    Futex(&slot_->turn, FUTEX_WAIT, turn);
  }
}

void StepGate::Finished(size_t recorded) {
  if (!on()) return;
  slot_->recorded.store(static_cast<uint32_t>(recorded),
                        std::memory_order_relaxed);
  slot_->state.store(static_cast<uint32_t>(StepState::kFinished),
                     std::memory_order_release);
}

void StepGate::ProcessEnds(StepControl* control, uint32_t process) {
  if (control != nullptr) SayStopped(control, process);
}

}  // namespace ticketsim
