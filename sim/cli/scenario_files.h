// Finding the scenario files a command line names: files, folders of them,
// or the library's scenarios by name ("01-rush-unguarded"); a name that
// finds none is told with the nearest library name.
#ifndef TICKETSIM_SIM_CLI_SCENARIO_FILES_H_
#define TICKETSIM_SIM_CLI_SCENARIO_FILES_H_

#include <string>
#include <vector>

#include "sim/cli/scenario_options.h"
#include "sim/report/report_junit.h"

namespace ticketsim {

// The scenario files that `options` names, each directory's in name order;
// a path that names none is a problem. No path: one scenario from flags ("").
std::vector<std::string> ScenarioFiles(const ScenarioOptions& options,
                                       std::vector<ScenarioProblem>* problems);

// The names of the library's scenarios ("01-rush-unguarded"), in name
// order; none when there is no library.
std::vector<std::string> LibraryScenarioNames();

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_SCENARIO_FILES_H_
