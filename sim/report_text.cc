#include "sim/report_text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstring>

namespace ticketsim {
namespace {

std::string Seats(const BuyerSummary& b) {
  std::string out;
  for (int64_t seat : b.seats) {
    if (!out.empty()) out += ' ';
    out += std::to_string(seat);
  }
  if (b.bought > static_cast<int64_t>(b.seats.size())) {
    out +=
        fmt::format(" (+{})", b.bought - static_cast<int64_t>(b.seats.size()));
  }
  return out.empty() ? "-" : out;
}

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

class Painter {
 public:
  explicit Painter(bool on) : on_(on) {}
  std::string Red(std::string_view s) const { return Paint("1;31", s); }
  std::string Green(std::string_view s) const { return Paint("1;32", s); }
  std::string Bold(std::string_view s) const { return Paint("1", s); }
  std::string Dim(std::string_view s) const { return Paint("2", s); }

 private:
  std::string Paint(std::string_view code, std::string_view s) const {
    return on_ ? fmt::format("\033[{}m{}\033[0m", code, s) : std::string(s);
  }
  bool on_;
};

}  // namespace

void WriteTextReport(std::FILE* out, const RunResult& run,
                     const Verdict& verdict, bool color) {
  const Painter paint(color);
  const Scenario& scenario = run.scenario;
  fmt::print(out, "{}\n", paint.Bold(scenario.name));
  fmt::print(out, "  {}\n  seed {}\n\n", DescribeSetup(scenario),
             scenario.buyers.seed);

  fmt::print(out, "  {:>5}  {:>8}  {:>6}  {:>8}  {:>6}  {}\n", "buyer", "pid",
             "bought", "sold-out", "failed", "seats");
  for (size_t i = 0; i < verdict.buyers.size() && i < kBuyerRowsShown; ++i) {
    const BuyerSummary& b = verdict.buyers[i];
    std::string note;
    if (b.killed) note += "  killed";
    if (b.recovered > 0)
      note += fmt::format("  recovered the guard {}x", b.recovered);
    if (b.torn_reads > 0) note += fmt::format("  {} torn reads", b.torn_reads);
    fmt::print(out, "  {:>5}  {:>8}  {:>6}  {:>8}  {:>6}  {}{}\n", b.buyer,
               b.pid, b.bought, b.sold_out, b.failed, Seats(b), note);
  }
  if (verdict.buyers.size() > kBuyerRowsShown) {
    fmt::print(out, "  {}\n",
               paint.Dim(fmt::format("... and {} more buyers (all are in the "
                                     "JSON report)",
                                     verdict.buyers.size() - kBuyerRowsShown)));
  }

  const std::string remaining =
      verdict.final_count ? std::to_string(*verdict.final_count) : "unreadable";
  fmt::print(out, "\n  tickets   initial {}, sold {}, remaining {}\n",
             verdict.initial, verdict.confirmed, remaining);
  std::string also;
  if (verdict.indeterminate > 0) {
    also += fmt::format(", {} indeterminate (buyer died midway)",
                        verdict.indeterminate);
  }
  if (verdict.recovered > 0) {
    also += fmt::format(", {} guard recoveries", verdict.recovered);
  }
  fmt::print(out, "  attempts  {} ({} sold out, {} failed{})\n",
             verdict.attempts, verdict.sold_out, verdict.failed, also);
  const double rate =
      run.seconds > 0 ? static_cast<double>(verdict.attempts) / run.seconds : 0;
  fmt::print(out, "  time      {:.3f} s, {:.0f} purchases per second\n",
             run.seconds, rate);
  if (scenario.buyers.pool > 0) {
    const auto unserved =
        std::count(run.served_by.begin(), run.served_by.end(), -1);
    fmt::print(out, "  processes {} pool workers served {} buyers{}\n",
               run.processes.size(), run.served_by.size() - unserved,
               unserved > 0 ? fmt::format(" ({} never served: every worker "
                                          "had died)",
                                          unserved)
                            : "");
  } else {
    fmt::print(out, "  processes {}, one per buyer\n", run.processes.size());
  }

  if (run.timed_out) {
    fmt::print(out, "  {}\n",
               paint.Red("the run hit its time limit; the "
                         "buyers still running were killed"));
  }
  if (run.interrupted) {
    fmt::print(out, "  {}\n",
               paint.Red(fmt::format("interrupted by SIG{}: a partial report",
                                     sigabbrev_np(run.interrupt_signal))));
  }

  fmt::print(out, "\n");
  if (verdict.ok()) {
    fmt::print(out, "  verdict   {}\n", paint.Green("no violation"));
    return;
  }
  // One line naming each kind: their counts overlap (nine extra sales of one
  // seat are nine lost updates, nine oversold and nine duplicates alike).
  std::string kinds;
  for (const Violation& v : verdict.violations) {
    kinds += fmt::format("{}{} x{}", kinds.empty() ? "" : ", ",
                         ViolationName(v.kind), v.count);
  }
  fmt::print(out, "  verdict   {}\n", paint.Red("VIOLATED: " + kinds));
  for (const Violation& v : verdict.violations) {
    fmt::print(out, "\n  {} x{}: {}\n", paint.Red(Upper(ViolationName(v.kind))),
               v.count, v.summary);
    for (const std::string& w : v.witnesses) {
      fmt::print(out, "    - {}\n", w);
    }
  }
}

}  // namespace ticketsim
