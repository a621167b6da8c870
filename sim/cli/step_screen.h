// StepScreen: the chooser of `ticketsim step`, where a person takes the
// buyers through their purchases one step at a time.
//
// At a terminal (stdin and stdout both terminals) it draws the board before
// each choice: one column per buyer, its purchase as a few lines of
// pseudo-code with `>` before the step it is stopped at, then the count in
// each store, who holds each guard, the last steps taken and the keys. It
// reads keys one at a time, without echo (Ctrl-C still interrupts).
//
// Through a pipe it reads the same keys from stdin (blanks and commas
// between them are skipped, so "0 0 1 1 q" is a script) and says each step
// taken in one plain line; the end of stdin is `q`.
//
// Keys: 0-9 that buyer takes its next step, r a buyer drawn from the
// scenario's seed, u undo the last step (the run is made again one step
// shorter), q stop. A stop never cuts a purchase in the middle (a buyer
// killed between truncate and write would leave the damage to ticketsim,
// not to the race): after q the buyers inside a purchase finish it, one
// after another (one that blocks passes the turn on), and the verdict is
// that of whole purchases.
//
// Each step says what it did (the count read, the count written and the
// seat sold, a sold-out read's count), and a step that sells a seat sold
// before, or reads a file another buyer is rewriting, is flagged as the
// violation it is the moment it happens.
#ifndef TICKETSIM_SIM_CLI_STEP_SCREEN_H_
#define TICKETSIM_SIM_CLI_STEP_SCREEN_H_

#include <termios.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "sim/history/history.h"
#include "sim/run/run.h"
#include "sim/scenario/scenario.h"
#include "sim/scenario/schedule.h"
#include "sim/schedule/scheduler.h"

namespace ticketsim {

// One key per buyer: 0-9.
inline constexpr int64_t kMaxSteppedBuyers = 10;

// One line of a buyer's purchase. `kind` kNone: not a step of its own (an
// `if`); otherwise the step the line stands for, of `event`.
struct CodeLine {
  std::string text;  // indented by two spaces per level
  StepKind kind = StepKind::kNone;
  size_t event = 0;
};

// Buyer `buyer`'s purchase, in the order its steps come (several events:
// in the order that buyer takes their guards).
std::vector<CodeLine> PurchaseCode(const Scenario& scenario, uint32_t buyer);

// The index of the line of `code` for step `kind` of `event`, or -1.
int LineOf(std::span<const CodeLine> code, StepKind kind, size_t event);

class StepScreen : public StepChooser {
 public:
  // Keys come from `in`; the board or the lines go to `out`. `terminal`:
  // draw the board and read keys raw (see Start), else plain lines.
  StepScreen(const Scenario& scenario, int in, std::FILE* out, bool terminal);
  ~StepScreen() override;
  StepScreen(const StepScreen&) = delete;
  StepScreen& operator=(const StepScreen&) = delete;

  // At a terminal: keys without echo, one at a time, with Ctrl-C still an
  // interrupt and Ctrl-Z off (a stopped ticketsim would leave the terminal
  // in this mode). Restore (or the destructor) puts the terminal back.
  Status Start();
  void Restore();

  // Before a run that replays its first `steps` steps (after an undo):
  // those were said already and are not said again.
  void Replaying(uint64_t steps);
  // Looks at the board before a step that a list, not this screen, chooses
  // (the replayed steps): what the last step did shows on it.
  void See(const StepBoard& board);
  // After a run: says the steps the board did not show yet.
  void Finish(const RunResult& result);

  Choice Choose(const StepBoard& board) override;
  void Took(uint64_t step, uint32_t buyer, StepKind kind) override;

  // After q, where it stopped `log`'s run: "stopped after step 3; steps 4
  // to 6: buyers 0 and 1 finishing the purchases in flight". "" before q.
  std::string QuitText(const ScheduleLog& log) const;

  // "buyer 1 count = read() -> 1": what step `step` (from 0) did.
  std::string StepText(uint64_t step) const;

  // The board as drawn at a terminal (without the clearing), for tests.
  std::string Draw(const StepBoard& board) const;

 private:
  struct Taken {
    uint32_t buyer = 0;
    StepKind kind = StepKind::kNone;
    size_t event = 0;
    std::string result;              // " -> 1", " -> blocked", "" until known
    std::optional<int64_t> written;  // the count it wrote
    std::optional<int64_t> seat;     // the seat it sold
    bool torn = false;               // a read that found no count
    std::string violation;           // "seat 1 sold twice: ..."
  };
  enum class Key { kChar, kSignal, kEnd };

  Key ReadKey(int signal_fd, char* c);
  void Say(const std::string& line);
  // Through a pipe, or at the end: says the steps not said yet, up to
  // `steps`.
  void SayUpTo(uint64_t steps);
  // Completes the last step's line from what it recorded (`events`), how
  // it ended (`done`, from the log) and `board` after it, and says it
  // through a pipe.
  void Settle(const StepBoard* board, const ScheduledStep* done,
              std::span<const Event> events);
  // How step `t` ended, when not simply moved on: "died", "blocked: ...".
  std::string Ending(const StepBoard* board, const ScheduledStep* done,
                     const Taken& t) const;
  // The violation the last step made, if any.
  std::string ViolationIn(const Taken& t) const;
  // For the board: "violations so far: N", then the last few flagged in
  // the first `steps` steps, a line each.
  std::vector<std::string> ViolationLines(uint64_t steps) const;
  // For the board: "last steps:", then the last few of the first `steps`
  // steps, a line each.
  std::vector<std::string> LastStepLines(uint64_t steps) const;
  // After q: a buyer inside a purchase, or stop.
  Choice Finishing(const StepBoard& board);
  // What key `c` does: a choice, or none (a key that did nothing, said
  // with Reject), and the next key is read. One function per key.
  std::optional<Choice> OnKey(const StepBoard& board, char c);
  std::optional<Choice> Quit(const StepBoard& board, char c);
  std::optional<Choice> Undo(const StepBoard& board, char c);
  std::optional<Choice> Random(const StepBoard& board, char c);
  std::optional<Choice> PickBuyer(const StepBoard& board, char c);
  // Why a key did nothing: on the board drawn next, or in a line.
  void Reject(std::string why);
  // Clears the terminal and draws the board (with Reject's message, once).
  void Redraw(const StepBoard& board);
  std::string CodeText(uint32_t buyer, StepKind kind, size_t event) const;

  const Scenario& scenario_;
  const int in_;
  std::FILE* const out_;
  const bool terminal_;
  std::vector<std::vector<CodeLine>> code_;  // per buyer
  std::mt19937_64 random_;
  std::vector<Taken> taken_;  // per step of this run, from 0
  // The last board seen, before the step now being taken.
  std::vector<BuyerView> seen_;
  std::vector<std::optional<int64_t>> counts_;
  bool pending_ = false;  // taken_.back() not settled yet
  uint64_t said_ = 0;     // steps said so far (through a pipe)
  std::string message_;   // why the last key did nothing
  std::optional<uint64_t> quit_at_;
  uint32_t finishing_ = 0;  // after q: the buyer finishing its purchase
  std::optional<termios> saved_;
};

// A chooser that passes every call on to `to`, which it does not own (for
// MakeListChooser, which owns the chooser after the list).
std::unique_ptr<StepChooser> ForwardTo(StepChooser* to);

// `screen` after `prefix`: the listed steps are taken without asking, but
// the screen sees each of them.
std::unique_ptr<StepChooser> MakeSteppedChooser(StepScreen* screen,
                                                std::vector<uint32_t> prefix);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_STEP_SCREEN_H_
