#include "sim/scenario/scenario.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <re2/re2.h>
#include <sys/resource.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <sstream>
#include <tuple>
#include <vector>

#include "sim/history/history.h"
#include "sim/history/tally.h"
#include "sim/scenario/program_command.h"
#include "sim/scenario/scenario_keys.h"
#include "sim/scenario/sold_pattern.h"
#include "sim/scenario/toml_text.h"
#include "storage/pg_connect.h"

namespace ticketsim {
namespace {

constexpr EnumWord<GuardKind> kGuardKindWords[] = {
    {GuardKind::kNone, "none", "no exclusion at all: the race is open"},
    {GuardKind::kNamedMutex, "named-mutex",
     "boost::interprocess::named_mutex; stays locked if its holder dies"},
    {GuardKind::kNamedSemaphore, "named-semaphore",
     "boost::interprocess::named_semaphore with guard.permits windows; above "
     "1 it is not mutual exclusion"},
    {GuardKind::kFileLock, "file-lock",
     "flock() on a separate lock file; the kernel frees it if its holder dies"},
    {GuardKind::kRobustMutex, "robust-mutex",
     "process-shared robust pthread mutex; the next locker recovers it"},
    {GuardKind::kSqliteImmediate, "sqlite-immediate",
     "BEGIN IMMEDIATE ... COMMIT (sqlite store only)"},
    {GuardKind::kSqliteDeferred, "sqlite-deferred",
     "BEGIN DEFERRED ... COMMIT: SQLITE_BUSY when two readers both upgrade "
     "(sqlite store only)"},
    {GuardKind::kPgRowLock, "pg-row-lock",
     "SELECT ... FOR UPDATE inside a transaction of store.isolation "
     "(postgres store only)"},
    {GuardKind::kPgAdvisory, "pg-advisory",
     "pg_advisory_lock on the buyer's session; the server frees it when "
     "it notices its holder died (postgres store only)"},
    {GuardKind::kStdMutex, "std-mutex",
     "std::mutex in the buyer process, as the tutorial's threading.Lock "
     "(buyers.mode = \"thread\" only)"},
};
constexpr EnumWord<ServerWorkers> kServerWorkerWords[] = {
    {ServerWorkers::kThreadPerConnection, "thread-per-connection",
     "a thread per connection (the tutorial's threaded server)"},
    {ServerWorkers::kPool, "pool",
     "server.threads threads, each serving one connection at a time"},
};

constexpr EnumWord<BuyerMode> kBuyerModeWords[] = {
    {BuyerMode::kProcess, "process",
     "each buyer a process of its own (the tutorial's multiprocessing)"},
    {BuyerMode::kThread, "thread",
     "each buyer a thread of one buyer process (the tutorial's threading): "
     "they share its memory"},
};
constexpr EnumWord<Scope> kScopeWords[] = {
    {Scope::kBuy, "buy",
     "the guard covers the purchase only (as the tutorial's program)"},
    {Scope::kQueryAndBuy, "query-and-buy", "the guard covers the query too"},
};
constexpr EnumWord<Method> kMethodWords[] = {
    {Method::kReadModifyWrite, "read-modify-write",
     "read the count, think, write count - 1 (the tutorial's get())"},
    {Method::kAtomic, "atomic",
     "the store's own single step (compare-and-swap; UPDATE ... RETURNING)"},
};

constexpr EnumWord<GuardOrder> kGuardOrderWords[] = {
    {GuardOrder::kGlobal, "global",
     "every buyer takes the events' guards in the same order: no deadlock"},
    {GuardOrder::kOpposite, "opposite",
     "odd-numbered buyers take them in reverse order: a deadlock"},
};
constexpr EnumWord<GuardAcquire> kGuardAcquireWords[] = {
    {GuardAcquire::kWait, "wait", "wait for each guard (guard.timeout_ms)"},
    {GuardAcquire::kTryBackoff, "try-backoff",
     "try each guard after the first; if taken, give all back, back off "
     "(guard.backoff_ms) and start again"},
};

constexpr EnumWord<HistoryMode> kHistoryModeWords[] = {
    {HistoryMode::kFull, "full",
     "every event: witnesses, --history, --html and --narrate"},
    {HistoryMode::kSummary, "summary",
     "counts and seats only, in memory that does not grow with the attempts"},
};

constexpr EnumWord<ProgramMode> kProgramModeWords[] = {
    {ProgramMode::kBuyer, "buyer",
     "one copy per buyer, released together by the start barrier (fd 4)"},
    {ProgramMode::kWhole, "whole",
     "run once; it starts its own processes (outcome checks only)"},
    {ProgramMode::kOperation, "operation",
     "each purchase is one run of the command: exit 0 sold, 3 sold out"},
};

constexpr EnumWord<Expectation> kExpectationWords[] = {
    {Expectation::kNone, "none", "no trial may show a violation"},
    {Expectation::kSome, "some", "every trial must show a violation"},
    {Expectation::kUnchecked, "unchecked",
     "no violation, and a program that tells nothing of its sales may pass "
     "unchecked"},
};

using Setter = Status (*)(Scenario*, const toml::node&);

struct KeyEntry {
  std::string_view key;
  std::string_view help;
  Setter set;
};

// A value as TOML writes it inline ("[ 1, 'a', { k = 2 } ]"), for messages.
// Arrays and tables are put together here: toml++ 3.3's formatter, sizing
// them up, converts inf and nan to an integer and negates INT64_MIN
// (undefined behaviour). It writes single values well.
std::string ShownInline(const toml::node& value) {
  std::ostringstream out;
  if (const toml::array* array = value.as_array()) {
    if (array->empty()) return "[]";
    out << "[ ";
    for (size_t i = 0; i < array->size(); ++i) {
      out << (i > 0 ? ", " : "") << ShownInline(*array->get(i));
    }
    out << " ]";
  } else if (const toml::table* table = value.as_table()) {
    if (table->empty()) return "{}";
    out << "{ ";
    bool first = true;
    for (const auto& [key, item] : *table) {
      const std::string_view name = key.str();
      const bool bare =
          !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                   c == '-';
          });
      out << (first ? "" : ", ");
      if (bare) {
        out << name;
      } else {
        out << toml::toml_formatter(
            toml::value<std::string>(std::string(name)));
      }
      out << " = " << ShownInline(item);
      first = false;
    }
    out << " }";
  } else {
    value.visit([&out](const auto& v) { out << toml::toml_formatter(v); });
  }
  return out.str();
}

std::string Shown(const toml::node& value) {
  if (value.is_table()) return "a table";
  return ShownInline(value);
}

// A number written in quotes ("10") in a TOML text: read from a file or
// from a quoted --set value, which have a place; an unquoted word that
// --set keeps as a string has none.
std::string QuotedNumber(const toml::node& value) {
  const auto* text = value.as_string();
  if (text == nullptr || !value.source().begin) return "";
  const std::string& word = text->get();
  char* end = nullptr;
  std::strtod(word.c_str(), &end);
  const bool number =
      !word.empty() && end == word.c_str() + word.size() &&
      word.find_first_of("0123456789") != std::string::npos &&
      word.find_first_not_of("0123456789+-.eE") == std::string::npos;
  if (!number) return "";
  return fmt::format("the string \"{}\" (write {}, without quotes)", word,
                     word);
}

Status GetInt(const toml::node& value, int64_t lo, int64_t hi, int64_t* out) {
  const auto* v = value.as_integer();
  if (const std::string quoted = QuotedNumber(value); !quoted.empty()) {
    return Status::Invalid(
        fmt::format("expected a whole number, got {}", quoted));
  }
  if (v == nullptr) {
    // A number too long for 64 bits reaches here as a word (or a float):
    // say that it is out of range, not that it is no number.
    const std::string word = value.value<std::string>().value_or("");
    const std::string_view digits =
        std::string_view(word).substr(word.starts_with('-') ? 1 : 0);
    if (!digits.empty() &&
        digits.find_first_not_of("0123456789") == std::string_view::npos) {
      return Status::Invalid(
          fmt::format("{} is out of range [{}, {}]", word, lo, hi));
    }
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
  if (const std::string quoted = QuotedNumber(value); !quoted.empty()) {
    return Status::Invalid(fmt::format("expected a number, got {}", quoted));
  }
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
    std::vector<std::string> words;
    for (const EnumWord<E>& entry : table) words.emplace_back(entry.word);
    const std::string near = NearestWord(word, words);
    return Status::Invalid(fmt::format(
        "\"{}\" is not one of {}{}", word, WordList(table),
        near.empty() ? "" : fmt::format("; did you mean \"{}\"?", near)));
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
    if (const auto* text = value.as_string(); !s.ok() && text != nullptr) {
      if (const std::string array = RangeWrittenAsArray(text->get());
          !array.empty()) {
        return Status::Invalid(
            fmt::format("expected a number or a range, got {}: a range is "
                        "written {}",
                        Shown(value), array));
      }
    }
    if (!s.ok()) return s;
    range.max = range.min;
  }
  *out = range;
  return Status::Ok();
}

