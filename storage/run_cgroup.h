// RunCgroup: a cgroup (version 2) of a run's own, which holds every process
// a user's program starts, so that all of them can be killed at once
// (cgroup.kill), whatever they did to leave their process group or session,
// and found again by a later ticketsim if this one is killed outright.
//
// It is made inside this process's own cgroup and named by the run's tag,
// which needs write access there: root, or a subtree delegated to the user
// (systemd's `Delegate=yes`). Where the cgroup v2 hierarchy is mounted
// differs between systems (/sys/fs/cgroup, /sys/fs/cgroup/unified): it is
// read from /proc/self/mountinfo, and this process's place in it from
// /proc/self/cgroup.
//
// A watch process started with the cgroup kills it should this process die
// without removing it (a SIGKILL): it waits, in a session of its own and
// holding nothing else of the run, on a socket whose other end only this
// process holds.
// What neither ends (the watch killed too) the next cleanup does
// (CleanLeftovers): it kills the cgroup of every run that has ended, judged
// by the run's liveness lock, never by a pid.
#ifndef TICKETSIM_STORAGE_RUN_CGROUP_H_
#define TICKETSIM_STORAGE_RUN_CGROUP_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "storage/run_names.h"

namespace ticketsim {

class RunCgroup {
 public:
  RunCgroup() = default;
  RunCgroup(const RunCgroup&) = delete;
  RunCgroup& operator=(const RunCgroup&) = delete;
  ~RunCgroup() { Remove(); }

  // Makes the cgroup of run `names`, checks that a child of this process
  // can join it, and starts its watch. Not ok when no cgroup can be had here
  // (no cgroup v2, no cgroup.kill, no write access): the message says why.
  // REQUIRES: this process is not a child subreaper (the watch must not be
  // its child).
  Status Create(const RunNames& names);
  bool made() const { return dir_ >= 0; }
  // The cgroup's path, for messages ("" if none was made).
  const std::string& path() const { return path_; }
  // cgroup.procs, open for writing: a forked child joins the cgroup by
  // writing "0" to it (one write(2), safe between fork and exec).
  int procs_fd() const { return procs_; }
  // SIGKILLs every process in it at once; they may take a moment to go.
  void Kill();
  // Kills whatever is left, waits (a few seconds at most) for the last to
  // go, removes the cgroup and lets the watch go. Does nothing if none
  // was made.
  void Remove();

 private:
  int parent_ = -1;  // the directory the cgroup is made in
  int dir_ = -1;
  int procs_ = -1;
  int watch_ = -1;  // the watch's socket: a byte says "removed", EOF "died"
  std::string name_;
  std::string path_;
};

// Kills and removes every cgroup in the cgroup v2 hierarchy that this uid
// owns and whose name `ended` says belongs to a run that has ended (it is
// given the directory's name, a run's tag or anything else). Appends each
// removed path to *removed.
void CleanRunCgroups(const std::function<bool(std::string_view)>& ended,
                     std::vector<std::string>* removed);

}  // namespace ticketsim

#endif  // TICKETSIM_STORAGE_RUN_CGROUP_H_
