#include "sim/timeline/timeline_svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstring>
#include <map>
#include <set>
#include <span>
#include <tuple>
#include <vector>

#include "sim/history/event_words.h"
#include "sim/result/run_check.h"
#include "sim/result/thread_death.h"
#include "sim/timeline/timeline.h"
#include "sim/timeline/timeline_sample.h"

namespace ticketsim {
namespace {

constexpr double kHeaderHeight = 58;  // marker labels, then tick labels
constexpr double kMainRow = 26;       // a buyer's purchases
constexpr double kGuardRow = 12;      // per guard, its waits and holds
constexpr double kBarHeight = 14;
constexpr double kHoldHeight = 8;
constexpr double kWaitHeight = 4;
// The clip lets a dot or a glyph at either end of the plot show whole.
constexpr double kClipMargin = 8;
constexpr double kWidth = kLabelWidth + kPlotWidth + kRightMargin;

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

// A stretch of time as a bar: its classes, its times, its row (top and
// height), what hovering it says, further attributes, and its least width
// (a bar too short to see still shows).
struct Stretch {
  std::string cls{};
  int64_t from = 0;
  int64_t to = 0;
  double y = 0;
  double height = 0;
  std::string info{};
  std::string extra{};
  double min_width = 1;
};

class Drawing {
 public:
  Drawing(const RunResult& run, const Verdict& verdict, int id)
      : run_(run),
        id_(id),
        witnesses_(FindWitnesses(run, verdict)),
        sample_(ChooseSample(run, witnesses_)),
        killed_(KilledBuyers(run)),
        run_end_(RunEndNs(run)),
        threads_death_(ThreadsDeathOf(run)),
        guards_(run.program != nullptr ? run.program->lock_names.size()
                : run.scenario.guard.kind == GuardKind::kNone
                    ? 0
                    : EventCount(run.scenario)) {
    scale_ = kPlotWidth / static_cast<double>(std::max<int64_t>(
                              1, sample_.to_ns - sample_.from_ns));
    for (const uint32_t b : sample_.lanes) {
      attempts_.push_back(AttemptsOf(EventsInWindow(run, b, sample_)));
      guard_history_.push_back(GuardHistoryOf(run.history->EventsOf(b)));
      if (!sample_.all_time) {
        sample_.shown_attempts += static_cast<int64_t>(attempts_.back().size());
      }
      for (const Attempt& a : attempts_.back()) {
        if (a.outcome == Outcome::kBought) ++sold_[a.seat];
      }
    }
    for (size_t i = 0; i < sample_.lanes.size(); ++i) {
      lane_of_[sample_.lanes[i]] = i;
      lane_top_.push_back(height_);
      height_ += LaneHeight();
    }
    height_ += kHeaderHeight + 8;
    for (const DeadlockLink& link : run.deadlock) {
      cycle_.insert({link.buyer, link.holds, SpanKind::kHold});
      cycle_.insert({link.buyer, link.waits_for, SpanKind::kWait});
    }
  }

  TimelineDrawing Draw() {
    std::string marks;
    for (size_t i = 0; i < sample_.lanes.size(); ++i) marks += Lane(i);
    std::string out = Opening();
    out += LaneBackgrounds();
    out += Axis();
    out += Clipped(Abandoned() + Bands());
    out += marks;
    out += Clipped(TornLinks());
    out += AbandonedLabels();
    out += RunEndMarker();
    out += "</svg>\n";
    return Drawn(std::move(out));
  }

 private:
  // The svg element, with the plot's geometry and time span for the page's
  // script, and the definitions its marks use (the plot's clip, the
  // hatching of an abandoned lock).
  std::string Opening() const {
    return fmt::format(
        "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" "
        "viewBox=\"0 0 {0:.0f} {1:.0f}\" width=\"100%\" "
        "preserveAspectRatio=\"xMinYMin meet\" data-plot-left=\"{2:.0f}\" "
        "data-plot-width=\"{3:.0f}\" data-plot-right=\"{9:.0f}\" "
        "data-from-ns=\"{4}\" data-to-ns=\"{5}\" "
        "data-run-from-ns=\"{4}\" data-run-to-ns=\"{5}\">\n"
        "<defs><clipPath id=\"plot-{6}\"><rect class=\"clip\" x=\"{7:.0f}\" "
        "y=\"0\" width=\"{8:.0f}\" height=\"{1:.0f}\"/></clipPath>"
        "<pattern id=\"hatch-{6}\" width=\"8\" height=\"8\" "
        "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
        "<rect class=\"hatch-line\" width=\"3\" height=\"8\"/></pattern>"
        "</defs>\n",
        kWidth, height_, kLabelWidth, kPlotWidth, sample_.from_ns,
        sample_.to_ns, id_, kLabelWidth - kClipMargin,
        kPlotWidth + 2 * kClipMargin, kRightMargin);
  }

