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

// Lines under a buyer's number: how it stands.
std::vector<std::string> StateLines(const StepBoard& board, uint32_t buyer) {
  const BuyerView& v = board.buyers[buyer];
  const Scenario& scenario = *board.scenario;
  std::vector<std::string> lines;
  if (!v.served) {
    lines.push_back("waiting for a process");
  } else if (!v.alive) {
    lines.push_back(v.state == StepState::kFinished ? "finished" : "died");
  } else if (v.paused) {
    lines.push_back("paused");
  } else {
    switch (v.state) {
      case StepState::kStarting:
        lines.push_back("starting");
        break;
      case StepState::kReady:
        lines.push_back("ready");
        break;
      case StepState::kFinished:
        lines.push_back("finished");
        break;
      case StepState::kBlocked: {
        const size_t e =
            v.waits_for < 0 ? v.event : static_cast<size_t>(v.waits_for);
        if (Runnable(board, buyer)) {
          lines.push_back(
              fmt::format("{} is free again:", GuardName(scenario, e)));
          lines.push_back("may try again");
        } else {
          lines.push_back(fmt::format("blocked on {}", GuardName(scenario, e)));
          const std::vector<uint32_t> holders = Holders(board, e);
          lines.push_back(holders.empty()
                              ? "(held by nobody alive)"
                              : fmt::format("held by {}", BuyerList(holders)));
        }
        break;
      }
    }
  }
  const int64_t attempts = scenario.buyers.attempts;
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
};