Status GetKinds(const toml::node& value, std::vector<ViolationKind>* out) {
  const auto* array = value.as_array();
  if (array == nullptr) {
    return Status::Invalid(fmt::format(
        "expected a list of violation kinds, got {}", Shown(value)));
  }
  std::vector<ViolationKind> kinds;
  for (const toml::node& item : *array) {
    ViolationKind kind = ViolationKind::kLostUpdate;
    Status s = GetWord(item, kViolationKinds, &kind);
    if (!s.ok()) return s;
    kinds.push_back(kind);
  }
  *out = std::move(kinds);
  return Status::Ok();
}

// A list of 1 to kMaxEvents distinct, non-empty names.
Status GetEvents(const toml::node& value, std::vector<std::string>* out) {
  const auto* array = value.as_array();
  if (array == nullptr) {
    return Status::Invalid(fmt::format(
        "expected a list of event names, e.g. [\"concert\", \"parking\"], "
        "got {}",
        Shown(value)));
  }
  if (array->empty() || array->size() > kMaxEvents) {
    return Status::Invalid(fmt::format("expected 1 to {} events, got {}",
                                       kMaxEvents, array->size()));
  }
  std::vector<std::string> events;
  for (const toml::node& item : *array) {
    std::string name;
    Status s = GetString(item, &name);
    if (!s.ok()) return s;
    if (name.empty() || name.size() > 40) {
      return Status::Invalid("an event name has 1 to 40 characters");
    }
    if (std::find(events.begin(), events.end(), name) != events.end()) {
      return Status::Invalid(fmt::format("\"{}\" is named twice", name));
    }
    events.push_back(std::move(name));
  }
  *out = std::move(events);
  return Status::Ok();
}

// A command: a list of words, or one string split as a shell would.
Status GetCommand(const toml::node& value, std::vector<std::string>* out) {
  std::vector<std::string> words;
  if (const auto* text = value.as_string()) {
    if (Status s = SplitCommandLine(text->get(), &words); !s.ok()) return s;
  } else if (const auto* array = value.as_array()) {
    for (const toml::node& item : *array) {
      std::string word;
      if (Status s = GetString(item, &word); !s.ok()) return s;
      words.push_back(std::move(word));
    }
  } else {
    return Status::Invalid(fmt::format(
        "expected a command, e.g. [\"python3\", \"buyer.py\"], got {}",
        Shown(value)));
  }
  if (words.empty() || words[0].empty()) {
    return Status::Invalid(
        "the command is empty; e.g. [\"python3\", \"buyer.py\"]");
  }
  *out = std::move(words);
  return Status::Ok();
}

// A pattern RE2 accepts with at most one capture group
// (sim/scenario/sold_pattern.h).
Status GetPattern(const toml::node& value, std::string* out) {
  std::string text;
  if (Status s = GetString(value, &text); !s.ok()) return s;
  std::unique_ptr<SoldPattern> pattern;
  if (Status s = SoldPattern::Compile(text, &pattern); !s.ok()) return s;
  *out = std::move(text);
  return Status::Ok();
}

// A list of buyer indices, one per step (run.steps): at most
// kMaxListedSteps, each a whole number the scheduler can name.
Status GetSteps(const toml::node& value, std::vector<uint32_t>* out) {
  const auto* array = value.as_array();
  if (array == nullptr) {
    return Status::Invalid(fmt::format(
        "expected a list of buyer indices, e.g. [0, 1, 1, 0], got {}",
        Shown(value)));
  }
  if (array->size() > kMaxListedSteps) {
    return Status::Invalid(fmt::format("{} steps; at most {} are listed",
                                       array->size(), kMaxListedSteps));
  }
  std::vector<uint32_t> steps;
  steps.reserve(array->size());
  for (size_t i = 0; i < array->size(); ++i) {
    int64_t buyer = 0;
    if (Status s = GetInt(*array->get(i), 0, kMaxBuyers - 1, &buyer); !s.ok()) {
      return Status::Invalid(fmt::format("step {}: {}", i + 1, s.message()));
    }
    steps.push_back(static_cast<uint32_t>(buyer));
  }
  *out = std::move(steps);
  return Status::Ok();
}

// A list of 1 to kMaxHosts distinct host names, each of letters, digits,
// '.', '_' and '-', not beginning with '-' (safe to put into a launcher's
// command line).
Status GetHosts(const toml::node& value, std::vector<std::string>* out) {
  const auto* array = value.as_array();
  if (array == nullptr) {
    return Status::Invalid(fmt::format(
        "expected a list of host names, e.g. [\"a\", \"b\"], got {}",
        Shown(value)));
  }
  if (array->empty() || array->size() > kMaxHosts) {
    return Status::Invalid(fmt::format("expected 1 to {} hosts, got {}",
                                       kMaxHosts, array->size()));
  }
  std::vector<std::string> hosts;
  for (const toml::node& item : *array) {
    std::string name;
    if (Status s = GetString(item, &name); !s.ok()) return s;
    const bool plain = !name.empty() && name.size() <= 253 &&
                       std::all_of(name.begin(), name.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) ||
                                c == '.' || c == '_' || c == '-';
                       });
    if (!plain) {
      return Status::Invalid(fmt::format(
          "\"{}\" is not a host name (letters, digits, '.', '_', '-')", name));
    }
    // A launcher would take it for one of its options ("ssh -G").
    if (name.front() == '-') {
      return Status::Invalid(
          fmt::format("\"{}\" is not a host name: it begins with '-'", name));
    }
    if (std::find(hosts.begin(), hosts.end(), name) != hosts.end()) {
      return Status::Invalid(fmt::format("\"{}\" is named twice", name));
    }
    hosts.push_back(std::move(name));
  }
  *out = std::move(hosts);
  return Status::Ok();
}

// A command prefix, split as a shell would; "" is allowed (local agents).
Status GetLauncher(const toml::node& value, std::string* out) {
  std::string text;
  if (Status s = GetString(value, &text); !s.ok()) return s;
  std::vector<std::string> words;
  if (Status s = SplitCommandLine(text, &words); !s.ok()) return s;
  *out = std::move(text);
  return Status::Ok();
}

// { host = "b", at_ms = N, for_ms = M }.
Status GetPartition(const toml::node& value, PartitionSpec* out) {
  const auto* table = value.as_table();
  if (table == nullptr) {
    return Status::Invalid(fmt::format(
        "expected {{ host = \"b\", at_ms = 100, for_ms = 500 }}, got {}",
        Shown(value)));
  }
  PartitionSpec spec;
  bool host = false, at = false, length = false;
  for (const auto& [key, item] : *table) {
    const std::string_view name = key.str();
    Status s;
    if (name == "host") {
      s = GetString(item, &spec.host);
      host = true;
    } else if (name == "at_ms") {
      s = GetDouble(item, 0, kMaxDelayMs, &spec.at_ms);
      at = true;
    } else if (name == "for_ms") {
      s = GetDouble(item, 1, kMaxDelayMs, &spec.for_ms);
      length = true;
    } else {
      return Status::Invalid(
          fmt::format("unknown field \"{}\" (host, at_ms, for_ms)", name));
    }
    if (!s.ok())
      return Status::Invalid(fmt::format("{}: {}", name, s.message()));
  }
  if (!host || !at || !length || spec.host.empty()) {
    return Status::Invalid(
        "needs host, at_ms and for_ms, e.g. { host = \"b\", at_ms = 100, "
        "for_ms = 500 }");
  }
  *out = std::move(spec);
  return Status::Ok();
}

