// RunNames: the names of everything one run creates outside its own memory,
// and the locks that say whether the run that made them is still alive.
//
// Every named object (shared memory segment, POSIX semaphore) and every file
// of a run carries one tag, "ticketsim.<uid>.<pid>.<random>":
//   - the uid keeps users apart: cleanup looks only at its own uid's names,
//     and only at entries that uid owns;
//   - the pid of the ticketsim process that made the run is there for people
//     and tests to read, and for nothing else: pids are reused and differ
//     across PID namespaces, so no decision is ever taken on it;
//   - the random part (getrandom(2)) makes the names impossible to plant in
//     advance. Everything is created exclusively (O_EXCL, mode 0600); a name
//     that turns out to be taken is never used: the run draws another.
// Files live in one private directory per run (mode 0700), so nobody else
// can plant or swap anything in it, and removing it removes them all.
//
// The temp directory that holds the run directories must be one where no
// other user can rename them: one a user other than root and us could write
// without the sticky bit, or that such a user owns (it, or a directory above
// it), would let them swap a run's directory for a link to another, where
// the run would then create its files. A run refuses such a temp directory.
// Once made, the run directory is reached through a descriptor checked to
// be the one made (its device and inode), and what a run creates in it is
// created through that descriptor; a library that wants a path (SQLite,
// initdb) is given one only after the path is checked to lead there still.
//
// Whether a run is alive is decided by locks the kernel drops when the run's
// last process dies, whatever killed it and in whatever PID namespace: for
// its whole life a run holds an flock on the file `live` in its directory,
// and on the object "<tag>.live" in /dev/shm. Each place is judged by its own
// lock, because the temp directory and /dev/shm can be shared separately
// (containers mount them one by one, and TMPDIR may differ between runs).
// Buyers inherit the locks across fork: a run is alive while any of its
// processes is.
#ifndef TICKETSIM_STORAGE_RUN_NAMES_H_
#define TICKETSIM_STORAGE_RUN_NAMES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ticketsim {

struct RunNames {
  std::string tag;  // ticketsim.<uid>.<pid>.<random>
  std::string dir;  // <tmp>/<tag>: the run's private directory
  // The directory's identity once it is made (st_dev, st_ino); 0 for names
  // of a directory made elsewhere (an agent attaching to its parent's
  // store), which is then checked by its owner only.
  uint64_t dir_dev = 0;
  uint64_t dir_ino = 0;

  // The name of a named IPC object of this run, e.g. Object("store").
  std::string Object(std::string_view purpose) const;
  // A path inside the run's directory.
  std::string File(std::string_view name) const;
};

// Fresh names, with a random part of their own; nothing is created. The
// directory is under $TMPDIR, or /tmp.
RunNames NewRunNames();

// The temp directory runs are made in ($TMPDIR, or /tmp), with symlinks
// resolved, into *root, if no other user can swap what is made in it (see
// above); else IOError, naming TMPDIR and why.
Status SafeTempRoot(std::string* root);

// Creates the directory `name` (mode 0700) inside the started run `run`'s,
// through the run directory's descriptor, and sets out->dir and its
// identity (out->tag is the caller's). Fails if the name exists already,
// whatever it is (a directory, a file, a symlink): for a directory inside a
// started run (an event's).
Status CreateRunDirectory(const RunNames& run, std::string_view name,
                          RunNames* out);

// Opens the run's directory into *fd (close-on-exec; never through a
// symlink) and checks that it is the one the run made. IOError, naming the
// path, if it is gone or another.
Status OpenRunDirectory(const RunNames& names, int* fd);

// Creates (O_CREAT | O_EXCL, mode 0600) or opens the file `name` in the
// run's directory through its checked descriptor, never following a
// symlink; `flags` as open's (O_NOFOLLOW and O_CLOEXEC are added). Sets *fd.
Status OpenInRunDirectory(const RunNames& names, std::string_view name,
                          int flags, int* fd);

// Checks that the path `names.dir` still leads to the directory the run
// made: just before a library that takes a path is given one inside it.
Status CheckRunDirectory(const RunNames& names);

// A started run's hold on its names: the two liveness locks. Released (the
// lock files unlinked while still held, then closed) by Release or the
// destructor, after the run has removed its objects.
class RunLease {
 public:
  RunLease() = default;
  RunLease(const RunLease&) = delete;
  RunLease& operator=(const RunLease&) = delete;
  ~RunLease() { Release(); }

  void Release();

 private:
  friend Status StartRun(RunNames* names, RunLease* lease);

  std::string tag_;
  std::string dir_lock_path_;  // <dir>/live
  std::string shm_lock_path_;  // /dev/shm/<tag>.live
  int dir_lock_ = -1;
  int shm_lock_ = -1;
};

// Starts a run: draws fresh names, takes the liveness lock in /dev/shm,
// creates the private directory and takes the lock in it. A name found taken
// (planted, or left by anyone) is not touched: the run draws another.
// `lease` must be empty; it holds the locks on success.
Status StartRun(RunNames* names, RunLease* lease);

// Removes the run's named objects (given by purpose) and its directory,
// never following a symlink. Never fails: what cannot be removed is left,
// and reported by the next clean.
void RemoveRunObjects(const RunNames& names,
                      const std::vector<std::string>& purposes);

// Removes the directories and /dev/shm objects of this uid's runs that have
// ended (their lock in that place is free) or, with `all`, of every run of
// this uid but this process's own. Only names of this uid's pattern and
// entries this uid owns are looked at; symlinks are never followed. Returns
// what it removed, one path per entry.
std::vector<std::string> CleanLeftovers(bool all);

// Whether `path`, a run's directory in the temp directory or one of a run's
// objects in /dev/shm, belongs to a run that has ended: its lock in that
// place is free (taken and let go at once). False for anything else, and
// for a run still starting.
bool RunHasEnded(const std::string& path);

}  // namespace ticketsim

#endif  // TICKETSIM_STORAGE_RUN_NAMES_H_
