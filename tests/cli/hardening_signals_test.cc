// What a hostile scenario, path or signal cannot do to ticketsim: reach the
// terminal with control characters, abort it with an exception, hang it on
// a FIFO or a full pipe, or end a run without its cleanup.
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/escape.h"
#include "base/interrupt.h"
#include "base/thread_sanitizer.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::LeftoversOf;
using ::ticketsim::testing::LeftoversOfEndedRuns;
using ::ticketsim::testing::TempDir;

// The longest any wait of these tests lasts before it is called a hang.
constexpr int kCapMs = 60000;

// How ticketsim is started: its arguments, environment, where its output
// goes, and as whom.
struct Launch {
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  int out_fd = -1;         // stdout; -1: a pipe read by Run
  bool stderr_too = true;  // stderr on the same pipe, else /dev/null
  bool as_nobody = false;  // drop to uid and gid 65534 first
  int ignored_signal = 0;  // started with this signal ignored (nohup)
  std::string cwd;         // its working directory, if not ours
};

struct Ended {
  bool exited = false;  // exited by itself (not killed by a signal)
  int code = -1;        // exit status, or 128 + the signal that killed it
  std::string out;
};

pid_t Start(const Launch& launch, int out_fd) {
  const pid_t pid = testing::ForkNoted();
  if (pid != 0) return pid;
  // The test runner's own signal state must not leak into ticketsim's.
  for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (launch.ignored_signal != 0) signal(launch.ignored_signal, SIG_IGN);
  dup2(out_fd, STDOUT_FILENO);
  if (launch.stderr_too) {
    dup2(out_fd, STDERR_FILENO);
  } else {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, STDERR_FILENO);
  }
  if (!launch.cwd.empty() && chdir(launch.cwd.c_str()) != 0) _exit(125);
  unsetenv("TICKETSIM_SCENARIOS");  // each test says where its library is
  for (const auto& [name, value] : launch.env) {
    setenv(name.c_str(), value.c_str(), 1);
  }
  if (launch.as_nobody && (setgroups(0, nullptr) != 0 || setgid(65534) != 0 ||
                           setuid(65534) != 0)) {
    _exit(126);
  }
  std::vector<char*> argv{const_cast<char*>("ticketsim")};
  for (const std::string& a : launch.args) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  execv(TICKETSIM_BINARY, argv.data());
  _exit(127);
}

// Waits up to kCapMs for `pid` to end; false (and kills it) if it did not.
bool WaitEnded(pid_t pid, Ended* ended) {
  int status = 0;
  for (int waited = 0; waited < kCapMs; waited += 5) {
    const pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid) {
      ended->exited = WIFEXITED(status);
      ended->code =
          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return true;
    }
    usleep(5000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return false;
}

// Runs ticketsim to its end, its output (stdout and stderr) read whole.
Ended Launched(const Launch& launch) {
  Ended ended;
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return ended;
  const pid_t pid = Start(launch, out[1]);
  close(out[1]);
  char buf[4096];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) != 0;) {
    if (n > 0) ended.out.append(buf, n);
    if (n < 0 && errno != EINTR) break;
  }
  close(out[0]);
  EXPECT_TRUE(WaitEnded(pid, &ended)) << "still running after its output";
  return ended;
}

Ended RunArgs(std::vector<std::string> args) {
  Launch launch;
  launch.args = std::move(args);
  return Launched(launch);
}

// "" if `text` is valid UTF-8 with no control character but newline and
// tab; otherwise where the first offending byte is and what it is.
std::string RawControl(const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<uint8_t>(text[i]);
    const auto at = [&](const char* what) {
      return std::string(what) + " at byte " + std::to_string(i) + ": ..." +
             Visible(text.substr(i < 40 ? 0 : i - 40, 80)) + "...";
    };
    if (c < 0x20 && c != '\n' && c != '\t') return at("a C0 control");
    if (c == 0x7f) return at("DEL");
    if (c < 0x80) continue;
    size_t length = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (length == 0 || c > 0xf4 || i + length > text.size()) {
      return at("an invalid UTF-8 byte");
    }
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<uint8_t>(text[i + k]) & 0xc0) != 0x80) {
        return at("an invalid UTF-8 sequence");
      }
    }
    if (c == 0xc2 && static_cast<uint8_t>(text[i + 1]) <= 0x9f) {
      return at("a C1 control");
    }
    i += length - 1;
  }
  return "";
}

