// How long a run took and how fast it went, in words the reports share.
//
// Two rates, never one: attempts per second counts every purchase a buyer
// tried (sold out and failed ones too), sales per second only the confirmed
// ones. A guard that makes nine of ten buyers find the rush sold out can
// make more attempts per second than no guard at all while it sells a tenth
// as much, so a single "purchases per second" would mislead.
#ifndef TICKETSIM_SIM_REPORT_RATES_H_
#define TICKETSIM_SIM_REPORT_RATES_H_

#include <fmt/format.h>

#include <cstdint>
#include <string>

namespace ticketsim {

// A duration that stays true at any length: "1.25 s", "0.202 s", "0.41 ms",
// and "< 0.01 ms" for one shorter than that (never "0.000 s").
inline std::string DurationWords(double seconds) {
  if (seconds >= 1) return fmt::format("{:.2f} s", seconds);
  if (seconds >= 0.01) return fmt::format("{:.3f} s", seconds);
  const double ms = seconds * 1000;
  if (ms >= 0.01) return fmt::format("{:.2f} ms", ms);
  return "< 0.01 ms";
}

// `count` per second over `seconds`: 0 when no time was measured.
inline double PerSecond(double count, double seconds) {
  return seconds > 0 ? count / seconds : 0.0;
}

// A rate for reading: whole numbers from 100 up, three figures below.
inline std::string RateWords(double per_second) {
  return per_second >= 100 ? fmt::format("{:.0f}", per_second)
                           : fmt::format("{:.3g}", per_second);
}

// "48 attempts per second, 4.8 sales per second (confirmed purchases)".
inline std::string RatesWords(int64_t attempts, int64_t sales, double seconds) {
  if (seconds <= 0) return "no time measured, no rate";
  return fmt::format(
      "{} attempts per second, {} sales per second (confirmed purchases)",
      RateWords(PerSecond(static_cast<double>(attempts), seconds)),
      RateWords(PerSecond(static_cast<double>(sales), seconds)));
}

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_REPORT_RATES_H_
