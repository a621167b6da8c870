#include "base/color.h"

#include <unistd.h>

#include <cstdlib>

namespace ticketsim {
namespace {

constexpr EnumWord<ColorMode> kColorModeWords[] = {
    {ColorMode::kAuto, "auto",
     "on a terminal, unless NO_COLOR is set; FORCE_COLOR forces it"},
    {ColorMode::kAlways, "always", "always, also into a pipe or a file"},
    {ColorMode::kNever, "never", "never"},
};

// Set and not empty, as both conventions read their variable.
bool Set(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0';
}

}  // namespace

const std::span<const EnumWord<ColorMode>> kColorModes = kColorModeWords;

bool ColorWanted(std::FILE* out, ColorMode mode) {
  switch (mode) {
    case ColorMode::kAlways:
      return true;
    case ColorMode::kNever:
      return false;
    case ColorMode::kAuto:
      break;
  }
  if (Set("FORCE_COLOR")) return true;
  if (Set("NO_COLOR")) return false;
  return isatty(fileno(out)) != 0;
}

}  // namespace ticketsim