  // Every other lane's background shaded.
  std::string LaneBackgrounds() const {
    std::string out;
    for (size_t i = 0; i < sample_.lanes.size(); ++i) {
      out += fmt::format(
          "<rect class=\"lane-bg{}\" x=\"0\" y=\"{:.1f}\" width=\"{:.0f}\" "
          "height=\"{:.0f}\"/>\n",
          i % 2 == 0 ? " even" : "", Top(i), kWidth, LaneHeight());
    }
    return out;
  }

  // `marks` clipped to the plot.
  std::string Clipped(const std::string& marks) const {
    return fmt::format("<g class=\"plot\" clip-path=\"url(#plot-{})\">\n",
                       id_) +
           marks + "</g>\n";
  }

  TimelineDrawing Drawn(std::string svg) {
    TimelineDrawing d;
    d.svg = std::move(svg);
    d.classes = std::move(classes_);
    d.from_ns = sample_.from_ns;
    d.to_ns = sample_.to_ns;
    d.lanes = sample_.lanes.size();
    d.total_attempts = sample_.total_attempts;
    d.shown_attempts = sample_.shown_attempts;
    d.all_lanes = sample_.all_lanes;
    d.all_time = sample_.all_time;
    return d;
  }

  double LaneHeight() const {
    return kMainRow + kGuardRow * static_cast<double>(guards_) +
           (guards_ > 0 ? 4 : 0);
  }
  double Top(size_t lane) const { return kHeaderHeight + lane_top_[lane]; }
  double Mid(size_t lane) const { return Top(lane) + kMainRow / 2; }
  double GuardMid(size_t lane, size_t event) const {
    return Top(lane) + kMainRow +
           kGuardRow * (static_cast<double>(event) + 0.5);
  }
  double PlotBottom() const { return height_ - 8; }

  // The x of a time, kept a little outside the plot when out of it (the
  // plot clips what is outside; the page's script does the same).
  double X(int64_t ns) const {
    const double x =
        kLabelWidth + static_cast<double>(ns - sample_.from_ns) * scale_;
    return std::clamp(x, kLabelWidth - 2, kLabelWidth + kPlotWidth + 2);
  }

  std::string GuardName(size_t event) const {
    if (run_.program != nullptr) {
      const std::string name = LockName(event);
      return name.empty() ? "the lock" : "the lock " + name;
    }
    if (EventCount(run_.scenario) == 1) return "the guard";
    return fmt::format("the {} guard", EventName(run_.scenario, event));
  }

  // A program's lock by its name, if it named it ("" when it has one).
  std::string LockName(size_t lock) const {
    const auto& names = run_.program->lock_names;
    return lock < names.size() && !names[lock].empty()
               ? "\"" + names[lock] + "\""
               : "";
  }

  // A mark wholly outside the time shown is not drawn (the page's script
  // does the same when it zooms).
  std::string_view Hidden(int64_t from, int64_t to) const {
    return to < sample_.from_ns || from > sample_.to_ns ? " display=\"none\""
                                                        : "";
  }

  // Registers a mark's classes (for the legend) and returns them.
  const std::string& Use(const std::string& classes) {
    size_t from = 0;
    while (from < classes.size()) {
      size_t to = classes.find(' ', from);
      if (to == std::string::npos) to = classes.size();
      if (to > from) classes_.insert(classes.substr(from, to - from));
      from = to + 1;
    }
    return classes;
  }

  // A stretch of time: a rect laid out from its data attributes.
  std::string Bar(const Stretch& s) {
    const double x = X(s.from);
    const double w = std::max(s.min_width, X(s.to) - x);
    return fmt::format(
        "<rect class=\"{}\"{}{} x=\"{:.2f}\" y=\"{:.1f}\" width=\"{:.2f}\" "
        "height=\"{:.1f}\" data-from-ns=\"{}\" data-to-ns=\"{}\" "
        "data-min-w=\"{:g}\" data-info=\"{}\"><title>{}</title></rect>\n",
        Use(s.cls), s.extra, Hidden(s.from, s.to), x, s.y, w, s.height, s.from,
        s.to, s.min_width, XmlEscape(s.info), XmlEscape(s.info));
  }

