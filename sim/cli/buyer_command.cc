#include "sim/cli/buyer_command.h"

#include <unistd.h>

#include "sim/hosts/host_agent.h"

namespace ticketsim {

int BuyerCommand(PreparedCommand*) {
  return RunHostAgent(STDIN_FILENO, STDOUT_FILENO);
}

}  // namespace ticketsim
