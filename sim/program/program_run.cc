#include "sim/program/program_run.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <re2/re2.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/descendant_watch.h"
#include "base/escape.h"
#include "base/fd.h"
#include "base/interrupt.h"
#include "base/line_splitter.h"
#include "base/spawn.h"
#include "sim/buyers/buyer.h"
#include "sim/program/program_events.h"
#include "sim/program/program_fence.h"
#include "sim/scenario/program_command.h"
#include "sim/scenario/sold_pattern.h"
#include "storage/pg_server.h"

extern char** environ;

namespace ticketsim {
namespace {

// The barrier waits this long at most for every copy to reach fd 4: a copy
// that never reads it (or never says anything) does not hold the others.
constexpr int64_t kStartWaitNs = int64_t{2} * 1000000000;
// Beyond this a lane's output is a flood, and stops the run.
constexpr size_t kMaxStdoutBytes = size_t{64} << 20;
// Of each stdout line, this much is kept and matched with sold_pattern: a
// sale is a short line, and a line costs at worst its length times the
// pattern's size to match (sim/scenario/sold_pattern.h).
constexpr size_t kMatchedLine = 4096;
constexpr size_t kStderrLineShown = 300;
// Reads of one pipe in one round at most (kPipeRead bytes each; stdout's
// are kStdoutRead bytes).
constexpr int kReadsPerRound = 16;
constexpr size_t kPipeRead = 65536;
// Stdout is read this much at a time, and no more of it in a round once
// the round has taken kMatchBudgetNs: a flood of lines under a heavy
// pattern does not keep the loop from its deadlines and interrupts.
constexpr size_t kStdoutRead = 4096;
constexpr int64_t kMatchBudgetNs = 50000000;
// How long the final sweep may take to kill every process left.
constexpr int64_t kSweepNs = int64_t{10} * 1000000000;

// A pipe: the parent reads `read`, non-blocking; the child gets `write`.
Status MakePipe(Fd* read_end, Fd* write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno("pipe", errno);
  read_end->reset(fds[0]);
  write_end->reset(fds[1]);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  return Status::Ok();
}

// Whether a process the program started itself failed, by its wait status:
// a non-zero exit of one running the program's own code (a `grep` that
// found nothing is its caller's business), or a signal other than those
// sent to stop a process on purpose (a pool's terminate(), a closed pipe).
bool ProcessFailed(int status, bool own_code) {
  if (WIFEXITED(status)) return own_code && WEXITSTATUS(status) != 0;
  if (!WIFSIGNALED(status)) return false;
  switch (WTERMSIG(status)) {
    case SIGTERM:
    case SIGKILL:
    case SIGINT:
    case SIGHUP:
    case SIGPIPE:
      return false;
    default:
      return true;
  }
}

// One lane: a copy of the program (mode buyer), the runs of one buyer's
// purchases (operation), or the program (whole).
struct Lane {
  uint32_t index = 0;
  pid_t pid = 0;  // the running process, 0 when none
  pid_t pgid = 0;
  bool reaped = true;
  bool ticketsim_killed = false;  // ticketsim sent it SIGKILL
  Fd out, err, events;
  LineSplitter out_lines{kMatchedLine};
  LineSplitter err_lines{kStderrLineShown};
  LineSplitter event_lines{kMaxEventLine};
  size_t out_bytes = 0;
  std::vector<std::string> stderr_tail;
  ProgramEvents parsed;      // from fd 3
  std::vector<Event> sales;  // from sold_pattern
  int64_t sales_attempt = 0;
  bool started = false;  // reached the barrier, or began without it
  bool ready_checked = false;
  // Paused by pause_holder: when to continue it (0: not paused).
  int64_t resume_at = 0;
  // Operation mode.
  int64_t attempt = 0;  // the next purchase to run
  bool done = false;    // no more purchases to run
  int64_t op_started = 0;
  int64_t op_deadline = 0;
  int64_t op_fault_at = 0;  // when its fault strikes (0: none)
  bool op_pause = false;
  std::string op_stdout;  // the first bytes of this run's stdout
  std::optional<int64_t> op_seat;

  bool open() const {
    return out.get() >= 0 || err.get() >= 0 || events.get() >= 0;
  }
  bool finished() const { return reaped && !open(); }
};

class ProgramRunner {
 public:
  ProgramRunner(const Scenario& scenario, const RunNames& names,
                const TicketStore& store, const RunSignals& signals,
                const ProgressFn& progress, RunResult* result)
      : scenario_(scenario),
        program_(scenario.program),
        names_(names),
        store_(store),
        signals_(signals),
        progress_(progress),
        result_(result),
        report_(std::make_shared<ProgramReport>()),
        capacity_(ProgramEventsPerLane(scenario)),
        random_(scenario.buyers.seed * 0x9E3779B97F4A7C15ull + 1) {}

