// Run: one execution of a scenario, from creating the store to removing it.
//
// The parent creates the run's named objects, maps the history arena and the
// start barrier, forks the buyers, opens the barrier once all are attached,
// and reaps every one of them (never leaving a zombie). It kills them all
// when the run's time limit passes or when it is interrupted (any signal
// of base/interrupt.h), reads the final count, and removes every named object
// and file of the run, whatever happened. Buyers die with the parent
// (PR_SET_PDEATHSIG) should the parent itself be killed.
//
// RunScenario (sim/run/run.cc) tells that story as a list of steps: the
// run's plan (sim/scenario/run_plan.h), its objects, its buyers started one
// of three ways (sim/buyers/buyer_launch.h: own processes in
// sim/run/own_buyers.h, watched by sim/run/run_watch.h), the final count.
// The buyer processes' life cycle is sim/buyers/buyer_processes.h, the
// search for a deadlock sim/buyers/deadlock_watch.h, what a run leaves
// sim/result/run_result.h, and the checking of a finished run
// sim/result/run_check.h.
#ifndef TICKETSIM_SIM_RUN_RUN_H_
#define TICKETSIM_SIM_RUN_RUN_H_

#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "sim/result/run_check.h"
#include "sim/result/run_result.h"
#include "sim/scenario/scenario.h"

namespace ticketsim {

// Runs `scenario` once. Returns not-ok only when the run could not be made
// (objects not created, fork failed, a buyer could not attach) or the system
// failed a buyer during it (Status::Code::kEnvironment: a full disk, no
// memory, no descriptors; the message names the buyer and the cause): that
// is a run failure, not a verdict. REQUIRES: ValidateScenario(scenario) is ok.
// `progress`, if given, is called about ten times a second while the buyers
// run, with the attempts finished so far.
// `chooser`, if given, chooses the steps of a controlled schedule instead
// of the scenario's own (MakeChooser): a person's, for `ticketsim step`.
class StepChooser;
Status RunScenario(const Scenario& scenario, RunResult* result,
                   const ProgressFn& progress = {},
                   StepChooser* chooser = nullptr);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_RUN_RUN_H_
