// The text report: what a person reads at a terminal after a run.
#ifndef TICKETSIM_SIM_REPORT_REPORT_TEXT_H_
#define TICKETSIM_SIM_REPORT_REPORT_TEXT_H_

#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sim/check/checker.h"
#include "sim/result/run_result.h"
#include "sim/run/trials.h"

namespace ticketsim {

// At most this many buyer rows; the JSON report has them all.
inline constexpr size_t kBuyerRowsShown = 20;

// `text` broken into lines of at most about `width` columns, at spaces.
std::vector<std::string> WrapText(std::string_view text, size_t width);

// "schedule seeded, 8 steps: --steps 0,0,1,1,0,0,1,1"; "" under os.
std::string DescribeSchedule(const ScheduleLog& log);

// Writes a run's title: the scenario's name, description and setup.
void WriteTextTitle(std::FILE* out, const RunResult& run, bool color);

// Writes the report of one run to `out`, with its title unless `title` is
// false (it was written before a narration); `color` adds ANSI colours.
void WriteTextReport(std::FILE* out, const RunResult& run,
                     const Verdict& verdict, bool color, bool title = true);

// For `run --verdicts-first`: a run's verdict in a few lines, before any
// report: its name, the verdict line, and the first witness of each kind
// found; with no violation, who bought and how many were told sold out.
void WriteBriefVerdict(std::FILE* out, const RunResult& run,
                       const Verdict& verdict, bool color);

// After the trials of one scenario: how many showed a violation, with its
// 95% interval, which kinds, and whether the expectation was met.
void WriteTrialsSummary(std::FILE* out, const ScenarioResult& result,
                        bool color);

// How a scenario is named in a table: its file's name without ".toml", or
// the name of a scenario made by flags.
std::string ScenarioLabel(const ScenarioResult& result);

// `run --quiet`'s one line for a scenario: its label, its verdict over all
// trials (the kinds any of them showed), trials violated of all, whether
// the expectation was met, and the exit status it alone would give.
void WriteQuietLine(std::FILE* out, const ScenarioResult& result,
                    int exit_status, bool color);

// One row per scenario, when several ran.
void WriteSuiteTable(std::FILE* out, std::span<const ScenarioResult> results,
                     bool color);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_REPORT_REPORT_TEXT_H_