// Waits until the run of ticketsim `pid`, whose TMPDIR is `tmp`, has made
// its directory and its two named objects (an shm store and a robust
// mutex): from then on its buyers run.
bool RunBegun(pid_t pid, const TempDir& tmp) {
  for (int waited = 0; waited < kCapMs; waited += 5) {
    const std::vector<std::string> made = LeftoversOf(pid);
    const auto has = [&made](std::string_view end) {
      return std::any_of(made.begin(), made.end(), [end](const auto& name) {
        return name.ends_with(end);
      });
    };
    if (has(".store") && has(".guard") && !tmp.Entries().empty()) return true;
    usleep(5000);
  }
  return false;
}

class HardeningSignalsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    const auto left = LeftoversOfEndedRuns();
    EXPECT_TRUE(left.empty()) << "left behind: " << left.front();
  }
};

// --- Control characters -------------------------------------------------

// XML 1.0 allows neither bytes that are not UTF-8 nor U+FFFE, U+FFFF, nor
// C0 controls but tab, newline and return: each is replaced or referenced,
// so that the document stays well formed.
TEST(XmlEscapeTest, KeepsTheDocumentWellFormed) {
  EXPECT_EQ(XmlEscape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
  EXPECT_EQ(XmlEscape("\xff\xef\xbf\xbf\xef\xbf\xbe"),
            "&#xfffd;&#xfffd;&#xfffd;");
  EXPECT_EQ(XmlEscape("\t\n\r\x7f\x01"), "&#9;&#10;&#13;&#127;?");
  EXPECT_EQ(XmlEscape("\xc2\x9b \xc3\xa9"), "&#x9b; \xc3\xa9");
}

TEST(VisibleTest, ShowsEveryControlAndInvalidByteAsAnEscape) {
  EXPECT_EQ(Visible("\x1b]0;owned\x07"), "\\e]0;owned\\x07");
  EXPECT_EQ(Visible("a\x1b[2Jb"), "a\\e[2Jb");
  EXPECT_EQ(Visible("\xc2\x9b"
                    "31m"),
            "\\u009b31m");  // CSI as one C1 character
  EXPECT_EQ(Visible("\x7f\x01\r"), "\\x7f\\x01\\r");
  EXPECT_EQ(Visible("a\u202eb\u2066c"), "a\\u202eb\\u2066c");
  EXPECT_EQ(Visible("\x9b\xff\xc0\xaf"), "\\x9b\\xff\\xc0\\xaf");
  EXPECT_EQ(Visible("\xe2\x82"), "\\xe2\\x82");           // cut short
  EXPECT_EQ(Visible("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(Visible("two\nlines\tand a tab"), "two\\nlines\\tand a tab");
}

TEST(VisibleTest, KeepsValidUtf8AndTheLinesItIsToldTo) {
  EXPECT_EQ(Visible("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xab"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xab");
  EXPECT_EQ(Visible("\xc2\xa0"), "\xc2\xa0");  // U+00A0 is not a control
  EXPECT_EQ(VisibleLines("one\n\ttwo\x1b"), "one\n\ttwo\\e");
}

constexpr const char* kHostileScenario = R"(
name = "\u001b]0;owned\u0007 \u009b31m title"
description = "clears \u001b[2J the screen, rings \u0007 the bell"
[store]
kind = "file"
[guard]
kind = "none"
[buyers]
count = 3
attempts = 2
)";

constexpr const char* kHostileEvents = R"(
name = "events"
events = ["con\u001b[5mcert", "parking"]
[guard]
kind = "named-mutex"
[buyers]
count = 2
attempts = 1
)";

// A scenario whose name, description and event names hold ESC, OSC, CSI
// and BEL: no command prints one of them raw, and each shows as an escape.
TEST_F(HardeningSignalsTest, ControlCharactersInAScenarioReachNoTerminalRaw) {
  TempDir dir;
  const std::string hostile = dir.Write("hostile.toml", kHostileScenario);
  const std::string events = dir.Write("events.toml", kHostileEvents);
  const std::vector<std::vector<std::string>> commands = {
      {"run", hostile, "--narrate"},
      {"run", events, "--narrate"},
      {"run", hostile, events, "--trials", "2"},
      {"run", hostile, "--junit", "-"},
      {"check", hostile, events},
      {"check", dir.path()},
      {"compare", hostile, "--guards", "none,file-lock"},
      {"compare", events, "--guards", "named-mutex,file-lock"},
  };
  for (const auto& args : commands) {
    SCOPED_TRACE(Visible(fmt::format("{}", fmt::join(args, " "))));
    const Ended ended = RunArgs(args);
    EXPECT_TRUE(ended.exited);
    EXPECT_NE(ended.code, 2) << ended.out;
    EXPECT_EQ(RawControl(ended.out), "");
    EXPECT_NE(ended.out.find("\\e"), std::string::npos) << ended.out;
  }
  Launch list;
  list.args = {"list"};
  list.env = {{"TICKETSIM_SCENARIOS", dir.path()}};
  const Ended listed = Launched(list);
  EXPECT_EQ(listed.code, 0) << listed.out;
  EXPECT_EQ(RawControl(listed.out), "");
  EXPECT_NE(listed.out.find("\\e]0;owned\\x07 \\u009b31m title"),
            std::string::npos)
      << listed.out;
  EXPECT_NE(listed.out.find("clears \\e[2J the screen"), std::string::npos)
      << listed.out;
}

// Unknown keys, values, flags and paths echoed in error messages are shown
// escaped, whether they came from the file or the command line.
TEST_F(HardeningSignalsTest, ErrorsEchoWhatTheyBlameEscaped) {
  TempDir dir;
  const std::string unknown_key =
      dir.Write("key.toml", "[buyers]\ncount = 2\n\"\\u001b[2Jx\" = 1\n");
  const std::string bad_value =
      dir.Write("value.toml", "[store]\nkind = \"\\u001b]0;x\\u0007\"\n");
  const std::string odd_path = dir.Write("\x1b]0;x\x07\xff.toml", "");
  const std::vector<std::vector<std::string>> commands = {
      {"check", unknown_key},
      {"run", unknown_key},
      {"check", bad_value},
      {"check", odd_path},
      {"check", dir.path() + "/\x1b[2Jmissing.toml"},
      {"run", "--set", "\x1b]0;x\x07=1"},
      {"run", "--set", "store.kind=\x1b[2J"},
      {"run", "--store",
       "\x9b"
       "2J"},
      {"run", "--frob\x1b[2J"},
      {"compare", "--guards", "\x1b[2J"},
  };
  for (const auto& args : commands) {
    SCOPED_TRACE(Visible(fmt::format("{}", fmt::join(args, " "))));
    const Ended ended = RunArgs(args);
    EXPECT_EQ(ended.code, 2) << Visible(ended.out);
    EXPECT_EQ(RawControl(ended.out), "");
    EXPECT_TRUE(ended.out.find("\\e") != std::string::npos ||
                ended.out.find("\\x9b") != std::string::npos)
        << ended.out;
  }
}

// --- Paths that are not scenario files -------------------------------------

// A symlink loop among the scenarios: every command says so and exits 2;
// list shows the bad entry and carries on. None aborts.
TEST_F(HardeningSignalsTest, ASymlinkLoopIsNamedAndNothingAborts) {
  TempDir dir;
  const std::string d = dir.path() + "/d";
  ASSERT_EQ(mkdir(d.c_str(), 0755), 0);
  ASSERT_EQ(symlink("loop.toml", (d + "/loop.toml").c_str()), 0);
  const std::string self = dir.path() + "/self";
  ASSERT_EQ(symlink("self", self.c_str()), 0);
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"check", d},
                                             {"run", d},
                                             {"compare", d},
                                             {"check", d + "/loop.toml"},
                                             {"run", d + "/loop.toml"},
                                             {"check", self},
                                             {"run", self + "/x.toml"}}) {
    SCOPED_TRACE(fmt::format("{}", fmt::join(args, " ")));
    const Ended ended = RunArgs(args);
    EXPECT_TRUE(ended.exited);
    EXPECT_EQ(ended.code, 2) << ended.out;
    EXPECT_NE(ended.out.find("symlink loop"), std::string::npos) << ended.out;
  }
  Launch list;
  list.args = {"list"};
  list.env = {{"TICKETSIM_SCENARIOS", d}};
  const Ended listed = Launched(list);
  EXPECT_EQ(listed.code, 0) << listed.out;
  EXPECT_NE(listed.out.find("loop.toml: cannot read: symlink loop"),
            std::string::npos)
      << listed.out;
  list.env = {{"TICKETSIM_SCENARIOS", self}};
  const Ended self_listed = Launched(list);
  EXPECT_EQ(self_listed.code, 0) << self_listed.out;
  EXPECT_NE(self_listed.out.find("symlink loop"), std::string::npos)
      << self_listed.out;
  // ./scenarios, the library `list` looks for first, is a loop itself.
  const std::string here = dir.path() + "/here";
  ASSERT_EQ(mkdir(here.c_str(), 0755), 0);
  ASSERT_EQ(symlink("scenarios", (here + "/scenarios").c_str()), 0);
  Launch in_here;
  in_here.args = {"list"};
  in_here.cwd = here;
  const Ended here_listed = Launched(in_here);
  EXPECT_EQ(here_listed.code, 0) << here_listed.out;
  EXPECT_NE(here_listed.out.find("scenarios: symlink loop"), std::string::npos)
      << here_listed.out;
}

