// The children of this process, and what a forked child says when its exec
// fails: shared by everything that starts other programs (a user's program,
// the hosts' agents).
#ifndef TICKETSIM_SIM_CHILDREN_H_
#define TICKETSIM_SIM_CHILDREN_H_

#include <sys/types.h>

#include <vector>

namespace ticketsim {

// Every child of this process (as a subreaper: every orphan of what it
// started too), from /proc; never the throwaway PostgreSQL server, which
// serves the runs that follow.
std::vector<pid_t> Children();

// In a forked child whose exec of `program` failed with `err`: says so on
// stderr ("ticketsim: cannot execute PROGRAM: REASON") with
// async-signal-safe calls only, and exits with 127, as a shell does.
[[noreturn]] void ExitExecFailed(const char* program, int err);

// The same for a child that failed `doing` something before its exec
// ("ticketsim: cannot DOING: REASON").
[[noreturn]] void ExitChildFailed(const char* doing, int err);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CHILDREN_H_
