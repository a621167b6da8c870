#include "base/descendant_watch.h"

#include <fcntl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/clock.h"
#include "base/spawn.h"

namespace ticketsim {
namespace {

// The events asked for (proc_event's `what`), as bits.
constexpr uint32_t kFork = 0x00000001;
constexpr uint32_t kExec = 0x00000002;
constexpr uint32_t kExit = 0x80000000;
constexpr uint32_t kListen = 1;  // PROC_CN_MCAST_LISTEN
// A subscriber's choice of events (the kernel's proc_input, Linux 6.6).
struct ProcInput {
  uint32_t op = kListen;
  uint32_t events = kFork | kExec | kExit;
};
// Reads of the socket in one Read at most: the events are the whole
// system's, and a busy system must not keep the run from its deadlines.
constexpr int kReadsPerCall = 256;
// The queue the kernel fills: room for a burst of the whole system's
// forks and exits while the run is busy elsewhere.
constexpr int kQueueBytes = 16 << 20;

// Calls `on_event` with each process event queued on `fd` now, at most
// kReadsPerCall reads of it. Sets *lost on an overflow.
template <typename Fn>
void Drain(int fd, bool* lost, Fn&& on_event) {
  alignas(nlmsghdr) char buf[65536];
  for (int reads = 0; reads < kReadsPerCall; ++reads) {
    const ssize_t got = recv(fd, buf, sizeof buf, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno == ENOBUFS) {
      *lost = true;
      continue;
    }
    if (got <= 0) return;
    int left = static_cast<int>(got);
    for (auto* nl = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nl, left);
         nl = NLMSG_NEXT(nl, left)) {
      if (nl->nlmsg_type == NLMSG_ERROR || nl->nlmsg_type == NLMSG_NOOP) {
        continue;
      }
      const auto* cn = static_cast<const cn_msg*>(NLMSG_DATA(nl));
      if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC) continue;
      // The kernel's proc_event may be larger or smaller than this
      // header's: what it did not send stays zero.
      proc_event event;
      memset(&event, 0, sizeof event);
      memcpy(&event, cn->data, std::min<size_t>(cn->len, sizeof event));
      on_event(event);
    }
  }
}

}  // namespace

ExeId DescendantWatch::ExeOf(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  struct stat st;
  if (stat(path, &st) != 0) return {};
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

bool DescendantWatch::Open() {
  fd_.reset(socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                   NETLINK_CONNECTOR));
  if (fd_.get() < 0) return false;
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = CN_IDX_PROC;
  if (bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    fd_.reset();
    return false;
  }
  int size = kQueueBytes;
  if (setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size)) {
    setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  // Only fork, exec and exit (Linux 6.6); an older kernel refuses the
  // choice, and then every event comes.
  if ((Subscribe(/*filtered=*/true) && SeesItsOwnChild()) ||
      (Subscribe(/*filtered=*/false) && SeesItsOwnChild())) {
    return true;
  }
  fd_.reset();
  return false;
}

bool DescendantWatch::Subscribe(bool filtered) {
  const ProcInput input;
  const size_t size = filtered ? sizeof input : sizeof input.op;
  alignas(nlmsghdr) char buf[NLMSG_SPACE(sizeof(cn_msg) + sizeof input)] = {};
  auto* nl = reinterpret_cast<nlmsghdr*>(buf);
  nl->nlmsg_len = NLMSG_LENGTH(sizeof(cn_msg) + size);
  nl->nlmsg_type = NLMSG_DONE;
  auto* cn = static_cast<cn_msg*>(NLMSG_DATA(nl));
  cn->id.idx = CN_IDX_PROC;
  cn->id.val = CN_VAL_PROC;
  cn->len = static_cast<uint16_t>(size);
  memcpy(cn->data, &input, size);
  return send(fd_.get(), buf, nl->nlmsg_len, 0) ==
         static_cast<ssize_t>(nl->nlmsg_len);
}

// A child that exits at once: its exit event is queued before its parent
// can reap it, so once reaped its event is there, or none come.
bool DescendantWatch::SeesItsOwnChild() {
  const pid_t pid = ForkFlushed();
  if (pid < 0) return false;
  if (pid == 0) _exit(0);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  bool seen = false;
  Drain(fd_.get(), &lost_, [&](const proc_event& event) {
    if (event.what == kExit && event.event_data.exit.process_tgid == pid) {
      seen = true;
    }
  });
  return seen;
}