constexpr KeyEntry kKeys[] = {
    {"name", "a short title",
     [](Scenario* s, const toml::node& v) { return GetString(v, &s->name); }},
    {"description", "what the scenario shows and why",
     [](Scenario* s, const toml::node& v) {
       return GetString(v, &s->description);
     }},
    {"events",
     "the events on sale, e.g. [\"concert\", \"parking\"]: each has its own "
     "count and guard, and a purchase buys one ticket of each",
     [](Scenario* s, const toml::node& v) { return GetEvents(v, &s->events); }},
    {"history",
     "what a run keeps: full (every event) | summary (counts and seats, "
     "for long stress runs)",
     [](Scenario* s, const toml::node& v) {
       return GetWord(v, kHistoryModes, &s->history);
     }},
    {"tickets.initial", "tickets on sale at the start (of each event)",
     [](Scenario* s, const toml::node& v) {
       return GetInt(v, 0, kMaxTickets, &s->initial);
     }},
    {"store.kind",
     "where the count lives: file | shm | sqlite | postgres | memory "
     "(threads only)",
     [](Scenario* s, const toml::node& v) {
       return GetWord(v, kStoreKinds, &s->store.kind);
     }},
    {"store.write", "file store: truncate | replace | mmap",
     [](Scenario* s, const toml::node& v) {
       return GetWord(v, kFileWrites, &s->store.write);
     }},
    {"store.slow_write_ms",
     "file store: how long a write takes (how long a truncated file stays "
     "empty)",
     [](Scenario* s, const toml::node& v) {
       return GetDouble(v, 0, kMaxDelayMs, &s->store.slow_write_ms);
     }},
    {"store.file_name",
     "file store: the file's name in the run directory (a program's current "
     "directory)",
     [](Scenario* s, const toml::node& v) {
       std::string name;
       Status st = GetString(v, &name);
       if (!st.ok()) return st;
       if (name.empty() || name.size() > 100 ||
           name.find('/') != std::string::npos || name == "." || name == ".." ||
           name == "live") {
         return Status::Invalid(fmt::format(
             "\"{}\" is not a plain file name (no '/', not \"live\")", name));
       }
       s->store.file_name = std::move(name);
       return Status::Ok();
     }},
    {"store.journal", "sqlite store: wal | delete",
     [](Scenario* s, const toml::node& v) {
       return GetWord(v, kSqliteJournals, &s->store.journal);
     }},
    {"store.busy_timeout_ms",
     "sqlite store: how long a locked database is waited for; postgres: a "
     "locked row (lock_timeout)",
     [](Scenario* s, const toml::node& v) {
       int64_t ms = 0;
       Status st = GetInt(v, 0, 3600000, &ms);
       s->store.busy_timeout_ms = static_cast<int>(ms);
       return st;
     }},
    {"store.url",
     "postgres store: an existing server's libpq URI or conninfo; unset, "
     "the run starts a throwaway server",
     [](Scenario* s, const toml::node& v) {
       return GetString(v, &s->store.url);
     }},
    {"store.postgres_bin",
     "postgres store: the directory of initdb and postgres for the "
     "throwaway server (unset: pg_config --bindir)",
     [](Scenario* s, const toml::node& v) {
       return GetString(v, &s->store.postgres_bin);
     }},
    {"store.listen",
     "postgres store: the throwaway server listens on this TCP address too",
     [](Scenario* s, const toml::node& v) {
       return GetString(v, &s->store.listen);
     }},
    {"store.isolation",
     "postgres store: a read-modify-write purchase's transaction: "
     "autocommit | read-committed | repeatable-read | serializable",
     [](Scenario* s, const toml::node& v) {
       return GetWord(v, kPgIsolations, &s->store.isolation);
     }},
    {"store.retries",
     "postgres store: how often a transaction the server could not "
     "serialize (SQLSTATE 40001) runs again",
     [](Scenario* s, const toml::node& v) {
       return GetInt(v, 0, kMaxRetries, &s->store.retries);
     }},
    {"guard.kind",
     "the exclusion: none | named-mutex | named-semaphore | file-lock | "
     "robust-mutex | sqlite-immediate | sqlite-deferred | pg-row-lock | "
     "pg-advisory | std-mutex (threads only)",
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
    {"guard.permits",
     "named-semaphore: buyers let in at once (above 1: not mutual exclusion)",
     [](Scenario* s, const toml::node& v) {
       return GetInt(v, 1, kMaxBuyers, &s->guard.permits);
     }},
    {"guard.order",
     "several events: global (one order for all) | opposite (odd buyers "
     "reverse it: deadlock)",
     [](Scenario* s, const toml::node& v) {
       return GetWord(v, kGuardOrders, &s->guard.order);
     }},
    {"guard.acquire",
     "several events: wait | try-backoff (try the next guard; if taken, give "
     "all back and retry)",
     [](Scenario* s, const toml::node& v) {
       return GetWord(v, kGuardAcquires, &s->guard.acquire);
     }},
    {"guard.backoff_ms", "try-backoff: [min, max] pause before trying again",
     [](Scenario* s, const toml::node& v) {
       return GetRange(v, &s->guard.backoff_ms);
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
    {"buyers.mode",
     "what each buyer runs as: process | thread (threads of one buyer "
     "process; see docs/threads.md)",
     [](Scenario* s, const toml::node& v) {
       return GetWord(v, kBuyerModes, &s->buyers.mode);
     }},
    {"buyers.pool",
     "workers (processes, or threads) serving all buyers (0: one per buyer)",
     [](Scenario* s, const toml::node& v) {
       return GetInt(v, 0, kMaxBuyers, &s->buyers.pool);
     }},
    {"buyers.hosts",
     "the hosts the buyers run on, e.g. [\"a\", \"b\"] (buyer i on host i "
     "% hosts); see docs/hosts.md",
     [](Scenario* s, const toml::node& v) {
       return GetHosts(v, &s->buyers.hosts);
     }},
    {"buyers.launcher",
     "how `ticketsim buyer` is started on a host, {host} replaced, e.g. "
     "\"ssh {host}\" (\"\": a local agent per host)",
     [](Scenario* s, const toml::node& v) {
       return GetLauncher(v, &s->buyers.launcher);
     }},
    {"faults.kill_holder",
     "chance a buyer is SIGKILLed inside its critical section",
     [](Scenario* s, const toml::node& v) {
       return GetDouble(v, 0, 1, &s->faults.kill_holder);
     }},
    {"faults.pause_holder",
     "chance a buyer is stopped (SIGSTOP) inside its critical section",
     [](Scenario* s, const toml::node& v) {
       return GetDouble(v, 0, 1, &s->faults.pause_holder);
     }},
    {"faults.pause_holder_ms",
     "how long a stopped holder stays stopped before SIGCONT",
     [](Scenario* s, const toml::node& v) {
       return GetDouble(v, 1, kMaxDelayMs, &s->faults.pause_holder_ms);
     }},
    {"faults.crash_before_write",
     "chance a buyer crashes (SIGABRT) between its read and its write",
     [](Scenario* s, const toml::node& v) {
       return GetDouble(v, 0, 1, &s->faults.crash_before_write);
     }},
    {"faults.partition_host",
     "{ host = \"b\", at_ms = N, for_ms = M }: cut that host's link to the "
     "store's server at N ms for M ms",
     [](Scenario* s, const toml::node& v) {
       return GetPartition(v, &s->faults.partition_host);
     }},
    {"expect.violations",
     "what CI should see: none | some (in every trial) | unchecked (none, "
     "and a program that tells nothing of its sales may pass)",
     [](Scenario* s, const toml::node& v) {
       return GetWord(v, kExpectations, &s->expect.violations);
     }},
    {"expect.kinds",
     "violation kinds every trial must show, e.g. [\"torn read\"]",
     [](Scenario* s, const toml::node& v) {
       return GetKinds(v, &s->expect.kinds);
     }},
    {"program.command",
     "your buyer program, e.g. [\"python3\", \"buyer.py\"] (paths relative "
     "to the scenario file); see docs/programs.md",
     [](Scenario* s, const toml::node& v) {
       return GetCommand(v, &s->program.command);
     }},
    {"program.mode",
     "buyer (a copy per buyer) | whole (run once) | operation (a run per "
     "purchase)",
     [](Scenario* s, const toml::node& v) {
       return GetWord(v, kProgramModes, &s->program.mode);
     }},
    {"program.sold_pattern",
     "a pattern (RE2's syntax) over each stdout line: a match is a sale, "
     "its capture group the seat",
     [](Scenario* s, const toml::node& v) {
       return GetPattern(v, &s->program.sold_pattern);
     }},
    {"program.timeout_ms", "operation mode: one purchase's time limit",
     [](Scenario* s, const toml::node& v) {
       return GetInt(v, 1, int64_t{24} * 3600 * 1000, &s->program.timeout_ms);
     }},
    {"run.trials", "how many times the scenario is run",
     [](Scenario* s, const toml::node& v) {
       return GetInt(v, 1, 1000000, &s->trials);
     }},
    {"server.listen",
     "ticketsim serve: where the box office listens: \"HOST:PORT\" (port "
     "0: any free one) or \"unix:PATH\"",
     [](Scenario* s, const toml::node& v) {
       return GetString(v, &s->server.listen);
     }},
    {"server.workers",
     "ticketsim serve: thread-per-connection | pool (server.threads)",
     [](Scenario* s, const toml::node& v) {
       return GetWord(v, kServerWorkers, &s->server.workers);
     }},
    {"server.threads", "ticketsim serve: the pool's threads",
     [](Scenario* s, const toml::node& v) {
       return GetInt(v, 1, 1024, &s->server.threads);
     }},
    {"server.max_connections",
     "ticketsim serve: connections open at once; more are answered 503",
     [](Scenario* s, const toml::node& v) {
       return GetInt(v, 1, 100000, &s->server.max_connections);
     }},
    {"server.max_buyers",
     "ticketsim serve: connections served in all (each a buyer's lane)",
     [](Scenario* s, const toml::node& v) {
       return GetInt(v, 1, 100000, &s->server.max_buyers);
     }},
    {"server.max_attempts",
     "ticketsim serve: purchases one connection may make",
     [](Scenario* s, const toml::node& v) {
       return GetInt(v, 1, 10000000, &s->server.max_attempts);
     }},
    {"run.timeout_ms",
     "the whole run's time limit (0: derived from the delays)",
     [](Scenario* s, const toml::node& v) {
       return GetInt(v, 0, int64_t{24} * 3600 * 1000, &s->run_timeout_ms);
     }},
    {"run.schedule",
     "who interleaves the buyers: os (the kernel) | seeded | pct | step "
     "(one step at a time)",
     [](Scenario* s, const toml::node& v) {
       return GetWord(v, kScheduleKinds, &s->schedule.kind);
     }},
    {"run.pct_depth",
     "pct: the depth of the race it hunts (pct_depth - 1 priority changes)",
     [](Scenario* s, const toml::node& v) {
       return GetInt(v, 1, kMaxPctDepth, &s->schedule.pct_depth);
     }},
    {"run.steps",
     "the buyers that take the first steps, in order, e.g. [0, 1, 1, 0]; "
     "the schedule goes on after them",
     [](Scenario* s, const toml::node& v) {
       return GetSteps(v, &s->schedule.steps);
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

// A number read from a /proc or /sys file, or nullopt.
std::optional<int64_t> ReadNumber(const std::string& path) {
  std::ifstream in(path);
  int64_t value = 0;
  if (in >> value) return value;
  return std::nullopt;
}

// The value of the line "`key` N" (or "key:\tN ...") of a /proc or /sys
// file of such lines, or nullopt.
std::optional<int64_t> ReadField(const std::string& path,
                                 std::string_view key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.size() <= key.size() || line.compare(0, key.size(), key) != 0) {
      continue;
    }
    const char next = line[key.size()];
    if (next != ' ' && next != '\t' && next != ':') continue;
    std::istringstream rest(line.substr(key.size() + 1));
    int64_t value = 0;
    if (rest >> value) return value;
  }
  return std::nullopt;
}

// The directories of this process's cgroup for `controller` ("" for cgroup
// v2's unified tree), innermost first, each parent after its child.
std::vector<std::string> CgroupDirs(std::string_view controller) {
  std::vector<std::string> dirs;
  std::ifstream cgroups("/proc/self/cgroup");
  for (std::string line; std::getline(cgroups, line);) {
    // "0::/path" (v2) or "N:pids:/path", "N:cpu,cpuacct:/path" (v1).
    const size_t first = line.find(':');
    const size_t second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    std::string root;
    if (controller.empty() && controllers.empty()) root = "/sys/fs/cgroup";
    if (!controller.empty()) {
      std::istringstream list(controllers);
      for (std::string c; std::getline(list, c, ',');) {
        if (c == controller) root = fmt::format("/sys/fs/cgroup/{}", c);
      }
    }
    if (root.empty()) continue;
    std::string path = line.substr(second + 1);
    for (;;) {
      while (path.size() > 1 && path.back() == '/') path.pop_back();
      if (path.empty() || path == "/") break;
      dirs.push_back(root + path);
      path.erase(path.rfind('/'));
    }
    dirs.push_back(root);
  }
  return dirs;
}

// The tasks (threads included) whose real uid is `uid`: what RLIMIT_NPROC
// counts.
int64_t TasksOfUser(uid_t uid) {
  int64_t tasks = 0;
  std::error_code error;
  // increment(error), not ++: a failed read of /proc ends the count, never
  // throws.
  for (std::filesystem::directory_iterator entry("/proc", error);
       !error && entry != std::filesystem::directory_iterator();
       entry.increment(error)) {
    const std::string name = entry->path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) {
      continue;
    }
    const std::string status = entry->path().string() + "/status";
    // "Uid:\treal\teffective\tsaved\tfs"
    if (ReadField(status, "Uid") != static_cast<int64_t>(uid)) continue;
    tasks += ReadField(status, "Threads").value_or(1);
  }
  return tasks;
}

// Whether RLIMIT_NPROC binds this process: the kernel exempts the root user
// and a process with CAP_SYS_ADMIN or CAP_SYS_RESOURCE.
bool NprocBinds() {
  if (getuid() == 0) return false;
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("CapEff:", 0) != 0) continue;
    const uint64_t caps = std::strtoull(line.c_str() + 7, nullptr, 16);
    constexpr uint64_t kExempt = (uint64_t{1} << 21) | (uint64_t{1} << 24);
    return (caps & kExempt) == 0;
  }
  return true;
}

// How many more processes this machine lets us start, and the limit that
// says so. Each limit counts its own population: the kernel's pid and
// thread limits every task on the machine (less a margin for everyone
// else's), a cgroup's pids.max the tasks in it, RLIMIT_NPROC the tasks of
// this real user.
struct ProcessRoom {
  int64_t room = INT64_MAX;
  std::string limit;  // "RLIMIT_NPROC (ulimit -u) is 100 and ..."

  // Room for `more` processes, as `why` says, if that is less.
  void Bound(int64_t more, std::string why) {
    more = std::max<int64_t>(0, more);
    if (more < room) *this = {more, std::move(why)};
  }
};

// The kernel's pid and thread limits, less every task on the machine and
// a margin for everyone else's.
void BoundByKernel(ProcessRoom* room) {
  int64_t system = INT64_MAX;
  for (const char* path :
       {"/proc/sys/kernel/pid_max", "/proc/sys/kernel/threads-max"}) {
    if (auto n = ReadNumber(path)) system = std::min(system, *n);
  }
  // "0.00 0.01 0.05 1/123 4567": 123 tasks exist.
  std::ifstream loadavg("/proc/loadavg");
  std::string word;
  int64_t tasks = -1;
  for (int i = 0; i < 4 && loadavg >> word; ++i) {
  }
  if (const size_t slash = word.find('/'); slash != std::string::npos) {
    tasks = std::strtoll(word.c_str() + slash + 1, nullptr, 10);
  }
  if (system != INT64_MAX && tasks >= 0) {
    constexpr int64_t kMargin = 64;
    room->Bound(system - tasks - kMargin,
                fmt::format("the kernel's limit is {} tasks (kernel.pid_max, "
                            "kernel.threads-max) and {} exist",
                            system, tasks));
  }
}

// Each pids cgroup around us, less the tasks in it.
void BoundByCgroups(ProcessRoom* room) {
  for (const char* controller : {"", "pids"}) {
    for (const std::string& dir : CgroupDirs(controller)) {
      const auto max = ReadNumber(dir + "/pids.max");  // "max": no limit
      if (!max) continue;
      const int64_t current = ReadNumber(dir + "/pids.current").value_or(0);
      room->Bound(*max - current,
                  fmt::format("the cgroup {} allows {} tasks (pids.max) and "
                              "has {}",
                              dir, *max, current));
    }
  }
}

// RLIMIT_NPROC, where it binds, less the tasks of this real user.
void BoundByNproc(ProcessRoom* room) {
  rlimit nproc{};
  if (getrlimit(RLIMIT_NPROC, &nproc) == 0 && nproc.rlim_cur != RLIM_INFINITY &&
      NprocBinds()) {
    const int64_t limit = static_cast<int64_t>(nproc.rlim_cur);
    const int64_t own = TasksOfUser(getuid());
    room->Bound(limit - own,
                fmt::format("RLIMIT_NPROC (ulimit -u) is {} and user {} has {} "
                            "task{}",
                            limit, getuid(), own, own == 1 ? "" : "s"));
  }
}

ProcessRoom ProcessRoomNow() {
  ProcessRoom room;
  BoundByKernel(&room);
  BoundByCgroups(&room);
  BoundByNproc(&room);
  return room;
}

// "31.5 GiB", "512.0 MiB".
std::string FormatBytes(uint64_t bytes) {
  constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} bytes", bytes)
                   : fmt::format("{:.1f} {}", value, kUnits[unit]);
}