  // A moment: a dot, or a glyph.
  std::string Point(const std::string& cls, int64_t at, double y,
                    const std::string& info, const char* glyph = nullptr,
                    const std::string& extra = "") {
    if (glyph == nullptr) {
      return fmt::format(
          "<circle class=\"{}\"{}{} cx=\"{:.2f}\" cy=\"{:.1f}\" r=\"3.5\" "
          "data-at-ns=\"{}\" data-info=\"{}\"><title>{}</title></circle>\n",
          Use(cls), extra, Hidden(at, at), X(at), y, at, XmlEscape(info),
          XmlEscape(info));
    }
    return fmt::format(
        "<text class=\"{}\"{}{} x=\"{:.2f}\" y=\"{:.1f}\" data-at-ns=\"{}\" "
        "data-info=\"{}\">{}<title>{}</title></text>\n",
        Use(cls), extra, Hidden(at, at), X(at), y + 4.5, at, XmlEscape(info),
        glyph, XmlEscape(info));
  }

  std::string Axis() const {
    const double span_ms = (sample_.to_ns - sample_.from_ns) / 1e6;
    const double step = TickStep(span_ms);
    const int decimals =
        std::max(0, -static_cast<int>(std::floor(std::log10(step))));
    std::string out = fmt::format(
        "<g class=\"axis\" data-y1=\"{}\" data-y2=\"{:.0f}\" "
        "data-label-y=\"{}\">\n",
        kHeaderHeight - 6, PlotBottom(), kHeaderHeight - 10);
    const double first = std::ceil(sample_.from_ns / 1e6 / step) * step;
    for (double t = first; t <= sample_.to_ns / 1e6 + 1e-9; t += step) {
      const double x = X(static_cast<int64_t>(std::llround(t * 1e6)));
      out += fmt::format(
          "<line x1=\"{0:.2f}\" x2=\"{0:.2f}\" y1=\"{1}\" y2=\"{2:.0f}\"/>"
          "<text x=\"{0:.2f}\" y=\"{3}\">{4:.{5}f} ms</text>\n",
          x, kHeaderHeight - 6, PlotBottom(), kHeaderHeight - 10, t, decimals);
    }
    return out + "</g>\n";
  }

  // One translucent band per witness seat, spanning its buyers' lanes from
  // the first read to the last write.
  std::string Bands() {
    std::string out;
    for (const auto& [seat, group] : witnesses_.seat_group) {
      int64_t from = INT64_MAX, to = 0;
      size_t top = SIZE_MAX, bottom = 0, buyers = 0;
      for (size_t i = 0; i < attempts_.size(); ++i) {
        for (const Attempt& a : attempts_[i]) {
          if (a.outcome != Outcome::kBought || a.seat != seat) continue;
          from = std::min(from, a.read_ns);
          to = std::max(to, a.outcome_ns);
          top = std::min(top, i);
          bottom = std::max(bottom, i);
          ++buyers;
        }
      }
      if (buyers < 2) continue;
      out +=
          Bar({.cls = "witness-band",
               .from = from,
               .to = to,
               .y = Top(top) + 2,
               .height = Top(bottom) - Top(top) + LaneHeight() - 4,
               .info = fmt::format(
                   "seat {} sold {}: {} read-write windows overlap, from "
                   "{} to {}",
                   seat, TimesSold(sold_.at(seat)), buyers, Ms(from), Ms(to)),
               .extra = fmt::format(" data-seat=\"{}\" style=\"fill:{}\"", seat,
                                    kWitnessColors[group]),
               .min_width = 2});
    }
    return out;
  }

  // A guard whose holder died holding it: from the death to the run's end
  // nobody can take it.
  std::string Abandoned() {
    std::string out;
    for (const AbandonedLock& a : run_.abandoned) {
      const int64_t died = DiedAt(a);
      const std::string info = fmt::format(
          "abandoned lock: buyer {} died holding {} at {}; nobody can take "
          "it from then to the run's end at {}",
          a.buyer, GuardName(a.event), Ms(died), Ms(run_end_));
      out += Bar({.cls = "abandoned",
                  .from = died,
                  .to = run_end_,
                  .y = kHeaderHeight,
                  .height = PlotBottom() - kHeaderHeight,
                  .info = info,
                  .extra = fmt::format(" style=\"fill:url(#hatch-{})\"", id_),
                  .min_width = 2});
    }
    return out;
  }

