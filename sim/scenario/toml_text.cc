#include "sim/scenario/toml_text.h"

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/escape.h"

namespace ticketsim {
namespace {

// Where toml++ 3.3's is_non_ascii_horizontal_whitespace() reaches
// __builtin_unreachable(): the blocks of its table that it neither rules out
// nor looks into, less the few code points it checks first.
bool TomlCannotClassify(char32_t c) {
  return (c >= 0xA1 && c <= 0x499) || (c >= 0x2C5E && c <= 0x2FFF) ||
         (c >= 0x3001 && c <= 0x3057) || (c >= 0xFB26 && c <= 0xFEFE);
}

// The non-ASCII characters that function does call whitespace.
bool TomlNonAsciiSpace(char32_t c) {
  return c == 0xA0 || c == 0x1680 || c == 0x180E ||
         (c >= 0x2000 && c <= 0x200B) || c == 0x202F ||
         (c >= 0x205F && c <= 0x2060) || c == 0x3000 || c == 0xFEFF;
}

struct CodePoint {
  char32_t value = 0;
  size_t length = 0;  // in bytes; 0: the end, or not UTF-8
};

// The code point `bytes` starts with, read as strictly as toml++'s decoder
// does: no overlong forms, no surrogates, nothing past U+10FFFF.
CodePoint Decode(std::string_view bytes) {
  if (bytes.empty()) return {};
  const auto lead = static_cast<unsigned char>(bytes[0]);
  if (lead < 0x80) return {lead, 1};
  uint32_t value = 0;
  const size_t length = Utf8Sequence(bytes, &value);
  return {value, length};
}

// Walks the text as toml++ reads it, as far as strings and comments go,
// copying it to *safe. Each Scan* method returns false to stop the walk.
class TomlScreen {
 public:
  TomlScreen(const std::string& path, std::string_view text, std::string* safe)
      : path_(path), text_(text), safe_(safe) {}

  Status Run() {
    safe_->clear();
    // toml++ skips a byte order mark, without counting it as a column.
    if (text_.starts_with("\xEF\xBB\xBF")) {
      safe_->append(text_.substr(0, 3));
      at_ = 3;
    }
    while (ScanTopLevel()) {
    }
    safe_->append(text_.substr(at_));
    return status_;
  }

 private:
  CodePoint Peek() const { return Decode(text_.substr(at_)); }
  bool At(std::string_view s) const { return text_.substr(at_).starts_with(s); }

