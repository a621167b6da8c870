#include "sim/report/report_text.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "base/escape.h"
#include "base/interrupt.h"
#include "sim/history/event_words.h"
#include "sim/report/rates.h"
#include "sim/report/verdict_hints.h"
#include "sim/result/run_check.h"
#include "sim/result/thread_death.h"
#include "sim/scenario/program_command.h"
#include "sim/schedule/scheduler.h"

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

// " (depth 3, about 40 steps: a race of depth 3 shows in at least 2.5% of
// runs)": what a PCT schedule promises, `bound` the fraction of runs.
std::string PctWords(int64_t depth, int64_t steps, double bound) {
  return fmt::format(
      " (depth {}, about {} steps: a race of depth {} shows in at least "
      "{:.3g}% of runs)",
      depth, steps, depth, bound * 100);
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

void WriteVerdict(std::FILE* out, const RunResult& run, const Verdict& verdict,
                  const Painter& paint, bool witnesses);

}  // namespace

std::vector<std::string> WrapText(std::string_view text, size_t width) {
  std::vector<std::string> lines;
  std::string line;
  size_t at = 0;
  while (at < text.size()) {
    const size_t start = text.find_first_not_of(" \t\n", at);
    if (start == std::string_view::npos) break;
    size_t end = text.find_first_of(" \t\n", start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view word = text.substr(start, end - start);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(std::move(line));
      line.clear();
    }
    if (!line.empty()) line += ' ';
    line += word;
    at = end;
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

std::string DescribeSchedule(const ScheduleLog& log) {
  if (log.kind == ScheduleKind::kOs && log.steps.empty()) return "";
  std::string text =
      fmt::format("schedule {}", WordOf(kScheduleKinds, log.kind));
  if (log.kind == ScheduleKind::kPct) {
    text += PctWords(log.pct_depth, log.pct_steps, log.pct_bound);
  }
  // Long lists are for --history and --replay, not for reading.
  constexpr size_t kStepsShown = 120;
  text += fmt::format(", {} step{}", log.steps.size(),
                      log.steps.size() == 1 ? "" : "s");
  if (!log.steps.empty() && log.steps.size() <= kStepsShown) {
    text += fmt::format(": --steps {}", log.StepsList());
  }
  return text;
}

void WriteTextTitle(std::FILE* out, const RunResult& run, bool color) {
  const Painter paint(color);
  const Scenario& scenario = run.scenario;
  fmt::print(out, "{}\n", paint.Bold(Visible(scenario.name)));
  for (const std::string& line : WrapText(scenario.description, 74)) {
    fmt::print(out, "  {}\n", paint.Dim(Visible(line)));
  }
  fmt::print(out, "  {}\n  seed {}\n", Visible(DescribeSetup(scenario)),
             scenario.buyers.seed);
  if (run.server_start_up_ms) {
    fmt::print(
        out, "  server: PostgreSQL, ticketsim's throwaway server{}\n",
        *run.server_start_up_ms < 0
            ? " (started for an earlier run)"
            : fmt::format(", started in {:.0f} ms", *run.server_start_up_ms));
  }
  for (const std::string& line : WrapText(DescribeSchedule(run.schedule), 74)) {
    fmt::print(out, "  {}\n", line);
  }
  fmt::print(out, "\n");
}

namespace {

// What ran: the command, which of its words came from where, and its
// processes.
void WriteProgramCommand(std::FILE* out, const RunResult& run) {
  const ProgramReport& program = *run.program;
  const ProgramMode mode = run.scenario.program.mode;
  fmt::print(out, "  program   {}\n", Visible(CommandLine(program.argv)));
  // Which words came from the user's folder: a data file named there is
  // not the one the program gets.
  std::vector<std::string> words;
  if (!program.from_folder.empty()) {
    words.push_back(fmt::format("{} from {}", CommandLine(program.from_folder),
                                run.scenario.program.base_dir));
  }
  if (!program.as_written.empty()) {
    words.push_back(
        fmt::format("{} passed as written (the run directory's, "
                    "if there)",
                    CommandLine(program.as_written)));
  }
  if (!words.empty()) {
    fmt::print(
        out, "  words     {}\n",
        Visible(words.size() == 1 ? words[0] : words[0] + "; " + words[1]));
  }
  if (mode == ProgramMode::kOperation) {
    fmt::print(out, "  processes {} runs of the command\n", program.processes);
  } else {
    const auto copies = static_cast<int64_t>(program.lanes.size());
    fmt::print(out,
               "  processes {}{}; started in {:.1f} ms (spawn to the "
               "start barrier)\n",
               program.processes,
               mode == ProgramMode::kWhole
                   ? " (the program and every process it started)"
               : program.processes > copies
                   ? fmt::format(" ({} {} and their own children)", copies,
                                 copies == 1 ? "copy" : "copies")
                   : ", one per buyer",
               program.start_up_ms);
  }
}

// Whether its sales were known, and how sold_pattern was used.
void WriteProgramSales(std::FILE* out, const RunResult& run,
                       const Painter& paint) {
  const ProgramReport& program = *run.program;
  const ProgramMode mode = run.scenario.program.mode;
  if (ProgramSalesUnknown(run)) {
    fmt::print(out, "  {}\n",
               paint.Red("sales     unknown: the program wrote no events on "
                         "fd 3 and program.sold_pattern is not set, so only "
                         "the final count was checked"));
  }
  int64_t printed = 0, matched = 0, event_lines = 0;
  for (const ProgramLane& lane : program.lanes) {
    printed += lane.stdout_lines;
    matched += lane.sold_lines;
    event_lines += lane.event_lines;
  }
  const std::string& pattern = run.scenario.program.sold_pattern;
  if (!pattern.empty() && event_lines > 0) {
    fmt::print(out, "  {}\n",
               paint.Dim("its events on fd 3 are its account of its sales: "
                         "program.sold_pattern was not used"));
  } else if (!pattern.empty() && matched == 0 &&
             mode != ProgramMode::kOperation) {
    fmt::print(out, "  {}\n",
               paint.Red(fmt::format(
                   "program.sold_pattern /{}/ matched none of the {} lines "
                   "it printed: no sale was counted",
                   Visible(pattern), printed)));
  }
}

// What went wrong with copy `lane` of the program (`who`): its crash or
// its runs with no outcome, then each process it started that failed.
std::vector<std::string> LaneFailures(const ProgramReport& program, size_t lane,
                                      const std::string& who) {
  const ProgramLane& copy = program.lanes[lane];
  std::vector<std::string> what;
  if (!copy.crash.empty()) {
    what.push_back(fmt::format("{} {}", who, copy.crash));
  } else if (copy.indeterminate > 0) {
    what.push_back(fmt::format(
        "{} {} run{} with no outcome; the last {}", who, copy.indeterminate,
        copy.indeterminate == 1 ? "" : "s", copy.last_odd_exit));
  }
  for (const ProgramProcessEnd& p : program.failed_processes) {
    if (p.lane != static_cast<int32_t>(lane)) continue;
    what.push_back(
        fmt::format("process {} (started by {}) {}", p.pid, who, p.crash));
  }
  return what;
}

// The last lines `who` wrote to stderr, if any.
void WriteStderrTail(std::FILE* out, const ProgramLane& lane,
                     const std::string& who, const Painter& paint) {
  if (lane.stderr_tail.empty()) return;
  fmt::print(out, "    {}\n",
             paint.Dim(fmt::format(
                 "the last {} line{} of {}'s stderr:", lane.stderr_tail.size(),
                 lane.stderr_tail.size() == 1 ? "" : "s", who)));
  for (const std::string& line : lane.stderr_tail) {
    fmt::print(out, "    | {}\n", Visible(line));
  }
}

// For each copy that failed, its exit status and the end of its stderr;
// then the processes of no copy that failed.
void WriteProgramFailures(std::FILE* out, const RunResult& run,
                          const Painter& paint) {
  const ProgramReport& program = *run.program;
  for (size_t i = 0; i < program.lanes.size(); ++i) {
    const std::string who = run.scenario.program.mode == ProgramMode::kWhole
                                ? std::string("the program")
                                : fmt::format("buyer {}", i);
    const std::vector<std::string> what = LaneFailures(program, i, who);
    if (what.empty()) continue;
    for (const std::string& line : what) {
      fmt::print(out, "  {}\n", paint.Red(line));
    }
    WriteStderrTail(out, program.lanes[i], who, paint);
  }
  for (const ProgramProcessEnd& p : program.failed_processes) {
    if (p.lane >= 0) continue;
    fmt::print(
        out, "  {}\n",
        paint.Red(fmt::format("process {} of the program {}", p.pid, p.crash)));
  }
}

// The hint, the fence, lost process events and late copies.
void WriteProgramNotes(std::FILE* out, const RunResult& run,
                       const Painter& paint) {
  const ProgramReport& program = *run.program;
  const ProgramMode mode = run.scenario.program.mode;
  const auto late =
      std::count_if(program.lanes.begin(), program.lanes.end(),
                    [](const ProgramLane& lane) { return lane.late_start; });
  if (const std::string hint = ProgramHint(run); !hint.empty()) {
    for (const std::string& line : WrapText("hint: " + hint, 74)) {
      fmt::print(out, "  {}\n", paint.Dim(line));
    }
  }
  if (program.fence == "none") {
    fmt::print(out, "  {}\n",
               paint.Dim(fmt::format(
                   "fence     none ({}): should ticketsim be killed "
                   "outright, processes the program started may live on",
                   Visible(program.fence_why_not))));
  }
  if (program.lost_track) {
    fmt::print(out, "  {}\n",
               paint.Dim("the kernel dropped some process events: a process "
                         "the program started may have failed unseen"));
  }
  if (late > 0 && mode == ProgramMode::kBuyer) {
    fmt::print(out, "  {}\n",
               paint.Dim(fmt::format(
                   "{} of {} copies had not reached the start barrier (read "
                   "fd 4) when it opened; they started on their own",
                   late, program.lanes.size())));
  }
}

// A program run's own lines: what ran, how it started, and for each copy
// that failed its exit status and the end of its stderr.
void WriteProgramLines(std::FILE* out, const RunResult& run,
                       const Painter& paint) {
  WriteProgramCommand(out, run);
  WriteProgramSales(out, run, paint);
  WriteProgramFailures(out, run, paint);
  WriteProgramNotes(out, run, paint);
}

// What a buyer's row adds after its seats: how it ended, if not on its
// own, and what it did besides buying.
std::string BuyerNote(const RunResult& run, const BuyerSummary& b) {
  std::string note;
  if (b.killed) {
    const int32_t process = run.served_by[b.buyer];
    const int sig = process < 0 ? 0 : run.processes[process].signal;
    // A person's q ends the buyers still waiting for their turn.
    const bool threads = run.scenario.buyers.mode == BuyerMode::kThread;
    note +=
        b.fault == static_cast<uint32_t>(FaultKind::kKill)
            ? "  killed (kill_holder)"
        : b.fault == static_cast<uint32_t>(FaultKind::kCrash)
            ? "  crashed (crash_before_write)"
        : run.ended_by == RunEnd::kStopped && sig == SIGKILL ? "  stopped by q"
        : threads
            ? fmt::format("  died with its process (SIG{})", sigabbrev_np(sig))
            : fmt::format("  killed (SIG{})", sigabbrev_np(sig));
  }
  if (b.paused > 0) note += fmt::format("  paused {}x", b.paused);
  if (b.backoffs > 0) note += fmt::format("  backed off {}x", b.backoffs);
  if (b.recovered > 0)
    note += fmt::format("  recovered the guard {}x", b.recovered);
  if (b.torn_reads > 0) note += fmt::format("  {} torn reads", b.torn_reads);
  return note;
}

// A row per buyer, the first kBuyerRowsShown.
void WriteBuyerRows(std::FILE* out, const RunResult& run,
                    const Verdict& verdict, const Painter& paint) {
  // Threads share their process's pid: each is named by its number. A box
  // office's buyers are its connections, all served in its one process.
  const bool threads = run.scenario.buyers.mode == BuyerMode::kThread &&
                       !run.box_office.has_value();
  fmt::print(out, "  {:>5}  {:>8}  {:>6}  {:>8}  {:>6}  {}\n", "buyer",
             threads ? "thread" : "pid", "bought", "sold-out", "failed",
             "seats");
  for (size_t i = 0; i < verdict.buyers.size() && i < kBuyerRowsShown; ++i) {
    const BuyerSummary& b = verdict.buyers[i];
    const std::string note = BuyerNote(run, b);
    const int64_t who = threads ? run.served_by[b.buyer] : b.pid;
    fmt::print(out, "  {:>5}  {:>8}  {:>6}  {:>8}  {:>6}  {}{}\n", b.buyer, who,
               b.bought, b.sold_out, b.failed, Seats(b), note);
  }
  if (verdict.buyers.size() > kBuyerRowsShown) {
    fmt::print(out, "  {}\n",
               paint.Dim(fmt::format("... and {} more buyers (all are in the "
                                     "JSON report)",
                                     verdict.buyers.size() - kBuyerRowsShown)));
  }
}

// The tickets, each event's, and the attempts.
void WriteBooks(std::FILE* out, const Verdict& verdict) {
  const std::string remaining =
      verdict.final_count ? std::to_string(*verdict.final_count) : "unreadable";
  if (verdict.events.empty()) {
    fmt::print(out, "\n  tickets   initial {}, sold {}, remaining {}\n",
               verdict.initial, verdict.confirmed, remaining);
  } else {
    fmt::print(out, "\n");
    for (const Verdict::EventBooks& e : verdict.events) {
      fmt::print(out, "  {:<9} initial {}, sold {}, remaining {}\n",
                 Visible(e.name), verdict.initial, e.confirmed,
                 e.final_count ? std::to_string(*e.final_count) : "unreadable");
    }
  }
  std::string also;
  if (verdict.indeterminate > 0) {
    also += fmt::format(", {} indeterminate (buyer died midway)",
                        verdict.indeterminate);
  }
  if (verdict.recovered > 0) {
    also += fmt::format(", {} guard recoveries", verdict.recovered);
  }
  if (verdict.backoffs > 0) {
    also += fmt::format(", {} back-offs", verdict.backoffs);
  }
  if (verdict.retries > 0) {
    also += fmt::format(", {} transaction{} run again (SQLSTATE 40001)",
                        verdict.retries, verdict.retries == 1 ? "" : "s");
  }
  if (verdict.serialization_failures > 0) {
    also += fmt::format(
        ", {} serialization failure{} (refused by the server, rolled back; "
        "not violations)",
        verdict.serialization_failures,
        verdict.serialization_failures == 1 ? "" : "s");
  }
  fmt::print(out, "  attempts  {} ({} sold out, {} failed{})\n",
             verdict.attempts, verdict.sold_out, verdict.failed, also);
}

// Buyers as threads: how many, of which process, and how it ended.
void WriteThreadsLine(std::FILE* out, const RunResult& run) {
  const pid_t pid = run.processes.empty() ? 0 : run.processes[0].pid;
  if (const std::optional<BoxOfficeRecord>& office = run.box_office) {
    fmt::print(out,
               "  served    {} connection{} at {} ({}), each a buyer, by the "
               "box office (pid {}){}\n",
               run.served_by.size(), run.served_by.size() == 1 ? "" : "s",
               office->url, office->workers, pid,
               office->refused > 0
                   ? fmt::format("; {} more refused (server.max_connections)",
                                 office->refused)
                   : "");
    return;
  }
  const std::string served =
      run.scenario.buyers.pool > 0
          ? fmt::format(": pool workers that served {} buyers",
                        run.served_by.size())
          : ", one per buyer";
  fmt::print(out, "  threads   {} of one buyer process (pid {}){}\n",
             run.processes.size(), pid, served);
  if (const std::optional<ThreadsDeath> death = ThreadsDeathOf(run)) {
    fmt::print(out,
               "            the whole process died with buyer {}'s thread "
               "({}): every thread ended with it\n",
               death->buyer, FaultName(static_cast<uint32_t>(death->fault)));
  }
}

// The faults, the time and rates, and the processes that bought.
void WriteRunLines(std::FILE* out, const RunResult& run, const Verdict& verdict,
                   const Painter& paint) {
  const Scenario& scenario = run.scenario;
  if (scenario.faults.any()) {
    fmt::print(out,
               "  faults    {} killed, {} crashed, {} paused (injected; not "
               "violations in themselves)\n",
               verdict.fault_kills, verdict.fault_crashes, verdict.paused);
  }
  fmt::print(out, "  time      {}\n  rates     {}\n",
             DurationWords(run.seconds),
             RatesWords(verdict.attempts, verdict.confirmed, run.seconds));
  if (scenario.buyers.mode == BuyerMode::kThread) {
    WriteThreadsLine(out, run);
  } else if (scenario.buyers.pool > 0) {
    const auto unserved =
        std::count(run.served_by.begin(), run.served_by.end(), -1);
    fmt::print(out, "  processes {} pool workers served {} buyers{}\n",
               run.processes.size(), run.served_by.size() - unserved,
               unserved > 0 ? fmt::format(" ({} never served: every worker "
                                          "had died)",
                                          unserved)
                            : "");
  } else if (run.program != nullptr) {
    WriteProgramLines(out, run, paint);
  } else {
    fmt::print(out, "  processes {}, one per buyer\n", run.processes.size());
  }
}

// Buyers on hosts: whose they are, and each host's clock against ours;
// the partition.
void WriteHosts(std::FILE* out, const RunResult& run) {
  for (size_t h = 0; h < run.hosts.size(); ++h) {
    const HostRecord& host = run.hosts[h];
    std::string buyers;
    for (size_t i = 0; i < host.buyers.size() && i < 8; ++i) {
      buyers += fmt::format("{}{}", i == 0 ? "" : ", ", host.buyers[i]);
    }
    if (host.buyers.size() > 8) {
      buyers += fmt::format(", ... ({} buyers)", host.buyers.size());
    }
    fmt::print(
        out, "  {:<9} {}: {}\n", h == 0 ? "hosts" : "", host.name,
        host.buyers.empty()
            ? std::string("no buyers")
            : fmt::format("buyers {} (clock {:+.3f} ms \u00b1 {:.3f} ms, "
                          "best of {} round trips)",
                          buyers, host.offset_ns / 1e6,
                          host.uncertainty_ns / 1e6, host.round_trips));
  }
  if (run.partition) {
    const PartitionRecord& p = *run.partition;
    fmt::print(out, "  partition host {}'s link {} cut at {}, {}\n", p.host,
               p.device, FormatTime(p.cut_ns),
               p.restored_ns > 0
                   ? fmt::format("restored at {}", FormatTime(p.restored_ns))
                   : std::string("restored at the end"));
  }
}

// A run that did not end on its own says so.
void WriteRunEnd(std::FILE* out, const RunResult& run, const Painter& paint) {
  if (run.timed_out) {
    fmt::print(out, "  {}\n",
               paint.Red("the run hit its time limit; the "
                         "buyers still running were killed"));
  }
  if (run.interrupted) {
    fmt::print(out, "  {}\n",
               paint.Red(fmt::format("interrupted by {}: a partial report",
                                     SignalName(run.interrupt_signal))));
  }
}

}  // namespace

void WriteTextReport(std::FILE* out, const RunResult& run,
                     const Verdict& verdict, bool color, bool title) {
  const Painter paint(color);
  if (title) WriteTextTitle(out, run, color);

  WriteBuyerRows(out, run, verdict, paint);
  WriteBooks(out, verdict);
  WriteRunLines(out, run, verdict, paint);
  WriteHosts(out, run);
  WriteRunEnd(out, run, paint);
  fmt::print(out, "\n");
  WriteVerdict(out, run, verdict, paint, /*witnesses=*/true);
}

namespace {

// "1 ticket sold, to buyer 4 (seat 1); 9 buyers were told it was sold
// out": who got what, when there is no violation to show.
std::string Outcome(const Verdict& verdict) {
  std::vector<std::string> got;
  int64_t told_sold_out = 0;
  for (const BuyerSummary& b : verdict.buyers) {
    if (b.sold_out > 0) ++told_sold_out;
    if (b.bought == 0) continue;
    got.push_back(b.seats.size() == 1 && b.bought == 1
                      ? fmt::format("buyer {} (seat {})", b.buyer, b.seats[0])
                      : fmt::format("buyer {}", b.buyer));
  }
  std::string to;
  if (got.size() == 1) {
    to = ", to " + got[0];
  } else if (got.size() > 1 && got.size() <= 3) {
    to = fmt::format(", to {} and {}",
                     fmt::join(got.begin(), got.end() - 1, ", "), got.back());
  } else if (!got.empty()) {
    to = fmt::format(", to {} buyers", got.size());
  }
  return fmt::format("{} ticket{} sold{}; {} buyer{} {} told it was sold out",
                     verdict.confirmed, verdict.confirmed == 1 ? "" : "s", to,
                     told_sold_out, told_sold_out == 1 ? "" : "s",
                     told_sold_out == 1 ? "was" : "were");
}

// "    - text", wrapped to a screen's width.
void WriteItem(std::FILE* out, std::string_view text) {
  const std::vector<std::string> lines = WrapText(text, 70);
  for (size_t i = 0; i < lines.size(); ++i) {
    fmt::print(out, "{}{}\n", i == 0 ? "    - " : "      ", Visible(lines[i]));
  }
}

}  // namespace

void WriteBriefVerdict(std::FILE* out, const RunResult& run,
                       const Verdict& verdict, bool color) {
  const Painter paint(color);
  fmt::print(out, "{}\n", paint.Bold(Visible(run.scenario.name)));
  if (verdict.ok()) {
    WriteVerdict(out, run, verdict, paint, /*witnesses=*/false);
    WriteItem(out, Outcome(verdict));
    fmt::print(out, "\n");
    return;
  }
  fmt::print(out, "  verdict   {}\n",
             paint.Red("VIOLATED: " + ListViolations(verdict.Counts())));
  for (const Violation& v : verdict.violations) {
    if (!v.witnesses.empty()) WriteItem(out, v.witnesses[0].text);
  }
  fmt::print(out, "\n");
}

namespace {

// How a run was cut short: "the run hit its time limit", "the run was
// interrupted", or "" for a run that ended on its own.
std::string CutShort(const RunResult& run) {
  return run.timed_out     ? "the run hit its time limit"
         : run.interrupted ? "the run was interrupted"
                           : "";
}

// Not a pass: only the final count was seen.
void WriteUncheckedVerdict(std::FILE* out, const Scenario& scenario,
                           const Painter& paint) {
  const std::string words =
      "UNCHECKED: the program told nothing of its sales (no events, no "
      "program.sold_pattern); no violation in what could be checked";
  fmt::print(out, "  verdict   {}\n",
             scenario.expect.violations == Expectation::kUnchecked
                 ? paint.Dim(words)
                 : paint.Red(words));
}

// The verdict line; a run cut short checked only the purchases that
// finished.
void WriteVerdictLine(std::FILE* out, const RunResult& run,
                      const Verdict& verdict, const Painter& paint) {
  const std::string cut = CutShort(run);
  if (verdict.ok()) {
    fmt::print(out, "  verdict   {}\n",
               cut.empty() ? paint.Green("no violation")
                           : paint.Red(fmt::format(
                                 "incomplete ({}): no violation among the "
                                 "purchases that finished",
                                 cut)));
    return;
  }
  // One line naming each kind: their counts overlap (nine extra sales of
  // one seat are nine lost updates, nine oversold and nine duplicates
  // alike).
  fmt::print(out, "  verdict   {}{}\n",
             paint.Red("VIOLATED: " + ListViolations(verdict.Counts())),
             cut.empty() ? "" : fmt::format(" (incomplete: {})", cut));
}

// Each kind of `list` with its summary and, if asked for, its witnesses;
// violations in red, findings in bold.
void WriteKinds(std::FILE* out, const std::vector<Violation>& list, bool red,
                const Painter& paint, bool witnesses) {
  for (const Violation& v : list) {
    const std::string name = Upper(ViolationName(v.kind));
    fmt::print(out, "{}  {} x{}: {}\n", witnesses ? "\n" : "",
               red ? paint.Red(name) : paint.Bold(name), v.count,
               Visible(v.summary));
    if (!witnesses) continue;
    for (const Witness& w : v.witnesses) {
      fmt::print(out, "    - {}\n", Visible(w.text));
    }
    if (v.unwitnessed > 0) {
      fmt::print(out, "    - and {} more\n", v.unwitnessed);
    }
  }
}

// The verdict line, then each kind found with its witnesses if asked for,
// then the hint, if any.
void WriteVerdict(std::FILE* out, const RunResult& run, const Verdict& verdict,
                  const Painter& paint, bool witnesses) {
  if (verdict.ok() && ProgramSalesUnknown(run)) {
    WriteUncheckedVerdict(out, run.scenario, paint);
    return;
  }
  WriteVerdictLine(out, run, verdict, paint);
  WriteKinds(out, verdict.violations, /*red=*/true, paint, witnesses);
  if (!verdict.findings.empty()) {
    fmt::print(out, "{}  found     {} (a finding, not a violation)\n",
               witnesses ? "\n" : "",
               paint.Bold(ListViolations(verdict.FindingCounts())));
    WriteKinds(out, verdict.findings, /*red=*/false, paint, witnesses);
  }
  if (const std::string hint = TornReadHint(run.scenario, verdict);
      !hint.empty()) {
    fmt::print(out, "\n");
    for (const std::string& line : WrapText("hint: " + hint, 74)) {
      fmt::print(out, "  {}\n", line);
    }
  }
}

std::string ExpectWords(const Scenario& s) {
  // Without [expect] a scenario still has an expectation (no violation),
  // but one the reader did not write: "none" would read as theirs.
  if (s.expect.violations == Expectation::kUnset) {
    return "no violation expected (no [expect] given)";
  }
  if (s.expect.violations != Expectation::kSome) {
    return std::string(WordOf(kExpectations, s.expect.violations));
  }
  std::string out = "some";
  for (size_t i = 0; i < s.expect.kinds.size(); ++i) {
    out += fmt::format("{}{}", i == 0 ? ": " : ", ",
                       ViolationName(s.expect.kinds[i]));
  }
  return out;
}

// "trial 1 (seed 42) got lost update x9" for a scenario without [expect]
// whose first problem is that a trial showed violations; "" otherwise.
std::string UnwrittenMiss(const ScenarioResult& result) {
  if (result.loaded.scenario.expect.violations != Expectation::kUnset ||
      result.run_failed() || result.interrupted()) {
    return "";
  }
  for (size_t i = 0; i < result.trials.size(); ++i) {
    const TrialResult& t = result.trials[i];
    if (t.miss.empty()) continue;
    const size_t got = t.miss.find(", got ");
    if (got == std::string::npos) return "";
    return fmt::format("trial {} (seed {}) got {}", i + 1, t.seed,
                       t.miss.substr(got + 6));
  }
  return "";
}

std::string Percent(double fraction) {
  return fmt::format("{:.1f}%", 100 * fraction);
}

// The summary's head: the scenario's name and file, its setup, and the
// seeds its trials used.
void WriteTrialsSetup(std::FILE* out, const ScenarioResult& result,
                      const Painter& paint) {
  const Scenario& s = result.loaded.scenario;
  fmt::print(out, "{}{}\n", paint.Bold(Visible(s.name)),
             result.loaded.path.empty()
                 ? ""
                 : "  (" + Visible(result.loaded.path) + ")");
  const auto trials = static_cast<int64_t>(result.trials.size());
  const uint64_t last = TrialSeed(s.buyers.seed, trials - 1);
  fmt::print(out, "  {}\n  seeds {} to {} (trial t used seed {} + t - 1{})\n",
             Visible(DescribeSetup(s)), s.buyers.seed, last, s.buyers.seed,
             last < s.buyers.seed
                 ? fmt::format(", wrapping to 0 past {}", kMaxSeed)
                 : "");
}

// Under a controlled schedule: which one, and that each trial replays with
// its seed.
void WriteTrialsSchedule(std::FILE* out, const Scenario& s) {
  if (!s.schedule.controlled()) return;
  std::string line = fmt::format(
      "schedule {}", WordOf(kScheduleKinds, s.schedule.kind == ScheduleKind::kOs
                                                ? ScheduleKind::kSeeded
                                                : s.schedule.kind));
  if (s.schedule.kind == ScheduleKind::kPct) {
    const int64_t k = StepEstimate(s);
    line += PctWords(s.schedule.pct_depth, k,
                     PctBound(s.buyers.count, k, s.schedule.pct_depth));
  }
  line += ": each trial replays with its seed";
  for (const std::string& l : WrapText(line, 74)) {
    fmt::print(out, "  {}\n", l);
  }
}

// How many trials showed a violation, with its 95% interval; which kinds;
// the time and the rates of all trials.
void WriteTrialsTally(std::FILE* out, const ScenarioResult& result) {
  const auto trials = static_cast<int64_t>(result.trials.size());
  const int64_t violated = result.with_violations();
  const Interval ci = WilsonInterval(violated, trials);
  fmt::print(out,
             "  trials    {} of {} showed a violation ({}; 95% interval "
             "{} to {})\n",
             violated, trials, Percent(static_cast<double>(violated) / trials),
             Percent(ci.low), Percent(ci.high));
  const std::string shown = ListKindsInTrials(result);
  if (!shown.empty()) fmt::print(out, "  kinds     {}\n", shown);
  int64_t attempts = 0;
  int64_t sales = 0;
  for (const TrialResult& t : result.trials) {
    attempts += t.attempts;
    sales += t.sold;
  }
  fmt::print(out, "  time      {} in all {} trials\n  rates     {}\n",
             DurationWords(result.seconds()), trials,
             RatesWords(attempts, sales, result.seconds()));
}

// What was expected, and whether it held.
void WriteExpectLine(std::FILE* out, const ScenarioResult& result,
                     const Painter& paint) {
  const Scenario& s = result.loaded.scenario;
  const std::string expect = ExpectWords(s);
  const bool unset = s.expect.violations == Expectation::kUnset;
  if (result.passed()) {
    fmt::print(out, "  expect    {} -- {}\n\n", expect,
               paint.Green(unset ? "held: no violation" : "met"));
  } else if (const std::string got = UnwrittenMiss(result); !got.empty()) {
    // The expect line has already said what was expected.
    fmt::print(out, "  expect    {} -- {}: {}\n\n", expect,
               paint.Red("did NOT hold"), Visible(got));
  } else {
    fmt::print(
        out, "  expect    {} -- {}: {}\n\n", expect,
        paint.Red(result.run_failed() || result.interrupted() ? "not known"
                  : result.unchecked()                        ? "NOT CHECKED"
                  : unset                                     ? "did NOT hold"
                                                              : "NOT MET"),
        VisibleIndented(result.FirstProblem(), "      "));
  }
}

}  // namespace

void WriteTrialsSummary(std::FILE* out, const ScenarioResult& result,
                        bool color) {
  const Painter paint(color);
  const size_t trials = result.trials.size();
  if (trials > 1) {
    WriteTrialsSetup(out, result, paint);
    WriteTrialsSchedule(out, result.loaded.scenario);
    WriteTrialsTally(out, result);
  }
  if (trials == 1) fmt::print(out, "\n");
  WriteExpectLine(out, result, paint);
}

std::string ScenarioLabel(const ScenarioResult& result) {
  // A file's name is short and unique; a scenario from flags has only its
  // name.
  return result.loaded.path.empty()
             ? result.loaded.scenario.name
             : std::filesystem::path(result.loaded.path).stem().string();
}

void WriteQuietLine(std::FILE* out, const ScenarioResult& result,
                    int exit_status, bool color) {
  const Painter paint(color);
  std::string verdict;
  if (result.interrupted()) {
    verdict = paint.Red("INTERRUPTED");
  } else if (result.run_failed()) {
    verdict = paint.Red("ERROR: " + Visible(result.FirstProblem()));
  } else if (result.with_violations() > 0) {
    std::vector<std::string> kinds;
    for (const ViolationCount& k : result.kinds_in_trials()) {
      kinds.emplace_back(ViolationName(k.first));
    }
    verdict = paint.Red(fmt::format("VIOLATED ({})", fmt::join(kinds, ", ")));
  } else if (result.unchecked()) {
    verdict = paint.Red("UNCHECKED");
  } else {
    verdict = paint.Green("no violation");
  }
  const char* expectation = result.passed() ? "expectation met"
                            : result.run_failed() || result.interrupted()
                                ? "expectation not known"
                                : "expectation NOT met";
  fmt::print(out, "{}: {}, {}/{} trials violated, {}, exit {}\n",
             Visible(ScenarioLabel(result)), verdict, result.with_violations(),
             result.trials.size(), expectation, exit_status);
}

namespace {

// The table's scenario column: as wide as the longest label, at least 8
// and at most 40.
size_t LabelWidth(std::span<const ScenarioResult> results) {
  size_t width = 8;
  for (const ScenarioResult& r : results) {
    width = std::max(width, Visible(ScenarioLabel(r)).size());
  }
  return std::min<size_t>(width, 40);
}

// A scenario's row: its label (cut to `width`), trials, violated, the 95%
// interval, what it expected, and the result.
void WriteSuiteRow(std::FILE* out, const ScenarioResult& r, size_t width,
                   const Painter& paint) {
  const int64_t trials = static_cast<int64_t>(r.trials.size());
  const Interval ci = WilsonInterval(r.with_violations(), trials);
  std::string name = Visible(ScenarioLabel(r));
  if (name.size() > width) name = name.substr(0, width - 3) + "...";
  const std::string result =
      r.passed() ? paint.Green("pass")
                 : paint.Red(r.run_failed() || r.interrupted() ? "ERROR"
                             : r.unchecked()                   ? "UNCHECKED"
                                                               : "FAIL");
  const Expectation expect = r.loaded.scenario.expect.violations;
  fmt::print(out, "{:<{}}  {:>6}  {:>8}  {:<15}  {:<6}  {}\n", name, width,
             trials, r.with_violations(),
             fmt::format("{:.0f}-{:.0f}%", 100 * ci.low, 100 * ci.high),
             expect == Expectation::kUnset
                 ? std::string("unset")
                 : std::string(WordOf(kExpectations, expect)),
             result);
}

}  // namespace

void WriteSuiteTable(std::FILE* out, std::span<const ScenarioResult> results,
                     bool color) {
  const Painter paint(color);
  const size_t width = LabelWidth(results);
  fmt::print(out, "{:<{}}  {:>6}  {:>8}  {:<15}  {:<6}  {}\n", "scenario",
             width, "trials", "violated", "95% interval", "expect", "result");
  int passed = 0;
  for (const ScenarioResult& r : results) {
    WriteSuiteRow(out, r, width, paint);
    passed += r.passed() ? 1 : 0;
  }
  fmt::print(out, "\n{} of {} scenarios met their expectation\n", passed,
             results.size());
  if (std::any_of(results.begin(), results.end(), [](const auto& r) {
        return r.loaded.scenario.expect.violations == Expectation::kUnset;
      })) {
    fmt::print(out,
               "(expect unset: no [expect] given, so no violation is "
               "expected)\n");
  }
}

}  // namespace ticketsim
