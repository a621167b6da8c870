// `ticketsim step`: the pseudo-code of each scenario shape, the board, and
// the command driven through a pipe and through a pseudo-terminal.
#include "sim/cli/step_screen.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/escape.h"
#include "sim/cli/step_command.h"
#include "sim/run/run.h"
#include "sim/schedule/scheduler.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::LeftoversOf;

std::vector<std::string> Texts(const std::vector<CodeLine>& code) {
  std::vector<std::string> out;
  for (const CodeLine& line : code) out.push_back(line.text);
  return out;
}

// The (kind, event) of every step line: each must be there once, so that a
// buyer's marker has one place to stand.
void ExpectStepsUnique(const std::vector<CodeLine>& code) {
  std::set<std::pair<StepKind, size_t>> seen;
  for (const CodeLine& line : code) {
    if (line.kind == StepKind::kNone) continue;
    EXPECT_TRUE(seen.insert({line.kind, line.event}).second) << line.text;
  }
}

Scenario Rush() {
  Scenario s;
  s.buyers.count = 2;
  s.initial = 1;
  s.store.kind = StoreKind::kFile;
  s.store.write = FileWrite::kTruncate;
  return s;
}

TEST(StepScreenCodeTest, ReadModifyWriteUnderALockOnTheFileStoreTruncating) {
  Scenario s = Rush();
  s.guard.kind = GuardKind::kFileLock;
  const std::vector<CodeLine> code = PurchaseCode(s, 0);
  EXPECT_EQ(Texts(code),
            (std::vector<std::string>{"n = read()", "lock()", "count = read()",
                                      "if count > 0:", "  truncate()",
                                      "  write(count - 1)", "unlock()"}));
  EXPECT_EQ(code[0].kind, StepKind::kQuery);
  EXPECT_EQ(code[1].kind, StepKind::kAcquire);
  EXPECT_EQ(code[2].kind, StepKind::kRead);
  EXPECT_EQ(code[3].kind, StepKind::kNone);
  EXPECT_EQ(code[4].kind, StepKind::kWrite);
  EXPECT_EQ(code[5].kind, StepKind::kWriteEnd);
  EXPECT_EQ(code[6].kind, StepKind::kRelease);
  EXPECT_EQ(LineOf(code, StepKind::kWriteEnd, 0), 5);
  EXPECT_EQ(LineOf(code, StepKind::kThink, 0), -1);
  EXPECT_EQ(LineOf(code, StepKind::kRead, 1), -1);
  ExpectStepsUnique(code);
}

TEST(StepScreenCodeTest, UnguardedWithAThinkTimeByRename) {
  Scenario s = Rush();
  s.store.write = FileWrite::kReplace;
  s.buyers.think_ms = {20, 50};
  const std::vector<CodeLine> code = PurchaseCode(s, 1);
  EXPECT_EQ(Texts(code),
            (std::vector<std::string>{"n = read()", "count = read()",
                                      "if count > 0:", "  think()",
                                      "  write_tmp(count - 1)", "  rename()"}));
  EXPECT_EQ(code[3].kind, StepKind::kThink);
  EXPECT_EQ(code[4].kind, StepKind::kWrite);
  EXPECT_EQ(code[5].kind, StepKind::kWriteEnd);
  ExpectStepsUnique(code);
}

TEST(StepScreenCodeTest, OneStepWritesOnSharedMemoryAndMappedFiles) {
  Scenario s = Rush();
  s.store.write = FileWrite::kMapped;
  EXPECT_EQ(Texts(PurchaseCode(s, 0)),
            (std::vector<std::string>{"n = read()", "count = read()",
                                      "if count > 0:", "  write(count - 1)"}));
  s.store.kind = StoreKind::kShm;
  s.guard.kind = GuardKind::kNamedMutex;
  s.guard.scope = Scope::kQueryAndBuy;
  EXPECT_EQ(Texts(PurchaseCode(s, 0)),
            (std::vector<std::string>{"lock()", "n = read()", "count = read()",
                                      "if count > 0:", "  write(count - 1)",
                                      "unlock()"}));
}

TEST(StepScreenCodeTest, AtomicAndSqliteTransactions) {
  Scenario s = Rush();
  s.store.kind = StoreKind::kShm;
  s.buyers.method = Method::kAtomic;
  const std::vector<CodeLine> atomic = PurchaseCode(s, 0);
  EXPECT_EQ(Texts(atomic),
            (std::vector<std::string>{"n = read()", "take_one()"}));
  EXPECT_EQ(atomic[1].kind, StepKind::kTake);

  s.store.kind = StoreKind::kSqlite;
  s.buyers.method = Method::kReadModifyWrite;
  s.guard.kind = GuardKind::kSqliteImmediate;
  EXPECT_EQ(Texts(PurchaseCode(s, 0)),
            (std::vector<std::string>{
                "n = read()", "begin immediate", "count = read()",
                "if count > 0:", "  write(count - 1)", "commit"}));
  s.guard.kind = GuardKind::kSqliteDeferred;
  EXPECT_EQ(PurchaseCode(s, 0)[1].text, "begin");
}