  // Moves past the code point at the cursor, counting lines and columns
  // as toml++ does (a column per code point).
  void Skip(CodePoint c) {
    at_ += c.length;
    if (c.value == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
  }
  void Take(CodePoint c) {
    safe_->append(text_.substr(at_, c.length));
    Skip(c);
  }
  // Takes `count` ASCII characters on one line (quotes).
  void Copy(size_t count) {
    safe_->append(text_.substr(at_, count));
    at_ += count;
    column_ += count;
  }

  bool Refuse(CodePoint c, std::string_view why) {
    status_ = Status::Invalid(fmt::format(
        "{}:{}:{}: '{}' (U+{:04X}) {}", path_, line_, column_,
        text_.substr(at_, c.length), static_cast<uint32_t>(c.value), why));
    return false;
  }

  // Where the walk is, outside strings: what the parser expects next. It
  // decides whether a quote begins a string.
  enum class Expect {
    kKey,    // a key: at a line's start, in a table header, after { or ,
    kValue,  // a value: after =, or [ or , in an array
    kBare,   // the rest of a bare value (a number, a date, true), which the
             // parser reads ahead to its end, asking of every character
             // whether it ends it (is whitespace); quotes in it begin nothing
    kAfter,  // what follows a value: , ] } or the line's end
  };

  bool ScanTopLevel() {
    const CodePoint c = Peek();
    if (c.length == 0) return false;
    if (expect_ == Expect::kBare && EndsBareValue(c.value)) {
      expect_ = Expect::kAfter;
    }
    if (c.value == '#') return ScanComment();
    const bool quote = c.value == '"' || c.value == '\'';
    if (quote && expect_ != Expect::kBare) {
      // A quoted key leaves the parser expecting more of the key.
      if (expect_ != Expect::kKey) expect_ = Expect::kAfter;
      if (At("\"\"\"")) return ScanMultiLineBasic();
      if (At("'''")) return ScanMultiLineLiteral();
      return ScanOneLineString(c);
    }
    if (c.value >= 0x80) {
      return Refuse(c,
                    "outside quotes: keys and values are ASCII, text goes in "
                    "\"quotes\"");
    }
    if (expect_ == Expect::kKey && c.value == '.' &&
        ++key_dots_ > kMaxKeyDots) {
      status_ = Status::Invalid(fmt::format(
          "{}:{}:{}: a key of more than {} dotted parts; no scenario key has "
          "more than a few",
          path_, line_, column_, kMaxKeyDots + 1));
      return false;
    }
    Take(c);
    Follow(static_cast<char>(c.value));
    return true;
  }

  // What ends a bare value: ASCII whitespace, ], }, , or # (a comment).
  static bool EndsBareValue(char32_t c) {
    return c == ' ' || (c >= '\t' && c <= '\r') || c == ']' || c == '}' ||
           c == ',' || c == '#';
  }

  // Moves expect_ past `c`, an ASCII character outside strings.
  void Follow(char c) {
    if (expect_ != Expect::kKey || c == '\n') key_dots_ = 0;
    if (c == '\n' && nesting_.empty()) {
      expect_ = Expect::kKey;
      return;
    }
    if (c == ' ' || (c >= '\t' && c <= '\r')) return;
    switch (expect_) {
      case Expect::kKey:
        if (c == '=') expect_ = Expect::kValue;
        if (c == ']') expect_ = Expect::kAfter;  // a table header's end
        if (c == '}') Close('{');                // {}
        return;
      case Expect::kValue:
        if (c == '[') {
          nesting_.push_back('[');
        } else if (c == '{') {
          nesting_.push_back('{');
          expect_ = Expect::kKey;
        } else if (c == ']') {
          Close('[');  // [] or a trailing comma
        } else {
          expect_ = Expect::kBare;
        }
        return;
      case Expect::kAfter:
        if (c == ',') {
          const bool table = !nesting_.empty() && nesting_.back() == '{';
          expect_ = table ? Expect::kKey : Expect::kValue;
        } else if (c == ']' || c == '}') {
          Close(c == ']' ? '[' : '{');
        } else {
          // The parser reads a date on past a space if a time follows.
          expect_ = Expect::kBare;
        }
        return;
      case Expect::kBare:
        return;
    }
  }

  void Close(char opening) {
    if (!nesting_.empty() && nesting_.back() == opening) nesting_.pop_back();
    expect_ = Expect::kAfter;
  }

  bool ScanComment() {
    for (CodePoint c = Peek(); c.length != 0 && c.value != '\n'; c = Peek()) {
      Take(c);
    }
    return true;
  }

  // "..." (backslash escapes) or '...' (none); a line break in one is an
  // error for the parser, so the walk stops there.
  bool ScanOneLineString(CodePoint quote) {
    Take(quote);
    for (CodePoint c = Peek(); c.length != 0 && c.value != '\n'; c = Peek()) {
      Take(c);
      if (c.value == quote.value) return true;
      if (c.value == '\\' && quote.value == '"') {
        const CodePoint escaped = Peek();
        if (escaped.length == 0 || escaped.value == '\n') return false;
        Take(escaped);
      }
    }
    return false;
  }

  bool ScanMultiLineLiteral() {
    Copy(3);
    for (CodePoint c = Peek(); c.length != 0; c = Peek()) {
      if (At("'''")) return TakeClosing('\'');
      Take(c);
    }
    return false;
  }

  bool ScanMultiLineBasic() {
    Copy(3);
    for (CodePoint c = Peek(); c.length != 0; c = Peek()) {
      if (At("\"\"\"")) return TakeClosing('"');
      Take(c);
      if (c.value != '\\') continue;
      const CodePoint escaped = Peek();
      if (escaped.length == 0) return false;
      if (escaped.value >= 0x80) {  // (b)
        return Refuse(escaped, "after a backslash is not an escape sequence");
      }
      const bool line_ending = escaped.value == ' ' || escaped.value == '\t' ||
                               escaped.value == '\n' || escaped.value == '\r';
      if (!line_ending) {
        Take(escaped);
        continue;
      }
      // (c): the parser skips whitespace and line breaks after the
      // backslash, asking of each character whether it is whitespace.
      for (CodePoint next = Peek(); next.length != 0; next = Peek()) {
        if (next.value == ' ' || next.value == '\t' || next.value == '\n' ||
            next.value == '\r' || TomlNonAsciiSpace(next.value)) {
          Take(next);
          continue;
        }
        if (TomlCannotClassify(next.value)) {
          safe_->append(
              fmt::format("\\u{:04X}", static_cast<uint32_t>(next.value)));
          Skip(next);
        }
        break;
      }
    }
    return false;
  }

  // A closing ''' or """, with the one or two quotes of the string's own
  // that may come just before it.
  bool TakeClosing(char quote) {
    Copy(3);
    for (int extra = 0; extra < 2 && At(std::string_view(&quote, 1)); ++extra) {
      Copy(1);
    }
    return true;
  }

  const std::string& path_;
  std::string_view text_;
  std::string* safe_;
  size_t at_ = 0;
  size_t line_ = 1;
  size_t column_ = 1;
  Expect expect_ = Expect::kKey;
  std::vector<char> nesting_;  // the arrays ([) and inline tables ({) open
  // The dots of the key being read. toml++ nests a table per part, each a
  // level of recursion when it is built and destroyed: a key of tens of
  // thousands of parts (a.a.a...) would overflow the stack.
  static constexpr int kMaxKeyDots = 15;
  int key_dots_ = 0;
  Status status_;
};

}  // namespace

Status SafeTomlText(const std::string& path, std::string_view text,
                    std::string* safe) {
  return TomlScreen(path, text, safe).Run();
}

}  // namespace ticketsim
