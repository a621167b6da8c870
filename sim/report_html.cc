#include "sim/report_html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "sim/timeline.h"
#include "sim/words.h"

namespace ticketsim {
namespace {

// Geometry of the timeline, in SVG pixels.
constexpr double kLabelWidth = 120;
constexpr double kPlotWidth = 1060;
constexpr double kLaneHeight = 28;
constexpr double kBarHeight = 14;
constexpr double kAxisHeight = 34;
constexpr size_t kWitnessSeats = 5;

// The colours of up to kWitnessSeats witness groups.
constexpr const char* kWitnessColors[] = {"#d62728", "#9467bd", "#ff7f0e",
                                          "#8c564b", "#e377c2"};

std::string Ms(int64_t ns) { return FormatTime(static_cast<uint64_t>(ns)); }

// A tick step of 1, 2 or 5 times a power of ten, for about eight ticks.
double TickStep(double span_ms) {
  const double raw = std::max(span_ms / 8, 1e-6);
  const double power = std::pow(10, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0}) {
    if (m * power >= raw) return m * power;
  }
  return 10 * power;
}

// What of a run the page shows: which lanes, over which window of time.
struct Sample {
  std::vector<uint32_t> lanes;
  int64_t from_ns = 0;
  int64_t to_ns = 1;
  int64_t total_attempts = 0;
  int64_t shown_attempts = 0;
  bool all_lanes = true;
  bool all_time = true;
};

// The seats sold more than once (the first few), and the buyers involved.
struct Witnesses {
  std::map<int64_t, size_t> seat_group;  // seat -> colour index
  std::set<uint32_t> buyers;
  int64_t first_ns = -1;
};

Witnesses FindWitnesses(const RunResult& run, const Verdict& verdict) {
  Witnesses w;
  const size_t buyers = run.served_by.size();
  if (verdict.CountOf(ViolationKind::kDuplicateSeat) > 0) {
    std::vector<int64_t> seats;
    for (uint32_t b = 0; b < buyers; ++b) {
      for (const Event& e : run.history->EventsOf(b)) {
        if (e.kind == EventKind::kWrite) seats.push_back(e.value + 1);
        if (e.kind == EventKind::kTook) seats.push_back(e.value);
      }
    }
    std::sort(seats.begin(), seats.end());
    // The highest seats sell first: they are the race at the start.
    for (size_t i = seats.size(); i > 1 && w.seat_group.size() < kWitnessSeats;
         --i) {
      if (seats[i - 1] == seats[i - 2] &&
          !w.seat_group.contains(seats[i - 1])) {
        w.seat_group.emplace(seats[i - 1], w.seat_group.size());
      }
    }
  }
  const bool torn = verdict.CountOf(ViolationKind::kTornRead) > 0;
  size_t torn_found = 0;
  for (uint32_t b = 0; b < buyers; ++b) {
    for (const Event& e : run.history->EventsOf(b)) {
      const bool dup =
          (e.kind == EventKind::kWrite && w.seat_group.contains(e.value + 1)) ||
          (e.kind == EventKind::kTook && w.seat_group.contains(e.value));
      const bool torn_read =
          torn && (e.flags & kTorn) &&
          (e.kind == EventKind::kQuery || e.kind == EventKind::kRead) &&
          torn_found < kWitnessSeats;
      if (dup || torn_read) {
        if (torn_read) ++torn_found;
        w.buyers.insert(b);
        if (w.first_ns < 0 || static_cast<int64_t>(e.time_ns) < w.first_ns) {
          w.first_ns = static_cast<int64_t>(e.time_ns);
        }
      }
    }
  }
  return w;
}

Sample ChooseSample(const RunResult& run, const Witnesses& witnesses) {
  Sample s;
  const uint32_t buyers = static_cast<uint32_t>(run.served_by.size());
  std::vector<int64_t> attempts(buyers, 0);
  int64_t end = 1;
  for (uint32_t b = 0; b < buyers; ++b) {
    const auto events = run.history->EventsOf(b);
    if (events.empty()) continue;
    attempts[b] = int64_t{events.back().attempt} + 1;
    s.total_attempts += attempts[b];
    end = std::max<int64_t>(end, static_cast<int64_t>(events.back().time_ns));
  }
  // Lanes: all, or the witnesses' first and then evenly spread others.
  if (buyers <= kMaxLanes) {
    for (uint32_t b = 0; b < buyers; ++b) s.lanes.push_back(b);
  } else {
    s.all_lanes = false;
    std::set<uint32_t> chosen;
    for (uint32_t b : witnesses.buyers) {
      if (chosen.size() < kMaxLanes / 2) chosen.insert(b);
    }
    const size_t wanted = kMaxLanes - chosen.size();
    for (size_t i = 0; i < wanted; ++i) {
      chosen.insert(static_cast<uint32_t>(i * buyers / wanted));
    }
    // Where a spread lane was a witness's already, the next free one.
    for (uint32_t b = 0; chosen.size() < kMaxLanes && b < buyers; ++b) {
      chosen.insert(b);
    }
    s.lanes.assign(chosen.begin(), chosen.end());
  }
  int64_t in_lanes = 0;
  for (uint32_t b : s.lanes) in_lanes += attempts[b];
  s.from_ns = 0;
  s.to_ns = end;
  s.shown_attempts = in_lanes;
  if (in_lanes > static_cast<int64_t>(kMaxPurchases)) {
    // A window that holds about kMaxPurchases of them, at an even rate,
    // starting a little before the first witness.
    s.all_time = false;
    const double share = static_cast<double>(kMaxPurchases) / in_lanes;
    const int64_t length = std::max<int64_t>(1000, end * share);
    const int64_t anchor = std::max<int64_t>(0, witnesses.first_ns);
    s.from_ns = std::max<int64_t>(0, anchor - length / 5);
    s.to_ns = std::min<int64_t>(end, s.from_ns + length);
    s.shown_attempts = 0;
  }
  return s;
}

// The events of buyer `b` that fall in the sample's window, whole attempts.
std::span<const Event> EventsInWindow(const RunResult& run, uint32_t b,
                                      const Sample& s) {
  const auto events = run.history->EventsOf(b);
  if (s.all_time) return events;
  const auto first = std::lower_bound(
      events.begin(), events.end(), s.from_ns, [](const Event& e, int64_t t) {
        return static_cast<int64_t>(e.time_ns) < t;
      });
  const auto last = std::upper_bound(
      first, events.end(), s.to_ns, [](int64_t t, const Event& e) {
        return t < static_cast<int64_t>(e.time_ns);
      });
  return {first, last};
}

class Timeline {
 public:
  Timeline(const RunResult& run, const Verdict& verdict, Sample* sample,
           const Witnesses& witnesses)
      : run_(run),
        verdict_(verdict),
        sample_(*sample),
        witnesses_(witnesses),
        killed_(KilledBuyers(run)) {
    scale_ = kPlotWidth / static_cast<double>(std::max<int64_t>(
                              1, sample_.to_ns - sample_.from_ns));
    for (size_t i = 0; i < sample_.lanes.size(); ++i) {
      lanes_.push_back(
          AttemptsOf(EventsInWindow(run, sample_.lanes[i], sample_)));
      if (!sample_.all_time) {
        sample->shown_attempts += static_cast<int64_t>(lanes_.back().size());
      }
      for (const Attempt& a : lanes_.back()) {
        if (a.outcome == Outcome::kBought) ++sold_[a.seat];
      }
    }
  }

