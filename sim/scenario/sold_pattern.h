// program.sold_pattern: what a line of a program's stdout says when it sold
// a ticket, in RE2's syntax. RE2 matches in time linear in the line and
// never recurses on it, so neither a pattern nor a line can crash or stall a
// run; in return it has no backreferences and no lookaround.
#ifndef TICKETSIM_SIM_SCENARIO_SOLD_PATTERN_H_
#define TICKETSIM_SIM_SCENARIO_SOLD_PATTERN_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace re2 {
class RE2;
}

namespace ticketsim {

// The most instructions RE2 may compile a pattern to. A line costs at worst
// its length times this (RE2's fallback when its automaton grows too big):
// a pattern a person writes takes a few dozen; `(x|y){500}` takes 1500.
inline constexpr int kMaxPatternSize = 1000;

class SoldPattern {
 public:
  // Compiles `text`. Invalid, saying why, when RE2 refuses it (a
  // backreference, a lookaround), when it has more than one capture group,
  // or when it compiles to more than kMaxPatternSize instructions.
  static Status Compile(const std::string& text,
                        std::unique_ptr<SoldPattern>* out);
  ~SoldPattern();
  SoldPattern(const SoldPattern&) = delete;
  SoldPattern& operator=(const SoldPattern&) = delete;

  // Calls `sale` for each match in `line`, left to right, with the seat:
  // the number the capture group caught, if it caught one. Stops at an
  // empty match (a pattern that matches nothing at all) and at the first
  // status `sale` returns that is not ok, which it returns.
  Status ForEachSale(
      std::string_view line,
      const std::function<Status(std::optional<int64_t> seat)>& sale) const;

 private:
  explicit SoldPattern(std::unique_ptr<re2::RE2> re);
  std::unique_ptr<re2::RE2> re_;
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_SCENARIO_SOLD_PATTERN_H_
