// A store that fails under a buyer: what the purchase loop and a buyer
// process's start-up make of a full disk, a store that cannot be opened or
// a write that goes wrong, on real stores failing on cue (FailingStore),
// so without root, mounts or a full disk. The machine failing for real,
// through the command line, is tests/run/environment_test.cc and
// tests/storage/names_test.cc's full /dev/shm.
//
// A failure that is the system's (Status::Code::kEnvironment) stops the
// buyer and becomes the run's failure, never part of the verdict; any
// other store failure is a failed purchase the checker counts, and the
// buyer goes on.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "base/run_signals.h"
#include "base/status.h"
#include "sim/buyers/buyer.h"
#include "sim/buyers/buyer_processes.h"
#include "sim/guards/guard.h"
#include "sim/history/history.h"
#include "sim/result/run_check.h"
#include "sim/result/run_result.h"
#include "storage/make_store.h"
#include "tests/failing_store.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::FailingStore;
using ::ticketsim::testing::Has;
using ::ticketsim::testing::RaceScenario;
using ::ticketsim::testing::ScopedRun;
using ::ticketsim::testing::StoreCall;

// Unguarded buyers with no think time on one real store behind a
// FailingStore, with the control block and the history a run gives them.
class StoreFailureTest : public ::testing::Test {
 protected:
  void Open(StoreKind kind, Method method, int64_t buyers = 1) {
    scenario_ = RaceScenario(kind, GuardKind::kNone, method, buyers,
                             /*attempts=*/5);
    scenario_.buyers.think_ms = {0, 0};
    store_ = std::make_unique<FailingStore>(
        MakeStore(scenario_.store, run_.names()));
    run_.AddPurposes(store_->ObjectPurposes());
    ASSERT_TRUE(store_->Create(scenario_.initial).ok());
    guard_ = MakeGuard(scenario_.guard, run_.names(), store_.get());
    history_ = std::make_unique<HistoryArena>();
    ASSERT_TRUE(history_
                    ->Map(static_cast<size_t>(buyers),
                          static_cast<size_t>(scenario_.buyers.attempts) *
                              EventsPerAttempt(scenario_))
                    .ok());
    const size_t count = static_cast<size_t>(buyers);
    control_ = std::make_unique<SharedControl>(count, count);
    ASSERT_NE(control(), nullptr);
  }

  RunControl* control() const { return control_->get(); }

  // What a buyer process of this test works with (no tallies: the full
  // history).
  BuyerWork Work(std::span<TicketStore* const> stores,
                 std::span<Guard* const> guards) const {
    return BuyerWork{&scenario_,         stores,         guards,
                     control(),          history_.get(),
                     /*tallies=*/nullptr};
  }

  // Runs buyer process 0 in this process, as a forked one runs once the
  // start barrier is open; returns its BuyerExit.
  int RunBuyer() {
    OpenStartBarrier(control());
    TicketStore* stores[] = {store_.get()};
    Guard* guards[] = {guard_.get()};
    return RunBuyerProcess(Work(stores, guards), 0);
  }

  // The events of `kind` buyer 0 recorded (of kFailed, those of `failure`).
  size_t Recorded(EventKind kind, Failure failure = Failure{}) const {
    size_t n = 0;
    for (const Event& e : history_->EventsOf(0)) {
      const bool failed = kind == EventKind::kFailed;
      n += e.kind == kind &&
           (!failed || e.aux == static_cast<uint32_t>(failure));
    }
    return n;
  }

  // The count as the real store holds it now.
  int64_t Count() {
    TicketStore& real = store_->real();
    Reading reading;
    EXPECT_TRUE(real.Attach().ok());
    EXPECT_TRUE(real.Read(&reading).ok());
    real.Detach();
    return reading.count;
  }

  // The verdict on buyer process 0's run, as the run books it once its
  // buyers have ended.
  Verdict Check(int exit_code) {
    RunResult run;
    run.scenario = scenario_;
    run.history = std::move(history_);
    run.processes.push_back({getpid(), exit_code, 0});
    run.served_by = {0};
    run.final_count = Count();
    run.final_counts = {run.final_count};
    run.final_errors = {""};
    run.first_store_error = control()->first_store_error.Get();
    return CheckRun(run);
  }

  ScopedRun run_;  // first: its objects are removed after the store's use
  Scenario scenario_;
  std::unique_ptr<FailingStore> store_;
  std::unique_ptr<Guard> guard_;
  std::unique_ptr<HistoryArena> history_;
  std::unique_ptr<SharedControl> control_;
};

// Given a file store whose disk fills at the third write, the buyer stops
// after that purchase and keeps the cause, with its name, as the run's
// failure; the two writes before it stand, and nothing is a store error of
// the verdict.
TEST_F(StoreFailureTest, AFullDiskAtTheThirdWriteStopsTheBuyerWithItsCause) {
  Open(StoreKind::kFile, Method::kReadModifyWrite);
  store_->Fail(StoreCall::kWrite, Status::FromErrno("write db.txt", ENOSPC),
               /*nth=*/3);
  EXPECT_EQ(RunBuyer(), kBuyerStopped);
  EXPECT_EQ(control()->failure.Get(),
            "buyer 0: write db.txt: No space left on device");
  EXPECT_TRUE(control()->first_store_error.empty());
  EXPECT_EQ(Recorded(EventKind::kWrite), 2u);
  EXPECT_EQ(Recorded(EventKind::kFailed, Failure::kStoreError), 1u);
  EXPECT_EQ(store_->Calls(StoreCall::kWrite), 3);
  EXPECT_EQ(Count(), scenario_.initial - 2);
}

