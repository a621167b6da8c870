// The children of this process, and what a forked child says when it could
// not start (on stderr, or to its parent through a StartReport): shared by
// everything that starts other programs (a user's program, the hosts'
// agents).
#ifndef TICKETSIM_SIM_CHILDREN_H_
#define TICKETSIM_SIM_CHILDREN_H_

#include <sys/types.h>

#include <vector>

#include "sim/fd.h"
#include "storage/status.h"

namespace ticketsim {

// Every child of this process (as a subreaper: every orphan of what it
// started too), from /proc; never the throwaway PostgreSQL server, which
// serves the runs that follow.
std::vector<pid_t> Children();

// Reaps one child of this process that has ended, as waitpid(-1, status,
// WNOHANG) does, but never the throwaway PostgreSQL server: its own watch
// reaps it, to say how it ended. Returns the pid reaped; 0 while every child
// still runs; -1 with ECHILD once no child but the server is left.
pid_t ReapChild(int* status);

// In a forked child whose exec of `program` failed with `err`: says so on
// stderr ("ticketsim: cannot execute PROGRAM: REASON") with
// async-signal-safe calls only, and exits with 127, as a shell does.
[[noreturn]] void ExitExecFailed(const char* program, int err);

// What a forked child was doing when it could not start.
enum class StartStep {
  kDescriptors,  // setting up its descriptors
  kDirectory,    // changing to its directory
  kCgroup,       // joining the run's cgroup
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
  // In the parent, after the fork: closes the child's end and waits until
  // the child has executed `program` or failed to. Environment, naming the
  // step and the error ("setting up its descriptors: Too many open files
  // (EMFILE; ulimit -n is 24)"), when it failed.
  Status Wait(const char* program);

 private:
  Fd read_, write_;
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CHILDREN_H_
