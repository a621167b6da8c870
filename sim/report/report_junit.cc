#include "sim/report/report_junit.h"

#include <fmt/format.h>

#include <filesystem>

#include "sim/history/event_words.h"

namespace ticketsim {
namespace {

// "ticketsim.01-rush-unguarded": how CI tools group testcases. From the
// file's name alone, so that a scenario keeps its class however it is
// given: by its library name, "./e8.toml", a path from elsewhere, or from
// another folder a CI job runs in.
std::string ClassName(const std::string& path) {
  if (path.empty()) return "ticketsim.command-line";
  return "ticketsim." + std::filesystem::path(path).stem().string();
}

std::string Details(const ScenarioResult& r) {
  std::string out;
  for (size_t i = 0; i < r.trials.size(); ++i) {
    const TrialResult& t = r.trials[i];
    const std::string kinds = ListViolations(t.violations);
    const std::string found = ListViolations(t.findings);
    // A run cut short checked only the purchases that finished.
    const std::string cut =
        t.timed_out     ? "verdict incomplete (the run hit its time limit): "
        : t.interrupted ? "verdict incomplete (the run was interrupted): "
                        : "";
    out += fmt::format("trial {} seed {}: sold {}, {}{}{}{}\n", i + 1, t.seed,
                       t.sold, cut, kinds.empty() ? "no violation" : kinds,
                       found.empty() ? "" : "; found " + found,
                       t.miss.empty() ? "" : " -- " + t.miss);
  }
  return out;
}

std::string Suite(size_t tests, int failures, int errors, int skipped,
                  double seconds, const std::string& cases) {
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites name=\"ticketsim\" tests=\"{0}\" failures=\"{1}\" "
      "errors=\"{2}\" skipped=\"{3}\" time=\"{4:.3f}\">\n"
      "  <testsuite name=\"ticketsim\" tests=\"{0}\" failures=\"{1}\" "
      "errors=\"{2}\" skipped=\"{3}\" time=\"{4:.3f}\">\n"
      "{5}"
      "  </testsuite>\n"
      "</testsuites>\n",
      tests, failures, errors, skipped, seconds, cases);
}

}  // namespace

std::string JunitInvalidReport(std::span<const ScenarioProblem> invalid,
                               std::span<const LoadedScenario> valid) {
  std::string cases;
  for (const ScenarioProblem& p : invalid) {
    const std::string name =
        p.file.empty() ? "scenario from the command line" : p.file;
    cases += fmt::format(
        "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" "
        "time=\"0.000\">\n"
        "      <error type=\"invalid scenario\" message=\"{}\">{}</error>\n"
        "    </testcase>\n",
        XmlEscape(ClassName(p.file)), XmlEscape(name), XmlEscape(p.file),
        XmlEscape(p.message), XmlEscape(p.message));
  }
  for (const LoadedScenario& l : valid) {
    cases += fmt::format(
        "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" "
        "time=\"0.000\">\n"
        "      <skipped message=\"not run: another scenario is invalid\"/>\n"
        "    </testcase>\n",
        XmlEscape(ClassName(l.path)), XmlEscape(l.scenario.name),
        XmlEscape(l.path));
  }
  return Suite(invalid.size() + valid.size(), 0,
               static_cast<int>(invalid.size()), static_cast<int>(valid.size()),
               0, cases);
}

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
    } else if (r.unchecked()) {
      // A failure, not a skip: CI must not count it as passed.
      ++failures;
      cases += fmt::format(
          "      <failure type=\"unchecked\" message=\"{}\">{}</failure>\n",
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
  return Suite(results.size(), failures, errors, 0, seconds, cases);
}

}  // namespace ticketsim
