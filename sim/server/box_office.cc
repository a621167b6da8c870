#include "sim/server/box_office.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include "base/clock.h"
#include "storage/make_store.h"

namespace ticketsim {

Status BoxOffice::Open(const Scenario& scenario,
                       std::unique_ptr<BoxOffice>* out) {
  std::unique_ptr<BoxOffice> office(new BoxOffice());
  // Made before anything is created, so that a half-made office is removed
  // whole by its destructor.
  Status s = office->Create(scenario);
  if (!s.ok()) return s;
  *out = std::move(office);
  return Status::Ok();
}

Status BoxOffice::Create(const Scenario& scenario) {
  scenario_ = scenario;
  if (Status s = StartRun(&names_, &lease_); !s.ok()) return s;
  store_ = MakeStore(scenario_.store, names_);
  purposes_ = store_->ObjectPurposes();
  if (Status s = store_->Create(scenario_.initial); !s.ok()) return s;
  guard_ = MakeGuard(scenario_.guard, names_, store_.get());
  const std::vector<std::string> guard_purposes = guard_->ObjectPurposes();
  purposes_.insert(purposes_.end(), guard_purposes.begin(),
                   guard_purposes.end());
  if (Status s = guard_->Create(); !s.ok()) return s;
  specs_.store = scenario_.store;
  specs_.guard = scenario_.guard;
  specs_.names = {names_};
  stores_ = {store_.get()};
  guards_ = {guard_.get()};
  const auto lanes = static_cast<size_t>(scenario_.server.max_buyers);
  control_ = std::make_unique<SharedControl>(lanes, 1);
  if (control_->get() == nullptr) {
    return Status::Environment("could not map the box office's control block");
  }
  const size_t per_lane = static_cast<size_t>(scenario_.server.max_attempts) *
                          EventsPerAttempt(scenario_);
  if (Status s = history_.Map(lanes, per_lane); !s.ok()) return s;
  // The sale opens now: the history's times count from here.
  control_->get()->start_ns.store(MonotonicNs());
  control_->get()->go.store(1);
  return Status::Ok();
}

BoxOffice::~BoxOffice() {
  guard_.reset();
  if (store_ != nullptr) store_->Destroy();
  store_.reset();
  if (!names_.tag.empty()) RemoveRunObjects(names_, purposes_);
}

Status BoxOffice::OpenWindow(std::unique_ptr<Window>* out) {
  const uint32_t buyer = next_buyer_.fetch_add(1);
  if (buyer >= scenario_.server.max_buyers) {
    next_buyer_.store(static_cast<uint32_t>(scenario_.server.max_buyers));
    return Status::Invalid(fmt::format(
        "the box office has served its {} connections (server.max_buyers)",
        scenario_.server.max_buyers));
  }
  std::unique_ptr<Window> window(new Window(this, buyer));
  BuyerWork work{&scenario_, stores_, guards_, control_->get(),
                 &history_,  nullptr, &specs_};
  window->objects_ = std::make_unique<ThreadObjects>(work);
  const BuyerWork mine = window->objects_->For(work);
  for (size_t e = 0; e < mine.stores.size(); ++e) {
    Status s = mine.stores[e]->Attach();
    if (s.ok()) s = mine.guards[e]->Attach();
    if (!s.ok()) return s;
  }
  control_->get()->slots[buyer].process.store(0);
  window->purchaser_ = std::make_unique<Purchaser>(mine, buyer);
  *out = std::move(window);
  return Status::Ok();
}

BoxOffice::Window::Window(BoxOffice* office, uint32_t buyer)
    : office_(office), buyer_(buyer) {}

BoxOffice::Window::~Window() {
  purchaser_.reset();
  if (objects_ == nullptr) return;
  BuyerWork work{&office_->scenario_,      office_->stores_,   office_->guards_,
                 office_->control_->get(), &office_->history_, nullptr,
                 &office_->specs_};
  const BuyerWork mine = objects_->For(work);
  for (size_t e = 0; e < mine.stores.size(); ++e) {
    mine.guards[e]->Detach();
    mine.stores[e]->Detach();
  }
}

PurchaseOutcome BoxOffice::Window::Buy() {
  if (attempts_ >= office_->scenario_.server.max_attempts) return {};
  ++attempts_;
  PurchaseOutcome outcome = purchaser_->Next();
  if (outcome.kind == PurchaseOutcome::kSoldOut) office_->sold_out_.store(true);
  return outcome;
}

Status BoxOffice::Count(int64_t* count) {
  const std::lock_guard<std::mutex> hold(look_);
  Reading reading;
  Status s = store_->Attach();
  if (s.ok()) s = store_->Read(&reading);
  store_->Detach();
  if (s.ok()) *count = reading.count;
  return s;
}

Status BoxOffice::Finish(RunResult* run) {
  const uint32_t lanes = std::min<uint32_t>(
      next_buyer_.load(), static_cast<uint32_t>(scenario_.server.max_buyers));
  size_t longest = 1;
  int64_t attempts = 1;
  for (uint32_t b = 0; b < lanes; ++b) {
    const std::span<const Event> events = history_.EventsOf(b);
    longest = std::max(longest, events.size());
    int64_t made = 0;
    for (const Event& e : events) {
      made = std::max<int64_t>(made, static_cast<int64_t>(e.attempt) + 1);
    }
    attempts = std::max(attempts, made);
  }
  run->scenario = scenario_;
  run->scenario.buyers.count = std::max<uint32_t>(lanes, 1);
  run->scenario.buyers.attempts = attempts;
  run->names = names_;
  run->history = std::make_unique<HistoryArena>();
  if (Status s = run->history->Map(run->scenario.buyers.count, longest);
      !s.ok()) {
    return s;
  }
  for (uint32_t b = 0; b < lanes; ++b) {
    EventWriter writer = run->history->WriterFor(b);
    for (const Event& e : history_.EventsOf(b)) writer.Record(e);
  }
  // Every buyer served by the one process, as with buyers as threads.
  run->processes = {BuyerProcess{getpid(), kBuyerDone, 0}};
  run->served_by.assign(run->scenario.buyers.count, 0);
  run->seconds =
      static_cast<double>(MonotonicNs() - control_->get()->start_ns.load()) /
      1e9;
  int64_t count = 0;
  const Status s = Count(&count);
  run->final_counts = {s.ok() ? std::optional<int64_t>(count) : std::nullopt};
  run->final_errors = {s.ok() ? "" : s.message()};
  run->final_count = run->final_counts[0];
  run->final_error = run->final_errors[0];
  return Status::Ok();
}

}  // namespace ticketsim