  std::string Svg() {
    const double height =
        kAxisHeight + kLaneHeight * static_cast<double>(lanes_.size()) + 8;
    std::string out = fmt::format(
        "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" "
        "width=\"{:.0f}\" height=\"{:.0f}\" viewBox=\"0 0 {:.0f} {:.0f}\">\n",
        kLabelWidth + kPlotWidth + 20, height, kLabelWidth + kPlotWidth + 20,
        height);
    // Backgrounds first, then the witness bands over them, then the marks.
    for (size_t i = 0; i < lanes_.size(); ++i) {
      out += fmt::format(
          "<rect class=\"lane-bg{}\" x=\"0\" y=\"{:.1f}\" width=\"{:.0f}\" "
          "height=\"{:.0f}\"/>\n",
          i % 2 == 0 ? " even" : "", LaneTop(i), kLabelWidth + kPlotWidth + 20,
          kLaneHeight);
    }
    out += Axis(height);
    out += Bands();
    for (size_t i = 0; i < lanes_.size(); ++i) out += Lane(i);
    out += "</svg>\n";
    return out;
  }

 private:
  double X(int64_t ns) const {
    return kLabelWidth + static_cast<double>(ns - sample_.from_ns) * scale_;
  }
  double LaneTop(size_t i) const {
    return kAxisHeight + kLaneHeight * static_cast<double>(i);
  }

