#include "sim/report_junit.h"

#include <fmt/format.h>

#include <filesystem>

#include "sim/words.h"

namespace ticketsim {
namespace {

// "scenarios/rush.toml" -> "scenarios.rush": how CI tools group testcases.
std::string ClassName(const std::string& path) {
  if (path.empty()) return "ticketsim.command-line";
  std::filesystem::path p(path);
  p.replace_extension();
  std::string name = p.lexically_normal().string();
  for (char& c : name) c = c == '/' ? '.' : c;
  return name;
}

std::string Details(const ScenarioResult& r) {
  std::string out;
  for (size_t i = 0; i < r.trials.size(); ++i) {
    const TrialResult& t = r.trials[i];
    const std::string kinds = ListViolations(t.violations);
    out += fmt::format("trial {} seed {}: sold {}, {}{}\n", i + 1, t.seed,
                       t.sold, kinds.empty() ? "no violation" : kinds,
                       t.miss.empty() ? "" : " -- " + t.miss);
  }
  return out;
}

}  // namespace

std::string JunitReport(std::span<const ScenarioResult> results) {
  int failures = 0;
  int errors = 0;
  double seconds = 0;
  std::string cases;
  for (const ScenarioResult& r : results) {
    seconds += r.seconds();
    const Scenario& s = r.loaded.scenario;
    cases += fmt::format(
        "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" "
        "time=\"{:.3f}\">\n",
        XmlEscape(ClassName(r.loaded.path)), XmlEscape(s.name),
        XmlEscape(r.loaded.path), r.seconds());
    if (r.run_failed() || r.interrupted()) {
      ++errors;
      cases += fmt::format(
          "      <error type=\"run failed\" message=\"{}\">{}</error>\n",
          XmlEscape(r.FirstProblem()), XmlEscape(Details(r)));
    } else if (!r.passed()) {
      ++failures;
      cases += fmt::format(
          "      <failure type=\"expectation\" message=\"{}\">{}</failure>\n",
          XmlEscape(fmt::format("{} of {} trials violated; {}",
                                r.with_violations(), r.trials.size(),
                                r.FirstProblem())),
          XmlEscape(Details(r)));
    }
    cases += fmt::format("      <system-out>{}</system-out>\n",
                         XmlEscape(Details(r)));
    cases += "    </testcase>\n";
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites name=\"ticketsim\" tests=\"{0}\" failures=\"{1}\" "
      "errors=\"{2}\" time=\"{3:.3f}\">\n"
      "  <testsuite name=\"ticketsim\" tests=\"{0}\" failures=\"{1}\" "
      "errors=\"{2}\" time=\"{3:.3f}\">\n"
      "{4}"
      "  </testsuite>\n"
      "</testsuites>\n",
      results.size(), failures, errors, seconds, cases);
}

}  // namespace ticketsim
