// The HTML timeline: one self-contained page (no network, no external
// script or font) that shows a run as a class would want to see it.
//
// The verdict comes first, its witnesses each a link that zooms the
// timeline to them; then a legend of exactly the marks the timeline uses,
// and the timeline itself (sim/timeline/timeline_svg.h): a time axis that runs
// to the run's end, and a lane per buyer with its queries (dots; red if torn),
// its critical sections from read to write (bars, labelled with the seat),
// sold out, failed and killed marks, and below them a row per guard with
// its waits and holds, its back-offs, and a truncating writer's empty file.
// A deadlock's cycle, an abandoned lock and the moment ticketsim ended the
// run are drawn as such. The marks that witness a violation share a colour
// family no other mark uses. Hovering anything shows its exact times and
// values; dragging across the plot zooms into a stretch of time, and
// page.html#zoom=FROM-TO (nanoseconds) opens it zoomed. A large run shows
// a sample: the lanes of the witnesses first, at most kMaxLanes of them,
// over a window of at most kMaxPurchases purchases
// (sim/timeline/timeline_sample.h), and says so.
#ifndef TICKETSIM_SIM_TIMELINE_REPORT_HTML_H_
#define TICKETSIM_SIM_TIMELINE_REPORT_HTML_H_

#include <string>
#include <vector>

#include "sim/check/checker.h"
#include "sim/result/run_result.h"

namespace ticketsim {

// One run's part of the page: its verdict and timeline. `caption` says which
// scenario and trial it is.
std::string HtmlRunSection(const RunResult& run, const Verdict& verdict,
                           const std::string& caption);

// The whole page around the sections.
std::string HtmlPage(const std::string& title,
                     const std::vector<std::string>& sections);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_TIMELINE_REPORT_HTML_H_
