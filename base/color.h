// Whether text for a person is coloured: `--color=auto|always|never`, and in
// auto the conventions other tools follow (FORCE_COLOR, NO_COLOR).
#ifndef TICKETSIM_BASE_COLOR_H_
#define TICKETSIM_BASE_COLOR_H_

#include <cstdio>
#include <span>

#include "base/enum_table.h"

namespace ticketsim {

enum class ColorMode { kAuto, kAlways, kNever };

extern const std::span<const EnumWord<ColorMode>> kColorModes;

// True when text written to `out` should carry ANSI colours: always, never,
// or in auto: FORCE_COLOR set (not empty) forces them, NO_COLOR set (not
// empty) turns them off, and otherwise a terminal has them.
bool ColorWanted(std::FILE* out, ColorMode mode = ColorMode::kAuto);

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_COLOR_H_
