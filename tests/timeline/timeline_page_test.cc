// The timeline page of the library's runs that a class is shown: a
// deadlock, an abandoned lock, back-offs, a torn read and a semaphore's
// three holders. Each page is rendered by a real headless Chromium and read
// back from the DOM it holds after the page's script ran; screenshots at
// two window widths go to the build folder, to be looked at.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sim/history/history.h"
#include "sim/timeline/timeline.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::Ran;
using ::ticketsim::testing::ReadFile;
using ::ticketsim::testing::RunProgram;
using ::ticketsim::testing::RunTicketsimArgs;
using ::ticketsim::testing::TempDir;

const std::string kLibrary = TICKETSIM_SOURCE_DIR "/scenarios/";
const std::string kBuild = TICKETSIM_BUILD_DIR;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

std::string Chromium() {
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

// One element of the DOM: its tag, attributes and classes.
struct Element {
  std::string tag;
  std::map<std::string, std::string> attrs;
  std::set<std::string> classes;
  bool Has(const std::string& cls) const { return classes.contains(cls); }
  std::string Attr(const std::string& name) const {
    const auto it = attrs.find(name);
    return it == attrs.end() ? "" : it->second;
  }
  double Num(const std::string& name) const {
    const auto it = attrs.find(name);
    return it == attrs.end() ? NAN : std::stod(it->second);
  }
  // A bar's right edge.
  double Right() const { return Num("x") + Num("width"); }
};

Event At(uint64_t t, EventKind kind, uint16_t event, uint32_t aux = 0,
         int64_t value = 0) {
  Event e{};
  e.time_ns = t;
  e.kind = kind;
  e.event = event;
  e.aux = aux;
  e.value = value;
  e.buyer = 1;
  return e;
}

// A buyer's waits and holds end where its history says: a wait at the
// taking, a hold at its release or at the back-off that gave it back; a
// hold never given back stays open, and a kill_holder fault last is its
// death.
TEST(GuardHistoryTest, SpansEndWhereTheHistorySays) {
  const std::vector<Event> events = {
      At(10, EventKind::kWaiting, 0),
      At(15, EventKind::kAcquired, 0, /*waited us=*/0),
      At(30, EventKind::kBackoff, 1, /*gave back=*/0b01, /*round=*/1),
      At(40, EventKind::kWaiting, 0),
      At(50, EventKind::kAcquired, 0),
      At(60, EventKind::kAcquired, 1),
      At(70, EventKind::kTruncated, 1),
      At(80, EventKind::kWrite, 1),
      At(90, EventKind::kRelease, 1),
      At(95, EventKind::kWaiting, 1),
      At(99, EventKind::kFault, 0, static_cast<uint32_t>(FaultKind::kKill)),
  };
  const GuardHistory h = GuardHistoryOf(events);
  ASSERT_EQ(h.spans.size(), 6u);
  const auto expect = [&h](size_t i, size_t event, SpanKind kind, int64_t from,
                           int64_t to, SpanEnd end) {
    SCOPED_TRACE(i);
    EXPECT_EQ(h.spans[i].event, event);
    EXPECT_EQ(h.spans[i].kind, kind);
    EXPECT_EQ(h.spans[i].from_ns, from);
    EXPECT_EQ(h.spans[i].to_ns, to);
    EXPECT_EQ(h.spans[i].end, end);
  };
  expect(0, 0, SpanKind::kWait, 10, 15, SpanEnd::kAcquired);
  expect(1, 0, SpanKind::kHold, 15, 30, SpanEnd::kBackoff);
  expect(2, 0, SpanKind::kWait, 40, 50, SpanEnd::kAcquired);
  expect(3, 0, SpanKind::kHold, 50, -1, SpanEnd::kOpen);
  expect(4, 1, SpanKind::kHold, 60, 90, SpanEnd::kRelease);
  expect(5, 1, SpanKind::kWait, 95, -1, SpanEnd::kOpen);
  ASSERT_EQ(h.backoffs.size(), 1u);
  EXPECT_EQ(h.backoffs[0].found_held, 1u);
  EXPECT_EQ(h.backoffs[0].given_back, 0b01u);
  EXPECT_EQ(h.backoffs[0].round, 1);
  ASSERT_EQ(h.empty_files.size(), 1u);
  EXPECT_EQ(h.empty_files[0].from_ns, 70);
  EXPECT_EQ(h.empty_files[0].to_ns, 80);
  EXPECT_EQ(h.killed_ns, 99);
  EXPECT_EQ(h.killed_by, static_cast<uint32_t>(FaultKind::kKill));
}

// The start tags of `html`, read plainly (the DOM Chromium writes quotes
// every attribute with ").
std::vector<Element> ElementsOf(const std::string& html) {
  std::vector<Element> out;
  const auto name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
           c == ':' || c == '_';
  };
  for (size_t at = html.find('<'); at != std::string::npos;
       at = html.find('<', at + 1)) {
    size_t i = at + 1;
    if (i >= html.size() ||
        !std::isalpha(static_cast<unsigned char>(html[i]))) {
      continue;
    }
    Element e;
    while (i < html.size() && name_char(html[i])) e.tag += html[i++];
    for (;;) {
      while (i < html.size() &&
             std::isspace(static_cast<unsigned char>(html[i]))) {
        ++i;
      }
      if (i >= html.size() || !name_char(html[i])) break;
      std::string name;
      while (i < html.size() && name_char(html[i])) name += html[i++];
      std::string value;
      if (i + 1 < html.size() && html[i] == '=' && html[i + 1] == '"') {
        const size_t close = html.find('"', i + 2);
        if (close == std::string::npos) break;
        value = html.substr(i + 2, close - i - 2);
        i = close + 1;
      }
      e.attrs[name] = value;
    }
    std::istringstream classes(e.attrs["class"]);
    for (std::string c; classes >> c;) e.classes.insert(c);
    out.push_back(std::move(e));
  }
  return out;
}

