// Guard: what keeps buyers out of each other's critical section.
//
// The kinds, one file each, and what a holder SIGKILLed inside leaves:
//   none              guard_none.cc: no exclusion. Still counts its enters and
//                     leaves and checks they balance.
//   named-mutex       guard_named_mutex.cc: boost::interprocess::named_mutex
//                     (a POSIX named semaphore on Linux). Stays locked: the
//                     next buyer times out; that is an abandoned lock.
//   named-semaphore   guard_named_semaphore.cc: boost named_semaphore with
//                     `permits` units; above one it is not mutual exclusion.
//                     Stays taken if its holder dies, like the named mutex.
//   file-lock         guard_file_lock.cc: flock() on a separate lock file
//                     (never the data file, which rename may swap). Each
//                     buyer opens it after fork. The kernel releases it.
//   robust-mutex      guard_robust_mutex.cc: a process-shared robust pthread
//                     mutex in shared memory. The next locker gets EOWNERDEAD,
//                     makes it consistent and reports it recovered.
//   sqlite-immediate  guard_sqlite.cc: BEGIN IMMEDIATE ... COMMIT on the
//                     buyer's own connection. SQLite rolls back a dead
//                     holder's transaction.
//   sqlite-deferred   guard_sqlite.cc: BEGIN DEFERRED ... COMMIT: excludes
//                     nothing until the write, where the second writer gets
//                     SQLITE_BUSY (the lesson).
//   pg-row-lock       guard_pg_row_lock.cc: BEGIN (store.isolation), SELECT
//                     ... FOR UPDATE ... COMMIT on the buyer's connection.
//                     The server rolls back a dead holder's transaction.
//                     Without a row lock, the same class is the transaction
//                     of a purchase under store.isolation with guard none.
//   pg-advisory       guard_pg_advisory.cc: pg_advisory_lock on the buyer's
//                     session. Held until the server notices the holder's
//                     death and ends its session; then freed.
//   std-mutex         guard_std_mutex.cc: a std::timed_mutex of the buyer
//                     process, shared by its threads (thread mode only). A
//                     thread's death ends the process, and the mutex with it.
//
// Life cycle, as for stores: the parent calls Create() before forking; each
// buyer calls Attach() after fork and opens its own handles; the run removes
// ObjectPurposes() and the run directory at the end, whatever happened.
#ifndef TICKETSIM_SIM_GUARDS_GUARD_H_
#define TICKETSIM_SIM_GUARDS_GUARD_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "sim/scenario/scenario.h"
#include "storage/run_names.h"
#include "storage/ticket_store.h"

namespace ticketsim {

class Guard {
 public:
  Guard() = default;
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
  virtual ~Guard() = default;

  // Parent only, before buyers start: creates named objects with mode 0600,
  // failing if they exist.
  virtual Status Create() { return Status::Ok(); }
  // Opens this process's own handles (after fork).
  virtual Status Attach() { return Status::Ok(); }
  virtual void Detach() {}

  // Blocks until this process holds the guard, or `timeout_ms` has passed:
  // then returns Timeout and does not hold it. Sets *recovered when the
  // previous holder died holding it and this process took it over.
  virtual Status Acquire(int64_t timeout_ms, bool* recovered) = 0;
  // One try without waiting: Ok if taken, Timeout if someone holds it.
  virtual Status TryAcquire(bool* recovered) { return Acquire(0, recovered); }
  // Gives the guard up, keeping what was done under it.
  // REQUIRES: held by this process.
  virtual Status Release() = 0;
  // Gives the guard up after a failed purchase, undoing what the guard can
  // undo (a transaction); for most kinds the same as Release.
  virtual void Abort() { Release(); }

  // Whether what is written under the guard counts only once Release has
  // committed it (a transaction): a holder that dies before then wrote
  // nothing.
  virtual bool Transactional() const { return false; }

  // The purposes (RunNames::Object) of the named IPC objects Create made.
  virtual std::vector<std::string> ObjectPurposes() const { return {}; }

  // Whether one object serves every thread of a buyer process (what it
  // locks is that process's memory); otherwise each thread makes and
  // attaches its own, as each process does (docs/threads.md).
  virtual bool SharedByThreads() const { return false; }
};

// REQUIRES: ValidateScenario passed (sqlite guards get an sqlite store).
std::unique_ptr<Guard> MakeGuard(const GuardSpec& spec, const RunNames& names,
                                 TicketStore* store);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_GUARDS_GUARD_H_
