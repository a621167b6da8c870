#include "sim/history_file/replay.h"

#include <fmt/format.h>
#include <stdio.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/escape.h"
#include "base/input_file.h"
#include "sim/scenario/scenario_settings.h"
#include "sim/scenario/schedule.h"

namespace ticketsim {
namespace {

// The buyers a schedule line's "steps" list; false (with *why) if it is
// not a list of buyer numbers short enough to replay.
bool ParseSteps(const nlohmann::json& steps, std::vector<uint32_t>* out,
                std::string* why) {
  if (steps.size() > kMaxListedSteps) {
    *why = fmt::format("{} steps; at most {} are replayed", steps.size(),
                       kMaxListedSteps);
    return false;
  }
  for (const nlohmann::json& step : steps) {
    if (!step.is_number_unsigned() || step.get<uint64_t>() > UINT32_MAX) {
      *why = "\"steps\" must list buyer numbers";
      return false;
    }
    out->push_back(static_cast<uint32_t>(step.get<uint64_t>()));
  }
  return true;
}

// Parses one schedule line; nullopt (with *why) if it is not one.
std::optional<Replay> ParseScheduleLine(const std::string& line,
                                        std::string* why) {
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *why = "not JSON";
    return std::nullopt;
  }
  const auto field = [&](const char* name) -> const nlohmann::json* {
    const auto it = j.find(name);
    return it == j.end() ? nullptr : &*it;
  };
  const nlohmann::json* f = field("f");
  if (f == nullptr || !f->is_string() || *f != "schedule") {
    *why = "";  // some other line that mentions a schedule
    return std::nullopt;
  }
  Replay r;
  const nlohmann::json* steps = field("steps");
  const nlohmann::json* seed = field("seed");
  const nlohmann::json* trial = field("trial");
  if (steps == nullptr || !steps->is_array() || seed == nullptr ||
      !seed->is_number_unsigned() || trial == nullptr ||
      !trial->is_number_integer()) {
    *why = "a schedule line needs \"steps\" (a list), \"seed\" and \"trial\"";
    return std::nullopt;
  }
  if (!ParseSteps(*steps, &r.steps, why)) return std::nullopt;
  r.seed = seed->get<uint64_t>();
  r.trial = trial->get<int64_t>();
  if (const nlohmann::json* s = field("schedule"); s && s->is_string()) {
    r.schedule = s->get<std::string>();
  }
  if (const nlohmann::json* v = field("violations"); v && v->is_array()) {
    for (const nlohmann::json& kind : *v) {
      if (kind.is_string()) r.violations.push_back(kind.get<std::string>());
    }
  }
  return r;
}

// The longest line read: a schedule of kMaxListedSteps buyers, with room.
constexpr size_t kMaxReplayLine = kMaxListedSteps * 12 + 4096;

enum class Got { kLine, kEnd, kTooLong };

// Reads one line (without its newline) of at most kMaxReplayLine.
Got ReadLine(std::FILE* in, std::string* line) {
  line->clear();
  for (;;) {
    // The stream is this reader's alone: no lock per character.
    const int c = getc_unlocked(in);
    if (c == EOF) return line->empty() ? Got::kEnd : Got::kLine;
    if (c == '\n') return Got::kLine;
    if (line->size() == kMaxReplayLine) return Got::kTooLong;
    line->push_back(static_cast<char>(c));
  }
}

// The lines of a history that a replay reads: each start line (the scenario
// of the trials after it) and each schedule line, with the trial it picks.
class ReplayScan {
 public:
  ReplayScan(std::string name, int64_t trial)
      : name_(std::move(name)), trial_(trial) {}

