#include "sim/hosts/host_agent.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "base/interrupt.h"
#include "base/run_signals.h"
#include "base/spawn.h"
#include "sim/buyers/buyer.h"
#include "sim/buyers/buyer_processes.h"
#include "sim/guards/guard.h"
#include "sim/history/history.h"
#include "sim/hosts/host_protocol.h"
#include "storage/make_store.h"
#include "storage/run_names.h"
#include "storage/ticket_store.h"

namespace ticketsim {
namespace {

// How long the share may take to come, and the buyers to attach.
constexpr int64_t kShareLimitNs = int64_t{60} * 1000000000;
// How often the arena is looked at for new events while buyers run.
constexpr int kSendEveryMs = 2;
// Past the share's time limit by this much, the agent ends its buyers
// itself (the parent should have said stop long before).
constexpr int64_t kOwnLimitSlackNs = int64_t{30} * 1000000000;

// The agent's side of the protocol: its share, its run on this host, and
// the lines it owes the parent.
class HostAgent {
 public:
  HostAgent(int in, int out) : in_(in), out_(out) {}
  ~HostAgent() {
    if (signal_fd_ >= 0) close(signal_fd_);
  }

  int Run() {
    signal_fd_ = signalfd(-1, &signals_.set(), SFD_NONBLOCK | SFD_CLOEXEC);
    // A parent that is gone makes writes fail with EPIPE, not kill us.
    signal(SIGPIPE, SIG_IGN);
    fcntl(in_, F_SETFL, fcntl(in_, F_GETFL) | O_NONBLOCK);
    std::string line;
    if (!ReadShareLine(&line)) return parent_gone_ ? 1 : Fail(3);
    Scenario scenario;
    if (Status s = ParseShareLine(line, &share_, &scenario); !s.ok()) {
      Say(ErrorLine("the share is not one: " + s.message()));
      Flush();
      return 2;
    }
    scenario_ = scenario;
    return RunShare();
  }

 private:
  // Reads the first line of stdin, answering nothing before it.
  bool ReadShareLine(std::string* line) {
    const int64_t give_up = MonotonicNs() + kShareLimitNs;
    for (;;) {
      bool too_long = false;
      if (input_.Next(line, &too_long)) {
        if (!too_long) return true;
        error_ = "the share's line is too long";
        return false;
      }
      if (parent_gone_) return false;
      const int64_t left_ms = (give_up - MonotonicNs()) / 1000000;
      if (left_ms <= 0) {
        error_ = "no share came";
        return false;
      }
      ReadInput(static_cast<int>(std::min<int64_t>(left_ms, 1000)));
      if (interrupt_ != 0) {
        error_ = "interrupted by " + SignalName(interrupt_);
        return false;
      }
    }
  }

  // Waits up to `ms` for stdin or a signal and takes what came; notes when
  // stdin has closed (the parent is gone).
  void ReadInput(int ms) {
    pollfd fds[2] = {{in_, POLLIN, 0}, {signal_fd_, POLLIN, 0}};
    const int ready = poll(fds, 2, ms);
    if (ready < 0 && errno != EINTR) {
      parent_gone_ = true;
      return;
    }
    TakeSignals();
    char buf[65536];
    for (int reads = 0; reads < 16; ++reads) {
      const ssize_t got = read(in_, buf, sizeof buf);
      if (got > 0) {
        input_.Append({buf, static_cast<size_t>(got)});
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && errno == EAGAIN) break;
      parent_gone_ = true;  // end of file, or an error
      return;
    }
  }

  void TakeSignals() {
    signalfd_siginfo info;
    while (read(signal_fd_, &info, sizeof info) ==
           static_cast<ssize_t>(sizeof info)) {
      const int sig = static_cast<int>(info.ssi_signo);
      if (sig == SIGCHLD) {
        child_ended_ = true;
      } else if (IsInterrupt(sig) && interrupt_ == 0) {
        interrupt_ = sig;
      }
    }
  }

