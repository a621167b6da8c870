// Buyer processes: their life cycle as the parent sees it. The shared
// control block they are forked with, the fork itself, the wait at the start
// barrier until every one has attached, and the bookkeeping that reaps,
// kills, pauses and continues them.
#ifndef TICKETSIM_SIM_BUYERS_BUYER_PROCESSES_H_
#define TICKETSIM_SIM_BUYERS_BUYER_PROCESSES_H_

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/run_signals.h"
#include "base/status.h"
#include "sim/buyers/buyer.h"
#include "sim/guards/guard.h"
#include "sim/history/history.h"
#include "sim/history/tally.h"
#include "sim/result/run_result.h"
#include "sim/scenario/scenario.h"
#include "storage/ticket_store.h"

namespace ticketsim {

// Anonymous shared memory for the start barrier, the buyers' slots and the
// list of ended processes: no name, nothing to remove.
// A thread's own store and guard of each event, made as the parent made the
// run's; or the run's own, inherited through fork, where one serves every
// thread (Guard::SharedByThreads, TicketStore::SharedByThreads). Made and
// used on the thread (or by the box office's connection) it serves.
class ThreadObjects {
 public:
  explicit ThreadObjects(const BuyerWork& work);
  ThreadObjects(const ThreadObjects&) = delete;
  ThreadObjects& operator=(const ThreadObjects&) = delete;
  // `work`, with this thread's objects.
  BuyerWork For(const BuyerWork& work) const;

 private:
  std::vector<std::unique_ptr<TicketStore>> own_stores_;
  std::vector<std::unique_ptr<Guard>> own_guards_;
  std::vector<TicketStore*> stores_;
  std::vector<Guard*> guards_;
};

class SharedControl {
 public:
  SharedControl(size_t buyers, size_t processes);
  ~SharedControl();
  SharedControl(const SharedControl&) = delete;
  SharedControl& operator=(const SharedControl&) = delete;
  RunControl* get() const { return control_; }  // null if it was not mapped

 private:
  // The control block's room: whole slots, so that the slots stay aligned.
  static constexpr size_t kControlBytes =
      (sizeof(RunControl) + sizeof(BuyerSlot) - 1) / sizeof(BuyerSlot) *
      sizeof(BuyerSlot);

  const size_t bytes_;
  RunControl* control_ = nullptr;
};

class BuyerReaper {
 public:
  BuyerReaper(std::vector<BuyerProcess>* processes, const RunControl* control)
      : buyers_(processes), control_(control) {}

  void Started(uint32_t index, pid_t pid);
  size_t running() const { return running_; }
  // What became of each process so far.
  const std::vector<BuyerProcess>& processes() const { return *buyers_; }

  // Reaps, without blocking, the child a SIGCHLD named (`named`, or 0) and
  // the buyers that said they were ending (see RunControl::ended), in the
  // order they said so, up to the first that has not exited yet; notes one
  // that stopped itself (pause_holder) to continue it `pause_ns` later;
  // adds the indices of those a signal killed to `killed`. Each reap costs
  // the same however many children there are.
  void ReapNamed(pid_t named, int64_t pause_ns, std::vector<uint32_t>* killed);

  // As ReapNamed, for any buyer that has ended or stopped: the only way to
  // find one whose SIGCHLD was merged into another's. Each reap looks at
  // every child up to the one it finds, so this one stops after a few;
  // returns false if there may be more.
  bool ReapAny(int64_t pause_ns, std::vector<uint32_t>* killed);

  // Continues the paused buyers whose time has come; returns when the next
  // one is due (INT64_MAX if none).
  int64_t ResumeDue(int64_t now);

  void KillAll();

  // Whether process `index` has been reaped; whether it stopped itself and
  // waits to be continued.
  bool Ended(uint32_t index) const { return Reaped((*buyers_)[index]); }
  bool Paused(uint32_t index) const {
    return paused_.count((*buyers_)[index].pid) != 0;
  }
  // Continues process `index` now, whenever it was due.
  void Resume(uint32_t index);
  // Each continue it sent (SIGCONT): the process's index and when
  // (MonotonicNs), in order.
  const std::vector<std::pair<uint32_t, int64_t>>& continued() const {
    return continued_;
  }

  // Kills every buyer still running and reaps them all, blocking.
  void KillAndReapAll();

 private:
  static bool Reaped(const BuyerProcess& buyer) {
    return buyer.exit_code >= 0 || buyer.signal != 0;
  }

  // Reaps `pid` if it has ended (or notes that it stopped); returns false if
  // it is still running.
  bool ReapOne(pid_t pid, int64_t pause_ns, std::vector<uint32_t>* killed);

  // Waits for any child, with `options`, until none is left to reap or
  // `at_most` have been; returns how many were.
  size_t Reap(int options, int64_t pause_ns, std::vector<uint32_t>* killed,
              size_t at_most);

  // Books what waitpid said of `pid`.
  void Ended(pid_t pid, int status, int64_t pause_ns,
             std::vector<uint32_t>* killed);

  // Sends SIGCONT to paused `pid`, and notes it.
  void Continue(pid_t pid);

  std::vector<BuyerProcess>* buyers_;
  const RunControl* control_;
  // The workers each process serves: itself, or with buyers as threads,
  // every thread of the one buyer process.
  std::unordered_map<pid_t, std::vector<uint32_t>> workers_of_;
  std::unordered_map<pid_t, int64_t> paused_;  // pid -> when to continue it
  std::vector<std::pair<uint32_t, int64_t>> continued_;
  uint32_t said_ = 0;  // entries of control_->ended reaped
  size_t running_ = 0;
};

// The buyer process `process` was serving when it ended: the highest one
// it took (a process serves its buyers in increasing order), or -1.
int64_t LastServedBy(const RunControl& control, size_t buyers,
                     uint32_t process);

// The body of every forked buyer process, a run's own or a host agent's:
// dies with `parent` (and does not start if it is already gone), takes
// SIGALRM for the file-lock guard's timer, runs RunBuyerProcess for process
// `process`, records that it ended in `control` and exits with its code
// (_exit: none of the parent's destructors run).
[[noreturn]] void BuyerChildMain(const BuyerWork& work, uint32_t process,
                                 pid_t parent);

// Forks `process_count` buyer processes, each running RunBuyerProcess on
// `work`, and books them with `reaper` (`processes`, the reaper's list,
// gets one entry each). If a fork fails, kills and reaps those already
// forked and returns the failure. With `work.threads`, forks one buyer
// process instead, which runs `process_count` threads (ForkThreadedBuyers).
Status ForkBuyers(const BuyerWork& work, uint32_t process_count,
                  std::vector<BuyerProcess>* processes, BuyerReaper* reaper);

// Forks the one buyer process of a run whose buyers are threads: it starts
// a thread per worker, each running RunBuyerProcess with the index a
// process would have, and exits once all have ended. Every entry of
// `processes` gets its pid: the reaper books all of them when it ends.
Status ForkThreadedBuyers(const BuyerWork& work, uint32_t thread_count,
                          std::vector<BuyerProcess>* processes,
                          BuyerReaper* reaper);

// Waits until every one of the `process_count` buyer processes has
// attached and waits at the start barrier (which the caller then opens).
// Fails, once all are killed and reaped, if one ended first or they took
// too long, saying why. An interrupt kills and reaps them all too; then
// returns ok with `*interrupt` set to its signal (0 otherwise).
Status AwaitAttached(const RunControl& control, uint32_t process_count,
                     int64_t pause_ns, const RunSignals& signals,
                     BuyerReaper* reaper, int* interrupt);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_BUYERS_BUYER_PROCESSES_H_
