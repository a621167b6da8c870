#include "storage/run_names.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <semaphore.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>

#include "storage/pg_server.h"
#include "storage/run_cgroup.h"

namespace ticketsim {
namespace {

constexpr const char* kShmDir = "/dev/shm";
// POSIX named semaphores appear in /dev/shm with this prefix.
constexpr std::string_view kSemPrefix = "sem.";
// The liveness lock: a file of this name in the run's directory, and the
// object "<tag>.live" in /dev/shm.
constexpr const char* kLockName = "live";
// The random part of a tag: 12 characters of 5 bits each, 60 bits, as
// unguessable as mkdtemp's and still a short name. Lower case letters and
// digits only, so that no name needs quoting and the tag of a name can be
// told from what follows it.
constexpr std::string_view kRandomChars = "abcdefghijklmnopqrstuvwxyz234567";
constexpr size_t kRandomLength = 12;
// StartRun draws new names only when one is taken, which with 60 random bits
// takes someone who reads the names and plants them faster than we draw, or
// a broken random source: then the run fails rather than loop forever.
constexpr int kStartTries = 100;
// Our directories are two levels deep; anything deeper is not ours to walk.
constexpr int kMaxRunDirDepth = 8;

std::string TempRoot() {
  const char* tmp = std::getenv("TMPDIR");
  return (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
}

// TMPDIR as a message names it.
std::string TempRootWords() {
  const char* tmp = std::getenv("TMPDIR");
  return (tmp != nullptr && *tmp != '\0')
             ? fmt::format("TMPDIR {}", tmp)
             : "the temp directory /tmp (TMPDIR is not set)";
}

// How a user other than root and us could rename or replace the entries of
// the directory `st` describes, or "" if none can: by owning it, or by
// writing it when it has no sticky bit (the sticky bit lets only an entry's
// owner rename it). A group that is our own effective group counts as ours.
std::string SwappableBecause(const struct stat& st) {
  if (st.st_uid != 0 && st.st_uid != geteuid()) {
    return fmt::format("is owned by another user (uid {})", st.st_uid);
  }
  if ((st.st_mode & S_ISVTX) != 0) return "";
  if ((st.st_mode & S_IWOTH) != 0) {
    return "can be written by every user and has no sticky bit";
  }
  if ((st.st_mode & S_IWGRP) != 0 && st.st_gid != getegid()) {
    return fmt::format("can be written by group {} and has no sticky bit",
                       st.st_gid);
  }
  return "";
}

// The owner of what we create is the effective uid: that is the uid named
// in our tags and the one cleanup compares entries' owners with.
std::string UidPrefix() { return fmt::format("ticketsim.{}.", geteuid()); }

// Fills `bytes` with random bytes: getrandom, else /dev/urandom, else (no
// source at all) the clock. Names are always created exclusively, so a weak
// source costs only their unpredictability, never their safety.
void RandomBytes(unsigned char* bytes, size_t size) {
  size_t got = 0;
  while (got < size) {
    const ssize_t n = getrandom(bytes + got, size - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  if (got < size) {
    const int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && got < size) {
      const ssize_t n = read(fd, bytes + got, size - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (fd >= 0) close(fd);
  }
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  uint64_t mix = static_cast<uint64_t>(now.tv_nsec) ^
                 (static_cast<uint64_t>(now.tv_sec) << 30) ^
                 (static_cast<uint64_t>(getpid()) << 12);
  for (; got < size; ++got) {
    mix = mix * 6364136223846793005u + 1442695040888963407u;
    bytes[got] = static_cast<unsigned char>(mix >> 56);
  }
}

std::string RandomPart() {
  unsigned char bytes[kRandomLength];
  RandomBytes(bytes, sizeof bytes);
  std::string out;
  for (unsigned char b : bytes) out.push_back(kRandomChars[b & 31]);
  return out;
}

// If `name` starts with a tag of this uid's pattern, "ticketsim.<uid>.
// <pid>.<random>", followed by its end or a '.', returns that tag; else an
// empty view. Names of the pattern that came before the random part (a
// short number in its place) are not ours to judge: none is returned.
std::string_view TagOf(std::string_view name) {
  const std::string prefix = UidPrefix();
  if (!name.starts_with(prefix)) return {};
  size_t i = prefix.size();
  const size_t pid = i;
  while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i;
  if (i == pid || i >= name.size() || name[i] != '.') return {};
  const size_t random = ++i;
  while (i < name.size() && kRandomChars.find(name[i]) != std::string::npos) {
    ++i;
  }
  if (i - random != kRandomLength) return {};
  if (i < name.size() && name[i] != '.') return {};
  return name.substr(0, i);
}

// The tags of the runs this process holds a lease on: `clean --all` leaves
// them alone.
std::mutex held_mutex;
std::set<std::string>& HeldTags() {
  static std::set<std::string> tags;
  return tags;
}

bool HeldHere(const std::string& tag) {
  std::lock_guard<std::mutex> lock(held_mutex);
  return HeldTags().count(tag) > 0;
}

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Makes the directory `name` in the open directory `parent` (mode 0700, the
// umask notwithstanding), opens it into *fd and records its identity in
// *names. Returns 0 or an errno: EEXIST if the name is taken (by anything),
// EAGAIN if what the name led to right after was not a directory of ours,
// or nothing (a cleaner removes an empty run directory without its lock).
int MakePrivateDirectory(int parent, const std::string& name, RunNames* names,
                         int* fd) {
  *fd = -1;
  if (mkdirat(parent, name.c_str(), 0700) != 0) return errno;
  const int dir = openat(parent, name.c_str(),
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0) {
    return errno == ELOOP || errno == ENOTDIR || errno == ENOENT ? EAGAIN
                                                                 : errno;
  }
  struct stat st;
  if (fstat(dir, &st) != 0 || st.st_uid != geteuid() ||
      fchmod(dir, 0700) != 0) {
    close(dir);
    return EAGAIN;
  }
  names->dir_dev = static_cast<uint64_t>(st.st_dev);
  names->dir_ino = static_cast<uint64_t>(st.st_ino);
  *fd = dir;
  return 0;
}

// Whether `name` in `dir` is, right now, the file open as `fd`.
bool Names(int dir, const char* name, int fd) {
  struct stat opened, named;
  return fstat(fd, &opened) == 0 &&
         fstatat(dir, name, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
         SameFile(opened, named);
}

// Creates the file `name` in `dir` (mode 0600), flocked, into *out. Returns
// 0, or an errno: EEXIST if the name is taken (by anything: nothing that
// exists is opened), EAGAIN if a cleaner took the new file's lock first.
//
// The file is made unnamed (O_TMPFILE), locked, and only then linked under
// its name, so nobody ever sees it unlocked. Where O_TMPFILE or the link
// cannot be had (a file system without it, no /proc), it is created under
// its name and locked at once: a cleaner may flock it in between and take
// it for a dead run's. So the lock is taken without waiting and the name
// checked to still be this file; if either fails the cleaner won, and the
// caller draws new names.
int CreateLocked(int dir, const char* name, int* out) {
  int fd = openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) {
    // Nobody else can reach it yet: never waits.
    if (flock(fd, LOCK_EX) != 0) {
      const int err = errno;
      close(fd);
      return err;
    }
    // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc/self/fd does not.
    int rc = linkat(fd, "", dir, name, AT_EMPTY_PATH);
    if (rc != 0 && errno != EEXIST) {
      const std::string proc = fmt::format("/proc/self/fd/{}", fd);
      rc = linkat(AT_FDCWD, proc.c_str(), dir, name, AT_SYMLINK_FOLLOW);
    }
    const int err = errno;
    if (rc == 0) {
      *out = fd;
      return 0;
    }
    close(fd);
    if (err == EEXIST) return EEXIST;
  }
  fd = openat(dir, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
  if (fd < 0) return errno;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0 || !Names(dir, name, fd)) {
    // Whoever holds it removes it, if it was a cleaner; if it only looked,
    // the file is still ours to remove.
    if (Names(dir, name, fd)) unlinkat(dir, name, 0);
    close(fd);
    return EAGAIN;
  }
  *out = fd;
  return 0;
}

// One try of StartRun at its directory: made in `root` under names->tag,
// with its liveness lock taken into *lock. Returns 0, EAGAIN if the name is
// lost (taken, or its still empty directory removed by a cleaner: what is
// left of it goes, and the caller draws a new one), or another errno, with
// *failed saying what failed.
int MakeLockedRunDirectory(int root, RunNames* names, int* lock,
                           std::string* failed) {
  *failed = fmt::format("mkdir {}", names->dir);
  int dir = -1;
  int err = MakePrivateDirectory(root, names->tag, names, &dir);
  if (err != 0) return err == EEXIST ? EAGAIN : err;
  *failed = fmt::format("create {}", names->File(kLockName));
  err = CreateLocked(dir, kLockName, lock);
  close(dir);
  if (err != 0) unlinkat(root, names->tag.c_str(), AT_REMOVEDIR);
  return err == EEXIST || err == ENOENT ? EAGAIN : err;
}

// The locks one try of StartRun takes for its names.
struct RunLocks {
  std::string shm_name;  // <tag>.live, in /dev/shm
  int shm = -1;          // its lock (-1 without /dev/shm)
  int dir = -1;          // the lock in the run's directory
};

// One try of StartRun at the names in *names: the liveness lock in
// /dev/shm (`shm`, or -1 if there is none), then the locked directory in
// `root`. Returns 0 with both in *locks, EAGAIN if a name is lost (nothing
// of this try is left, and the caller draws new names), or another errno,
// with *failed saying what failed.
int TakeRunLocks(int root, int shm, RunNames* names, RunLocks* locks,
                 std::string* failed) {
  locks->shm_name = fmt::format("{}.{}", names->tag, kLockName);
  int err =
      shm < 0 ? 0 : CreateLocked(shm, locks->shm_name.c_str(), &locks->shm);
  if (err == EEXIST || err == EAGAIN) return EAGAIN;
  if (err != 0) {
    *failed = fmt::format("create {}/{}", kShmDir, locks->shm_name);
    return err;
  }
  err = MakeLockedRunDirectory(root, names, &locks->dir, failed);
  if (err != 0 && locks->shm >= 0) {
    if (Names(shm, locks->shm_name.c_str(), locks->shm)) {
      unlinkat(shm, locks->shm_name.c_str(), 0);
    }
    close(locks->shm);
    locks->shm = -1;
  }
  return err;
}

enum class LockState {
  kHeld,     // a live run holds it
  kTaken,    // free: now held by us
  kAbsent,   // no such file (or it went while we looked)
  kStrange,  // not a regular file of ours: not a lock we know
};

// Tries to take the liveness lock `name` in `dir`, without waiting; on
// kTaken, *fd holds it (close it to let go).
LockState TryLock(int dir, const char* name, int* fd) {
  *fd = -1;
  // O_NONBLOCK: a FIFO in its place must not hang the open.
  const int opened =
      openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (opened < 0) {
    return errno == ENOENT ? LockState::kAbsent : LockState::kStrange;
  }
  struct stat st;
  if (fstat(opened, &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_uid != geteuid()) {
    close(opened);
    return LockState::kStrange;
  }
  if (flock(opened, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    close(opened);
    return err == EWOULDBLOCK ? LockState::kHeld : LockState::kStrange;
  }
  // Its owner, or another cleaner, may have unlinked it between our open
  // and our flock: a lock on a file nobody can find any more says nothing.
  if (!Names(dir, name, opened)) {
    close(opened);
    return LockState::kAbsent;
  }
  *fd = opened;
  return LockState::kTaken;
}

// The names in the open directory `dir`, but "." and "..".
std::vector<std::string> EntriesOf(int dir) {
  std::vector<std::string> names;
  const int copy = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (copy < 0) return names;
  DIR* d = fdopendir(copy);
  if (d == nullptr) {
    close(copy);
    return names;
  }
  while (const dirent* entry = readdir(d)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  closedir(d);
  return names;
}

// Removes everything in the open directory `dir` but `keep`, depth first,
// never following a symlink (a symlink is removed itself).
void RemoveContents(int dir, std::string_view keep, int depth = 0) {
  if (depth > kMaxRunDirDepth) return;
  for (const std::string& name : EntriesOf(dir)) {
    if (name == keep) continue;
    struct stat st;
    if (fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      const int sub = openat(dir, name.c_str(),
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) {
        RemoveContents(sub, {}, depth + 1);
        close(sub);
      }
      unlinkat(dir, name.c_str(), AT_REMOVEDIR);
    } else {
      unlinkat(dir, name.c_str(), 0);
    }
  }
}

// Unlinks `name` in `dir` if it is a regular file of ours.
bool RemoveOwnFile(int dir, const std::string& name) {
  struct stat st;
  return fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
         unlinkat(dir, name.c_str(), 0) == 0;
}

// The state of the run tagged `tag`'s lock in /dev/shm: free (kTaken) once
// it has ended (a run killed outright leaves it so). A lock not there says
// nothing: the run may have a /dev/shm of its own (another mount namespace,
// a container), while its cgroup is in the hierarchy every namespace shares.
// Without /dev/shm, by its directory's lock in the temp directory, where a
// directory gone says nothing (its run may use another TMPDIR).
LockState TagLockState(const std::string& tag) {
  int lock = -1;
  LockState state = LockState::kStrange;
  const int shm = open(kShmDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (shm >= 0) {
    state = TryLock(shm, fmt::format("{}.{}", tag, kLockName).c_str(), &lock);
    close(shm);
  } else {
    const std::string dir_path = fmt::format("{}/{}", TempRoot(), tag);
    const int dir =
        open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir >= 0) {
      state = TryLock(dir, kLockName, &lock);
      close(dir);
    }
  }
  if (lock >= 0) close(lock);
  return state;
}

// /dev/shm: the objects of each run whose lock object is free or gone. A
// run creates its lock object before any other and removes it after all
// the others, so objects without one are what a run left when it died
// while removing them.
void CleanShm(bool all, std::vector<std::string>* removed) {
  const int shm = open(kShmDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (shm < 0) return;
  std::map<std::string, std::vector<std::string>> by_tag;
  for (const std::string& entry : EntriesOf(shm)) {
    std::string_view object = entry;
    if (object.starts_with(kSemPrefix)) object.remove_prefix(kSemPrefix.size());
    const std::string_view tag = TagOf(object);
    if (!tag.empty() && tag.size() < object.size()) {
      by_tag[std::string(tag)].push_back(entry);
    }
  }
  for (const auto& [tag, entries] : by_tag) {
    if (HeldHere(tag)) continue;
    const std::string lock_name = fmt::format("{}.{}", tag, kLockName);
    int lock = -1;
    const LockState state = TryLock(shm, lock_name.c_str(), &lock);
    const bool ended =
        state == LockState::kTaken || state == LockState::kAbsent;
    if (ended || (all && state == LockState::kHeld)) {
      for (const std::string& entry : entries) {
        if (entry != lock_name && RemoveOwnFile(shm, entry)) {
          removed->push_back(fmt::format("{}/{}", kShmDir, entry));
        }
      }
      // Unlinked while still held: nobody can take it for a free one.
      if (state != LockState::kAbsent && RemoveOwnFile(shm, lock_name)) {
        removed->push_back(fmt::format("{}/{}", kShmDir, lock_name));
      }
    }
    if (lock >= 0) close(lock);
  }
  close(shm);
}

// Removes the ended run's directory `entry` of `root`, open as `dir`;
// whether it is gone.
bool RemoveRunDirectory(int root, int dir, const std::string& entry) {
  // A throwaway PostgreSQL server the run left running goes first.
  StopServerLeftIn(dir);
  RemoveContents(dir, kLockName);
  // The lock goes last (still held, if we took it), and only once the
  // rest has: a directory left with files and no lock would look like
  // a run about to start to every later clean.
  const std::vector<std::string> left = EntriesOf(dir);
  if (left.empty() || (left.size() == 1 && left[0] == kLockName)) {
    unlinkat(dir, kLockName, 0);
  }
  return unlinkat(root, entry.c_str(), AT_REMOVEDIR) == 0;
}

// The temp directory: the directories of runs whose lock is free.
void CleanTemp(bool all, std::vector<std::string>* removed) {
  const std::string root_path = TempRoot();
  const int root = open(root_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return;
  for (const std::string& entry : EntriesOf(root)) {
    if (TagOf(entry) != entry || HeldHere(entry)) continue;
    struct stat named;
    if (fstatat(root, entry.c_str(), &named, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISDIR(named.st_mode) || named.st_uid != geteuid()) {
      continue;
    }
    const int dir = openat(root, entry.c_str(),
                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0) continue;
    struct stat opened;
    int lock = -1;
    const LockState state = fstat(dir, &opened) == 0 && SameFile(opened, named)
                                ? TryLock(dir, kLockName, &lock)
                                : LockState::kStrange;
    bool gone = false;
    if (state == LockState::kTaken ||
        (all && (state == LockState::kHeld || state == LockState::kAbsent))) {
      gone = RemoveRunDirectory(root, dir, entry);
    } else if (state == LockState::kAbsent) {
      // No lock yet: its run is about to take it, or died before it could.
      // Removed only if empty, so that a run about to take its lock loses
      // nothing: it finds its directory gone and draws new names.
      gone = unlinkat(root, entry.c_str(), AT_REMOVEDIR) == 0;
    }
    if (gone) removed->push_back(fmt::format("{}/{}", root_path, entry));
    if (lock >= 0) close(lock);
    close(dir);
  }
  close(root);
}

}  // namespace

std::string RunNames::Object(std::string_view purpose) const {
  return fmt::format("{}.{}", tag, purpose);
}

std::string RunNames::File(std::string_view name) const {
  return fmt::format("{}/{}", dir, name);
}

namespace {

RunNames NewRunNamesIn(const std::string& root) {
  RunNames names;
  names.tag = fmt::format("{}{}.{}", UidPrefix(), getpid(), RandomPart());
  names.dir = fmt::format("{}/{}", root, names.tag);
  return names;
}

}  // namespace

RunNames NewRunNames() { return NewRunNamesIn(TempRoot()); }

Status SafeTempRoot(std::string* root) {
  const std::string given = TempRoot();
  char* resolved = realpath(given.c_str(), nullptr);
  if (resolved == nullptr) return Status::FromErrno(TempRootWords(), errno);
  *root = resolved;
  free(resolved);
  // The directory itself, and every one above it: renaming any of them
  // would move what is made inside as well.
  for (std::string path = *root;;) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
      return Status::FromErrno(fmt::format("{}: {}", TempRootWords(), path),
                               errno);
    }
    if (const std::string why = SwappableBecause(st); !why.empty()) {
      return Status::IOError(fmt::format(
          "{}: {}{} {}: another user could swap a run's directory there for "
          "a link to one of their choosing; give a TMPDIR that only you can "
          "write, or one with the sticky bit (as /tmp)",
          TempRootWords(), path, path == *root ? "" : ", above it,", why));
    }
    if (path == "/") break;
    const size_t slash = path.rfind('/');
    path = slash == 0 ? "/" : path.substr(0, slash);
  }
  return Status::Ok();
}

Status OpenRunDirectory(const RunNames& names, int* fd) {
  *fd =
      open(names.dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  // A symlink or a file in its place is someone else's doing, as is
  // another directory.
  const bool replaced = *fd < 0 && (errno == ELOOP || errno == ENOTDIR);
  if (*fd < 0 && !replaced) {
    return Status::FromErrno(fmt::format("open {}", names.dir), errno);
  }
  struct stat st;
  const bool known = names.dir_dev != 0 || names.dir_ino != 0;
  const bool same =
      !replaced && fstat(*fd, &st) == 0 && st.st_uid == geteuid() &&
      (!known || (static_cast<uint64_t>(st.st_dev) == names.dir_dev &&
                  static_cast<uint64_t>(st.st_ino) == names.dir_ino));
  if (!same) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
    return Status::IOError(fmt::format(
        "{} is no longer the run's directory: something replaced it",
        names.dir));
  }
  return Status::Ok();
}

Status CheckRunDirectory(const RunNames& names) {
  int fd = -1;
  Status s = OpenRunDirectory(names, &fd);
  if (fd >= 0) close(fd);
  return s;
}

Status OpenInRunDirectory(const RunNames& names, std::string_view name,
                          int flags, int* fd) {
  *fd = -1;
  int dir = -1;
  if (Status s = OpenRunDirectory(names, &dir); !s.ok()) return s;
  const std::string file(name);
  *fd = openat(dir, file.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, 0600);
  const int err = errno;
  close(dir);
  if (*fd < 0) {
    return Status::FromErrno(
        fmt::format("{} {}", (flags & O_CREAT) != 0 ? "create" : "open",
                    names.File(name)),
        err);
  }
  return Status::Ok();
}

Status CreateRunDirectory(const RunNames& run, std::string_view name,
                          RunNames* out) {
  int parent = -1;
  if (Status s = OpenRunDirectory(run, &parent); !s.ok()) return s;
  out->dir = run.File(name);
  int dir = -1;
  const int err = MakePrivateDirectory(parent, std::string(name), out, &dir);
  if (dir >= 0) close(dir);
  close(parent);
  if (err != 0) {
    return Status::FromErrno(fmt::format("mkdir {}", out->dir), err);
  }
  return Status::Ok();
}

void RunLease::Release() {
  for (auto [path, fd] : {std::pair{&shm_lock_path_, &shm_lock_},
                          std::pair{&dir_lock_path_, &dir_lock_}}) {
    if (*fd < 0) continue;
    // Unlinked while still held, and only if the name is still this lock.
    if (Names(AT_FDCWD, path->c_str(), *fd)) unlink(path->c_str());
    close(*fd);
    *fd = -1;
  }
  if (!tag_.empty()) {
    std::lock_guard<std::mutex> lock(held_mutex);
    HeldTags().erase(tag_);
  }
  tag_.clear();
}

Status StartRun(RunNames* names, RunLease* lease) {
  lease->Release();
  std::string root_path;
  if (Status s = SafeTempRoot(&root_path); !s.ok()) return s;
  const int root = open(root_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) {
    return Status::FromErrno(fmt::format("open {}", root_path), errno);
  }
  // Without /dev/shm there is nothing to lock there (and no shared memory
  // for a run to make either). Any other failure to open it is the run's:
  // going on without the lock would let any cleaner take its objects.
  const int shm = open(kShmDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (shm < 0 && errno != ENOENT) {
    const int err = errno;
    close(root);
    return Status::FromErrno(fmt::format("open {}", kShmDir), err);
  }
  Status status = Status::IOError(
      fmt::format("every run name drawn in {} and {} was taken ({} tries)",
                  root_path, kShmDir, kStartTries));
  for (int tries = 0; tries < kStartTries; ++tries) {
    *names = NewRunNamesIn(root_path);
    RunLocks locks;
    std::string failed;
    const int err = TakeRunLocks(root, shm, names, &locks, &failed);
    if (err == EAGAIN) continue;
    if (err != 0) {
      status = Status::FromErrno(failed, err);
      break;
    }
    lease->tag_ = names->tag;
    lease->dir_lock_path_ = names->File(kLockName);
    lease->dir_lock_ = locks.dir;
    lease->shm_lock_path_ = fmt::format("{}/{}", kShmDir, locks.shm_name);
    lease->shm_lock_ = locks.shm;
    {
      std::lock_guard<std::mutex> lock(held_mutex);
      HeldTags().insert(names->tag);
    }
    status = Status::Ok();
    break;
  }
  if (shm >= 0) close(shm);
  close(root);
  return status;
}

void RemoveRunObjects(const RunNames& names,
                      const std::vector<std::string>& purposes) {
  for (const std::string& purpose : purposes) {
    const std::string name = fmt::format("/{}", names.Object(purpose));
    shm_unlink(name.c_str());
    sem_unlink(name.c_str());
  }
  // Only the directory the run made: whatever else may have taken its
  // name is left alone.
  int dir = -1;
  if (!OpenRunDirectory(names, &dir).ok()) return;
  // The lock last: killed midway, the run leaves its lock with the rest, and
  // the next clean takes it and removes them.
  RemoveContents(dir, kLockName);
  unlinkat(dir, kLockName, 0);
  close(dir);
  rmdir(names.dir.c_str());
}

std::vector<std::string> CleanLeftovers(bool all) {
  std::vector<std::string> removed;
  // A run's processes first, while its liveness locks still say whether it
  // has ended: nothing it started writes into what is removed next. Even
  // with `all`, only a run whose lock is seen here: a live run of another
  // mount namespace (its own /tmp and /dev/shm) shares the cgroup
  // hierarchy, and is not this clean's to end.
  CleanRunCgroups(
      [all](std::string_view name) {
        const std::string tag(TagOf(name));
        if (tag != name || HeldHere(tag)) return false;
        const LockState state = TagLockState(tag);
        return all ? state == LockState::kHeld || state == LockState::kTaken
                   : state == LockState::kTaken;
      },
      &removed);
  CleanShm(all, &removed);
  CleanTemp(all, &removed);
  return removed;
}

bool RunHasEnded(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return false;
  const std::string parent = slash == 0 ? "/" : path.substr(0, slash);
  const std::string name = path.substr(slash + 1);
  const bool in_shm = parent == kShmDir;
  std::string_view object = name;
  if (in_shm && object.starts_with(kSemPrefix)) {
    object.remove_prefix(kSemPrefix.size());
  }
  const std::string tag(TagOf(object));
  if (tag.empty() || (!in_shm && tag != name)) return false;
  const int dir = open(in_shm ? kShmDir : path.c_str(),
                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0) return false;
  const std::string lock_name =
      in_shm ? fmt::format("{}.{}", tag, kLockName) : kLockName;
  int lock = -1;
  const LockState state = TryLock(dir, lock_name.c_str(), &lock);
  close(dir);
  if (lock >= 0) close(lock);
  // A directory without its lock is one whose run is still starting.
  return state == LockState::kTaken || (in_shm && state == LockState::kAbsent);
}

}  // namespace ticketsim