TEST(StepScreenCodeTest, SeveralEventsInEachBuyersOrder) {
  Scenario s = Rush();
  s.store.kind = StoreKind::kShm;
  s.events = {"concert", "parking"};
  s.guard.kind = GuardKind::kNamedMutex;
  s.guard.order = GuardOrder::kOpposite;
  s.buyers.think_ms = {10, 20};
  const std::vector<CodeLine> even = PurchaseCode(s, 0);
  EXPECT_EQ(
      Texts(even),
      (std::vector<std::string>{
          "n = read(concert)", "lock(concert)", "lock(parking)",
          "a = read(concert)", "b = read(parking)",
          "if a > 0 and b > 0:", "  think()", "  write(concert, a - 1)",
          "  write(parking, b - 1)", "unlock(parking)", "unlock(concert)"}));
  const std::vector<CodeLine> odd = PurchaseCode(s, 1);
  EXPECT_EQ(
      Texts(odd),
      (std::vector<std::string>{
          "n = read(concert)", "lock(parking)", "lock(concert)",
          "b = read(parking)", "a = read(concert)",
          "if b > 0 and a > 0:", "  think()", "  write(parking, b - 1)",
          "  write(concert, a - 1)", "unlock(concert)", "unlock(parking)"}));
  // The think step is the first write's event's.
  EXPECT_EQ(odd[LineOf(odd, StepKind::kThink, 1)].text, "  think()");
  EXPECT_EQ(LineOf(odd, StepKind::kAcquire, 1), 1);
  ExpectStepsUnique(even);
  ExpectStepsUnique(odd);
}

TEST(StepScreenCodeTest, TryBackoffAndUnguardedEventsOnTheFileStore) {
  Scenario s = Rush();
  s.events = {"concert", "parking", "bar"};
  s.guard.kind = GuardKind::kFileLock;
  s.guard.acquire = GuardAcquire::kTryBackoff;
  const std::vector<CodeLine> code = PurchaseCode(s, 0);
  EXPECT_EQ(
      Texts(code),
      (std::vector<std::string>{
          "n = read(concert)", "lock(concert)", "if !try_lock(parking):",
          "  back off; retry", "if !try_lock(bar):", "  back off; retry",
          "a = read(concert)", "b = read(parking)", "c = read(bar)",
          "if min(a, b, c) > 0:", "  truncate(concert)",
          "  write(concert, a - 1)", "  truncate(parking)",
          "  write(parking, b - 1)", "  truncate(bar)", "  write(bar, c - 1)",
          "unlock(bar)", "unlock(parking)", "unlock(concert)"}));
  EXPECT_EQ(LineOf(code, StepKind::kBackoff, 2), 5);
  ExpectStepsUnique(code);

  // Unguarded, there is nothing to take or give back: no such steps.
  s.guard.kind = GuardKind::kNone;
  const std::vector<CodeLine> bare = PurchaseCode(s, 0);
  EXPECT_EQ(bare[1].text, "a = read(concert)");
  EXPECT_EQ(LineOf(bare, StepKind::kAcquire, 0), -1);
  EXPECT_EQ(LineOf(bare, StepKind::kRelease, 0), -1);
}

// A board as the scheduler would show it: buyer 0 holds the lock and is
// about to write; buyer 1 tried and is blocked.
StepBoard BlockedBoard(const Scenario& s) {
  StepBoard board;
  board.scenario = &s;
  board.step = 4;
  board.buyers.resize(2);
  for (BuyerView& v : board.buyers) {
    v.served = true;
    v.alive = true;
    v.state = StepState::kReady;
  }
  board.buyers[0].next = StepKind::kWrite;
  board.buyers[0].held = 1;
  board.buyers[0].read = 1;
  board.buyers[1].state = StepState::kBlocked;
  board.buyers[1].next = StepKind::kAcquire;
  board.buyers[1].waits_for = 0;
  board.runnable = {0};
  board.count = [](size_t) -> std::optional<int64_t> { return 1; };
  return board;
}