// A page as Chromium left it.
struct Page {
  std::string dom;
  std::vector<Element> timeline;  // the elements of the timeline's SVG
  std::vector<Element> all;

  std::vector<Element> With(const std::vector<std::string>& classes) const {
    std::vector<Element> out;
    for (const Element& e : timeline) {
      if (std::all_of(classes.begin(), classes.end(),
                      [&e](const std::string& c) { return e.Has(c); })) {
        out.push_back(e);
      }
    }
    return out;
  }
};

std::vector<std::string> CommonFlags(const std::string& chromium,
                                     const TempDir& profile, int width) {
  return {chromium,
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--hide-scrollbars",
          "--user-data-dir=" + profile.path(),
          "--enable-logging=stderr",
          "--v=0",
          "--window-size=" + std::to_string(width) + ",1600"};
}

Page DumpDom(const std::string& url, int width) {
  Page page;
  const std::string chromium = Chromium();
  if (chromium.empty()) {
    ADD_FAILURE() << "chromium is not installed; `make test` installs it";
    return page;
  }
  TempDir profile;
  std::vector<std::string> argv = CommonFlags(chromium, profile, width);
  argv.insert(argv.end(), {"--dump-dom", url});
  const Ran dom = RunProgram(argv);
  EXPECT_EQ(dom.exit_code, 0) << dom.out;
  // The page logs nothing: any console line is an error or a stray log.
  EXPECT_EQ(dom.out.find(":CONSOLE("), std::string::npos) << dom.out;
  EXPECT_EQ(dom.out.find("Uncaught"), std::string::npos) << dom.out;
  page.dom = dom.out;
  page.all = ElementsOf(dom.out);
  const size_t begin = dom.out.find("<svg class=\"timeline\"");
  const size_t end = dom.out.find("</svg>", begin);
  EXPECT_NE(begin, std::string::npos) << dom.out;
  if (begin != std::string::npos) {
    page.timeline = ElementsOf(dom.out.substr(begin, end - begin));
  }
  return page;
}

void Screenshot(const std::string& url, const std::string& name, int width) {
  const std::string png =
      kBuild + "/timeline-" + name + "-" + std::to_string(width) + ".png";
  std::remove(png.c_str());
  TempDir profile;
  std::vector<std::string> argv = CommonFlags(Chromium(), profile, width);
  argv.insert(argv.end(), {"--screenshot=" + png, url});
  const Ran shot = RunProgram(argv);
  ASSERT_EQ(shot.exit_code, 0) << shot.out;
  EXPECT_EQ(shot.out.find(":CONSOLE("), std::string::npos) << shot.out;
  const Ran file = RunProgram({"/usr/bin/head", "-c", "8", png});
  EXPECT_EQ(file.out.substr(1, 3), "PNG") << png;
}