  std::string Axis(double height) const {
    const double span_ms = (sample_.to_ns - sample_.from_ns) / 1e6;
    const double step = TickStep(span_ms);
    std::string out = "<g class=\"axis\">\n";
    const double first = std::ceil(sample_.from_ns / 1e6 / step) * step;
    for (double t = first; t <= sample_.to_ns / 1e6 + 1e-9; t += step) {
      const double x = X(static_cast<int64_t>(t * 1e6));
      out += fmt::format(
          "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2:.0f}\"/>"
          "<text x=\"{0:.1f}\" y=\"{3}\">{4:g} ms</text>\n",
          x, kAxisHeight - 8, height, kAxisHeight - 14, t);
    }
    return out + "</g>\n";
  }

  // One translucent band per witness seat, spanning its buyers' lanes from
  // the first read to the last write.
  std::string Bands() const {
    std::string out;
    for (const auto& [seat, group] : witnesses_.seat_group) {
      int64_t from = INT64_MAX, to = 0;
      size_t top = SIZE_MAX, bottom = 0, buyers = 0;
      for (size_t i = 0; i < lanes_.size(); ++i) {
        for (const Attempt& a : lanes_[i]) {
          if (a.outcome != Outcome::kBought || a.seat != seat) continue;
          from = std::min(from, a.read_ns);
          to = std::max(to, a.outcome_ns);
          top = std::min(top, i);
          bottom = std::max(bottom, i);
          ++buyers;
        }
      }
      if (buyers < 2) continue;
      out += fmt::format(
          "<rect class=\"witness-band\" data-seat=\"{}\" x=\"{:.1f}\" "
          "y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" "
          "data-info=\"{}\"><title>{}</title></rect>\n",
          seat, X(from), LaneTop(top) + 2, std::max(2.0, X(to) - X(from)),
          LaneTop(bottom) - LaneTop(top) + kLaneHeight - 4,
          kWitnessColors[group],
          XmlEscape(fmt::format("seat {} sold {}: {} read-write windows "
                                "overlap, from {} to {}",
                                seat, TimesSold(sold_.at(seat)), buyers,
                                Ms(from), Ms(to))),
          XmlEscape(
              fmt::format("seat {} sold {}", seat, TimesSold(sold_.at(seat)))));
    }
    return out;
  }

  std::string Mark(const char* cls, double x, double y, const std::string& info,
                   const char* shape = "circle") const {
    if (std::string_view(shape) == "circle") {
      return fmt::format(
          "<circle class=\"{}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" "
          "data-info=\"{}\"><title>{}</title></circle>\n",
          cls, x, y, XmlEscape(info), XmlEscape(info));
    }
    return fmt::format(
        "<text class=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" data-info=\"{}\">{}"
        "<title>{}</title></text>\n",
        cls, x, y + 5, XmlEscape(info), shape, XmlEscape(info));
  }

  std::string Lane(size_t i) const {
    const uint32_t buyer = sample_.lanes[i];
    const double mid = LaneTop(i) + kLaneHeight / 2;
    const double bar_y = mid - kBarHeight / 2;
    const int32_t process = run_.served_by[buyer];
    const pid_t pid = process >= 0 ? run_.processes[process].pid : 0;
    std::string out = fmt::format(
        "<g class=\"lane\" data-buyer=\"{}\">\n"
        "<text class=\"lane-label\" x=\"6\" y=\"{:.1f}\">buyer {}"
        "<title>buyer {}, pid {}</title></text>\n",
        buyer, mid + 4, buyer, buyer, pid);
    const std::vector<Attempt>& attempts = lanes_[i];
    for (const Attempt& a : attempts) out += AttemptMarks(a, bar_y, mid);
    if (killed_[buyer] && !attempts.empty()) {
      const Attempt& last = attempts.back();
      const int sig = process >= 0 ? run_.processes[process].signal : 0;
      const std::string why =
          last.fault != 0 && last.fault_ns == last.last_ns
              ? fmt::format("{} ({})", FaultWhat(last.fault, 0),
                            FaultName(last.fault))
              : fmt::format("was killed (SIG{}) when the run ended",
                            sigabbrev_np(sig));
      out += Mark(
          "killed", X(last.last_ns) + 4, mid,
          fmt::format("buyer {} {}, after {}", buyer, why, Ms(last.last_ns)),
          "\u2715");
    }
    return out + "</g>\n";
  }