  Status Run() {
    ResolvedCommand command;
    Status s = ResolveProgram(program_, scenario_.store.file_name, &command);
    if (!s.ok()) return s;
    report_->argv = std::move(command.argv);
    report_->from_folder = std::move(command.from_folder);
    report_->as_written = std::move(command.as_written);
    if (!program_.sold_pattern.empty()) {
      s = SoldPattern::Compile(program_.sold_pattern, &pattern_);
      if (!s.ok()) return s;
    }
    const int was_subreaper = [] {
      int on = 0;
      prctl(PR_GET_CHILD_SUBREAPER, &on);
      return on;
    }();
    // The fence's helpers are made before this process adopts orphans.
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    fence_.Raise(names_);
    report_->fence = FenceName(fence_.kind());
    report_->fence_why_not = fence_.why_not();
    report_->followed_all = descendants_.Open();
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal_fd_.reset(signalfd(-1, &signals_.set(), SFD_NONBLOCK | SFD_CLOEXEC));
    if (signal_fd_.get() < 0) s = Status::FromErrno("signalfd", errno);
    if (s.ok()) s = Start();
    if (s.ok()) s = Loop();
    if (!s.ok() || stop_) KillEverything();
    TakeDescendants();
    BookDescendants();
    report_->lost_track = descendants_.lost();
    Finish();
    fence_.Lower();
    prctl(PR_SET_CHILD_SUBREAPER, was_subreaper);
    result_->program = report_;
    return s;
  }

 private:
  // The environment every process of the program gets.
  std::vector<std::string> Environment(int64_t buyer, int64_t attempt,
                                       bool events) const {
    std::vector<std::string> env;
    bool python_unbuffered = false;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view entry(*e);
      if (entry.starts_with("TICKETSIM_")) continue;
      if (entry.starts_with("PYTHONUNBUFFERED=")) python_unbuffered = true;
      env.emplace_back(entry);
    }
    // Its lines reach ticketsim as it prints them, not when it exits.
    if (!python_unbuffered) env.emplace_back("PYTHONUNBUFFERED=1");
    const char* kind = scenario_.store.kind == StoreKind::kFile  ? "file"
                       : scenario_.store.kind == StoreKind::kShm ? "shm"
                                                                 : "sqlite";
    env.push_back(fmt::format("TICKETSIM_STORE={}", kind));
    env.push_back("TICKETSIM_DB=" + store_.Location());
    if (scenario_.store.kind == StoreKind::kSqlite) {
      env.emplace_back("TICKETSIM_TABLE=tickets");
      env.emplace_back("TICKETSIM_EVENT=main");
    }
    if (buyer >= 0) env.push_back(fmt::format("TICKETSIM_BUYER={}", buyer));
    env.push_back(fmt::format("TICKETSIM_BUYERS={}", scenario_.buyers.count));
    env.push_back(
        fmt::format("TICKETSIM_ATTEMPTS={}", scenario_.buyers.attempts));
    if (attempt >= 0) {
      env.push_back(fmt::format("TICKETSIM_ATTEMPT={}", attempt));
    }
    env.push_back(fmt::format("TICKETSIM_SEED={}", scenario_.buyers.seed));
    if (events) env.emplace_back("TICKETSIM_EVENTS_FD=3");
    if (program_.mode != ProgramMode::kOperation) {
      env.emplace_back("TICKETSIM_START_FD=4");
    }
    return env;
  }

  // Spawns a process for `lane`: with the events pipe in mode buyer, the
  // barrier unless in operation mode.
  Status SpawnLane(Lane* lane, int64_t buyer, int64_t attempt) {
    const bool events = program_.mode == ProgramMode::kBuyer;
    Fd out_w, err_w, events_w;
    Status s = MakePipe(&lane->out, &out_w);
    if (s.ok()) s = MakePipe(&lane->err, &err_w);
    if (s.ok() && events) {
      s = MakePipe(&lane->events, &events_w);
      // Room for a burst of events while the parent is busy elsewhere.
      if (s.ok()) fcntl(lane->events.get(), F_SETPIPE_SZ, 1 << 20);
    }
    if (!s.ok()) return s;
    SpawnPlan plan;
    plan.argv = report_->argv;
    plan.env = Environment(buyer, attempt, events);
    plan.dir = run_dir_.get();
    plan.fds[1] = out_w.get();
    plan.fds[2] = err_w.get();
    plan.fds[3] = events ? events_w.get() : -1;
    plan.fds[4] = barrier_read_.get();
    plan.join_cgroup = fence_.join_fd();
    const int64_t since = MonotonicNs();
    pid_t pid = 0;
    if (Status s = Spawn(plan, &pid); !s.ok()) {
      return Status::Environment(
          fmt::format("could not start the program for buyer {}: {}",
                      lane->index, s.message()));
    }
    descendants_.AddLane(pid, lane->index, since);
    lane->pid = pid;
    lane->pgid = pid;
    lane->reaped = false;
    lane->ticketsim_killed = false;
    lane_of_[pid] = lane->index;
    ++report_->processes;
    ++running_;
    return Status::Ok();
  }

