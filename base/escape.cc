#include "base/escape.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace ticketsim {
namespace {

// One ASCII byte as Visible shows it: printable as it is, a control as an
// escape (a line break and a tab as they are, with `keep_lines`).
void AppendVisibleAscii(uint8_t c, bool keep_lines, std::string* out) {
  if (c >= 0x20 && c != 0x7f) {
    *out += static_cast<char>(c);
  } else if (keep_lines && (c == '\n' || c == '\t')) {
    *out += static_cast<char>(c);
  } else if (c == 0x1b) {
    *out += "\\e";
  } else if (c == '\n') {
    *out += "\\n";
  } else if (c == '\t') {
    *out += "\\t";
  } else if (c == '\r') {
    *out += "\\r";
  } else {
    *out += fmt::format("\\x{:02x}", c);
  }
}

// The character that starts `text` (its first byte not ASCII) as Visible
// shows it; returns how many bytes it took.
size_t AppendVisibleUtf8(std::string_view text, std::string* out) {
  uint32_t cp = 0;
  const size_t length = Utf8Sequence(text, &cp);
  if (length == 0) {
    *out += fmt::format("\\x{:02x}", static_cast<uint8_t>(text[0]));
    return 1;
  }
  if (cp <= 0x9f || (cp >= 0x202a && cp <= 0x202e) ||
      (cp >= 0x2066 && cp <= 0x2069)) {
    // A C1 control, or a bidirectional override or isolate, which
    // reorders what the terminal shows after it.
    *out += fmt::format("\\u{:04x}", cp);
  } else {
    out->append(text.substr(0, length));
  }
  return length;
}

std::string Escaped(std::string_view text, bool keep_lines) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<uint8_t>(text[i]);
    if (c < 0x80) {
      AppendVisibleAscii(c, keep_lines, &out);
      ++i;
    } else {
      i += AppendVisibleUtf8(text.substr(i), &out);
    }
  }
  return out;
}

// One ASCII byte in XML text: the five special characters as entities, a
// tab, a line break, a carriage return and DEL as references, any other
// control (which XML 1.0 does not allow) as '?'.
void AppendXmlAscii(uint8_t c, std::string* out) {
  switch (c) {
    case '&':
      *out += "&amp;";
      break;
    case '<':
      *out += "&lt;";
      break;
    case '>':
      *out += "&gt;";
      break;
    case '"':
      *out += "&quot;";
      break;
    case '\'':
      *out += "&apos;";
      break;
    case '\t':
    case '\n':
    case '\r':
    case 0x7f:
      *out += fmt::format("&#{};", c);
      break;
    default:
      *out += c < 0x20 ? '?' : static_cast<char>(c);
  }
}

// The character that starts `text` (its first byte not ASCII) in XML
// text; returns how many bytes it took.
size_t AppendXmlUtf8(std::string_view text, std::string* out) {
  uint32_t cp = 0;
  const size_t length = Utf8Sequence(text, &cp);
  if (length == 0 || cp == 0xfffe || cp == 0xffff) {
    // Not UTF-8, or one of the two characters XML 1.0 does not allow.
    *out += "&#xfffd;";
    return length == 0 ? 1 : length;
  }
  if (cp <= 0x9f) {
    *out += fmt::format("&#x{:x};", cp);  // a C1 control
  } else {
    out->append(text.substr(0, length));
  }
  return length;
}

}  // namespace

size_t Utf8Sequence(std::string_view text, uint32_t* code_point) {
  if (text.empty()) return 0;
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(0);
  size_t length = 0;
  uint32_t cp = 0;
  uint8_t low = 0x80;   // the range of the second byte, which excludes
  uint8_t high = 0xbf;  // overlong forms and surrogates
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    cp = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    cp = lead & 0x0f;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    cp = lead & 0x07;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    const uint8_t b = byte(i);
    if (b < (i == 1 ? low : 0x80) || b > (i == 1 ? high : 0xbf)) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  *code_point = cp;
  return length;
}

std::string Visible(std::string_view text) { return Escaped(text, false); }

std::string VisibleCut(std::string_view text, size_t limit) {
  if (text.size() <= limit) return Visible(text);
  return Visible(text.substr(0, limit)) + " ...";
}

std::string VisibleLines(std::string_view text) { return Escaped(text, true); }

std::string VisibleIndented(std::string_view text, std::string_view indent) {
  std::string out;
  for (;;) {
    const size_t nl = text.find('\n');
    out += Visible(text.substr(0, nl));
    if (nl == std::string_view::npos) return out;
    out += '\n';
    out += indent;
    text.remove_prefix(nl + 1);
  }
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<uint8_t>(text[i]);
    if (c < 0x80) {
      AppendXmlAscii(c, &out);
      ++i;
    } else {
      i += AppendXmlUtf8(text.substr(i), &out);
    }
  }
  return out;
}

namespace {

// `word` in $'...': backslash escapes for what Visible would change, each
// other character as it is.
std::string DollarQuoted(std::string_view word) {
  std::string out = "$'";
  for (size_t i = 0; i < word.size();) {
    const auto c = static_cast<unsigned char>(word[i]);
    uint32_t code_point = 0;
    size_t length = c >= 0x80 ? Utf8Sequence(word.substr(i), &code_point) : 1;
    if (length == 0) length = 1;
    const std::string_view piece = word.substr(i, length);
    i += length;
    if (c == '\\' || c == '\'') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (Visible(piece) != piece) {
      for (const char b : piece) {
        out += fmt::format("\\x{:02x}", static_cast<unsigned char>(b));
      }
    } else {
      out += piece;
    }
  }
  return out + "'";
}

}  // namespace

std::string ShellWord(std::string_view word) {
  const bool plain =
      !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) ||
               std::string_view("_./,=:+@%-").find(c) != std::string_view::npos;
      });
  if (plain) return std::string(word);
  if (Visible(word) != word) return DollarQuoted(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace ticketsim
