#include "sim/program/program_events.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/escape.h"

namespace ticketsim {
namespace {

using nlohmann::json;

// A whole number field, if `key` is there; Corrupt text in *why otherwise.
bool IntField(const json& doc, const char* key, std::optional<int64_t>* out,
              std::string* why) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return true;
  if (it->is_number_integer() &&
      !(it->is_number_unsigned() && it->get<uint64_t>() > INT64_MAX)) {
    *out = it->get<int64_t>();
    return true;
  }
  *why = fmt::format("\"{}\" is {}, not a whole number", key, it->dump());
  return false;
}

}  // namespace

int LockNames::Index(const std::string& name) {
  auto it = std::find(names_.begin(), names_.end(), name);
  if (it != names_.end()) return static_cast<int>(it - names_.begin());
  if (names_.size() == kMaxLockNames) return -1;
  names_.push_back(name);
  return static_cast<int>(names_.size() - 1);
}

Status ProgramEvents::Error(const std::string& text,
                            const std::string& why) const {
  return Status::Corrupt(fmt::format(
      "protocol error: buyer {}, line {} of its events (fd 3): {}: {}", buyer_,
      lines_, why, VisibleCut(text)));
}

bool ProgramEvents::Record(EventKind kind, int64_t t, int64_t value,
                           uint8_t flags, uint32_t aux, uint16_t event) {
  if (events_.size() >= capacity_) return false;
  events_.push_back({static_cast<uint64_t>(t), value, buyer_, attempt_, kind,
                     flags, event, aux});
  return true;
}

void ProgramEvents::BeginIfDone() {
  if (!outcome_) return;
  ++attempt_;
  outcome_ = false;
}

void ProgramEvents::Stamp(EventKind kind, int64_t now, uint32_t aux,
                          int64_t value, uint8_t flags) {
  if (kind == EventKind::kInvoke) {
    BeginIfDone();
    // The previous run ended with no outcome: this is a new purchase.
    if (open_) ++attempt_;
    open_ = true;
    ++invokes_;
  }
  now = std::max(now, last_t_);
  last_t_ = now;
  Record(kind, now, value, flags, aux);
  if (kind == EventKind::kTook || kind == EventKind::kSoldOut) {
    open_ = false;
    outcome_ = true;
  }
}