// Every class a mark of the timeline carries is explained by the legend,
// and the legend explains nothing the timeline does not show.
void ExpectLegendExplainsEveryMark(const Page& page) {
  std::set<std::string> legend;
  for (const Element& e : page.all) {
    if (e.attrs.contains("data-legend"))
      legend.insert(e.attrs.at("data-legend"));
  }
  std::set<std::string> used;
  for (const Element& e : page.timeline) {
    if (!e.attrs.contains("data-info")) continue;
    for (const std::string& c : e.classes) {
      used.insert(c);
      EXPECT_TRUE(legend.contains(c)) << "no legend entry for class " << c;
    }
  }
  for (const std::string& c : legend) {
    EXPECT_TRUE(used.contains(c)) << "the legend explains an unused " << c;
  }
}

// Runs a library scenario with --html (its [expect] met: exit 0), reads
// the page's DOM at a 1400 px window, and saves screenshots at 1400 and
// 800 px. At 800 px the drawing is laid out for the window: no wider.
// Renders library scenario `name`, with `more` arguments (a controlled
// schedule, where the picture a test looks for must be there every time).
Page RenderScenario(const std::string& name, const std::string& hash = "",
                    const std::vector<std::string>& more = {}) {
  // A page of its own for a zoomed view: tests may run at once.
  const std::string stem = name + (hash.empty() ? "" : "-zoomed");
  const std::string html = kBuild + "/timeline-" + stem + ".html";
  std::vector<std::string> args = {"run", kLibrary + name + ".toml", "--html",
                                   html};
  args.insert(args.end(), more.begin(), more.end());
  const Ran ran = RunTicketsimArgs(args);
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  const std::string url = "file://" + html + hash;
  Page page = DumpDom(url, 1400);
  ExpectLegendExplainsEveryMark(page);
  Screenshot(url, stem, 1400);
  Screenshot(url, stem, 800);
  const Page narrow = DumpDom(url, 800);
  static const std::regex kViewBox(
      R"re(<svg class="timeline"[^>]* viewBox="0 0 ([0-9.]+) )re");
  std::smatch m;
  EXPECT_TRUE(std::regex_search(narrow.dom, m, kViewBox)) << narrow.dom;
  if (!m.empty()) {
    EXPECT_LE(std::stod(m[1]), 800.0);
  }
  return page;
}

const Element* Find(const Page& page, const std::string& cls) {
  for (const Element& e : page.timeline) {
    if (e.Has(cls)) return &e;
  }
  return nullptr;
}

// 15-deadlock: each buyer of the cycle holds one guard and waits for the
// other, both bars highlighted and drawn to the marker where ticketsim
// ended the run; the axis runs to that end, not to the last event.
TEST(TimelinePageTest, TheDeadlocksCycleRunsToTheEndOfTheRun) {
  const Page page = RenderScenario("15-deadlock");
  const Element* end = Find(page, "run-end");
  ASSERT_NE(end, nullptr);
  EXPECT_NE(page.dom.find("ticketsim ends the run: deadlock"),
            std::string::npos);
  const auto holds = page.With({"hold", "cycle"});
  const auto waits = page.With({"wait", "cycle"});
  EXPECT_GE(holds.size(), 2u);
  EXPECT_EQ(holds.size(), waits.size());
  for (const auto* bars : {&holds, &waits}) {
    for (const Element& bar : *bars) {
      EXPECT_NEAR(bar.Right(), end->Num("x1"), 1.0)
          << bar.attrs.at("data-info");
      EXPECT_NE(bar.attrs.at("data-info").find("the deadlock's cycle"),
                std::string::npos);
    }
  }
  // The cycle's buyers hold different guards (named in the bars' words).
  std::set<std::string> held;
  for (const Element& bar : holds) {
    const std::string& info = bar.attrs.at("data-info");
    held.insert(info.find("concert") != std::string::npos ? "concert"
                                                          : "parking");
  }
  EXPECT_EQ(held.size(), 2u);
  // The plot ends where the run ended.
  const Element* svg = nullptr;
  for (const Element& e : page.all) {
    if (e.tag == "svg" && e.Has("timeline")) svg = &e;
  }
  ASSERT_NE(svg, nullptr);
  EXPECT_EQ(svg->attrs.at("data-to-ns"), end->attrs.at("data-at-ns"));
  EXPECT_NEAR(end->Num("x1"),
              svg->Num("data-plot-left") + svg->Num("data-plot-width"), 1.0);
}