  // When an abandoned lock's holder died: killed by its fault, or else
  // when the run saw it dead.
  int64_t DiedAt(const AbandonedLock& a) const {
    if (const auto lane = lane_of_.find(a.buyer); lane != lane_of_.end()) {
      const int64_t killed = guard_history_[lane->second].killed_ns;
      if (killed >= 0) return killed;
    }
    return static_cast<int64_t>(a.time_ns);
  }

  // The abandoned locks' labels, above the plot (the band may be narrow).
  std::string AbandonedLabels() const {
    std::string out;
    for (const AbandonedLock& a : run_.abandoned) {
      const int64_t died = DiedAt(a);
      if (died < sample_.from_ns || died > sample_.to_ns) continue;
      const bool right_half = X(died) > kLabelWidth + kPlotWidth / 2;
      out += fmt::format(
          "<text class=\"abandoned-label\" x=\"{:.2f}\" y=\"28\" "
          "dx=\"{}\" text-anchor=\"{}\" data-at-ns=\"{}\">abandoned lock: "
          "{} of buyer {}, dead from here on</text>\n",
          X(died), right_half ? -4 : 4, right_half ? "end" : "start", died,
          XmlEscape(GuardName(a.event)), a.buyer);
    }
    return out;
  }

  std::string RunEndMarker() {
    if (run_.ended_by == RunEnd::kNone) return "";
    const auto at = static_cast<int64_t>(run_.ended_ns);
    if (at < sample_.from_ns || at > sample_.to_ns) return "";
    std::string found;
    if (run_.ended_by == RunEnd::kDeadlock) {
      found = fmt::format(" (the cycle was found at {})", Ms(run_.deadlock_ns));
    }
    const std::string info =
        fmt::format("ticketsim ends the run at {}: {}{}", Ms(at),
                    RunEndName(run_.ended_by), found);
    return fmt::format(
        "<line class=\"{}\" x1=\"{:.2f}\" x2=\"{:.2f}\" y1=\"4\" "
        "y2=\"{:.1f}\" data-at-ns=\"{}\" data-info=\"{}\"><title>{}</title>"
        "</line>\n"
        "<text class=\"run-end-label\" x=\"{:.2f}\" y=\"14\" dx=\"-4\" "
        "data-at-ns=\"{}\">ticketsim ends the run: {}</text>\n",
        Use("run-end"), X(at), X(at), PlotBottom(), at, XmlEscape(info),
        XmlEscape(info), X(at), at, RunEndName(run_.ended_by));
  }

  // The time a killed buyer died: its fault, else the run's end.
  // A buyer's death: at its own fault; with buyers as threads, at the
  // fault of the thread that ended their process; else when the run ended.
  int64_t DeathOf(size_t lane) const {
    const int64_t killed = guard_history_[lane].killed_ns;
    if (killed >= 0) return killed;
    return threads_death_ ? static_cast<int64_t>(threads_death_->time_ns)
                          : run_end_;
  }

  // The end of a stretch nothing recorded ends (a wait, a hold, an empty
  // file): the buyer's death if it was killed, else the run's end.
  int64_t OpenEnd(size_t lane) const {
    return killed_[sample_.lanes[lane]] ? DeathOf(lane) : run_end_;
  }

  // The process that served `buyer`, or nullptr.
  const BuyerProcess* ProcessOf(uint32_t buyer) const {
    const int32_t process = run_.served_by[buyer];
    return process >= 0 ? &run_.processes[process] : nullptr;
  }

  // A buyer's lane: its labels, then its marks clipped to the plot.
  std::string Lane(size_t i) {
    const uint32_t buyer = sample_.lanes[i];
    std::string marks = EmptyFiles(i);
    for (const Attempt& a : attempts_[i]) marks += AttemptMarks(a, Mid(i));
    marks += Guards(i);
    if (killed_[buyer]) marks += Killed(i);
    // The labels stay whole; the marks are clipped to the plot.
    return fmt::format("<g class=\"lane\" data-buyer=\"{}\">\n", buyer) +
           LaneLabels(i) + Clipped(marks) + "</g>\n";
  }

