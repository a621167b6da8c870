// The kinds of violation the checker reports, and their words.
//
// Apart from the checker so that a scenario's `[expect] kinds` can name them
// without the scenario depending on the checker.
#ifndef TICKETSIM_SIM_CHECK_VIOLATION_H_
#define TICKETSIM_SIM_CHECK_VIOLATION_H_

#include <span>

#include "base/enum_table.h"

namespace ticketsim {

enum class ViolationKind {
  kLostUpdate,     // confirmed purchases exceed initial - final
  kOversell,       // confirmed purchases exceed initial
  kDuplicateSeat,  // two confirmed purchases of one seat
  kTornRead,       // a read that did not parse or lay outside [0, initial]
  kFalseSoldOut,   // told sold out though tickets remain at the end
  kCorruptFinal,   // final count unreadable, out of range, or fell too far
  kGuardFailure,   // a purchase that could not get its lock
  kStoreError,     // a purchase the store failed (I/O)
  kAbandonedLock,  // a holder died holding a guard nothing releases
  kDeadlock,       // buyers each waiting for a guard the next one holds
  kLockOverlap,    // a program's lock held by two buyers at once
  kProgramCrash,   // a program's process failed (exit status, signal)
  // Not a violation but a finding: a buyer gave up waiting for a guard the
  // others kept taking (sim/check/starvation.h). It excluded; it was not fair.
  kStarvation,
};

extern const std::span<const EnumWord<ViolationKind>> kViolationKinds;

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CHECK_VIOLATION_H_
