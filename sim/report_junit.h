// The JUnit XML report, for CI: one testcase per scenario. A scenario whose
// expectation was not met is a <failure> whose message is the verdict; one
// whose run failed (or was interrupted) is an <error>.
#ifndef TICKETSIM_SIM_REPORT_JUNIT_H_
#define TICKETSIM_SIM_REPORT_JUNIT_H_

#include <span>
#include <string>

#include "sim/suite.h"

namespace ticketsim {

std::string JunitReport(std::span<const ScenarioResult> results);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_REPORT_JUNIT_H_