// A scenario refused at key `at`: the key in *key (when asked for) and
// first in the message.
Status Refuse(std::string* key, std::string_view at, std::string_view message) {
  if (key != nullptr) *key = at;
  return Status::Invalid(fmt::format("{}: {}", at, message));
}

// One rule, or one group of rules, of what a scenario must be.
using Rule = Status (*)(const Scenario&, std::string*);

// The first of `rules` that refuses the scenario, in their order: that
// order decides which error a scenario with several gets.
Status FirstRefusal(const Scenario& scenario, std::string* key,
                    std::initializer_list<Rule> rules) {
  for (const Rule rule : rules) {
    if (Status s = rule(scenario, key); !s.ok()) return s;
  }
  return Status::Ok();
}

// Without buyers.hosts, the keys that only mean something with them.
Status RefuseHostKeysWithoutHosts(const Scenario& scenario, std::string* key) {
  if (!scenario.buyers.launcher.empty()) {
    return Refuse(key, "buyers.launcher",
                  "a launcher starts buyers on hosts: set buyers.hosts too");
  }
  if (scenario.faults.partition_host.set()) {
    return Refuse(key, "faults.partition_host",
                  "a partition cuts one of buyers.hosts off: set "
                  "buyers.hosts");
  }
  return Status::Ok();
}

// The buyers on hosts are ticketsim's own, one process each, interleaved
// by their kernels, sending every event back as it happens.
Status ValidateHostBuyers(const Scenario& scenario, std::string* key) {
  if (scenario.program.set()) {
    return Refuse(key, "buyers.hosts",
                  "a program runs on this host only; buyers.hosts is for "
                  "ticketsim's own buyers");
  }
  if (scenario.schedule.kind != ScheduleKind::kOs ||
      !scenario.schedule.steps.empty()) {
    return Refuse(key, "run.schedule",
                  "buyers on hosts are interleaved by their kernels and the "
                  "network (run.schedule = \"os\"): a controlled schedule "
                  "needs every buyer on this host");
  }
  if (scenario.history != HistoryMode::kFull) {
    return Refuse(key, "history",
                  "buyers on hosts send their events back as they happen: "
                  "history = \"full\"");
  }
  if (scenario.buyers.pool > 0) {
    return Refuse(key, "buyers.pool",
                  "buyers on hosts are not pooled: each host runs one process "
                  "per buyer");
  }
  if (EventCount(scenario) > 1) {
    return Refuse(key, "events", "buyers on hosts sell one event (one count)");
  }
  return Status::Ok();
}

