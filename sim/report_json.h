// The JSON report: the same facts as the text report, for programs.
// docs/json-report.md documents every field.
#ifndef TICKETSIM_SIM_REPORT_JSON_H_
#define TICKETSIM_SIM_REPORT_JSON_H_

#include <nlohmann/json.hpp>

#include "sim/checker.h"
#include "sim/run.h"

namespace ticketsim {

// The report format's version; it changes when a field changes meaning.
inline constexpr int kJsonReportVersion = 1;

nlohmann::json JsonReport(const RunResult& run, const Verdict& verdict);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_REPORT_JSON_H_
