// Each guard alone, across real processes: it excludes another process while
// held, times out instead of hanging, and behaves as its kind promises when
// its holder is SIGKILLed.
#include "sim/guards/guard.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage/make_store.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::ScopedRun;

// A child process that takes the guard and holds it until told to let go
// (or to die holding it).
class Holder {
 public:
  Holder(Guard* guard, TicketStore* store) {
    int up[2], down[2];
    EXPECT_EQ(pipe(up), 0);
    EXPECT_EQ(pipe(down), 0);
    pid_ = fork();
    if (pid_ == 0) {
      bool recovered = false;
      char c = 0;
      if (!store->Attach().ok() || !guard->Attach().ok() ||
          !guard->Acquire(5000, &recovered).ok()) {
        _exit(1);
      }
      if (write(up[1], "x", 1) != 1) _exit(2);
      if (read(down[0], &c, 1) != 1) _exit(3);
      _exit(guard->Release().ok() ? 0 : 4);
    }
    close(up[1]);
    close(down[0]);
    to_child_ = down[1];
    char c = 0;
    holding_ = read(up[0], &c, 1) == 1;
    close(up[0]);
  }
  ~Holder() {
    if (to_child_ >= 0) close(to_child_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  bool holding() const { return holding_; }
  // Lets go normally; returns the child's exit code.
  int Release() {
    EXPECT_EQ(write(to_child_, "x", 1), 1);
    return Reap();
  }
  void Kill() {
    kill(pid_, SIGKILL);
    Reap();
  }

 private:
  int Reap() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  pid_t pid_ = -1;
  int to_child_ = -1;
  bool holding_ = false;
};

class GuardTest : public ::testing::TestWithParam<GuardKind> {
 protected:
  void SetUp() override {
    StoreSpec spec;
    spec.kind = StoreKind::kSqlite;
    store_ = MakeStore(spec, run_.names());
    ASSERT_TRUE(store_->Create(5).ok());
    GuardSpec guard_spec;
    guard_spec.kind = GetParam();
    guard_ = MakeGuard(guard_spec, run_.names(), store_.get());
    run_.AddPurposes(guard_->ObjectPurposes());
    ASSERT_TRUE(guard_->Create().ok());
  }
  // The parent's own handles, opened after the holder forked.
  void AttachHere() {
    ASSERT_TRUE(store_->Attach().ok());
    ASSERT_TRUE(guard_->Attach().ok());
  }

  ScopedRun run_;
  std::unique_ptr<TicketStore> store_;
  std::unique_ptr<Guard> guard_;
};

// While another process holds the guard, a timed acquire gives up (it does
// not hang); once the holder lets go, the guard can be taken.
TEST_P(GuardTest, ExcludesAnotherProcessAndTimesOut) {
  Holder holder(guard_.get(), store_.get());
  ASSERT_TRUE(holder.holding());
  AttachHere();
  bool recovered = false;
  EXPECT_EQ(guard_->Acquire(100, &recovered).code(), Status::Code::kTimeout);
  EXPECT_EQ(holder.Release(), 0);
  ASSERT_TRUE(guard_->Acquire(5000, &recovered).ok());
  EXPECT_FALSE(recovered);
  EXPECT_TRUE(guard_->Release().ok());
}

// A holder SIGKILLed inside: each kind does what guard.h promises.
TEST_P(GuardTest, AHolderKilledInsideLeavesWhatItsKindPromises) {
  Holder holder(guard_.get(), store_.get());
  ASSERT_TRUE(holder.holding());
  holder.Kill();
  AttachHere();
  bool recovered = false;
  const Status s = guard_->Acquire(300, &recovered);
  switch (GetParam()) {
    case GuardKind::kNamedMutex:
    case GuardKind::kNamedSemaphore:
      // Nothing frees a POSIX semaphore: the lock is abandoned.
      EXPECT_EQ(s.code(), Status::Code::kTimeout);
      return;
    case GuardKind::kRobustMutex:
      ASSERT_TRUE(s.ok());
      EXPECT_TRUE(recovered);
      break;
    default:  // the kernel, or SQLite, released it
      ASSERT_TRUE(s.ok()) << s.ToString();
      EXPECT_FALSE(recovered);
  }
  EXPECT_TRUE(guard_->Release().ok());
}

INSTANTIATE_TEST_SUITE_P(ExclusiveGuards, GuardTest,
                         ::testing::Values(GuardKind::kNamedMutex,
                                           GuardKind::kNamedSemaphore,
                                           GuardKind::kFileLock,
                                           GuardKind::kRobustMutex,
                                           GuardKind::kSqliteImmediate),
                         [](const auto& info) {
                           std::string name(WordOf(kGuardKinds, info.param));
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

// A semaphore with three permits lets three processes in at once and keeps
// the fourth out: a box office with three windows, not mutual exclusion.
TEST(NamedSemaphoreTest, ThreePermitsLetThreeHoldersIn) {
  ScopedRun run;
  StoreSpec store_spec;
  store_spec.kind = StoreKind::kShm;
  auto store = MakeStore(store_spec, run.names());
  run.AddPurposes(store->ObjectPurposes());
  ASSERT_TRUE(store->Create(5).ok());
  GuardSpec spec;
  spec.kind = GuardKind::kNamedSemaphore;
  spec.permits = 3;
  auto guard = MakeGuard(spec, run.names(), store.get());
  run.AddPurposes(guard->ObjectPurposes());
  ASSERT_TRUE(guard->Create().ok());
  Holder first(guard.get(), store.get());
  Holder second(guard.get(), store.get());
  Holder third(guard.get(), store.get());
  EXPECT_TRUE(first.holding() && second.holding() && third.holding());
  ASSERT_TRUE(store->Attach().ok());
  ASSERT_TRUE(guard->Attach().ok());
  bool recovered = false;
  EXPECT_EQ(guard->Acquire(100, &recovered).code(), Status::Code::kTimeout);
  EXPECT_EQ(second.Release(), 0);
  ASSERT_TRUE(guard->Acquire(5000, &recovered).ok());
  EXPECT_TRUE(guard->Release().ok());
  EXPECT_EQ(first.Release(), 0);
  EXPECT_EQ(third.Release(), 0);
}

// Guard none guards nothing, but still checks its enters and leaves balance.
TEST(NoGuardTest, CountsEntersAndLeaves) {
  ScopedRun run;
  GuardSpec spec;
  auto guard = MakeGuard(spec, run.names(), nullptr);
  bool recovered = true;
  EXPECT_TRUE(guard->Acquire(1, &recovered).ok());
  EXPECT_FALSE(recovered);
  EXPECT_TRUE(guard->Acquire(1, &recovered).ok());  // no exclusion
  EXPECT_TRUE(guard->Release().ok());
  EXPECT_TRUE(guard->Release().ok());
  EXPECT_EQ(guard->Release().code(), Status::Code::kInvalid);
}

// The sqlite guards are offered only for the sqlite store; std-mutex only
// to threads.
TEST(GuardsForTest, SqliteGuardsOnlyForTheSqliteStore) {
  constexpr BuyerMode kProcess = BuyerMode::kProcess;
  EXPECT_EQ(GuardsFor(StoreKind::kFile, kProcess).size(), 5u);
  EXPECT_EQ(GuardsFor(StoreKind::kShm, kProcess).size(), 5u);
  EXPECT_EQ(GuardsFor(StoreKind::kSqlite, kProcess).size(), 7u);
  EXPECT_EQ(GuardsFor(StoreKind::kFile, BuyerMode::kThread).size(), 6u);
  EXPECT_EQ(GuardsFor(StoreKind::kMemory, BuyerMode::kThread).size(), 6u);
}

// Nobody else gets in: every named object of a run is created with mode
// 0600 and belongs to the user who ran it; the run's directory is 0700.
TEST(PrivacyTest, NamedObjectsAndTheRunDirectoryAreTheOwnersAlone) {
  ScopedRun run;
  StoreSpec spec;
  spec.kind = StoreKind::kShm;
  auto store = MakeStore(spec, run.names());
  run.AddPurposes(store->ObjectPurposes());
  ASSERT_TRUE(store->Create(5).ok());
  std::vector<std::string> paths = {"/dev/shm/" + run.names().Object("store")};
  for (GuardKind kind : {GuardKind::kNamedMutex, GuardKind::kNamedSemaphore,
                         GuardKind::kRobustMutex, GuardKind::kFileLock}) {
    GuardSpec guard_spec;
    guard_spec.kind = kind;
    auto guard = MakeGuard(guard_spec, run.names(), store.get());
    run.AddPurposes(guard->ObjectPurposes());
    ASSERT_TRUE(guard->Create().ok()) << WordOf(kGuardKinds, kind);
  }
  paths.push_back("/dev/shm/sem." + run.names().Object("mutex"));
  paths.push_back("/dev/shm/sem." + run.names().Object("semaphore"));
  paths.push_back("/dev/shm/" + run.names().Object("guard"));
  paths.push_back(run.names().File("guard.lock"));
  for (const std::string& path : paths) {
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << path;
    EXPECT_EQ(st.st_uid, getuid()) << path;
  }
  struct stat dir;
  ASSERT_EQ(lstat(run.names().dir.c_str(), &dir), 0);
  EXPECT_TRUE(S_ISDIR(dir.st_mode));
  EXPECT_EQ(dir.st_mode & 0777, 0700u);
}

// A directory name inside a run planted beforehand, as a directory or as a
// symlink to somewhere else: the run refuses it rather than write there.
TEST(PrivacyTest, ARunRefusesADirectoryNameSomeoneElseMade) {
  ScopedRun run;
  RunNames event;
  ASSERT_EQ(mkdir(run.names().File("e1").c_str(), 0777), 0);
  EXPECT_FALSE(CreateRunDirectory(run.names(), "e1", &event).ok());

  ASSERT_EQ(symlink("/tmp", run.names().File("e2").c_str()), 0);
  EXPECT_FALSE(CreateRunDirectory(run.names(), "e2", &event).ok());
}

}  // namespace
}  // namespace ticketsim