  void Say(const std::string& line) {
    pending_ += line;
    pending_ += '\n';
  }

  // Writes what is pending; false once the parent cannot be written to.
  bool Flush() {
    size_t at = 0;
    while (at < pending_.size() && !out_broken_) {
      const ssize_t put =
          write(out_, pending_.data() + at, pending_.size() - at);
      if (put > 0) {
        at += static_cast<size_t>(put);
      } else if (put < 0 && errno == EINTR) {
        continue;
      } else {
        out_broken_ = true;
      }
    }
    pending_.clear();
    return !out_broken_;
  }

  // Tells the parent why the share cannot run (it names the host).
  int Fail(int status) {
    Say(ErrorLine(error_));
    Flush();
    return status;
  }

  // The whole run of the share on this host, once it is known.
  int RunShare() {
    // What an agent killed outright left behind here goes now.
    CleanLeftovers(/*all=*/false);
    RunNames names;
    RunLease lease;
    if (Status s = StartRun(&names, &lease); !s.ok()) {
      error_ = "could not start a run here: " + s.message();
      return Fail(3);
    }
    // This host's guard objects, removed on every way out.
    std::vector<std::string> purposes;
    struct Cleanup {
      const RunNames& names;
      std::vector<std::string>& purposes;
      ~Cleanup() { RemoveRunObjects(names, purposes); }
    } cleanup{names, purposes};
    std::unique_ptr<TicketStore> store;
    std::unique_ptr<Guard> guard;
    if (!MakeStoreAndGuard(names, &store, &guard, &purposes)) return Fail(3);
    const uint32_t buyer_count = static_cast<uint32_t>(scenario_.buyers.count);
    per_buyer_ = static_cast<size_t>(scenario_.buyers.attempts) *
                 EventsPerAttempt(scenario_);
    if (Status s = history_.Map(buyer_count, per_buyer_); !s.ok()) {
      error_ = "could not map the history: " + s.message();
      return Fail(3);
    }
    SharedControl control(buyer_count, buyer_count);
    if (control.get() == nullptr) {
      error_ = "could not map the start barrier";
      return Fail(3);
    }
    control_ = control.get();
    processes_.assign(buyer_count, BuyerProcess{});
    BuyerReaper reaper(&processes_, control_);
    reaper_ = &reaper;
    TicketStore* stores[] = {store.get()};
    Guard* guards[] = {guard.get()};
    if (Status s = Fork(stores, guards); !s.ok()) {
      reaper.KillAndReapAll();
      error_ = s.message();
      return Fail(3);
    }
    for (uint32_t b : share_.buyers) {
      base_.push_back(history_.EventsOf(b).data());
      sent_.push_back(0);
      ended_said_.push_back(false);
    }
    const int status = Serve();
    reaper.KillAndReapAll();
    return status;
  }

  // The store, the parent's, which the agent only attaches to; and this
  // host's guard, made here (its objects' purposes in *purposes, to be
  // removed). False, with error_ saying why, if the guard cannot be made.
  bool MakeStoreAndGuard(const RunNames& names,
                         std::unique_ptr<TicketStore>* store,
                         std::unique_ptr<Guard>* guard,
                         std::vector<std::string>* purposes) {
    const RunNames store_names{share_.store_tag, share_.store_dir};
    scenario_.store.conninfo = share_.conninfo;
    *store = MakeStore(scenario_.store, store_names);
    *guard = MakeGuard(scenario_.guard, names, store->get());
    *purposes = (*guard)->ObjectPurposes();
    if (Status s = (*guard)->Create(); !s.ok()) {
      error_ = "could not create the guard: " + s.message();
      return false;
    }
    return true;
  }

