#include "sim/report/report_json.h"

#include "base/interrupt.h"
#include "base/version.h"
#include "sim/report/rates.h"
#include "sim/report/verdict_hints.h"
#include "sim/result/run_check.h"

namespace ticketsim {
namespace {

// A witness's sentence and its facts, for tools.
nlohmann::json WitnessJson(const Violation& v, const Witness& w) {
  nlohmann::json steps = nlohmann::json::array();
  nlohmann::json read = nlohmann::json::array();
  nlohmann::json written = nlohmann::json::array();
  for (const WitnessStep& step : w.steps) {
    nlohmann::json one = {{"buyer", step.buyer},
                          {"attempt", step.attempt},
                          {"what", step.what},
                          {"time_ns", step.time_ns}};
    if (step.value) {
      one["value"] = *step.value;
      if (step.what == "read") read.push_back(*step.value);
      if (step.what == "write" || step.what == "take") {
        written.push_back(*step.value);
      }
    }
    steps.push_back(std::move(one));
  }
  return {{"kind", ViolationName(v.kind)},
          {"text", w.text},
          {"buyers", w.buyers},
          {"seats", w.seats},
          {"read", std::move(read)},
          {"written", std::move(written)},
          {"from_ns", w.from_ns},
          {"to_ns", w.to_ns},
          {"steps", std::move(steps)}};
}

nlohmann::json ExpectJson(const ExpectSpec& expect) {
  nlohmann::json kinds = nlohmann::json::array();
  for (ViolationKind kind : expect.kinds) kinds.push_back(ViolationName(kind));
  return {{"violations",
           expect.violations == Expectation::kUnset
               ? nlohmann::json(nullptr)
               : nlohmann::json(WordOf(kExpectations, expect.violations))},
          {"kinds", kinds}};
}

nlohmann::json ScenarioJson(const Scenario& s) {
  const auto range = [](const MsRange& r) {
    return nlohmann::json::array({r.min, r.max});
  };
  return {
      {"name", s.name},
      {"description", s.description},
      {"events", s.events},
      {"tickets", {{"initial", s.initial}}},
      {"store",
       {{"kind", WordOf(kStoreKinds, s.store.kind)},
        {"write", WordOf(kFileWrites, s.store.write)},
        {"slow_write_ms", s.store.slow_write_ms},
        {"journal", WordOf(kSqliteJournals, s.store.journal)},
        {"busy_timeout_ms", s.store.busy_timeout_ms}}},
      {"guard",
       {{"kind", WordOf(kGuardKinds, s.guard.kind)},
        {"scope", WordOf(kScopes, s.guard.scope)},
        {"timeout_ms", s.guard.timeout_ms},
        {"permits", s.guard.permits},
        {"order", WordOf(kGuardOrders, s.guard.order)},
        {"acquire", WordOf(kGuardAcquires, s.guard.acquire)},
        {"backoff_ms", range(s.guard.backoff_ms)}}},
      {"buyers",
       {{"count", s.buyers.count},
        {"attempts", s.buyers.attempts},
        {"method", WordOf(kMethods, s.buyers.method)},
        {"think_ms", range(s.buyers.think_ms)},
        {"query_delay_ms", range(s.buyers.query_delay_ms)},
        {"seed", s.buyers.seed},
        {"pool", s.buyers.pool},
        {"mode", WordOf(kBuyerModes, s.buyers.mode)}}},
      {"faults",
       {{"kill_holder", s.faults.kill_holder},
        {"pause_holder", s.faults.pause_holder},
        {"pause_holder_ms", s.faults.pause_holder_ms},
        {"crash_before_write", s.faults.crash_before_write}}},
      {"expect", ExpectJson(s.expect)},
      {"run", {{"trials", s.trials}, {"timeout_ms", s.run_timeout_ms}}},
  };
}

}  // namespace

namespace {

// A program run's own facts: what ran, and how each copy ended.
nlohmann::json ProgramJson(const RunResult& run) {
  const ProgramReport& program = *run.program;
  nlohmann::json lanes = nlohmann::json::array();
  for (const ProgramLane& lane : program.lanes) {
    lanes.push_back(
        {{"exit_code", lane.exit_code},
         {"signal", lane.signal == 0 ? nlohmann::json(nullptr)
                                     : nlohmann::json(SignalName(lane.signal))},
         {"crash", lane.crash},
         {"stderr_tail", lane.stderr_tail},
         {"event_lines", lane.event_lines},
         {"sold_lines", lane.sold_lines},
         {"indeterminate_runs", lane.indeterminate},
         {"late_start", lane.late_start},
         {"own_processes", lane.own_processes},
         {"most_at_once", lane.most_at_once}});
  }
  nlohmann::json failed = nlohmann::json::array();
  for (const ProgramProcessEnd& p : program.failed_processes) {
    failed.push_back({{"pid", p.pid},
                      {"buyer", p.lane < 0 ? nlohmann::json(nullptr)
                                           : nlohmann::json(p.lane)},
                      {"crash", p.crash}});
  }
  return {{"argv", program.argv},
          {"from_folder", program.from_folder},
          {"as_written", program.as_written},
          {"mode", WordOf(kProgramModes, run.scenario.program.mode)},
          {"sold_pattern", run.scenario.program.sold_pattern},
          {"processes", program.processes},
          {"start_up_ms", program.start_up_ms},
          {"locks", program.lock_names},
          {"lanes", lanes},
          {"failed_processes", failed},
          {"fence", program.fence},
          {"followed_all", program.followed_all},
          {"lost_track", program.lost_track},
          {"hint", ProgramHint(run)}};
}

// Each buyer's books, and how its process ended.
nlohmann::json BuyersJson(const RunResult& run, const Verdict& verdict) {
  nlohmann::json buyers = nlohmann::json::array();
  for (size_t i = 0; i < verdict.buyers.size(); ++i) {
    const BuyerSummary& b = verdict.buyers[i];
    const int32_t served_by = run.served_by[i];
    const BuyerProcess process =
        served_by >= 0 ? run.processes[served_by] : BuyerProcess{};
    // Its lane: a process of its own, or a thread (of the pid's process).
    const bool thread = run.scenario.buyers.mode == BuyerMode::kThread;
    buyers.push_back({
        {"buyer", b.buyer},
        {"lane", thread ? "thread" : "process"},
        {"worker", served_by},
        {"pid", b.pid},
        {"bought", b.bought},
        {"sold_out", b.sold_out},
        {"failed", b.failed},
        {"torn_reads", b.torn_reads},
        {"recovered", b.recovered},
        {"seats", b.seats},
        {"max_wait_us", b.max_wait_us},
        {"exit_code", process.exit_code},
        {"killed_by_signal", process.signal},
        {"paused", b.paused},
        {"backoffs", b.backoffs},
    });
  }
  return buyers;
}

// Each event's books.
nlohmann::json EventsJson(const Verdict& verdict) {
  nlohmann::json events = nlohmann::json::array();
  for (const Verdict::EventBooks& e : verdict.events) {
    events.push_back(
        {{"name", e.name},
         {"sold", e.confirmed},
         {"indeterminate", e.indeterminate},
         {"remaining", e.final_count ? nlohmann::json(*e.final_count)
                                     : nlohmann::json(nullptr)}});
  }
  return events;
}

// The locks that killed holders left.
nlohmann::json AbandonedJson(const RunResult& run) {
  nlohmann::json abandoned = nlohmann::json::array();
  for (const AbandonedLock& a : run.abandoned) {
    abandoned.push_back({{"buyer", a.buyer},
                         {"pid", a.pid},
                         {"signal", a.signal},
                         {"event", EventName(run.scenario, a.event)},
                         {"time_ns", a.time_ns}});
  }
  return abandoned;
}

// The deadlock's cycle, a link per buyer.
nlohmann::json DeadlockJson(const RunResult& run) {
  nlohmann::json deadlock = nlohmann::json::array();
  for (const DeadlockLink& link : run.deadlock) {
    deadlock.push_back(
        {{"buyer", link.buyer},
         {"pid", link.pid},
         {"holds", EventName(run.scenario, link.holds)},
         {"waits_for", EventName(run.scenario, link.waits_for)}});
  }
  return deadlock;
}

// Violations or findings, a kind each, with its witnesses.
nlohmann::json KindsJson(const std::vector<Violation>& list) {
  nlohmann::json out = nlohmann::json::array();
  for (const Violation& v : list) {
    nlohmann::json witnesses = nlohmann::json::array();
    for (const Witness& w : v.witnesses) {
      witnesses.push_back(WitnessJson(v, w));
    }
    out.push_back({{"kind", ViolationName(v.kind)},
                   {"count", v.count},
                   {"summary", v.summary},
                   {"witnesses", std::move(witnesses)},
                   {"more", v.unwitnessed}});
  }
  return out;
}

// The schedule the run followed.
nlohmann::json ScheduleJson(const RunResult& run) {
  nlohmann::json schedule = {
      {"kind", WordOf(kScheduleKinds, run.schedule.kind)},
      {"steps", run.schedule.Buyers()}};
  if (run.schedule.kind == ScheduleKind::kPct) {
    schedule["pct"] = {{"depth", run.schedule.pct_depth},
                       {"steps_estimate", run.schedule.pct_steps},
                       {"bound", run.schedule.pct_bound}};
  }
  return schedule;
}

// How the run went: its time, rates, processes, and how it ended.
nlohmann::json RunJson(const RunResult& run, const Verdict& verdict) {
  return {{"seconds", run.seconds},
          {"purchases_per_second",
           PerSecond(static_cast<double>(verdict.attempts), run.seconds)},
          {"attempts_per_second",
           PerSecond(static_cast<double>(verdict.attempts), run.seconds)},
          {"sales_per_second",
           PerSecond(static_cast<double>(verdict.confirmed), run.seconds)},
          {"buyer_processes", run.processes.size()},
          {"killed_buyers", verdict.killed_buyers},
          {"timed_out", run.timed_out},
          {"interrupted", run.interrupted},
          {"abandoned_locks", AbandonedJson(run)},
          {"deadlock", DeadlockJson(run)}};
}

// What only some runs have: the hosts' clocks and the partition, the
// throwaway server's start.
void AddRunExtras(const RunResult& run, nlohmann::json* out) {
  nlohmann::json& report = *out;
  if (!run.hosts.empty()) {
    nlohmann::json hosts = nlohmann::json::array();
    for (const HostRecord& host : run.hosts) {
      hosts.push_back({{"name", host.name},
                       {"buyers", host.buyers},
                       {"clock_offset_ms", host.offset_ns / 1e6},
                       {"clock_uncertainty_ms", host.uncertainty_ns / 1e6},
                       {"round_trips", host.round_trips}});
    }
    report["hosts"] = hosts;
    if (run.partition) {
      report["partition"] = {{"host", run.partition->host},
                             {"device", run.partition->device},
                             {"cut_ms", run.partition->cut_ns / 1e6},
                             {"restored_ms", run.partition->restored_ns / 1e6}};
    }
  }
  if (run.box_office) {
    report["box_office"] = {{"url", run.box_office->url},
                            {"workers", run.box_office->workers},
                            {"connections", run.served_by.size()},
                            {"refused", run.box_office->refused}};
  }
  if (run.server_start_up_ms) {
    // null: an earlier run of the same command started it.
    report["server"] = {
        {"throwaway", true},
        {"start_up_ms", *run.server_start_up_ms < 0
                            ? nlohmann::json(nullptr)
                            : nlohmann::json(*run.server_start_up_ms)}};
  }
}

// The attempts and how they ended.
nlohmann::json PurchasesJson(const Verdict& verdict) {
  return {{"attempts", verdict.attempts},
          {"confirmed", verdict.confirmed},
          {"indeterminate", verdict.indeterminate},
          {"sold_out", verdict.sold_out},
          {"failed", verdict.failed},
          {"torn_reads", verdict.torn_reads},
          {"recovered", verdict.recovered},
          {"backoffs", verdict.backoffs},
          {"retries", verdict.retries},
          {"serialization_failures", verdict.serialization_failures}};
}

// Each trial's report (or, for a trial that did not run, its seed and
// why), with whether it met the expectation.
nlohmann::json TrialsJson(const ScenarioResult& r) {
  nlohmann::json runs = nlohmann::json::array();
  for (const TrialResult& t : r.trials) {
    nlohmann::json run = t.report;
    if (!t.ran) run = {{"seed", t.seed}, {"run_error", t.run_error}};
    run["expectation_met"] = t.miss.empty() && !t.failed();
    run["expectation_miss"] = t.miss;
    runs.push_back(std::move(run));
  }
  return runs;
}

// A scenario of a suite: what it is and expected, and how its trials went.
nlohmann::json SuiteScenarioJson(const ScenarioResult& r) {
  const Scenario& s = r.loaded.scenario;
  const int64_t trials = static_cast<int64_t>(r.trials.size());
  const Interval interval = WilsonInterval(r.with_violations(), trials);
  // Every kind any trial showed, with the trials that showed it.
  nlohmann::json kinds = nlohmann::json::object();
  for (const auto& [kind, in_trials] : r.kinds_in_trials()) {
    kinds[std::string(ViolationName(kind))] = in_trials;
  }
  return {
      {"file", r.loaded.path},
      {"name", s.name},
      {"description", s.description},
      {"seed", s.buyers.seed},
      {"expect", ExpectJson(s.expect)},
      {"trials", trials},
      {"guard", WordOf(kGuardKinds, s.guard.kind)},
      {"trials_with_violations", r.with_violations()},
      {"kinds", kinds},
      {"violation_rate_95", {{"low", interval.low}, {"high", interval.high}}},
      {"passed", r.passed()},
      {"unchecked", r.unchecked()},
      {"problem", r.FirstProblem()},
      {"runs", TrialsJson(r)},
  };
}

}  // namespace

nlohmann::json JsonReport(const RunResult& run, const Verdict& verdict) {
  nlohmann::json report = {
      {"version", kJsonReportVersion},
      {"scenario", ScenarioJson(run.scenario)},
      {"seed", run.scenario.buyers.seed},
      {"schedule", ScheduleJson(run)},
      {"ok", verdict.ok()},
      {"unchecked", verdict.ok() && ProgramSalesUnknown(run)},
      {"complete", !run.timed_out && !run.interrupted},
      {"tickets",
       {{"initial", verdict.initial},
        {"sold", verdict.confirmed},
        {"remaining", verdict.final_count ? nlohmann::json(*verdict.final_count)
                                          : nlohmann::json(nullptr)},
        {"remaining_error", run.final_error}}},
      {"events", EventsJson(verdict)},
      {"purchases", PurchasesJson(verdict)},
      {"faults",
       {{"killed", verdict.fault_kills},
        {"crashed", verdict.fault_crashes},
        {"paused", verdict.paused}}},
      {"violations", KindsJson(verdict.violations)},
      {"findings", KindsJson(verdict.findings)},
      {"hint", TornReadHint(run.scenario, verdict)},
      {"buyers", BuyersJson(run, verdict)},
      {"run", RunJson(run, verdict)},
  };
  if (run.program != nullptr) report["program"] = ProgramJson(run);
  AddRunExtras(run, &report);
  return report;
}

nlohmann::json SuiteJsonReport(std::span<const ScenarioResult> results,
                               int exit_code) {
  nlohmann::json scenarios = nlohmann::json::array();
  bool passed = true;
  for (const ScenarioResult& r : results) {
    scenarios.push_back(SuiteScenarioJson(r));
    passed = passed && r.passed();
  }
  return {{"version", kJsonReportVersion},
          {"ticketsim_version", kToolVersion},
          {"passed", passed},
          {"exit_code", exit_code},
          {"scenarios", scenarios}};
}

}  // namespace ticketsim