Effect EffectOf(std::span<const Event> events) {
  Effect out;
  for (const Event& e : events) {
    switch (e.kind) {
      case EventKind::kQuery:
      case EventKind::kRead:
        if ((e.flags & kTorn) != 0) {
          out.torn = true;
          out.parts.push_back("no count (torn read)");
        } else {
          out.parts.push_back(fmt::format("{}", e.value));
        }
        break;
      case EventKind::kSoldOut:
        out.parts.push_back("sold out");
        break;
      case EventKind::kTruncated:
        out.parts.push_back("the file is empty");
        break;
      case EventKind::kWrite:
        out.written = e.value;
        out.seat = e.value + 1;
        out.parts.push_back(
            fmt::format("wrote {}: seat {} sold", e.value, e.value + 1));
        break;
      case EventKind::kTook:
        if ((e.flags & kNoSeat) == 0) out.seat = e.value;
        out.parts.push_back(out.seat ? fmt::format("seat {} sold", e.value)
                                     : std::string("sold"));
        break;
      case EventKind::kFailed:
        out.parts.push_back(fmt::format("failed: {}", FailureName(e.aux)));
        break;
      case EventKind::kRetry:
        out.parts.push_back("refused by the server: again from the read");
        break;
      default:
        break;
    }
  }
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
  std::vector<CodeLine> code;
  const auto add = [&code](std::string text, StepKind kind = StepKind::kNone,
                           size_t event = 0) {
    code.push_back({std::move(text), kind, event});
  };
  const bool guarded = scenario.guard.kind != GuardKind::kNone;
  const bool think = scenario.buyers.think_ms.max > 0;
  const StoreSpec& store = scenario.store;
  const bool halves = WritesInTwoHalves(store);
  const bool replace =
      store.kind == StoreKind::kFile && store.write == FileWrite::kReplace;
  // The write of `value` to `target` ("" or "concert, "), as one step or
  // the file store's two.
  const auto write = [&](const std::string& target, const std::string& value,
                         size_t event) {
    if (!halves) {
      add(fmt::format("  write({}{})", target, value), StepKind::kWrite, event);
      return;
    }
    const std::string name =
        target.empty() ? "" : target.substr(0, target.size() - 2);
    if (replace) {
      add(fmt::format("  write_tmp({}{})", target, value), StepKind::kWrite,
          event);
      add(fmt::format("  rename({})", name), StepKind::kWriteEnd, event);
    } else {
      add(fmt::format("  truncate({})", name), StepKind::kWrite, event);
      add(fmt::format("  write({}{})", target, value), StepKind::kWriteEnd,
          event);
    }
  };

  const size_t events = EventCount(scenario);
  if (events == 1) {
    std::string lock = "lock()";
    std::string unlock = "unlock()";
    if (StoreOfGuard(scenario.guard.kind) == StoreKind::kSqlite) {
      lock = scenario.guard.kind == GuardKind::kSqliteImmediate
                 ? "begin immediate"
                 : "begin";
      unlock = "commit";
    }
    const bool query_scope = scenario.guard.scope == Scope::kQueryAndBuy;
    if (guarded && query_scope) add(lock, StepKind::kAcquire);
    add("n = read()", StepKind::kQuery);
    if (guarded && !query_scope) add(lock, StepKind::kAcquire);
    if (scenario.buyers.method == Method::kAtomic) {
      add("take_one()", StepKind::kTake);
    } else {
      add("count = read()", StepKind::kRead);
      add("if count > 0:");
      if (think) add("  think()", StepKind::kThink);
      write("", "count - 1", 0);
    }
    if (guarded) add(unlock, StepKind::kRelease);
    return code;
  }

  // A purchase of several events: every guard in the buyer's order, every
  // count, every write, then the guards back in reverse.
  std::vector<size_t> order;
  for (size_t e = 0; e < events; ++e) order.push_back(e);
  if (scenario.guard.order == GuardOrder::kOpposite && buyer % 2 == 1) {
    std::reverse(order.begin(), order.end());
  }
  const auto name = [&](size_t e) { return Visible(EventName(scenario, e)); };
  const auto var = [](size_t e) {
    return std::string(1, static_cast<char>('a' + e));
  };
  const bool backoff =
      guarded && scenario.guard.acquire == GuardAcquire::kTryBackoff;
  add(fmt::format("n = read({})", name(0)), StepKind::kQuery, 0);
  for (size_t i = 0; i < order.size(); ++i) {
    const size_t e = order[i];
    if (!guarded) {
      continue;
    } else if (backoff && i > 0) {
      add(fmt::format("if !try_lock({}):", name(e)), StepKind::kAcquire, e);
      add("  back off; retry", StepKind::kBackoff, e);
    } else {
      add(fmt::format("lock({})", name(e)), StepKind::kAcquire, e);
    }
  }
  for (size_t e : order) {
    add(fmt::format("{} = read({})", var(e), name(e)), StepKind::kRead, e);
  }
  std::string vars;
  for (size_t e : order) vars += (vars.empty() ? "" : ", ") + var(e);
  if (order.size() == 2) {
    add(fmt::format("if {} > 0 and {} > 0:", var(order[0]), var(order[1])));
  } else {
    add(fmt::format("if min({}) > 0:", vars));
  }
  if (think) add("  think()", StepKind::kThink, order[0]);
  for (size_t e : order) {
    write(name(e) + ", ", var(e) + " - 1", e);
  }
  if (guarded) {
    for (size_t i = order.size(); i-- > 0;) {
      add(fmt::format("unlock({})", name(order[i])), StepKind::kRelease,
          order[i]);
    }
  }
  return code;
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
  Choice choice;
  const auto reject = [this](std::string why) {
    if (terminal_) {
      message_ = std::move(why);
    } else {
      Say(why);
    }
  };
  bool draw = true;
  for (;;) {
    if (terminal_ && draw) {
      std::fputs(("\033[H\033[2J" + Draw(board)).c_str(), out_);
      std::fflush(out_);
      message_.clear();
    }
    draw = true;
    char c = 0;
    const Key key = ReadKey(board.signal_fd, &c);
    if (key == Key::kSignal) {
      choice.what = Choice::What::kWait;
      return choice;
    }
    // End of input, q, or Ctrl-D.
    if (key == Key::kEnd || c == 'q' || c == 'Q' || c == 4) {
      quit_at_ = board.step;
      return Finishing(board);
    }
    if (std::isspace(static_cast<unsigned char>(c)) || c == ',') {
      draw = false;
      continue;
    }
    if (c == 'u' || c == 'U') {
      if (board.step == 0) {
        reject("nothing to undo: no step has been taken");
        continue;
      }
      if (!terminal_) Say(fmt::format("undo: step {}", board.step));
      choice.what = Choice::What::kUndo;
      return choice;
    }
    if (c == 'r' || c == 'R') {
      choice.buyer = board.runnable[random_() % board.runnable.size()];
      return choice;
    }
    if (c >= '0' && c <= '9') {
      const uint32_t buyer = static_cast<uint32_t>(c - '0');
      if (Runnable(board, buyer)) {
        choice.buyer = buyer;
        return choice;
      }
      reject(fmt::format("buyer {} cannot take a step: {}", buyer,
                         WhyNotRunnable(board, buyer)));
      continue;
    }
    reject(fmt::format("the key {} does nothing: 0-9 a buyer, r, u or q",
                       Visible(std::string(1, c))));
  }
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

  // One column per buyer, in bands as wide as the terminal.
  constexpr size_t kMaxColumn = 34;
  std::vector<std::vector<std::string>> columns;
  size_t width = 0;
  // Every column's code starts on one row.
  size_t state_rows = 0;
  std::vector<std::vector<std::string>> states;
  for (size_t b = 0; b < board.buyers.size(); ++b) {
    states.push_back(StateLines(board, static_cast<uint32_t>(b)));
    state_rows = std::max(state_rows, states.back().size());
  }
  for (size_t b = 0; b < board.buyers.size(); ++b) {
    std::vector<std::string> column;
    column.push_back(fmt::format("buyer {}", b));
    states[b].resize(state_rows);
    for (std::string& s : states[b]) column.push_back(std::move(s));
    column.push_back("--------");
    const BuyerView& v = board.buyers[b];
    const bool stopped = v.alive && v.state != StepState::kFinished &&
                         v.state != StepState::kStarting;
    const int at =
        stopped && b < code_.size() ? LineOf(code_[b], v.next, v.event) : -1;
    for (size_t i = 0; b < code_.size() && i < code_[b].size(); ++i) {
      column.push_back((static_cast<int>(i) == at ? "> " : "  ") +
                       code_[b][i].text);
    }
    for (std::string& s : column) {
      s = Fit(s, kMaxColumn);
      width = std::max(width, Width(s));
    }
    columns.push_back(std::move(column));
  }
  width += 3;
  size_t screen = 80;
  winsize size{};
  if (ioctl(fileno(out_), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    screen = size.ws_col;
  }
  const size_t per_band = std::max<size_t>(1, screen / width);
  for (size_t first = 0; first < columns.size(); first += per_band) {
    const size_t last = std::min(columns.size(), first + per_band);
    size_t rows = 0;
    for (size_t b = first; b < last; ++b) {
      rows = std::max(rows, columns[b].size());
    }
    for (size_t r = 0; r < rows; ++r) {
      std::string row;
      for (size_t b = first; b < last; ++b) {
        const std::string cell = r < columns[b].size() ? columns[b][r] : "";
        row += cell;
        if (b + 1 < last) row += std::string(width - Width(cell), ' ');
      }
      line(row);
    }
    line("");
  }

  // The stores and the guards.
  std::string counts;
  for (size_t e = 0; e < EventCount(scenario_); ++e) {
    std::optional<int64_t> n;
    if (board.count) n = board.count(e);
    counts += fmt::format(
        "{}{}: {}", e == 0 ? "" : "   ", Visible(EventName(scenario_, e)),
        n ? fmt::format("{}", *n) : std::string("? (cannot be read now)"));
  }
  line(counts);
  if (scenario_.guard.kind == GuardKind::kNone) {
    line("no guard");
  } else {
    std::string guards;
    for (size_t e = 0; e < EventCount(scenario_); ++e) {
      const std::vector<uint32_t> holders = Holders(board, e);
      std::string name = GuardName(scenario_, e);
      if (name.rfind("the ", 0) == 0) name = name.substr(4);
      guards += fmt::format("{}{}: {}", e == 0 ? "" : "   ", name,
                            holders.empty() ? std::string("free")
                                            : "held by " + BuyerList(holders));
    }
    line(guards);
  }

  const uint64_t taken = std::min<uint64_t>(board.step, taken_.size());
  for (const std::string& l : ViolationLines(taken)) line(l);

  // The last steps of this run.
  constexpr uint64_t kStepsShown = 5;
  if (taken > 0) {
    line("last steps:");
    for (uint64_t s = taken > kStepsShown ? taken - kStepsShown : 0; s < taken;
         ++s) {
      line(fmt::format("  step {}: {}", s + 1, StepText(s)));
    }
  }
  line("");
  if (!message_.empty()) line(message_);
  line(fmt::format(
      "keys: 0-{} that buyer takes a step   r a random one   u undo the last "
      "step   q quit",
      board.buyers.empty() ? 0 : board.buyers.size() - 1));
  return out;
}

}  // namespace ticketsim