  // Forks one buyer process per buyer of the share, each the process of
  // its own (global) index, as a run on one host would.
  Status Fork(std::span<TicketStore* const> stores,
              std::span<Guard* const> guards) {
    const pid_t parent = getpid();
    for (uint32_t b : share_.buyers) {
      const pid_t pid = ForkFlushed();
      if (pid < 0) {
        return Status::FromErrno(fmt::format("fork buyer {}", b), errno);
      }
      if (pid == 0) {
        // The protocol's pipes are the agent's alone.
        const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd >= 0) {
          dup2(null_fd, in_);
          dup2(null_fd, out_);
        }
        BuyerChildMain(
            {&scenario_, stores, guards, control_, &history_, nullptr}, b,
            parent);
      }
      reaper_->Started(b, pid);
    }
    return Status::Ok();
  }

  // From the fork to the last line: ready, pings, go, events, ends.
  int Serve() {
    attach_limit_ = MonotonicNs() + kShareLimitNs;
    for (;;) {
      if (!TakeParentLines()) return 2;
      ReapEndedBuyers();
      if (!ready_said_ && !SayReadyOnceAttached()) return Fail(3);
      NoteWhyToStop();
      if (stopping_ && !stop_done_) {
        stop_done_ = true;
        reaper_->KillAndReapAll();
        // Nothing ran: there is nothing to tell but that.
        if (!started_) return SayDone(Failure(), "", "");
      }
      if (started_) {
        SendEvents(/*ended_only=*/false);
        if (Ended() == share_.buyers.size()) {
          return SayDone(Failure(), control_->first_store_error.Get(),
                         control_->first_guard_error.Get());
        }
      }
      // The parent is gone: nobody is there to tell.
      if (!Flush() || parent_gone_) return 1;
      ReadInput(started_ ? kSendEveryMs : 50);
    }
  }

  // Answers what the parent said: a ping, go (once ready), stop. False
  // when a line is not the protocol: that is said, and serving ends.
  bool TakeParentLines() {
    std::string line;
    bool too_long = false;
    while (input_.Next(&line, &too_long)) {
      ParentMessage m;
      Status s = too_long ? Status::Invalid("a line too long")
                          : ParseParentLine(line, &m);
      if (!s.ok()) {
        Say(ErrorLine(fmt::format("a line from the run is not the protocol: {}",
                                  s.message())));
        Flush();
        return false;
      }
      if (m.kind == ParentMessage::Kind::kPing) {
        Say(PongLine(m.ping, MonotonicNs()));
      } else if (m.kind == ParentMessage::Kind::kGo && ready_said_ &&
                 !started_) {
        OpenStartBarrier(control_);
        started_ = true;
        own_limit_ = control_->start_ns.load() + share_.timeout_ms * 1000000 +
                     kOwnLimitSlackNs;
      } else if (m.kind == ParentMessage::Kind::kStop) {
        stopping_ = true;
      }
    }
    return true;
  }

  // Reaps the buyers that ended, notes those that paused themselves
  // (pause_holder) and continues those whose pause is over.
  void ReapEndedBuyers() {
    const int64_t pause_ns =
        static_cast<int64_t>(scenario_.faults.pause_holder_ms * 1e6);
    std::vector<uint32_t> killed;
    if (child_ended_) {
      child_ended_ = false;
      reaper_->ReapNamed(0, pause_ns, &killed);
      while (!reaper_->ReapAny(pause_ns, &killed)) {
      }
    }
    reaper_->ResumeDue(MonotonicNs());
  }

  // Says ready once every buyer of the share has attached to the store
  // and the guard; false (error_ says why) when some cannot.
  bool SayReadyOnceAttached() {
    const size_t mine = share_.buyers.size();
    if (reaper_->running() < mine || MonotonicNs() > attach_limit_) {
      const std::string why = control_->failure.Get();
      error_ = fmt::format(
          "only {} of {} buyers could open the store and the guard{}",
          control_->ready.load(), mine, why.empty() ? "" : ": " + why);
      return false;
    }
    if (control_->ready.load() == mine) {
      std::vector<int64_t> pids;
      for (uint32_t b : share_.buyers) pids.push_back(processes_[b].pid);
      Say(ReadyLine(pids));
      ready_said_ = true;
    }
    return true;
  }