// Several hosts all reach the store, so it cannot live on one machine's
// disk or memory, and neither can a guard that needs its file.
Status ValidateHostsReachStore(const Scenario& scenario, std::string* key) {
  if (scenario.buyers.hosts.size() < 2) return Status::Ok();
  const StoreKind store = scenario.store.kind;
  if (store == StoreKind::kFile || store == StoreKind::kShm ||
      store == StoreKind::kSqlite) {
    return Refuse(
        key, "store.kind",
        fmt::format("the hosts cannot all reach a {} on one machine's "
                    "{}; use store.kind = \"postgres\" (a server every host "
                    "connects to)",
                    store == StoreKind::kShm    ? "shared memory object"
                    : store == StoreKind::kFile ? "file"
                                                : "SQLite database file",
                    store == StoreKind::kShm ? "/dev/shm" : "disk"));
  }
  if (scenario.guard.kind == GuardKind::kSqliteImmediate ||
      scenario.guard.kind == GuardKind::kSqliteDeferred) {
    return Refuse(key, "guard.kind",
                  "an sqlite transaction needs the database file, which the "
                  "hosts cannot all reach");
  }
  return Status::Ok();
}

// A partition cuts one of several hosts, made through its launcher, off
// from a store's server it reaches over TCP.
Status ValidatePartition(const Scenario& scenario, std::string* key) {
  const std::vector<std::string>& hosts = scenario.buyers.hosts;
  const PartitionSpec& partition = scenario.faults.partition_host;
  if (!partition.set()) return Status::Ok();
  if (std::find(hosts.begin(), hosts.end(), partition.host) == hosts.end()) {
    return Refuse(
        key, "faults.partition_host",
        fmt::format("\"{}\" is not one of buyers.hosts", partition.host));
  }
  if (hosts.size() < 2) {
    return Refuse(key, "faults.partition_host",
                  "a partition cuts one host off from the others: name "
                  "several in buyers.hosts");
  }
  if (scenario.buyers.launcher.empty()) {
    return Refuse(key, "faults.partition_host",
                  "a partition is made on the host itself, through its "
                  "launcher: set buyers.launcher (local agents share this "
                  "host's network)");
  }
  if (scenario.store.kind != StoreKind::kPostgres ||
      (scenario.store.listen.empty() &&
       ServerAddress(scenario.store.url).empty())) {
    return Refuse(key, "faults.partition_host",
                  "a partition cuts a host's link to the store's server: "
                  "use store.kind = \"postgres\" reached over TCP "
                  "(store.listen, or a store.url with a host address)");
  }
  return Status::Ok();
}

// What a scenario with buyers on several hosts must be: each host runs its
// buyers through its own agent, which is told its share and streams back
// what they did; the store is the one thing they all reach.
Status ValidateHosts(const Scenario& scenario, std::string* key) {
  if (scenario.buyers.hosts.empty()) {
    return RefuseHostKeysWithoutHosts(scenario, key);
  }
  return FirstRefusal(
      scenario, key,
      {ValidateHostBuyers, ValidateHostsReachStore, ValidatePartition});
}

// The program's command names something that can run.
Status ValidateProgramCommand(const Scenario& scenario, std::string* key) {
  ResolvedCommand command;
  if (Status s =
          ResolveProgram(scenario.program, scenario.store.file_name, &command);
      !s.ok()) {
    return Refuse(key, "program.command", s.message());
  }
  return Status::Ok();
}

// A program buys its own way: its own lock, its own steps, on one count
// it is handed as a file, shared memory or an SQLite database.
Status ValidateProgramBuysItself(const Scenario& scenario, std::string* key) {
  if (scenario.guard.kind != GuardKind::kNone) {
    return Refuse(
        key, "guard.kind",
        fmt::format("a program brings its own lock; ticketsim's guard "
                    "\"{}\" cannot be put around it: use guard.kind = "
                    "\"none\" and lock inside the program",
                    WordOf(kGuardKinds, scenario.guard.kind)));
  }
  if (scenario.buyers.method != Method::kReadModifyWrite) {
    return Refuse(key, "buyers.method",
                  "a program buys the way it is written; buyers.method applies "
                  "to ticketsim's own buyers only");
  }
  if (EventCount(scenario) > 1) {
    return Refuse(key, "events", "a program sells one event (one count)");
  }
  if (scenario.store.kind == StoreKind::kPostgres) {
    return Refuse(key, "store.kind",
                  "a program is handed a file, shared memory or an SQLite "
                  "database, not a PostgreSQL server: use store.kind = "
                  "\"file\", \"shm\" or \"sqlite\"");
  }
  return Status::Ok();
}

// What ticketsim cannot do to a foreign program: pool it, stop it at its
// steps, keep its events in summary, crash it mid-purchase, or run
// copies past its limit.
Status ValidateProgramCopies(const Scenario& scenario, std::string* key) {
  if (scenario.buyers.pool > 0) {
    return Refuse(key, "buyers.pool", "a program's copies are not pooled");
  }
  if (scenario.schedule.kind != ScheduleKind::kOs ||
      !scenario.schedule.steps.empty()) {
    return Refuse(key, "run.schedule",
                  "a program's interleaving is the kernel's (run.schedule = "
                  "\"os\"): ticketsim cannot stop a foreign program at its "
                  "steps");
  }
  if (scenario.history != HistoryMode::kFull) {
    return Refuse(key, "history", "a program's events are kept in full");
  }
  if (scenario.faults.crash_before_write > 0) {
    return Refuse(key, "faults.crash_before_write",
                  "ticketsim cannot make a program crash between its read and "
                  "its write; kill_holder and pause_holder work on programs");
  }
  if (scenario.buyers.count > kMaxProgramBuyers) {
    return Refuse(key, "buyers.count",
                  fmt::format("at most {} copies of a program, not {}",
                              kMaxProgramBuyers, scenario.buyers.count));
  }
  return Status::Ok();
}

// A whole program is known only by its output: a pattern finds its sales,
// and no purchase of it can be hit inside.
Status ValidateWholeProgram(const Scenario& scenario, std::string* key) {
  if (scenario.program.mode != ProgramMode::kWhole) return Status::Ok();
  if (scenario.program.sold_pattern.empty()) {
    return Refuse(key, "program.sold_pattern",
                  "a whole program is checked by its output: set "
                  "program.sold_pattern to what it prints for a sale, e.g. "
                  "'bought seat (\\d+)'");
  }
  if (scenario.faults.kill_holder > 0 || scenario.faults.pause_holder > 0) {
    return Refuse(key,
                  scenario.faults.kill_holder > 0 ? "faults.kill_holder"
                                                  : "faults.pause_holder",
                  "a whole program tells ticketsim no purchase as it opens, "
                  "so none can be hit inside; use program.mode = \"buyer\"");
  }
  return Status::Ok();
}

// What a scenario with a [program] must be: ticketsim runs the program on
// its store and checks it, but the locking, the think time and the schedule
// are the program's own.
Status ValidateProgram(const Scenario& scenario, std::string* key) {
  return FirstRefusal(scenario, key,
                      {ValidateProgramCommand, ValidateProgramBuysItself,
                       ValidateProgramCopies, ValidateWholeProgram});
}

// Without store.kind = "postgres", none of its keys.
Status RefusePostgresKeysElsewhere(const Scenario& scenario, std::string* key) {
  const StoreSpec& store = scenario.store;
  const std::string_view set =
      !store.url.empty()                            ? "store.url"
      : !store.postgres_bin.empty()                 ? "store.postgres_bin"
      : !store.listen.empty()                       ? "store.listen"
      : store.isolation != PgIsolation::kAutocommit ? "store.isolation"
      : store.retries != 0                          ? "store.retries"
                                                    : "";
  if (set.empty()) return Status::Ok();
  return Refuse(key, set,
                fmt::format("applies to store.kind = \"postgres\" only, "
                            "not \"{}\"",
                            WordOf(kStoreKinds, store.kind)));
}

// The server's keys: a server of one's own (store.url) or a throwaway one,
// and retries only of a transaction.
Status ValidatePgServerKeys(const Scenario& scenario, std::string* key) {
  const StoreSpec& store = scenario.store;
  if (!store.url.empty() &&
      (!store.postgres_bin.empty() || !store.listen.empty())) {
    return Refuse(key,
                  !store.listen.empty() ? "store.listen" : "store.postgres_bin",
                  "is for the throwaway server, but store.url names a server "
                  "of its own");
  }
  if (store.retries > 0 && store.isolation == PgIsolation::kAutocommit) {
    return Refuse(key, "store.retries",
                  "only a transaction the server refuses is run again: set "
                  "store.isolation to read-committed, repeatable-read or "
                  "serializable");
  }
  return Status::Ok();
}