// Given an SQLite store whose every read finds the disk full, the buyer
// stops at its first purchase, before any write, with SQLite's cause.
TEST_F(StoreFailureTest, AFullDiskUnderEveryReadStopsTheBuyerBeforeItWrites) {
  Open(StoreKind::kSqlite, Method::kReadModifyWrite);
  store_->Fail(StoreCall::kRead,
               Status::Environment("read the count: database or disk is "
                                   "full (SQLITE_FULL)"));
  EXPECT_EQ(RunBuyer(), kBuyerStopped);
  EXPECT_EQ(control()->failure.Get(),
            "buyer 0: read the count: database or disk is full (SQLITE_FULL)");
  EXPECT_EQ(store_->Calls(StoreCall::kWrite), 0);
  EXPECT_EQ(Count(), scenario_.initial);
}

// Given a shared memory store whose atomic step finds no memory the second
// time, the buyer stops with the first seat sold and the cause kept.
TEST_F(StoreFailureTest, AFailedAtomicStepStopsTheBuyerAfterTheSeatsItSold) {
  Open(StoreKind::kShm, Method::kAtomic);
  store_->Fail(StoreCall::kTakeOne, Status::FromErrno("take a seat", ENOMEM),
               /*nth=*/2);
  EXPECT_EQ(RunBuyer(), kBuyerStopped);
  EXPECT_EQ(control()->failure.Get(),
            "buyer 0: take a seat: Cannot allocate memory");
  EXPECT_EQ(Recorded(EventKind::kTook), 1u);
  EXPECT_EQ(Count(), scenario_.initial - 1);
}

// Given a write that fails with an error of the store's own (not the
// system's), the purchase is a failed one and the buyer goes on; the
// checker counts one store error, naming the first.
TEST_F(StoreFailureTest, AStoreErrorIsAFailedPurchaseTheVerdictNames) {
  Open(StoreKind::kFile, Method::kReadModifyWrite);
  store_->Fail(StoreCall::kWrite,
               Status::IOError("write db.txt: Bad file descriptor"),
               /*nth=*/2);
  const int exit_code = RunBuyer();
  EXPECT_EQ(exit_code, kBuyerDone);
  EXPECT_TRUE(control()->failure.empty());
  EXPECT_EQ(control()->first_store_error.Get(),
            "buyer 0: write db.txt: Bad file descriptor");
  EXPECT_EQ(Recorded(EventKind::kWrite), 4u);
  EXPECT_EQ(Count(), scenario_.initial - 4);
  const Verdict verdict = Check(exit_code);
  ASSERT_EQ(verdict.CountOf(ViolationKind::kStoreError), 1);
  for (const Violation& v : verdict.violations) {
    if (v.kind != ViolationKind::kStoreError) continue;
    EXPECT_TRUE(
        Has(v.summary, "the first: buyer 0: write db.txt: Bad file descriptor"))
        << v.summary;
  }
}

// Given a store that no buyer process can open (out of descriptors), the
// forked buyers never reach the start barrier: the start fails saying how
// many could, and which process could not and why, and every process is
// reaped.
TEST_F(StoreFailureTest, AStoreNoBuyerCanOpenFailsTheStartWithTheCause) {
  Open(StoreKind::kFile, Method::kReadModifyWrite, /*buyers=*/2);
  store_->Fail(StoreCall::kAttach, Status::FromErrno("open db.txt", EMFILE));
  const RunSignals signals;  // before the fork, as the run holds them
  std::vector<BuyerProcess> processes;
  BuyerReaper reaper(&processes, control());
  TicketStore* stores[] = {store_.get()};
  Guard* guards[] = {guard_.get()};
  ASSERT_TRUE(ForkBuyers(Work(stores, guards), 2, &processes, &reaper).ok());
  int interrupt = 0;
  const Status s = AwaitAttached(*control(), 2, /*pause_ns=*/0, signals,
                                 &reaper, &interrupt);
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_TRUE(Has(s.message(),
                  "only 0 of 2 buyer processes could open the store and the "
                  "guard: buyer process "))
      << s.message();
  EXPECT_TRUE(Has(s.message(),
                  " could not open the store: open db.txt: Too many open "
                  "files"))
      << s.message();
  EXPECT_EQ(interrupt, 0);
  EXPECT_EQ(reaper.running(), 0u);
  // The first to end did so by itself; the other may have been killed
  // first.
  size_t gave_up = 0;
  for (const BuyerProcess& p : processes) {
    gave_up += p.exit_code == kBuyerAttachFailed;
  }
  EXPECT_GE(gave_up, 1u);
  EXPECT_EQ(Count(), scenario_.initial);
}

}  // namespace
}  // namespace ticketsim