// A directory that cannot be listed, a file that cannot be read, and a path
// through a file: each message gives the system's reason.
TEST_F(HardeningSignalsTest, AnUnreadablePathGivesTheTrueReason) {
  TempDir dir;
  // Root reads everything: the checks run as nobody, who must reach `dir`.
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
  const std::string locked = dir.path() + "/locked";
  ASSERT_EQ(mkdir(locked.c_str(), 0755), 0);
  dir.Write("locked/a.toml", "[buyers]\ncount = 2\n");
  ASSERT_EQ(chmod(locked.c_str(), 0), 0);
  const std::string unreadable = dir.Write("secret.toml", "[buyers]\n");
  ASSERT_EQ(chmod(unreadable.c_str(), 0), 0);
  const std::string plain = dir.Write("plain.toml", "[buyers]\ncount = 2\n");
  ASSERT_EQ(chmod(plain.c_str(), 0644), 0);

  Launch launch;
  launch.as_nobody = true;
  launch.args = {"check", locked};
  Ended ended = Launched(launch);
  EXPECT_EQ(ended.code, 2) << ended.out;
  EXPECT_NE(ended.out.find("cannot list the directory: Permission denied"),
            std::string::npos)
      << ended.out;
  launch.args = {"check", unreadable};
  ended = Launched(launch);
  EXPECT_EQ(ended.code, 2) << ended.out;
  EXPECT_NE(ended.out.find("cannot read: Permission denied"), std::string::npos)
      << ended.out;
  launch.args = {"check", plain};
  ended = Launched(launch);
  EXPECT_EQ(ended.code, 0) << "nobody can read a plain file: " << ended.out;

  ended = RunArgs({"check", plain + "/x.toml"});
  EXPECT_EQ(ended.code, 2) << ended.out;
  EXPECT_NE(ended.out.find("Not a directory"), std::string::npos) << ended.out;
  ASSERT_EQ(chmod(locked.c_str(), 0755), 0);  // so that TempDir removes it
}