// 18: the killed holder's hold ends at its death, an abandoned-lock band
// nobody enters runs from there to the run's end, and the others' waits
// run under it to the end.
TEST(TimelinePageTest, AnAbandonedLockIsABandNobodyEnters) {
  // Seeded: buyers are waiting when the holder is killed, every time (under
  // the kernel's schedule the holder may die before anyone asks).
  const Page page = RenderScenario("18-killed-holder-named-mutex", "",
                                   {"--schedule", "seeded", "--seed", "1"});
  const Element* band = Find(page, "abandoned");
  ASSERT_NE(band, nullptr);
  const Element* end = Find(page, "run-end");
  ASSERT_NE(end, nullptr);
  EXPECT_NEAR(band->Right(), end->Num("x1"), 1.0);
  EXPECT_NE(page.dom.find("ticketsim ends the run: abandoned lock"),
            std::string::npos);
  EXPECT_NE(page.dom.find("class=\"abandoned-label\""), std::string::npos);
  // The dead holder: a hold bar and a kill mark at the band's start.
  const std::string died = band->attrs.at("data-from-ns");
  bool hold_ends = false, killed_there = false;
  for (const Element& e : page.timeline) {
    if (e.Has("hold") && e.Attr("data-to-ns") == died) hold_ends = true;
    if (e.Has("killed") && e.Attr("data-at-ns") == died) killed_there = true;
  }
  EXPECT_TRUE(hold_ends);
  EXPECT_TRUE(killed_there);
  // Waits still open when the run ended reach the band's right edge.
  int waits_to_the_end = 0;
  for (const Element& wait : page.With({"wait"})) {
    if (std::abs(wait.Right() - band->Right()) <= 1.0 &&
        wait.Num("x") <= band->Num("x")) {
      ++waits_to_the_end;
    }
    // No wait under the band ends before the run does: nobody enters.
    if (wait.Right() > band->Num("x") + 1.0) {
      EXPECT_NEAR(wait.Right(), band->Right(), 1.0);
    }
  }
  EXPECT_GE(waits_to_the_end, 1);
}

// 17: every back-off is a mark that says which guard it found held and
// what it gave back, and the hold it gave back ends there.
TEST(TimelinePageTest, BackOffsAreMarkedWhereTheHoldEnds) {
  // Seeded: the buyers meet, and back off, every time.
  const Page page = RenderScenario("17-deadlock-fix-try-backoff", "",
                                   {"--schedule", "seeded", "--seed", "1"});
  const auto backoffs = page.With({"backoff"});
  ASSERT_GE(backoffs.size(), 1u);
  std::set<std::string> ends;
  for (const Element& hold : page.With({"hold"})) {
    ends.insert(hold.attrs.at("data-to-ns"));
  }
  int given_back_there = 0;
  for (const Element& b : backoffs) {
    const std::string& info = b.attrs.at("data-info");
    EXPECT_NE(info.find(" held at "), std::string::npos) << info;
    EXPECT_NE(info.find("back-off "), std::string::npos) << info;
    if (info.find("gives back the ") != std::string::npos) {
      EXPECT_TRUE(ends.contains(b.attrs.at("data-at-ns"))) << info;
      ++given_back_there;
    }
  }
  EXPECT_GE(given_back_there, 1);
}

// 03: truncating writers' empty files are drawn, the torn queries marked,
// and a witnessed torn read is tied to the writer's window it fell in.
TEST(TimelinePageTest, ATornReadFallsInItsWritersEmptyFile) {
  const Page page = RenderScenario("03-torn-read");
  EXPECT_GE(page.With({"empty-window"}).size(), 1u);
  EXPECT_GE(page.With({"query", "torn"}).size(), 1u);
  const auto windows = page.With({"empty-window", "witness"});
  const auto links = page.With({"torn-link"});
  ASSERT_GE(windows.size(), 1u);
  ASSERT_GE(links.size(), 1u);
  for (const Element& link : links) {
    const double at = link.Num("data-x2-ns");
    bool inside = false;
    for (const Element& w : windows) {
      inside =
          inside || (w.Num("data-from-ns") <= at && at <= w.Num("data-to-ns"));
    }
    EXPECT_TRUE(inside) << link.attrs.at("data-info");
  }
  // Each witness in the list can be zoomed to.
  EXPECT_NE(page.dom.find("<li class=\"witness-item\" data-from-ns=\""),
            std::string::npos);
}

