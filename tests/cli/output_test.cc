// The outputs of ticketsim (the text report, --json, --html, --junit,
// --history) under what can go wrong with them: paths that cannot be
// written, two outputs on one file, stdout closed, full or gone, a disk that
// fills mid-write, a FIFO, an interrupted compare, an invalid scenario, a
// run cut short by its time limit. Each test runs the real binary, through
// sh where a redirection says it best.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace ticketsim {
namespace {

using testing::TempDir;

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

struct Shell {
  int code = -1;  // 128 + signal if killed
  std::string out;
  std::string err;
};

int StatusCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs `script` with sh in `dir`, $T the ticketsim binary; the script's
// stdout and stderr apart.
Shell Sh(const std::string& dir, const std::string& script) {
  TempDir streams;
  const std::string out = streams.path() + "/out";
  const std::string err = streams.path() + "/err";
  const pid_t pid = fork();
  if (pid == 0) {
    const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (o < 0 || e < 0 || chdir(dir.c_str()) != 0) _exit(126);
    dup2(o, STDOUT_FILENO);
    dup2(e, STDERR_FILENO);
    setenv("T", TICKETSIM_BINARY, 1);
    execl("/bin/sh", "sh", "-c", script.c_str(), nullptr);
    _exit(127);
  }
  Shell shell;
  int status = 0;
  if (pid > 0 && waitpid(pid, &status, 0) == pid) {
    shell.code = StatusCode(status);
  }
  shell.out = Read(out);
  shell.err = Read(err);
  return shell;
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A small run that cannot race: two buyers, one ticket, a file lock, and
// the file written by rename (a truncated file can be read torn, lock or
// not, by the query the lock does not cover).
constexpr const char* kRun =
    "\"$T\" run --buyers 2 --guard file-lock --write replace";

// Given --history /dev/full, every write fails: the run says so, naming the
// file, and exits 3 rather than 0.
TEST(OutputTest, HistoryToDevFullExits3NamingIt) {
  TempDir dir;
  const Shell sh = Sh(dir.path(), std::string(kRun) + " --history /dev/full");
  EXPECT_EQ(sh.code, 3) << sh.err;
  EXPECT_TRUE(Has(sh.err, "--history /dev/full")) << sh.err;
  EXPECT_TRUE(Has(sh.err, "No space left on device")) << sh.err;
}

// A disk that fills while the history is written (a 64 KiB tmpfs of its
// own): exit 3 naming the file, no partial file, and a file that was there
// before is left as it was.
TEST(OutputTest, ADiskThatFillsMidWriteLeavesNothingPartial) {
  TempDir dir;
  const std::string disk = dir.path() + "/disk";
  ASSERT_EQ(mkdir(disk.c_str(), 0755), 0);
  const Shell sh =
      Sh(dir.path(),
         "unshare -m sh -c 'mount -t tmpfs -o size=64k none disk || exit 99; "
         "echo old > disk/old.jsonl; "
         "\"$T\" run --buyers 20 --attempts 50 --tickets 1000 --think-ms 0 "
         "--history disk/new.jsonl; echo $? > new.rc; "
         "\"$T\" run --buyers 20 --attempts 50 --tickets 1000 --think-ms 0 "
         "--history disk/old.jsonl; echo $? > old.rc; "
         "ls -A disk > left; cat disk/old.jsonl > old.after'");
  ASSERT_EQ(sh.code, 0) << sh.err;
  EXPECT_EQ(Read(dir.path() + "/new.rc"), "3\n") << sh.err;
  EXPECT_EQ(Read(dir.path() + "/old.rc"), "3\n") << sh.err;
  EXPECT_TRUE(Has(sh.err, "--history disk/new.jsonl")) << sh.err;
  EXPECT_TRUE(Has(sh.err, "--history disk/old.jsonl")) << sh.err;
  EXPECT_TRUE(Has(sh.err, "No space left on device")) << sh.err;
  // Neither a cut-off new file nor a temporary one is left.
  EXPECT_EQ(Read(dir.path() + "/left"), "old.jsonl\n");
  EXPECT_EQ(Read(dir.path() + "/old.after"), "old\n");
}

// Two outputs on one file, or an output over the scenario it runs, are
// refused before anything runs: exit 2, and the files are untouched.
TEST(OutputTest, TwoOutputsOnOneFileAreRefused) {
  TempDir dir;
  const std::string scenario = dir.Write("s.toml", "[buyers]\ncount = 2\n");
  dir.Write("existing.json", "keep\n");
  ASSERT_EQ(symlink("existing.json", (dir.path() + "/link.json").c_str()), 0);
  ASSERT_EQ(link((dir.path() + "/existing.json").c_str(),
                 (dir.path() + "/hard.json").c_str()),
            0);
  // A link to a file not made yet: writing it would make its target.
  ASSERT_EQ(symlink("x.json", (dir.path() + "/dangling.json").c_str()), 0);
  for (const std::string& args :
       {std::string("--json x.json --history x.json"),
        std::string("--json x.json --html ./sub/../x.json"),
        std::string("--json - --html -"), std::string("--history - --junit -"),
        std::string("--json existing.json --junit link.json"),
        std::string("--json existing.json --html hard.json"),
        std::string("--json x.json --html dangling.json"),
        std::string("--json /dev/stdout --history -"),
        std::string("s.toml --json s.toml"),
        std::string("s.toml --history ./s.toml")}) {
    SCOPED_TRACE(args);
    ASSERT_EQ(mkdir((dir.path() + "/sub").c_str(), 0755), 0);
    const Shell sh = Sh(dir.path(), std::string(kRun) + " " + args);
    EXPECT_EQ(sh.code, 2) << sh.err;
    EXPECT_TRUE(Has(sh.err, "ticketsim: --")) << sh.err;
    EXPECT_FALSE(Has(sh.out + sh.err, "verdict")) << "it ran:\n" << sh.out;
    EXPECT_FALSE(Exists(dir.path() + "/x.json"));
    ASSERT_EQ(rmdir((dir.path() + "/sub").c_str()), 0);
  }
  EXPECT_EQ(Read(dir.path() + "/existing.json"), "keep\n");
  EXPECT_EQ(Read(scenario), "[buyers]\ncount = 2\n");
  EXPECT_EQ(dir.Entries().size(), 5u);  // nothing new, no temporary
}

// An existing file is replaced whole and keeps its mode; through a symbolic
// link its target is written and the link stays.
TEST(OutputTest, AnExistingOutputIsReplacedWholeThroughItsLink) {
  TempDir dir;
  const std::string real = dir.Write("real.json", std::string(100000, 'x'));
  ASSERT_EQ(chmod(real.c_str(), 0640), 0);
  ASSERT_EQ(symlink("real.json", (dir.path() + "/link.json").c_str()), 0);
  const Shell sh = Sh(dir.path(), std::string(kRun) + " --json link.json");
  EXPECT_EQ(sh.code, 0) << sh.err;
  struct stat st;
  ASSERT_EQ(lstat((dir.path() + "/link.json").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(stat(real.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  const nlohmann::json report =
      nlohmann::json::parse(Read(real), nullptr, false);
  ASSERT_FALSE(report.is_discarded());
  EXPECT_EQ(report["exit_code"], 0);
  EXPECT_EQ(dir.Entries().size(), 2u);

  // A link to a file not made yet: the file is made where it points.
  ASSERT_EQ(symlink("new.json", (dir.path() + "/ahead.json").c_str()), 0);
  EXPECT_EQ(Sh(dir.path(), std::string(kRun) + " --json ahead.json").code, 0);
  ASSERT_EQ(lstat((dir.path() + "/ahead.json").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_FALSE(
      nlohmann::json::parse(Read(dir.path() + "/new.json"), nullptr, false)
          .is_discarded());
}

// An output that cannot be written is found before the run: exit 2, the
// flag, the path and the system's reason, and nothing ran.
TEST(OutputTest, AnUnwritableOutputIsRefusedBeforeTheRun) {
  TempDir dir;
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
  ASSERT_EQ(mkdir((dir.path() + "/folder").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((dir.path() + "/locked").c_str(), 0555), 0);
  // A shared directory (as /tmp is) holding a writable report of root's:
  // another user could write it but never rename over it.
  ASSERT_EQ(mkdir((dir.path() + "/shared").c_str(), 0755), 0);
  ASSERT_EQ(chmod((dir.path() + "/shared").c_str(), 01777), 0);
  const std::string theirs = dir.Write("shared/theirs.json", "keep\n");
  ASSERT_EQ(chmod(theirs.c_str(), 0666), 0);
  dir.Write("file", "");
  struct Case {
    std::string args;
    std::string reason;
    std::string as;  // run by this user ("" is us)
  };
  for (const Case& c : {
           Case{"--json missing/dir/x.json", "No such file or directory", ""},
           Case{"--html folder", "a directory", ""},
           Case{"--junit folder/", "a directory", ""},
           Case{"--history file/x.jsonl", "Not a directory", ""},
           Case{"--json locked/x.json", "Permission denied",
                "setpriv --reuid=65534 --regid=65534 --clear-groups "},
           Case{"--json shared/theirs.json", "sticky bit",
                "setpriv --reuid=65534 --regid=65534 --clear-groups "},
       }) {
    SCOPED_TRACE(c.args);
    const Shell sh = Sh(dir.path(), c.as + "\"$T\" run --buyers 2 " + c.args);
    EXPECT_EQ(sh.code, 2) << sh.err;
    const std::string flag_and_path = c.args;
    EXPECT_TRUE(Has(sh.err, "ticketsim: " + flag_and_path + ": ")) << sh.err;
    EXPECT_TRUE(Has(sh.err, c.reason)) << sh.err;
    EXPECT_EQ(sh.out, "") << "it ran";
  }
  EXPECT_EQ(dir.Entries().size(), 4u);  // no file made, no temporary left
  EXPECT_EQ(Read(theirs), "keep\n");
}

// A FIFO (or a socket) as an output is refused at once, naming the flag:
// opening a FIFO for writing would wait for a reader for ever. Character
// devices are written as they are.
TEST(OutputTest, AFifoOutputIsRefusedAndDevicesAreWritten) {
  TempDir dir;
  ASSERT_EQ(mkfifo((dir.path() + "/fifo").c_str(), 0600), 0);
  for (const char* flag : {"--json", "--html", "--junit", "--history"}) {
    SCOPED_TRACE(flag);
    // `timeout` only keeps a hang from hanging the test suite.
    const Shell sh = Sh(
        dir.path(), std::string("timeout 60 ") + kRun + " " + flag + " fifo");
    EXPECT_EQ(sh.code, 2) << sh.err;
    EXPECT_TRUE(Has(sh.err, std::string(flag) + " fifo: a FIFO")) << sh.err;
  }
  const Shell null = Sh(dir.path(), std::string(kRun) +
                                        " --json /dev/null --history "
                                        "/dev/null --junit /dev/null");
  EXPECT_EQ(null.code, 0) << null.err;
  EXPECT_TRUE(Has(null.out, "verdict")) << null.out;
  EXPECT_EQ(dir.Entries(), std::vector<std::string>{"fifo"});
}

// `-` is stdout for every output; the text report then goes to stderr.
TEST(OutputTest, DashIsStdoutForEveryOutputAndTheTextGoesToStderr) {
  TempDir dir;
  const Shell history = Sh(dir.path(), std::string(kRun) + " --history -");
  EXPECT_EQ(history.code, 0) << history.err;
  std::istringstream lines(history.out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    SCOPED_TRACE(line);
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded());
    EXPECT_TRUE(j.contains("type"));
    ++n;
  }
  EXPECT_GT(n, 2);
  EXPECT_TRUE(Has(history.err, "verdict")) << history.err;
  EXPECT_FALSE(Exists(dir.path() + "/-"));

  const Shell junit = Sh(dir.path(), std::string(kRun) + " --junit -");
  EXPECT_EQ(junit.code, 0) << junit.err;
  EXPECT_TRUE(junit.out.starts_with("<?xml")) << junit.out;
  EXPECT_TRUE(Has(junit.out, "</testsuites>\n"));
  EXPECT_FALSE(Has(junit.out, "verdict"));
  EXPECT_TRUE(Has(junit.err, "verdict"));

  const Shell html = Sh(dir.path(), std::string(kRun) + " --html -");
  EXPECT_EQ(html.code, 0) << html.err;
  EXPECT_TRUE(Has(html.out, "<html")) << html.out.substr(0, 200);
  EXPECT_TRUE(Has(html.err, "verdict"));

  // A path that is stdout counts as `-`.
  const Shell json = Sh(dir.path(), std::string(kRun) + " --json /dev/stdout");
  EXPECT_EQ(json.code, 0) << json.err;
  EXPECT_FALSE(nlohmann::json::parse(json.out, nullptr, false).is_discarded())
      << json.out;
  EXPECT_TRUE(Has(json.err, "verdict"));
  EXPECT_TRUE(dir.Entries().empty());
}

// A full or closed stdout is reported on stderr and exits 3, never aborts
// and never exits 0.
TEST(OutputTest, AFullOrClosedStdoutExits3) {
  TempDir dir;
  for (const std::string& script :
       {std::string("\"$T\" list > /dev/full"), std::string("\"$T\" list >&-"),
        std::string("\"$T\" check " TICKETSIM_SOURCE_DIR
                    "/scenarios > /dev/full"),
        std::string(kRun) + " > /dev/full", std::string(kRun) + " --json - >&-",
        std::string(kRun) + " --history - >&-"}) {
    SCOPED_TRACE(script);
    const Shell sh = Sh(dir.path(), script);
    EXPECT_EQ(sh.code, 3) << sh.err;
    EXPECT_TRUE(Has(sh.err, "ticketsim: ")) << sh.err;
    EXPECT_TRUE(Has(sh.err, "No space left on device") ||
                Has(sh.err, "Bad file descriptor"))
        << sh.err;
  }
  // With stdout closed no file lands on descriptor 1 by accident: the JSON
  // file gets the JSON, and the text report still fails.
  const Shell closed = Sh(dir.path(), std::string(kRun) + " --json r.json >&-");
  EXPECT_EQ(closed.code, 3) << closed.err;
  const nlohmann::json report =
      nlohmann::json::parse(Read(dir.path() + "/r.json"), nullptr, false);
  ASSERT_FALSE(report.is_discarded());
  EXPECT_EQ(report["exit_code"], 3);
}

// Runs ticketsim with `args` in `dir`, its stdout a pipe whose reader is
// gone (as after `| head -1` has read its line): every write to it fails.
Shell RunIntoBrokenPipe(const std::string& dir,
                        const std::vector<std::string>& args) {
  TempDir streams;
  const std::string err = streams.path() + "/err";
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return {};
  close(pipe_fds[0]);
  const pid_t pid = fork();
  if (pid == 0) {
    const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(e, STDERR_FILENO);
    if (chdir(dir.c_str()) != 0) _exit(126);
    std::vector<char*> argv = {const_cast<char*>("ticketsim")};
    for (const std::string& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(TICKETSIM_BINARY, argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  Shell shell;
  int status = 0;
  if (pid > 0 && waitpid(pid, &status, 0) == pid) {
    shell.code = StatusCode(status);
  }
  shell.err = Read(err);
  return shell;
}

// stdout's reader gone: the text stops there, quietly (its reader has read
// what it wanted), the files asked for are still written, and the exit
// status is the command's own: 0 for list and check, the verdict for run.
// Never 3, never a SIGPIPE.
TEST(OutputTest, ABrokenPipeStopsTheTextQuietlyAndLosesNoFile) {
  TempDir dir;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"list"},
        std::vector<std::string>{"check", TICKETSIM_SOURCE_DIR "/scenarios"},
        std::vector<std::string>{"run", "--help"}}) {
    SCOPED_TRACE(args[0]);
    const Shell sh = RunIntoBrokenPipe(dir.path(), args);
    EXPECT_EQ(sh.code, 0) << sh.err;
    EXPECT_EQ(sh.err, "");
  }
  // The rush from flags has no [expect]: its forced violations are exit 1.
  const Shell run = RunIntoBrokenPipe(
      dir.path(),
      {"run", "--buyers", "2", "--steps", testing::EveryBuyerReadsFirst(2),
       "--trials", "2", "--junit", "r.xml", "--json", "r.json", "--html",
       "r.html", "--history", "r.jsonl"});
  EXPECT_EQ(run.code, 1) << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_TRUE(Read(dir.path() + "/r.xml").ends_with("</testsuites>\n"));
  EXPECT_TRUE(Read(dir.path() + "/r.html").ends_with("</html>\n"));
  const nlohmann::json report =
      nlohmann::json::parse(Read(dir.path() + "/r.json"), nullptr, false);
  ASSERT_FALSE(report.is_discarded());
  EXPECT_EQ(report["exit_code"], 1);
  EXPECT_TRUE(Has(Read(dir.path() + "/r.jsonl"), "\"final\""));

  // A library scenario whose expectation is met is exit 0, piped or not.
  const Shell met =
      RunIntoBrokenPipe(dir.path(), {"run", "01-rush-unguarded", "--steps",
                                     testing::EveryBuyerReadsFirst(10)});
  EXPECT_EQ(met.code, 0) << met.err;
  EXPECT_EQ(met.err, "");

  // The same through a shell pipe into `head -1`, which may or may not
  // have gone when the writes come: the same status either way.
  const Shell sh = Sh(dir.path(),
                      "{ \"$T\" list; echo $? > l.rc; } | head -1; "
                      "{ \"$T\" run --buyers 2 --steps 0,0,1,1 --junit h.xml; "
                      "echo $? > h.rc; } | head -1");
  EXPECT_EQ(sh.code, 0) << sh.err;
  EXPECT_EQ(sh.out, "stores:\nticket rush (command line)\n");
  EXPECT_EQ(sh.err, "");
  EXPECT_EQ(Read(dir.path() + "/l.rc"), "0\n");
  EXPECT_EQ(Read(dir.path() + "/h.rc"), "1\n");
  EXPECT_TRUE(Read(dir.path() + "/h.xml").ends_with("</testsuites>\n"));
}

// --json - into a reader that is gone is data lost, not text: exit 3,
// saying so.
TEST(OutputTest, ABrokenPipeUnderTheJsonIsAFailure) {
  TempDir dir;
  const Shell sh = RunIntoBrokenPipe(
      dir.path(), {"run", "--buyers", "2", "--guard", "file-lock", "--write",
                   "replace", "--json", "-"});
  EXPECT_EQ(sh.code, 3) << sh.err;
  EXPECT_TRUE(Has(sh.err, "Broken pipe")) << sh.err;
}

// compare writes --json and --junit as run does, one scenario (and one
// testcase) per guard, each held to no violation; the kinds are every kind
// any trial showed, in the table as in the JSON.
TEST(OutputTest, CompareWritesJsonAndJunitWithEveryKindSeen) {
  TempDir dir;
  const Shell sh =
      Sh(dir.path(), "\"$T\" compare " TICKETSIM_SOURCE_DIR
                     "/scenarios/06-shm-counter-unguarded.toml --guards "
                     "none,robust-mutex --buyers 4 --attempts 4 --trials 3 "
                     "--schedule seeded --json c.json --junit c.xml");
  EXPECT_EQ(sh.code, 0) << sh.err;
  const nlohmann::json report =
      nlohmann::json::parse(Read(dir.path() + "/c.json"), nullptr, false);
  ASSERT_FALSE(report.is_discarded());
  ASSERT_EQ(report["scenarios"].size(), 2u);
  const nlohmann::json& none = report["scenarios"][0];
  const nlohmann::json& locked = report["scenarios"][1];
  EXPECT_EQ(none["guard"], "none");
  EXPECT_EQ(locked["guard"], "robust-mutex");
  EXPECT_EQ(locked["kinds"], nlohmann::json::object());
  EXPECT_TRUE(locked["passed"]);
  EXPECT_FALSE(none["passed"]);
  ASSERT_FALSE(none["kinds"].empty()) << report.dump();
  // Each kind in the JSON is in the row, with the trials that showed it.
  std::string row;
  std::istringstream lines(sh.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("  none ")) row = line;
  }
  for (const auto& [kind, trials] : none["kinds"].items()) {
    EXPECT_TRUE(Has(row, kind + " in " + std::to_string(trials.get<int>())))
        << row;
  }
  const std::string xml = Read(dir.path() + "/c.xml");
  EXPECT_TRUE(Has(xml, "tests=\"2\" failures=\"1\"")) << xml;
  EXPECT_TRUE(Has(xml, "(guard none)\"")) << xml;
  EXPECT_TRUE(Has(xml, "(guard robust-mutex)\"")) << xml;

  // On stdout, the JSON alone: the table goes to stderr.
  const Shell json = Sh(dir.path(),
                        "\"$T\" compare --guards file-lock "
                        "--buyers 2 --json -");
  EXPECT_EQ(json.code, 0) << json.err;
  EXPECT_FALSE(nlohmann::json::parse(json.out, nullptr, false).is_discarded())
      << json.out;
  EXPECT_TRUE(Has(json.err, "file-lock")) << json.err;
}

// The JSON report says which ticketsim wrote it, beside its format.
TEST(OutputTest, TheJsonReportCarriesTheToolVersion) {
  TempDir dir;
  const Shell sh = Sh(dir.path(), std::string(kRun) + " --json r.json");
  EXPECT_EQ(sh.code, 0) << sh.err;
  const nlohmann::json report =
      nlohmann::json::parse(Read(dir.path() + "/r.json"), nullptr, false);
  ASSERT_FALSE(report.is_discarded());
  EXPECT_EQ(report["ticketsim_version"], TICKETSIM_VERSION);
  EXPECT_EQ(report["version"], 3);
}

// Colour: --color always or never decides; in auto (the default),
// FORCE_COLOR turns it on into a pipe, over NO_COLOR, and NO_COLOR off.
TEST(OutputTest, ColorFollowsTheFlagThenForceColorThenNoColor) {
  TempDir dir;
  const std::string run = std::string(kRun) + " --quiet";
  const auto colored = [&dir](const std::string& script) {
    const Shell sh = Sh(dir.path(), script);
    EXPECT_EQ(sh.code, 0) << script << "\n" << sh.err;
    return Has(sh.out, "\033[");
  };
  EXPECT_FALSE(colored(run));
  EXPECT_TRUE(colored(run + " --color always"));
  EXPECT_TRUE(colored(run + " --color=always"));
  EXPECT_TRUE(colored("FORCE_COLOR=1 " + run));
  EXPECT_TRUE(colored("FORCE_COLOR=1 NO_COLOR=1 " + run));
  EXPECT_FALSE(colored("FORCE_COLOR=1 " + run + " --color never"));
  EXPECT_FALSE(colored("NO_COLOR=1 " + run));
  EXPECT_FALSE(colored("FORCE_COLOR= " + run));
  EXPECT_TRUE(
      colored("\"$T\" compare --guards file-lock --buyers 2 "
              "--color always"));
  const Shell bad = Sh(dir.path(), run + " --color sometimes");
  EXPECT_EQ(bad.code, 2);
  EXPECT_TRUE(Has(bad.err, "--color sometimes: expected auto | always | never"))
      << bad.err;
}

// A later output that fails makes the exit status 3, and the JSON report
// says 3 too.
TEST(OutputTest, TheJsonExitCodeIsTheProcessExitStatus) {
  TempDir dir;
  const Shell sh =
      Sh(dir.path(), std::string(kRun) + " --json r.json --html /dev/full");
  EXPECT_EQ(sh.code, 3) << sh.err;
  EXPECT_TRUE(Has(sh.err, "--html /dev/full")) << sh.err;
  const nlohmann::json report =
      nlohmann::json::parse(Read(dir.path() + "/r.json"), nullptr, false);
  ASSERT_FALSE(report.is_discarded());
  EXPECT_EQ(report["exit_code"], 3);

  // The JSON itself failing leaves no report at all.
  const Shell json = Sh(dir.path(), std::string(kRun) + " --json /dev/full");
  EXPECT_EQ(json.code, 3) << json.err;
  EXPECT_TRUE(Has(json.err, "--json /dev/full")) << json.err;
}

// Ctrl-C in the middle of a compare: exit 130, and the guard's row says it
// was interrupted and after how many trials, with no numbers that would
// pass for a clean run.
TEST(OutputTest, AnInterruptedCompareMarksItsRow) {
  TempDir tmp;  // its runs' directories
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    setenv("TMPDIR", tmp.path().c_str(), 1);
    execl(TICKETSIM_BINARY, "ticketsim", "compare", "--store", "file",
          "--guards", "file-lock,none", "--buyers", "2", "--attempts", "2",
          "--tickets", "100", "--trials", "100000", nullptr);
    _exit(127);
  }
  close(out[1]);
  // Once its trials have begun (a run has made its directory), somewhere
  // among them: in one (nearly always), the row must say so; in the few
  // microseconds between two, ticketsim ends at once and prints no row.
  int status = 0;
  while (tmp.Entries().empty()) {
    ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0) << "it ended";
    usleep(1000);
  }
  usleep(200 * 1000);
  kill(pid, SIGINT);
  std::string table;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) table.append(buf, n);
  close(out[0]);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_EQ(StatusCode(status), 130) << table;
  std::istringstream lines(table);
  std::string line;
  std::string row;
  while (std::getline(lines, line)) {
    if (line.starts_with("  file-lock")) row = line;
    EXPECT_FALSE(line.starts_with("  none")) << "the next guard ran";
  }
  if (row.empty()) return;  // between two trials: nothing claims a result
  EXPECT_TRUE(Has(row, "interrupted by SIGINT after ")) << row;
  EXPECT_TRUE(Has(row, " of 100000 trials")) << row;
  EXPECT_TRUE(row.ends_with(" -")) << row;
}

// An invalid scenario writes a JUnit report with an <error> naming the file,
// line and column, so that CI shows why; nothing runs and the exit is 2.
TEST(OutputTest, AnInvalidScenarioStillWritesTheJunitReport) {
  TempDir dir;
  dir.Write("good.toml", "[buyers]\ncount = 2\n");
  dir.Write("bad.toml", "[buyers]\ncount = 2\nattempts = \"many\"\n");
  const Shell sh = Sh(
      dir.path(), "\"$T\" run good.toml bad.toml missing.toml --junit r.xml");
  EXPECT_EQ(sh.code, 2) << sh.err;
  EXPECT_TRUE(Has(sh.err, "bad.toml:3:")) << sh.err;
  EXPECT_FALSE(Has(sh.out, "verdict")) << "it ran";
  const std::string xml = Read(dir.path() + "/r.xml");
  EXPECT_TRUE(Has(xml, "errors=\"2\" skipped=\"1\"")) << xml;
  EXPECT_TRUE(
      Has(xml, "<error type=\"invalid scenario\" message=\"bad.toml:3:"))
      << xml;
  EXPECT_TRUE(Has(xml, "message=\"missing.toml: no such file")) << xml;
  EXPECT_TRUE(Has(xml, "name=\"bad.toml\"")) << xml;
  EXPECT_TRUE(Has(xml, "<skipped")) << xml;
  EXPECT_TRUE(xml.ends_with("</testsuites>\n"));
}

// Whether `text` is valid UTF-8 with no C1 control and no carriage return
// in it: what a reader of a report, or a terminal showing it, can take.
bool CleanUtf8(const std::string& text) {
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\r') return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    const size_t length = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) {
        return false;
      }
    }
    const auto next = static_cast<unsigned char>(text[i + 1]);
    if (c == 0xc2 && next <= 0x9f) return false;  // U+0080..U+009F
    i += length;
  }
  return true;
}

// A scenario in a folder whose name is not UTF-8, with a description that
// is not either and a name holding a C1 control and a carriage return:
// every report is written (no abort on the JSON), each one valid UTF-8
// with the bad bytes replaced, and none carries a raw control.
TEST(OutputTest, TextThatIsNotUtf8MakesEveryReportWellFormed) {
  TempDir dir;
  dir.Write("s.toml",
            "name = \"csi \\u009b31m and a return \\r\"\n[store]\nkind = "
            "\"shm\"\n[guard]\nkind = \"robust-mutex\"\n[buyers]\ncount = 2\n");
  const std::string bad =
      "d=$(printf 'p\\377'); mkdir \"$d\"; mv s.toml \"$d/\"; ";
  const Shell files = Sh(
      dir.path(),
      bad +
          "\"$T\" run \"$d/s.toml\" --set \"description=x$(printf '\\377')\" "
          "--json r.json --junit r.xml --html r.html --history r.jsonl");
  EXPECT_EQ(files.code, 0) << files.out << files.err;
  for (const char* name : {"r.json", "r.xml", "r.html", "r.jsonl"}) {
    const std::string text = Read(dir.path() + "/" + name);
    EXPECT_FALSE(text.empty()) << name;
    EXPECT_TRUE(CleanUtf8(text)) << name << ":\n" << text;
  }
  const auto json = nlohmann::json::parse(Read(dir.path() + "/r.json"), nullptr,
                                          /*allow_exceptions=*/false);
  ASSERT_FALSE(json.is_discarded());
  EXPECT_EQ(json["exit_code"], 0);
  EXPECT_TRUE(Has(json.dump(), "\ufffd")) << json.dump();
  EXPECT_TRUE(Has(Read(dir.path() + "/r.xml"), "&#xfffd;"));

  const Shell out = Sh(dir.path(), "\"$T\" run p*/s.toml --json -");
  EXPECT_EQ(out.code, 0) << out.err;
  EXPECT_TRUE(CleanUtf8(out.out)) << out.out;
  EXPECT_FALSE(nlohmann::json::parse(out.out, nullptr, false).is_discarded());
}

// A run stopped by its time limit (exit 3) does not claim "no violation":
// every report says the verdict is incomplete.
TEST(OutputTest, ARunThatHitItsTimeLimitHasAnIncompleteVerdict) {
  TempDir dir;
  const Shell sh =
      Sh(dir.path(),
         "\"$T\" run --buyers 2 --think-ms 200,300 --run-timeout-ms 1 "
         "--json r.json --junit r.xml --html r.html");
  EXPECT_EQ(sh.code, 3) << sh.err;
  EXPECT_TRUE(Has(sh.out, "verdict   incomplete (the run hit its time limit)"))
      << sh.out;
  EXPECT_FALSE(Has(sh.out, "verdict   no violation")) << sh.out;
  const nlohmann::json report =
      nlohmann::json::parse(Read(dir.path() + "/r.json"), nullptr, false);
  ASSERT_FALSE(report.is_discarded());
  EXPECT_EQ(report["exit_code"], 3);
  const nlohmann::json& run = report["scenarios"][0]["runs"][0];
  EXPECT_EQ(run["complete"], false);
  EXPECT_EQ(run["run"]["timed_out"], true);
  EXPECT_TRUE(Has(Read(dir.path() + "/r.xml"),
                  "verdict incomplete (the run hit its time limit)"));
  EXPECT_TRUE(Has(Read(dir.path() + "/r.html"), "Verdict incomplete"));

  // A run that finished is complete.
  const Shell ok = Sh(dir.path(), std::string(kRun) + " --json ok.json");
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(
      nlohmann::json::parse(
          Read(dir.path() + "/ok.json"))["scenarios"][0]["runs"][0]["complete"],
      true);
}

}  // namespace
}  // namespace ticketsim