// A FIFO (or a device) is not a scenario: refused at once, whether named or
// found in a directory, with nothing ever writing to it.
TEST_F(HardeningSignalsTest, AFifoScenarioIsRefusedAtOnce) {
  TempDir dir;
  const std::string fifo = dir.path() + "/fifo.toml";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"check", fifo},
                                             {"run", fifo},
                                             {"run", dir.path()},
                                             {"compare", fifo},
                                             {"check", "/dev/zero"}}) {
    SCOPED_TRACE(fmt::format("{}", fmt::join(args, " ")));
    const Ended ended =
        RunArgs(args);  // RunArgs calls a wait past kCapMs a hang
    EXPECT_EQ(ended.code, 2) << ended.out;
    EXPECT_NE(ended.out.find("not a scenario file"), std::string::npos)
        << ended.out;
  }
  Launch list;
  list.args = {"list"};
  list.env = {{"TICKETSIM_SCENARIOS", dir.path()}};
  const Ended listed = Launched(list);
  EXPECT_EQ(listed.code, 0);
  EXPECT_NE(listed.out.find("is a FIFO"), std::string::npos) << listed.out;
}

// --- Interrupts -------------------------------------------------------------

// ticketsim blocked writing to a pipe nobody reads (`ticketsim ... | sleep
// 100`): SIGINT ends it, 130, with nothing of a run left.
TEST_F(HardeningSignalsTest, AnInterruptEndsTicketsimBlockedOnAFullPipe) {
  if (kThreadSanitizer) {
    GTEST_SKIP() << "ThreadSanitizer holds a signal that comes while the "
                    "program runs until its next call that the runtime "
                    "intercepts; ticketsim then blocked in libc's own write "
                    "to the full pipe makes none, so the interrupt cannot "
                    "end it in this build";
  }
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"list"},
           {"run", "--narrate", "--store", "shm", "--guard", "none", "--buyers",
            "10", "--attempts", "50", "--tickets", "1000", "--think-ms", "0"},
           // Its JSON report waits in a temporary file beside report.json,
           // which the interrupt must not leave behind.
           {"run", "--narrate", "--store", "shm", "--guard", "none", "--buyers",
            "10", "--attempts", "50", "--tickets", "1000", "--think-ms", "0",
            "--json", "TMP/report.json"}}) {
    SCOPED_TRACE(args.back());
    TempDir tmp;
    int out[2];
    ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
    // The smallest pipe: both commands write more than it holds.
    const int capacity = fcntl(out[1], F_SETPIPE_SZ, 4096);
    ASSERT_GT(capacity, 0);
    Launch launch;
    launch.args = args;
    if (launch.args.back() == "TMP/report.json") {
      launch.args.back() = tmp.path() + "/report.json";
    }
    launch.env = {{"TMPDIR", tmp.path()}};
    const pid_t pid = Start(launch, out[1]);
    close(out[1]);
    // Until the pipe is full: from then on ticketsim waits to write.
    int queued = 0;
    for (int waited = 0; waited < kCapMs; waited += 5) {
      ASSERT_EQ(ioctl(out[0], FIONREAD, &queued), 0);
      if (queued >= capacity) break;
      usleep(5000);
    }
    ASSERT_GE(queued, capacity) << "the pipe never filled";
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0) << "it ended unblocked";
    kill(pid, SIGINT);
    Ended ended;
    ASSERT_TRUE(WaitEnded(pid, &ended)) << "deaf to SIGINT on a full pipe";
    close(out[0]);
    EXPECT_TRUE(ended.exited);
    EXPECT_EQ(ended.code, 130);
    EXPECT_TRUE(LeftoversOf(pid).empty());
    EXPECT_TRUE(tmp.Entries().empty()) << tmp.Entries().front();
  }
}

