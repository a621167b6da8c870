#include "sim/hosts/host_protocol.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <utility>

namespace ticketsim {
namespace {

using nlohmann::json;

// A TOML basic string: what must be escaped is, as \uXXXX.
std::string TomlString(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\u{:04X}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

template <typename E>
std::string Word(std::span<const EnumWord<E>> table, E value) {
  return TomlString(WordOf(table, value));
}

std::string Range(const MsRange& range) {
  return fmt::format("[{}, {}]", range.min, range.max);
}

// nlohmann's dump, never throwing on bytes that are not UTF-8.
std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A whole number in `j` that fits in int64_t.
bool GetInt64(const json& j, int64_t* out) {
  if (j.is_number_integer()) {
    if (j.is_number_unsigned() &&
        j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return false;
    }
    *out = j.get<int64_t>();
    return true;
  }
  return false;
}

bool GetInRange(const json& j, int64_t lo, int64_t hi, int64_t* out) {
  int64_t v = 0;
  if (!GetInt64(j, &v) || v < lo || v > hi) return false;
  *out = v;
  return true;
}

// The object a line holds, or Invalid.
Status ParseObject(std::string_view line, json* out) {
  if (line.size() > kMaxHostLine) {
    return Status::Invalid(fmt::format("a line of {} bytes (at most {})",
                                       line.size(), kMaxHostLine));
  }
  json j = json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Invalid("not a JSON object");
  }
  *out = std::move(j);
  return Status::Ok();
}

Status Bad(std::string_view what) { return Status::Invalid(std::string(what)); }

std::string OptionalText(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace

std::vector<std::string> HostSettings(const Scenario& scenario) {
  const StoreSpec& store = scenario.store;
  const GuardSpec& guard = scenario.guard;
  const BuyersSpec& buyers = scenario.buyers;
  const FaultsSpec& faults = scenario.faults;
  return {
      fmt::format("tickets.initial = {}", scenario.initial),
      fmt::format("store.kind = {}", Word(kStoreKinds, store.kind)),
      fmt::format("store.write = {}", Word(kFileWrites, store.write)),
      fmt::format("store.slow_write_ms = {}", store.slow_write_ms),
      fmt::format("store.file_name = {}", TomlString(store.file_name)),
      fmt::format("store.journal = {}", Word(kSqliteJournals, store.journal)),
      fmt::format("store.busy_timeout_ms = {}", store.busy_timeout_ms),
      fmt::format("store.isolation = {}", Word(kPgIsolations, store.isolation)),
      fmt::format("store.retries = {}", store.retries),
      fmt::format("guard.kind = {}", Word(kGuardKinds, guard.kind)),
      fmt::format("guard.scope = {}", Word(kScopes, guard.scope)),
      fmt::format("guard.timeout_ms = {}", guard.timeout_ms),
      fmt::format("guard.permits = {}", guard.permits),
      fmt::format("guard.order = {}", Word(kGuardOrders, guard.order)),
      fmt::format("guard.acquire = {}", Word(kGuardAcquires, guard.acquire)),
      fmt::format("guard.backoff_ms = {}", Range(guard.backoff_ms)),
      fmt::format("buyers.count = {}", buyers.count),
      fmt::format("buyers.attempts = {}", buyers.attempts),
      fmt::format("buyers.method = {}", Word(kMethods, buyers.method)),
      fmt::format("buyers.think_ms = {}", Range(buyers.think_ms)),
      fmt::format("buyers.query_delay_ms = {}", Range(buyers.query_delay_ms)),
      fmt::format("buyers.seed = {}", buyers.seed),
      fmt::format("faults.kill_holder = {}", faults.kill_holder),
      fmt::format("faults.pause_holder = {}", faults.pause_holder),
      fmt::format("faults.pause_holder_ms = {}", faults.pause_holder_ms),
      fmt::format("faults.crash_before_write = {}", faults.crash_before_write),
  };
}

std::string ShareLine(const HostShare& share) {
  json j = {{"share", 1},
            {"host", share.host},
            {"buyers", share.buyers},
            {"settings", share.settings},
            {"store_tag", share.store_tag},
            {"store_dir", share.store_dir},
            {"conninfo", share.conninfo},
            {"timeout_ms", share.timeout_ms}};
  return Dump(j);
}

namespace {

// The share's settings, each applied to `made` as --set would.
Status ParseShareSettings(const json& j, HostShare* out, Scenario* made) {
  auto settings = j.find("settings");
  if (settings == j.end() || !settings->is_array()) {
    return Bad("\"settings\" is not a list");
  }
  for (const json& setting : *settings) {
    if (!setting.is_string()) return Bad("a setting is not a string");
    out->settings.push_back(setting.get<std::string>());
    if (Status s = ApplySetting(made, out->settings.back()); !s.ok()) {
      return Bad(fmt::format("setting {}", s.message()));
    }
  }
  return Status::Ok();
}

// The share's buyers: some of the run's `count`, in increasing order.
Status ParseShareBuyers(const json& j, int64_t count, HostShare* out) {
  auto buyers = j.find("buyers");
  if (buyers == j.end() || !buyers->is_array() || buyers->empty()) {
    return Bad("\"buyers\" is not a list of buyers");
  }
  for (const json& b : *buyers) {
    int64_t buyer = 0;
    if (!GetInRange(b, 0, count - 1, &buyer)) {
      return Bad(
          fmt::format("buyer {} is not one of the {} buyers", Dump(b), count));
    }
    if (!out->buyers.empty() && buyer <= out->buyers.back()) {
      return Bad("the buyers are not in increasing order");
    }
    out->buyers.push_back(static_cast<uint32_t>(buyer));
  }
  return Status::Ok();
}

}  // namespace

Status ParseShareLine(std::string_view line, HostShare* share,
                      Scenario* scenario) {
  json j;
  if (Status s = ParseObject(line, &j); !s.ok()) return s;
  if (j.value("share", 0) != 1) return Bad("not a share (no \"share\": 1)");
  HostShare out;
  const auto text = [&](const char* name, std::string* into) -> Status {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) {
      return Bad(fmt::format("\"{}\" is not a string", name));
    }
    *into = it->get<std::string>();
    return Status::Ok();
  };
  for (const auto& [name, into] :
       {std::pair{"host", &out.host}, std::pair{"store_tag", &out.store_tag},
        std::pair{"store_dir", &out.store_dir},
        std::pair{"conninfo", &out.conninfo}}) {
    if (Status s = text(name, into); !s.ok()) return s;
  }
  if (out.host.empty()) return Bad("the host has no name");
  auto timeout = j.find("timeout_ms");
  if (timeout == j.end() ||
      !GetInRange(*timeout, 1, int64_t{24} * 3600 * 1000, &out.timeout_ms)) {
    return Bad("\"timeout_ms\" is not a time limit in ms");
  }
  Scenario made;
  if (Status s = ParseShareSettings(j, &out, &made); !s.ok()) return s;
  if (Status s = ParseShareBuyers(j, made.buyers.count, &out); !s.ok()) {
    return s;
  }
  made.run_timeout_ms = out.timeout_ms;
  *share = std::move(out);
  *scenario = std::move(made);
  return Status::Ok();
}

std::string PingLine(int64_t n) { return Dump({{"ping", n}}); }
std::string GoLine() { return R"({"go":1})"; }
std::string StopLine() { return R"({"stop":1})"; }

Status ParseParentLine(std::string_view line, ParentMessage* out) {
  json j;
  if (Status s = ParseObject(line, &j); !s.ok()) return s;
  if (j.size() != 1) return Bad("not one of ping, go, stop");
  if (auto it = j.find("ping"); it != j.end()) {
    if (!GetInt64(*it, &out->ping)) return Bad("a ping without a number");
    out->kind = ParentMessage::Kind::kPing;
    return Status::Ok();
  }
  if (j.contains("go")) {
    out->kind = ParentMessage::Kind::kGo;
    return Status::Ok();
  }
  if (j.contains("stop")) {
    out->kind = ParentMessage::Kind::kStop;
    return Status::Ok();
  }
  return Bad("not one of ping, go, stop");
}

std::string PongLine(int64_t n, int64_t time) {
  return Dump({{"pong", n}, {"t", time}});
}

std::string ReadyLine(const std::vector<int64_t>& pids) {
  return Dump({{"ready", 1}, {"pids", pids}});
}

std::string EventLine(const Event& e, int64_t time) {
  return fmt::format(R"({{"ev":[{},{},{},{},{},{},{},{}]}})", e.buyer,
                     e.attempt, static_cast<int>(e.kind), e.flags, e.event,
                     e.value, e.aux, time);
}

std::string EndLine(uint32_t buyer, int exit_code, int signal, uint32_t held) {
  return Dump({{"end", buyer},
               {"exit", exit_code},
               {"signal", signal},
               {"held", held}});
}

std::string ErrorsLine(std::string_view failure, std::string_view store_error,
                       std::string_view guard_error) {
  return Dump({{"errors",
                {{"failure", failure},
                 {"store", store_error},
                 {"guard", guard_error}}}});
}

std::string DoneLine() { return R"({"done":1})"; }

std::string ErrorLine(std::string_view error) {
  return Dump({{"error", error}});
}

namespace {

// A parser of one kind of agent line: `line` is the whole object, `value`
// the field that names its kind.
using AgentLineParser = Status (*)(const json& line, const json& value,
                                   AgentMessage* m);

Status ParseEventLine(const json&, const json& a, AgentMessage* m) {
  if (!a.is_array() || a.size() != 8) {
    return Bad("an event is not a list of 8 numbers");
  }
  int64_t buyer, attempt, kind, flags, event, value, aux, time;
  if (!GetInRange(a[0], 0, kMaxBuyers - 1, &buyer) ||
      !GetInRange(a[1], 0, UINT32_MAX, &attempt) ||
      !GetInRange(a[2], static_cast<int64_t>(EventKind::kQuery),
                  static_cast<int64_t>(EventKind::kRetry), &kind) ||
      !GetInRange(a[3], 0, UINT8_MAX, &flags) ||
      !GetInRange(a[4], 0, UINT16_MAX, &event) || !GetInt64(a[5], &value) ||
      !GetInRange(a[6], 0, UINT32_MAX, &aux) ||
      !GetInRange(a[7], 0, INT64_MAX, &time)) {
    return Bad("an event's numbers are out of range");
  }
  m->kind = AgentMessage::Kind::kEvent;
  m->event = Event{0,
                   value,
                   static_cast<uint32_t>(buyer),
                   static_cast<uint32_t>(attempt),
                   static_cast<EventKind>(kind),
                   static_cast<uint8_t>(flags),
                   static_cast<uint16_t>(event),
                   static_cast<uint32_t>(aux)};
  m->time = time;
  return Status::Ok();
}

Status ParsePongLine(const json& j, const json& pong, AgentMessage* m) {
  auto t = j.find("t");
  if (!GetInt64(pong, &m->ping) || t == j.end() ||
      !GetInRange(*t, 0, INT64_MAX, &m->time)) {
    return Bad("a pong without its number and time");
  }
  m->kind = AgentMessage::Kind::kPong;
  return Status::Ok();
}

Status ParseReadyLine(const json& j, const json&, AgentMessage* m) {
  auto pids = j.find("pids");
  if (pids == j.end() || !pids->is_array()) {
    return Bad("ready without its pids");
  }
  for (const json& p : *pids) {
    int64_t pid = 0;
    if (!GetInRange(p, 1, INT32_MAX, &pid)) return Bad("a pid is not one");
    m->pids.push_back(pid);
  }
  m->kind = AgentMessage::Kind::kReady;
  return Status::Ok();
}

Status ParseEndLine(const json& j, const json& end, AgentMessage* m) {
  int64_t buyer, code, signal, held;
  auto exit = j.find("exit");
  auto sig = j.find("signal");
  auto bits = j.find("held");
  if (!GetInRange(end, 0, kMaxBuyers - 1, &buyer) || exit == j.end() ||
      !GetInRange(*exit, -1, 255, &code) || sig == j.end() ||
      !GetInRange(*sig, 0, 127, &signal) || bits == j.end() ||
      !GetInRange(*bits, 0, UINT32_MAX, &held)) {
    return Bad("an end without its buyer, exit, signal and held");
  }
  m->kind = AgentMessage::Kind::kEnd;
  m->buyer = static_cast<uint32_t>(buyer);
  m->exit_code = static_cast<int>(code);
  m->signal = static_cast<int>(signal);
  m->held = static_cast<uint32_t>(held);
  return Status::Ok();
}

Status ParseErrorsLine(const json&, const json& errors, AgentMessage* m) {
  if (!errors.is_object()) return Bad("errors is not an object");
  m->kind = AgentMessage::Kind::kErrors;
  m->failure = OptionalText(errors, "failure");
  m->store_error = OptionalText(errors, "store");
  m->guard_error = OptionalText(errors, "guard");
  return Status::Ok();
}

Status ParseDoneLine(const json&, const json&, AgentMessage* m) {
  m->kind = AgentMessage::Kind::kDone;
  return Status::Ok();
}

Status ParseErrorLine(const json&, const json& error, AgentMessage* m) {
  if (!error.is_string()) return Bad("error is not a string");
  m->kind = AgentMessage::Kind::kError;
  m->error = error.get<std::string>();
  return Status::Ok();
}

// The field that names each kind of line, in the order they are looked
// for: a line with two such fields is the kind found first.
constexpr std::pair<const char*, AgentLineParser> kAgentLines[] = {
    {"ev", ParseEventLine},      {"pong", ParsePongLine},
    {"ready", ParseReadyLine},   {"end", ParseEndLine},
    {"errors", ParseErrorsLine}, {"done", ParseDoneLine},
    {"error", ParseErrorLine},
};

}  // namespace

Status ParseAgentLine(std::string_view line, AgentMessage* out) {
  json j;
  if (Status s = ParseObject(line, &j); !s.ok()) return s;
  for (const auto& [name, parse] : kAgentLines) {
    if (auto it = j.find(name); it != j.end()) {
      AgentMessage m;
      if (Status s = parse(j, *it, &m); !s.ok()) return s;
      *out = std::move(m);
      return Status::Ok();
    }
  }
  return Bad("not one of the agent's messages");
}

namespace {

// What a buyer's event of each kind holds besides its buyer, attempt and
// event (sim/buyers/buyer.cc records them): the flags it may carry, what its
// aux is, and its least and greatest value. A write's count and a seat are
// stepped by one in the reports, so neither is at the edge of int64_t.
enum class Aux { kZero, kAny, kFailure, kFault, kGuards };
struct KindRule {
  uint8_t flags;
  Aux aux;
  int64_t min_value;
  int64_t max_value;
};
constexpr int64_t kAnyLow = INT64_MIN;
constexpr int64_t kAnyHigh = INT64_MAX;
constexpr KindRule kKindRules[] = {
    {0, Aux::kZero, 0, 0},                    // kEmpty: never sent
    {kTorn, Aux::kAny, kAnyLow, kAnyHigh},    // kQuery: the count seen
    {kRecovered, Aux::kAny, 0, 0},            // kAcquired: us waited
    {kTorn, Aux::kAny, kAnyLow, kAnyHigh},    // kRead: the count read
    {0, Aux::kZero, 0, kAnyHigh - 1},         // kWrite: a count left
    {0, Aux::kZero, 0, 0},                    // kInvoke
    {0, Aux::kZero, 1, kAnyHigh},             // kTook: the seat
    {0, Aux::kZero, kAnyLow, kAnyHigh},       // kSoldOut: the count
    {0, Aux::kFailure, 0, 0},                 // kFailed: a Failure
    {0, Aux::kZero, 0, 0},                    // kRelease
    {0, Aux::kFault, 0, kAnyHigh},            // kFault: ms paused
    {0, Aux::kGuards, 1, kBackoffsRecorded},  // kBackoff: how many
    {0, Aux::kZero, 0, 0},                    // kWaiting
    {0, Aux::kZero, 0, 0},                    // kTruncated
    {0, Aux::kZero, 1, kAnyHigh},             // kRetry: how many
};
static_assert(std::size(kKindRules) ==
              static_cast<size_t>(EventKind::kRetry) + 1);

// Whether `aux` is one its rule allows, with `events` guards in the run.
bool AuxFits(Aux rule, uint32_t aux, size_t events) {
  switch (rule) {
    case Aux::kZero:
      return aux == 0;
    case Aux::kAny:
      return true;
    case Aux::kFailure:
      return aux >= static_cast<uint32_t>(Failure::kGuardTimeout) &&
             aux <= static_cast<uint32_t>(Failure::kOutcomeUnknown);
    case Aux::kFault:
      return aux >= static_cast<uint32_t>(FaultKind::kKill) &&
             aux <= static_cast<uint32_t>(FaultKind::kCrash);
    case Aux::kGuards:
      return events >= 32 || aux < (uint32_t{1} << events);
  }
  return false;
}

Status NotTheHosts(uint32_t buyer, std::span<const uint32_t> buyers) {
  if (std::binary_search(buyers.begin(), buyers.end(), buyer)) {
    return Status::Ok();
  }
  return Bad(fmt::format("buyer {} is not this host's", buyer));
}

}  // namespace

Status CheckAgentEvent(const Event& e, const Scenario& scenario,
                       std::span<const uint32_t> buyers) {
  if (Status s = NotTheHosts(e.buyer, buyers); !s.ok()) return s;
  const auto kind = static_cast<size_t>(e.kind);
  if (e.kind == EventKind::kEmpty || kind >= std::size(kKindRules)) {
    return Bad(fmt::format("an event of kind {}, which is none", kind));
  }
  if (e.attempt >= scenario.buyers.attempts) {
    return Bad(fmt::format("attempt {} of a buyer who makes {}", e.attempt,
                           scenario.buyers.attempts));
  }
  const size_t events = EventCount(scenario);
  if (e.event >= events) {
    return Bad(fmt::format("event {} of a run of {}", e.event, events));
  }
  const KindRule& rule = kKindRules[kind];
  if ((e.flags & ~rule.flags) != 0 || !AuxFits(rule.aux, e.aux, events) ||
      e.value < rule.min_value || e.value > rule.max_value) {
    return Bad(fmt::format(
        "an event of kind {} with flags {}, aux {} and value {}, which a "
        "buyer never records",
        kind, e.flags, e.aux, e.value));
  }
  return Status::Ok();
}

Status CheckAgentEnd(const AgentMessage& end, const Scenario& scenario,
                     std::span<const uint32_t> buyers) {
  if (Status s = NotTheHosts(end.buyer, buyers); !s.ok()) return s;
  // Exited with a status, or killed by a signal that has a name (what the
  // reports call it by).
  const bool exited = end.exit_code >= 0 && end.signal == 0;
  const bool killed = end.exit_code == -1 && end.signal > 0 &&
                      sigabbrev_np(end.signal) != nullptr;
  if (!exited && !killed) {
    return Bad(fmt::format("buyer {} ended with exit {} and signal {}",
                           end.buyer, end.exit_code, end.signal));
  }
  const size_t events = EventCount(scenario);
  if (events < 32 && end.held >= (uint32_t{1} << events)) {
    return Bad(fmt::format("buyer {} held guards {:#x} of a run of {}",
                           end.buyer, end.held, events));
  }
  return Status::Ok();
}

}  // namespace ticketsim
