#include "base/line_splitter.h"

#include <algorithm>

namespace ticketsim {

void LineSplitter::Append(std::string_view bytes) {
  while (!bytes.empty()) {
    const size_t newline = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, newline);
    if (!skipping_) {
      const size_t room = limit_ - partial_.size();
      partial_.append(piece.substr(0, room));
      if (piece.size() > room) {
        ready_.emplace_back(std::move(partial_), true);
        partial_.clear();
        skipping_ = true;
      }
    }
    if (newline == std::string_view::npos) return;
    if (skipping_) {
      skipping_ = false;
    } else {
      ready_.emplace_back(std::move(partial_), false);
      partial_.clear();
    }
    bytes.remove_prefix(newline + 1);
  }
}

bool LineSplitter::Next(std::string* line, bool* cut) {
  if (ready_.empty()) return false;
  *line = std::move(ready_.front().first);
  *cut = ready_.front().second;
  ready_.pop_front();
  return true;
}

bool LineSplitter::Rest(std::string* line, bool* cut) {
  if (Next(line, cut)) return true;
  if (partial_.empty()) return false;
  *line = std::move(partial_);
  *cut = false;
  partial_.clear();
  return true;
}

}  // namespace ticketsim
