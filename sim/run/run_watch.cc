#include "sim/run/run_watch.h"

#include <signal.h>

#include <algorithm>

#include "base/clock.h"
#include "base/interrupt.h"
#include "sim/run/run_server.h"

namespace ticketsim {
namespace {

// The parent looks at its buyers this often when it has something to
// watch: progress, a deadlock, a paused holder to continue.
constexpr int64_t kWatchEveryNs = 100000000;

// Deadlocks the watch can see: several events' guards, each waited for.
// (A controlled schedule finds its own, exactly.)
bool WatchesForDeadlock(const Scenario& scenario, const RunPlan& plan) {
  return !plan.controlled && plan.events > 1 &&
         scenario.guard.kind != GuardKind::kNone &&
         scenario.guard.acquire == GuardAcquire::kWait;
}

}  // namespace

bool BookInterrupt(int sig, RunResult* result) {
  if (!IsInterrupt(sig)) return false;
  result->interrupted = true;
  result->interrupt_signal = sig;
  return true;
}

RunWatch::RunWatch(const WatchedBuyers& buyers, RunResult* result)
    : buyers_(buyers),
      result_(result),
      start_(buyers.control->start_ns.load()),
      deadline_(start_ + buyers.plan->timeout_ns),
      watch_deadlock_(WatchesForDeadlock(*buyers.scenario, *buyers.plan)),
      deadlocks_(buyers.control, buyers.plan->buyers, buyers.plan->events),
      next_watch_(start_ + kWatchEveryNs),
      ended_(!buyers.control->failure.empty()) {}

bool RunWatch::TakeSignal(int sig, pid_t child) {
  if (sig == SIGCHLD) CheckServer(*buyers_.scenario, buyers_.control);
  if (BookInterrupt(sig, result_)) ended_ = true;
  if (sig == SIGCHLD) {
    std::vector<uint32_t> killed;
    buyers_.reaper->ReapNamed(child, buyers_.plan->pause_ns, &killed);
    // Others' SIGCHLDs may have been merged into this one.
    while (!buyers_.reaper->ReapAny(buyers_.plan->pause_ns, &killed)) {
    }
    BookAbandoned(killed);
  }
  // The system failed a buyer: what the others do now proves nothing.
  if (!buyers_.control->failure.empty()) ended_ = true;
  return ended_;
}

void RunWatch::EndIfEnded() {
  if (!ended_) return;
  NoteEnd();
  buyers_.reaper->KillAndReapAll();
}

void RunWatch::RestartTimeLimit() {
  deadline_ = MonotonicNs() + buyers_.plan->timeout_ns;
}

void RunWatch::UntilAllReaped() {
  while (buyers_.reaper->running() > 0) {
    pid_t child = 0;
    const int sig = NextSignal(&child);
    if (BookInterrupt(sig, result_)) ended_ = true;
    std::vector<uint32_t> killed;
    Reap(sig, child, &killed);
    BookAbandoned(killed);
    next_resume_ = buyers_.reaper->ResumeDue(MonotonicNs());
    if (MonotonicNs() >= next_watch_) Look();
    if (!ended_ && MonotonicNs() >= deadline_) {
      result_->timed_out = true;
      ended_ = true;
    }
    // The system failed a buyer: what the others do now proves nothing.
    if (!buyers_.control->failure.empty()) ended_ = true;
    EndIfEnded();
  }
}

int RunWatch::NextSignal(pid_t* child) const {
  const int64_t now = MonotonicNs();
  int64_t wake = ended_ ? now : std::min(deadline_, next_resume_);
  if (*buyers_.progress || watch_deadlock_) {
    wake = std::min(wake, next_watch_);
  }
  if (reap_any_due_) wake = std::min(wake, next_reap_any_);
  return buyers_.signals->Wait(wake - now, child);
}

void RunWatch::Reap(int sig, pid_t child, std::vector<uint32_t>* killed) {
  const int64_t pause_ns = buyers_.plan->pause_ns;
  if (sig == SIGCHLD) {
    buyers_.reaper->ReapNamed(child, pause_ns, killed);
    reap_any_due_ = true;
    CheckServer(*buyers_.scenario, buyers_.control);
  }
  // After a SIGCHLD, the parent reaps the children it knows have ended,
  // then looks at every child for one whose SIGCHLD was merged into
  // another's. That look costs about 0.1 us for each child still running,
  // so it comes at most every 2 ms, and 10 us per running child less often
  // (100 ms with 10,000), however many SIGCHLDs come: at most 1% of the
  // parent's time.
  if (reap_any_due_ && MonotonicNs() >= next_reap_any_) {
    next_reap_any_ = MonotonicNs() + int64_t{2000000} +
                     static_cast<int64_t>(buyers_.reaper->running()) * 10000;
    reap_any_due_ = !buyers_.reaper->ReapAny(pause_ns, killed);
  }
}

void RunWatch::Look() {
  next_watch_ = MonotonicNs() + kWatchEveryNs;
  if (*buyers_.progress) {
    (*buyers_.progress)(buyers_.control->AttemptsDone(buyers_.plan->buyers));
  }
  if (!watch_deadlock_) return;
  result_->deadlock = deadlocks_.Check(result_->processes);
  if (!result_->deadlock.empty()) {
    result_->deadlock_ns = static_cast<uint64_t>(MonotonicNs() - start_);
    ended_ = true;
  }
}

void RunWatch::BookAbandoned(const std::vector<uint32_t>& killed) {
  const RunControl& control = *buyers_.control;
  for (uint32_t p : killed) {
    const int64_t buyer = LastServedBy(control, buyers_.plan->buyers, p);
    if (buyer < 0 || !AbandonedIfHolderDies(buyers_.scenario->guard.kind)) {
      continue;
    }
    const uint32_t held = control.slots[buyer].held.load();
    for (size_t e = 0; e < buyers_.plan->events; ++e) {
      if ((held & (1u << e)) == 0) continue;
      result_->abandoned.push_back(
          {static_cast<uint32_t>(buyer), result_->processes[p].pid,
           result_->processes[p].signal, e,
           static_cast<uint64_t>(MonotonicNs() - start_)});
      ended_ = true;
    }
  }
}

void RunWatch::NoteEnd() {
  if (result_->ended_by != RunEnd::kNone) return;
  result_->ended_by = !result_->deadlock.empty()    ? RunEnd::kDeadlock
                      : !result_->abandoned.empty() ? RunEnd::kAbandoned
                      : result_->interrupted        ? RunEnd::kInterrupt
                      : result_->timed_out          ? RunEnd::kTimeLimit
                      : result_->stopped            ? RunEnd::kStopped
                                                    : RunEnd::kFailure;
  result_->ended_ns = static_cast<uint64_t>(MonotonicNs() - start_);
}

}  // namespace ticketsim
