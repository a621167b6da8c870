#include "base/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

namespace ticketsim {

std::string_view FileKindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

Fd OpenRegularFile(const std::string& path, int* err, mode_t* mode) {
  *err = 0;
  *mode = 0;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    *err = errno;
    return Fd();
  }
  if (!S_ISREG(st.st_mode)) {
    *mode = st.st_mode;
    return Fd();
  }
  Fd fd(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    *err = errno;
    return Fd();
  }
  if (fstat(fd.get(), &st) != 0) {
    *err = errno;
    return Fd();
  }
  if (!S_ISREG(st.st_mode)) {
    *mode = st.st_mode;
    return Fd();
  }
  const int flags = fcntl(fd.get(), F_GETFL);
  if (flags != -1) fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

}  // namespace ticketsim
