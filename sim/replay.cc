#include "sim/replay.h"

#include <fmt/format.h>
#include <stdio.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "sim/escape.h"
#include "sim/input_file.h"
#include "sim/schedule.h"

namespace ticketsim {
namespace {

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
  if (steps->size() > kMaxListedSteps) {
    *why = fmt::format("{} steps; at most {} are replayed", steps->size(),
                       kMaxListedSteps);
    return std::nullopt;
  }
  for (const nlohmann::json& step : *steps) {
    if (!step.is_number_unsigned() || step.get<uint64_t>() > UINT32_MAX) {
      *why = "\"steps\" must list buyer numbers";
      return std::nullopt;
    }
    r.steps.push_back(static_cast<uint32_t>(step.get<uint64_t>()));
  }
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
constexpr size_t kMaxLineBytes = kMaxListedSteps * 12 + 4096;

enum class Got { kLine, kEnd, kTooLong };

// Reads one line (without its newline) of at most kMaxLineBytes.
Got ReadLine(std::FILE* in, std::string* line) {
  line->clear();
  for (;;) {
    // The stream is this reader's alone: no lock per character.
    const int c = getc_unlocked(in);
    if (c == EOF) return line->empty() ? Got::kEnd : Got::kLine;
    if (c == '\n') return Got::kLine;
    if (line->size() == kMaxLineBytes) return Got::kTooLong;
    line->push_back(static_cast<char>(c));
  }
}

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
  std::optional<Replay> first;
  std::optional<Replay> violated;
  int64_t trials = 0;
  std::string line;
  for (int64_t number = 1;; ++number) {
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
          number, kMaxLineBytes));
    }
    // Only schedule lines are parsed: the others are the run's events.
    if (line.find("\"schedule\"") == std::string::npos ||
        line.find("\"steps\"") == std::string::npos) {
      continue;
    }
    std::string why;
    std::optional<Replay> r = ParseScheduleLine(line, &why);
    if (!r) {
      if (why.empty()) continue;
      return Status::Invalid(
          fmt::format("--replay {}:{}: {}", name, number, why));
    }
    ++trials;
    if (trial > 0 && r->trial == trial) {
      *out = std::move(*r);
      return Status::Ok();
    }
    if (!violated && !r->violations.empty()) violated = *r;
    if (!first) first = std::move(r);
    if (trial == 0 && violated) break;
  }
  if (trials == 0) {
    return Status::Invalid(fmt::format(
        "--replay {}: it holds no schedule: write one with `ticketsim run "
        "--history FILE` under a controlled schedule (--schedule seeded, pct "
        "or step)",
        name));
  }
  if (trial > 0) {
    return Status::Invalid(fmt::format(
        "--replay {}: it holds no trial {} ({} trial{} with a schedule)", name,
        trial, trials, trials == 1 ? "" : "s"));
  }
  *out = violated ? std::move(*violated) : std::move(*first);
  return Status::Ok();
}

}  // namespace ticketsim
