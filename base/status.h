// Status: the result of an operation that can fail, passed as a value across
// module boundaries (after LevelDB's Status). Only the commands (sim/cli/,
// and the history reader behind `check --history`) turn a Status into an
// exit status (base/exit_status.h) and a message for the user.
#ifndef TICKETSIM_BASE_STATUS_H_
#define TICKETSIM_BASE_STATUS_H_

#include <string>
#include <string_view>
#include <utility>

namespace ticketsim {

class Status {
 public:
  enum class Code {
    kOk,
    kInvalid,      // bad input: a scenario value, a flag, a combination
    kIOError,      // a system call failed
    kCorrupt,      // data that does not parse (a torn read)
    kBusy,         // the store refused because another writer holds it
    kTimeout,      // a timed wait ran out
    kUnsupported,  // the store or guard cannot do this
    // The system failed the run, not the program under test: out of disk,
    // memory, descriptors or locks, or the device's I/O failed.
    kEnvironment,
    // The database server refused a transaction it could not serialize
    // with the others (PostgreSQL's SQLSTATE 40001, or 40P01: a deadlock);
    // run again, it may pass.
    kConflict,
    // The connection broke while a change was in flight: it may or may not
    // have happened.
    kLost,
  };

  Status() = default;

  static Status Ok() { return Status(); }
  static Status Invalid(std::string msg) { return {Code::kInvalid, msg}; }
  static Status IOError(std::string msg) { return {Code::kIOError, msg}; }
  static Status Corrupt(std::string msg) { return {Code::kCorrupt, msg}; }
  static Status Busy(std::string msg) { return {Code::kBusy, msg}; }
  static Status Timeout(std::string msg) { return {Code::kTimeout, msg}; }
  static Status Unsupported(std::string msg) {
    return {Code::kUnsupported, msg};
  }
  static Status Environment(std::string msg) {
    return {Code::kEnvironment, msg};
  }
  static Status Conflict(std::string msg) { return {Code::kConflict, msg}; }
  static Status Lost(std::string msg) { return {Code::kLost, msg}; }
  // From errno, as "context: strerror(err)": Environment for an errno that
  // says the system ran out of something (IsEnvironmentErrno), else IOError.
  static Status FromErrno(std::string_view context, int err);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

// ENOSPC, EDQUOT, EIO, ENOMEM, EMFILE, ENFILE, ENOBUFS, ENOLCK, EROFS: the
// errors no program under test causes and no guard prevents.
bool IsEnvironmentErrno(int err);

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_STATUS_H_
