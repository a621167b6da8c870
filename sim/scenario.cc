#include "sim/scenario.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace ticketsim {
namespace {

constexpr EnumWord<GuardKind> kGuardKindWords[] = {
    {GuardKind::kNone, "none", "no exclusion at all: the race is open"},
    {GuardKind::kNamedMutex, "named-mutex",
     "boost::interprocess::named_mutex; stays locked if its holder dies"},
    {GuardKind::kFileLock, "file-lock",
     "flock() on a separate lock file; the kernel frees it if its holder dies"},
    {GuardKind::kRobustMutex, "robust-mutex",
     "process-shared robust pthread mutex; the next locker recovers it"},
    {GuardKind::kSqliteImmediate, "sqlite-immediate",
     "BEGIN IMMEDIATE ... COMMIT (sqlite store only)"},
    {GuardKind::kSqliteDeferred, "sqlite-deferred",
     "BEGIN DEFERRED ... COMMIT: SQLITE_BUSY when two readers both upgrade "
     "(sqlite store only)"},
};
constexpr EnumWord<Scope> kScopeWords[] = {
    {Scope::kBuy, "buy", "the guard covers the purchase only (the seed)"},
    {Scope::kQueryAndBuy, "query-and-buy", "the guard covers the query too"},
};
constexpr EnumWord<Method> kMethodWords[] = {
    {Method::kReadModifyWrite, "read-modify-write",
     "read the count, think, write count - 1 (the seed's get())"},
    {Method::kAtomic, "atomic",
     "the store's own single step (compare-and-swap; UPDATE ... RETURNING)"},
};

using Setter = Status (*)(Scenario*, const toml::node&);

struct KeyEntry {
  std::string_view key;
  std::string_view help;
  Setter set;
};

std::string Shown(const toml::node& value) {
  std::ostringstream out;
  value.visit([&out](const auto& v) { out << toml::toml_formatter(v); });
  return out.str();
}

Status GetInt(const toml::node& value, int64_t lo, int64_t hi, int64_t* out) {
  const auto* v = value.as_integer();
  if (v == nullptr) {
    return Status::Invalid(
        fmt::format("expected a whole number, got {}", Shown(value)));
  }
  if (v->get() < lo || v->get() > hi) {
    return Status::Invalid(
        fmt::format("{} is out of range [{}, {}]", v->get(), lo, hi));
  }
  *out = v->get();
  return Status::Ok();
}

Status GetDouble(const toml::node& value, double lo, double hi, double* out) {
  const std::optional<double> v = value.value<double>();
  if (!value.is_number() || !v || std::isnan(*v)) {
    return Status::Invalid(
        fmt::format("expected a number, got {}", Shown(value)));
  }
  if (*v < lo || *v > hi) {
    return Status::Invalid(
        fmt::format("{} is out of range [{}, {}]", *v, lo, hi));
  }
  *out = *v;
  return Status::Ok();
}

Status GetString(const toml::node& value, std::string* out) {
  const auto* v = value.as_string();
  if (v == nullptr) {
    return Status::Invalid(
        fmt::format("expected a string, got {}", Shown(value)));
  }
  *out = v->get();
  return Status::Ok();
}

template <typename E>
Status GetWord(const toml::node& value, std::span<const EnumWord<E>> table,
               E* out) {
  std::string word;
  Status s = GetString(value, &word);
  if (!s.ok()) return s;
  const std::optional<E> found = ValueOf(table, word);
  if (!found) {
    return Status::Invalid(
        fmt::format("\"{}\" is not one of {}", word, WordList(table)));
  }
  *out = *found;
  return Status::Ok();
}

// A range is [min, max], or one number meaning [n, n].
Status GetRange(const toml::node& value, MsRange* out) {
  MsRange range;
  if (const auto* array = value.as_array()) {
    if (array->size() != 2) {
      return Status::Invalid(
          fmt::format("expected [min, max], got {} values", array->size()));
    }
    Status s = GetDouble(*array->get(0), 0, kMaxDelayMs, &range.min);
    if (s.ok()) s = GetDouble(*array->get(1), 0, kMaxDelayMs, &range.max);
    if (!s.ok()) return s;
    if (range.min > range.max) {
      return Status::Invalid(fmt::format(
          "the range is reversed: min {} > max {}", range.min, range.max));
    }
  } else {
    Status s = GetDouble(value, 0, kMaxDelayMs, &range.min);
    if (!s.ok()) return s;
    range.max = range.min;
  }
  *out = range;
  return Status::Ok();
}

constexpr KeyEntry kKeys[] = {
    {"name", "a short title",
     [](Scenario* s, const toml::node& v) { return GetString(v, &s->name); }},
    {"description", "what the scenario shows and why",
     [](Scenario* s, const toml::node& v) {
       return GetString(v, &s->description);
     }},
    {"tickets.initial", "tickets on sale at the start",
     [](Scenario* s, const toml::node& v) {
       return GetInt(v, 0, kMaxTickets, &s->initial);
     }},
    {"store.kind", "where the count lives: file | shm | sqlite",
     [](Scenario* s, const toml::node& v) {
       return GetWord(v, kStoreKinds, &s->store.kind);
     }},
    {"store.write", "file store: truncate | replace",
     [](Scenario* s, const toml::node& v) {
       return GetWord(v, kFileWrites, &s->store.write);
     }},
    {"store.slow_write_ms",
     "file store: how long a write takes (how long a truncated file stays "
     "empty)",
     [](Scenario* s, const toml::node& v) {
       return GetDouble(v, 0, kMaxDelayMs, &s->store.slow_write_ms);
     }},
    {"store.journal", "sqlite store: wal | delete",
     [](Scenario* s, const toml::node& v) {
       return GetWord(v, kSqliteJournals, &s->store.journal);
     }},
    {"store.busy_timeout_ms",
     "sqlite store: how long a locked database is "
     "waited for",
     [](Scenario* s, const toml::node& v) {
       int64_t ms = 0;
       Status st = GetInt(v, 0, 3600000, &ms);
       s->store.busy_timeout_ms = static_cast<int>(ms);
       return st;
     }},
    {"guard.kind",
     "the exclusion: none | named-mutex | file-lock | "
     "robust-mutex | sqlite-immediate | sqlite-deferred",
     [](Scenario* s, const toml::node& v) {
       return GetWord(v, kGuardKinds, &s->guard.kind);
     }},
    {"guard.scope", "what the guard covers: buy | query-and-buy",
     [](Scenario* s, const toml::node& v) {
       return GetWord(v, kScopes, &s->guard.scope);
     }},
    {"guard.timeout_ms", "longest wait for the guard before giving up",
     [](Scenario* s, const toml::node& v) {
       return GetInt(v, 1, 3600000, &s->guard.timeout_ms);
     }},
    {"buyers.count", "buyer processes",
     [](Scenario* s, const toml::node& v) {
       return GetInt(v, 1, kMaxBuyers, &s->buyers.count);
     }},
    {"buyers.attempts", "purchases each buyer tries",
     [](Scenario* s, const toml::node& v) {
       return GetInt(v, 1, kMaxAttempts, &s->buyers.attempts);
     }},
    {"buyers.method", "read-modify-write | atomic",
     [](Scenario* s, const toml::node& v) {
       return GetWord(v, kMethods, &s->buyers.method);
     }},
    {"buyers.think_ms", "[min, max] between read and write: the race window",
     [](Scenario* s, const toml::node& v) {
       return GetRange(v, &s->buyers.think_ms);
     }},
    {"buyers.query_delay_ms", "[min, max] between the query and the purchase",
     [](Scenario* s, const toml::node& v) {
       return GetRange(v, &s->buyers.query_delay_ms);
     }},
    {"buyers.seed", "seed of the random delays",
     [](Scenario* s, const toml::node& v) {
       int64_t seed = 0;
       Status st = GetInt(v, 0, INT64_MAX, &seed);
       s->buyers.seed = static_cast<uint64_t>(seed);
       return st;
     }},
    {"faults.kill_holder",
     "chance a buyer is SIGKILLed inside its critical section",
     [](Scenario* s, const toml::node& v) {
       return GetDouble(v, 0, 1, &s->faults.kill_holder);
     }},
};

const KeyEntry* FindKey(std::string_view key) {
  for (const KeyEntry& entry : kKeys) {
    if (entry.key == key) return &entry;
  }
  return nullptr;
}

std::string_view Trim(std::string_view text) {
  const auto not_space = [](char c) { return c != ' ' && c != '\t'; };
  while (!text.empty() && !not_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && !not_space(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

const std::span<const EnumWord<GuardKind>> kGuardKinds = kGuardKindWords;
const std::span<const EnumWord<Scope>> kScopes = kScopeWords;
const std::span<const EnumWord<Method>> kMethods = kMethodWords;

std::vector<ScenarioKeyHelp> ScenarioKeys() {
  std::vector<ScenarioKeyHelp> keys;
  for (const KeyEntry& entry : kKeys) keys.push_back({entry.key, entry.help});
  return keys;
}

Status ApplySetting(Scenario* scenario, std::string_view setting) {
  const size_t eq = setting.find('=');
  if (eq == std::string_view::npos) {
    return Status::Invalid(fmt::format("\"{}\": expected key=value", setting));
  }
  const std::string_view key = Trim(setting.substr(0, eq));
  const std::string_view text = Trim(setting.substr(eq + 1));
  const KeyEntry* entry = FindKey(key);
  if (entry == nullptr) {
    return Status::Invalid(fmt::format("unknown key \"{}\"", key));
  }
  // The value is TOML; a bare word that is not TOML is taken as a string, so
  // that --set store.kind=shm works without quotes.
  toml::table doc;
  try {
    doc = toml::parse(fmt::format("v = {}", text));
  } catch (const toml::parse_error&) {
    doc = toml::table{{"v", std::string(text)}};
  }
  Status s = entry->set(scenario, *doc.get("v"));
  if (!s.ok()) return Status::Invalid(fmt::format("{}: {}", key, s.message()));
  return Status::Ok();
}

Status ValidateScenario(const Scenario& scenario) {
  const bool sqlite_guard =
      scenario.guard.kind == GuardKind::kSqliteImmediate ||
      scenario.guard.kind == GuardKind::kSqliteDeferred;
  if (sqlite_guard && scenario.store.kind != StoreKind::kSqlite) {
    return Status::Invalid(fmt::format(
        "guard.kind: \"{}\" works only with store.kind = \"sqlite\", not "
        "\"{}\"",
        WordOf(kGuardKinds, scenario.guard.kind),
        WordOf(kStoreKinds, scenario.store.kind)));
  }
  if (scenario.buyers.method == Method::kAtomic &&
      scenario.store.kind == StoreKind::kFile) {
    return Status::Invalid(
        "buyers.method: the file store has no atomic step (a file cannot be "
        "read and rewritten in one step); use \"read-modify-write\" with a "
        "guard, or store.kind = \"shm\" or \"sqlite\"");
  }
  return Status::Ok();
}

int64_t RunTimeoutMs(const Scenario& scenario) {
  if (scenario.run_timeout_ms > 0) return scenario.run_timeout_ms;
  const BuyersSpec& b = scenario.buyers;
  // Worst case: every purchase in turn, each as slow as it can be.
  const double per_purchase = b.think_ms.max + b.query_delay_ms.max +
                              scenario.store.slow_write_ms + 1.0;
  const double serial = per_purchase * static_cast<double>(b.count) *
                        static_cast<double>(b.attempts);
  return static_cast<int64_t>(
      std::min(60000.0 + 2 * serial + 2.0 * scenario.guard.timeout_ms,
               24.0 * 3600 * 1000));
}

std::string DescribeSetup(const Scenario& scenario) {
  const BuyersSpec& b = scenario.buyers;
  std::string store = std::string(WordOf(kStoreKinds, scenario.store.kind));
  if (scenario.store.kind == StoreKind::kFile) {
    store += fmt::format(" ({})", WordOf(kFileWrites, scenario.store.write));
  } else if (scenario.store.kind == StoreKind::kSqlite) {
    store +=
        fmt::format(" ({})", WordOf(kSqliteJournals, scenario.store.journal));
  }
  return fmt::format(
      "{} store, guard {} on {}, {}, {} buyer{} x {} attempt{}, think {}-{} ms",
      store, WordOf(kGuardKinds, scenario.guard.kind),
      WordOf(kScopes, scenario.guard.scope), WordOf(kMethods, b.method),
      b.count, b.count == 1 ? "" : "s", b.attempts, b.attempts == 1 ? "" : "s",
      b.think_ms.min, b.think_ms.max);
}

}  // namespace ticketsim