// An isolation level is that of one purchase's transaction, which the
// guard, the method, the events and the schedule must leave room for.
Status ValidatePgIsolation(const Scenario& scenario, std::string* key) {
  if (scenario.store.isolation == PgIsolation::kAutocommit) {
    return Status::Ok();
  }
  const std::string isolation(WordOf(kPgIsolations, scenario.store.isolation));
  if (scenario.guard.kind != GuardKind::kNone &&
      scenario.guard.kind != GuardKind::kPgRowLock) {
    return Refuse(
        key, "store.isolation",
        fmt::format("\"{}\" is the isolation of a purchase's "
                    "transaction, with guard \"none\" or "
                    "\"pg-row-lock\"; guard \"{}\" begins none",
                    isolation, WordOf(kGuardKinds, scenario.guard.kind)));
  }
  if (scenario.buyers.method == Method::kAtomic) {
    return Refuse(key, "store.isolation",
                  "the atomic method is one statement, which needs no "
                  "transaction; isolation applies to \"read-modify-write\"");
  }
  if (EventCount(scenario) > 1) {
    return Refuse(key, "store.isolation",
                  "a purchase of several events is not one transaction (each "
                  "event has a table and a connection of its own)");
  }
  if (scenario.guard.kind == GuardKind::kNone &&
      (scenario.schedule.controlled() || !scenario.schedule.steps.empty())) {
    return Refuse(
        key, "run.schedule",
        fmt::format("a controlled schedule moves one buyer at a time, "
                    "but under store.isolation = \"{}\" a buyer's "
                    "UPDATE waits for another's COMMIT inside the "
                    "server; use run.schedule = \"os\" (or guard "
                    "pg-row-lock, whose lock can be tried)",
                    isolation));
  }
  return Status::Ok();
}

// The postgres store's keys: set only with it, and in combinations that
// mean something.
Status ValidatePostgres(const Scenario& scenario, std::string* key) {
  if (scenario.store.kind != StoreKind::kPostgres) {
    return RefusePostgresKeysElsewhere(scenario, key);
  }
  return FirstRefusal(scenario, key,
                      {ValidatePgServerKeys, ValidatePgIsolation});
}

}  // namespace

const std::span<const EnumWord<GuardKind>> kGuardKinds = kGuardKindWords;
const std::span<const EnumWord<Scope>> kScopes = kScopeWords;
const std::span<const EnumWord<BuyerMode>> kBuyerModes = kBuyerModeWords;
const std::span<const EnumWord<ServerWorkers>> kServerWorkers =
    kServerWorkerWords;
const std::span<const EnumWord<Method>> kMethods = kMethodWords;
const std::span<const EnumWord<Expectation>> kExpectations = kExpectationWords;
const std::span<const EnumWord<GuardOrder>> kGuardOrders = kGuardOrderWords;
const std::span<const EnumWord<HistoryMode>> kHistoryModes = kHistoryModeWords;
const std::span<const EnumWord<GuardAcquire>> kGuardAcquires =
    kGuardAcquireWords;
const std::span<const EnumWord<ProgramMode>> kProgramModes = kProgramModeWords;

std::vector<ScenarioKeyHelp> ScenarioKeys() {
  std::vector<ScenarioKeyHelp> keys;
  for (const KeyEntry& entry : kKeys) keys.push_back({entry.key, entry.help});
  return keys;
}

bool IsScenarioKey(std::string_view key) { return FindKey(key) != nullptr; }

bool IsScenarioSection(std::string_view key) {
  for (const KeyEntry& entry : kKeys) {
    const size_t dot = entry.key.find('.');
    if (dot != std::string_view::npos && entry.key.substr(0, dot) == key) {
      return true;
    }
  }
  return false;
}

Status SetKey(Scenario* scenario, std::string_view key,
              const toml::node& value) {
  const KeyEntry* entry = FindKey(key);
  if (entry == nullptr) return Status::Invalid("unknown key");
  return entry->set(scenario, value);
}

// Edit distance, with a swap of two neighbours counting as one edit.
static size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1,
                                     std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t change = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + change});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string NearestWord(std::string_view word,
                        std::span<const std::string> choices) {
  std::string_view best;
  size_t best_distance = SIZE_MAX;
  for (const std::string& choice : choices) {
    const size_t d = EditDistance(word, choice);
    if (d < best_distance) {
      best = choice;
      best_distance = d;
    }
  }
  return best_distance <= 2 ? std::string(best) : std::string();
}

std::string NearestKey(std::string_view key) {
  const auto distance = EditDistance;
  // The same name in another section ("buyer.count" for "buyers.count", or
  // "count" at the top) is near too.
  const auto leaf = [](std::string_view k) {
    const size_t dot = k.rfind('.');
    return dot == std::string_view::npos ? k : k.substr(dot + 1);
  };
  std::string_view best;
  size_t best_distance = SIZE_MAX;
  for (const KeyEntry& entry : kKeys) {
    size_t d = distance(key, entry.key);
    if (leaf(key) == leaf(entry.key)) d = std::min<size_t>(d, 2);
    if (d < best_distance) {
      best = entry.key;
      best_distance = d;
    }
  }
  // Near means at most a third of the key changed.
  return best_distance <= std::max<size_t>(2, key.size() / 3)
             ? std::string(best)
             : std::string();
}

Status ApplySetting(Scenario* scenario, std::string_view setting) {
  const size_t eq = setting.find('=');
  if (eq == std::string_view::npos) {
    return Status::Invalid(fmt::format("\"{}\": expected key=value", setting));
  }
  const std::string_view key = Trim(setting.substr(0, eq));
  const std::string_view text = Trim(setting.substr(eq + 1));
  if (!IsScenarioKey(key)) {
    const std::string near = NearestKey(key);
    return Status::Invalid(
        near.empty() ? fmt::format("unknown key \"{}\"", key)
                     : fmt::format("unknown key \"{}\"; did you mean \"{}\"?",
                                   key, near));
  }
  // The value is TOML; a bare word that is not TOML is taken as a string, so
  // that --set store.kind=shm works without quotes. What the guard refuses
  // is not TOML either, and must not reach the parser.
  toml::table doc{{"v", std::string(text)}};
  std::string safe;
  if (SafeTomlText("", fmt::format("v = {}", text), &safe).ok()) {
    try {
      doc = toml::parse(safe);
    } catch (const toml::parse_error&) {
      // The bare word stands.
    }
  }
  Status s = SetKey(scenario, key, *doc.get("v"));
  if (!s.ok()) {
    // A range on the command line needs quotes around its brackets.
    const bool range =
        s.message().find("a range is written") != std::string::npos;
    const std::string array = range ? RangeWrittenAsArray(text) : "";
    return Status::Invalid(fmt::format(
        "{}: {}{}", key, s.message(),
        array.empty() ? ""
                      : fmt::format(" (on the command line: --set '{}={}')",
                                    key, array)));
  }
  return Status::Ok();
}

std::string RangeWrittenAsArray(std::string_view text) {
  static const re2::RE2 kRange(
      R"(\s*"?\s*(\d+(?:\.\d+)?)\s*[-,]\s*(\d+(?:\.\d+)?)\s*"?\s*)",
      re2::RE2::Latin1);
  std::string low, high;
  if (!re2::RE2::FullMatch(re2::StringPiece(text.data(), text.size()), kRange,
                           &low, &high)) {
    return "";
  }
  return fmt::format("[{}, {}]", low, high);
}

std::optional<uint64_t> MemoryAvailable() {
  const auto kib = ReadField("/proc/meminfo", "MemAvailable");
  if (!kib) return std::nullopt;
  uint64_t available = static_cast<uint64_t>(*kib) * 1024;
  // A memory cgroup around us (or around a parent) may leave less: its
  // limit less what it uses, counting the page cache it could drop.
  for (const auto& [controller, max_file, current_file, cache_key] :
       {std::tuple{"", "memory.max", "memory.current", "inactive_file"},
        std::tuple{"memory", "memory.limit_in_bytes", "memory.usage_in_bytes",
                   "total_inactive_file"}}) {
    for (const std::string& dir : CgroupDirs(controller)) {
      const auto max = ReadNumber(dir + "/" + max_file);  // "max": none
      // cgroup v1 writes "no limit" as a number near 2^63.
      if (!max || *max <= 0 || *max >= (int64_t{1} << 62)) continue;
      const int64_t used =
          ReadNumber(dir + "/" + current_file).value_or(0) -
          ReadField(dir + "/memory.stat", cache_key).value_or(0);
      available =
          std::min(available, static_cast<uint64_t>(std::max<int64_t>(
                                  0, *max - std::max<int64_t>(0, used))));
    }
  }
  return available;
}

uint64_t HistoryLimit(std::optional<uint64_t> available) {
  if (!available) return kMaxHistoryBytes;
  return std::clamp(*available / 2, kHistoryAlwaysFits, kMaxHistoryBytes);
}

int64_t ProcessCount(const Scenario& scenario) {
  return scenario.buyers.pool > 0 ? scenario.buyers.pool
                                  : scenario.buyers.count;
}

size_t EventCount(const Scenario& scenario) {
  return std::max<size_t>(1, scenario.events.size());
}

std::string EventName(const Scenario& scenario, size_t event) {
  return event < scenario.events.size() ? scenario.events[event] : "tickets";
}

size_t EventsPerAttempt(const Scenario& scenario) {
  const size_t events = EventCount(scenario);
  if (events == 1) {
    return kEventsPerAttempt +
           kEventsPerRetry * static_cast<size_t>(scenario.store.retries);
  }
  // Only try-backoff gives guards back and starts again.
  const size_t rounds = scenario.guard.acquire == GuardAcquire::kTryBackoff
                            ? kBackoffsRecorded
                            : 0;
  return 3 + kEventsPerEventAttempt * events + rounds * (1 + 2 * events);
}

