// Fd: a file descriptor closed when it goes out of scope.
#ifndef TICKETSIM_BASE_FD_H_
#define TICKETSIM_BASE_FD_H_

#include <unistd.h>

namespace ticketsim {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_FD_H_
