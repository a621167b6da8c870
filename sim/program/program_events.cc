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

// A string field of `doc`, if `key` is there and a string.
std::optional<std::string> Word(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// The line's "f" and "type", checked; what is wrong with them, or "".
std::string FunctionAndType(const json& doc, std::string* f,
                            std::string* type) {
  const std::optional<std::string> function = Word(doc, "f");
  if (!function) return "no \"f\" (buy, read, lock or unlock)";
  std::optional<std::string> said = Word(doc, "type");
  if (!said && doc.contains("type")) return "\"type\" is not a string";
  // {"f": "lock"} and {"f": "unlock"} alone say it is done.
  if (!said && (*function == "lock" || *function == "unlock")) said = "ok";
  if (!said) return "no \"type\" (invoke, ok, fail or info)";
  if (*said != "invoke" && *said != "ok" && *said != "fail" &&
      *said != "info") {
    return fmt::format("unknown type \"{}\" (invoke, ok, fail or info)",
                       Visible(*said));
  }
  if (*function != "buy" && *function != "read" && *function != "lock" &&
      *function != "unlock") {
    return fmt::format("unknown f \"{}\" (buy, read, lock or unlock)",
                       Visible(*function));
  }
  *f = *function;
  *type = *said;
  return "";
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
  std::string f, type;
  if (const std::string why = FunctionAndType(doc, &f, &type); !why.empty()) {
    return Error(text, why);
  }
  int64_t at = 0;
  if (Status s = Stamp(text, doc, now, window, &at); !s.ok()) return s;
  if (f == "buy") return Buy(text, doc, type, at);
  if (f == "read") return Read(text, doc, type, at);
  const int index = locks_->Index(Word(doc, "lock").value_or(""));
  if (index < 0) {
    return Error(text, fmt::format("more than {} locks named", kMaxLockNames));
  }
  const auto lock = static_cast<uint16_t>(index);
  if (f == "lock") return Lock(text, type, lock, at);
  // unlock
  if (type != "ok") return Status::Ok();
  return Record(EventKind::kRelease, at, 0, 0, 0, lock) ? Status::Ok()
                                                        : Full(text);
}

Status ProgramEvents::Stamp(const std::string& text, const json& doc,
                            int64_t now, std::pair<int64_t, int64_t> window,
                            int64_t* at) {
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
  *at = std::max(t.value_or(now), last_t_);
  last_t_ = *at;
  return Status::Ok();
}

Status ProgramEvents::Full(const std::string& text) const {
  return Error(text,
               fmt::format("more than {} events: its share of the history "
                           "is full (a flood; raise buyers.attempts if it "
                           "really buys that often)",
                           capacity_));
}

Status ProgramEvents::Buy(const std::string& text, const json& doc,
                          const std::string& type, int64_t at) {
  if (type == "invoke") return BuyBegins(text, at);
  return BuyEnds(text, doc, type, at);
}

Status ProgramEvents::BuyBegins(const std::string& text, int64_t at) {
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
  return Record(EventKind::kInvoke, at) ? Status::Ok() : Full(text);
}

Status ProgramEvents::BuyEnds(const std::string& text, const json& doc,
                              const std::string& type, int64_t at) {
  if (!open_) {
    return Error(text,
                 fmt::format("an {} of buy with no invoke before it", type));
  }
  open_ = false;
  outcome_ = true;
  std::string why;
  std::optional<int64_t> seat, read;
  if (!IntField(doc, "seat", &seat, &why) ||
      !IntField(doc, "read", &read, &why)) {
    return Error(text, why);
  }
  bool ok = true;
  if (type == "ok") {
    if (!seat) seat = read;
    ok = Record(EventKind::kTook, at, seat.value_or(0), seat ? 0 : kNoSeat);
  } else if (type == "fail") {
    if (Word(doc, "error").value_or("") == "sold out") {
      ok = Record(EventKind::kSoldOut, at, read.value_or(0));
    } else {
      ok = Record(EventKind::kFailed, at, 0, 0,
                  static_cast<uint32_t>(Failure::kDeclined));
    }
  }
  // "info": the outcome is unknown; the purchase stays indeterminate.
  return ok ? Status::Ok() : Full(text);
}

Status ProgramEvents::Read(const std::string& text, const json& doc,
                           const std::string& type, int64_t at) {
  if (type != "ok" && type != "fail") return Status::Ok();
  const EventKind kind = open_ ? EventKind::kRead : EventKind::kQuery;
  if (!open_) BeginIfDone();
  bool ok = true;
  if (type == "ok") {
    std::string why;
    std::optional<int64_t> value;
    if (!IntField(doc, "value", &value, &why)) return Error(text, why);
    if (!value) return Error(text, "an ok of read with no \"value\"");
    ok = Record(kind, at, *value);
  } else {
    ok = Record(kind, at, 0, kTorn, kUnreadable);
  }
  return ok ? Status::Ok() : Full(text);
}

Status ProgramEvents::Lock(const std::string& text, const std::string& type,
                           uint16_t lock, int64_t at) {
  if (type == "invoke") {
    BeginIfDone();
    asked_at_[lock] = at;
    return Record(EventKind::kWaiting, at, 0, 0, 0, lock) ? Status::Ok()
                                                          : Full(text);
  }
  if (type == "ok") {
    BeginIfDone();
    const int64_t asked = asked_at_[lock];
    asked_at_[lock] = -1;
    const auto waited_us = static_cast<uint32_t>(
        asked < 0 ? 0 : std::min<int64_t>((at - asked) / 1000, UINT32_MAX));
    return Record(EventKind::kAcquired, at, 0, 0, waited_us, lock)
               ? Status::Ok()
               : Full(text);
  }
  if (type == "fail") {
    asked_at_[lock] = -1;
    return Record(EventKind::kFailed, at, 0, 0,
                  static_cast<uint32_t>(Failure::kGuardTimeout), lock)
               ? Status::Ok()
               : Full(text);
  }
  return Status::Ok();
}

}  // namespace ticketsim
