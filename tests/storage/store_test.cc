// Each store alone: create, attach, read, write, the atomic step, and what a
// store does with a file it did not make or a write caught halfway.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/file_store.h"
#include "storage/make_store.h"
#include "storage/sqlite_store.h"
#include "storage/ticket_store.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::RunInChild;
using ::ticketsim::testing::ScopedRun;

// Every store, and the file store in each of its ways of writing.
using StoreCase = std::pair<StoreKind, FileWrite>;

class StoreTest : public ::testing::TestWithParam<StoreCase> {
 protected:
  std::unique_ptr<TicketStore> Make(const StoreSpec& spec) {
    auto store = MakeStore(spec, run_.names());
    run_.AddPurposes(store->ObjectPurposes());
    return store;
  }
  StoreSpec Spec() const {
    StoreSpec spec;
    spec.kind = GetParam().first;
    spec.write = GetParam().second;
    return spec;
  }
  ScopedRun run_;
};

// Given a new store of 5, a buyer reads 5, writes 4, and reads 4 back.
TEST_P(StoreTest, ReadsWhatWasWritten) {
  auto store = Make(Spec());
  ASSERT_TRUE(store->Create(5).ok());
  ASSERT_TRUE(store->Attach().ok());
  Reading r;
  ASSERT_TRUE(store->Read(&r).ok());
  EXPECT_EQ(r.count, 5);
  ASSERT_TRUE(store->Write(4).ok());
  ASSERT_TRUE(store->Read(&r).ok());
  EXPECT_EQ(r.count, 4);
  store->Detach();
}

// A store is created once: a second Create finds it there and fails rather
// than open an object someone else may have made.
TEST_P(StoreTest, CreateRefusesAnExistingStore) {
  auto store = Make(Spec());
  ASSERT_TRUE(store->Create(5).ok());
  EXPECT_FALSE(Make(Spec())->Create(5).ok());
}

// A write in one process is what another process reads.
TEST_P(StoreTest, AWriteInAChildIsSeenByTheParent) {
  auto store = Make(Spec());
  ASSERT_TRUE(store->Create(9).ok());
  const int status = RunInChild([&] {
    if (!store->Attach().ok()) return 1;
    return store->Write(3).ok() ? 0 : 2;
  });
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  ASSERT_TRUE(store->Attach().ok());
  Reading r;
  ASSERT_TRUE(store->Read(&r).ok());
  EXPECT_EQ(r.count, 3);
}

// The atomic step sells seats 2 and 1, then says sold out (seat 0).
TEST_P(StoreTest, AtomicStepSellsDownToZero) {
  auto store = Make(Spec());
  ASSERT_TRUE(store->Create(2).ok());
  ASSERT_TRUE(store->Attach().ok());
  int64_t seat = -1;
  if (!store->HasAtomicStep()) {
    EXPECT_EQ(store->TakeOne(&seat).code(), Status::Code::kUnsupported);
    return;
  }
  ASSERT_TRUE(store->TakeOne(&seat).ok());
  EXPECT_EQ(seat, 2);
  ASSERT_TRUE(store->TakeOne(&seat).ok());
  EXPECT_EQ(seat, 1);
  ASSERT_TRUE(store->TakeOne(&seat).ok());
  EXPECT_EQ(seat, 0);
  Reading r;
  ASSERT_TRUE(store->Read(&r).ok());
  EXPECT_EQ(r.count, 0);
}

INSTANTIATE_TEST_SUITE_P(
    AllStores, StoreTest,
    ::testing::Values(StoreCase{StoreKind::kFile, FileWrite::kTruncate},
                      StoreCase{StoreKind::kFile, FileWrite::kReplace},
                      StoreCase{StoreKind::kFile, FileWrite::kMapped},
                      StoreCase{StoreKind::kShm, FileWrite::kTruncate},
                      StoreCase{StoreKind::kSqlite, FileWrite::kTruncate}),
    [](const auto& info) {
      std::string name(WordOf(kStoreKinds, info.param.first));
      if (info.param.first == StoreKind::kFile) {
        // Appended in two steps: "_" + std::string(...) sets off GCC 12's
        // false -Wrestrict at -O3.
        name += '_';
        name += WordOf(kFileWrites, info.param.second);
      }
      return name;
    });

// The tutorial's torn read: a file caught between truncation and write is
// empty, and Read says so instead of returning a count.
TEST(FileStoreTest, AnEmptyFileIsATornRead) {
  ScopedRun run;
  StoreSpec spec;
  FileStore store(spec, run.names());
  ASSERT_TRUE(store.Create(5).ok());
  ASSERT_EQ(truncate(store.path().c_str(), 0), 0);
  Reading r;
  const Status s = store.Read(&r);
  EXPECT_EQ(s.code(), Status::Code::kCorrupt);
  EXPECT_EQ(r.bytes, 0u);
}

// Half a file is a torn read too, and Read says how many bytes it found.
TEST(FileStoreTest, HalfAFileIsATornRead) {
  ScopedRun run;
  StoreSpec spec;
  FileStore store(spec, run.names());
  ASSERT_TRUE(store.Create(5).ok());
  ASSERT_EQ(truncate(store.path().c_str(), 6), 0);
  Reading r;
  EXPECT_EQ(store.Read(&r).code(), Status::Code::kCorrupt);
  EXPECT_EQ(r.bytes, 6u);
}

// The file is written as the seed writes db.txt, mode 0600.
TEST(FileStoreTest, WritesTheSeedsJsonPrivately) {
  ScopedRun run;
  StoreSpec spec;
  spec.write = FileWrite::kReplace;
  FileStore store(spec, run.names());
  ASSERT_TRUE(store.Create(1).ok());
  ASSERT_TRUE(store.Write(0).ok());
  char buf[64] = {};
  const int fd = open(store.path().c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_GT(read(fd, buf, sizeof buf - 1), 0);
  close(fd);
  EXPECT_STREQ(buf, "{\"count\": 0}");
  struct stat st;
  ASSERT_EQ(stat(store.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// The file store never follows a link planted where its file should be.
TEST(FileStoreTest, RefusesASymlinkInPlaceOfItsFile) {
  ScopedRun run;
  StoreSpec spec;
  FileStore store(spec, run.names());
  ASSERT_EQ(symlink("/dev/null", store.path().c_str()), 0);
  EXPECT_FALSE(store.Create(5).ok());
  Reading r;
  EXPECT_FALSE(store.Read(&r).ok());
}

// A deferred transaction that read and then lost the race to write gets
// SQLITE_BUSY at once; an immediate one waits its turn instead.
TEST(SqliteStoreTest, DeferredUpgradeIsBusyWhenAnotherWroteFirst) {
  ScopedRun run;
  StoreSpec spec;
  spec.kind = StoreKind::kSqlite;
  spec.busy_timeout_ms = 2000;
  SqliteStore a(spec, run.names());
  SqliteStore b(spec, run.names());
  ASSERT_TRUE(a.Create(5).ok());
  ASSERT_TRUE(a.Attach().ok());
  ASSERT_TRUE(b.Attach().ok());
  Reading r;
  ASSERT_TRUE(a.Begin(/*immediate=*/false, 1000).ok());
  ASSERT_TRUE(a.Read(&r).ok());
  ASSERT_TRUE(b.Write(4).ok());  // autocommit: commits at once
  EXPECT_EQ(a.Write(r.count - 1).code(), Status::Code::kBusy);
  a.Rollback();
}

}  // namespace
}  // namespace ticketsim