  Status Start() {
    // The copies start in the run directory the run made, whatever its
    // path leads to by then.
    int dir = -1;
    if (Status s = OpenRunDirectory(names_, &dir); !s.ok()) return s;
    run_dir_.reset(dir);
    const size_t lanes = ProgramLanes(scenario_);
    lanes_ = std::vector<Lane>(lanes);
    report_->lanes.resize(lanes);
    for (size_t i = 0; i < lanes; ++i) {
      lanes_[i].index = static_cast<uint32_t>(i);
      lanes_[i].parsed =
          ProgramEvents(static_cast<uint32_t>(i), capacity_, &lock_names_);
    }
    first_spawn_ns_ = MonotonicNs();
    if (program_.mode == ProgramMode::kOperation) {
      start_ns_ = first_spawn_ns_;
      deadline_ = start_ns_ + RunTimeoutMs(scenario_) * 1000000;
      for (Lane& lane : lanes_) {
        if (Status s = NextOperation(&lane, start_ns_); !s.ok()) return s;
      }
      return Status::Ok();
    }
    Fd barrier_write;
    if (Status s = MakePipe(&barrier_read_, &barrier_write); !s.ok()) return s;
    fcntl(barrier_read_.get(), F_SETFL, 0);  // the copies block on it
    struct stat st;
    if (fstat(barrier_read_.get(), &st) == 0) {
      barrier_link_ = fmt::format("pipe:[{}]", st.st_ino);
    }
    for (Lane& lane : lanes_) {
      const bool whole = program_.mode == ProgramMode::kWhole;
      if (Status s = SpawnLane(&lane, whole ? -1 : lane.index, -1); !s.ok()) {
        return s;
      }
    }
    barrier_read_.reset();
    // Wait for every copy to block on fd 4 (or begin without it, or end),
    // reading what they say meanwhile, then open the barrier.
    // A whole program starts its own processes: nothing to wait for.
    const int64_t give_up =
        MonotonicNs() +
        (program_.mode == ProgramMode::kBuyer ? kStartWaitNs : 0);
    while (!stop_ && MonotonicNs() < give_up && !AllStarted()) {
      if (Status s = Step(1000000); !s.ok()) return s;
    }
    for (Lane& lane : lanes_) {
      if (!lane.started && program_.mode == ProgramMode::kBuyer) {
        report_->lanes[lane.index].late_start = true;
      }
    }
    barrier_write.reset();
    start_ns_ = MonotonicNs();
    report_->start_up_ms =
        static_cast<double>(start_ns_ - first_spawn_ns_) / 1e6;
    deadline_ = start_ns_ + RunTimeoutMs(scenario_) * 1000000;
    return Status::Ok();
  }

  // Whether every copy is blocked reading the barrier, has said something,
  // or has ended. A copy is seen blocked by the system call it sleeps in
  // (/proc/PID/syscall: read, on a descriptor that is the barrier's pipe).
  bool AllStarted() {
    for (Lane& lane : lanes_) {
      if (lane.started) continue;
      if (lane.reaped || lane.out_bytes > 0 || lane.parsed.lines() > 0) {
        lane.started = true;
        continue;
      }
      char path[64];
      snprintf(path, sizeof path, "/proc/%d/syscall", lane.pid);
      const int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        lane.started = true;  // cannot tell: do not wait for it
        continue;
      }
      char buf[256];
      const ssize_t got = read(fd, buf, sizeof buf - 1);
      close(fd);
      if (got <= 0) {
        lane.started = true;
        continue;
      }
      buf[got] = '\0';
      long number = -1;
      unsigned long arg = 0;
      if (sscanf(buf, "%ld %lx", &number, &arg) != 2 || number != SYS_read) {
        return false;
      }
      snprintf(path, sizeof path, "/proc/%d/fd/%lu", lane.pid, arg);
      char link[64];
      const ssize_t n = readlink(path, link, sizeof link - 1);
      if (n <= 0) return false;
      link[n] = '\0';
      if (barrier_link_ != link) return false;
      lane.started = true;
    }
    return true;
  }

  // Starts `lane`'s next purchase (operation mode), or marks it done.
  Status NextOperation(Lane* lane, int64_t now) {
    if (lane->done || lane->attempt >= scenario_.buyers.attempts) {
      lane->done = true;
      return Status::Ok();
    }
    const int64_t attempt = lane->attempt++;
    lane->parsed.Stamp(EventKind::kInvoke, now, 0);
    lane->op_started = now;
    lane->op_deadline = now + program_.timeout_ms * 1000000;
    lane->op_stdout.clear();
    lane->op_seat.reset();
    lane->op_fault_at = 0;
    std::uniform_real_distribution<double> chance(0, 1);
    const FaultsSpec& f = scenario_.faults;
    const double u = chance(random_);
    if (u < f.kill_holder + f.pause_holder) {
      // Somewhere in its first 10 ms: inside a short purchase.
      lane->op_fault_at =
          now + static_cast<int64_t>(chance(random_) * 10000000);
      lane->op_pause = u >= f.kill_holder;
    }
    return SpawnLane(lane, lane->index, attempt);
  }

