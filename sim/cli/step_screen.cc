#include "sim/cli/step_screen.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <utility>

#include "base/escape.h"
#include "sim/history/event_words.h"

namespace ticketsim {
namespace {

// Columns a line takes: one per UTF-8 character (Visible leaves no
// controls).
size_t Width(std::string_view text) {
  return static_cast<size_t>(std::count_if(
      text.begin(), text.end(),
      [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// `text` cut to `width` columns, a `~` marking the cut.
std::string Fit(const std::string& text, size_t width) {
  if (Width(text) <= width) return text;
  std::string out;
  size_t columns = 0;
  for (char c : text) {
    const bool starts = (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (starts && ++columns > width - 1) break;
    out += c;
  }
  return out + "~";
}

std::string Trimmed(const std::string& text) {
  const size_t first = text.find_first_not_of(' ');
  return first == std::string::npos ? "" : text.substr(first);
}

bool Runnable(const StepBoard& board, uint32_t buyer) {
  return std::binary_search(board.runnable.begin(), board.runnable.end(),
                            buyer);
}

// How a blocked buyer stands: on which guard, and who holds it, or that
// the guard is free again.
std::vector<std::string> BlockedLines(const StepBoard& board, uint32_t buyer) {
  const BuyerView& v = board.buyers[buyer];
  const Scenario& scenario = *board.scenario;
  const size_t e = v.waits_for < 0 ? v.event : static_cast<size_t>(v.waits_for);
  if (Runnable(board, buyer)) {
    return {fmt::format("{} is free again:", GuardName(scenario, e)),
            "may try again"};
  }
  const std::vector<uint32_t> holders = Holders(board, e);
  return {fmt::format("blocked on {}", GuardName(scenario, e)),
          holders.empty() ? "(held by nobody alive)"
                          : fmt::format("held by {}", BuyerList(holders))};
}

// How a buyer stands: its process, its life, its step.
std::vector<std::string> StandingLines(const StepBoard& board, uint32_t buyer) {
  const BuyerView& v = board.buyers[buyer];
  if (!v.served) return {"waiting for a process"};
  if (!v.alive) return {v.state == StepState::kFinished ? "finished" : "died"};
  if (v.paused) return {"paused"};
  switch (v.state) {
    case StepState::kStarting:
      return {"starting"};
    case StepState::kReady:
      return {"ready"};
    case StepState::kFinished:
      return {"finished"};
    case StepState::kBlocked:
      return BlockedLines(board, buyer);
  }
  return {};
}

// Lines under a buyer's number: how it stands, then its attempt and the
// count it read.
std::vector<std::string> StateLines(const StepBoard& board, uint32_t buyer) {
  const BuyerView& v = board.buyers[buyer];
  std::vector<std::string> lines = StandingLines(board, buyer);
  const int64_t attempts = board.scenario->buyers.attempts;
  lines.push_back(fmt::format(
      "attempt {}/{}, read {}", std::min(v.attempt + 1, attempts), attempts,
      v.read ? fmt::format("{}", *v.read) : std::string("-")));
  return lines;
}

// The events `step` recorded, out of all its buyer's.
std::span<const Event> EventsOfStep(std::span<const Event> all,
                                    const ScheduledStep& step) {
  if (step.first_event >= all.size()) return {};
  return all.subspan(
      step.first_event,
      std::min<size_t>(step.events, all.size() - step.first_event));
}

// What a step's events say it did, for its line of the trace.
struct Effect {
  std::vector<std::string> parts;  // "1", "wrote 0: seat 1 sold", ...
  std::optional<int64_t> written;
  std::optional<int64_t> seat;
  bool torn = false;

  void Add(const Event& e) {
    switch (e.kind) {
      case EventKind::kQuery:
      case EventKind::kRead:
        return Read(e);
      case EventKind::kSoldOut:
        return parts.push_back("sold out");
      case EventKind::kTruncated:
        return parts.push_back("the file is empty");
      case EventKind::kWrite:
        return Wrote(e);
      case EventKind::kTook:
        return Took(e);
      case EventKind::kFailed:
        return parts.push_back(fmt::format("failed: {}", FailureName(e.aux)));
      case EventKind::kRetry:
        return parts.push_back("refused by the server: again from the read");
      default:
        return;
    }
  }

  void Read(const Event& e) {
    if ((e.flags & kTorn) != 0) {
      torn = true;
      parts.push_back("no count (torn read)");
    } else {
      parts.push_back(fmt::format("{}", e.value));
    }
  }

  void Wrote(const Event& e) {
    written = e.value;
    seat = e.value + 1;
    parts.push_back(
        fmt::format("wrote {}: seat {} sold", e.value, e.value + 1));
  }

  void Took(const Event& e) {
    if ((e.flags & kNoSeat) == 0) seat = e.value;
    parts.push_back(seat ? fmt::format("seat {} sold", e.value)
                         : std::string("sold"));
  }
};

Effect EffectOf(std::span<const Event> events) {
  Effect out;
  for (const Event& e : events) out.Add(e);
  return out;
}

// Whether `v` is inside a purchase: alive, past the first step of one
// (`first`, the first line of its code) and not finished.
bool InPurchase(const BuyerView& v, const CodeLine& first) {
  if (!v.alive || v.state == StepState::kStarting ||
      v.state == StepState::kFinished) {
    return false;
  }
  return v.next != first.kind || v.event != first.event;
}

// Writes a buyer's purchase as pseudo-code, a line per step.
class CodeWriter {
 public:
  CodeWriter(const Scenario& scenario, uint32_t buyer)
      : scenario_(scenario),
        guarded_(scenario.guard.kind != GuardKind::kNone),
        think_(scenario.buyers.think_ms.max > 0) {
    for (size_t e = 0; e < EventCount(scenario); ++e) order_.push_back(e);
    if (scenario.guard.order == GuardOrder::kOpposite && buyer % 2 == 1) {
      std::reverse(order_.begin(), order_.end());
    }
  }

  std::vector<CodeLine> Code() && {
    if (order_.size() == 1) {
      OneEvent();
    } else {
      SeveralEvents();
    }
    return std::move(code_);
  }

 private:
  void Add(std::string text, StepKind kind = StepKind::kNone,
           size_t event = 0) {
    code_.push_back({std::move(text), kind, event});
  }

  // A purchase of one event: its guard around the read and the write (or
  // around the query too, with the scope query-and-buy); a SQLite guard is
  // a transaction.
  void OneEvent() {
    std::string lock = "lock()";
    std::string unlock = "unlock()";
    if (StoreOfGuard(scenario_.guard.kind) == StoreKind::kSqlite) {
      lock = scenario_.guard.kind == GuardKind::kSqliteImmediate
                 ? "begin immediate"
                 : "begin";
      unlock = "commit";
    }
    const bool query_scope = scenario_.guard.scope == Scope::kQueryAndBuy;
    if (guarded_ && query_scope) Add(lock, StepKind::kAcquire);
    Add("n = read()", StepKind::kQuery);
    if (guarded_ && !query_scope) Add(lock, StepKind::kAcquire);
    if (scenario_.buyers.method == Method::kAtomic) {
      Add("take_one()", StepKind::kTake);
    } else {
      Add("count = read()", StepKind::kRead);
      Add("if count > 0:");
      if (think_) Add("  think()", StepKind::kThink);
      Write("", "count - 1", 0);
    }
    if (guarded_) Add(unlock, StepKind::kRelease);
  }

  // A purchase of several events: every guard in the buyer's order, every
  // count, every write, then the guards back in reverse.
  void SeveralEvents() {
    Add(fmt::format("n = read({})", Name(0)), StepKind::kQuery, 0);
    if (guarded_) Locks();
    for (size_t e : order_) {
      Add(fmt::format("{} = read({})", Var(e), Name(e)), StepKind::kRead, e);
    }
    Condition();
    if (think_) Add("  think()", StepKind::kThink, order_[0]);
    for (size_t e : order_) Write(Name(e) + ", ", Var(e) + " - 1", e);
    if (guarded_) {
      for (size_t i = order_.size(); i-- > 0;) {
        Add(fmt::format("unlock({})", Name(order_[i])), StepKind::kRelease,
            order_[i]);
      }
    }
  }

  // The guards in the buyer's order; with try-backoff, every one after the
  // first is tried, and backed off from if taken.
  void Locks() {
    const bool backoff = scenario_.guard.acquire == GuardAcquire::kTryBackoff;
    for (size_t i = 0; i < order_.size(); ++i) {
      const size_t e = order_[i];
      if (backoff && i > 0) {
        Add(fmt::format("if !try_lock({}):", Name(e)), StepKind::kAcquire, e);
        Add("  back off; retry", StepKind::kBackoff, e);
      } else {
        Add(fmt::format("lock({})", Name(e)), StepKind::kAcquire, e);
      }
    }
  }

  // Whether every count is above zero.
  void Condition() {
    if (order_.size() == 2) {
      Add(fmt::format("if {} > 0 and {} > 0:", Var(order_[0]), Var(order_[1])));
      return;
    }
    std::string vars;
    for (size_t e : order_) vars += (vars.empty() ? "" : ", ") + Var(e);
    Add(fmt::format("if min({}) > 0:", vars));
  }

  // The write of `value` to `target` ("" or "concert, "), as one step or
  // the file store's two.
  void Write(const std::string& target, const std::string& value,
             size_t event) {
    const StoreSpec& store = scenario_.store;
    if (!WritesInTwoHalves(store)) {
      Add(fmt::format("  write({}{})", target, value), StepKind::kWrite, event);
      return;
    }
    const std::string name =
        target.empty() ? "" : target.substr(0, target.size() - 2);
    if (store.kind == StoreKind::kFile && store.write == FileWrite::kReplace) {
      Add(fmt::format("  write_tmp({}{})", target, value), StepKind::kWrite,
          event);
      Add(fmt::format("  rename({})", name), StepKind::kWriteEnd, event);
    } else {
      Add(fmt::format("  truncate({})", name), StepKind::kWrite, event);
      Add(fmt::format("  write({}{})", target, value), StepKind::kWriteEnd,
          event);
    }
  }

  std::string Name(size_t e) const { return Visible(EventName(scenario_, e)); }
  static std::string Var(size_t e) {
    return std::string(1, static_cast<char>('a' + e));
  }

  const Scenario& scenario_;
  const bool guarded_;
  const bool think_;
  std::vector<size_t> order_;  // the events in the order of its guards
  std::vector<CodeLine> code_;
};

// A buyer's code, `>` before the line of the step it is stopped at.
std::vector<std::string> CodeRows(const BuyerView& v,
                                  std::span<const CodeLine> code) {
  const bool stopped = v.alive && v.state != StepState::kFinished &&
                       v.state != StepState::kStarting;
  const int at = stopped ? LineOf(code, v.next, v.event) : -1;
  std::vector<std::string> rows;
  for (size_t i = 0; i < code.size(); ++i) {
    rows.push_back((static_cast<int>(i) == at ? "> " : "  ") + code[i].text);
  }
  return rows;
}

// The board's columns, a buyer each: its number, how it stands (as many
// rows in every column, so that every column's code starts on one row),
// and its code, with `>` before the step it is stopped at; every line cut
// to kMaxColumn columns.
std::vector<std::vector<std::string>> Columns(
    const StepBoard& board, std::span<const std::vector<CodeLine>> code) {
  constexpr size_t kMaxColumn = 34;
  size_t state_rows = 0;
  std::vector<std::vector<std::string>> states;
  for (size_t b = 0; b < board.buyers.size(); ++b) {
    states.push_back(StateLines(board, static_cast<uint32_t>(b)));
    state_rows = std::max(state_rows, states.back().size());
  }
  std::vector<std::vector<std::string>> columns;
  for (size_t b = 0; b < board.buyers.size(); ++b) {
    std::vector<std::string> column = {fmt::format("buyer {}", b)};
    states[b].resize(state_rows);
    for (std::string& s : states[b]) column.push_back(std::move(s));
    column.push_back("--------");
    if (b < code.size()) {
      for (std::string& s : CodeRows(board.buyers[b], code[b])) {
        column.push_back(std::move(s));
      }
    }
    for (std::string& s : column) s = Fit(s, kMaxColumn);
    columns.push_back(std::move(column));
  }
  return columns;
}

// The terminal's width in columns (80 if it does not say).
size_t ScreenWidth(std::FILE* out) {
  winsize size{};
  if (ioctl(fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    return size.ws_col;
  }
  return 80;
}

// `columns` side by side, in bands as wide as the screen, a blank line
// after each band.
std::string SideBySide(const std::vector<std::vector<std::string>>& columns,
                       size_t screen) {
  size_t width = 0;
  for (const std::vector<std::string>& column : columns) {
    for (const std::string& s : column) width = std::max(width, Width(s));
  }
  width += 3;
  std::string out;
  const size_t per_band = std::max<size_t>(1, screen / width);
  for (size_t first = 0; first < columns.size(); first += per_band) {
    const size_t last = std::min(columns.size(), first + per_band);
    size_t rows = 0;
    for (size_t b = first; b < last; ++b) {
      rows = std::max(rows, columns[b].size());
    }
    for (size_t r = 0; r < rows; ++r) {
      for (size_t b = first; b < last; ++b) {
        const std::string cell = r < columns[b].size() ? columns[b][r] : "";
        out += cell;
        if (b + 1 < last) out += std::string(width - Width(cell), ' ');
      }
      out += '\n';
    }
    out += '\n';
  }
  return out;
}

// The count in each store, as the board reads it now.
std::string CountsLine(const StepBoard& board, const Scenario& scenario) {
  std::string counts;
  for (size_t e = 0; e < EventCount(scenario); ++e) {
    std::optional<int64_t> n;
    if (board.count) n = board.count(e);
    counts += fmt::format(
        "{}{}: {}", e == 0 ? "" : "   ", Visible(EventName(scenario, e)),
        n ? fmt::format("{}", *n) : std::string("? (cannot be read now)"));
  }
  return counts;
}

// Who holds each guard.
std::string GuardsLine(const StepBoard& board, const Scenario& scenario) {
  if (scenario.guard.kind == GuardKind::kNone) return "no guard";
  std::string guards;
  for (size_t e = 0; e < EventCount(scenario); ++e) {
    const std::vector<uint32_t> holders = Holders(board, e);
    std::string name = GuardName(scenario, e);
    if (name.rfind("the ", 0) == 0) name = name.substr(4);
    guards += fmt::format("{}{}: {}", e == 0 ? "" : "   ", name,
                          holders.empty() ? std::string("free")
                                          : "held by " + BuyerList(holders));
  }
  return guards;
}

class Forward : public StepChooser {
 public:
  explicit Forward(StepChooser* to) : to_(to) {}
  Choice Choose(const StepBoard& board) override { return to_->Choose(board); }
  void Took(uint64_t step, uint32_t buyer, StepKind kind) override {
    to_->Took(step, buyer, kind);
  }

 private:
  StepChooser* const to_;
};

class Stepped : public StepChooser {
 public:
  Stepped(StepScreen* screen, std::vector<uint32_t> prefix)
      : screen_(screen),
        list_(MakeListChooser(std::move(prefix), ForwardTo(screen))) {}
  Choice Choose(const StepBoard& board) override {
    screen_->See(board);
    return list_->Choose(board);
  }
  void Took(uint64_t step, uint32_t buyer, StepKind kind) override {
    list_->Took(step, buyer, kind);
  }

 private:
  StepScreen* const screen_;
  std::unique_ptr<StepChooser> list_;
};

}  // namespace

std::vector<CodeLine> PurchaseCode(const Scenario& scenario, uint32_t buyer) {
  return CodeWriter(scenario, buyer).Code();
}

int LineOf(std::span<const CodeLine> code, StepKind kind, size_t event) {
  for (size_t i = 0; i < code.size(); ++i) {
    if (code[i].kind == kind && code[i].event == event) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

std::unique_ptr<StepChooser> ForwardTo(StepChooser* to) {
  return std::make_unique<Forward>(to);
}

std::unique_ptr<StepChooser> MakeSteppedChooser(StepScreen* screen,
                                                std::vector<uint32_t> prefix) {
  return std::make_unique<Stepped>(screen, std::move(prefix));
}

StepScreen::StepScreen(const Scenario& scenario, int in, std::FILE* out,
                       bool terminal)
    : scenario_(scenario),
      in_(in),
      out_(out),
      terminal_(terminal),
      // `r` draws from a stream of its own, apart from the buyers' and the
      // seeded schedule's: the same keys make the same run.
      random_(scenario.buyers.seed ^ 0x5e1ec7ULL) {
  for (int64_t b = 0; b < scenario.buyers.count; ++b) {
    code_.push_back(PurchaseCode(scenario, static_cast<uint32_t>(b)));
  }
}

StepScreen::~StepScreen() { Restore(); }

Status StepScreen::Start() {
  if (!terminal_ || saved_) return Status::Ok();
  termios mode;
  if (tcgetattr(in_, &mode) != 0) {
    return Status::FromErrno("read the terminal's mode", errno);
  }
  termios keys = mode;
  keys.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
  keys.c_cc[VMIN] = 1;
  keys.c_cc[VTIME] = 0;
  keys.c_cc[VSUSP] = _POSIX_VDISABLE;
  if (tcsetattr(in_, TCSANOW, &keys) != 0) {
    return Status::FromErrno("set the terminal's mode", errno);
  }
  saved_ = mode;
  return Status::Ok();
}

void StepScreen::Restore() {
  if (!saved_) return;
  tcsetattr(in_, TCSANOW, &*saved_);
  saved_.reset();
}

void StepScreen::Replaying(uint64_t steps) {
  // The steps after them were undone.
  if (taken_.size() > steps) taken_.resize(steps);
  pending_ = false;
  said_ = taken_.size();
}

void StepScreen::See(const StepBoard& board) {
  seen_ = board.buyers;
  counts_.assign(EventCount(scenario_), std::nullopt);
  if (board.count) {
    for (size_t e = 0; e < counts_.size(); ++e) counts_[e] = board.count(e);
  }
  const ScheduledStep* done =
      pending_ && board.taken.size() == taken_.size() && !board.taken.empty()
          ? &board.taken.back()
          : nullptr;
  std::span<const Event> events;
  if (done != nullptr && board.events) {
    events = EventsOfStep(board.events(done->buyer), *done);
  }
  Settle(&board, done, events);
}

void StepScreen::Took(uint64_t step, uint32_t buyer, StepKind kind) {
  Settle(nullptr, nullptr, {});
  if (step < said_ && step < taken_.size() && taken_[step].buyer == buyer &&
      taken_[step].kind == kind) {
    // A replayed step: it did what it did before.
    taken_.resize(step + 1);
    return;
  }
  taken_.resize(step);
  Taken t;
  t.buyer = buyer;
  t.kind = kind;
  if (buyer < seen_.size()) t.event = seen_[buyer].event;
  taken_.push_back(std::move(t));
  pending_ = true;
}

void StepScreen::Settle(const StepBoard* board, const ScheduledStep* done,
                        std::span<const Event> events) {
  if (!pending_ || taken_.empty()) return;
  pending_ = false;
  Taken& t = taken_.back();
  Effect effect = EffectOf(events);
  t.written = effect.written;
  t.seat = effect.seat;
  t.torn = effect.torn;
  if (std::string ending = Ending(board, done, t); !ending.empty()) {
    effect.parts.push_back(std::move(ending));
  }
  if (!effect.parts.empty()) {
    t.result = fmt::format(" -> {}", fmt::join(effect.parts, ", "));
  }
  t.violation = ViolationIn(t);
  if (!terminal_) SayUpTo(taken_.size());
}

std::string StepScreen::Ending(const StepBoard* board,
                               const ScheduledStep* done,
                               const Taken& t) const {
  const StepOutcome outcome =
      done != nullptr ? done->outcome : StepOutcome::kMoved;
  if (outcome == StepOutcome::kDied) return "died";
  if (outcome == StepOutcome::kPaused) return "paused";
  if (board == nullptr || t.buyer >= board->buyers.size()) {
    return outcome == StepOutcome::kBlocked ? "blocked" : "";
  }
  const BuyerView& v = board->buyers[t.buyer];
  if (v.served && !v.alive && v.state != StepState::kFinished) return "died";
  if (v.paused) return "paused";
  if (t.kind == StepKind::kAcquire &&
      (outcome == StepOutcome::kBlocked || v.state == StepState::kBlocked)) {
    const std::vector<uint32_t> holders = Holders(*board, t.event);
    return holders.empty()
               ? "blocked"
               : fmt::format("blocked: {} holds it", BuyerList(holders));
  }
  if (t.kind == StepKind::kAcquire && v.next == StepKind::kBackoff) {
    return "taken by another";
  }
  return "";
}

std::string StepScreen::ViolationIn(const Taken& t) const {
  if (t.torn) {
    // A buyer between the two halves of its write has the file empty.
    for (size_t b = 0; b < seen_.size(); ++b) {
      const BuyerView& v = seen_[b];
      if (b != t.buyer && v.alive && v.next == StepKind::kWriteEnd &&
          v.event == t.event) {
        return fmt::format(
            "torn read: buyer {} read the count while buyer {} "
            "was rewriting it",
            t.buyer, b);
      }
    }
    return fmt::format("torn read: buyer {} found no count", t.buyer);
  }
  if (!t.seat) return "";
  int64_t times = 1;
  const Taken* before = nullptr;
  for (size_t i = 0; i + 1 < taken_.size(); ++i) {
    if (taken_[i].seat == t.seat && taken_[i].event == t.event) {
      ++times;
      before = &taken_[i];
    }
  }
  if (before == nullptr) return "";
  const std::string seat =
      EventCount(scenario_) > 1
          ? fmt::format("{} seat {}", Visible(EventName(scenario_, t.event)),
                        *t.seat)
          : fmt::format("seat {}", *t.seat);
  if (t.written) {
    return fmt::format("{} sold {}: buyer {} wrote {} over buyer {}'s sale",
                       seat, TimesSold(times), t.buyer, *t.written,
                       before->buyer);
  }
  return fmt::format("{} sold {}: buyer {} took it after buyer {}", seat,
                     TimesSold(times), t.buyer, before->buyer);
}

void StepScreen::SayUpTo(uint64_t steps) {
  for (; said_ < steps && said_ < taken_.size(); ++said_) {
    Say(fmt::format("step {}: {}", said_ + 1, StepText(said_)));
    if (!taken_[said_].violation.empty()) {
      Say("  violation: " + Visible(taken_[said_].violation));
    }
  }
}

void StepScreen::Finish(const RunResult& result) {
  const std::vector<ScheduledStep>& log = result.schedule.steps;
  const auto events = [&result](const ScheduledStep& step) {
    return result.history
               ? EventsOfStep(result.history->EventsOf(step.buyer), step)
               : std::span<const Event>();
  };
  if (log.size() == taken_.size() && !log.empty()) {
    Settle(nullptr, &log.back(), events(log.back()));
  } else {
    Settle(nullptr, nullptr, {});
  }
  // A step during which the run ended (a buyer's death that left a lock
  // abandoned, an interrupt) is in the log only.
  for (size_t i = taken_.size(); i < log.size(); ++i) {
    Taken t;
    t.buyer = log[i].buyer;
    t.kind = log[i].kind;
    t.event = log[i].event;
    Effect effect = EffectOf(events(log[i]));
    effect.parts.push_back(
        log[i].outcome == StepOutcome::kDied ? "died" : "the run ended");
    t.result = fmt::format(" -> {}", fmt::join(effect.parts, ", "));
    taken_.push_back(std::move(t));
  }
  SayUpTo(std::min<uint64_t>(taken_.size(), log.size()));
}

std::string StepScreen::QuitText(const ScheduleLog& log) const {
  if (!quit_at_) return "";
  const uint64_t quit = *quit_at_;
  std::string out = quit == 0 ? std::string("stopped before the first step")
                              : fmt::format("stopped after step {}", quit);
  const uint64_t steps = log.steps.size();
  if (steps <= quit) return out;
  std::vector<uint32_t> buyers;
  for (uint64_t s = quit; s < steps; ++s) buyers.push_back(log.steps[s].buyer);
  std::sort(buyers.begin(), buyers.end());
  buyers.erase(std::unique(buyers.begin(), buyers.end()), buyers.end());
  return out + fmt::format("; {}: {} finishing the purchase{} in flight",
                           steps == quit + 1
                               ? fmt::format("step {}", steps)
                               : fmt::format("steps {} to {}", quit + 1, steps),
                           BuyerList(buyers), buyers.size() == 1 ? "" : "s");
}

std::string StepScreen::CodeText(uint32_t buyer, StepKind kind,
                                 size_t event) const {
  if (buyer < code_.size()) {
    const int line = LineOf(code_[buyer], kind, event);
    if (line >= 0) return Trimmed(code_[buyer][line].text);
  }
  return std::string(WordOf(kStepKinds, kind));
}

std::string StepScreen::StepText(uint64_t step) const {
  if (step >= taken_.size()) return "";
  const Taken& t = taken_[step];
  return fmt::format("buyer {} {}{}", t.buyer,
                     CodeText(t.buyer, t.kind, t.event), t.result);
}

void StepScreen::Say(const std::string& line) {
  std::fputs(line.c_str(), out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

StepScreen::Key StepScreen::ReadKey(int signal_fd, char* c) {
  pollfd fds[2] = {{in_, POLLIN, 0}, {signal_fd, POLLIN, 0}};
  const nfds_t n = signal_fd >= 0 ? 2 : 1;
  for (;;) {
    if (poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      return Key::kEnd;
    }
    // A pending signal first: an interrupt ends the run even while keys
    // are waiting.
    if (n == 2 && fds[1].revents != 0) return Key::kSignal;
    if (fds[0].revents == 0) continue;
    const ssize_t r = read(in_, c, 1);
    if (r == 1) return Key::kChar;
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return Key::kEnd;
  }
}

Choice StepScreen::Finishing(const StepBoard& board) {
  const auto inside = [&](uint32_t b) {
    return Runnable(board, b) && b < code_.size() && !code_[b].empty() &&
           InPurchase(board.buyers[b], code_[b][0]);
  };
  // One buyer at a time finishes its purchase, so that q adds no
  // interleaving of its own; one that blocks, or backs off, passes the turn
  // on (the holder it waits for is inside a purchase too).
  const bool backed_off = !taken_.empty() &&
                          taken_.back().buyer == finishing_ &&
                          taken_.back().kind == StepKind::kBackoff;
  const uint32_t n = static_cast<uint32_t>(board.buyers.size());
  Choice choice;
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t b = (finishing_ + i + (backed_off ? 1 : 0)) % n;
    if (inside(b)) {
      finishing_ = b;
      choice.buyer = b;
      return choice;
    }
  }
  choice.what = Choice::What::kStop;
  return choice;
}

Choice StepScreen::Choose(const StepBoard& board) {
  See(board);
  // After q the steps are ticketsim's: Finish says them.
  if (quit_at_) return Finishing(board);
  if (terminal_) said_ = taken_.size();  // the board shows them
  bool draw = true;
  for (;;) {
    if (terminal_ && draw) Redraw(board);
    char c = 0;
    const Key key = ReadKey(board.signal_fd, &c);
    if (key == Key::kSignal) {
      Choice choice;
      choice.what = Choice::What::kWait;
      return choice;
    }
    // The end of input stops as q does.
    if (key == Key::kEnd) return *Quit(board, c);
    // Blanks and commas between keys: nothing to do, nothing to draw again.
    draw = !std::isspace(static_cast<unsigned char>(c)) && c != ',';
    if (!draw) continue;
    if (std::optional<Choice> choice = OnKey(board, c)) return *choice;
  }
}

std::optional<Choice> StepScreen::OnKey(const StepBoard& board, char c) {
  using Action = std::optional<Choice> (StepScreen::*)(const StepBoard&, char);
  struct KeyAction {
    std::string_view keys;
    Action action;
  };
  static constexpr KeyAction kKeys[] = {
      {"qQ\x04", &StepScreen::Quit},  // Ctrl-D too
      {"uU", &StepScreen::Undo},
      {"rR", &StepScreen::Random},
      {"0123456789", &StepScreen::PickBuyer},
  };
  for (const KeyAction& k : kKeys) {
    if (k.keys.find(c) != std::string_view::npos) {
      return (this->*k.action)(board, c);
    }
  }
  Reject(fmt::format("the key {} does nothing: 0-9 a buyer, r, u or q",
                     Visible(std::string(1, c))));
  return std::nullopt;
}

std::optional<Choice> StepScreen::Quit(const StepBoard& board, char) {
  quit_at_ = board.step;
  return Finishing(board);
}

std::optional<Choice> StepScreen::Undo(const StepBoard& board, char) {
  if (board.step == 0) {
    Reject("nothing to undo: no step has been taken");
    return std::nullopt;
  }
  if (!terminal_) Say(fmt::format("undo: step {}", board.step));
  Choice choice;
  choice.what = Choice::What::kUndo;
  return choice;
}

std::optional<Choice> StepScreen::Random(const StepBoard& board, char) {
  Choice choice;
  choice.buyer = board.runnable[random_() % board.runnable.size()];
  return choice;
}

std::optional<Choice> StepScreen::PickBuyer(const StepBoard& board, char c) {
  const uint32_t buyer = static_cast<uint32_t>(c - '0');
  if (!Runnable(board, buyer)) {
    Reject(fmt::format("buyer {} cannot take a step: {}", buyer,
                       WhyNotRunnable(board, buyer)));
    return std::nullopt;
  }
  Choice choice;
  choice.buyer = buyer;
  return choice;
}

void StepScreen::Reject(std::string why) {
  if (terminal_) {
    message_ = std::move(why);
  } else {
    Say(why);
  }
}

void StepScreen::Redraw(const StepBoard& board) {
  std::fputs(("\033[H\033[2J" + Draw(board)).c_str(), out_);
  std::fflush(out_);
  message_.clear();
}

std::vector<std::string> StepScreen::ViolationLines(uint64_t steps) const {
  std::vector<uint64_t> flagged;
  for (uint64_t s = 0; s < steps && s < taken_.size(); ++s) {
    if (!taken_[s].violation.empty()) flagged.push_back(s);
  }
  if (flagged.empty()) return {};
  std::vector<std::string> lines = {
      fmt::format("violations so far: {}", flagged.size())};
  constexpr size_t kShown = 3;  // the last ones
  for (size_t i = flagged.size() > kShown ? flagged.size() - kShown : 0;
       i < flagged.size(); ++i) {
    lines.push_back(fmt::format("  step {}: {}", flagged[i] + 1,
                                Visible(taken_[flagged[i]].violation)));
  }
  return lines;
}

std::vector<std::string> StepScreen::LastStepLines(uint64_t steps) const {
  constexpr uint64_t kStepsShown = 5;
  if (steps == 0) return {};
  std::vector<std::string> lines = {"last steps:"};
  for (uint64_t s = steps > kStepsShown ? steps - kStepsShown : 0; s < steps;
       ++s) {
    lines.push_back(fmt::format("  step {}: {}", s + 1, StepText(s)));
  }
  return lines;
}

std::string StepScreen::Draw(const StepBoard& board) const {
  std::string out;
  const auto line = [&out](std::string_view text) {
    out += text;
    out += '\n';
  };
  line(fmt::format("ticketsim step: {}, step {}", Visible(scenario_.name),
                   board.step + 1));
  line(Visible(DescribeSetup(scenario_)));
  line("");
  out += SideBySide(Columns(board, code_), ScreenWidth(out_));
  line(CountsLine(board, scenario_));
  line(GuardsLine(board, scenario_));
  const uint64_t taken = std::min<uint64_t>(board.step, taken_.size());
  for (const std::string& l : ViolationLines(taken)) line(l);
  for (const std::string& l : LastStepLines(taken)) line(l);
  line("");
  if (!message_.empty()) line(message_);
  line(fmt::format(
      "keys: 0-{} that buyer takes a step   r a random one   u undo the last "
      "step   q quit",
      board.buyers.empty() ? 0 : board.buyers.size() - 1));
  return out;
}

}  // namespace ticketsim
