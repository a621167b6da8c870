// The tool's version, as the project's CMakeLists.txt names it: one file
// holds it, so that a new version recompiles that file alone.
#ifndef TICKETSIM_BASE_VERSION_H_
#define TICKETSIM_BASE_VERSION_H_

namespace ticketsim {

// "0.1.0".
extern const char* const kToolVersion;

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_VERSION_H_