  // The buyer's number (its pid on hover) and a label per guard row.
  std::string LaneLabels(size_t i) const {
    const uint32_t buyer = sample_.lanes[i];
    const BuyerProcess* process = ProcessOf(buyer);
    // Buyers as threads, one each: the lane is the thread's.
    const bool threads = run_.scenario.buyers.mode == BuyerMode::kThread;
    const bool own_thread = threads && run_.scenario.buyers.pool == 0;
    // A box office's buyers are its connections.
    const bool connection = run_.box_office.has_value();
    std::string out = fmt::format(
        "<text class=\"lane-label\" x=\"6\" y=\"{:.1f}\">{} {}"
        "<title>buyer {}, {}pid {}</title></text>\n",
        Mid(i) + 4,
        connection   ? "connection"
        : own_thread ? "thread"
                     : "buyer",
        buyer, buyer,
        connection ? "a connection to the box office, "
        : threads  ? fmt::format("thread {} of ", run_.served_by[buyer])
                   : "",
        process != nullptr ? process->pid : 0);
    for (size_t g = 0; g < guards_; ++g) {
      out += fmt::format(
          "<text class=\"guard-label\" x=\"16\" y=\"{:.1f}\">{}</text>\n",
          GuardMid(i, g) + 3, GuardLabel(g));
    }
    return out;
  }

  std::string GuardLabel(size_t event) const {
    if (run_.program != nullptr) {
      return XmlEscape(LockName(event).empty() ? "lock"
                                               : "lock " + LockName(event));
    }
    return EventCount(run_.scenario) == 1
               ? std::string("guard")
               : XmlEscape(EventName(run_.scenario, event));
  }

  // A killed buyer's death: by its fault, or when the run ended.
  std::string Killed(size_t i) {
    const uint32_t buyer = sample_.lanes[i];
    const BuyerProcess* process = ProcessOf(buyer);
    const int sig = process != nullptr ? process->signal : 0;
    const GuardHistory& h = guard_history_[i];
    const int64_t died = DeathOf(i);
    const std::string why =
        h.killed_ns >= 0
            ? fmt::format("{} ({}) at {}", FaultWhat(h.killed_by, 0),
                          FaultName(h.killed_by), Ms(died))
        : threads_death_
            ? fmt::format(
                  "died with its process (SIG{}) at {}: buyer {}'s "
                  "thread ended it",
                  sigabbrev_np(sig), Ms(died), threads_death_->buyer)
            : fmt::format("was killed (SIG{}) when the run ended at {}",
                          sigabbrev_np(sig), Ms(died));
    // A crash (crash_before_write aborts the buyer) is no kill: the
    // legend names each for what it is.
    const bool crashed =
        h.killed_ns >= 0
            ? h.killed_by == static_cast<uint32_t>(FaultKind::kCrash)
            : sig == SIGABRT;
    return Point(crashed ? "crashed" : "killed", died, Mid(i),
                 fmt::format("buyer {} {}", buyer, why), "\u2715");
  }

  // The buyer's waits and holds, one row per guard, and its back-offs.
  std::string Guards(size_t i) {
    std::string out;
    if (guards_ == 0) return out;
    const GuardHistory& h = guard_history_[i];
    for (const GuardSpan& s : h.spans) {
      if (s.event >= guards_) continue;
      const int64_t to = s.to_ns >= 0 ? s.to_ns : OpenEnd(i);
      if (to < sample_.from_ns || s.from_ns > sample_.to_ns) continue;
      out += s.kind == SpanKind::kWait ? Wait(i, s, to) : Hold(i, s, to);
    }
    for (const BackoffMark& b : h.backoffs) {
      if (b.time_ns < sample_.from_ns || b.time_ns > sample_.to_ns) continue;
      out += Backoff(i, b);
    }
    return out;
  }

  // Whether `s`, a span still open, is the buyer's part of the deadlock's
  // cycle.
  bool InCycle(size_t lane, const GuardSpan& s) const {
    return s.to_ns < 0 &&
           cycle_.contains({sample_.lanes[lane], s.event, s.kind});
  }

  std::string Wait(size_t i, const GuardSpan& s, int64_t to) {
    const bool cycle = InCycle(i, s);
    return Bar({.cls = cycle ? "wait cycle" : "wait",
                .from = s.from_ns,
                .to = to,
                .y = GuardMid(i, s.event) - kWaitHeight / 2,
                .height = kWaitHeight,
                .info = fmt::format("buyer {} waits for {} from {} {}{}",
                                    sample_.lanes[i], GuardName(s.event),
                                    Ms(s.from_ns), WaitEnd(i, s, to),
                                    cycle ? " -- the deadlock's cycle" : "")});
  }

