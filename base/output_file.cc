#include "base/output_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/interrupt.h"

namespace ticketsim {
namespace {

namespace fs = std::filesystem;

// O_NONBLOCK: should the path have become a FIFO since Classify looked,
// opening it fails (ENXIO) rather than waiting for a reader.
constexpr int kOpenFlags = O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;

// Whether descriptor `fd` is open for writing and is the file `st` describes.
bool IsWritableDescriptorOf(int fd, const struct stat& st) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags == -1 || (flags & O_ACCMODE) == O_RDONLY) return false;
  struct stat fd_st;
  return fstat(fd, &fd_st) == 0 && fd_st.st_dev == st.st_dev &&
         fd_st.st_ino == st.st_ino;
}

std::string TypeName(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (writing to it would wait for a reader)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

Status Refused(const std::string& flag, const std::string& path,
               std::string_view why) {
  return Status::Invalid(fmt::format("{} {}: {}", flag, path, why));
}

Status RefusedErrno(const std::string& flag, const std::string& path,
                    std::string_view what, int error) {
  return Refused(flag, path, fmt::format("{}: {}", what, std::strerror(error)));
}

// Where writing `path` would make a new file: `path` itself, or, if it is
// a symbolic link to a file that does not exist yet, the link's target (a
// shell's `>` creates it there too). At most 40 links are followed, as the
// kernel does.
std::string NewFilePath(std::string path) {
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) break;
    std::string link(static_cast<size_t>(st.st_size) + 1, '\0');
    const ssize_t n = readlink(path.c_str(), link.data(), link.size());
    if (n <= 0 || static_cast<size_t>(n) >= link.size()) break;
    link.resize(static_cast<size_t>(n));
    const fs::path at(path);
    path = link.front() == '/' || !at.has_parent_path()
               ? link
               : (at.parent_path() / link).string();
  }
  return path;
}

// In a directory with the sticky bit (/tmp), only the owner of a file (or
// of the directory) may replace it: a report another user left there
// could be written but never renamed over, which is found now rather
// than after the run.
Status CheckReplaceable(const std::string& flag, const std::string& path,
                        uid_t owner, const fs::path& dir) {
  struct stat dir_st;
  if (owner != geteuid() && geteuid() != 0 && stat(dir.c_str(), &dir_st) == 0 &&
      (dir_st.st_mode & S_ISVTX) != 0 && dir_st.st_uid != geteuid()) {
    return Refused(flag, path,
                   fmt::format("cannot replace it: it belongs to uid {}, in a "
                               "directory with the sticky bit ({})",
                               owner, dir.string()));
  }
  return Status::Ok();
}

}  // namespace

bool FileIdentity::operator==(const FileIdentity& other) const {
  if (exists != other.exists) return false;
  if (exists) return dev == other.dev && ino == other.ino;
  return path == other.path;
}

FileIdentity IdentityOf(const std::string& path) {
  FileIdentity id;
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    id.exists = true;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
  }
  std::error_code error;
  fs::path absolute = fs::absolute(id.exists ? path : NewFilePath(path), error);
  if (error) absolute = path;
  fs::path normal = fs::weakly_canonical(absolute, error);
  id.path = (error ? absolute.lexically_normal() : normal).string();
  return id;
}

void GuardStandardDescriptors() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // The lowest free descriptor: `fd` itself, as the lower ones are open.
    const int opened = open("/dev/null", O_RDONLY);
    if (opened != -1 && opened != fd) {
      dup2(opened, fd);
      close(opened);
    }
  }
}

Status OutputFile::Classify(const std::string& flag, const std::string& path,
                            Kind* kind) {
  if (path == "-") {
    *kind = Kind::kStdout;
    return Status::Ok();
  }
  if (path.empty()) return Refused(flag, "\"\"", "an empty path");
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT)
      return RefusedErrno(flag, path, "cannot use it", errno);
    *kind = Kind::kFile;  // a new file: Open checks its directory
    return Status::Ok();
  }
  if (IsWritableDescriptorOf(STDOUT_FILENO, st)) {
    *kind = Kind::kStdout;
  } else if (IsWritableDescriptorOf(STDERR_FILENO, st)) {
    *kind = Kind::kStderr;
  } else if (S_ISCHR(st.st_mode)) {
    *kind = Kind::kDevice;
  } else if (S_ISREG(st.st_mode)) {
    *kind = Kind::kFile;
  } else {
    return Refused(flag, path,
                   TypeName(st.st_mode) + ", not a regular file or device");
  }
  return Status::Ok();
}

OutputFile::OutputFile(std::string flag, std::string path, Kind kind)
    : flag_(std::move(flag)), path_(std::move(path)), kind_(kind) {}

OutputFile::~OutputFile() {
  if (!committed_ && stream_ != nullptr && kind_ != Kind::kStdout &&
      kind_ != Kind::kStderr) {
    std::fclose(stream_);
  }
  if (!temporary_.empty()) {
    unlink(temporary_.c_str());
    ForgetOnInterrupt(temporary_.c_str());
  }
}

