#include "sim/hosts/host_run.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "base/escape.h"
#include "base/fd.h"
#include "base/interrupt.h"
#include "base/spawn.h"
#include "sim/buyers/buyer.h"
#include "sim/hosts/host_events.h"
#include "sim/hosts/host_protocol.h"
#include "sim/scenario/program_command.h"
#include "storage/pg_connect.h"
#include "storage/pg_server.h"

namespace ticketsim {
namespace {

// Round trips per host; the one with the smallest time is kept.
constexpr int kPings = 16;
// From the launch until every agent's buyers wait at their barriers, at
// most (and at most the run's time limit).
constexpr int64_t kLaunchLimitNs = int64_t{60} * 1000000000;
// After stop, how long the agents have to send the rest, say done and exit;
// then they are sent SIGTERM (a launcher such as ssh then ends, and the
// agent at its far end sees its stdin close), and as long again later
// SIGKILL: an interrupt or the time limit ends the run within a second.
constexpr int64_t kStopGraceNs = 500000000;
// A command run on a host for a partition.
constexpr int64_t kCommandLimitNs = int64_t{10} * 1000000000;
// Lines of an agent's stderr kept, for the message when it fails.
constexpr size_t kStderrKept = 5;
// How long the final sweep may take to kill every process left.
constexpr int64_t kSweepNs = int64_t{10} * 1000000000;
// The longest a round spends reading the agents' output.
constexpr int64_t kDrainSliceNs = 20000000;

// The launcher's words for `host`, {host} replaced in each.
std::vector<std::string> LauncherWords(const std::vector<std::string>& words,
                                       const std::string& host) {
  std::vector<std::string> out;
  for (std::string word : words) {
    for (size_t at = 0; (at = word.find("{host}", at)) != std::string::npos;
         at += host.size()) {
      word.replace(at, 6, host);
    }
    out.push_back(std::move(word));
  }
  return out;
}

// Starts `command` with its stdout and stderr on pipes whose reading ends
// are `*out_r` and `*err_r`.
Status StartCommand(const std::vector<std::string>& command, Fd* out_r,
                    Fd* err_r, pid_t* pid) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Status::FromErrno("pipe", errno);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return Status::FromErrno("pipe", errno);
  }
  *out_r = Fd(out_pipe[0]);
  *err_r = Fd(err_pipe[0]);
  const Fd out_w(out_pipe[1]), err_w(err_pipe[1]);
  SpawnPlan plan;
  plan.argv = command;
  plan.fds[1] = out_w.get();
  plan.fds[2] = err_w.get();
  plan.fd_count = 3;
  if (Status s = Spawn(plan, pid); !s.ok()) {
    return Status::Environment(fmt::format("`{}` could not be started: {}",
                                           CommandLine(command), s.message()));
  }
  return Status::Ok();
}

// Reads what process `pid` writes on `out_r` and `err_r` (64 KiB of each at
// most) until it closes both; kills its group and returns false if that
// takes more than kCommandLimitNs.
bool ReadCommandOutput(pid_t pid, Fd* out_r, Fd* err_r, std::string* out,
                       std::string* err) {
  const int64_t give_up = MonotonicNs() + kCommandLimitNs;
  while (out_r->get() >= 0 || err_r->get() >= 0) {
    const int64_t left = give_up - MonotonicNs();
    if (left <= 0) {
      kill(-pid, SIGKILL);
      return false;
    }
    pollfd fds[2] = {{out_r->get(), POLLIN, 0}, {err_r->get(), POLLIN, 0}};
    poll(fds, 2, static_cast<int>(left / 1000000 + 1));
    for (auto [fd, into] : {std::pair{out_r, out}, std::pair{err_r, err}}) {
      if (fd->get() < 0) continue;
      char buf[4096];
      const ssize_t got = read(fd->get(), buf, sizeof buf);
      if (got > 0 && into->size() < 65536) into->append(buf, got);
      if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
        fd->reset();
      }
    }
  }
  return true;
}

