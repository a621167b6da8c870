// Program runs: a user's own buyer program run on the run's store, and what
// it did turned into the same history ticketsim's buyers record
// (docs/programs.md is the contract).
//
// The parent spawns the program (a copy per buyer, once, or once per
// purchase), each process in a process group of its own, with its stdout,
// its stderr and the events pipe (fd 3) read by the parent without ever
// blocking it, and the start barrier on fd 4. It is the subreaper of
// everything the program starts, so the run ends only when every one of
// those processes has, and none outlives it: at the run's end, its time
// limit, an interrupt or a protocol error, every one is killed and reaped.
#ifndef TICKETSIM_SIM_PROGRAM_PROGRAM_RUN_H_
#define TICKETSIM_SIM_PROGRAM_PROGRAM_RUN_H_

#include "base/run_signals.h"
#include "base/status.h"
#include "sim/buyers/buyer_launch.h"
#include "sim/result/run_result.h"
#include "sim/scenario/scenario.h"
#include "storage/run_names.h"
#include "storage/ticket_store.h"

namespace ticketsim {

// Runs `scenario`'s program on the created `store` (named `names`), fills
// `result`'s history, processes and program report, and leaves no process
// behind. Returns Corrupt for a protocol error or a flood (naming the buyer,
// the line and its text), Environment when the system failed it; the
// caller reads the final count and removes the run's objects.
// REQUIRES: scenario.program.set(), ValidateScenario(scenario) is ok.
Status RunProgram(const Scenario& scenario, const RunNames& names,
                  const TicketStore& store, const RunSignals& signals,
                  const ProgressFn& progress, RunResult* result);

// A run's buyers as `scenario`'s program (RunProgram). The store holds a
// count to read when it ran, even one that broke the protocol: what it
// wrote is still there to judge.
class ProgramBuyers : public BuyerLaunch {
 public:
  ProgramBuyers(const Scenario& scenario, const RunNames& names,
                const TicketStore& store, const RunSignals& signals,
                const ProgressFn& progress)
      : scenario_(scenario),
        names_(names),
        store_(store),
        signals_(signals),
        progress_(progress) {}
  Status Run(RunResult* result) override {
    return RunProgram(scenario_, names_, store_, signals_, progress_, result);
  }
  bool LeftACount(const Status& ran) const override {
    return ran.ok() || ran.code() == Status::Code::kCorrupt;
  }

 private:
  const Scenario& scenario_;
  const RunNames& names_;
  const TicketStore& store_;
  const RunSignals& signals_;
  const ProgressFn& progress_;
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_PROGRAM_PROGRAM_RUN_H_
