// DescendantWatch: every process a program's lanes start, followed through
// the kernel's process events (the proc connector: fork, exec, exit), with
// how each one ended. The subreaper sees only the orphans it inherits; a
// child its own parent waits for (a multiprocessing child its parent joins)
// ends unseen by it, and only these events tell whether it crashed.
//
// The kernel gives these events to root alone (CAP_NET_ADMIN, in the first
// user and PID namespaces): elsewhere Open fails and the run sees only what
// it reaps itself. The events are the whole system's: a process is followed
// from its lane's process down, fork by fork, and an event older than the
// process it would name is ignored, so that a pid reused meanwhile is never
// mistaken for it.
#ifndef TICKETSIM_BASE_DESCENDANT_WATCH_H_
#define TICKETSIM_BASE_DESCENDANT_WATCH_H_

#include <sys/types.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "base/fd.h"

namespace ticketsim {

// The program file a process runs, by device and inode (0, 0: unknown).
struct ExeId {
  uint64_t dev = 0;
  uint64_t ino = 0;
  bool known() const { return ino != 0; }
  bool operator==(const ExeId&) const = default;
  auto operator<=>(const ExeId&) const = default;
};

// A descendant of a lane's process that ended.
struct DescendantEnd {
  pid_t pid = 0;
  uint32_t lane = 0;
  int status = 0;  // its wait status
  // What it ran last, as the watch keeps it (-1: not followed): ask
  // DescendantWatch::RunsLaneProgram.
  int32_t span = -1;
};
class DescendantWatch {
 public:
  // Subscribes to the events, and checks that they come. False where the
  // system does not give them to this process.
  bool Open();
  bool open() const { return fd_.get() >= 0; }
  // To poll for events.
  int fd() const { return fd_.get(); }
  // `pid`, a child this process forked at `since_ns` (MonotonicNs), is lane
  // `lane`'s process.
  void AddLane(pid_t pid, uint32_t lane, int64_t since_ns);
  // Reads every event queued now; appends the descendants that ended (not
  // the lanes' own processes, which their parent reaps).
  void Read(std::vector<DescendantEnd>* ended);
  // Whether the kernel dropped events (its queue overflowed): some
  // processes may have gone unseen.
  bool lost() const { return lost_; }

  // Whether `end` ran the program its lane's process runs (the file that
  // process executed last): one of the program's own processes, a fork of
  // it as multiprocessing makes, and not another command it ran (a `grep`,
  // or the shell of a wrapper such as pyenv's that then executes it).
  // Known once every event up to `end`'s exit and the lane's last exec
  // has been read.
  bool RunsLaneProgram(const DescendantEnd& end) const;
  // The most processes running lane `lane`'s program that lived at once,
  // its own process not counted.
  int64_t MostAtOnce(uint32_t lane) const;

 private:
  // What a process ran from one exec (or its fork) to the next exec (or its
  // exit). An exec event does not say which file was executed: the watch
  // reads /proc/PID/exe when it handles the event, which may be after the
  // process executed something else. So the reading counts only if no
  // later exec of the process came before it was taken; a fork's child
  // runs what its parent's span ran.
  struct Span {
    uint32_t lane = 0;
    bool lane_process = false;
    ExeId read;                // read from /proc at its exec
    int64_t read_ns = 0;       // when that reading was over (0: none)
    int32_t forked_from = -1;  // the parent's span, for a fork's first span
  };
  struct Followed {
    int32_t span = 0;      // its span now
    int64_t since_ns = 0;  // when it was forked
  };
  // A process of a lane began (+1) or ended (-1) running a span's program.
  struct Change {
    int32_t span = 0;
    int32_t by = 0;
  };
  // The program file `pid` runs now (unknown if it cannot be read).
  static ExeId ExeOf(pid_t pid);
  bool Subscribe(bool filtered);
  bool SeesItsOwnChild();
  void Handle(const void* event, std::vector<DescendantEnd>* ended);
  int32_t NewSpan(const Span& span);
  // What the process ran in `span`, as far as it is known.
  ExeId ExeIn(int32_t span) const;

  Fd fd_;
  std::unordered_map<pid_t, Followed> followed_;
  std::vector<Span> spans_;
  std::vector<Change> changes_;  // in the order of the events
  std::unordered_map<uint32_t, int32_t> lane_span_;  // its process's now
  bool lost_ = false;
};

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_DESCENDANT_WATCH_H_
