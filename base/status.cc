#include "base/status.h"

#include <cerrno>
#include <cstring>

namespace ticketsim {

bool IsEnvironmentErrno(int err) {
  switch (err) {
    case ENOSPC:
    case EFBIG:  // the file size limit (ulimit -f)
    case EDQUOT:
    case EIO:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOLCK:
    case EROFS:
      return true;
    default:
      return false;
  }
}

Status Status::FromErrno(std::string_view context, int err) {
  std::string msg = std::string(context) + ": " + std::strerror(err);
  return IsEnvironmentErrno(err) ? Environment(std::move(msg))
                                 : IOError(std::move(msg));
}

std::string Status::ToString() const {
  switch (code_) {
    case Code::kOk:
      return "ok";
    case Code::kInvalid:
      return "invalid: " + message_;
    case Code::kIOError:
      return "I/O error: " + message_;
    case Code::kCorrupt:
      return "corrupt: " + message_;
    case Code::kBusy:
      return "busy: " + message_;
    case Code::kTimeout:
      return "timeout: " + message_;
    case Code::kUnsupported:
      return "unsupported: " + message_;
    case Code::kEnvironment:
      return "environment: " + message_;
    case Code::kConflict:
      return "conflict: " + message_;
    case Code::kLost:
      return "lost: " + message_;
  }
  return message_;
}

}  // namespace ticketsim
