// Text from a scenario file or the command line, made safe to print on a
// terminal.
//
// A name, a description, an unknown key or a path may hold control
// characters: ESC starts sequences that retitle, clear or reprogram the
// terminal, BEL rings it, and the C1 controls (U+0080 to U+009F, CSI among
// them) do the same on terminals that honour them, and the bidirectional
// overrides (U+202A..U+202E, U+2066..U+2069) reorder the text after them. Every
// report for a terminal passes such text through Visible(), which shows each
// control as an escape ("\e", "\x07", "\u009b"), and each byte that is not
// valid UTF-8 as "\xNN". Valid UTF-8 otherwise stays as it is. The JSON, JUnit
// and HTML reports escape for their own formats instead.
#ifndef TICKETSIM_BASE_ESCAPE_H_
#define TICKETSIM_BASE_ESCAPE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ticketsim {

// The length of the valid UTF-8 sequence (of two to four bytes) at the
// start of `text`, or 0 if it is not one: overlong forms, surrogates and
// code points past U+10FFFF are not valid. Sets `*code_point`.
size_t Utf8Sequence(std::string_view text, uint32_t* code_point);

// `text` with every control character and invalid byte shown as an escape:
// one line, whatever the text held.
std::string Visible(std::string_view text);

// Visible(), cut at `limit` bytes with " ..." after a cut: a line of a
// program's or an agent's output as a message quotes it.
std::string VisibleCut(std::string_view text, size_t limit = 200);

// `text` made safe for XML and HTML character data and attribute values:
// markup characters as entities; tab, newline and return as character
// references (so that an attribute keeps them, and no raw return reaches a
// terminal); DEL and the C1 controls as references too; the other C0
// controls, which XML 1.0 does not allow, as '?'; each byte that is not
// valid UTF-8 as U+FFFD, so that the document stays well formed.
std::string XmlEscape(std::string_view text);

// The same, but newlines and tabs are kept: for text whose lines the layout
// means (a message of several lines).
std::string VisibleLines(std::string_view text);

// `word` as a shell reads it back, for a command line to copy: as is when it
// is plain, else in single quotes; a word that Visible would change (a
// newline, a control, an invalid byte) in $'...', with each such character
// an escape the shell turns back into it ($'a\nb.toml'), so that the line
// printed through Visible still names the same file.
std::string ShellWord(std::string_view word);

// A message of several lines (a server's, with its detail and hint) for a
// terminal: each line escaped as Visible() does, and every line after the
// first on a line of its own, after `indent`.
std::string VisibleIndented(std::string_view text, std::string_view indent);

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_ESCAPE_H_
