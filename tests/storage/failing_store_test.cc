// FailingStore, the tests' store that fails on cue (tests/failing_store.h):
// it is the real store in every call but the chosen one, and the chosen one
// fails without reaching the real store.
#include "tests/failing_store.h"

#include <gtest/gtest.h>

#include <memory>

#include "base/status.h"
#include "storage/make_store.h"
#include "storage/ticket_store.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::FailingStore;
using ::ticketsim::testing::ScopedRun;
using ::ticketsim::testing::StoreCall;

class FailingStoreTest : public ::testing::Test {
 protected:
  // A file store writing as `write`, behind a FailingStore, created with 5.
  std::unique_ptr<FailingStore> Make(FileWrite write = FileWrite::kReplace) {
    StoreSpec spec;
    spec.kind = StoreKind::kFile;
    spec.write = write;
    auto store = std::make_unique<FailingStore>(MakeStore(spec, run_.names()));
    run_.AddPurposes(store->ObjectPurposes());
    EXPECT_TRUE(store->Create(5).ok());
    return store;
  }
  static int64_t CountOf(TicketStore& store) {
    Reading reading;
    EXPECT_TRUE(store.Read(&reading).ok());
    return reading.count;
  }

  ScopedRun run_;
};

// With no fault chosen, every call is the real store's, and each is
// counted.
TEST_F(FailingStoreTest, ForwardsEveryCallToTheRealStore) {
  auto store = Make();
  ASSERT_TRUE(store->Attach().ok());
  EXPECT_EQ(CountOf(*store), 5);
  ASSERT_TRUE(store->Write(4).ok());
  EXPECT_EQ(CountOf(store->real()), 4);
  EXPECT_EQ(store->Location(), store->real().Location());
  EXPECT_FALSE(store->HasAtomicStep());
  EXPECT_EQ(store->Calls(StoreCall::kCreate), 1);
  EXPECT_EQ(store->Calls(StoreCall::kAttach), 1);
  EXPECT_EQ(store->Calls(StoreCall::kRead), 1);
  EXPECT_EQ(store->Calls(StoreCall::kWrite), 1);
  store->Detach();
}

// Given the second write chosen to fail, it returns the chosen status and
// the count stays what the first wrote; the third write is the real one.
TEST_F(FailingStoreTest, FailsOnlyTheNthCallWhichNeverReachesTheStore) {
  auto store = Make();
  store->Fail(StoreCall::kWrite, Status::IOError("write: disk gone"), 2);
  ASSERT_TRUE(store->Attach().ok());
  ASSERT_TRUE(store->Write(4).ok());
  const Status s = store->Write(3);
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_EQ(s.message(), "write: disk gone");
  EXPECT_EQ(CountOf(*store), 4);
  ASSERT_TRUE(store->Write(2).ok());
  EXPECT_EQ(CountOf(*store), 2);
  store->Detach();
}

// Given no call number, the chosen call fails every time: a disk that
// stays full.
TEST_F(FailingStoreTest, FailsEveryCallWhenNoNthIsChosen) {
  auto store = Make();
  store->Fail(StoreCall::kAttach, Status::Environment("open: no room"));
  EXPECT_EQ(store->Attach().code(), Status::Code::kEnvironment);
  EXPECT_EQ(store->Attach().code(), Status::Code::kEnvironment);
  EXPECT_EQ(store->Calls(StoreCall::kAttach), 2);
}

// A mid-write hook set on the wrapper (as a buyer sets it on its store)
// runs inside the real store's two-half write, when the file is empty.
TEST_F(FailingStoreTest, AMidWriteHookSetOnItRunsInsideTheRealWrite) {
  auto store = Make(FileWrite::kTruncate);
  ASSERT_TRUE(store->Attach().ok());
  int calls = 0;
  Status torn;
  store->SetMidWrite([&] {
    ++calls;
    Reading reading;
    torn = store->real().Read(&reading);
  });
  ASSERT_TRUE(store->Write(4).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(torn.code(), Status::Code::kCorrupt);
  store->SetMidWrite({});
  store->Detach();
}

}  // namespace
}  // namespace ticketsim