  std::string AttemptMarks(const Attempt& a, double bar_y, double mid) const {
    std::string out;
    if (a.fault == static_cast<uint32_t>(FaultKind::kPause)) {
      // A stalled holder: the stretch it spent stopped, guard in hand.
      const int64_t until = a.fault_ns + a.fault_value * 1000000;
      out += fmt::format(
          "<rect class=\"pause\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
          "height=\"{:.1f}\" data-info=\"{}\"><title>{}</title></rect>\n",
          X(a.fault_ns), bar_y - 2, std::max(2.0, X(until) - X(a.fault_ns)),
          kBarHeight + 4,
          XmlEscape(fmt::format("buyer {} {} (pause_holder), from {}", a.buyer,
                                FaultWhat(a.fault, a.fault_value),
                                Ms(a.fault_ns))),
          "paused (pause_holder)");
    }
    const uint32_t b = a.buyer;
    const bool torn_witness = verdict_.CountOf(ViolationKind::kTornRead) > 0;
    if (a.query_ns >= 0) {
      out += Mark(
          a.query_torn ? (torn_witness ? "query torn witness" : "query torn")
                       : "query",
          X(a.query_ns), mid,
          a.query_torn ? fmt::format("buyer {} queries at {} and finds no "
                                     "count: a torn read",
                                     b, Ms(a.query_ns))
                       : fmt::format("buyer {} queries at {}: {} left", b,
                                     Ms(a.query_ns), a.query_value));
    }
    if (a.wait_ns >= 0 && a.acquired_ns > a.wait_ns) {
      out += fmt::format(
          "<rect class=\"wait\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
          "height=\"4\" data-info=\"{}\"><title>{}</title></rect>\n",
          X(a.wait_ns), mid - 2, std::max(1.0, X(a.acquired_ns) - X(a.wait_ns)),
          XmlEscape(fmt::format("buyer {} waits for the guard from {} to {}", b,
                                Ms(a.wait_ns), Ms(a.acquired_ns))),
          XmlEscape(fmt::format("waits {}", Ms(a.acquired_ns - a.wait_ns))));
    }
    if (a.read_ns < 0) {
      if (a.outcome == Outcome::kFailed) {
        out += Mark("failed", X(a.outcome_ns), mid,
                    fmt::format("buyer {} {} at {}", b, FailureWhy(a.failure),
                                Ms(a.outcome_ns)),
                    "!");
      }
      return out;
    }
    const int64_t end = a.outcome_ns >= 0 ? a.outcome_ns : a.last_ns;
    std::string cls = "cs";
    std::string info;
    std::string fill;
    std::string seat_attr;
    switch (a.outcome) {
      case Outcome::kBought: {
        const auto group = witnesses_.seat_group.find(a.seat);
        if (group != witnesses_.seat_group.end()) {
          cls += " witness";
          fill =
              fmt::format(" style=\"fill:{}\"", kWitnessColors[group->second]);
        }
        seat_attr = fmt::format(" data-seat=\"{}\"", a.seat);
        info =
            a.atomic
                ? fmt::format(
                      "buyer {} takes a ticket in one step at {} "
                      "-- {}",
                      b, Ms(a.outcome_ns), SeatSold(a.seat, sold_.at(a.seat)))
                : fmt::format(
                      "buyer {} reads {} at {} and writes {} at "
                      "{} -- {}",
                      b, a.read_value, Ms(a.read_ns), a.written,
                      Ms(a.outcome_ns), SeatSold(a.seat, sold_.at(a.seat)));
        break;
      }
      case Outcome::kSoldOut:
        cls += " sold-out";
        info =
            fmt::format("buyer {} reads 0 at {}: sold out", b, Ms(a.read_ns));
        break;
      case Outcome::kFailed:
        cls += " failed";
        info = fmt::format("buyer {} reads {} at {}, then {} at {}", b,
                           a.read_value, Ms(a.read_ns), FailureWhy(a.failure),
                           Ms(a.outcome_ns));
        break;
      case Outcome::kTorn:
        cls += " torn";
        info = fmt::format(
            "buyer {} reads at {} and finds no count: a torn "
            "read",
            b, Ms(a.read_ns));
        break;
      case Outcome::kPending:
        cls += " pending";
        info = fmt::format(
            "buyer {} reads {} at {} and never finishes: "
            "indeterminate",
            b, a.read_value, Ms(a.read_ns));
        break;
    }
    const double x = X(a.read_ns);
    const double width = std::max(2.0, X(end) - x);
    out += fmt::format(
        "<rect class=\"{}\"{}{} x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
        "height=\"{:.0f}\" rx=\"2\" data-info=\"{}\"><title>{}</title>"
        "</rect>\n",
        cls, seat_attr, fill, x, bar_y, width, kBarHeight, XmlEscape(info),
        XmlEscape(info));
    if (a.outcome == Outcome::kBought && width >= 16) {
      out += fmt::format(
          "<text class=\"seat\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
          x + width / 2, bar_y + kBarHeight - 3, a.seat);
    }
    return out;
  }