uint64_t SeatMapSeats(const Scenario& scenario) {
  const uint64_t purchases = static_cast<uint64_t>(scenario.buyers.count) *
                             static_cast<uint64_t>(scenario.buyers.attempts);
  return std::min(static_cast<uint64_t>(scenario.initial), purchases);
}

uint64_t HistoryBytes(const Scenario& scenario) {
  if (scenario.history == HistoryMode::kSummary) {
    if (scenario.buyers.attempts <= kSeatsListed) return 0;  // no maps
    return static_cast<uint64_t>(scenario.buyers.count) *
           ((SeatMapSeats(scenario) + 63) / 64) * 8;
  }
  if (scenario.program.set()) {
    return ProgramLanes(scenario) * ProgramEventsPerLane(scenario) *
           kEventBytes;
  }
  return static_cast<uint64_t>(scenario.buyers.count) *
         static_cast<uint64_t>(scenario.buyers.attempts) *
         EventsPerAttempt(scenario) * kEventBytes;
}

uint64_t ProgramLanes(const Scenario& scenario) {
  return scenario.program.mode == ProgramMode::kWhole
             ? 1
             : static_cast<uint64_t>(scenario.buyers.count);
}

uint64_t ProgramEventsPerLane(const Scenario& scenario) {
  const auto attempts = static_cast<uint64_t>(scenario.buyers.attempts);
  if (scenario.program.mode == ProgramMode::kWhole) {
    // One sale a line, from however many processes.
    return kProgramEventsPerLane +
           2 * std::max(
                   static_cast<uint64_t>(scenario.initial),
                   attempts * static_cast<uint64_t>(scenario.buyers.count));
  }
  return kProgramEventsPerLane + kProgramEventsPerAttempt * attempts;
}

namespace {

// What only threads can share (a variable, a std::mutex), and what only
// processes can be (a program's copies, buyers on hosts).
Status ValidateBuyerMode(const Scenario& scenario, std::string* key) {
  if (scenario.buyers.mode == BuyerMode::kProcess) {
    if (scenario.store.kind == StoreKind::kMemory) {
      return Refuse(key, "store.kind",
                    "\"memory\" is a variable of one process, which only its "
                    "threads share: it needs buyers.mode = \"thread\" (buyer "
                    "processes share memory through store.kind = \"shm\")");
    }
    if (scenario.guard.kind == GuardKind::kStdMutex) {
      return Refuse(key, "guard.kind",
                    "a std::mutex excludes the threads of one process: "
                    "\"std-mutex\" needs buyers.mode = \"thread\" (between "
                    "processes, use named-mutex or robust-mutex)");
    }
    return Status::Ok();
  }
  if (scenario.program.set()) {
    return Refuse(key, "buyers.mode",
                  "a program's copies are processes of their own: buyers.mode "
                  "= \"thread\" is for ticketsim's own buyers, not with "
                  "program.command");
  }
  if (!scenario.buyers.hosts.empty()) {
    return Refuse(key, "buyers.mode",
                  "buyers on hosts are processes of each host's agent: "
                  "buyers.mode = \"thread\" runs every buyer in one process "
                  "on this host, not with buyers.hosts");
  }
  return Status::Ok();
}

// A program's keys: [program] checked, or a sold pattern without one.
Status ValidateProgramKeys(const Scenario& scenario, std::string* key) {
  if (scenario.program.set()) {
    if (Status s = ValidateProgram(scenario, key); !s.ok()) return s;
  } else if (!scenario.program.sold_pattern.empty()) {
    return Refuse(key, "program.sold_pattern",
                  "a pattern over a program's output needs the program: set "
                  "program.command");
  }
  return Status::Ok();
}

// A guard that belongs to another store.
Status ValidateGuardsStore(const Scenario& scenario, std::string* key) {
  if (const std::optional<StoreKind> own = StoreOfGuard(scenario.guard.kind);
      own && *own != scenario.store.kind) {
    return Refuse(key, "guard.kind",
                  fmt::format("\"{}\" works only with store.kind = \"{}\", "
                              "not \"{}\"",
                              WordOf(kGuardKinds, scenario.guard.kind),
                              WordOf(kStoreKinds, *own),
                              WordOf(kStoreKinds, scenario.store.kind)));
  }
  return Status::Ok();
}

// The buyers' method, the guard's permits and the pool, as the store
// and the guard allow.
Status ValidateBuyerKeys(const Scenario& scenario, std::string* key) {
  if (scenario.buyers.method == Method::kAtomic &&
      scenario.store.kind == StoreKind::kFile) {
    return Refuse(
        key, "buyers.method",
        "the file store has no atomic step (a file cannot be read and "
        "rewritten in one step); use \"read-modify-write\" with a "
        "guard, or store.kind = \"shm\" or \"sqlite\"");
  }
  if (scenario.guard.permits != 1 &&
      scenario.guard.kind != GuardKind::kNamedSemaphore) {
    return Refuse(key, "guard.permits",
                  fmt::format("only the named-semaphore guard has permits, not "
                              "\"{}\"",
                              WordOf(kGuardKinds, scenario.guard.kind)));
  }
  if (scenario.buyers.pool > scenario.buyers.count) {
    return Refuse(key, "buyers.pool",
                  fmt::format("{} workers for {} buyers: a pool larger than "
                              "buyers.count would leave workers idle",
                              scenario.buyers.pool, scenario.buyers.count));
  }
  return Status::Ok();
}

// A purchase of several events: what it needs of the guard and the
// method.
Status ValidateEvents(const Scenario& scenario, std::string* key) {
  if (EventCount(scenario) > 1) {
    const GuardKind kind = scenario.guard.kind;
    if (kind == GuardKind::kSqliteImmediate ||
        kind == GuardKind::kSqliteDeferred) {
      return Refuse(
          key, "guard.kind",
          "an sqlite transaction locks the whole database, so several "
          "events cannot each have their own; use named-mutex, "
          "file-lock or robust-mutex");
    }
    if (kind == GuardKind::kNamedSemaphore && scenario.guard.permits != 1) {
      return Refuse(key, "guard.permits",
                    "several events need one permit each");
    }
    if (scenario.buyers.method == Method::kAtomic) {
      return Refuse(key, "buyers.method",
                    "a purchase of several events cannot be one store's atomic "
                    "step; use \"read-modify-write\" with a guard");
    }
    if (scenario.guard.scope != Scope::kBuy) {
      return Refuse(key, "guard.scope",
                    "several events are guarded on \"buy\" only");
    }
  }
  return Status::Ok();
}

// What [expect] and the history ask, together.
Status ValidateExpectAndHistory(const Scenario& scenario, std::string* key) {
  if (!scenario.expect.kinds.empty() &&
      scenario.expect.violations != Expectation::kSome) {
    return Refuse(key, "expect.kinds",
                  "kinds to expect need expect.violations = \"some\"");
  }
  if (scenario.history == HistoryMode::kSummary && EventCount(scenario) > 1) {
    return Refuse(key, "history",
                  "several events need history = \"full\" (the summary keeps "
                  "one event's books)");
  }
  return Status::Ok();
}

// The schedule: its listed steps, step's one trial, a controlled
// schedule's buyers.
Status ValidateSchedule(const Scenario& scenario, std::string* key) {
  for (size_t i = 0; i < scenario.schedule.steps.size(); ++i) {
    const uint32_t buyer = scenario.schedule.steps[i];
    if (buyer >= scenario.buyers.count) {
      return Refuse(
          key, "run.steps",
          fmt::format("step {} names buyer {}, but there {} {} "
                      "buyer{} (0 to {})",
                      i + 1, buyer, scenario.buyers.count == 1 ? "is" : "are",
                      scenario.buyers.count,
                      scenario.buyers.count == 1 ? "" : "s",
                      scenario.buyers.count - 1));
    }
  }
  if (scenario.schedule.kind == ScheduleKind::kStep && scenario.trials > 1) {
    return Refuse(key, "run.schedule",
                  fmt::format("\"step\" runs one trial, chosen step by step, "
                              "not run.trials = {}",
                              scenario.trials));
  }
  if (scenario.schedule.controlled() &&
      scenario.buyers.count > kMaxControlledBuyers) {
    return Refuse(
        key, "buyers.count",
        fmt::format("a controlled schedule (run.schedule = \"{}\"{}) "
                    "takes at most {} buyers, not {}: before each "
                    "step it looks at every one",
                    WordOf(kScheduleKinds, scenario.schedule.kind),
                    scenario.schedule.steps.empty() ? "" : ", run.steps",
                    kMaxControlledBuyers, scenario.buyers.count));
  }
  return Status::Ok();
}

// What the run needs of this machine: memory for its history, room for
// its processes.
Status ValidateMachineRoom(const Scenario& scenario, std::string* key) {
  // Only a history too large to be sure of asks the machine what it has,
  // so that a small scenario is valid everywhere.
  if (const uint64_t bytes = HistoryBytes(scenario);
      bytes > kHistoryAlwaysFits) {
    const std::optional<uint64_t> available = MemoryAvailable();
    if (const uint64_t limit = HistoryLimit(available); bytes > limit) {
      const std::string room =
          available && limit < kMaxHistoryBytes
              ? fmt::format("{}, half of the {} of memory available",
                            FormatBytes(limit), FormatBytes(*available))
              : FormatBytes(limit);
      if (scenario.history == HistoryMode::kSummary) {
        return Refuse(key, "buyers.count",
                      fmt::format("{} buyers, each with a map of {} seats, "
                                  "would take {} of memory; a run may take at "
                                  "most {}; use fewer buyers or tickets",
                                  scenario.buyers.count, SeatMapSeats(scenario),
                                  FormatBytes(bytes), room));
      }
      return Refuse(
          key, "buyers.attempts",
          fmt::format("buyers.count x buyers.attempts = {} purchases: their "
                      "history would take {} of memory; a run may take at "
                      "most {}; history = \"summary\" keeps counts only, in "
                      "memory that does not grow with the attempts",
                      scenario.buyers.count * scenario.buyers.attempts,
                      FormatBytes(bytes), room));
    }
  }
  // A thread is a task of the kernel as a process is, under the same
  // limits.
  const int64_t processes = ProcessCount(scenario);
  const bool threads = scenario.buyers.mode == BuyerMode::kThread;
  if (const ProcessRoom room = ProcessRoomNow(); processes > room.room) {
    return Refuse(key,
                  scenario.buyers.pool > 0 ? "buyers.pool" : "buyers.count",
                  fmt::format("{} {}, but this machine can start only "
                              "about {} more ({}); use fewer, or buyers.pool",
                              processes, threads ? "threads" : "processes",
                              room.room, room.limit));
  }
  return Status::Ok();
}

}  // namespace

