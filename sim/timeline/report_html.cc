#include "sim/timeline/report_html.h"

#include <fmt/format.h>

#include <atomic>
#include <string_view>

#include "sim/history/event_words.h"
#include "sim/report/rates.h"
#include "sim/timeline/timeline_svg.h"

namespace ticketsim {
namespace {

// A witness's stretch of time, for the page's script to zoom to.
std::string TimeAttributes(const Witness& w) {
  if (w.steps.empty()) return "";
  return fmt::format(
      " class=\"witness-item\" data-from-ns=\"{}\" data-to-ns=\"{}\" "
      "title=\"click to zoom the timeline to {} .. {}\"",
      w.from_ns, w.to_ns, FormatTime(w.from_ns), FormatTime(w.to_ns));
}

// Each kind of `list` with its summary and witnesses, as list items.
std::string KindsHtml(const std::vector<Violation>& list) {
  std::string out;
  for (const Violation& v : list) {
    out +=
        fmt::format("<li><b>{} x{}</b>: {}", XmlEscape(ViolationName(v.kind)),
                    v.count, XmlEscape(v.summary));
    if (!v.witnesses.empty()) {
      out += "<ul>";
      for (const Witness& w : v.witnesses) {
        out +=
            fmt::format("<li{}>{}</li>", TimeAttributes(w), XmlEscape(w.text));
      }
      if (v.unwitnessed > 0) {
        out += fmt::format("<li>and {} more</li>", v.unwitnessed);
      }
      out += "</ul>";
    }
    out += "</li>\n";
  }
  return out;
}

std::string VerdictHtml(const RunResult& run, const Verdict& verdict) {
  // A run cut short checked only the purchases that finished.
  const std::string cut = run.timed_out     ? "the run hit its time limit"
                          : run.interrupted ? "the run was interrupted"
                                            : "";
  std::string out;
  if (!verdict.ok()) {
    out = fmt::format(
        "<div class=\"verdict bad\">VIOLATED: {}{}</div>\n<ul "
        "class=\"violations\">\n{}</ul>\n",
        XmlEscape(ListViolations(verdict.Counts())),
        cut.empty() ? "" : fmt::format(" (verdict incomplete: {})", cut),
        KindsHtml(verdict.violations));
  } else if (!cut.empty()) {
    out = fmt::format(
        "<div class=\"verdict bad\">Verdict incomplete ({}): no violation "
        "among the purchases that finished</div>\n",
        cut);
  } else {
    out = "<div class=\"verdict ok\">No violation</div>\n";
  }
  if (!verdict.findings.empty()) {
    out += fmt::format(
        "<div class=\"verdict found\">Found (not a violation): {}</div>\n<ul "
        "class=\"violations\">\n{}</ul>\n",
        XmlEscape(ListViolations(verdict.FindingCounts())),
        KindsHtml(verdict.findings));
  }
  return out;
}

// What each class of mark means, and a swatch drawn with that very class.
struct LegendEntry {
  const char* cls;
  const char* swatch;  // SVG content; {0} is the drawing's id
  const char* text;
};

constexpr LegendEntry kLegend[] = {
    {"query", "<circle class=\"query\" cx=\"14\" cy=\"8\" r=\"3.5\"/>",
     "query: a buyer asks how many tickets are left"},
    {"torn",
     "<circle class=\"query torn\" cx=\"8\" cy=\"8\" r=\"3.5\"/>"
     "<rect class=\"cs torn\" x=\"15\" y=\"2\" width=\"11\" height=\"12\"/>",
     "torn read: a query or read that found no count"},
    {"empty-window",
     "<rect class=\"empty-window\" x=\"2\" y=\"1\" width=\"24\" "
     "height=\"14\"/>",
     "empty file: a truncating write has emptied it and not yet written "
     "the count (a torn read's window)"},
    {"torn-link",
     "<line class=\"torn-link\" x1=\"4\" y1=\"2\" x2=\"24\" y2=\"14\" "
     "style=\"stroke:" /* witness colour */ "#e377c2\"/>",
     "which writer's empty file a witnessed torn read fell in"},
    {"wait", "<rect class=\"wait\" x=\"2\" y=\"6\" width=\"24\" height=\"4\"/>",
     "waiting for a guard: until it gets it, gives up, or the run ends"},
    {"hold", "<rect class=\"hold\" x=\"2\" y=\"4\" width=\"24\" height=\"8\"/>",
     "holding a guard: until it releases it, gives it back, dies, or the "
     "run ends"},
    {"recovered",
     "<rect class=\"hold recovered\" x=\"2\" y=\"4\" width=\"24\" "
     "height=\"8\"/>",
     "a guard taken over from a holder that died"},
    {"cycle",
     "<rect class=\"hold cycle\" x=\"2\" y=\"2\" width=\"11\" height=\"8\"/>"
     "<rect class=\"wait cycle\" x=\"15\" y=\"8\" width=\"11\" "
     "height=\"4\"/>",
     "the deadlock's cycle: each buyer holds the guard the next one waits "
     "for"},
    {"overlap",
     "<rect class=\"hold overlap\" x=\"2\" y=\"4\" width=\"24\" "
     "height=\"8\"/>",
     "a lock overlap's witness: held while another buyer held the same "
     "lock"},
    {"backoff", "<text class=\"backoff\" x=\"14\" y=\"12.5\">\u25c6</text>",
     "back-off: found a guard held, gave back the guards it held"},
    {"cs",
     "<rect class=\"cs\" x=\"2\" y=\"1\" width=\"24\" height=\"14\" "
     "rx=\"2\"/>",
     "read to write: a purchase's critical section (the seat on the bar)"},
    {"sold-out",
     "<rect class=\"cs sold-out\" x=\"2\" y=\"1\" width=\"24\" "
     "height=\"14\"/>",
     "read 0: sold out"},
    {"failed",
     "<rect class=\"cs failed\" x=\"2\" y=\"1\" width=\"12\" height=\"14\"/>"
     "<text class=\"failed\" x=\"21\" y=\"12.5\">!</text>",
     "failed: gave up waiting for the guard, or the store failed"},
    {"pending",
     "<rect class=\"cs pending\" x=\"2\" y=\"1\" width=\"24\" "
     "height=\"14\"/>",
     "read, never wrote: an indeterminate purchase (its buyer died)"},
    {"pause",
     "<rect class=\"pause\" x=\"2\" y=\"0\" width=\"24\" height=\"16\"/>",
     "stopped by pause_holder, guard in hand"},
    {"killed", "<text class=\"killed\" x=\"14\" y=\"13\">\u2715</text>",
     "killed"},
    {"crashed", "<text class=\"crashed\" x=\"14\" y=\"13\">\u2715</text>",
     "crashed: crash_before_write aborted the buyer (SIGABRT)"},
    {"abandoned",
     "<defs><pattern id=\"legend-hatch-{0}\" width=\"8\" height=\"8\" "
     "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
     "<rect class=\"hatch-line\" width=\"3\" height=\"8\"/></pattern></defs>"
     "<rect class=\"abandoned\" x=\"2\" y=\"0\" width=\"24\" height=\"16\" "
     "style=\"fill:url(#legend-hatch-{0})\"/>",
     "abandoned lock: its holder died holding it; nobody can take it until "
     "the run ends"},
    {"run-end",
     "<line class=\"run-end\" x1=\"14\" x2=\"14\" y1=\"0\" y2=\"16\"/>",
     "ticketsim ends the run (why is written at its top)"},
    {"witness",
     "<rect class=\"cs witness\" x=\"2\" y=\"1\" width=\"7\" height=\"14\" "
     "style=\"fill:#e377c2\"/><rect class=\"cs witness\" x=\"10.5\" y=\"1\" "
     "width=\"7\" height=\"14\" style=\"fill:#ad1457\"/><rect class=\"cs "
     "witness\" x=\"19\" y=\"1\" width=\"7\" height=\"14\" "
     "style=\"fill:#f06292\"/>",
     "a witness of a violation: one colour per witness, none used for "
     "anything else"},
    {"witness-band",
     "<rect class=\"witness-band\" x=\"2\" y=\"0\" width=\"24\" height=\"16\" "
     "style=\"fill:#e377c2\"/>",
     "one seat sold more than once: its buyers' read-to-write windows "
     "overlap"},
};

std::string LegendHtml(const TimelineDrawing& drawing, int id) {
  std::string out = "<div class=\"legend\">";
  for (const LegendEntry& e : kLegend) {
    if (!drawing.classes.contains(e.cls)) continue;
    out += fmt::format(
        "<span data-legend=\"{}\"><svg class=\"swatch\" "
        "xmlns=\"http://www.w3.org/2000/svg\" width=\"28\" height=\"16\" "
        "viewBox=\"0 0 28 16\">{}</svg>{}</span>",
        e.cls, fmt::format(fmt::runtime(e.swatch), id), e.text);
  }
  return out + "</div>\n";
}

// Every colour means one thing; the witnesses' family (kWitnessColors) is
// set on their marks and used by nothing else.
constexpr const char* kStyle = R"(
body { font: 14px/1.4 system-ui, sans-serif; margin: 16px 24px; color: #222; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 4px; }
.description { color: #555; max-width: 70em; }
.setup, .sample { color: #555; font-size: 13px; }
.verdict { font-weight: bold; font-size: 16px; padding: 6px 10px; margin: 10px 0;
  border-radius: 4px; display: inline-block; }
.verdict.ok { background: #e3f4e3; color: #1a7f1a; }
.verdict.bad { background: #fde8e8; color: #b00020; }
.verdict.found { background: #fff4d6; color: #7a5200; }
.violations { margin-top: 0; }
.witness-item { cursor: zoom-in; text-decoration: underline dotted; }
#info { position: sticky; top: 0; background: #ffffe8; border: 1px solid #ddd;
  padding: 4px 8px; min-height: 1.4em; font-family: monospace; z-index: 1; }
.zoom-bar { font-size: 13px; color: #555; margin: 8px 0 4px; }
.zoom-range { font-family: monospace; color: #222; }
svg.timeline { display: block; width: 100%; height: auto; margin-top: 4px;
  user-select: none; cursor: crosshair; }
.axis line { stroke: #ddd; }
.axis text { font-size: 11px; fill: #666; text-anchor: middle; }
.lane-bg { fill: #fff; }
.lane-bg.even { fill: #f4f4f4; }
.lane-label { font-size: 12px; fill: #333; }
.guard-label { font-size: 9px; fill: #777; }
.legend { margin: 6px 0; }
.legend span { display: inline-block; margin: 2px 14px 2px 0; font-size: 12px; }
.legend svg.swatch { vertical-align: middle; margin-right: 4px; }
.query { fill: #7f7f7f; }
.wait { fill: #dbb40c; }
.hold { fill: #2ca02c; }
.recovered { stroke: #2ca02c; stroke-width: 1.5; fill: #a6dba0; }
.cs { fill: #1f77b4; }
.sold-out { fill: #c7c7c7; }
.failed { fill: #ff7f0e; font-size: 14px; font-weight: bold; text-anchor: middle; }
.pending { fill: #fff; stroke: #1f77b4; stroke-width: 1.5; stroke-dasharray: 3 2; }
.torn { fill: #d62728; }
.cycle { stroke: #9467bd; stroke-width: 2.5; }
.wait.cycle { stroke-width: 1; }
.overlap { stroke: #e377c2; stroke-width: 2.5; }
.backoff { fill: #17becf; font-size: 11px; text-anchor: middle; }
.empty-window { fill: #bcbd22; fill-opacity: 0.35; stroke: #bcbd22;
  stroke-width: 1; }
.killed, .crashed { fill: #000; font-size: 14px; font-weight: bold; text-anchor: middle; }
.pause { fill: #8c564b; opacity: 0.6; }
.abandoned { stroke: #2f4f4f; stroke-width: 1; }
.hatch-line { fill: #2f4f4f; fill-opacity: 0.3; }
.abandoned-label { font-size: 11px; fill: #2f4f4f; font-weight: bold; }
.run-end { stroke: #555; stroke-width: 2; stroke-dasharray: 6 3; }
.run-end-label { font-size: 11px; fill: #555; font-weight: bold;
  text-anchor: end; }
.witness { stroke: #5c0a36; stroke-width: 1; }
.query.witness, .empty-window.witness { stroke-width: 2.5; }
.witness-band { opacity: 0.2; }
.torn-link { stroke-width: 2; stroke-dasharray: 2 2; }
.seat { font-size: 10px; fill: #fff; text-anchor: middle; pointer-events: none; }
.zoom-select { fill: #1f77b4; fill-opacity: 0.15; stroke: #1f77b4; }
)";

// Shows the hovered mark's exact times and values in the info line, and
// zooms: the marks are laid out again from their data attributes.
constexpr const char* kScript = R"(
(function () {
  'use strict';
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var info = document.getElementById('info');
  document.querySelectorAll('[data-info]').forEach(function (el) {
    el.addEventListener('mouseenter', function () {
      info.textContent = el.getAttribute('data-info');
    });
  });
  function num(el, name) { return Number(el.getAttribute(name)); }
  function ms(ns) { return (ns / 1e6).toFixed(3) + ' ms'; }
  function tickStep(spanMs) {
    var raw = Math.max(spanMs / 8, 1e-6);
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var m = [1, 2, 5];
    for (var i = 0; i < m.length; ++i) {
      if (m[i] * power >= raw) return m[i] * power;
    }
    return 10 * power;
  }
  function layout(svg, from, to) {
    var left = num(svg, 'data-plot-left');
    var width = num(svg, 'data-plot-width');
    var k = width / Math.max(1, to - from);
    function X(t) {
      return Math.min(left + width + 2, Math.max(left - 2, left + (t - from) * k));
    }
    svg.setAttribute('data-from-ns', String(from));
    svg.setAttribute('data-to-ns', String(to));
    function show(el, shown) {
      if (shown) el.removeAttribute('display');
      else el.setAttribute('display', 'none');
    }
    svg.querySelectorAll('[data-from-ns]').forEach(function (el) {
      var t0 = num(el, 'data-from-ns');
      var t1 = num(el, 'data-to-ns');
      var a = X(t0);
      var b = X(t1);
      var inside = t1 >= from && t0 <= to;
      if (el.tagName === 'rect') {
        var min = Number(el.getAttribute('data-min-w') || 1);
        el.setAttribute('x', a.toFixed(2));
        el.setAttribute('width', Math.max(min, b - a).toFixed(2));
        show(el, inside);
      } else {
        var w = Math.max(2, b - a);
        el.setAttribute('x', (a + w / 2).toFixed(2));
        show(el, inside && w >= 16);
      }
    });
    svg.querySelectorAll('[data-at-ns]').forEach(function (el) {
      var t = num(el, 'data-at-ns');
      var x = X(t).toFixed(2);
      if (el.tagName === 'circle') el.setAttribute('cx', x);
      else if (el.tagName === 'line') {
        el.setAttribute('x1', x);
        el.setAttribute('x2', x);
      } else el.setAttribute('x', x);
      show(el, t >= from && t <= to);
    });
    svg.querySelectorAll('[data-x1-ns]').forEach(function (el) {
      el.setAttribute('x1', X(num(el, 'data-x1-ns')).toFixed(2));
      el.setAttribute('x2', X(num(el, 'data-x2-ns')).toFixed(2));
    });
    var axis = svg.querySelector('g.axis');
    while (axis.firstChild) axis.removeChild(axis.firstChild);
    var step = tickStep((to - from) / 1e6);
    var decimals = Math.max(0, -Math.floor(Math.log10(step)));
    var first = Math.ceil(from / 1e6 / step) * step;
    for (var i = 0; ; ++i) {
      var t = first + i * step;
      if (t > to / 1e6 + 1e-9) break;
      var x = X(t * 1e6).toFixed(2);
      var line = document.createElementNS(SVG_NS, 'line');
      line.setAttribute('x1', x);
      line.setAttribute('x2', x);
      line.setAttribute('y1', axis.getAttribute('data-y1'));
      line.setAttribute('y2', axis.getAttribute('data-y2'));
      var text = document.createElementNS(SVG_NS, 'text');
      text.setAttribute('x', x);
      text.setAttribute('y', axis.getAttribute('data-label-y'));
      text.textContent = t.toFixed(decimals) + ' ms';
      axis.appendChild(line);
      axis.appendChild(text);
    }
    var section = svg.closest('section');
    var range = section && section.querySelector('.zoom-range');
    if (range) range.textContent = ms(from) + ' to ' + ms(to);
  }
  function zoom(svg, from, to) {
    var lo = num(svg, 'data-run-from-ns');
    var hi = num(svg, 'data-run-to-ns');
    from = Math.max(lo, Math.floor(from));
    to = Math.min(hi, Math.ceil(to));
    if (!(to - from >= 100)) return;
    layout(svg, from, to);
  }
  // The drawing is laid out for a width of its own; on the page it takes
  // the window's width, and is laid out again for it so that its text
  // keeps its size.
  function fit(svg) {
    var px = Math.round(svg.getBoundingClientRect().width);
    var left = num(svg, 'data-plot-left');
    var right = num(svg, 'data-plot-right');
    var width = Math.max(200, px - left - right);
    if (!(px > 0) || Math.abs(width - num(svg, 'data-plot-width')) < 1) return;
    var total = left + width + right;
    svg.setAttribute('viewBox',
                     '0 0 ' + total + ' ' + svg.viewBox.baseVal.height);
    svg.setAttribute('data-plot-width', String(width));
    svg.querySelectorAll('rect.lane-bg').forEach(function (r) {
      r.setAttribute('width', String(total));
    });
    svg.querySelectorAll('rect.clip').forEach(function (r) {
      r.setAttribute('width', String(width + 2 * (left - num(r, 'x'))));
    });
    layout(svg, num(svg, 'data-from-ns'), num(svg, 'data-to-ns'));
  }
  var svgs = Array.prototype.slice.call(
      document.querySelectorAll('svg.timeline'));
  svgs.forEach(fit);
  window.addEventListener('resize', function () { svgs.forEach(fit); });
  window.ticketsimZoom = function (from, to, svg) {
    (svg ? [svg] : svgs).forEach(function (s) { zoom(s, from, to); });
  };
  svgs.forEach(function (svg) {
    var section = svg.closest('section');
    var start = null;
    var select = null;
    function svgX(ev) {
      var left = num(svg, 'data-plot-left');
      var width = num(svg, 'data-plot-width');
      var p = svg.createSVGPoint();
      p.x = ev.clientX;
      p.y = ev.clientY;
      var x = p.matrixTransform(svg.getScreenCTM().inverse()).x;
      return Math.min(left + width, Math.max(left, x));
    }
    function ns(x) {
      var left = num(svg, 'data-plot-left');
      var width = num(svg, 'data-plot-width');
      var from = num(svg, 'data-from-ns');
      var to = num(svg, 'data-to-ns');
      return from + (x - left) / width * (to - from);
    }
    svg.addEventListener('mousedown', function (ev) {
      start = svgX(ev);
      select = document.createElementNS(SVG_NS, 'rect');
      select.setAttribute('class', 'zoom-select');
      select.setAttribute('x', start);
      select.setAttribute('y', 0);
      select.setAttribute('width', 0);
      select.setAttribute('height', svg.viewBox.baseVal.height);
      svg.appendChild(select);
      ev.preventDefault();
    });
    window.addEventListener('mousemove', function (ev) {
      if (start === null) return;
      var x = svgX(ev);
      select.setAttribute('x', Math.min(x, start));
      select.setAttribute('width', Math.abs(x - start));
    });
    window.addEventListener('mouseup', function (ev) {
      if (start === null) return;
      var x = svgX(ev);
      svg.removeChild(select);
      if (Math.abs(x - start) > 3) {
        zoom(svg, ns(Math.min(x, start)), ns(Math.max(x, start)));
      }
      start = null;
      select = null;
    });
    if (!section) return;
    var reset = section.querySelector('.reset-zoom');
    if (reset) {
      reset.addEventListener('click', function () {
        zoom(svg, num(svg, 'data-run-from-ns'), num(svg, 'data-run-to-ns'));
      });
    }
    section.querySelectorAll('li[data-from-ns]').forEach(function (li) {
      li.addEventListener('click', function () {
        var from = num(li, 'data-from-ns');
        var to = num(li, 'data-to-ns');
        var pad = Math.max((to - from) * 0.25, 20000);
        zoom(svg, from - pad, to + pad);
        svg.scrollIntoView({block: 'nearest'});
      });
    });
  });
  function fromHash() {
    var m = /^#zoom=(\d+)-(\d+)$/.exec(window.location.hash);
    if (m) window.ticketsimZoom(Number(m[1]), Number(m[2]));
  }
  window.addEventListener('hashchange', fromHash);
  fromHash();
})();
)";

// The scenario's description and how the run was set up and went.
std::string SetupHtml(const RunResult& run, const Verdict& verdict) {
  const Scenario& s = run.scenario;
  std::string out;
  if (!s.description.empty()) {
    out += fmt::format("<p class=\"description\">{}</p>\n",
                       XmlEscape(s.description));
  }
  out += fmt::format(
      "<p class=\"setup\">{}; seed {}. Tickets: initial {}, sold {}, "
      "remaining {}; {} attempts in {}.</p>\n",
      XmlEscape(DescribeSetup(s)), s.buyers.seed, verdict.initial,
      verdict.confirmed,
      verdict.final_count ? std::to_string(*verdict.final_count) : "unreadable",
      verdict.attempts, XmlEscape(DurationWords(run.seconds)));
  return out;
}

// What of a large run the timeline shows, if not all of it.
std::string SampleHtml(const RunResult& run, const TimelineDrawing& drawing) {
  if (drawing.all_lanes && drawing.all_time) return "";
  return fmt::format(
      "<p class=\"sample\">A sample: {} of {} buyers{}, {} of {} "
      "purchases, from {} to {}. The buyers of the highlighted witnesses "
      "come first.</p>\n",
      drawing.lanes, run.served_by.size(), drawing.all_lanes ? " (all)" : "",
      drawing.shown_attempts, drawing.total_attempts,
      FormatTime(static_cast<uint64_t>(drawing.from_ns)),
      FormatTime(static_cast<uint64_t>(drawing.to_ns)));
}

std::string ZoomBarHtml(const TimelineDrawing& drawing) {
  return fmt::format(
      "<div class=\"zoom-bar\">Time shown: <span class=\"zoom-range\">{} to "
      "{}</span> <button type=\"button\" class=\"reset-zoom\">reset "
      "zoom</button> Drag across the timeline to zoom into a stretch of "
      "time; click a witness above to zoom to it.</div>\n",
      FormatTime(static_cast<uint64_t>(drawing.from_ns)),
      FormatTime(static_cast<uint64_t>(drawing.to_ns)));
}

}  // namespace

std::string HtmlRunSection(const RunResult& run, const Verdict& verdict,
                           const std::string& caption) {
  // Tells one drawing's SVG definitions from another's on the same page.
  static std::atomic<int> next_id{0};
  const int id = next_id++;
  const TimelineDrawing drawing = DrawTimeline(run, verdict, id);
  std::string out = "<section class=\"run\">\n";
  out += fmt::format("<h2>{}</h2>\n", XmlEscape(caption));
  out += SetupHtml(run, verdict);
  out += VerdictHtml(run, verdict);
  out += SampleHtml(run, drawing);
  out += ZoomBarHtml(drawing);
  out += LegendHtml(drawing, id);
  out += drawing.svg;
  return out + "</section>\n";
}

std::string HtmlPage(const std::string& title,
                     const std::vector<std::string>& sections) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width\">\n"
      "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n"
      "<h1>{}</h1>\n"
      "<div id=\"info\">Hover over a mark for its exact times and "
      "values.</div>\n",
      XmlEscape(title), kStyle, XmlEscape(title));
  for (const std::string& section : sections) out += section;
  out += fmt::format("<script>{}</script>\n</body>\n</html>\n", kScript);
  return out;
}

}  // namespace ticketsim
