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
#include <map>
#include <unordered_map>
#include <utility>
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
  ExeId exe;       // the program file it ran last (inherited through fork)
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
  bool RunsLaneProgram(const DescendantEnd& end) const;
  // The most processes running lane `lane`'s program that lived at once,
  // its own process not counted.
  int64_t MostAtOnce(uint32_t lane) const;

 private:
  struct Followed {
    uint32_t lane = 0;
    bool lane_process = false;
    ExeId exe;
    int64_t since_ns = 0;  // when it was forked
  };
  // How many processes of a lane run one program file: now, and at most.
  struct Crowd {
    int64_t alive = 0;
    int64_t most = 0;
  };
  // The program file `pid` runs now (unknown if it cannot be read).
  static ExeId ExeOf(pid_t pid);
  bool Subscribe(bool filtered);
  bool SeesItsOwnChild();
  void Handle(const void* event, std::vector<DescendantEnd>* ended);
  void Count(const Followed& f, int64_t change);

  Fd fd_;
  std::unordered_map<pid_t, Followed> followed_;
  std::unordered_map<uint32_t, ExeId> lane_exe_;
  std::map<std::pair<uint32_t, ExeId>, Crowd> crowds_;
  bool lost_ = false;
};

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_DESCENDANT_WATCH_H_
