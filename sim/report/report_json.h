// The JSON report: the same facts as the text report, for programs.
// docs/json-report.md documents every field.
#ifndef TICKETSIM_SIM_REPORT_REPORT_JSON_H_
#define TICKETSIM_SIM_REPORT_REPORT_JSON_H_

#include <nlohmann/json.hpp>
#include <span>

#include "base/json_text.h"
#include "sim/check/checker.h"
#include "sim/result/run_result.h"
#include "sim/run/trials.h"

namespace ticketsim {

// The report format's version; it changes when a field changes meaning.
inline constexpr int kJsonReportVersion = 3;

// One run (one trial).
nlohmann::json JsonReport(const RunResult& run, const Verdict& verdict);

// The whole command: every scenario, its trials and whether it passed.
nlohmann::json SuiteJsonReport(std::span<const ScenarioResult> results,
                               int exit_code);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_REPORT_REPORT_JSON_H_
