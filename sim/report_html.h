// The HTML timeline: one self-contained page (no network, no external
// script or font) that shows a run as a class would want to see it.
//
// The verdict comes first, then a time axis with one lane per buyer: its
// queries (dots; red if torn), its wait for the guard (a thin grey bar), its
// critical section from read to write (a bar, labelled with the seat), sold
// out, failed and killed marks. The purchases that witness a violation are
// highlighted across lanes: the read-write windows of one seat sold twice
// share a colour and a band. Hovering anything shows its exact times and
// values. A large run shows a sample: the lanes of the witnesses first, at
// most kMaxLanes of them, over a window of at most kMaxPurchases purchases,
// and says so.
#ifndef TICKETSIM_SIM_REPORT_HTML_H_
#define TICKETSIM_SIM_REPORT_HTML_H_

#include <string>
#include <vector>

#include "sim/checker.h"
#include "sim/run.h"

namespace ticketsim {

inline constexpr size_t kMaxLanes = 40;
inline constexpr size_t kMaxPurchases = 3000;

// One run's part of the page: its verdict and timeline. `caption` says which
// scenario and trial it is.
std::string HtmlRunSection(const RunResult& run, const Verdict& verdict,
                           const std::string& caption);

// The whole page around the sections.
std::string HtmlPage(const std::string& title,
                     const std::vector<std::string>& sections);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_REPORT_HTML_H_
