#include "sim/scenario/sold_pattern.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <cerrno>
#include <cstdlib>

#include "base/escape.h"

namespace ticketsim {
namespace {

// What RE2 leaves out that other engines have, for the errors it gives
// when it meets one.
std::string Unsupported(const re2::RE2& re) {
  switch (re.error_code()) {
    case re2::RE2::ErrorBadEscape:
      return " (a backreference such as \\1 is not part of RE2's syntax)";
    case re2::RE2::ErrorBadPerlOp:
      return " (lookahead and lookbehind, (?=...), (?!...), (?<=...), are "
             "not part of RE2's syntax; a named group is (?P<name>...))";
    case re2::RE2::ErrorRepeatOp:
      return " (possessive repetitions such as ++ are not part of RE2's "
             "syntax)";
    default:
      return "";
  }
}

// The seat a capture group caught: a whole number, or none.
std::optional<int64_t> Seat(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  const std::string text(digits);
  char* end = nullptr;
  errno = 0;
  const long long v = strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0') return std::nullopt;
  return v;
}

}  // namespace

SoldPattern::SoldPattern(std::unique_ptr<re2::RE2> re) : re_(std::move(re)) {}
SoldPattern::~SoldPattern() = default;

Status SoldPattern::Compile(const std::string& text,
                            std::unique_ptr<SoldPattern>* out) {
  if (text.empty()) return Status::Invalid("the pattern is empty");
  re2::RE2::Options options;
  options.set_log_errors(false);  // the error is ours to tell
  auto re = std::make_unique<re2::RE2>(text, options);
  if (!re->ok()) {
    return Status::Invalid(
        fmt::format("\"{}\" is not a pattern (RE2's syntax): {}{}",
                    Visible(text), Visible(re->error()), Unsupported(*re)));
  }
  if (re->NumberOfCapturingGroups() > 1) {
    return Status::Invalid(fmt::format(
        "{} capture groups; at most one (the seat): use (?:...) for the "
        "others",
        re->NumberOfCapturingGroups()));
  }
  if (re->ProgramSize() > kMaxPatternSize) {
    return Status::Invalid(fmt::format(
        "\"{}\" is too large: it compiles to {} instructions, and at most {} "
        "are allowed, so that no line takes long to match (a counted "
        "repetition such as {{200}} repeats what it follows that often)",
        Visible(text), re->ProgramSize(), kMaxPatternSize));
  }
  out->reset(new SoldPattern(std::move(re)));
  return Status::Ok();
}

Status SoldPattern::ForEachSale(
    std::string_view line,
    const std::function<Status(std::optional<int64_t> seat)>& sale) const {
  const re2::StringPiece text(line.data(), line.size());
  re2::StringPiece match[2];
  const int groups = 1 + re_->NumberOfCapturingGroups();
  size_t from = 0;
  while (from <= text.size() &&
         re_->Match(text, from, text.size(), re2::RE2::UNANCHORED, match,
                    groups)) {
    if (match[0].empty()) break;  // a pattern that matches nothing at all
    std::optional<int64_t> seat;
    if (groups > 1 && match[1].data() != nullptr) {
      seat = Seat(std::string_view(match[1].data(), match[1].size()));
    }
    if (Status s = sale(seat); !s.ok()) return s;
    from = static_cast<size_t>(match[0].data() + match[0].size() - text.data());
  }
  return Status::Ok();
}

}  // namespace ticketsim