Status ValidateScenario(const Scenario& scenario, std::string* key) {
  return FirstRefusal(
      scenario, key,
      {ValidateBuyerMode, ValidateProgramKeys, ValidateHosts,
       ValidateGuardsStore, ValidatePostgres, ValidateBuyerKeys, ValidateEvents,
       ValidateExpectAndHistory, ValidateSchedule, ValidateMachineRoom});
}

namespace {

// "4 buyers x 3 attempts".
std::string BuyersTimesAttempts(const BuyersSpec& b) {
  return fmt::format("{} buyer{} x {} attempt{}", b.count,
                     b.count == 1 ? "" : "s", b.attempts,
                     b.attempts == 1 ? "" : "s");
}

// ", kill_holder 1, pause_holder 2 (300 ms)": the faults that hit a
// purchase's holder, which programs and ticketsim's buyers both take.
std::string DescribeHolderFaults(const FaultsSpec& f) {
  std::string faults;
  if (f.kill_holder > 0) {
    faults += fmt::format(", kill_holder {}", f.kill_holder);
  }
  if (f.pause_holder > 0) {
    faults += fmt::format(", pause_holder {} ({} ms)", f.pause_holder,
                          f.pause_holder_ms);
  }
  return faults;
}

// "program `python3 buyer.py` (a copy per buyer) on the file store (db.txt),
// 4 buyers x 3 attempts": what DescribeSetup says of a program.
std::string DescribeProgramSetup(const Scenario& scenario) {
  const ProgramSpec& p = scenario.program;
  std::string store(WordOf(kStoreKinds, scenario.store.kind));
  if (scenario.store.kind == StoreKind::kFile) {
    store += fmt::format(" store ({})", scenario.store.file_name);
  } else {
    store += " store";
  }
  const std::string words = fmt::format("{}", fmt::join(p.command, " "));
  std::string setup;
  switch (p.mode) {
    case ProgramMode::kBuyer:
      setup = fmt::format("program `{}` on the {}, a copy per buyer, {}", words,
                          store, BuyersTimesAttempts(scenario.buyers));
      break;
    case ProgramMode::kWhole:
      setup = fmt::format(
          "program `{}` on the {}, run once (it starts its own "
          "processes)",
          words, store);
      break;
    case ProgramMode::kOperation:
      setup = fmt::format("program `{}` on the {}, one run per purchase, {}",
                          words, store, BuyersTimesAttempts(scenario.buyers));
      break;
  }
  if (!p.sold_pattern.empty()) {
    setup += fmt::format(", sales by /{}/", p.sold_pattern);
  }
  return setup + DescribeHolderFaults(scenario.faults);
}

// "file (rename)", "postgres (serializable, 2 retries)": the store's kind
// and how it writes.
std::string DescribeStoreKind(const StoreSpec& store) {
  std::string text(WordOf(kStoreKinds, store.kind));
  if (store.kind == StoreKind::kFile) {
    text += fmt::format(" ({})", WordOf(kFileWrites, store.write));
  } else if (store.kind == StoreKind::kSqlite) {
    text += fmt::format(" ({})", WordOf(kSqliteJournals, store.journal));
  } else if (store.kind == StoreKind::kPostgres) {
    text += fmt::format(" ({}", WordOf(kPgIsolations, store.isolation));
    if (store.retries > 0) {
      text += fmt::format(", {} retr{}", store.retries,
                          store.retries == 1 ? "y" : "ies");
    }
    text += ")";
  }
  return text;
}

// "shm store", or for several events "a + b, each its own shm store".
std::string DescribeStore(const Scenario& scenario) {
  const std::string store = DescribeStoreKind(scenario.store);
  if (EventCount(scenario) == 1) return store + " store";
  return fmt::format("{}, each its own {} store",
                     fmt::join(scenario.events, " + "), store);
}

// "guard named-mutex on buy", or for several events "guard file-lock in
// name order, all-at-once".
std::string DescribeGuard(const Scenario& scenario) {
  const GuardSpec& guard = scenario.guard;
  if (EventCount(scenario) == 1) {
    return fmt::format("guard {} on {}", WordOf(kGuardKinds, guard.kind),
                       WordOf(kScopes, guard.scope));
  }
  return fmt::format(
      "guard {} in {} order, {}", WordOf(kGuardKinds, guard.kind),
      WordOf(kGuardOrders, guard.order), WordOf(kGuardAcquires, guard.acquire));
}

// "no think time", "think 5 ms", "think 1-10 ms".
std::string DescribeThink(const BuyersSpec& b) {
  if (b.think_ms.max == 0) return "no think time";
  if (b.think_ms.min == b.think_ms.max) {
    return fmt::format("think {} ms", b.think_ms.min);
  }
  return fmt::format("think {}-{} ms", b.think_ms.min, b.think_ms.max);
}

// ", on hosts a, b (launcher `ssh {}`), partition of b at 100 ms for 200
// ms", or nothing for buyers on this host.
std::string DescribeHosts(const Scenario& scenario) {
  const BuyersSpec& b = scenario.buyers;
  if (b.hosts.empty()) return "";
  std::string hosts = fmt::format(
      ", on host{} {} ({})", b.hosts.size() == 1 ? "" : "s",
      fmt::join(b.hosts, ", "),
      b.launcher.empty() ? std::string("local agents")
                         : fmt::format("launcher `{}`", b.launcher));
  const PartitionSpec& partition = scenario.faults.partition_host;
  if (partition.set()) {
    hosts += fmt::format(", partition of {} at {} ms for {} ms", partition.host,
                         partition.at_ms, partition.for_ms);
  }
  return hosts;
}

}  // namespace

int64_t RunTimeoutMs(const Scenario& scenario) {
  if (scenario.run_timeout_ms > 0) return scenario.run_timeout_ms;
  // A program's own pace is unknown: a minute, as for a slow run.
  if (scenario.program.set()) return 60000;
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
  if (scenario.program.set()) return DescribeProgramSetup(scenario);
  const BuyersSpec& b = scenario.buyers;
  std::string setup = fmt::format(
      "{}, {}, {}, {}, {}", DescribeStore(scenario), DescribeGuard(scenario),
      WordOf(kMethods, b.method), BuyersTimesAttempts(b), DescribeThink(b));
  if (b.mode == BuyerMode::kThread) setup += ", as threads of one process";
  setup += DescribeHolderFaults(scenario.faults);
  if (scenario.faults.crash_before_write > 0) {
    setup += fmt::format(", crash_before_write {}",
                         scenario.faults.crash_before_write);
  }
  return setup + DescribeHosts(scenario);
}

std::string DescribeBoxOffice(const Scenario& scenario) {
  const ServerSpec& server = scenario.server;
  return fmt::format(
      "{}, {}, {}, {}; {}", DescribeStore(scenario), DescribeGuard(scenario),
      WordOf(kMethods, scenario.buyers.method), DescribeThink(scenario.buyers),
      server.workers == ServerWorkers::kPool
          ? fmt::format("a pool of {} threads serves the connections",
                        server.threads)
          : "a thread serves each connection");
}

std::optional<StoreKind> StoreOfGuard(GuardKind kind) {
  switch (kind) {
    case GuardKind::kSqliteImmediate:
    case GuardKind::kSqliteDeferred:
      return StoreKind::kSqlite;
    case GuardKind::kPgRowLock:
    case GuardKind::kPgAdvisory:
      return StoreKind::kPostgres;
    default:
      return std::nullopt;
  }
}

std::vector<GuardKind> GuardsFor(StoreKind store, BuyerMode mode) {
  std::vector<GuardKind> kinds;
  for (const auto& entry : kGuardKinds) {
    if (entry.value == GuardKind::kStdMutex && mode != BuyerMode::kThread) {
      continue;
    }
    if (StoreOfGuard(entry.value).value_or(store) == store) {
      kinds.push_back(entry.value);
    }
  }
  return kinds;
}

}  // namespace ticketsim