// 48: one thread's crash ends its whole process: the crashed lane and every
// other lane still running end at the same instant, each saying why.
TEST(TimelinePageTest, AThreadsCrashEndsEveryLaneAtOnce) {
  // Seeded: the same buyers are mid-run at the crash every time.
  const Page page = RenderScenario("48-threads-crash-before-write", "",
                                   {"--schedule", "seeded", "--seed", "1"});
  const auto crashed = page.With({"crashed"});
  ASSERT_GE(crashed.size(), 1u);
  const std::string at = crashed.front().Attr("data-at-ns");
  size_t ended_with_it = 0;
  for (const Element& e : page.timeline) {
    if (!e.Has("crashed") && !e.Has("killed")) continue;
    EXPECT_EQ(e.Attr("data-at-ns"), at) << e.Attr("data-info");
    if (e.Attr("data-info").find("died with its process") !=
        std::string::npos) {
      ++ended_with_it;
    }
  }
  EXPECT_GE(ended_with_it, 1u);
  EXPECT_NE(page.dom.find(">thread 0<"), std::string::npos);
}

// 13: three buyers hold the semaphore at once: three hold bars overlap.
TEST(TimelinePageTest, ASemaphoresThreeHoldersOverlap) {
  // Steps: buyers 0, 1 and 2 query and take a permit each before anyone
  // reads, every time (under the kernel's schedule the first may let go
  // before the third takes one).
  const Page page =
      RenderScenario("13-semaphore-3-permits", "", {"--steps", "0,0,1,1,2,2"});
  std::vector<std::pair<double, int>> edges;
  for (const Element& hold : page.With({"hold"})) {
    edges.push_back({hold.Num("x"), 1});
    edges.push_back({hold.Right(), -1});
  }
  std::sort(edges.begin(), edges.end());  // an end before a start at a tie
  int holders = 0, most = 0;
  for (const auto& [x, d] : edges) {
    holders += d;
    most = std::max(most, holders);
  }
  EXPECT_GE(most, 3);
}

// 27: a Python program's own events, read from fd 3: one lane per copy,
// a lock row under each, the seat all four copies bought in the first
// purchase (they are released together and think 30 ms between read and
// write) highlighted as a witness, and the holds that overlapped marked.
TEST(TimelinePageTest, AProgramsEventsDrawItsLanesLocksAndWitnesses) {
  const Page page = RenderScenario("27-program-python-mp-lock");
  std::set<std::string> lanes;
  for (const Element& e : page.timeline) {
    if (e.tag == "g" && e.Has("lane")) lanes.insert(e.attrs.at("data-buyer"));
  }
  EXPECT_EQ(lanes, (std::set<std::string>{"0", "1", "2", "3"}));
  size_t lock_rows = 0;
  for (const Element& e : page.timeline) {
    if (e.Has("guard-label")) ++lock_rows;
  }
  EXPECT_EQ(lock_rows, 4u);
  EXPECT_FALSE(page.With({"witness-band"}).empty());
  EXPECT_FALSE(page.With({"cs", "witness"}).empty());
  const auto overlaps = page.With({"hold", "overlap"});
  EXPECT_GE(overlaps.size(), 2u);
  for (const Element& hold : overlaps) {
    EXPECT_NE(hold.attrs.at("data-info").find("the lock"), std::string::npos);
    EXPECT_NE(hold.attrs.at("data-info").find("a lock overlap"),
              std::string::npos);
  }
  EXPECT_NE(page.dom.find("lock overlap"), std::string::npos);
}

// The page's script zooms: a range in the address's #zoom= relabels the
// axis and lays the marks out again for it.
TEST(TimelinePageTest, ZoomingRelabelsTheAxis) {
  // Every buyer thinks 10 ms or more before its second lock: the run
  // lasts longer than the range.
  const Page page = RenderScenario("15-deadlock", "#zoom=2000000-4000000");
  EXPECT_NE(page.dom.find("window.ticketsimZoom"), std::string::npos);
  EXPECT_NE(page.dom.find("<span class=\"zoom-range\">2.000 ms to 4.000 "
                          "ms</span>"),
            std::string::npos);
  std::vector<std::string> ticks;
  const size_t axis = page.dom.find("<g class=\"axis\"");
  ASSERT_NE(axis, std::string::npos);
  const std::string axis_group =
      page.dom.substr(axis, page.dom.find("</g>", axis) - axis);
  static const std::regex kTick(R"(<text[^>]*>([^<]*)</text>)");
  for (auto it =
           std::sregex_iterator(axis_group.begin(), axis_group.end(), kTick);
       it != std::sregex_iterator(); ++it) {
    ticks.push_back((*it)[1]);
  }
  EXPECT_EQ(ticks, (std::vector<std::string>{"2.0 ms", "2.5 ms", "3.0 ms",
                                             "3.5 ms", "4.0 ms"}));
  // The cycle's hold bars, held since before 2 ms, now start at the
  // plot's left edge and run past its right one.
  const Element* svg = nullptr;
  for (const Element& e : page.all) {
    if (e.tag == "svg" && e.Has("timeline")) svg = &e;
  }
  ASSERT_NE(svg, nullptr);
  const double left = svg->Num("data-plot-left");
  const double right = left + svg->Num("data-plot-width");
  for (const Element& hold : page.With({"hold", "cycle"})) {
    if (hold.Num("data-from-ns") > 2e6) continue;
    EXPECT_LE(hold.Num("x"), left);
    EXPECT_GE(hold.Right(), right);
  }
}

