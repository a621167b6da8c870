#include "base/shell_words.h"

#include <fmt/format.h>

#include <utility>

#include "base/escape.h"

namespace ticketsim {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n'; }
}  // namespace

Status SplitCommandLine(std::string_view line, std::vector<std::string>* out) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (IsBlank(c)) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
    } else if (c == '\'' || c == '"') {
      const size_t close = line.find(c, i + 1);
      if (close == std::string_view::npos) {
        return Status::Invalid(fmt::format(
            "the quote {} at character {} is never closed", c, i + 1));
      }
      word += line.substr(i + 1, close - i - 1);
      i = close;
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(std::move(word));
  *out = std::move(words);
  return Status::Ok();
}

std::string CommandLine(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& word : argv) {
    if (!line.empty()) line += ' ';
    line += ShellWord(word);
  }
  return line;
}

}  // namespace ticketsim
