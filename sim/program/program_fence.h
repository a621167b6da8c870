// ProgramFence: what keeps a program's processes from outliving ticketsim,
// the strongest this process can have, in this order (docs/programs.md):
//
//   cgroup          a cgroup of the run's own (storage/run_cgroup.h): killed
//                   whole at the run's end (cgroup.kill); should ticketsim
//                   be killed outright, its watch kills it, and failing that
//                   the next cleanup does.
//   pid namespace   without a cgroup, but allowed to make one (CAP_SYS_ADMIN):
//                   the program's processes live in a PID namespace whose
//                   init is ticketsim's child and dies with it
//                   (PR_SET_PDEATHSIG); when an init dies the kernel kills
//                   every process of its namespace.
//   none            only the copies themselves die with ticketsim (their
//                   parent-death signal); at the run's end the subreaper
//                   still kills every process left, but processes they
//                   started may outlive a ticketsim killed outright.
//
// Inside a namespace the orphans of the program go to its init, not to
// ticketsim: the init reaps them and reports each (its pid there and its
// wait status) on a pipe, and says when the namespace holds nothing but
// itself, so that ticketsim still sees every process end.
#ifndef TICKETSIM_SIM_PROGRAM_PROGRAM_FENCE_H_
#define TICKETSIM_SIM_PROGRAM_PROGRAM_FENCE_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/fd.h"
#include "storage/run_cgroup.h"
#include "storage/run_names.h"

namespace ticketsim {

enum class FenceKind { kNone, kCgroup, kPidNamespace };

// "cgroup", "pid namespace", "none": the words the reports use.
const char* FenceName(FenceKind kind);

class ProgramFence {
 public:
  ProgramFence() = default;
  ProgramFence(const ProgramFence&) = delete;
  ProgramFence& operator=(const ProgramFence&) = delete;
  ~ProgramFence() { Lower(); }

  // Raises the strongest fence there is for run `names`, before its first
  // process is spawned. Never fails: `why_not()` says what a weaker one
  // than a cgroup was chosen for. REQUIRES: this process is not a child
  // subreaper yet.
  void Raise(const RunNames& names);
  FenceKind kind() const { return kind_; }
  const std::string& why_not() const { return why_not_; }

  // For a spawned child: the descriptor to write "0" to before its exec
  // (cgroup.procs), or -1.
  int join_fd() const { return cgroup_.made() ? cgroup_.procs_fd() : -1; }
  // The namespace's init, a child of this process that is none of the
  // program's (0 without one).
  pid_t init() const { return init_; }
  // The init's reports, to poll (-1 without one).
  int reports_fd() const { return reports_.get(); }

  // An orphan the init reaped: its pid in the namespace, its wait status.
  struct Reaped {
    pid_t pid = 0;
    int status = 0;
  };
  // Reads the init's reports queued now: appends every orphan it reaped.
  // Returns true once it has found the namespace empty since the last
  // call of AskEmpty.
  bool ReadReports(std::vector<Reaped>* reaped);
  // Asks the init to say when its namespace holds nothing but itself (once
  // every copy, a child of this process, has been reaped, nothing can
  // start again there).
  void AskEmpty();

  // Whether `pid`, just reaped by this process, was the init (which is
  // then forgotten): it is none of the program's processes.
  bool TakeIfInit(pid_t pid);

  // SIGKILLs every process behind the fence at once (with none: nothing).
  void KillAll();
  // After every process of the program has been reaped: removes the
  // cgroup, or ends the init and makes this process's next children its
  // own namespace's again.
  void Lower();

 private:
  // Without a cgroup: the program's next children in a PID namespace of
  // their own, whose init reaps them; why_not_ grows if there is none.
  void RaisePidNamespace();

  FenceKind kind_ = FenceKind::kNone;
  std::string why_not_;
  RunCgroup cgroup_;
  Fd own_namespace_;  // /proc/self/ns/pid_for_children before the fence
  pid_t init_ = 0;
  Fd reports_;  // from the init
  Fd asks_;     // to the init
  bool asked_ = false;
  bool empty_ = false;
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_PROGRAM_PROGRAM_FENCE_H_