// The page's own zoom, driven by real DOM events: a copy of the page with
// a script that drags across the plot from a quarter to a half of it, or
// clicks the first witness, and the range each zooms to.
std::string Injected(const std::string& page, const std::string& script) {
  std::string html = ReadFile(page);
  const size_t body = html.rfind("</body>");
  EXPECT_NE(body, std::string::npos);
  html.insert(body, "<script>" + script + "</script>\n");
  const std::string path = page + ".injected.html";
  WriteFile(path, html);
  return path;
}

TEST(TimelinePageTest, DraggingAcrossThePlotOrClickingAWitnessZooms) {
  const std::string html = kBuild + "/timeline-zoom.html";
  const Ran ran =
      RunTicketsimArgs({"run", kLibrary + "15-deadlock.toml", "--html", html});
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  const Page before = DumpDom("file://" + html, 1400);
  const Element* svg = nullptr;
  for (const Element& e : before.all) {
    if (e.tag == "svg" && e.Has("timeline")) svg = &e;
  }
  ASSERT_NE(svg, nullptr);
  const double run_to = svg->Num("data-to-ns");

  const std::string drag = Injected(html, R"(
    (function () {
      var svg = document.querySelector('svg.timeline');
      var r = svg.getBoundingClientRect();
      var k = r.width / svg.viewBox.baseVal.width;
      var left = Number(svg.getAttribute('data-plot-left'));
      var width = Number(svg.getAttribute('data-plot-width'));
      function send(type, target, x) {
        target.dispatchEvent(new MouseEvent(type, {
          clientX: r.left + x * k, clientY: r.top + 80, bubbles: true}));
      }
      send('mousedown', svg, left + width * 0.25);
      send('mousemove', window, left + width * 0.5);
      send('mouseup', window, left + width * 0.5);
    })();)");
  const Page dragged = DumpDom("file://" + drag, 1400);
  const Element* zoomed = nullptr;
  for (const Element& e : dragged.all) {
    if (e.tag == "svg" && e.Has("timeline")) zoomed = &e;
  }
  ASSERT_NE(zoomed, nullptr);
  EXPECT_NEAR(zoomed->Num("data-from-ns"), run_to * 0.25, run_to * 0.01);
  EXPECT_NEAR(zoomed->Num("data-to-ns"), run_to * 0.5, run_to * 0.01);
  // The selection is gone once the button is let go.
  EXPECT_EQ(dragged.dom.find("class=\"zoom-select\""), std::string::npos);

  const std::string click = Injected(html, R"(
    document.querySelector('li.witness-item').click();)");
  const Page clicked = DumpDom("file://" + click, 1400);
  const Element* witness = nullptr;
  for (const Element& e : clicked.all) {
    if (e.tag == "li" && e.Has("witness-item")) witness = &e;
  }
  ASSERT_NE(witness, nullptr);
  for (const Element& e : clicked.all) {
    if (e.tag != "svg" || !e.Has("timeline")) continue;
    // The witness's span, a quarter of it more on either side, within the
    // run.
    const double from = witness->Num("data-from-ns");
    const double to = witness->Num("data-to-ns");
    const double pad = std::max((to - from) * 0.25, 20000.0);
    EXPECT_NEAR(e.Num("data-from-ns"), std::max(0.0, std::floor(from - pad)),
                1);
    EXPECT_NEAR(e.Num("data-to-ns"), std::min(run_to, std::ceil(to + pad)), 1);
  }
}

}  // namespace
}  // namespace ticketsim
