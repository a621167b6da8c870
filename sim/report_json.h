// The JSON report: the same facts as the text report, for programs.
// docs/json-report.md documents every field.
#ifndef TICKETSIM_SIM_REPORT_JSON_H_
#define TICKETSIM_SIM_REPORT_JSON_H_

#include <nlohmann/json.hpp>
#include <span>

#include "sim/checker.h"
#include "sim/run.h"
#include "sim/suite.h"

namespace ticketsim {

// The report format's version; it changes when a field changes meaning.
inline constexpr int kJsonReportVersion = 3;

// One run (one trial).
nlohmann::json JsonReport(const RunResult& run, const Verdict& verdict);

// `json` as text (`indent` as nlohmann's dump takes it), never throwing:
// text that is not UTF-8 (a file name, a --set value) has each bad byte
// replaced with U+FFFD, and every character past ASCII is written as its
// \u escape, so that no C1 control reaches a terminal that shows it.
std::string JsonText(const nlohmann::json& json, int indent = -1);

// The whole command: every scenario, its trials and whether it passed.
nlohmann::json SuiteJsonReport(std::span<const ScenarioResult> results,
                               int exit_code);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_REPORT_JSON_H_