  // An interrupt, the agent's own time limit or a buyer's failure stops
  // the buyers.
  void NoteWhyToStop() {
    // Interrupted here, not told to stop: its buyers are cut short, and
    // the run must hear that it is not whole.
    if (interrupt_ != 0 && !stopping_ && lost_.empty() &&
        reaper_->running() > 0) {
      lost_ = fmt::format(
          "its agent was interrupted by {}; its buyers "
          "were stopped before the run ended",
          SignalName(interrupt_));
    }
    if (interrupt_ != 0 || MonotonicNs() > own_limit_ ||
        !control_->failure.empty()) {
      stopping_ = true;
    }
  }

  // The last two lines, the run's errors and done; the agent's status.
  int SayDone(std::string_view failure, std::string_view store_error,
              std::string_view guard_error) {
    Say(ErrorsLine(failure, store_error, guard_error));
    Say(DoneLine());
    Flush();
    return lost_.empty() ? 0 : 1;
  }

  // The run's failure on this host: its buyers' first, or its own loss.
  std::string Failure() const {
    const std::string buyers = control_->failure.Get();
    return buyers.empty() ? lost_ : buyers;
  }

  // Sends every event recorded since the last call, and the end of each
  // buyer that has ended (after all of its events); returns how many ended.
  void SendEvents(bool) {
    const int64_t start = control_->start_ns.load();
    for (size_t i = 0; i < share_.buyers.size(); ++i) {
      const uint32_t b = share_.buyers[i];
      // Whether it has ended is read first: then every event it recorded
      // is in the arena already.
      const BuyerProcess& p = processes_[b];
      const bool ended = p.exit_code >= 0 || p.signal != 0;
      const Event* base = base_[i];
      size_t& sent = sent_[i];
      while (base != nullptr && sent < per_buyer_) {
        const Event& e = base[sent];
        if (std::atomic_ref<EventKind>(const_cast<EventKind&>(e.kind))
                .load(std::memory_order_acquire) == EventKind::kEmpty) {
          break;
        }
        Say(EventLine(e, start + static_cast<int64_t>(e.time_ns)));
        ++sent;
      }
      if (ended && !ended_said_[i]) {
        ended_said_[i] = true;
        Say(EndLine(b, p.exit_code, p.signal, control_->slots[b].held.load()));
      }
    }
  }

  size_t Ended() const {
    size_t n = 0;
    for (bool said : ended_said_) n += said ? 1 : 0;
    return n;
  }

  const int in_;
  const int out_;
  RunSignals signals_;
  int signal_fd_ = -1;
  LineSplitter input_{kMaxHostLine};
  std::string pending_;
  std::string error_;
  std::string lost_;          // why its buyers did not run to their end, if not
  bool parent_gone_ = false;  // its stdin closed
  bool out_broken_ = false;   // its stdout cannot be written
  int interrupt_ = 0;         // the first interrupt that came, if one did
  bool child_ended_ = true;
  bool stop_done_ = false;
  bool ready_said_ = false;        // every buyer attached, and the parent told
  bool started_ = false;           // the parent said go: the barrier is open
  bool stopping_ = false;          // its buyers are to be stopped
  int64_t attach_limit_ = 0;       // when buyers not yet attached fail
  int64_t own_limit_ = INT64_MAX;  // when the agent stops them itself
  HostShare share_;
  Scenario scenario_;
  HistoryArena history_;
  size_t per_buyer_ = 0;
  RunControl* control_ = nullptr;
  std::vector<BuyerProcess> processes_;
  BuyerReaper* reaper_ = nullptr;
  std::vector<const Event*> base_;
  std::vector<size_t> sent_;
  std::vector<bool> ended_said_;
};

}  // namespace

int RunHostAgent(int in, int out) { return HostAgent(in, out).Run(); }

}  // namespace ticketsim