TEST(StepScreenBoardTest, ShowsColumnsMarkersHoldersAndCounts) {
  Scenario s = Rush();
  s.name = "rush";
  s.guard.kind = GuardKind::kFileLock;
  const StepBoard board = BlockedBoard(s);
  std::FILE* sink = std::fopen("/dev/null", "w");
  ASSERT_NE(sink, nullptr);
  StepScreen screen(s, -1, sink, /*terminal=*/false);
  const std::string drawn = screen.Draw(board);
  std::fclose(sink);
  EXPECT_NE(drawn.find("ticketsim step: rush, step 5"), std::string::npos)
      << drawn;
  EXPECT_TRUE(std::regex_search(drawn, std::regex("\nbuyer 0 +buyer 1\n")))
      << drawn;
  EXPECT_TRUE(
      std::regex_search(drawn, std::regex("\nready +blocked on the lock\n")))
      << drawn;
  EXPECT_TRUE(std::regex_search(drawn, std::regex(" held by buyer 0\n")))
      << drawn;
  // Buyer 0 stands before its truncate, buyer 1 before its lock.
  EXPECT_TRUE(
      std::regex_search(drawn, std::regex("\n  lock\\(\\) +> lock\\(\\)\n")))
      << drawn;
  EXPECT_TRUE(
      std::regex_search(drawn, std::regex("\n>   truncate\\(\\) +  truncate")))
      << drawn;
  EXPECT_NE(drawn.find("tickets: 1"), std::string::npos) << drawn;
  EXPECT_NE(drawn.find("lock: held by buyer 0"), std::string::npos) << drawn;
  EXPECT_NE(drawn.find("keys: 0-1"), std::string::npos) << drawn;
  EXPECT_EQ(drawn.find('\033'), std::string::npos);

  EXPECT_EQ(WhyNotRunnable(board, 1),
            "it waits for the lock, which buyer 0 holds");
  EXPECT_EQ(WhyNotRunnable(board, 7), "there is no buyer 7 (buyers 0-1)");
}