// Starts a long run (its TMPDIR `tmp`, `ignored` ignored from the start),
// sends it `signals` in order once its buyers run, and returns how it
// ended, its report in `out`; `*pid` is its pid, for LeftoversOf.
Ended InterruptARun(const TempDir& tmp, const std::vector<int>& signals,
                    int ignored, pid_t* pid) {
  Ended ended;
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return ended;
  Launch launch;
  launch.args = {"run",          "--store",    "shm",    "--guard",
                 "robust-mutex", "--buyers",   "4",      "--tickets",
                 "100000",       "--attempts", "100000", "--think-ms",
                 "1,2"};
  launch.env = {{"TMPDIR", tmp.path()}};
  launch.ignored_signal = ignored;
  *pid = Start(launch, out[1]);
  close(out[1]);
  // Once the run's objects exist, its buyers are running.
  if (RunBegun(*pid, tmp)) {
    for (int sig : signals) kill(*pid, sig);
  } else {
    ADD_FAILURE() << "the run never began";
    kill(*pid, SIGKILL);
  }
  char buf[4096];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) != 0;) {
    if (n > 0) ended.out.append(buf, n);
    if (n < 0 && errno != EINTR) break;
  }
  close(out[0]);
  EXPECT_TRUE(WaitEnded(*pid, &ended)) << "deaf to the interrupt";
  return ended;
}

// SIGHUP (the terminal closed), SIGUSR1, SIGALRM, SIGTERM, SIGQUIT, SIGXCPU
// and a real-time signal during a run: each is an interrupt. The buyers are
// stopped, the partial report names the signal, nothing is left in /dev/shm
// or the temp directory, and the exit status is 128 + the signal.
TEST_F(HardeningSignalsTest, EveryTerminatingSignalInterruptsARunCleanly) {
  for (const int sig :
       {SIGHUP, SIGUSR1, SIGALRM, SIGTERM, SIGQUIT, SIGXCPU, SIGRTMIN + 1}) {
    SCOPED_TRACE(SignalName(sig));
    TempDir tmp;
    pid_t pid = 0;
    const Ended ended = InterruptARun(tmp, {sig}, 0, &pid);
    EXPECT_TRUE(ended.exited);
    EXPECT_EQ(ended.code, 128 + sig) << ended.out;
    EXPECT_NE(ended.out.find("interrupted by " + SignalName(sig) +
                             ": a partial report"),
              std::string::npos)
        << ended.out;
    EXPECT_TRUE(LeftoversOf(pid).empty());
    EXPECT_TRUE(tmp.Entries().empty()) << tmp.Entries().front();
  }
}