  // One round: waits up to `wait_ns` for output, a signal or a deadline,
  // and handles all of them.
  Status Step(int64_t wait_ns) {
    std::vector<pollfd> fds;
    fds.push_back({signal_fd_.get(), POLLIN, 0});
    for (const int fd : {descendants_.fd(), fence_.reports_fd()}) {
      if (fd >= 0) fds.push_back({fd, POLLIN, 0});
    }
    for (const Lane& lane : lanes_) {
      for (const Fd* fd : {&lane.events, &lane.out, &lane.err}) {
        if (fd->get() >= 0) fds.push_back({fd->get(), POLLIN, 0});
      }
    }
    const int ms = static_cast<int>(
        std::clamp<int64_t>((wait_ns + 999999) / 1000000, 0, 1000));
    const int ready = poll(fds.data(), fds.size(), ms);
    if (ready < 0 && errno != EINTR) return Status::FromErrno("poll", errno);
    const int64_t now = MonotonicNs();
    // Every pipe is read each round, not only those poll named: a line
    // written before another (an unlock before the next lock) is then read
    // in the same round or an earlier one, never a later one.
    // Stdout is read within a budget, from a lane further on each round,
    // so that every lane's turn comes.
    if (ready > 0) {
      read_stdout_until_ = now + kMatchBudgetNs;
      const size_t first = rounds_++ % lanes_.size();
      for (size_t i = 0; i < lanes_.size(); ++i) {
        Lane* lane = &lanes_[(first + i) % lanes_.size()];
        if (Status s = Drain(lane, now); !s.ok()) return s;
      }
      read_stdout_until_ = INT64_MAX;
      TakeSignals();
    }
    if (!stop_) ReapAll(now);
    TakeDescendants();
    return Status::Ok();
  }

  // Reads everything `lane`'s pipes hold now.
  Status Drain(Lane* lane, int64_t now) {
    char buf[kPipeRead];
    Status s = ReadPipe(lane, &lane->events, buf, [&](size_t n) {
      return EventBytes(lane, {buf, n}, now);
    });
    if (!s.ok()) return s;
    s = ReadPipe(lane, &lane->out, buf, [&](size_t n) {
      return StdoutBytes(lane, {buf, n}, now);
    });
    if (!s.ok()) return s;
    return ReadPipe(lane, &lane->err, buf, [&](size_t n) {
      StderrBytes(lane, {buf, n});
      return Status::Ok();
    });
  }

  // What pipe `fd` of `lane` holds now, read into `buf` and handed to
  // `on_data` (its byte count; 0 at the end of the pipe), but at most a few
  // reads of it: a program that writes without end must not keep the
  // parent from its deadlines.
  template <typename OnData>
  Status ReadPipe(Lane* lane, Fd* fd, char* buf, OnData&& on_data) {
    const bool out = fd == &lane->out;
    for (int reads = 0; fd->get() >= 0 && reads < kReadsPerRound; ++reads) {
      if (out && MonotonicNs() >= read_stdout_until_) break;
      const ssize_t got = read(fd->get(), buf, out ? kStdoutRead : kPipeRead);
      if (got > 0) {
        if (Status s = on_data(static_cast<size_t>(got)); !s.ok()) return s;
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && errno == EAGAIN) break;
      fd->reset();  // end of file, or an error: nothing more comes
      return on_data(0);
    }
    return Status::Ok();
  }

  // Bytes of `lane`'s events pipe (none: its end), as event lines.
  Status EventBytes(Lane* lane, std::string_view bytes, int64_t now) {
    Status st;
    const auto line = [&](const std::string& text, bool cut) {
      if (st.ok()) st = lane->parsed.Line(text, cut, now, Window());
    };
    if (bytes.empty()) {
      lane->event_lines.Finish(line);
    } else {
      lane->event_lines.Feed(bytes, line);
    }
    if (st.ok()) st = AfterEvents(lane, now);
    return st;
  }

