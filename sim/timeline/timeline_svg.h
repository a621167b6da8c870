// The timeline's drawing: one SVG of a run, a lane per buyer (a sample of
// them in a large run), laid out on the server so that the page shows it
// whole without any script. Every mark carries its times in data attributes
// (data-from-ns and data-to-ns for a stretch, data-at-ns for a moment) so
// that the page's script can lay it out again for a narrower range of time.
#ifndef TICKETSIM_SIM_TIMELINE_TIMELINE_SVG_H_
#define TICKETSIM_SIM_TIMELINE_TIMELINE_SVG_H_

#include <cstdint>
#include <set>
#include <string>

#include "sim/check/checker.h"
#include "sim/result/run_result.h"

namespace ticketsim {

// Geometry of the drawing, in SVG units; the page scales it to its width.
inline constexpr double kLabelWidth = 120;
inline constexpr double kPlotWidth = 860;
inline constexpr double kRightMargin = 20;

struct TimelineDrawing {
  std::string svg;
  std::set<std::string> classes;  // the classes of the marks drawn
  int64_t from_ns = 0;            // the time the plot spans
  int64_t to_ns = 1;
  size_t lanes = 0;
  int64_t total_attempts = 0;
  int64_t shown_attempts = 0;
  bool all_lanes = true;
  bool all_time = true;
};

// `id` tells this drawing's definitions (patterns, clip) from another's on
// the same page.
TimelineDrawing DrawTimeline(const RunResult& run, const Verdict& verdict,
                             int id);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_TIMELINE_TIMELINE_SVG_H_