  std::string WaitEnd(size_t i, const GuardSpan& s, int64_t to) const {
    switch (s.end) {
      case SpanEnd::kAcquired:
        return fmt::format("to {}, when it got it", Ms(to));
      case SpanEnd::kFailed:
        return fmt::format("to {}, when it gave up ({})", Ms(to),
                           FailureWhy(s.failure));
      default:
        return OpenEnd(i) == run_end_
                   ? fmt::format("and still waits when the run ends at {}",
                                 Ms(to))
                   : fmt::format("until it is killed at {}", Ms(to));
    }
  }

  std::string Hold(size_t i, const GuardSpan& s, int64_t to) {
    const uint32_t buyer = sample_.lanes[i];
    const bool cycle = InCycle(i, s);
    const bool overlap = witnesses_.overlap_holds.contains(
        {buyer, static_cast<int64_t>(s.from_ns)});
    std::string cls = "hold";
    if (s.recovered) cls += " recovered";
    if (cycle) cls += " cycle";
    if (overlap) cls += " overlap";
    return Bar({.cls = cls,
                .from = s.from_ns,
                .to = to,
                .y = GuardMid(i, s.event) - kHoldHeight / 2,
                .height = kHoldHeight,
                .info = fmt::format(
                    "buyer {} holds {} from {} {}{}{}", buyer,
                    GuardName(s.event), Ms(s.from_ns), HoldEnd(i, s, to),
                    s.recovered ? " (taken over from a dead holder)" : "",
                    cycle     ? " -- the deadlock's cycle"
                    : overlap ? " -- while another buyer held it too (a lock "
                                "overlap)"
                              : "")});
  }

  std::string HoldEnd(size_t i, const GuardSpan& s, int64_t to) const {
    switch (s.end) {
      case SpanEnd::kRelease:
        return fmt::format("to {}, when it released it", Ms(to));
      case SpanEnd::kBackoff:
        return fmt::format("to {}, when it gave it back (try-backoff)", Ms(to));
      default:
        return OpenEnd(i) == run_end_
                   ? fmt::format("and still holds it when the run ends at {}",
                                 Ms(to))
                   : fmt::format("until it is killed at {}, holding it",
                                 Ms(to));
    }
  }

  // A try-backoff round: the guard found held, and those given back.
  std::string Backoff(size_t i, const BackoffMark& b) {
    std::string back;
    for (size_t g = 0; g < 32; ++g) {
      if (b.given_back & (1u << g)) {
        back += (back.empty() ? "" : " and ") + GuardName(g);
      }
    }
    return Point(
        "backoff", b.time_ns,
        GuardMid(i, std::min(b.found_held, guards_ - 1)) - 1,
        fmt::format(
            "buyer {} finds {} held at {}: back-off {} of attempt {}, {}",
            sample_.lanes[i], GuardName(b.found_held), Ms(b.time_ns), b.round,
            b.attempt + 1,
            back.empty() ? "holding nothing to give back"
                         : "gives back " + back),
        "\u25c6");
  }

  // A truncating writer's empty file: the window a torn read falls in.
  std::string EmptyFiles(size_t i) {
    std::string out;
    const uint32_t buyer = sample_.lanes[i];
    for (const EmptyFile& f : guard_history_[i].empty_files) {
      const int64_t to = f.to_ns >= 0 ? f.to_ns : OpenEnd(i);
      if (to < sample_.from_ns || f.from_ns > sample_.to_ns) continue;
      const auto witness = witnesses_.torn_writer.find({buyer, f.from_ns});
      const bool witnessed = witness != witnesses_.torn_writer.end();
      out += Bar(
          {.cls = witnessed ? "empty-window witness" : "empty-window",
           .from = f.from_ns,
           .to = to,
           .y = Mid(i) - kBarHeight / 2 - 4,
           .height = kBarHeight + 8,
           .info = fmt::format(
               "buyer {} truncates the file at {} and {}: the file is empty "
               "meanwhile, and a query then finds no count",
               buyer, Ms(f.from_ns),
               f.to_ns >= 0 ? fmt::format("writes the count at {}", Ms(to))
                            : std::string("never writes it")),
           .extra = witnessed ? fmt::format(" style=\"stroke:{}\"",
                                            kWitnessColors[witness->second])
                              : "",
           .min_width = 2});
    }
    return out;
  }