Status OutputFile::Open(const std::string& flag, const std::string& path,
                        std::unique_ptr<OutputFile>* out) {
  Kind kind;
  if (Status s = Classify(flag, path, &kind); !s.ok()) return s;
  std::unique_ptr<OutputFile> file(new OutputFile(flag, path, kind));
  Status opened;
  if (kind == Kind::kStdout || kind == Kind::kStderr) {
    file->stream_ = kind == Kind::kStdout ? stdout : stderr;
  } else if (kind == Kind::kDevice) {
    opened = file->OpenDevice();
  } else {
    opened = file->OpenFile();
  }
  if (!opened.ok()) return opened;
  *out = std::move(file);
  return Status::Ok();
}

Status OutputFile::OpenDevice() {
  const int fd = open(path_.c_str(), kOpenFlags);
  if (fd == -1) return RefusedErrno(flag_, path_, "cannot open it", errno);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode) ||
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1 ||
      (stream_ = fdopen(fd, "w")) == nullptr) {
    close(fd);
    return Refused(flag_, path_, "cannot open it as a device");
  }
  return Status::Ok();
}

Status OutputFile::OpenFile() {
  mode_t mode = 0;
  uid_t owner = 0;
  if (Status s = FindTarget(&mode, &owner); !s.ok()) return s;
  const fs::path target(target_);
  const fs::path dir =
      target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (Status s = CheckReplaceable(flag_, path_, owner, dir); !s.ok()) return s;
  int fd = -1;
  if (Status s = CreateTemporary(dir.string(), &fd); !s.ok()) return s;
  if (fchmod(fd, mode) != 0 || (stream_ = fdopen(fd, "w")) == nullptr) {
    const int error = errno;
    close(fd);
    return RefusedErrno(flag_, path_, "cannot write it", error);
  }
  return Status::Ok();
}

// An existing file must be writable (it is replaced whole, keeping its
// mode, and through a symbolic link its target is); a new one takes the
// usual mode.
Status OutputFile::FindTarget(mode_t* mode, uid_t* owner) {
  const mode_t mask = umask(0);
  umask(mask);
  *mode = 0666 & ~mask;
  *owner = geteuid();
  target_ = NewFilePath(path_);
  if (const int fd = open(path_.c_str(), kOpenFlags); fd != -1) {
    struct stat st;
    const bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    close(fd);
    if (!regular) return Refused(flag_, path_, "not a regular file");
    *mode = st.st_mode & 07777;
    *owner = st.st_uid;
    if (char* real = realpath(path_.c_str(), nullptr)) {
      target_ = real;
      std::free(real);
    }
  } else if (errno != ENOENT) {
    return RefusedErrno(flag_, path_, "cannot write it", errno);
  }
  return Status::Ok();
}

Status OutputFile::CreateTemporary(const std::string& dir, int* fd) {
  std::string name =
      (fs::path(dir) / fmt::format(".{}.ticketsim-XXXXXX",
                                   fs::path(target_).filename().string()))
          .string();
  // Made and marked for removal with interrupts held, so that none ends
  // ticketsim between the two and leaves the file.
  DeferInterrupts hold;
  *fd = mkostemp(name.data(), O_CLOEXEC);
  if (*fd == -1) {
    return RefusedErrno(flag_, path_,
                        fmt::format("cannot create a file in {}", dir), errno);
  }
  temporary_ = name;
  if (!RemoveOnInterrupt(temporary_.c_str())) {
    close(*fd);
    return Refused(flag_, path_, "too many outputs");
  }
  return Status::Ok();
}

void OutputFile::Write(std::string_view text) {
  if (error_ != 0 || text.empty()) return;
  if (std::fwrite(text.data(), 1, text.size(), stream_) != text.size()) {
    Fail(errno != 0 ? errno : EIO);
  }
}

void OutputFile::Fail(int error) {
  if (error_ == 0) error_ = error != 0 ? error : EIO;
}

Status OutputFile::Failed(int error) const {
  return Status::IOError(fmt::format("{} {}: cannot write {}: {}", flag_, path_,
                                     kind_ == Kind::kStdout   ? "to stdout"
                                     : kind_ == Kind::kStderr ? "to stderr"
                                                              : "it",
                                     std::strerror(error)));
}

Status OutputFile::Commit() {
  if (committed_) return error_ == 0 ? Status::Ok() : Failed(error_);
  committed_ = true;
  if (std::fflush(stream_) != 0) Fail(errno);
  if (std::ferror(stream_)) Fail(EIO);
  if (kind_ == Kind::kStdout || kind_ == Kind::kStderr) {
    return error_ == 0 ? Status::Ok() : Failed(error_);
  }
  // A disk may take a write and only refuse its blocks later: sync before
  // the file takes the place of the old one.
  if (kind_ == Kind::kFile && error_ == 0 && fsync(fileno(stream_)) != 0) {
    Fail(errno);
  }
  if (std::fclose(stream_) != 0) Fail(errno);
  stream_ = nullptr;
  if (kind_ == Kind::kFile) {
    if (error_ == 0 && rename(temporary_.c_str(), target_.c_str()) != 0) {
      Fail(errno);
    }
    if (error_ != 0) unlink(temporary_.c_str());
    ForgetOnInterrupt(temporary_.c_str());
    temporary_.clear();
  }
  return error_ == 0 ? Status::Ok() : Failed(error_);
}

}  // namespace ticketsim
