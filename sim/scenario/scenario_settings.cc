#include "sim/scenario/scenario_settings.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sim/check/violation.h"

namespace ticketsim {
namespace {

using Json = nlohmann::ordered_json;

Json Range(const MsRange& range) { return Json::array({range.min, range.max}); }

template <typename E>
std::string Word(std::span<const EnumWord<E>> table, E value) {
  return std::string(WordOf(table, value));
}

void AddStore(const StoreSpec& store, Json* out) {
  Json& j = *out;
  j["store.kind"] = Word(kStoreKinds, store.kind);
  j["store.write"] = Word(kFileWrites, store.write);
  j["store.slow_write_ms"] = store.slow_write_ms;
  j["store.file_name"] = store.file_name;
  j["store.journal"] = Word(kSqliteJournals, store.journal);
  j["store.busy_timeout_ms"] = store.busy_timeout_ms;
  j["store.postgres_bin"] = store.postgres_bin;
  j["store.listen"] = store.listen;
  j["store.isolation"] = Word(kPgIsolations, store.isolation);
  j["store.retries"] = store.retries;
}

void AddGuardAndBuyers(const Scenario& s, Json* out) {
  Json& j = *out;
  j["guard.kind"] = Word(kGuardKinds, s.guard.kind);
  j["guard.scope"] = Word(kScopes, s.guard.scope);
  j["guard.timeout_ms"] = s.guard.timeout_ms;
  j["guard.permits"] = s.guard.permits;
  j["guard.order"] = Word(kGuardOrders, s.guard.order);
  j["guard.acquire"] = Word(kGuardAcquires, s.guard.acquire);
  j["guard.backoff_ms"] = Range(s.guard.backoff_ms);
  j["buyers.count"] = s.buyers.count;
  j["buyers.attempts"] = s.buyers.attempts;
  j["buyers.method"] = Word(kMethods, s.buyers.method);
  j["buyers.think_ms"] = Range(s.buyers.think_ms);
  j["buyers.query_delay_ms"] = Range(s.buyers.query_delay_ms);
  j["buyers.seed"] = s.buyers.seed;
  j["buyers.pool"] = s.buyers.pool;
  j["buyers.mode"] = Word(kBuyerModes, s.buyers.mode);
  j["server.listen"] = s.server.listen;
  j["server.workers"] = Word(kServerWorkers, s.server.workers);
  j["server.threads"] = s.server.threads;
  j["server.max_connections"] = s.server.max_connections;
  j["server.max_buyers"] = s.server.max_buyers;
  j["server.max_attempts"] = s.server.max_attempts;
  if (!s.buyers.hosts.empty()) {
    j["buyers.hosts"] = s.buyers.hosts;
    j["buyers.launcher"] = s.buyers.launcher;
  }
}

void AddFaultsAndExpect(const Scenario& s, Json* out) {
  Json& j = *out;
  j["faults.kill_holder"] = s.faults.kill_holder;
  j["faults.pause_holder"] = s.faults.pause_holder;
  j["faults.pause_holder_ms"] = s.faults.pause_holder_ms;
  j["faults.crash_before_write"] = s.faults.crash_before_write;
  if (const PartitionSpec& p = s.faults.partition_host; p.set()) {
    j["faults.partition_host"] = {
        {"host", p.host}, {"at_ms", p.at_ms}, {"for_ms", p.for_ms}};
  }
  if (s.expect.violations != Expectation::kUnset) {
    j["expect.violations"] = Word(kExpectations, s.expect.violations);
  }
  if (!s.expect.kinds.empty()) {
    Json kinds = Json::array();
    for (ViolationKind kind : s.expect.kinds) {
      kinds.push_back(Word(kViolationKinds, kind));
    }
    j["expect.kinds"] = std::move(kinds);
  }
}

void AddProgramAndRun(const Scenario& s, Json* out) {
  Json& j = *out;
  if (s.program.set()) {
    j["program.command"] = s.program.command;
    j["program.mode"] = Word(kProgramModes, s.program.mode);
    if (!s.program.sold_pattern.empty()) {
      j["program.sold_pattern"] = s.program.sold_pattern;
    }
    j["program.timeout_ms"] = s.program.timeout_ms;
  }
  j["run.trials"] = s.trials;
  j["run.timeout_ms"] = s.run_timeout_ms;
  j["run.schedule"] = Word(kScheduleKinds, s.schedule.kind);
  j["run.pct_depth"] = s.schedule.pct_depth;
}

// A JSON number that is not whole, or any double, as a TOML float: always
// with a point or an exponent, and exact (fmt writes the shortest form that
// reads back as the same double).
std::string TomlFloat(double value) {
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".eE") == std::string::npos && std::isfinite(value)) {
    text += ".0";
  }
  return text;
}