  // A witnessed torn read, tied to the writer's empty file it fell in.
  std::string TornLinks() {
    std::string out;
    for (const Witnesses::Link& l : witnesses_.links) {
      const auto reader = lane_of_.find(l.reader);
      const auto writer = lane_of_.find(l.writer);
      if (reader == lane_of_.end() || writer == lane_of_.end()) continue;
      const int64_t to = l.to_ns >= 0 ? l.to_ns : run_end_;
      const int64_t at = std::clamp(l.read_ns, l.from_ns, to);
      const std::string info = fmt::format(
          "buyer {}'s read at {} fell in buyer {}'s empty file ({} to {})",
          l.reader, Ms(l.read_ns), l.writer, Ms(l.from_ns), Ms(to));
      out += fmt::format(
          "<line class=\"{}\" x1=\"{:.2f}\" y1=\"{:.1f}\" x2=\"{:.2f}\" "
          "y2=\"{:.1f}\" style=\"stroke:{}\" data-x1-ns=\"{}\" "
          "data-x2-ns=\"{}\" data-info=\"{}\"><title>{}</title></line>\n",
          Use("torn-link"), X(l.read_ns), Mid(reader->second), X(at),
          Mid(writer->second), kWitnessColors[l.color], l.read_ns, at,
          XmlEscape(info), XmlEscape(info));
    }
    return out;
  }

  std::string AttemptMarks(const Attempt& a, double mid) {
    const double bar_y = mid - kBarHeight / 2;
    // Around the critical section it stalls: a frame behind its bar.
    std::string pause;
    if (a.fault == static_cast<uint32_t>(FaultKind::kPause)) {
      // A stalled holder: the stretch it spent stopped, guard in hand.
      const int64_t until = a.fault_ns + a.fault_value * 1000000;
      pause =
          Bar({.cls = "pause",
               .from = a.fault_ns,
               .to = until,
               .y = bar_y - 5,
               .height = kBarHeight + 10,
               .info = fmt::format("buyer {} {} (pause_holder), from {} to {}",
                                   a.buyer, FaultWhat(a.fault, a.fault_value),
                                   Ms(a.fault_ns), Ms(until)),
               .min_width = 2});
    }
    return pause + Purchase(a, mid);
  }

  // A purchase: its query, then its critical section from its read to its
  // outcome, labelled with the seat it sold.
  std::string Purchase(const Attempt& a, double mid) {
    std::string out;
    if (a.query_ns >= 0) out += Query(a, mid);
    if (a.read_ns < 0) {
      if (a.outcome == Outcome::kFailed) {
        out += Point("failed", a.outcome_ns, mid,
                     fmt::format("buyer {} {} at {}", a.buyer,
                                 FailureWhy(a.failure), Ms(a.outcome_ns)),
                     "!");
      }
      return out;
    }
    const Stretch cs = CriticalSection(a, mid);
    out += Bar(cs);
    if (a.outcome == Outcome::kBought) out += SeatLabel(a.seat, cs);
    return out;
  }

  std::string Query(const Attempt& a, double mid) {
    std::string cls = "query";
    std::string extra;
    if (a.query_torn) {
      cls += " torn";
      extra = TornWitness(a.buyer, a.query_ns, &cls);
    }
    return Point(cls, a.query_ns, mid,
                 a.query_torn
                     ? fmt::format("buyer {} queries at {} and finds no "
                                   "count (the file is empty): a torn read",
                                   a.buyer, Ms(a.query_ns))
                     : fmt::format("buyer {} queries at {}: {} left", a.buyer,
                                   Ms(a.query_ns), a.query_value),
                 nullptr, extra);
  }

  // A torn read that witnesses a violation: " witness" added to `cls`, and
  // the stroke of its colour. "" for one that does not.
  std::string TornWitness(uint32_t buyer, int64_t read_ns, std::string* cls) {
    const auto w = witnesses_.torn_reader.find({buyer, read_ns});
    if (w == witnesses_.torn_reader.end()) return "";
    *cls += " witness";
    return fmt::format(" style=\"stroke:{}\"", kWitnessColors[w->second]);
  }

