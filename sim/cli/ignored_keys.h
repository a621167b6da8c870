// A key set (in the file or by a flag) that the rest of the scenario makes
// meaningless is refused, not ignored: whoever set it expects it to act.
#ifndef TICKETSIM_SIM_CLI_IGNORED_KEYS_H_
#define TICKETSIM_SIM_CLI_IGNORED_KEYS_H_

#include "base/status.h"
#include "sim/scenario/scenario_file.h"

namespace ticketsim {

// Invalid, naming where the first such key was set and what to do.
// `compared_guard`: compare puts in guards of its own, and its row for
// "none" simply leaves the scope unused.
Status RefuseIgnoredKeys(const LoadedScenario& loaded, bool compared_guard);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_IGNORED_KEYS_H_
