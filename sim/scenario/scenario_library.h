// Where the scenario library is: the folder `ticketsim list` shows and
// `ticketsim run NAME` takes a name from, and the helpers shipped beside it.
#ifndef TICKETSIM_SIM_SCENARIO_SCENARIO_LIBRARY_H_
#define TICKETSIM_SIM_SCENARIO_SCENARIO_LIBRARY_H_

#include <string>

namespace ticketsim {

struct ScenarioLibraryPlace {
  std::string path;     // the folder of scenario files
  std::string origin;   // why this one, in words: "installed with ticketsim"
  std::string helpers;  // the helpers' folder beside it, "" if there is none
};

// The first of:
//  1. $TICKETSIM_SCENARIOS, when set: the user's own choice wins;
//  2. the library installed with the program, found from the program's own
//     place (/proc/self/exe): <bin>/../share/ticketsim/scenarios, whatever
//     the prefix (/usr, /usr/local, a DESTDIR, a `dpkg -x` root);
//  3. ./scenarios, when the current folder has one;
//  4. the source tree's scenarios/, only for a program that runs from the
//     build folder it was built in (a copy elsewhere is not in a clone).
// A folder that is there but cannot be used (a symlink loop, no permission)
// is still the one meant, so that `list` says what is wrong with it. With
// none of them: the installed place, which does not exist, so that the
// messages name where the library was looked for.
ScenarioLibraryPlace FindScenarioLibrary();

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_SCENARIO_SCENARIO_LIBRARY_H_