TEST(StepScreenBoardTest, KeysFromAPipeChooseRejectUndoAndStop) {
  Scenario s = Rush();
  s.guard.kind = GuardKind::kFileLock;
  const StepBoard board = BlockedBoard(s);
  int keys[2];
  ASSERT_EQ(pipe(keys), 0);
  const std::string typed = "1, 9 x 0 u q";
  ASSERT_EQ(write(keys[1], typed.data(), typed.size()),
            static_cast<ssize_t>(typed.size()));
  close(keys[1]);
  char* said = nullptr;
  size_t said_size = 0;
  std::FILE* out = open_memstream(&said, &said_size);
  ASSERT_NE(out, nullptr);
  StepScreen screen(s, keys[0], out, /*terminal=*/false);
  Choice c = screen.Choose(board);  // 1 and 9 and x rejected, then 0
  EXPECT_EQ(c.what, Choice::What::kBuyer);
  EXPECT_EQ(c.buyer, 0u);
  c = screen.Choose(board);
  EXPECT_EQ(c.what, Choice::What::kUndo);
  // q: buyer 0 is inside its purchase (before its write), which it
  // finishes before the run stops.
  c = screen.Choose(board);
  EXPECT_EQ(c.what, Choice::What::kBuyer);
  EXPECT_EQ(c.buyer, 0u);
  StepBoard between = board;  // both before their next purchase
  for (BuyerView& v : between.buyers) {
    v.state = StepState::kReady;
    v.next = StepKind::kQuery;
    v.held = 0;
    v.waits_for = -1;
  }
  between.runnable = {0, 1};
  c = screen.Choose(between);
  EXPECT_EQ(c.what, Choice::What::kStop);
  std::fclose(out);
  const std::string text(said, said_size);
  free(said);
  close(keys[0]);
  EXPECT_NE(text.find("buyer 1 cannot take a step: it waits for the lock, "
                      "which buyer 0 holds"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("buyer 9 cannot take a step: there is no buyer 9"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("the key x does nothing"), std::string::npos) << text;
  EXPECT_NE(text.find("undo: step 4"), std::string::npos) << text;
}

TEST(StepScreenBoardTest, APendingSignalEndsTheWaitForAKey) {
  Scenario s = Rush();
  StepBoard board = BlockedBoard(s);
  int keys[2];
  int signal[2];
  ASSERT_EQ(pipe(keys), 0);
  ASSERT_EQ(pipe(signal), 0);
  ASSERT_EQ(write(signal[1], "x", 1), 1);
  board.signal_fd = signal[0];
  std::FILE* sink = std::fopen("/dev/null", "w");
  StepScreen screen(s, keys[0], sink, /*terminal=*/false);
  EXPECT_EQ(screen.Choose(board).what, Choice::What::kWait);
  // It was not read: the scheduler takes it.
  char c = 0;
  EXPECT_EQ(read(signal[0], &c, 1), 1);
  std::fclose(sink);
  for (int fd : {keys[0], keys[1], signal[0], signal[1]}) close(fd);
}

TEST(StepCommandTest, ShellWords) {
  EXPECT_EQ(ShellWord("scenarios/01-rush.toml"), "scenarios/01-rush.toml");
  EXPECT_EQ(ShellWord("buyers.think_ms=[1, 2]"), "'buyers.think_ms=[1, 2]'");
  EXPECT_EQ(ShellWord("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellWord(""), "''");
}

// Runs a scenario with a seeded chooser that checks, before every step,
// that each buyer that can move stands on a line of its code.
class CheckingChooser : public StepChooser {
 public:
  explicit CheckingChooser(const Scenario& s) : seeded_(MakeSeededChooser(7)) {
    for (int64_t b = 0; b < s.buyers.count; ++b) {
      code_.push_back(PurchaseCode(s, static_cast<uint32_t>(b)));
    }
  }
  Choice Choose(const StepBoard& board) override {
    for (uint32_t b : board.runnable) {
      const BuyerView& v = board.buyers[b];
      if (LineOf(code_[b], v.next, v.event) < 0) {
        missing_.push_back(fmt::format("buyer {} before {} of event {}", b,
                                       WordOf(kStepKinds, v.next), v.event));
      }
    }
    ++asked_;
    return seeded_->Choose(board);
  }
  void Took(uint64_t step, uint32_t buyer, StepKind kind) override {
    seeded_->Took(step, buyer, kind);
  }
  std::vector<std::string> missing_;
  int asked_ = 0;

 private:
  std::unique_ptr<StepChooser> seeded_;
  std::vector<std::vector<CodeLine>> code_;
};

TEST(StepScreenRunTest, EveryStepOfEveryShapeHasItsLine) {
  struct Shape {
    const char* name;
    std::function<void(Scenario*)> set;
  };
  const Shape shapes[] = {
      {"file truncate, no guard", [](Scenario*) {}},
      {"file replace, file-lock, think",
       [](Scenario* s) {
         s->store.write = FileWrite::kReplace;
         s->guard.kind = GuardKind::kFileLock;
         s->buyers.think_ms = {1, 2};
       }},
      {"file mmap, query-and-buy",
       [](Scenario* s) {
         s->store.write = FileWrite::kMapped;
         s->guard.kind = GuardKind::kFileLock;
         s->guard.scope = Scope::kQueryAndBuy;
       }},
      {"shm atomic, robust mutex",
       [](Scenario* s) {
         s->store.kind = StoreKind::kShm;
         s->buyers.method = Method::kAtomic;
         s->guard.kind = GuardKind::kRobustMutex;
       }},
      {"sqlite immediate",
       [](Scenario* s) {
         s->store.kind = StoreKind::kSqlite;
         s->guard.kind = GuardKind::kSqliteImmediate;
       }},
      {"events opposite, named mutex, think",
       [](Scenario* s) {
         s->store.kind = StoreKind::kShm;
         s->events = {"concert", "parking"};
         s->guard.kind = GuardKind::kNamedMutex;
         s->guard.order = GuardOrder::kOpposite;
         s->buyers.think_ms = {1, 2};
       }},
      {"events try-backoff, file",
       [](Scenario* s) {
         s->events = {"concert", "parking"};
         s->guard.kind = GuardKind::kFileLock;
         s->guard.order = GuardOrder::kOpposite;
         s->guard.acquire = GuardAcquire::kTryBackoff;
       }},
      {"events unguarded",
       [](Scenario* s) {
         s->store.kind = StoreKind::kShm;
         s->events = {"concert", "parking"};
       }},
  };
  for (const Shape& shape : shapes) {
    SCOPED_TRACE(shape.name);
    Scenario s = Rush();
    s.name = shape.name;
    s.buyers.count = 3;
    s.buyers.attempts = 2;
    s.initial = 4;
    s.guard.timeout_ms = 20000;
    s.schedule.kind = ScheduleKind::kStep;
    shape.set(&s);
    ASSERT_TRUE(ValidateScenario(s).ok()) << ValidateScenario(s).message();
    CheckingChooser chooser(s);
    RunResult run;
    const Status status = RunScenario(s, &run, {}, &chooser);
    ASSERT_TRUE(status.ok()) << status.message();
    EXPECT_GT(chooser.asked_, 0);
    EXPECT_TRUE(chooser.missing_.empty())
        << ::testing::PrintToString(chooser.missing_);
    EXPECT_FALSE(run.schedule.steps.empty());
  }
}

// ticketsim with `input` on stdin; stdout and stderr together.
testing::Ran RunWithInput(const std::vector<std::string>& args,
                          const std::string& input) {
  testing::Ran ran;
  int in[2];
  int out[2];
  if (pipe(in) != 0 || pipe(out) != 0) return ran;
  ran.pid = fork();
  if (ran.pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1]}) close(fd);
    std::vector<char*> argv;
    std::vector<std::string> words = {TICKETSIM_BINARY};
    words.insert(words.end(), args.begin(), args.end());
    for (std::string& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  // Small enough for the pipe: written whole before anything is read. A
  // ticketsim that refuses its arguments may have ended first: then the
  // write finds no reader (EPIPE), which is no failure of the test.
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old);
  const ssize_t wrote = write(in[1], input.data(), input.size());
  if (wrote != static_cast<ssize_t>(input.size()) && errno != EPIPE) {
    ADD_FAILURE() << "could not write the keys";
  }
  sigaction(SIGPIPE, &old, nullptr);
  close(in[1]);
  char buffer[4096];
  for (ssize_t n; (n = read(out[0], buffer, sizeof buffer)) > 0;) {
    ran.out.append(buffer, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  waitpid(ran.pid, &status, 0);
  ran.exit_code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return ran;
}

const std::vector<std::string> kRushArgs = {
    "step", "--store",  "file", "--write",   "truncate", "--guard",
    "none", "--buyers", "2",    "--tickets", "1"};

TEST(StepCommandTest, KeysThroughAPipeMakeTheLostUpdate) {
  const testing::Ran ran = RunWithInput(kRushArgs, "0 0 1 1 0 0 1 1 q");
  EXPECT_EQ(ran.exit_code, 1) << ran.out;  // a violation, none expected
  for (const char* line :
       {"step 1: buyer 0 n = read() -> 1\n",
        "step 2: buyer 0 count = read() -> 1\n",
        "step 3: buyer 1 n = read() -> 1\n",
        "step 4: buyer 1 count = read() -> 1\n",
        "step 5: buyer 0 truncate() -> the file is empty\n",
        "step 6: buyer 0 write(count - 1) -> wrote 0: seat 1 sold\n",
        "step 7: buyer 1 truncate() -> the file is empty\n",
        "step 8: buyer 1 write(count - 1) -> wrote 0: seat 1 sold\n"
        "  violation: seat 1 sold twice: buyer 1 wrote 0 over buyer 0's "
        "sale\n",
        "LOST UPDATE", "\nsteps: 0,0,1,1,0,0,1,1\n",
        "\nreplay: ticketsim run --store file --write truncate --guard none "
        "--buyers 2 --tickets 1 --steps 0,0,1,1,0,0,1,1\n"}) {
    EXPECT_NE(ran.out.find(line), std::string::npos) << line << "\n" << ran.out;
  }
  EXPECT_EQ(ran.out.find('\033'), std::string::npos) << ran.out;
  EXPECT_TRUE(LeftoversOf(ran.pid).empty());

  // The list replays it without a key.
  std::vector<std::string> replay = kRushArgs;
  replay.insert(replay.end(), {"--steps", "0,0,1,1,0,0,1,1"});
  const testing::Ran again = RunWithInput(replay, "");
  EXPECT_EQ(again.exit_code, 1) << again.out;
  EXPECT_NE(again.out.find("LOST UPDATE"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("\nsteps: 0,0,1,1,0,0,1,1\n"), std::string::npos)
      << again.out;
}

TEST(StepCommandTest, UndoReplaysTheStepsBeforeItSilently) {
  const testing::Ran ran = RunWithInput(kRushArgs, "0 0 u 1 q");
  // Both queried before q; each then buys in turn: no violation.
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_NE(ran.out.find("step 2: buyer 0 count = read() -> 1\nundo: step 2\n"
                         "step 2: buyer 1 n = read() -> 1\n"),
            std::string::npos)
      << ran.out;
  // Step 1 was said once: the replay does not say it again.
  EXPECT_EQ(ran.out.find("step 1:"), ran.out.rfind("step 1:")) << ran.out;
  EXPECT_NE(ran.out.find("stopped after step 2; steps 3 to 6: buyers 0, 1 "
                         "finishing the purchases in flight"),
            std::string::npos)
      << ran.out;
  EXPECT_NE(ran.out.find("\nsteps: 0,1,0,0,0,1\n"), std::string::npos)
      << ran.out;
  EXPECT_TRUE(LeftoversOf(ran.pid).empty());
}

TEST(StepCommandTest, TheEndOfTheKeysStopsWithTheVerdictSoFar) {
  const testing::Ran ran = RunWithInput(kRushArgs, "0");
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_NE(ran.out.find("stopped after step 1; steps 2 to 4: buyer 0 "
                         "finishing the purchase in flight"),
            std::string::npos)
      << ran.out;
  EXPECT_NE(ran.out.find("\nsteps: 0,0,0,0\n"), std::string::npos) << ran.out;
  EXPECT_TRUE(LeftoversOf(ran.pid).empty());
}

// q between a buyer's truncate and its write stops nothing in the middle:
// the purchase in flight ends first, and the verdict is that of whole
// purchases (no buyer killed inside one, no file left empty).
TEST(StepCommandTest, QuitInTheMiddleOfAWriteFinishesThePurchaseFirst) {
  std::vector<std::string> args = kRushArgs;
  args[8] = "3";
  const testing::Ran ran = RunWithInput(args, "0 0 0 q");
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  for (const char* line :
       {"step 3: buyer 0 truncate() -> the file is empty\n",
        "step 4: buyer 0 write(count - 1) -> wrote 0: seat 1 sold\n",
        "stopped after step 3; step 4: buyer 0 finishing the purchase in "
        "flight",
        "  tickets   initial 1, sold 1, remaining 0\n",
        "  verdict   no violation\n", "      1 ", "  stopped by q\n",
        "\nsteps: 0,0,0,0\n"}) {
    EXPECT_NE(ran.out.find(line), std::string::npos) << line << "\n" << ran.out;
  }
  for (const char* absent : {"CORRUPT", "killed", "NOT"}) {
    EXPECT_EQ(ran.out.find(absent), std::string::npos) << absent << "\n"
                                                       << ran.out;
  }
  EXPECT_TRUE(LeftoversOf(ran.pid).empty());
}

// The trace says what each step read and wrote, what a sold-out read got,
// and flags a torn read as it happens, naming the buyer rewriting the file.
TEST(StepCommandTest, TheTraceShowsValuesWrittenSoldOutReadsAndTornReads) {
  testing::Ran ran =
      RunWithInput({"step", "--store", "file", "--write", "replace", "--buyers",
                    "2", "--tickets", "1"},
                   "0 0 0 0 1 1");
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  EXPECT_NE(ran.out.find("step 4: buyer 0 rename() -> wrote 0: seat 1 sold\n"
                         "step 5: buyer 1 n = read() -> 0\n"
                         "step 6: buyer 1 count = read() -> 0, sold out\n"),
            std::string::npos)
      << ran.out;

  ran = RunWithInput(
      {"step", testing::Library("03-torn-read.toml"), "--buyers", "2"},
      "0 0 0 0 1 q");
  EXPECT_NE(ran.out.find("step 5: buyer 1 n = read() -> no count (torn read)\n"
                         "  violation: torn read: buyer 1 read the count "
                         "while buyer 0 was rewriting it\n"),
            std::string::npos)
      << ran.out;
  EXPECT_NE(ran.out.find("VIOLATED: torn read x1"), std::string::npos)
      << ran.out;
}

TEST(StepCommandTest, MoreThanTenBuyersOrABadListIsRefused) {
  std::vector<std::string> args = kRushArgs;
  args[8] = "11";
  testing::Ran ran = RunWithInput(args, "q");
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_NE(ran.out.find("buyers.count is 11"), std::string::npos) << ran.out;
  args = kRushArgs;
  args.insert(args.end(), {"--steps", "0,2"});
  ran = RunWithInput(args, "q");
  EXPECT_EQ(ran.exit_code, 2) << ran.out;
  EXPECT_NE(ran.out.find("--steps 0,2: run.steps: step 2 names buyer 2"),
            std::string::npos)
      << ran.out;
}

// What `run` refuses under a controlled schedule (a program, buyers on
// hosts, a transaction that waits inside the server) `step` refuses too,
// for the same reason, before anything runs.
TEST(StepCommandTest, AScenarioRunCannotStepIsRefusedAsRunRefusesIt) {
  const testing::TempDir dir;
  const std::string buyer = dir.Write("buyer.sh", "echo bought seat 1\n");
  const std::vector<std::vector<std::string>> scenarios = {
      {"--program", "sh " + buyer, "--buyers", "2", "--sold-pattern",
       "seat (\\d+)"},
      {testing::Library("34-pg-read-committed.toml")},
      {testing::Library("41-hosts-local-lock.toml")},
  };
  for (const std::vector<std::string>& scenario : scenarios) {
    std::vector<std::string> run = {"run", "--schedule", "step"};
    run.insert(run.end(), scenario.begin(), scenario.end());
    const testing::Ran refused = RunWithInput(run, "0 0 q");
    ASSERT_EQ(refused.exit_code, 2) << refused.out;
    const size_t why = refused.out.find("run.schedule: ");
    ASSERT_NE(why, std::string::npos) << refused.out;

    std::vector<std::string> step = {"step"};
    step.insert(step.end(), scenario.begin(), scenario.end());
    const testing::Ran ran = RunWithInput(step, "0 0 q");
    EXPECT_EQ(ran.exit_code, 2) << ran.out;
    EXPECT_NE(ran.out.find("step: " + refused.out.substr(why)),
              std::string::npos)
        << ran.out;
    EXPECT_EQ(ran.out.find("steps:"), std::string::npos) << ran.out;
    EXPECT_TRUE(LeftoversOf(ran.pid).empty());
  }
}

// The replay line a stepped run prints is a `run` that takes the same steps
// to the same verdict.
TEST(StepCommandTest, TheReplayLineRunsTheSameSteps) {
  const testing::Ran ran =
      RunWithInput({"step", testing::Library("01-rush-unguarded.toml"),
                    "--buyers", "2", "--attempts", "1"},
                   "0 0 1 1 0 0 0 1 1 1");
  ASSERT_EQ(ran.exit_code, 0) << ran.out;  // the lost update it expects
  const size_t at = ran.out.find("\nreplay: ticketsim run ");
  ASSERT_NE(at, std::string::npos) << ran.out;
  std::istringstream line(
      ran.out.substr(at + 23, ran.out.find('\n', at + 1) - at - 23));
  std::vector<std::string> words;
  for (std::string word; line >> word;) words.push_back(word);
  EXPECT_EQ(words.back(), "0,0,1,1,0,0,0,1,1,1") << ran.out;
  words.insert(words.begin(), "run");
  const testing::Ran again = RunWithInput(words, "");
  EXPECT_EQ(again.exit_code, 0) << again.out;
  EXPECT_NE(again.out.find("LOST UPDATE"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("steps: --steps 0,0,1,1,0,0,0,1,1,1\n"),
            std::string::npos)
      << again.out;
}

// ticketsim on a pseudo-terminal, driven key by key.
class Terminal {
 public:
  explicit Terminal(const std::vector<std::string>& args) {
    winsize size{};
    size.ws_col = 120;
    size.ws_row = 60;
    pid_ = forkpty(&master_, nullptr, nullptr, &size);
    if (pid_ == 0) {
      std::vector<std::string> words = {TICKETSIM_BINARY};
      words.insert(words.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (std::string& w : words) argv.push_back(w.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~Terminal() {
    if (pid_ > 0 && !ended_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) close(master_);
  }
  bool ok() const { return pid_ > 0 && master_ >= 0; }
  pid_t pid() const { return pid_; }
  int master() const { return master_; }

  void Press(char key) { ASSERT_EQ(write(master_, &key, 1), 1); }

  // Reads until `done(the screen drawn last)` or the end of output, for at
  // most a minute; the screen drawn last: after the last clear.
  bool WaitFor(const std::function<bool(const std::string&)>& done) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      if (done(Screen())) return true;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd fd{master_, POLLIN, 0};
      if (poll(&fd, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const ssize_t n = read(master_, buffer, sizeof buffer);
      if (n <= 0) return done(Screen());  // EIO: the program has ended
      for (ssize_t i = 0; i < n; ++i) {
        if (buffer[i] != '\r') all_ += buffer[i];
      }
    }
  }
  std::string Screen() const {
    const size_t clear = all_.rfind("\033[H\033[2J");
    return clear == std::string::npos ? all_ : all_.substr(clear + 7);
  }
  const std::string& all() const { return all_; }
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    ended_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  int master_ = -1;
  bool ended_ = false;
  std::string all_;
};

bool Has(const std::string& text, const char* pattern) {
  return std::regex_search(text, std::regex(pattern));
}

TEST(StepCommandTest, AtATerminalKeysMoveTheMarkersUndoAndQuit) {
  Terminal terminal(kRushArgs);
  ASSERT_TRUE(terminal.ok());
  // Both columns, both buyers before their query.
  ASSERT_TRUE(terminal.WaitFor([](const std::string& s) {
    return Has(s, "step 1\n") && Has(s, "keys: 0-1") &&
           Has(s, "\nbuyer 0 +buyer 1\n") &&
           Has(s, "\n> n = read\\(\\) +> n = read\\(\\)\n");
  })) << terminal.all();
  termios mode{};
  ASSERT_EQ(tcgetattr(terminal.master(), &mode), 0);
  EXPECT_EQ(mode.c_lflag & (ICANON | ECHO), 0u);  // keys one at a time
  EXPECT_NE(mode.c_lflag & ISIG, 0u);             // Ctrl-C interrupts

  terminal.Press('0');
  ASSERT_TRUE(terminal.WaitFor([](const std::string& s) {
    return Has(s, "step 2\n") &&
           Has(s, "\n  n = read\\(\\) +> n = read\\(\\)\n") &&
           Has(s, "\n> count = read\\(\\) +  count = read\\(\\)\n") &&
           Has(s, "step 1: buyer 0 n = read\\(\\) -> 1");
  })) << terminal.Screen();

  terminal.Press('u');
  ASSERT_TRUE(terminal.WaitFor([](const std::string& s) {
    return Has(s, "step 1\n") &&
           Has(s, "\n> n = read\\(\\) +> n = read\\(\\)\n");
  })) << terminal.Screen();

  terminal.Press('1');
  ASSERT_TRUE(terminal.WaitFor([](const std::string& s) {
    return Has(s, "step 2\n") &&
           Has(s, "\n> n = read\\(\\) +  n = read\\(\\)\n");
  })) << terminal.Screen();

  // Buyer 1 has queried: it finishes its purchase before the run stops.
  terminal.Press('q');
  ASSERT_TRUE(terminal.WaitFor([](const std::string& s) {
    return Has(s, "\nreplay: ticketsim run .* --steps 1,1,1,1\n");
  })) << terminal.Screen();
  const std::string end = terminal.Screen();
  EXPECT_TRUE(Has(end, "stopped after step 1; steps 2 to 4: buyer 1")) << end;
  EXPECT_TRUE(Has(end, "\nsteps: 1,1,1,1\n")) << end;
  EXPECT_TRUE(Has(end, "verdict")) << end;
  EXPECT_EQ(terminal.Wait(), 0) << end;
  // The terminal is as it was.
  ASSERT_EQ(tcgetattr(terminal.master(), &mode), 0);
  EXPECT_EQ(mode.c_lflag & (ICANON | ECHO),
            static_cast<tcflag_t>(ICANON | ECHO));
  EXPECT_TRUE(LeftoversOf(terminal.pid()).empty());
}

TEST(StepCommandTest, CtrlCAtATerminalEndsTheRunAndPutsTheTerminalBack) {
  Terminal terminal(kRushArgs);
  ASSERT_TRUE(terminal.ok());
  ASSERT_TRUE(terminal.WaitFor([](const std::string& s) {
    return Has(s, "keys: 0-1");
  })) << terminal.all();
  terminal.Press('0');
  ASSERT_TRUE(terminal.WaitFor([](const std::string& s) {
    return Has(s, "step 2\n") && Has(s, "keys: 0-1");
  })) << terminal.Screen();
  terminal.Press('\003');  // the terminal's VINTR: SIGINT
  terminal.WaitFor([](const std::string&) { return false; });
  EXPECT_EQ(terminal.Wait(), 130) << terminal.all();
  termios mode{};
  ASSERT_EQ(tcgetattr(terminal.master(), &mode), 0);
  EXPECT_EQ(mode.c_lflag & (ICANON | ECHO),
            static_cast<tcflag_t>(ICANON | ECHO));
  EXPECT_TRUE(LeftoversOf(terminal.pid()).empty());
}

// At a terminal: the title names the flags that changed the scenario's
// file, and the board flags a seat sold twice the moment the second sale
// is written, with the values each step read and wrote.
TEST(StepCommandTest, AtATerminalTheBoardFlagsAViolationAsItHappens) {
  Terminal terminal({"step", testing::Library("01-rush-unguarded.toml"),
                     "--buyers", "2", "--attempts", "2"});
  ASSERT_TRUE(terminal.ok());
  ASSERT_TRUE(terminal.WaitFor([](const std::string& s) {
    return Has(s, "keys: 0-1");
  })) << terminal.all();
  EXPECT_TRUE(Has(terminal.Screen(),
                  "ticketsim step: The rush: ten buyers, one ticket, no lock "
                  "\\(changed: --buyers 2 --attempts 2\\), step 1\n"))
      << terminal.Screen();
  // Both read 1; buyer 0 thinks and writes, then buyer 1.
  for (char key : std::string("0011000111")) terminal.Press(key);
  ASSERT_TRUE(terminal.WaitFor([](const std::string& s) {
    return Has(s, "step 11\n") && Has(s, "keys: 0-1");
  })) << terminal.Screen();
  const std::string board = terminal.Screen();
  EXPECT_TRUE(Has(board,
                  "\nviolations so far: 1\n  step 10: seat 1 sold twice: "
                  "buyer 1 wrote 0 over buyer 0's sale\n"))
      << board;
  EXPECT_TRUE(Has(board,
                  "step 7: buyer 0 write\\(count - 1\\) -> wrote 0: "
                  "seat 1 sold\n"))
      << board;
  // Both stand before their second purchase: q stops at once.
  terminal.Press('q');
  ASSERT_TRUE(terminal.WaitFor([](const std::string& s) {
    return Has(s, "\nsteps: 0,0,1,1,0,0,0,1,1,1\n");
  })) << terminal.Screen();
  EXPECT_TRUE(Has(terminal.Screen(), "stopped after step 10:"))
      << terminal.Screen();
  EXPECT_EQ(terminal.Wait(), 0) << terminal.all();  // the lost update expected
  EXPECT_TRUE(LeftoversOf(terminal.pid()).empty());
}

}  // namespace
}  // namespace ticketsim
