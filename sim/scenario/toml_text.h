// What toml++ 3.3 (Debian bookworm's) must not be shown, and how the
// scenario loader keeps it from the parser.
//
// toml++ 3.3 asks whether a non-ASCII character is whitespace through a
// generated table that, for U+00A1..U+0499, U+2C5E..U+2FFF, U+3001..U+3057
// and U+FB26..U+FEFE ('é', 'Я', '。'...), runs into __builtin_unreachable():
// undefined behaviour (toml++ issues #190 and #295, fixed after 3.3). The
// parser asks it
//   (a) of every character outside strings and comments, where a quote
//       within a bare token (0"...) begins no string,
//   (b) in a """ string, of the character after a backslash, and
//   (c) in a """ string, of the characters after a line-ending backslash, up
//       to the first that is not whitespace.
// TOML allows no non-ASCII character in (a) or (b): the loader refuses them,
// with their place. (c) is valid TOML (a continued line of a description
// that begins "Élèves"), so the loader writes such a character as its \u
// escape, which makes the same string.
#ifndef TICKETSIM_SIM_SCENARIO_TOML_TEXT_H_
#define TICKETSIM_SIM_SCENARIO_TOML_TEXT_H_

#include <string>
#include <string_view>

#include "base/status.h"

namespace ticketsim {

// Checks `text`, a TOML document named `path` in messages. On success sets
// *safe to the text to parse: `text`, with the characters of (c) escaped.
// Returns Invalid "path:line:column: ..." for a non-ASCII character in (a)
// or (b). Text past bytes that are not UTF-8, or past the end of a line that
// ends a one-line string, is copied as it is: the parser refuses it there,
// before it looks at anything after.
Status SafeTomlText(const std::string& path, std::string_view text,
                    std::string* safe);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_SCENARIO_TOML_TEXT_H_
