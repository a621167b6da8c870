#include "sim/cli/result_status.h"

#include "base/exit_status.h"
#include "base/interrupt.h"

namespace ticketsim {

int ExitFor(std::span<const ScenarioResult> results) {
  int status = kExitOk;
  for (const ScenarioResult& r : results) {
    if (r.interrupted()) return ExitStatusFor(r.interrupt_signal());
    if (r.bad_input()) return kExitUsage;
    if (r.run_failed()) {
      status = kExitRunFailed;
    } else if (r.unchecked() && status != kExitRunFailed) {
      status = kExitUnchecked;
    } else if (!r.passed() && status == kExitOk) {
      status = kExitViolations;
    }
  }
  return status;
}

int ExitFor(const ScenarioResult& result) {
  return ExitFor(std::span<const ScenarioResult>(&result, 1));
}

}  // namespace ticketsim
