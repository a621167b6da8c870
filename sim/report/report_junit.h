// The JUnit XML report, for CI: one testcase per scenario. A scenario whose
// expectation was not met is a <failure> whose message is the verdict; one
// whose run failed (or was interrupted) is an <error>.
#ifndef TICKETSIM_SIM_REPORT_REPORT_JUNIT_H_
#define TICKETSIM_SIM_REPORT_REPORT_JUNIT_H_

#include <span>
#include <string>

#include "sim/run/trials.h"

namespace ticketsim {

std::string JunitReport(std::span<const ScenarioResult> results);

// A scenario file that could not be loaded, and the message that says where
// and why ("rush.toml:3:9: buyers.count: ...").
struct ScenarioProblem {
  std::string file;
  std::string message;
};

// The report of a command that ran nothing because some scenarios are
// invalid: one <error> testcase for each of `invalid`, and a <skipped> one
// for each of `valid`, so that CI shows what went wrong.
std::string JunitInvalidReport(std::span<const ScenarioProblem> invalid,
                               std::span<const LoadedScenario> valid);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_REPORT_REPORT_JUNIT_H_
