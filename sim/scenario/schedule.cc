#include "sim/scenario/schedule.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace ticketsim {
namespace {

constexpr EnumWord<ScheduleKind> kScheduleKindWords[] = {
    {ScheduleKind::kOs, "os", "the kernel interleaves the buyers"},
    {ScheduleKind::kSeeded, "seeded",
     "one step at a time, a uniform choice from the random seed: it replays"},
    {ScheduleKind::kPct, "pct",
     "one step at a time, random priorities with pct_depth - 1 change points "
     "(PCT): hunts rare races"},
    {ScheduleKind::kStep, "step", "one step at a time, chosen by a person"},
};

constexpr EnumWord<StepKind> kStepKindWords[] = {
    {StepKind::kNone, "none", ""},
    {StepKind::kQuery, "query", "read the count before buying"},
    {StepKind::kAcquire, "acquire", "try to take the guard"},
    {StepKind::kRead, "read", "read the count"},
    {StepKind::kThink, "think", "the race window"},
    {StepKind::kWrite, "write", "write count - 1"},
    {StepKind::kWriteEnd, "write-end", "finish the write"},
    {StepKind::kRelease, "release", "give the guard back"},
    {StepKind::kTake, "take", "the store's own atomic step"},
    {StepKind::kBackoff, "backoff", "back off before trying again"},
};

}  // namespace

const std::span<const EnumWord<ScheduleKind>> kScheduleKinds =
    kScheduleKindWords;
const std::span<const EnumWord<StepKind>> kStepKinds = kStepKindWords;

std::vector<uint32_t> ScheduleLog::Buyers() const {
  std::vector<uint32_t> out;
  out.reserve(steps.size());
  for (const ScheduledStep& step : steps) out.push_back(step.buyer);
  return out;
}

std::string ScheduleLog::StepsList() const {
  return fmt::format("{}", fmt::join(Buyers(), ","));
}

}  // namespace ticketsim