// Started with SIGHUP ignored (nohup), ticketsim leaves it so: a SIGHUP
// does not end the run (had it been taken, it would have ended it first),
// the SIGINT after it does.
TEST_F(HardeningSignalsTest, ASignalIgnoredAtStartStaysIgnored) {
  TempDir tmp;
  pid_t pid = 0;
  const Ended ended = InterruptARun(tmp, {SIGHUP, SIGINT}, SIGHUP, &pid);
  EXPECT_EQ(ended.code, 130) << ended.out;
  EXPECT_NE(ended.out.find("interrupted by SIGINT"), std::string::npos)
      << ended.out;
  EXPECT_TRUE(LeftoversOf(pid).empty());
  EXPECT_TRUE(tmp.Entries().empty());
}

// Started with SIGINT ignored (a shell's background job), ticketsim still
// takes SIGINT: the script that started it means it.
TEST_F(HardeningSignalsTest, SigintIgnoredAtStartStillInterrupts) {
  TempDir tmp;
  pid_t pid = 0;
  const Ended ended = InterruptARun(tmp, {SIGINT}, SIGINT, &pid);
  EXPECT_EQ(ended.code, 130) << ended.out;
  EXPECT_NE(ended.out.find("interrupted by SIGINT"), std::string::npos)
      << ended.out;
  EXPECT_TRUE(LeftoversOf(pid).empty());
  EXPECT_TRUE(tmp.Entries().empty());
}

// Inside a run, SIGALRM is the parent's interrupt, but the file-lock
// guard's buyers still get their timer's SIGALRM: a holder that thinks 500
// ms makes the other's 5 ms wait time out. (With two buyers no one who
// asked later can take the lock meanwhile: the timeout is a guard failure,
// not starvation, however the machine is loaded.)
TEST_F(HardeningSignalsTest, FileLockTimeoutsStillFireInsideARun) {
  const Ended ended =
      RunArgs({"run", "--store", "file", "--guard", "file-lock", "--timeout-ms",
               "5", "--think-ms", "500,500", "--buyers", "2", "--tickets", "10",
               "--attempts", "1"});
  EXPECT_EQ(ended.code, 1) << ended.out;  // the timeouts are guard failures
  EXPECT_NE(ended.out.find("timed out waiting for the guard"),
            std::string::npos)
      << ended.out;
  EXPECT_EQ(ended.out.find("time limit"), std::string::npos) << ended.out;
}

// --- Seeds ------------------------------------------------------------------

// The largest seed with three trials: every trial's seed is one --seed
// takes, and the trials still have three different seeds. (The file is
// written by rename: a torn read is not what this is about.)
TEST_F(HardeningSignalsTest, EveryTrialSeedOfTheLargestSeedCanBeRepeated) {
  const Ended ended = RunArgs(
      {"run", "--store", "file", "--write", "replace", "--guard", "file-lock",
       "--buyers", "2", "--tickets", "10", "--attempts", "1", "--seed",
       "9223372036854775807", "--trials", "3", "--json", "-"});
  ASSERT_EQ(ended.code, 0) << ended.out;
  const auto json = nlohmann::json::parse(ended.out.substr(ended.out.find('{')),
                                          nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << ended.out;
  std::vector<uint64_t> seeds;
  for (const auto& run : json["scenarios"][0]["runs"]) {
    seeds.push_back(run["seed"].get<uint64_t>());
  }
  EXPECT_EQ(seeds, (std::vector<uint64_t>{9223372036854775807u, 0, 1}));
  // Each trial again, alone.
  for (uint64_t seed : seeds) {
    const Ended again =
        RunArgs({"run", "--store", "file", "--write", "replace", "--guard",
                 "file-lock", "--buyers", "2", "--tickets", "10", "--attempts",
                 "1", "--seed", std::to_string(seed)});
    EXPECT_EQ(again.code, 0) << seed << ": " << again.out;
    EXPECT_NE(again.out.find(fmt::format("seed {}\n", seed)), std::string::npos)
        << again.out;
  }
  const Ended text =
      RunArgs({"run", "--store", "file", "--write", "replace", "--guard",
               "file-lock", "--buyers", "2", "--tickets", "10", "--attempts",
               "1", "--seed", "9223372036854775807", "--trials", "3"});
  EXPECT_NE(text.out.find("seeds 9223372036854775807 to 1"), std::string::npos)
      << text.out;
}

}  // namespace
}  // namespace ticketsim