void DescendantWatch::AddLane(pid_t pid, uint32_t lane, int64_t since_ns) {
  Span span;
  span.lane = lane;
  span.lane_process = true;
  const int32_t id = NewSpan(span);
  followed_[pid] = {id, since_ns};
  lane_span_[lane] = id;
}

int32_t DescendantWatch::NewSpan(const Span& span) {
  spans_.push_back(span);
  return static_cast<int32_t>(spans_.size() - 1);
}

ExeId DescendantWatch::ExeIn(int32_t span) const {
  // A fork's first span runs what its parent's ran, which may be a fork's
  // too: down the chain to the first exec.
  while (span >= 0 && spans_[span].read_ns == 0) {
    span = spans_[span].forked_from;
  }
  return span < 0 ? ExeId{} : spans_[span].read;
}

bool DescendantWatch::RunsLaneProgram(const DescendantEnd& end) const {
  const auto lane = lane_span_.find(end.lane);
  if (end.span < 0 || lane == lane_span_.end()) return false;
  const ExeId exe = ExeIn(end.span);
  return exe.known() && exe == ExeIn(lane->second);
}

// Replays the lane's changes in the order of the events, now that what
// each span ran is known.
int64_t DescendantWatch::MostAtOnce(uint32_t lane) const {
  const auto lane_span = lane_span_.find(lane);
  if (lane_span == lane_span_.end()) return 0;
  const ExeId program = ExeIn(lane_span->second);
  if (!program.known()) return 0;
  int64_t alive = 0;
  int64_t most = 0;
  for (const Change& change : changes_) {
    const Span& span = spans_[change.span];
    if (span.lane != lane || span.lane_process) continue;
    if (ExeIn(change.span) != program) continue;
    alive += change.by;
    most = std::max(most, alive);
  }
  return most;
}

void DescendantWatch::Read(std::vector<DescendantEnd>* ended) {
  if (!open()) return;
  Drain(fd_.get(), &lost_,
        [&](const proc_event& event) { Handle(&event, ended); });
}

void DescendantWatch::Handle(const void* raw,
                             std::vector<DescendantEnd>* ended) {
  const proc_event& event = *static_cast<const proc_event*>(raw);
  const auto t = static_cast<int64_t>(event.timestamp_ns);
  // The followed process an event names, unless the event is older than it
  // (about an earlier process with the same pid).
  const auto find = [&](pid_t pid) -> Followed* {
    auto it = followed_.find(pid);
    return it == followed_.end() || t < it->second.since_ns ? nullptr
                                                            : &it->second;
  };
  if (event.what == kFork) {
    const auto& fork = event.event_data.fork;
    if (fork.child_pid != fork.child_tgid) return;  // a thread
    const Followed* parent = find(fork.parent_tgid);
    if (parent == nullptr) return;
    Span span;
    span.lane = spans_[parent->span].lane;
    span.forked_from = parent->span;
    const int32_t id = NewSpan(span);
    changes_.push_back({id, +1});
    followed_[fork.child_tgid] = {id, t};
  } else if (event.what == kExec) {
    const pid_t pid = event.event_data.exec.process_tgid;
    Followed* f = find(pid);
    if (f == nullptr) return;
    // A reading of the span this exec ends, taken after this exec, read
    // what this exec (or a later one) ran instead.
    Span& before = spans_[f->span];
    if (before.read_ns != 0 && before.read_ns >= t) before.read = {};
    changes_.push_back({f->span, -1});
    Span span;
    span.lane = before.lane;
    span.lane_process = before.lane_process;
    span.read = ExeOf(pid);
    span.read_ns = MonotonicNs();
    f->span = NewSpan(span);
    changes_.push_back({f->span, +1});
    if (span.lane_process) lane_span_[span.lane] = f->span;
  } else if (event.what == kExit) {
    const auto& exit = event.event_data.exit;
    if (exit.process_pid != exit.process_tgid) return;  // a thread
    const Followed* f = find(exit.process_tgid);
    if (f == nullptr) return;
    const Span& span = spans_[f->span];
    changes_.push_back({f->span, -1});
    if (!span.lane_process) {
      ended->push_back({exit.process_tgid, span.lane,
                        static_cast<int>(exit.exit_code), f->span});
    }
    followed_.erase(exit.process_tgid);
  }
}

}  // namespace ticketsim
