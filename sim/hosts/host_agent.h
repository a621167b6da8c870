// The host agent: `ticketsim buyer`, one host's part of a run whose buyers
// are on several hosts (docs/hosts.md; the words are
// sim/hosts/host_protocol.h).
//
// A run's parent starts it through the launcher ("ssh {host}", "ip netns
// exec {host}", or here as a child) and writes the host's share on its
// stdin. The agent starts a run of its own on this host (its own names,
// lease and guard objects: a local guard excludes this host's buyers only),
// attaches to the store the parent created, forks its buyers into a history
// arena of its own, answers the parent's clock pings, says when every buyer
// waits at its barrier, opens it at the parent's go, and streams each
// buyer's events back as they are recorded, then each buyer's end. When its
// stdin closes (the parent died, the link broke) or an interrupt comes, it
// kills its buyers and removes what it made. It never writes the share's
// conninfo anywhere.
#ifndef TICKETSIM_SIM_HOSTS_HOST_AGENT_H_
#define TICKETSIM_SIM_HOSTS_HOST_AGENT_H_

namespace ticketsim {

// Runs the agent on `in` (the parent's lines) and `out` (the agent's
// lines). Returns the exit status: 0 when the share ran to its end (or was
// stopped), 2 for a share that is not one, 3 when the run could not be made
// here, 1 when the parent went away first or an interrupt cut its buyers
// short (the parent is told, if it is there).
int RunHostAgent(int in, int out);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_HOSTS_HOST_AGENT_H_
