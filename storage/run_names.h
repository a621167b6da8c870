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

#include <string>
#include <string_view>
#include <vector>

#include "storage/status.h"

namespace ticketsim {

struct RunNames {
  std::string tag;  // ticketsim.<uid>.<pid>.<random>
  std::string dir;  // <tmp>/<tag>: the run's private directory

  // The name of a named IPC object of this run, e.g. Object("store").
  std::string Object(std::string_view purpose) const;
  // A path inside the run's directory.
  std::string File(std::string_view name) const;
};

// Fresh names, with a random part of their own; nothing is created. The
// directory is under $TMPDIR, or /tmp.
RunNames NewRunNames();

// Creates the directory `names.dir` with mode 0700. Fails if the name exists
// already, whatever it is (a directory, a file, a symlink): for a directory
// inside a started run (an event's). A run itself starts with StartRun.
Status CreateRunDirectory(const RunNames& names);

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
