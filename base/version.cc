#include "base/version.h"

namespace ticketsim {

const char* const kToolVersion = TICKETSIM_VERSION;

}  // namespace ticketsim
