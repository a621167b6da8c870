// EnumTable: the words of a scenario file for an enum, in one place, so that
// parsing, printing and `ticketsim list` all use the same table.
#ifndef TICKETSIM_BASE_ENUM_TABLE_H_
#define TICKETSIM_BASE_ENUM_TABLE_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ticketsim {

template <typename E>
struct EnumWord {
  E value;
  std::string_view word;
  std::string_view help;  // one line for `ticketsim list` and --help
};

template <typename E>
std::string_view WordOf(std::span<const EnumWord<E>> table, E value) {
  for (const auto& entry : table) {
    if (entry.value == value) return entry.word;
  }
  return "?";
}

template <typename E>
std::optional<E> ValueOf(std::span<const EnumWord<E>> table,
                         std::string_view word) {
  for (const auto& entry : table) {
    if (entry.word == word) return entry.value;
  }
  return std::nullopt;
}

// "a | b | c": the words a value may take, for error messages.
template <typename E>
std::string WordList(std::span<const EnumWord<E>> table) {
  std::string out;
  for (const auto& entry : table) {
    if (!out.empty()) out += " | ";
    out += entry.word;
  }
  return out;
}

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_ENUM_TABLE_H_