  // Reads line `number`; Invalid if it is a start or schedule line that is
  // no history's. Sets *done once the trial wanted is found.
  Status Line(const std::string& line, int64_t number, bool* done) {
    if (line.find("\"start\"") != std::string::npos) {
      return StartLine(line, number);
    }
    // Only schedule lines are parsed: the others are the run's events.
    if (line.find("\"schedule\"") == std::string::npos ||
        line.find("\"steps\"") == std::string::npos) {
      return Status::Ok();
    }
    std::string why;
    std::optional<Replay> r = ParseScheduleLine(line, &why);
    if (!r) {
      if (why.empty()) return Status::Ok();
      return Status::Invalid(
          fmt::format("--replay {}:{}: {}", name_, number, why));
    }
    r->recorded = start_.recorded;
    r->name = start_.name;
    r->settings = start_.settings;
    ++trials_;
    if (trial_ > 0 && r->trial == trial_) {
      first_ = std::move(r);
      *done = true;
      return Status::Ok();
    }
    if (!violated_ && !r->violations.empty()) violated_ = *r;
    if (!first_) first_ = std::move(r);
    *done = trial_ == 0 && violated_.has_value();
    return Status::Ok();
  }

  // The trial picked, or Invalid saying why there is none.
  Status Result(bool found, Replay* out) {
    if (trials_ == 0) {
      return Status::Invalid(fmt::format(
          "--replay {}: it holds no schedule: write one with `ticketsim run "
          "--history FILE` under a controlled schedule (--schedule seeded, "
          "pct or step)",
          name_));
    }
    if (trial_ > 0 && !found) {
      return Status::Invalid(fmt::format(
          "--replay {}: it holds no trial {} ({} trial{} with a schedule)",
          name_, trial_, trials_, trials_ == 1 ? "" : "s"));
    }
    *out =
        violated_ && trial_ == 0 ? std::move(*violated_) : std::move(*first_);
    return Status::Ok();
  }

 private:
  // A start line: its scenario (name and settings), if it records one.
  Status StartLine(const std::string& line, int64_t number) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Status::Ok();
    const auto f = j.find("f");
    if (f == j.end() || !f->is_string() || *f != "start") return Status::Ok();
    start_ = Replay();
    const auto settings = j.find("settings");
    if (settings == j.end()) return Status::Ok();
    const std::string origin = fmt::format("--replay {}:{}", name_, number);
    if (Status s = SettingsAsOverrides(*settings, origin, &start_.settings);
        !s.ok()) {
      return Status::Invalid(fmt::format("{}: {}", origin, s.message()));
    }
    start_.recorded = true;
    const auto scenario = j.find("scenario");
    if (scenario != j.end() && scenario->is_string()) {
      start_.name = scenario->get<std::string>();
    }
    return Status::Ok();
  }

  const std::string name_;
  const int64_t trial_;
  Replay start_;  // the scenario of the last start line
  std::optional<Replay> first_;
  std::optional<Replay> violated_;
  int64_t trials_ = 0;
};

}  // namespace

Status LoadReplay(const std::string& path, int64_t trial, Replay* out) {
  const std::string name = Visible(path);
  // A regular file only: a FIFO or a device (/dev/zero) would never end.
  int err = 0;
  mode_t mode = 0;
  Fd fd = OpenRegularFile(path, &err, &mode);
  if (fd.get() < 0 && err == 0) {
    return Status::Invalid(fmt::format("--replay {}: it is {}, not a history",
                                       name, FileKindOf(mode)));
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(
      fd.get() < 0 ? nullptr : fdopen(fd.get(), "rb"), &std::fclose);
  if (in != nullptr) fd.release();
  if (in == nullptr) {
    return Status::Invalid(fmt::format("--replay {}: cannot open it: {}", name,
                                       std::strerror(err != 0 ? err : errno)));
  }
  ReplayScan scan(name, trial);
  std::string line;
  bool found = false;
  for (int64_t number = 1; !found; ++number) {
    const Got got = ReadLine(in.get(), &line);
    if (got == Got::kEnd) {
      if (std::ferror(in.get())) {
        return Status::Invalid(fmt::format("--replay {}:{}: cannot read it: {}",
                                           name, number, std::strerror(errno)));
      }
      break;
    }
    if (got == Got::kTooLong) {
      return Status::Invalid(fmt::format(
          "--replay {}:{}: a line of more than {} bytes is no history's", name,
          number, kMaxReplayLine));
    }
    if (Status s = scan.Line(line, number, &found); !s.ok()) return s;
  }
  return scan.Result(found && trial > 0, out);
}

}  // namespace ticketsim