// One JSON value as a TOML value; false if it cannot be one (null, or a
// number that is not finite).
bool TomlValue(const nlohmann::json& value, std::string* out) {
  switch (value.type()) {
    case nlohmann::json::value_t::string:
      *out = TomlString(value.get<std::string>());
      return true;
    case nlohmann::json::value_t::boolean:
      *out = value.get<bool>() ? "true" : "false";
      return true;
    case nlohmann::json::value_t::number_integer:
      *out = std::to_string(value.get<int64_t>());
      return true;
    case nlohmann::json::value_t::number_unsigned:
      *out = std::to_string(value.get<uint64_t>());
      return true;
    case nlohmann::json::value_t::number_float:
      *out = TomlFloat(value.get<double>());
      return std::isfinite(value.get<double>());
    case nlohmann::json::value_t::array:
    case nlohmann::json::value_t::object: {
      const bool table = value.is_object();
      std::string text = table ? "{ " : "[";
      for (auto it = value.begin(); it != value.end(); ++it) {
        std::string item;
        if (!TomlValue(*it, &item)) return false;
        if (it != value.begin()) text += ", ";
        text +=
            table ? fmt::format("{} = {}", TomlString(it.key()), item) : item;
      }
      *out = text + (table ? " }" : "]");
      return true;
    }
    default:
      return false;
  }
}

}  // namespace

Json ScenarioSettings(const Scenario& s) {
  Json j = Json::object();
  if (!s.events.empty()) j["events"] = s.events;
  j["history"] = Word(kHistoryModes, s.history);
  j["tickets.initial"] = s.initial;
  AddStore(s.store, &j);
  AddGuardAndBuyers(s, &j);
  AddFaultsAndExpect(s, &j);
  AddProgramAndRun(s, &j);
  return j;
}

Status SettingsAsOverrides(const nlohmann::json& settings,
                           std::string_view origin,
                           std::vector<Override>* out) {
  if (!settings.is_object()) {
    return Status::Invalid("\"settings\" must be an object of scenario keys");
  }
  for (auto it = settings.begin(); it != settings.end(); ++it) {
    std::string value;
    if (!TomlValue(*it, &value)) {
      return Status::Invalid(fmt::format("\"settings\": {}: {} is no value",
                                         it.key(), it.value().dump()));
    }
    out->push_back({fmt::format("{}={}", it.key(), value),
                    fmt::format("{} ({})", origin, it.key())});
  }
  return Status::Ok();
}

std::optional<std::string> FirstDifferentKey(
    const Json& a, const Json& b,
    const std::vector<std::string_view>& ignored) {
  const auto differs = [&](const Json& one, const Json& other,
                           const std::string& key) {
    if (std::find(ignored.begin(), ignored.end(), key) != ignored.end()) {
      return false;
    }
    const auto there = other.find(key);
    return there == other.end() || *there != one.at(key);
  };
  for (auto it = a.begin(); it != a.end(); ++it) {
    if (differs(a, b, it.key())) return it.key();
  }
  for (auto it = b.begin(); it != b.end(); ++it) {
    if (differs(b, a, it.key())) return it.key();
  }
  return std::nullopt;
}

std::string TomlString(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += fmt::format("\\u{:04X}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace ticketsim
