#include "fuzz/fuzz_agent_lines.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "sim/history_file/history_export.h"
#include "sim/hosts/host_events.h"
#include "sim/hosts/host_protocol.h"
#include "sim/hosts/host_run.h"
#include "sim/report/narration.h"
#include "sim/report/report_json.h"
#include "sim/report/report_text.h"
#include "sim/timeline/report_html.h"

namespace ticketsim {
namespace {

const Scenario& FuzzScenario() {
  static const Scenario scenario = [] {
    Scenario s;
    for (const char* setting :
         {"store.kind = \"postgres\"", "guard.kind = \"named-mutex\"",
          "tickets.initial = 100", "buyers.count = 4", "buyers.attempts = 2",
          "buyers.hosts = [\"a\", \"b\"]"}) {
      if (!ApplySetting(&s, setting).ok()) std::abort();
    }
    if (!ValidateScenario(s).ok()) std::abort();
    return s;
  }();
  return scenario;
}

std::FILE* Null() {
  static std::FILE* null = std::fopen("/dev/null", "w");
  if (null == nullptr) std::abort();
  return null;
}

// Takes `lines` as the parent takes host a's, up to the first it refuses,
// counting in *taken the events and ends it took. Returns what is wrong, or
// "".
std::string TakeLines(std::string_view input, RunResult* run, int* taken) {
  const std::vector<uint32_t> share = {0, 2};
  HostEvents events;
  if (!events.Map(run->scenario, run).ok())
    return "the history cannot be mapped";
  LineSplitter buffer{kMaxHostLine};
  buffer.Append(input);
  buffer.Append("\n");
  std::string line;
  bool too_long = false;
  while (buffer.Next(&line, &too_long) && !too_long) {
    AgentMessage m;
    Status s = ParseAgentLine(line, &m);
    if (s.ok() && m.kind == AgentMessage::Kind::kEvent) {
      int64_t t = 0;
      s = OnRunClock(m.time, 0, kFuzzRunStart, &t)
              ? events.TakeEvent(m.event, t, kFuzzRunLength, share)
              : Status::Invalid("no time");
    } else if (s.ok() && m.kind == AgentMessage::Kind::kEnd) {
      s = events.TakeEnd(m, kFuzzRunLength, share);
    }
    if (!s.ok()) {
      if (s.code() != Status::Code::kInvalid || s.message().empty()) {
        return fmt::format("a line refused without a message: {}", line);
      }
      break;
    }
    if (m.kind == AgentMessage::Kind::kEvent ||
        m.kind == AgentMessage::Kind::kEnd) {
      ++*taken;
    }
  }
  return "";
}

}  // namespace

std::string CheckAgentLinesInput(const uint8_t* data, size_t size) {
  RunResult run;
  run.scenario = FuzzScenario();
  run.hosts = {{"a", {0, 2}, 0, 5000, 16}, {"b", {1, 3}, 0, 5000, 16}};
  run.final_count = 50;
  run.seconds = static_cast<double>(kFuzzRunLength) / 1e9;
  int taken = 0;
  const std::string wrong =
      TakeLines(std::string_view(reinterpret_cast<const char*>(data), size),
                &run, &taken);
  if (!wrong.empty()) return wrong;
  // A run of which nothing was taken reports as every such run does: the
  // reports are rendered for the runs that differ, at a fraction of the cost.
  if (taken == 0) return "";
  Verdict verdict = CheckRun(run);
  AddClockUncertainty(run, &verdict);
  WriteTextReport(Null(), run, verdict, /*color=*/false);
  WriteNarration(Null(), run, verdict);
  if (JsonText(JsonReport(run, verdict)).empty()) return "an empty JSON report";
  if (!WriteHistoryJsonl(Null(), run, 1, verdict).ok()) {
    return "the history could not be written";
  }
  if (HtmlRunSection(run, verdict, "fuzz").empty()) return "an empty timeline";
  return "";
}

}  // namespace ticketsim