  // Bytes of `lane`'s stdout (none: its end): its lines, each looked at for
  // sales, and an operation's first few kept to show.
  Status StdoutBytes(Lane* lane, std::string_view bytes, int64_t now) {
    lane->out_bytes += bytes.size();
    if (lane->out_bytes > kMaxStdoutBytes) {
      return Status::Corrupt(fmt::format(
          "buyer {} wrote more than {} MiB to its stdout: stopped as a "
          "flood",
          lane->index, kMaxStdoutBytes >> 20));
    }
    Status st;
    const auto line = [&](const std::string& text, bool) {
      if (st.ok()) st = StdoutLine(lane, text, now);
    };
    if (program_.mode == ProgramMode::kOperation &&
        lane->op_stdout.size() < 4096) {
      lane->op_stdout.append(bytes.data(),
                             std::min<size_t>(bytes.size(), 4096));
    }
    if (bytes.empty()) {
      lane->out_lines.Finish(line);
    } else {
      lane->out_lines.Feed(bytes, line);
    }
    return st;
  }

  // Bytes of `lane`'s stderr (none: its end): its last lines kept.
  void StderrBytes(Lane* lane, std::string_view bytes) {
    const auto line = [&](const std::string& text, bool cut) {
      std::vector<std::string>& tail = lane->stderr_tail;
      if (tail.size() == kStderrLinesKept) tail.erase(tail.begin());
      tail.push_back(cut ? text + " ..." : text);
    };
    if (bytes.empty()) {
      lane->err_lines.Finish(line);
    } else {
      lane->err_lines.Feed(bytes, line);
    }
  }

  // The times a program's own `t` may take: from the first spawn to the
  // moment its line is read (later than the round's time).
  std::pair<int64_t, int64_t> Window() const {
    return {first_spawn_ns_, MonotonicNs()};
  }

  // A line of stdout: a sale for each match of sold_pattern in it. (Lines
  // of several processes sharing one stdout can run together when a
  // program writes a line and its newline apart, as Python's print does
  // unbuffered: each match still counts.)
  Status StdoutLine(Lane* lane, const std::string& text, int64_t now) {
    ++report_->lanes[lane->index].stdout_lines;
    if (!pattern_) return Status::Ok();
    return pattern_->ForEachSale(text, [&](std::optional<int64_t> seat) {
      return Sale(lane, seat, now);
    });
  }

  // One sale matched on `lane`'s stdout, with its seat if the pattern's
  // group caught one.
  Status Sale(Lane* lane, std::optional<int64_t> seat, int64_t now) {
    ++report_->lanes[lane->index].sold_lines;
    if (program_.mode == ProgramMode::kOperation) {
      if (!lane->op_seat) lane->op_seat = seat;
      return Status::Ok();
    }
    if (lane->sales.size() + 2 > capacity_) {
      return Status::Corrupt(fmt::format(
          "{} printed more than {} sales: its share of the history is full "
          "(raise buyers.attempts if it really sells that many)",
          program_.mode == ProgramMode::kWhole
              ? std::string("the program")
              : fmt::format("buyer {}", lane->index),
          capacity_ / 2));
    }
    const auto attempt = static_cast<uint32_t>(lane->sales_attempt++);
    const auto t = static_cast<uint64_t>(now);
    lane->sales.push_back(
        {t, 0, lane->index, attempt, EventKind::kInvoke, 0, 0, 0});
    lane->sales.push_back(
        {t, seat.value_or(0), lane->index, attempt, EventKind::kTook,
         static_cast<uint8_t>(kPrinted | (seat ? 0 : kNoSeat)), 0, 0});
    return Status::Ok();
  }

  // After events were read from `lane`: a fault may strike the purchase it
  // opened.
  Status AfterEvents(Lane* lane, int64_t now) {
    lane->started = true;
    while (lane->parsed.TakeInvoke()) {
      ++invokes_;
      const FaultsSpec& f = scenario_.faults;
      if (f.kill_holder <= 0 && f.pause_holder <= 0) continue;
      if (lane->reaped || lane->resume_at != 0) continue;
      std::uniform_real_distribution<double> chance(0, 1);
      const double u = chance(random_);
      if (u < f.kill_holder) {
        Strike(lane, now, /*pause=*/false);
      } else if (u < f.kill_holder + f.pause_holder) {
        Strike(lane, now, /*pause=*/true);
      }
    }
    return Status::Ok();
  }

  // kill_holder or pause_holder, on `lane`'s process group now.
  void Strike(Lane* lane, int64_t now, bool pause) {
    if (pause) {
      kill(-lane->pgid, SIGSTOP);
      lane->resume_at =
          now + static_cast<int64_t>(scenario_.faults.pause_holder_ms * 1e6);
      lane->parsed.Stamp(
          EventKind::kFault, now, static_cast<uint32_t>(FaultKind::kPause),
          static_cast<int64_t>(scenario_.faults.pause_holder_ms));
    } else {
      lane->ticketsim_killed = true;
      kill(-lane->pgid, SIGKILL);
      lane->parsed.Stamp(EventKind::kFault, now,
                         static_cast<uint32_t>(FaultKind::kKill));
    }
  }

