// The children of this process: the one way to start one (Spawn), what a
// forked child says when it could not start (through a StartReport), how
// one ended in words, and finding them all. Shared by everything that
// starts other programs (a user's program, the hosts' agents and their
// launchers).
#ifndef TICKETSIM_BASE_SPAWN_H_
#define TICKETSIM_BASE_SPAWN_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/status.h"

namespace ticketsim {

// fork(), once this process's stdio buffers are written out: the child then
// starts with none of the parent's pending output, which it would otherwise
// write a second time should it end through a path that flushes stdio
// (exit(), or _exit under ThreadSanitizer, whose runtime flushes there).
// For the parent's forks; a forked child forking again has nothing pending.
pid_t ForkFlushed();

// Every child of this process (as a subreaper: every orphan of what it
// started too), from /proc, but `spared` (a long-lived child such as the
// throwaway PostgreSQL server, which serves the runs that follow).
std::vector<pid_t> Children(pid_t spared);

// What a forked child was doing when it could not start.
enum class StartStep {
  kDescriptors,  // setting up its descriptors
  kDirectory,    // changing to its directory
  kCgroup,       // joining the run's cgroup
  kUser,         // switching to the user it runs as
  kKeeper,       // its keeper forking it
  kExec,         // executing the program
};

// How a forked child tells its parent that it could not start: a pipe that
// its exec closes, so that the parent reads end-of-file once the exec has
// succeeded, and otherwise the step that failed and its errno. A copy that
// never started is the system failing the run, not the program failing.
class StartReport {
 public:
  // In the parent, before the fork: makes the pipe, its child's end above
  // descriptor 4 (the child moves its own descriptors into 0 to 4).
  Status Open();
  // In the child: sends `step` and `err`, and exits with 127, with
  // async-signal-safe calls only.
  [[noreturn]] void Fail(StartStep step, int err) const;
  // In a keeper (SpawnPlan::keeper), once it has forked the child that
  // executes: closes the keeper's copy of the child's end, so that the
  // parent's Wait ends with the child's exec.
  void Handed() { write_.reset(); }
  // The child's end, which a keeper keeps open until Handed.
  int child_end() const { return write_.get(); }
  // In the parent, after the fork: closes the child's end and waits until
  // the child has executed `program` or failed to. Environment, naming the
  // step and the error ("setting up its descriptors: Too many open files
  // (EMFILE; ulimit -n is 24)"), when it failed.
  Status Wait(const char* program);

 private:
  Fd read_, write_;
};

// What one spawned process gets.
struct SpawnPlan {
  // argv[0] is looked up on PATH unless it holds a '/'.
  std::vector<std::string> argv;
  // Its environment; none: this process's.
  std::optional<std::vector<std::string>> env;
  int dir = -1;  // a directory's descriptor to start in; -1: this one's
  // The descriptors it is to find at 0..fd_count-1 (-1: /dev/null); every
  // other descriptor of this process is closed on exec.
  int fds[5] = {-1, -1, -1, -1, -1};
  int fd_count = 5;
  int join_cgroup = -1;  // a cgroup.procs to write "0" to, or -1
  int death_signal = 9;  // SIGKILL: sent to it should this process die
  // The user it runs as (its supplementary groups cleared), for root
  // starting a program that refuses root (PostgreSQL); none: this one's.
  // The death signal is asked for again after the switch, which clears it.
  struct User {
    uid_t uid;
    gid_t gid;
  };
  std::optional<User> user;
  // Whether it runs under a keeper: a child of this process that leads the
  // process group, forks the program into it and ends as the program did.
  // Should this process die, the keeper kills the whole group: the program
  // and everything it started (initdb's bootstrap postgres), which no
  // parent-death signal of theirs would reach. *pid is then the keeper's.
  bool keeper = false;
};

// The one way ticketsim starts another program: forks and executes `plan`
// in a process group of its own, with every signal as a new process has
// it, and sets *pid. Environment, saying why, when it could not be started
// (the fork, or the child's setting up or exec, failed: a process that
// never ran is not the program's failure); the child is then reaped.
Status Spawn(const SpawnPlan& plan, pid_t* pid);

// How a child ended, from its wait status: "exited with status 3", "was
// killed by SIGSEGV (core dumped)".
std::string ExitWords(int status);

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_SPAWN_H_