// Runs `command` to its end (at most kCommandLimitNs), reading its output;
// sets `*out` to its stdout and returns Environment with its stderr when it
// fails.
Status RunCommand(const std::vector<std::string>& command, std::string* out) {
  Fd out_r, err_r;
  pid_t pid = 0;
  if (Status s = StartCommand(command, &out_r, &err_r, &pid); !s.ok()) {
    return s;
  }
  std::string err;
  const bool late = !ReadCommandOutput(pid, &out_r, &err_r, out, &err);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) {
    err.pop_back();
  }
  if (late) {
    return Status::Environment(fmt::format("`{}` took more than {} s",
                                           CommandLine(command),
                                           kCommandLimitNs / 1000000000));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Environment(fmt::format("`{}` {}{}", CommandLine(command),
                                           ExitWords(status),
                                           err.empty() ? "" : ": " + err));
  }
  return Status::Ok();
}

// One host's agent as the parent sees it.
struct Agent {
  size_t index = 0;
  std::string host;
  std::vector<uint32_t> buyers;
  std::vector<std::string> argv;
  pid_t pid = 0;
  bool reaped = false;
  int status = 0;
  Fd in, out, err;
  LineSplitter out_lines{kMaxHostLine};
  LineSplitter err_lines{300};
  std::vector<std::string> stderr_tail;
  bool ready = false;
  bool done = false;
  bool failed = false;
  bool stop_sent = false;
  // After stop: 1 once sent SIGTERM, 2 once SIGKILL, when it was late.
  int late = 0;
  bool exit_seen = false;
  // Clock offset.
  int pings = 0;
  bool ping_out = false;
  int64_t ping_sent = 0;
  int64_t best_rtt = INT64_MAX;
  int64_t offset = 0;
};

class HostRunner {
 public:
  HostRunner(const Scenario& scenario, const RunNames& store_names,
             const std::string& conninfo, const RunSignals& signals,
             const ProgressFn& progress, RunResult* result)
      : scenario_(scenario),
        store_names_(store_names),
        conninfo_(conninfo),
        signals_(signals),
        progress_(progress),
        result_(result) {}

