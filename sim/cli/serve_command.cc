#include "sim/cli/serve_command.h"

#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "base/color.h"
#include "base/escape.h"
#include "base/exit_status.h"
#include "base/json_text.h"
#include "base/run_signals.h"
#include "sim/cli/outputs.h"
#include "sim/cli/result_status.h"
#include "sim/cli/scenario_files.h"
#include "sim/cli/scenario_loading.h"
#include "sim/cli/scenario_options.h"
#include "sim/cli/text_stream.h"
#include "sim/report/report_json.h"
#include "sim/report/report_text.h"
#include "sim/result/run_check.h"
#include "sim/run/trials.h"
#include "sim/server/box_office.h"
#include "sim/server/http_server.h"
#include "sim/timeline/report_html.h"

namespace ticketsim {
namespace {

class ServeOptions : public CommandOptions {
 public:
  explicit ServeOptions(CLI::App* command) {
    command->add_option("scenario", scenario_.paths,
                        "a scenario file: its store, guard, method and think "
                        "time are the box office's (none: the flags make one)");
    scenario_.AddTo(command);
    listen_option_ = command->add_option(
        "--listen", listen_,
        "ADDR: where to listen, HOST:PORT (port 0: any free "
        "one) or unix:PATH (server.listen; default "
        "127.0.0.1:0)");
    command->add_option("--json", outputs_.json,
                        "FILE: write the JSON report there (- for stdout)");
    command->add_option("--html", outputs_.html,
                        "FILE: write the timeline page there (- for stdout)");
    AddColorTo(command, &outputs_.color);
  }

  int Prepare(const ParsedLine& line, PreparedCommand* command) override {
    if (scenario_.paths.size() > 1) {
      return line.Usage(
          "serve takes one scenario (or none: the flags make one)");
    }
    const std::vector<std::string> files =
        ScenarioFiles(scenario_, &command->problems);
    if (command->problems.empty() && files.size() != 1) {
      return line.Usage(fmt::format("serve takes one scenario; {} holds {}",
                                    scenario_.paths[0], files.size()));
    }
    // The handlers are threads of the box office: the scenario is checked
    // as one whose buyers are threads.
    std::vector<Override> overrides = scenario_.Overrides();
    overrides.insert(overrides.begin(), {"buyers.mode=\"thread\"", "serve"});
    if (listen_option_->count() > 0) {
      overrides.push_back({"server.listen=" + nlohmann::json(listen_).dump(),
                           "--listen " + listen_});
    }
    if (command->problems.empty()) {
      LoadAll(files, overrides, &command->scenarios, &command->problems);
    }
    line.SayProblems(command->problems);
    if (!command->problems.empty()) return kExitUsage;
    // A box office opens once, whatever run.trials says.
    command->scenarios[0].scenario.trials = 1;
    if (Status s = Servable(command->scenarios[0].scenario); !s.ok()) {
      return line.Usage(s.message());
    }
    if (Status s = ParseColor(outputs_.color, &command->color); !s.ok()) {
      return line.Usage(s.message());
    }
    if (Status s = OpenOutputs(outputs_, *line.app.get_subcommand("serve"),
                               files, command);
        !s.ok()) {
      return line.Usage(s.message());
    }
    return kReady;
  }

 private:
  // What a box office cannot do (yet, or ever).
  static Status Servable(const Scenario& s) {
    const auto refuse = [](std::string_view key, std::string_view why) {
      return Status::Invalid(fmt::format("serve: {}: {}", key, why));
    };
    if (!s.events.empty()) {
      return refuse("tickets.events", "a box office sells one event");
    }
    if (s.store.kind == StoreKind::kPostgres) {
      return refuse("store.kind",
                    "the box office keeps its count in memory, a file, shared "
                    "memory or SQLite; PostgreSQL is not served yet");
    }
    if (s.history == HistoryMode::kSummary) {
      return refuse("history",
                    "the box office keeps every event: its witnesses name "
                    "connections");
    }
    if (s.schedule.kind != ScheduleKind::kOs) {
      return refuse("run.schedule",
                    "the clients decide when requests come: only \"os\"");
    }
    if (s.faults.any()) {
      return refuse("faults",
                    "faults strike buyer processes, and the box office's "
                    "handlers are threads of ticketsim itself");
    }
    return Status::Ok();
  }