  // The bar from the read to the outcome (or the last event), drawn as
  // its outcome says.
  Stretch CriticalSection(const Attempt& a, double mid) {
    Stretch cs{.cls = "cs",
               .from = a.read_ns,
               .to = a.outcome_ns >= 0 ? a.outcome_ns : a.last_ns,
               .y = mid - kBarHeight / 2,
               .height = kBarHeight,
               .min_width = 2};
    switch (a.outcome) {
      case Outcome::kBought:
        Bought(a, &cs);
        break;
      case Outcome::kSoldOut:
        cs.cls += " sold-out";
        cs.info = fmt::format("buyer {} reads 0 at {}: sold out", a.buyer,
                              Ms(a.read_ns));
        break;
      case Outcome::kFailed:
        cs.cls += " failed";
        cs.info = fmt::format("buyer {} reads {} at {}, then {} at {}", a.buyer,
                              a.read_value, Ms(a.read_ns),
                              FailureWhy(a.failure), Ms(a.outcome_ns));
        break;
      case Outcome::kTorn:
        cs.cls += " torn";
        cs.extra = TornWitness(a.buyer, a.read_ns, &cs.cls);
        cs.info = fmt::format(
            "buyer {} reads at {} and finds no count (the file is empty): a "
            "torn read",
            a.buyer, Ms(a.read_ns));
        break;
      case Outcome::kPending:
        Pending(a, &cs);
        break;
    }
    return cs;
  }

  void Bought(const Attempt& a, Stretch* cs) {
    const auto group = witnesses_.seat_group.find(a.seat);
    if (group != witnesses_.seat_group.end()) {
      cs->cls += " witness";
      cs->extra =
          fmt::format(" style=\"fill:{}\"", kWitnessColors[group->second]);
    }
    cs->extra += fmt::format(" data-seat=\"{}\"", a.seat);
    const std::string sold = SeatSold(a.seat, sold_.at(a.seat));
    cs->info = run_.program != nullptr
                   ? fmt::format("buyer {}'s purchase from {} to {} -- {}",
                                 a.buyer, Ms(a.read_ns), Ms(a.outcome_ns), sold)
               : a.atomic ? fmt::format(
                                "buyer {} takes a ticket in one step at {} "
                                "-- {}",
                                a.buyer, Ms(a.outcome_ns), sold)
                          : fmt::format(
                                "buyer {} reads {} at {} and writes {} at {} "
                                "-- {}",
                                a.buyer, a.read_value, Ms(a.read_ns), a.written,
                                Ms(a.outcome_ns), sold);
  }

  // It never finished: its window lasts until it died.
  void Pending(const Attempt& a, Stretch* cs) {
    if (killed_[a.buyer]) {
      cs->to = std::max(cs->to, DeathOf(lane_of_.at(a.buyer)));
    }
    cs->cls += " pending";
    cs->info =
        fmt::format("buyer {} reads {} at {} and never finishes: indeterminate",
                    a.buyer, a.read_value, Ms(a.read_ns));
  }

  // The seat sold, inside its bar if the bar is wide enough to hold it.
  std::string SeatLabel(int64_t seat, const Stretch& cs) const {
    const double x = X(cs.from);
    const double width = std::max(2.0, X(cs.to) - x);
    return fmt::format(
        "<text class=\"seat\" x=\"{:.2f}\" y=\"{:.1f}\" data-from-ns=\"{}\" "
        "data-to-ns=\"{}\"{}>{}</text>\n",
        x + width / 2, cs.y + kBarHeight - 3, cs.from, cs.to,
        width >= 16 ? "" : " display=\"none\"", seat);
  }

  const RunResult& run_;
  const int id_;
  const Witnesses witnesses_;
  Sample sample_;
  const std::vector<bool> killed_;
  const int64_t run_end_;
  const std::optional<ThreadsDeath> threads_death_;
  const size_t guards_;
  std::vector<std::vector<Attempt>> attempts_;  // per lane
  std::vector<GuardHistory> guard_history_;     // per lane
  std::map<uint32_t, size_t> lane_of_;          // buyer -> lane
  std::vector<double> lane_top_;                // below the header
  double height_ = 0;
  std::map<int64_t, int64_t> sold_;  // seat -> times sold, in the sample
  std::set<std::tuple<uint32_t, size_t, SpanKind>> cycle_;
  std::set<std::string> classes_;
  double scale_ = 1;
};

}  // namespace

TimelineDrawing DrawTimeline(const RunResult& run, const Verdict& verdict,
                             int id) {
  return Drawing(run, verdict, id).Draw();
}

}  // namespace ticketsim