  Status Run() {
    struct sigaction ignore {
    }, old_pipe{};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ignore, &old_pipe);
    int was_subreaper = 0;
    prctl(PR_GET_CHILD_SUBREAPER, &was_subreaper);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal_fd_.reset(signalfd(-1, &signals_.set(), SFD_NONBLOCK | SFD_CLOEXEC));
    Status s = signal_fd_.get() < 0 ? Status::FromErrno("signalfd", errno)
                                    : Status::Ok();
    if (s.ok()) s = Prepare();
    if (s.ok()) s = Launch();
    if (s.ok()) s = Loop();
    if (!s.ok()) failure_ = s;
    Restore();
    KillEverything();
    Finish();
    prctl(PR_SET_CHILD_SUBREAPER, was_subreaper);
    sigaction(SIGPIPE, &old_pipe, nullptr);
    // Interrupted, the run is reported as such, whatever failed meanwhile
    // (an agent killed at the end of its grace among it).
    return result_->interrupted ? Status::Ok() : failure_;
  }

 private:
  Status Prepare() {
    char exe[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return Status::FromErrno("readlink /proc/self/exe", errno);
    exe_.assign(exe, static_cast<size_t>(n));
    if (Status s = SplitCommandLine(scenario_.buyers.launcher, &launcher_);
        !s.ok()) {
      return Status::Environment("buyers.launcher: " + s.message());
    }
    if (Status s = events_.Map(scenario_, result_); !s.ok()) return s;
    const auto shares = BuyersOfHosts(scenario_);
    for (size_t h = 0; h < shares.size(); ++h) {
      result_->hosts.push_back({scenario_.buyers.hosts[h], shares[h], 0, 0, 0});
    }
    return Status::Ok();
  }

  // Starts every host's agent and writes it its share.
  Status Launch() {
    const std::vector<std::string> settings = HostSettings(scenario_);
    first_launch_ = MonotonicNs();
    start_limit_ =
        std::min(kLaunchLimitNs, RunTimeoutMs(scenario_) * int64_t{1000000});
    for (size_t h = 0; h < result_->hosts.size(); ++h) {
      const HostRecord& record = result_->hosts[h];
      if (record.buyers.empty()) continue;  // fewer buyers than hosts
      Agent& agent = agents_.emplace_back();
      agent.index = h;
      agent.host = record.name;
      agent.buyers = record.buyers;
      agent.argv = LauncherWords(launcher_, agent.host);
      agent.argv.push_back(exe_);
      agent.argv.push_back("buyer");
      int in[2], out[2], err[2];
      if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
          pipe2(err, O_CLOEXEC) != 0) {
        return Status::FromErrno("pipe", errno);
      }
      Fd in_r(in[0]), out_w(out[1]), err_w(err[1]);
      agent.in.reset(in[1]);
      agent.out.reset(out[0]);
      agent.err.reset(err[0]);
      fcntl(agent.out.get(), F_SETFL, O_NONBLOCK);
      fcntl(agent.err.get(), F_SETFL, O_NONBLOCK);
      fcntl(agent.out.get(), F_SETPIPE_SZ, 1 << 20);
      // SIGTERM, not SIGKILL: an agent (or a launcher whose far end sees
      // its stdin close) left alone still kills its buyers and removes its
      // objects.
      SpawnPlan plan;
      plan.argv = agent.argv;
      plan.fds[0] = in_r.get();
      plan.fds[1] = out_w.get();
      plan.fds[2] = err_w.get();
      plan.fd_count = 3;
      plan.death_signal = SIGTERM;
      if (Status s = Spawn(plan, &agent.pid); !s.ok()) {
        return Status::Environment(fmt::format(
            "host {}: could not start its agent: {}", agent.host, s.message()));
      }
      HostShare share;
      share.host = agent.host;
      share.buyers = agent.buyers;
      share.settings = settings;
      share.store_tag = store_names_.tag;
      share.store_dir = store_names_.dir;
      share.conninfo = conninfo_;
      share.timeout_ms = RunTimeoutMs(scenario_);
      Send(&agent, ShareLine(share));
    }
    return Status::Ok();
  }

  // Writes one line to an agent; a closed pipe is seen when its stdout ends.
  void Send(Agent* agent, const std::string& line) {
    if (agent->in.get() < 0) return;
    const std::string text = line + "\n";
    size_t at = 0;
    while (at < text.size()) {
      const ssize_t put =
          write(agent->in.get(), text.data() + at, text.size() - at);
      if (put > 0) {
        at += static_cast<size_t>(put);
      } else if (put < 0 && errno == EINTR) {
        continue;
      } else {
        agent->in.reset();
        return;
      }
    }
  }

  // Tells every agent to stop (once), and why the run ended.
  void Stop(RunEnd why) {
    if (stopping_) return;
    stopping_ = true;
    stop_at_ = MonotonicNs();
    if (started_) {
      result_->ended_by = why;
      result_->ended_ns = static_cast<uint64_t>(stop_at_ - start_);
    }
    for (Agent& agent : agents_) {
      if (!agent.stop_sent) {
        agent.stop_sent = true;
        Send(&agent, StopLine());
      }
    }
  }

  // A failure of the run: the first one is kept, and every agent stops.
  void Failed(Status s) {
    if (failure_.ok()) failure_ = std::move(s);
    Stop(RunEnd::kFailure);
  }

  std::string AgentFailure(const Agent& agent, std::string_view what) const {
    std::string tail;
    for (const std::string& line : agent.stderr_tail) {
      tail += (tail.empty() ? "" : " | ") + line;
    }
    return fmt::format("host {}: {}{}", agent.host, what,
                       tail.empty() ? "" : "; its last stderr lines: " + tail);
  }

  Status Loop() {
    int64_t next_progress = MonotonicNs() + 100000000;
    for (;;) {
      const int64_t now = MonotonicNs();
      bool all_finished = true;
      for (const Agent& agent : agents_) {
        if (!agent.reaped || !(agent.done || agent.failed)) {
          all_finished = false;
        }
      }
      if (all_finished) return Status::Ok();
      int64_t wake = now + 100000000;
      if (!started_ && !stopping_) {
        if (now - first_launch_ > start_limit_) {
          NotReady();
        } else if (AllReady()) {
          Go();
        } else {
          wake = std::min(wake, first_launch_ + start_limit_ + 1);
        }
      }
      if (started_ && !stopping_) {
        if (now >= deadline_) {
          result_->timed_out = true;
          Stop(RunEnd::kTimeLimit);
        } else {
          wake = std::min(wake, deadline_);
        }
        if (Status s = Partition(now, &wake); !s.ok()) Failed(s);
      }
      if (stopping_) EndLateAgents(now, &wake);
      if (progress_ && started_ && now >= next_progress) {
        next_progress = now + 100000000;
        progress_(events_.attempts_done());
      }
      Round(std::max<int64_t>(0, wake - MonotonicNs()));
    }
  }

  // The start limit passed: the first agent not ready fails the run.
  void NotReady() {
    for (Agent& agent : agents_) {
      if (agent.ready && agent.pings == kPings) continue;
      Failed(Status::Environment(AgentFailure(
          agent, fmt::format("its agent was not ready within {:.1f} s",
                             static_cast<double>(start_limit_) / 1e9))));
      return;
    }
  }

  // After stop, an agent that has not exited within the grace is sent
  // SIGTERM, and SIGKILL a grace later; one killed before it said done
  // fails the run (unless an interrupt ended it: nothing more is owed).
  void EndLateAgents(int64_t now, int64_t* wake) {
    const int stage =
        static_cast<int>(std::min<int64_t>(2, (now - stop_at_) / kStopGraceNs));
    if (stage < 2)
      *wake = std::min(*wake, stop_at_ + (stage + 1) * kStopGraceNs);
    for (Agent& agent : agents_) {
      if (agent.reaped || agent.pid <= 0 || agent.late >= stage) continue;
      agent.late = stage;
      if (stage == 1) {
        kill(-agent.pid, SIGTERM);
      } else if (!agent.done && !agent.failed) {
        AgentError(&agent, LateWords());  // which kills it
      } else {
        kill(-agent.pid, SIGKILL);
      }
    }
  }

  static std::string LateWords() {
    return fmt::format(
        "its agent did not finish within {:.1f} s of being "
        "told to stop",
        2 * static_cast<double>(kStopGraceNs) / 1e9);
  }

  bool AllReady() const {
    for (const Agent& agent : agents_) {
      if (!agent.ready || agent.pings < kPings) return false;
    }
    return true;
  }

  void Go() {
    started_ = true;
    start_ = MonotonicNs();
    deadline_ = start_ + RunTimeoutMs(scenario_) * 1000000;
    for (Agent& agent : agents_) {
      HostRecord& record = result_->hosts[agent.index];
      record.offset_ns = agent.offset;
      record.uncertainty_ns = agent.best_rtt / 2;
      record.round_trips = agent.pings;
      Send(&agent, GoLine());
    }
  }

  // Cuts the partitioned host's link when its time comes, and restores it
  // after its length.
  Status Partition(int64_t now, int64_t* wake) {
    const PartitionSpec& spec = scenario_.faults.partition_host;
    if (!spec.set() || restored_) return Status::Ok();
    const int64_t cut_at = start_ + static_cast<int64_t>(spec.at_ms * 1e6);
    if (!cut_) {
      if (now < cut_at) {
        *wake = std::min(*wake, cut_at);
        return Status::Ok();
      }
      return Cut();
    }
    const int64_t restore_at =
        cut_ns_ + static_cast<int64_t>(spec.for_ms * 1e6);
    if (now < restore_at) {
      *wake = std::min(*wake, restore_at);
      return Status::Ok();
    }
    return Restore();
  }

  // `ip route get <server>` on the host names its link towards the server;
  // `ip link set dev <it> down` cuts it.
  Status Cut() {
    const PartitionSpec& spec = scenario_.faults.partition_host;
    PartitionRecord record;
    record.host = spec.host;
    const std::string server = ServerAddress(conninfo_);
    const auto fail = [&](const std::string& why) {
      return Status::Environment(
          fmt::format("faults.partition_host: host {}: {}", spec.host, why));
    };
    if (server.empty()) {
      return fail(
          "the store's server is not reached over TCP (store.listen, or a "
          "store.url with a host address), so there is no link to cut");
    }
    std::vector<std::string> route = LauncherWords(launcher_, spec.host);
    for (const char* w : {"ip", "-o", "route", "get"}) route.emplace_back(w);
    route.push_back(server);
    std::string out;
    if (Status s = RunCommand(route, &out); !s.ok()) return fail(s.message());
    std::vector<std::string> words;
    SplitCommandLine(out, &words).ok();
    for (size_t i = 0; i + 1 < words.size(); ++i) {
      if (words[i] == "dev") record.device = words[i + 1];
    }
    if (record.device.empty() || record.device == "lo") {
      return fail(fmt::format("no link towards {} (`ip route get` said: {})",
                              server, out));
    }
    std::vector<std::string> down = LauncherWords(launcher_, spec.host);
    for (const char* w : {"ip", "link", "set", "dev"}) down.emplace_back(w);
    down.push_back(record.device);
    down.emplace_back("down");
    // Whatever the command did, the link is restored at the end.
    cut_ = true;
    cut_ns_ = MonotonicNs();
    record.cut_ns = static_cast<uint64_t>(cut_ns_ - start_);
    result_->partition = record;
    if (Status s = RunCommand(down, &out); !s.ok()) return fail(s.message());
    return Status::Ok();
  }

  // Brings the cut link back up, if it was cut (on every way out too).
  Status Restore() {
    if (!cut_ || restored_) return Status::Ok();
    restored_ = true;
    PartitionRecord& record = *result_->partition;
    std::vector<std::string> up = LauncherWords(launcher_, record.host);
    for (const char* w : {"ip", "link", "set", "dev"}) up.emplace_back(w);
    up.push_back(record.device);
    up.emplace_back("up");
    std::string out;
    Status s = RunCommand(up, &out);
    record.restored_ns =
        started_ ? static_cast<uint64_t>(MonotonicNs() - start_) : 0;
    if (!s.ok()) {
      s = Status::Environment(fmt::format(
          "faults.partition_host: host {}: could not restore its link: {}",
          record.host, s.message()));
      if (failure_.ok()) failure_ = s;
    }
    return s;
  }

  // One round: waits up to `wait_ns` for output or a signal, and takes it.
  void Round(int64_t wait_ns) {
    std::vector<pollfd> fds;
    fds.push_back({signal_fd_.get(), POLLIN, 0});
    for (const Agent& agent : agents_) {
      for (const Fd* fd : {&agent.out, &agent.err}) {
        if (fd->get() >= 0) fds.push_back({fd->get(), POLLIN, 0});
      }
    }
    const int ms = static_cast<int>(
        std::clamp<int64_t>((wait_ns + 999999) / 1000000, 0, 100));
    poll(fds.data(), fds.size(), ms);
    TakeSignals();
    // Each agent's output for a few ms at most, so that the loop's timers
    // (the time limit, a partition's cut) come round on time however much
    // the agents say; what is left is read in the next round.
    const int64_t until = MonotonicNs() + kDrainSliceNs;
    for (Agent& agent : agents_) Drain(&agent, until);
    ReapAgents();
    for (Agent& agent : agents_) {
      if (agent.reaped && !agent.failed && !agent.exit_seen) Gone(&agent);
    }
  }

  // An agent that is gone must have said done first (all it wrote is in
  // its pipe now, which a process it left may still hold open), and then
  // exited 0.
  void Gone(Agent* agent) {
    agent->exit_seen = true;
    for (int rounds = 0; rounds < 64 && agent->out.get() >= 0 && !agent->done;
         ++rounds) {
      Drain(agent);
    }
    if (agent->failed) return;
    if (agent->late != 0) {
      if (!agent->done) AgentError(agent, LateWords());
    } else if (!agent->done) {
      AgentError(agent, fmt::format("its agent {} before the run ended",
                                    ExitWords(agent->status)));
    } else if (!WIFEXITED(agent->status) || WEXITSTATUS(agent->status) != 0) {
      AgentError(agent, fmt::format("its agent {} after its last line",
                                    ExitWords(agent->status)));
    }
  }

  void TakeSignals() {
    if (const int sig = TakeInterrupt(signal_fd_.get()); sig != 0) {
      result_->interrupted = true;
      result_->interrupt_signal = sig;
      Stop(RunEnd::kInterrupt);
    }
  }

  // Reaps the agents that have ended, each by its pid: any child may be
  // the throwaway server, which is not ours to reap.
  void ReapAgents() {
    for (Agent& agent : agents_) {
      if (agent.reaped || agent.pid <= 0) continue;
      int status = 0;
      pid_t got;
      while ((got = waitpid(agent.pid, &status, WNOHANG)) < 0 &&
             errno == EINTR) {
      }
      if (got == agent.pid || (got < 0 && errno == ECHILD)) {
        agent.reaped = true;
        agent.status = status;
      }
    }
  }

  // Reads what `agent` wrote, and takes each whole line.
  void Drain(Agent* agent, int64_t until = INT64_MAX) {
    char buf[65536];
    for (int reads = 0; agent->out.get() >= 0 && reads < 16 &&
                        (reads == 0 || MonotonicNs() < until);
         ++reads) {
      const ssize_t got = read(agent->out.get(), buf, sizeof buf);
      if (got > 0) {
        agent->out_lines.Append({buf, static_cast<size_t>(got)});
        TakeLines(agent);
        continue;
      }
      if (got < 0 && (errno == EINTR)) continue;
      if (got < 0 && errno == EAGAIN) break;
      agent->out.reset();
      if (!agent->done && failure_.ok() &&
          !agent->out_lines.partial().empty()) {
        AgentError(agent, fmt::format("its last line was cut short: {}",
                                      VisibleCut(agent->out_lines.partial())));
      }
    }
    for (int reads = 0; agent->err.get() >= 0 && reads < 16; ++reads) {
      const ssize_t got = read(agent->err.get(), buf, sizeof buf);
      if (got > 0) {
        agent->err_lines.Feed(
            {buf, static_cast<size_t>(got)},
            [&](const std::string& line, bool) { KeepStderr(agent, line); });
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && errno == EAGAIN) break;
      agent->err_lines.Finish(
          [&](const std::string& line, bool) { KeepStderr(agent, line); });
      agent->err.reset();
    }
  }

  void KeepStderr(Agent* agent, const std::string& line) {
    std::vector<std::string>& tail = agent->stderr_tail;
    if (tail.size() == kStderrKept) tail.erase(tail.begin());
    tail.push_back(VisibleCut(line));
  }

  void AgentError(Agent* agent, std::string_view what) {
    agent->failed = true;
    Failed(Status::Environment(AgentFailure(*agent, what)));
    if (!agent->reaped) kill(-agent->pid, SIGKILL);
  }

  void TakeLines(Agent* agent) {
    std::string line;
    bool too_long = false;
    while (!agent->failed && agent->out_lines.Next(&line, &too_long)) {
      AgentMessage m;
      Status s = too_long ? Status::Invalid("a line too long")
                          : ParseAgentLine(line, &m);
      if (s.ok()) s = Take(agent, m);
      if (!s.ok()) {
        AgentError(agent,
                   fmt::format("its agent said something that is not the "
                               "protocol ({}): {}",
                               s.message(), VisibleCut(line)));
      }
    }
  }

  // One message of `agent`'s; Invalid when it makes no sense where it came.
  Status Take(Agent* agent, const AgentMessage& m) {
    switch (m.kind) {
      case AgentMessage::Kind::kPong: {
        if (!agent->ping_out || m.ping != agent->pings) {
          return Status::Invalid("a pong for no ping");
        }
        const int64_t now = MonotonicNs();
        const int64_t rtt = now - agent->ping_sent;
        if (rtt < agent->best_rtt) {
          agent->best_rtt = rtt;
          agent->offset = m.time - (agent->ping_sent + now) / 2;
        }
        agent->ping_out = false;
        ++agent->pings;
        if (agent->pings < kPings) Ping(agent);
        return Status::Ok();
      }
      case AgentMessage::Kind::kReady:
        if (agent->ready || m.pids.size() != agent->buyers.size()) {
          return Status::Invalid("ready twice, or not with a pid per buyer");
        }
        agent->ready = true;
        for (size_t i = 0; i < m.pids.size(); ++i) {
          result_->processes[agent->buyers[i]].pid =
              static_cast<pid_t>(m.pids[i]);
        }
        Ping(agent);
        return Status::Ok();
      case AgentMessage::Kind::kEvent:
        return TakeEvent(*agent, m);
      case AgentMessage::Kind::kEnd:
        return TakeEnd(*agent, m);
      case AgentMessage::Kind::kErrors:
        if (!m.failure.empty() && failure_.ok()) {
          Failed(Status::Environment(
              fmt::format("host {}: {}", agent->host, VisibleCut(m.failure))));
        }
        if (result_->first_store_error.empty()) {
          result_->first_store_error = VisibleCut(m.store_error);
        }
        if (result_->first_guard_error.empty()) {
          result_->first_guard_error = VisibleCut(m.guard_error);
        }
        return Status::Ok();
      case AgentMessage::Kind::kDone:
        // Before go only when told to stop; after it, once every buyer of
        // the host has ended.
        if (!started_ ? !stopping_
                      : events_.Ended(agent->buyers) < agent->buyers.size()) {
          return Status::Invalid("done before its buyers ended");
        }
        agent->done = true;
        return Status::Ok();
      case AgentMessage::Kind::kError:
        AgentError(agent, VisibleCut(m.error));
        return Status::Ok();
    }
    return Status::Ok();
  }

  // An event of one of `agent`'s buyers, on the agent's clock.
  Status TakeEvent(const Agent& agent, const AgentMessage& m) {
    if (!started_) return Status::Invalid("an event before go");
    int64_t t = 0;
    if (!OnRunClock(m.time, agent.offset, start_, &t)) {
      return Status::Invalid("an event at a time outside the run");
    }
    return events_.TakeEvent(m.event, t, MonotonicNs() - start_, agent.buyers);
  }

  // The end of one of `agent`'s buyers' processes, after all its events.
  Status TakeEnd(const Agent& agent, const AgentMessage& m) {
    if (!started_) return Status::Invalid("an end before go");
    const size_t abandoned = result_->abandoned.size();
    if (Status s = events_.TakeEnd(m, MonotonicNs() - start_, agent.buyers);
        !s.ok()) {
      return s;
    }
    // A holder that died with a guard nothing releases: the run ends.
    if (result_->abandoned.size() > abandoned) Stop(RunEnd::kAbandoned);
    return Status::Ok();
  }

  void Ping(Agent* agent) {
    agent->ping_out = true;
    agent->ping_sent = MonotonicNs();
    Send(agent, PingLine(agent->pings));
  }

  // Kills every agent and everything the launchers left, and reaps them.
  void KillEverything() {
    for (Agent& agent : agents_) {
      if (!agent.reaped && agent.pid > 0) kill(-agent.pid, SIGKILL);
      agent.in.reset();
    }
    const int64_t give_up = MonotonicNs() + kSweepNs;
    while (MonotonicNs() < give_up) {
      ReapAgents();
      const std::vector<pid_t> children = Children(ThrowawayServerPid());
      if (children.empty()) break;
      for (pid_t child : children) {
        kill(child, SIGKILL);
        waitpid(child, nullptr, WNOHANG);
      }
      usleep(1000);
    }
    for (Agent& agent : agents_) {
      agent.out.reset();
      agent.err.reset();
    }
  }

  void Finish() {
    const int64_t end = MonotonicNs();
    result_->seconds = started_ ? static_cast<double>(end - start_) / 1e9 : 0;
  }

  const Scenario& scenario_;
  const RunNames& store_names_;
  const std::string& conninfo_;
  const RunSignals& signals_;
  const ProgressFn& progress_;
  RunResult* result_;
  std::string exe_;
  std::vector<std::string> launcher_;
  HostEvents events_;
  std::vector<Agent> agents_;
  Fd signal_fd_;
  Status failure_;
  int64_t first_launch_ = 0;
  int64_t start_limit_ = kLaunchLimitNs;
  bool started_ = false;
  int64_t start_ = 0;
  int64_t deadline_ = INT64_MAX;
  bool stopping_ = false;
  int64_t stop_at_ = 0;
  bool cut_ = false;
  bool restored_ = false;
  int64_t cut_ns_ = 0;
};

}  // namespace

std::vector<std::vector<uint32_t>> BuyersOfHosts(const Scenario& scenario) {
  const size_t hosts = std::max<size_t>(1, scenario.buyers.hosts.size());
  std::vector<std::vector<uint32_t>> out(hosts);
  for (int64_t b = 0; b < scenario.buyers.count; ++b) {
    out[static_cast<size_t>(b) % hosts].push_back(static_cast<uint32_t>(b));
  }
  return out;
}

Status RunOnHosts(const Scenario& scenario, const RunNames& store_names,
                  const std::string& conninfo, const RunSignals& signals,
                  const ProgressFn& progress, RunResult* result) {
  return HostRunner(scenario, store_names, conninfo, signals, progress, result)
      .Run();
}

}  // namespace ticketsim