  ScenarioOptions scenario_;
  std::string listen_;
  CLI::Option* listen_option_ = nullptr;
  OutputPaths outputs_;
};

// Loopback and Unix sockets are this machine's: anywhere else, a token.
bool OnlyThisMachine(const std::string& listen) {
  return listen.rfind("unix:", 0) == 0 || listen.rfind("127.", 0) == 0 ||
         listen.rfind("[::1]:", 0) == 0 || listen.rfind("::1:", 0) == 0 ||
         listen.rfind("localhost:", 0) == 0;
}

std::string NewToken() {
  std::random_device device;
  return fmt::format("{:08x}{:08x}", device(), device());
}

void SayOpen(std::FILE* out, const std::string& url, const std::string& token,
             const Scenario& scenario) {
  const bool unix_socket = url.rfind("unix:", 0) == 0;
  const std::string query = token.empty() ? "" : "?token=" + token;
  fmt::print(out, "box office open at {}{}\n", url, query);
  fmt::print(out, "  {}\n", Visible(DescribeBoxOffice(scenario)));
  if (unix_socket) {
    const std::string path = url.substr(5);
    fmt::print(out, "  buy:  curl --unix-socket {} -X POST http://box/buy\n",
               ShellWord(path));
    fmt::print(out, "  look: curl --unix-socket {} http://box/count\n",
               ShellWord(path));
  } else {
    fmt::print(out, "  buy:  curl -X POST '{}buy{}'\n", url, query);
    fmt::print(out, "  look: curl '{}count{}'\n", url, query);
  }
  fmt::print(
      out,
      "Ctrl-C closes it (so does the first buyer told it is sold out), and "
      "every purchase is checked.\n");
  std::fflush(out);
}

// What the box office saw when it closed; false if nobody bought.
bool SayClosed(std::FILE* out, BoxOffice& office, const BoxOfficeServer& server,
               int interrupt) {
  fmt::print(out,
             "\nbox office closed{}: {} buyer{} (connections that bought){}\n",
             interrupt != 0 ? "" : " (sold out)", office.windows(),
             office.windows() == 1 ? "" : "s",
             server.refused() > 0
                 ? fmt::format(", {} more refused (server.max_connections)",
                               server.refused())
                 : "");
  if (office.windows() == 0) {
    int64_t count = 0;
    if (office.Count(&count).ok()) {
      fmt::print(out, "nobody bought: {} ticket{} left\n", count,
                 count == 1 ? "" : "s");
    }
    return false;
  }
  return true;
}

// The verdict on what the box office at `url` sold, in every report asked
// for; returns the exit status.
int ReportServedRun(PreparedCommand* command, const RunResult& run,
                    const std::string& url) {
  const LoadedScenario& loaded = command->scenarios[0];
  const Scenario& scenario = loaded.scenario;
  std::FILE* const out = command->text;
  const Verdict verdict = CheckRun(run);
  fmt::print(out, "\n");
  WriteTextReport(out, run, verdict, ColorWanted(out, command->color));
  std::fflush(out);
  const int status = verdict.ok() ? kExitOk : kExitViolations;
  OutputEnding end(status, &command->stdout_failure_told);
  if (command->html != nullptr) {
    command->html->Write(
        HtmlPage(run.scenario.name,
                 {HtmlRunSection(run, verdict,
                                 fmt::format("{} (the box office at {})",
                                             run.scenario.name, url))}));
    end.Commit(command->html.get());
  }
  if (command->json != nullptr) {
    ScenarioResult result;
    result.loaded = loaded;
    result.loaded.scenario = run.scenario;
    TrialResult& trial = result.trials.emplace_back();
    trial.seed = scenario.buyers.seed;
    BookVerdict(run.scenario, run, verdict, &trial);
    trial.report = JsonReport(run, verdict);
    const ScenarioResult results[] = {result};
    command->json->Write(JsonText(SuiteJsonReport(results, end.status()), 2) +
                         "\n");
    end.Commit(command->json.get());
  }
  return end.status();
}

}  // namespace

std::unique_ptr<CommandOptions> AddServeOptions(CLI::App* command) {
  return std::make_unique<ServeOptions>(command);
}

int ServeCommand(PreparedCommand* command) {
  const LoadedScenario& loaded = command->scenarios[0];
  const Scenario& scenario = loaded.scenario;
  // Blocked before any thread starts, so that every thread has them
  // blocked and only the wait below takes them.
  const RunSignals signals;
  // A second Ctrl-C while it closes is the same request: taken here, not
  // left pending for when the mask is lifted (which would end ticketsim
  // as interrupted, its report cut short).
  struct TakeLateSignals {
    const RunSignals& signals;
    ~TakeLateSignals() {
      std::fflush(stdout);
      while (signals.Wait(0) != 0) {
      }
    }
  } take_late{signals};
  std::unique_ptr<BoxOffice> office;
  if (Status s = BoxOffice::Open(scenario, &office); !s.ok()) {
    ComplainInOneLine("serve: could not open the box office: " + s.message());
    return kExitRunFailed;
  }
  const std::string token =
      OnlyThisMachine(scenario.server.listen) ? "" : NewToken();
  BoxOfficeServer server(office.get(), scenario.server, token);
  std::string url;
  Status s = server.Listen(&url);
  if (s.ok()) s = server.Start();
  if (!s.ok()) {
    ComplainInOneLine("serve: " + s.message());
    return s.code() == Status::Code::kInvalid ? kExitUsage : kExitRunFailed;
  }
  if (!token.empty()) {
    fmt::print(stderr,
               "ticketsim serve: listening on {}, beyond this machine: "
               "anyone who can reach it and has the token can buy\n",
               Visible(scenario.server.listen));
  }
  std::FILE* const out = command->text;
  SayOpen(out, url, token, scenario);
  int interrupt = 0;
  while (interrupt == 0 && !office->sold_out()) {
    const int sig = signals.Wait(100000000);
    if (sig != 0 && sig != SIGCHLD) interrupt = sig;
  }
  server.Stop();
  if (!SayClosed(out, *office, server, interrupt)) return kExitOk;
  RunResult run;
  if (s = office->Finish(&run); !s.ok()) {
    ComplainInOneLine("serve: " + s.message());
    return kExitRunFailed;
  }
  run.box_office = BoxOfficeRecord{
      url,
      scenario.server.workers == ServerWorkers::kPool
          ? fmt::format("a pool of {} threads", scenario.server.threads)
          : "a thread per connection",
      server.refused()};
  return ReportServedRun(command, run, url);
}

}  // namespace ticketsim
