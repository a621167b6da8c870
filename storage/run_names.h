// RunNames: the names of everything one run creates outside its own memory.
//
// Every named object (shared memory segment, POSIX semaphore) and every file
// of a run carries one tag, "ticketsim.<uid>.<pid>.<seq>": the uid keeps users
// apart, the pid of the ticketsim process that owns the run lets a later run
// tell a leftover of a dead run from a live one, and seq tells the trials of
// one process apart. Files live in one private directory per run (mode 0700),
// so removing the directory removes them all.
#ifndef TICKETSIM_STORAGE_RUN_NAMES_H_
#define TICKETSIM_STORAGE_RUN_NAMES_H_

#include <string>
#include <string_view>
#include <vector>

#include "storage/status.h"

namespace ticketsim {

struct RunNames {
  std::string tag;  // ticketsim.<uid>.<pid>.<seq>
  std::string dir;  // <tmp>/<tag>: the run's private directory

  // The name of a named IPC object of this run, e.g. Object("store").
  std::string Object(std::string_view purpose) const;
  // A path inside the run's directory.
  std::string File(std::string_view name) const;
};

// New names for a run of this process; seq counts up from 1 per process.
// The directory is under $TMPDIR, or /tmp.
RunNames NewRunNames();

// Creates the run's directory with mode 0700. Fails if it exists already.
Status CreateRunDirectory(const RunNames& names);

// Removes the run's named objects (given by purpose) and its directory.
// Never fails: what cannot be removed is left, and reported by the next clean.
void RemoveRunObjects(const RunNames& names,
                      const std::vector<std::string>& purposes);

// Finds the objects and directories of this uid's runs whose owning process is
// gone (or, with `all`, of every run of this uid except this process's own) and
// removes them. Returns what it removed, one path per entry.
std::vector<std::string> CleanLeftovers(bool all);

}  // namespace ticketsim

#endif  // TICKETSIM_STORAGE_RUN_NAMES_H_