  void TakeSignals() {
    if (const int sig = TakeInterrupt(signal_fd_.get()); sig != 0) {
      result_->interrupted = true;
      result_->interrupt_signal = sig;
      End(RunEnd::kInterrupt);
    }
  }

  // Reaps every child that has ended: the program's own processes and the
  // orphans of its children.
  void ReapAll(int64_t now) {
    for (;;) {
      int status = 0;
      const pid_t pid = ReapChild(&status);
      if (pid <= 0) {
        no_children_ = pid < 0 && errno == ECHILD;
        return;
      }
      if (fence_.TakeIfInit(pid)) continue;
      auto it = lane_of_.find(pid);
      if (it == lane_of_.end()) {
        Orphan(pid, status);
        continue;
      }
      Lane& lane = lanes_[it->second];
      lane_of_.erase(it);
      --running_;
      lane.reaped = true;
      lane.pid = 0;
      Ended(&lane, status, now);
    }
  }

  // An orphan of the program, reaped by this process or by its namespace's
  // init: kept here only when the kernel's process events do not follow
  // every process (its lane is then known only in whole mode, and what it
  // ran not at all).
  void Orphan(pid_t pid, int status) {
    if (descendants_.open()) return;
    const bool whole = program_.mode == ProgramMode::kWhole;
    ends_.push_back({{pid, 0, status, -1}, whole ? 0 : -1, false, Ending()});
  }

  // Reads how the program's own processes ended: the kernel's events, and
  // the orphans the namespace's init reaped.
  void TakeDescendants() {
    std::vector<DescendantEnd> ended;
    descendants_.Read(&ended);
    for (const DescendantEnd& end : ended) {
      ends_.push_back({end, static_cast<int32_t>(end.lane), true, Ending()});
    }
    std::vector<ProgramFence::Reaped> reaped;
    namespace_empty_ = fence_.ReadReports(&reaped);
    for (const ProgramFence::Reaped& r : reaped) Orphan(r.pid, r.status);
  }

  // Whether ticketsim is ending the program: what ends now was killed.
  bool Ending() const { return stop_ || killing_; }

  // Books the processes the program started itself, once the run is over
  // (only then is it known which program each lane ran): each is counted,
  // and a failure while the run was not being ended is a crash.
  void BookDescendants() {
    for (const PendingEnd& e : ends_) {
      ++report_->processes;
      // Without the kernel's events what it ran is unknown: it counts.
      const bool own = !e.followed || descendants_.RunsLaneProgram(e.end);
      if (e.lane >= 0 && e.followed && own) {
        ++report_->lanes[e.lane].own_processes;
      }
      if (e.ending || !ProcessFailed(e.end.status, own)) continue;
      report_->failed_processes.push_back(
          {e.end.pid, e.lane, ExitWords(e.end.status)});
    }
    for (Lane& lane : lanes_) {
      report_->lanes[lane.index].most_at_once =
          descendants_.MostAtOnce(lane.index);
    }
  }