Status ProgramEvents::Line(const std::string& text, bool cut, int64_t now,
                           std::pair<int64_t, int64_t> window) {
  ++lines_;
  if (cut) {
    return Error(
        text, fmt::format("the line is longer than {} bytes", kMaxEventLine));
  }
  // The JSON parser would end the line at a NUL and never see the rest.
  if (const size_t nul = text.find('\0'); nul != std::string::npos) {
    return Error(text, fmt::format("a NUL byte at byte {}", nul + 1));
  }
  if (text.find_first_not_of(" \t\r") == std::string::npos) {
    return Status::Ok();  // an empty line says nothing
  }
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Error(text, "not JSON");
  if (!doc.is_object()) return Error(text, "not a JSON object");
  const auto word = [&doc](const char* key) -> std::optional<std::string> {
    auto it = doc.find(key);
    if (it == doc.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  const std::optional<std::string> f = word("f");
  if (!f) return Error(text, "no \"f\" (buy, read, lock or unlock)");
  std::optional<std::string> type = word("type");
  if (!type && doc.contains("type")) {
    return Error(text, "\"type\" is not a string");
  }
  // {"f": "lock"} and {"f": "unlock"} alone say it is done.
  if (!type && (*f == "lock" || *f == "unlock")) type = "ok";
  if (!type) return Error(text, "no \"type\" (invoke, ok, fail or info)");
  if (*type != "invoke" && *type != "ok" && *type != "fail" &&
      *type != "info") {
    return Error(text, fmt::format("unknown type \"{}\" (invoke, ok, fail "
                                   "or info)",
                                   Visible(*type)));
  }
  if (*f != "buy" && *f != "read" && *f != "lock" && *f != "unlock") {
    return Error(text, fmt::format("unknown f \"{}\" (buy, read, lock or "
                                   "unlock)",
                                   Visible(*f)));
  }
  std::string why;
  std::optional<int64_t> t;
  if (!IntField(doc, "t", &t, &why)) return Error(text, why);
  if (t) {
    if (*t < window.first || *t > window.second) {
      return Error(text,
                   fmt::format("t = {} lies outside the run (from {} to {} on "
                               "CLOCK_MONOTONIC): take t from CLOCK_MONOTONIC, "
                               "in nanoseconds",
                               *t, window.first, window.second));
    }
    if (*t < last_line_t_) {
      return Error(text, fmt::format("t = {} goes back before the previous "
                                     "line's {}",
                                     *t, last_line_t_));
    }
    last_line_t_ = *t;
  }
  // A fault ticketsim stamped when it read an earlier line may be later
  // than this line's own t: the line is recorded no earlier than it.
  const int64_t at = std::max(t.value_or(now), last_t_);
  last_t_ = at;
  uint16_t lock = 0;
  if (*f == "lock" || *f == "unlock") {
    const std::optional<std::string> name = word("lock");
    const int index = locks_->Index(name.value_or(""));
    if (index < 0) {
      return Error(text,
                   fmt::format("more than {} locks named", kMaxLockNames));
    }
    lock = static_cast<uint16_t>(index);
  }
  const auto full = [&] {
    return Error(text,
                 fmt::format("more than {} events: its share of the history "
                             "is full (a flood; raise buyers.attempts if it "
                             "really buys that often)",
                             capacity_));
  };
  if (*f == "buy") {
    if (*type == "invoke") {
      if (open_) {
        return Error(text, fmt::format("a purchase begins while the one "
                                       "begun on line {} is still open",
                                       open_line_));
      }
      BeginIfDone();
      open_ = true;
      open_line_ = lines_;
      ++invokes_;
      ++untold_invokes_;
      return Record(EventKind::kInvoke, at) ? Status::Ok() : full();
    }
    if (!open_) {
      return Error(text,
                   fmt::format("an {} of buy with no invoke before it", *type));
    }
    open_ = false;
    outcome_ = true;
    std::optional<int64_t> seat, read;
    if (!IntField(doc, "seat", &seat, &why) ||
        !IntField(doc, "read", &read, &why)) {
      return Error(text, why);
    }
    bool ok = true;
    if (*type == "ok") {
      if (!seat) seat = read;
      ok = Record(EventKind::kTook, at, seat.value_or(0), seat ? 0 : kNoSeat);
    } else if (*type == "fail") {
      if (word("error").value_or("") == "sold out") {
        ok = Record(EventKind::kSoldOut, at, read.value_or(0));
      } else {
        ok = Record(EventKind::kFailed, at, 0, 0,
                    static_cast<uint32_t>(Failure::kDeclined));
      }
    }
    // "info": the outcome is unknown; the purchase stays indeterminate.
    return ok ? Status::Ok() : full();
  }
  if (*f == "read") {
    if (*type != "ok" && *type != "fail") return Status::Ok();
    const EventKind kind = open_ ? EventKind::kRead : EventKind::kQuery;
    if (!open_) BeginIfDone();
    bool ok = true;
    if (*type == "ok") {
      std::optional<int64_t> value;
      if (!IntField(doc, "value", &value, &why)) return Error(text, why);
      if (!value) return Error(text, "an ok of read with no \"value\"");
      ok = Record(kind, at, *value);
    } else {
      ok = Record(kind, at, 0, kTorn, kUnreadable);
    }
    return ok ? Status::Ok() : full();
  }
  if (*f == "lock") {
    if (*type == "invoke") {
      BeginIfDone();
      asked_at_[lock] = at;
      return Record(EventKind::kWaiting, at, 0, 0, 0, lock) ? Status::Ok()
                                                            : full();
    }
    if (*type == "ok") {
      BeginIfDone();
      const int64_t asked = asked_at_[lock];
      asked_at_[lock] = -1;
      const auto waited_us = static_cast<uint32_t>(
          asked < 0 ? 0 : std::min<int64_t>((at - asked) / 1000, UINT32_MAX));
      return Record(EventKind::kAcquired, at, 0, 0, waited_us, lock)
                 ? Status::Ok()
                 : full();
    }
    if (*type == "fail") {
      asked_at_[lock] = -1;
      return Record(EventKind::kFailed, at, 0, 0,
                    static_cast<uint32_t>(Failure::kGuardTimeout), lock)
                 ? Status::Ok()
                 : full();
    }
    return Status::Ok();
  }
  // unlock
  if (*type != "ok") return Status::Ok();
  return Record(EventKind::kRelease, at, 0, 0, 0, lock) ? Status::Ok() : full();
}

}  // namespace ticketsim
