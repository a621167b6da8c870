#include "storage/status.h"

#include <cstring>

namespace ticketsim {

Status Status::FromErrno(std::string_view context, int err) {
  return IOError(std::string(context) + ": " + std::strerror(err));
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
  }
  return message_;
}

}  // namespace ticketsim