  const RunResult& run_;
  const Verdict& verdict_;
  const Sample& sample_;
  const Witnesses& witnesses_;
  const std::vector<bool> killed_;
  std::vector<std::vector<Attempt>> lanes_;
  std::map<int64_t, int64_t> sold_;  // seat -> times sold, in the sample
  double scale_ = 1;
};

std::string VerdictHtml(const RunResult& run, const Verdict& verdict) {
  // A run cut short checked only the purchases that finished.
  const std::string cut = run.timed_out     ? "the run hit its time limit"
                          : run.interrupted ? "the run was interrupted"
                                            : "";
  if (verdict.ok()) {
    if (!cut.empty()) {
      return fmt::format(
          "<div class=\"verdict bad\">Verdict incomplete ({}): no violation "
          "among the purchases that finished</div>\n",
          cut);
    }
    return "<div class=\"verdict ok\">No violation</div>\n";
  }
  const std::string kinds = ListViolations(verdict.Counts());
  std::string out = fmt::format(
      "<div class=\"verdict bad\">VIOLATED: {}{}</div>\n<ul "
      "class=\"violations\">\n",
      XmlEscape(kinds),
      cut.empty() ? "" : fmt::format(" (verdict incomplete: {})", cut));
  for (const Violation& v : verdict.violations) {
    out +=
        fmt::format("<li><b>{} x{}</b>: {}", XmlEscape(ViolationName(v.kind)),
                    v.count, XmlEscape(v.summary));
    if (!v.witnesses.empty()) {
      out += "<ul>";
      for (const Witness& w : v.witnesses) {
        out += fmt::format("<li>{}</li>", XmlEscape(w.text));
      }
      if (v.unwitnessed > 0) {
        out += fmt::format("<li>and {} more</li>", v.unwitnessed);
      }
      out += "</ul>";
    }
    out += "</li>\n";
  }
  return out + "</ul>\n";
}

constexpr const char* kStyle = R"(
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 4px; }
.description { color: #555; max-width: 70em; }
.setup, .sample { color: #555; font-size: 13px; }
.verdict { font-weight: bold; font-size: 16px; padding: 6px 10px; margin: 10px 0;
  border-radius: 4px; display: inline-block; }
.verdict.ok { background: #e3f4e3; color: #1a7f1a; }
.verdict.bad { background: #fde8e8; color: #b00020; }
.violations { margin-top: 0; }
#info { position: sticky; top: 0; background: #ffffe8; border: 1px solid #ddd;
  padding: 4px 8px; min-height: 1.4em; font-family: monospace; z-index: 1; }
svg.timeline { display: block; margin-top: 8px; }
.axis line { stroke: #ddd; }
.axis text { font-size: 11px; fill: #666; text-anchor: middle; }
.lane-bg { fill: #fff; }
.lane-bg.even { fill: #f4f4f4; }
.lane-label { font-size: 12px; fill: #333; }
.query { fill: #888; }
.query.torn { fill: #d62728; stroke: #000; }
.wait { fill: #bbb; }
.cs { fill: #4c8bd6; }
.cs.witness { stroke: #000; stroke-width: 1.5; }
.cs.sold-out { fill: #aaa; }
.cs.failed { fill: #ff9f1c; }
.cs.torn { fill: #d62728; }
.cs.pending { fill: #fff; stroke: #d62728; stroke-dasharray: 3 2; }
.witness-band { opacity: 0.15; }
.seat { font-size: 10px; fill: #fff; text-anchor: middle; pointer-events: none; }
.killed { fill: #d62728; font-size: 14px; font-weight: bold; }
.pause { fill: #7f7f7f; opacity: 0.45; }
.failed { fill: #ff9f1c; font-weight: bold; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 14px; height: 10px; margin-right: 4px;
  vertical-align: middle; }
)";

// Shows the hovered element's exact times and values in the info line.
constexpr const char* kScript = R"(
(function () {
  var info = document.getElementById('info');
  document.querySelectorAll('[data-info]').forEach(function (el) {
    el.addEventListener('mouseenter', function () {
      info.textContent = el.getAttribute('data-info');
    });
  });
})();
)";

}  // namespace

std::string HtmlRunSection(const RunResult& run, const Verdict& verdict,
                           const std::string& caption) {
  const Scenario& s = run.scenario;
  const Witnesses witnesses = FindWitnesses(run, verdict);
  Sample sample = ChooseSample(run, witnesses);
  Timeline timeline(run, verdict, &sample, witnesses);
  const std::string svg = timeline.Svg();
  std::string out = "<section class=\"run\">\n";
  out += fmt::format("<h2>{}</h2>\n", XmlEscape(caption));
  if (!s.description.empty()) {
    out += fmt::format("<p class=\"description\">{}</p>\n",
                       XmlEscape(s.description));
  }
  out += fmt::format(
      "<p class=\"setup\">{}; seed {}. Tickets: initial {}, sold {}, "
      "remaining {}; {} attempts in {:.3f} s.</p>\n",
      XmlEscape(DescribeSetup(s)), s.buyers.seed, verdict.initial,
      verdict.confirmed,
      verdict.final_count ? std::to_string(*verdict.final_count) : "unreadable",
      verdict.attempts, run.seconds);
  out += VerdictHtml(run, verdict);
  if (!sample.all_lanes || !sample.all_time) {
    out += fmt::format(
        "<p class=\"sample\">A sample: {} of {} buyers{}, {} of {} "
        "purchases, from {} to {}. The buyers of the highlighted witnesses "
        "come first.</p>\n",
        sample.lanes.size(), run.served_by.size(),
        sample.all_lanes ? " (all)" : "", sample.shown_attempts,
        sample.total_attempts, Ms(sample.from_ns), Ms(sample.to_ns));
  }
  out += svg;
  return out + "</section>\n";
}

std::string HtmlPage(const std::string& title,
                     const std::vector<std::string>& sections) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n"
      "<h1>{}</h1>\n"
      "<div class=\"legend\">"
      "<span><i style=\"background:#888;border-radius:5px\"></i>query</span>"
      "<span><i style=\"background:#bbb;height:4px\"></i>waiting for the "
      "guard</span>"
      "<span><i style=\"background:#4c8bd6\"></i>read to write (the seat on "
      "the bar)</span>"
      "<span><i style=\"background:#aaa\"></i>sold out</span>"
      "<span><i style=\"background:#ff9f1c\"></i>failed</span>"
      "<span><i style=\"background:#d62728\"></i>torn read, witness, "
      "killed</span>"
      "<span><i style=\"background:#7f7f7f;opacity:0.45\"></i>holder "
      "paused</span></div>\n"
      "<div id=\"info\">Hover over a mark for its exact times and "
      "values.</div>\n",
      XmlEscape(title), kStyle, XmlEscape(title));
  for (const std::string& section : sections) out += section;
  out += fmt::format("<script>{}</script>\n</body>\n</html>\n", kScript);
  return out;
}

}  // namespace ticketsim