  // Books how `lane`'s process ended.
  void Ended(Lane* lane, int status, int64_t now) {
    ProgramLane& out = report_->lanes[lane->index];
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    out.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    lane->resume_at = 0;
    if (program_.mode == ProgramMode::kOperation) {
      // Its stdout may still hold the seat.
      if (Status s = Drain(lane, now); !s.ok() && error_.ok()) error_ = s;
      Outcome(lane, status, now);
      return;
    }
    const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!clean && !lane->ticketsim_killed && !stop_) {
      out.crash = ExitWords(status);
    }
  }

  // Operation mode: what one run of the command said of its purchase.
  void Outcome(Lane* lane, int status, int64_t now) {
    ProgramLane& out = report_->lanes[lane->index];
    const bool exited = WIFEXITED(status);
    if (exited && WEXITSTATUS(status) == 0 && !lane->ticketsim_killed) {
      std::optional<int64_t> seat = lane->op_seat;
      if (!pattern_ && !seat) {
        static const re2::RE2 kNumber("(-?[0-9]+)", re2::RE2::Latin1);
        std::string number;
        if (re2::RE2::PartialMatch(lane->op_stdout, kNumber, &number)) {
          seat = strtoll(number.c_str(), nullptr, 10);
        }
      }
      lane->parsed.Stamp(EventKind::kTook, now, 0, seat.value_or(0),
                         seat ? 0 : kNoSeat);
    } else if (exited && WEXITSTATUS(status) == 3 && !lane->ticketsim_killed) {
      lane->parsed.Stamp(EventKind::kSoldOut, now, 0);
      lane->done = true;
    } else {
      // No outcome: the purchase stays open, indeterminate.
      ++out.indeterminate;
      out.last_odd_exit =
          lane->ticketsim_killed && now >= lane->op_deadline
              ? fmt::format("ran past program.timeout_ms ({} ms)",
                            program_.timeout_ms)
          : lane->ticketsim_killed ? "was killed by kill_holder"
                                   : ExitWords(status);
    }
  }

  // Kills `lane`'s process group.
  void KillLane(Lane* lane) {
    if (lane->reaped) return;
    lane->ticketsim_killed = true;
    kill(-lane->pgid, SIGKILL);
  }

  // Ends the run early: every process is killed.
  void End(RunEnd why) {
    if (stop_) return;
    stop_ = true;
    result_->ended_by = why;
    result_->ended_ns = start_ns_ == 0
                            ? 0
                            : static_cast<uint64_t>(std::max<int64_t>(
                                  0, MonotonicNs() - start_ns_));
  }

  Status Loop() {
    int64_t next_progress = MonotonicNs() + 100000000;
    for (;;) {
      if (!error_.ok()) return error_;
      if (stop_) return Status::Ok();
      const int64_t now = MonotonicNs();
      bool all_finished = true;
      int64_t wake = std::min(deadline_, next_progress);
      for (Lane& lane : lanes_) {
        if (lane.resume_at != 0) {
          if (lane.resume_at <= now) {
            lane.resume_at = 0;
            kill(-lane.pgid, SIGCONT);
            result_->continued.emplace_back(
                lane.index, static_cast<uint64_t>(now - start_ns_));
          } else {
            wake = std::min(wake, lane.resume_at);
          }
        }
        if (program_.mode == ProgramMode::kOperation) {
          if (Status s = TendOperation(&lane, now, &wake); !s.ok()) return s;
        }
        if (!lane.finished() ||
            (program_.mode == ProgramMode::kOperation && !lane.done)) {
          all_finished = false;
        }
      }
      if (all_finished && (no_children_ || running_ == 0)) {
        ReapAll(now);
        if (no_children_) return Status::Ok();
        if (program_.mode == ProgramMode::kOperation) {
          // Every purchase has its outcome: what a command left behind (a
          // daemon in a session of its own) is no buyer's, and is killed
          // rather than waited for.
          KillEverything();
          return Status::Ok();
        }
        // In a namespace the orphans are its init's: it says when the
        // last has gone.
        fence_.AskEmpty();
        if (namespace_empty_) return Status::Ok();
      }
      if (now >= deadline_) {
        result_->timed_out = true;
        End(RunEnd::kTimeLimit);
        return Status::Ok();
      }
      if (progress_ && now >= next_progress) {
        next_progress = now + 100000000;
        progress_(invokes_);
      }
      if (Status s = Step(wake - now); !s.ok()) return s;
    }
  }

  // Operation mode: strikes a fault that is due, kills a run past its
  // limit, and starts the next purchase of a lane whose run has ended.
  Status TendOperation(Lane* lane, int64_t now, int64_t* wake) {
    if (!lane->reaped) {
      if (lane->op_fault_at != 0) {
        if (now >= lane->op_fault_at) {
          lane->op_fault_at = 0;
          Strike(lane, now, lane->op_pause);
        } else {
          *wake = std::min(*wake, lane->op_fault_at);
        }
      }
      if (now >= lane->op_deadline) {
        KillLane(lane);
      } else {
        *wake = std::min(*wake, lane->op_deadline);
      }
      return Status::Ok();
    }
    if (lane->open()) {
      // The command has ended but left a process holding its output: the
      // purchase's limit counts from its start all the same.
      if (now < lane->op_deadline) {
        *wake = std::min(*wake, lane->op_deadline);
        return Status::Ok();
      }
      LetGoOfLeftovers(lane);
    }
    if (lane->done) return Status::Ok();
    return NextOperation(lane, now);
  }

  // Operation mode, past a purchase's limit: what its command left behind
  // in its process group is killed (only while a child of ticketsim is in
  // the group, so that its id cannot have been reused), and its pipes are
  // let go of, whoever else holds them.
  void LetGoOfLeftovers(Lane* lane) {
    const std::vector<pid_t> children = Children(ThrowawayServerPid());
    if (std::any_of(children.begin(), children.end(), [&](pid_t child) {
          return getpgid(child) == lane->pgid;
        })) {
      kill(-lane->pgid, SIGKILL);
    }
    lane->out.reset();
    lane->err.reset();
    lane->events.reset();
  }

  // Kills every process the program has, its orphans included, and reaps
  // them all.
  void KillEverything() {
    killing_ = true;
    fence_.KillAll();
    for (Lane& lane : lanes_) KillLane(&lane);
    const int64_t give_up = MonotonicNs() + kSweepNs;
    while (MonotonicNs() < give_up) {
      for (pid_t child : Children(ThrowawayServerPid())) kill(child, SIGKILL);
      int status = 0;
      const pid_t pid = ReapChild(&status);
      if (pid < 0 && errno == ECHILD) break;
      if (pid > 0) {
        if (fence_.TakeIfInit(pid)) continue;
        auto it = lane_of_.find(pid);
        if (it != lane_of_.end()) {
          Lane& lane = lanes_[it->second];
          lane_of_.erase(it);
          lane.reaped = true;
          lane.pid = 0;
          report_->lanes[lane.index].exit_code =
              WIFEXITED(status) ? WEXITSTATUS(status) : -1;
          report_->lanes[lane.index].signal =
              WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        } else {
          Orphan(pid, status);
        }
        continue;
      }
      usleep(1000);
    }
    for (Lane& lane : lanes_) {
      lane.out.reset();
      lane.err.reset();
      lane.events.reset();
    }
  }

  // Fills the history and the result from what the lanes did.
  void Finish() {
    const int64_t end = MonotonicNs();
    // The run's time starts when the barrier opened, or earlier if a copy
    // that did not wait for it said something before.
    int64_t origin = start_ns_ != 0 ? start_ns_ : end;
    for (Lane& lane : lanes_) {
      if (!lane.parsed.events().empty()) {
        origin = std::min<int64_t>(
            origin, static_cast<int64_t>(lane.parsed.events().front().time_ns));
      }
      if (!lane.sales.empty()) {
        origin = std::min<int64_t>(
            origin, static_cast<int64_t>(lane.sales.front().time_ns));
      }
    }
    result_->history = std::make_unique<HistoryArena>();
    if (Status s = result_->history->Map(lanes_.size(), capacity_); !s.ok()) {
      if (error_.ok()) error_ = s;
      return;
    }
    result_->processes.clear();
    result_->served_by.clear();
    for (Lane& lane : lanes_) {
      ProgramLane& out = report_->lanes[lane.index];
      out.event_lines = lane.parsed.lines();
      out.stderr_tail = std::move(lane.stderr_tail);
      // Its own account of its purchases, if it gave one; else its output.
      std::vector<Event> events = lane.parsed.events();
      if (!lane.parsed.bought_or_tried()) {
        events.insert(events.end(), lane.sales.begin(), lane.sales.end());
        std::stable_sort(events.begin(), events.end(),
                         [](const Event& a, const Event& b) {
                           return a.time_ns < b.time_ns;
                         });
      }
      EventWriter writer = result_->history->WriterFor(lane.index);
      for (Event e : events) {
        e.time_ns -= static_cast<uint64_t>(origin);
        writer.Record(e);
      }
      BuyerProcess process;
      process.pid = lane.pgid;
      process.exit_code = out.exit_code;
      // A copy ticketsim killed (a fault, the run's end) is a killed buyer.
      process.signal = out.signal;
      result_->processes.push_back(process);
      result_->served_by.push_back(static_cast<int32_t>(lane.index));
    }
    report_->lock_names = lock_names_.names();
    const int64_t from = start_ns_ != 0 ? start_ns_ : first_spawn_ns_;
    result_->seconds = static_cast<double>(end - from) / 1e9;
    if (result_->ended_by != RunEnd::kNone && start_ns_ != 0 &&
        origin < start_ns_) {
      result_->ended_ns += static_cast<uint64_t>(start_ns_ - origin);
    }
  }

  const Scenario& scenario_;
  const ProgramSpec& program_;
  const RunNames& names_;
  const TicketStore& store_;
  const RunSignals& signals_;
  const ProgressFn& progress_;
  RunResult* result_;
  std::shared_ptr<ProgramReport> report_;
  const size_t capacity_;
  std::mt19937_64 random_;
  std::unique_ptr<SoldPattern> pattern_;
  std::vector<Lane> lanes_;
  std::unordered_map<pid_t, uint32_t> lane_of_;
  ProgramFence fence_;
  DescendantWatch descendants_;
  // A process the program started itself that ended, and whether the
  // kernel's events followed it and the run was being ended then.
  struct PendingEnd {
    DescendantEnd end;
    int32_t lane = -1;  // -1: not known
    bool followed = false;
    bool ending = false;
  };
  std::vector<PendingEnd> ends_;
  bool namespace_empty_ = false;
  bool killing_ = false;  // KillEverything has begun
  LockNames lock_names_;
  Fd signal_fd_;
  Fd barrier_read_;
  Fd run_dir_;  // the run directory, every copy's current directory
  std::string barrier_link_;
  int64_t first_spawn_ns_ = 0;
  int64_t start_ns_ = 0;
  int64_t deadline_ = INT64_MAX;
  int64_t invokes_ = 0;
  int64_t read_stdout_until_ = INT64_MAX;  // the round's budget for stdout
  size_t rounds_ = 0;
  size_t running_ = 0;
  bool no_children_ = false;
  bool stop_ = false;
  Status error_;
};

}  // namespace

Status RunProgram(const Scenario& scenario, const RunNames& names,
                  const TicketStore& store, const RunSignals& signals,
                  const ProgressFn& progress, RunResult* result) {
  return ProgramRunner(scenario, names, store, signals, progress, result).Run();
}

}  // namespace ticketsim
