#include "storage/file_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>

namespace ticketsim {
namespace {

// Larger than any {"count": N} we write; a longer file is not ours.
constexpr size_t kMaxFileBytes = 64;

std::string CountJson(int64_t count) {
  return fmt::format("{{\"count\": {}}}", count);
}

// write = mmap: the file's fixed length, room for any count and padding.
constexpr size_t kMappedBytes = 40;

std::string PaddedCountJson(int64_t count) {
  std::string text = CountJson(count);
  text.resize(kMappedBytes, ' ');  // JSON allows trailing white space
  return text;
}

// {"count": N} and spaces, read without a JSON library: the mapped store's
// every read. Returns false for anything else (the caller then asks the
// JSON parser, which knows every form).
bool ParseCountFast(const char* text, size_t size, int64_t* count) {
  constexpr std::string_view kPrefix = "{\"count\": ";
  if (size < kPrefix.size() + 2 ||
      std::string_view(text, kPrefix.size()) != kPrefix) {
    return false;
  }
  size_t i = kPrefix.size();
  const bool negative = text[i] == '-';
  if (negative) ++i;
  int64_t value = 0;
  const size_t digits = i;
  for (; i < size && text[i] >= '0' && text[i] <= '9' && i - digits < 18; ++i) {
    value = value * 10 + (text[i] - '0');
  }
  if (i == digits || i >= size || text[i] != '}') return false;
  for (++i; i < size; ++i) {
    if (text[i] != ' ') return false;
  }
  *count = negative ? -value : value;
  return true;
}

// A count in any JSON form of {"count": N}; Corrupt, saying what the
// file holds instead, otherwise.
Status ParseCount(const char* text, size_t size, int64_t* count) {
  if (size == 0) return Status::Corrupt("empty file");
  const auto doc = nlohmann::json::parse(text, text + size, nullptr,
                                         /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("count") ||
      !doc["count"].is_number_integer()) {
    return Status::Corrupt(fmt::format("{} bytes that are not a count", size));
  }
  *count = doc["count"].get<int64_t>();
  return Status::Ok();
}

// Writes all of `text` to fd, resuming after short writes.
Status WriteAll(int fd, const std::string& text, const std::string& path) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("write " + path, errno);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status CloseFd(int fd, const std::string& path) {
  if (close(fd) != 0) return Status::FromErrno("close " + path, errno);
  return Status::Ok();
}

// The run directory's descriptor for one operation: the store's own once
// attached, else one opened (and checked) for the operation alone.
class RunDir {
 public:
  RunDir(int attached, const RunNames& names) : fd_(attached) {
    if (fd_ < 0) {
      status_ = OpenRunDirectory(names, &owned_);
      fd_ = owned_;
    }
  }
  ~RunDir() {
    if (owned_ >= 0) close(owned_);
  }
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;

  const Status& status() const { return status_; }
  // Opens `name` in it (O_NOFOLLOW | O_CLOEXEC added; mode 0600 if made).
  int Open(const std::string& name, int flags) const {
    return openat(fd_, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, 0600);
  }
  int fd() const { return fd_; }

 private:
  Status status_;
  int fd_;
  int owned_ = -1;
};

}  // namespace

FileStore::FileStore(const StoreSpec& spec, const RunNames& names)
    : write_(spec.write),
      slow_write_ms_(spec.slow_write_ms),
      names_(names),
      file_name_(spec.file_name),
      path_(names.File(spec.file_name)) {}

Status FileStore::Create(int64_t initial) {
  // O_EXCL | O_NOFOLLOW: never write through a file or link someone else made.
  int fd = -1;
  if (Status s = OpenInRunDirectory(names_, file_name_,
                                    O_WRONLY | O_CREAT | O_EXCL, &fd);
      !s.ok()) {
    return s;
  }
  Status s = WriteAll(fd,
                      write_ == FileWrite::kMapped ? PaddedCountJson(initial)
                                                   : CountJson(initial),
                      path_);
  Status c = CloseFd(fd, path_);
  return s.ok() ? c : s;
}

Status FileStore::Attach() {
  if (dir_ < 0) {
    if (Status s = OpenRunDirectory(names_, &dir_); !s.ok()) return s;
  }
  if (write_ == FileWrite::kReplace || fd_ >= 0 || mapped_ != nullptr) {
    return Status::Ok();
  }
  fd_ = openat(dir_, file_name_.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd_ < 0) return Status::FromErrno("open " + path_, errno);
  if (write_ == FileWrite::kMapped) {
    void* at =
        mmap(nullptr, kMappedBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    const int err = errno;
    close(fd_);
    fd_ = -1;
    if (at == MAP_FAILED) return Status::FromErrno("map " + path_, err);
    mapped_ = static_cast<char*>(at);
  }
  return Status::Ok();
}

void FileStore::Detach() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (dir_ >= 0) close(dir_);
  dir_ = -1;
  if (mapped_ != nullptr) munmap(mapped_, kMappedBytes);
  mapped_ = nullptr;
}

Status FileStore::Read(Reading* out) {
  char buf[kMaxFileBytes + 1];
  size_t got = 0;
  if (mapped_ != nullptr) {
    std::memcpy(buf, mapped_, kMappedBytes);
    got = kMappedBytes;
    out->bytes = static_cast<uint32_t>(got);
    if (ParseCountFast(buf, got, &out->count)) return Status::Ok();
  } else if (fd_ >= 0) {
    // One read from the start: what the file holds at this moment.
    ssize_t n;
    while ((n = pread(fd_, buf, sizeof buf, 0)) < 0 && errno == EINTR) {
    }
    if (n < 0) return Status::FromErrno("read " + path_, errno);
    got = static_cast<size_t>(n);
  } else {
    const RunDir dir(dir_, names_);
    if (!dir.status().ok()) return dir.status();
    const int fd = dir.Open(file_name_, O_RDONLY);
    if (fd < 0) return Status::FromErrno("open " + path_, errno);
    while (got < sizeof buf) {
      const ssize_t n = read(fd, buf + got, sizeof buf - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        close(fd);
        return Status::FromErrno("read " + path_, err);
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    close(fd);
  }
  out->bytes = static_cast<uint32_t>(got);
  return ParseCount(buf, got, &out->count);
}

Status FileStore::Write(int64_t count) {
  if (mapped_ != nullptr) {
    char text[kMappedBytes];
    std::memset(text, ' ', sizeof text);
    fmt::format_to_n(text, sizeof text, "{{\"count\": {}}}", count);
    SleepMs(slow_write_ms_);
    std::memcpy(mapped_, text, sizeof text);
    return Status::Ok();
  }
  const std::string text = CountJson(count);
  return write_ == FileWrite::kTruncate ? WriteTruncating(text)
                                        : WriteReplacing(text);
}

Status FileStore::WriteTruncating(const std::string& text) {
  if (fd_ >= 0) {
    if (ftruncate(fd_, 0) != 0) {
      return Status::FromErrno("truncate " + path_, errno);
    }
    // From here until pwrite the file is empty: the tutorial's torn-read
    // window.
    MidWrite();
    SleepMs(slow_write_ms_);
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = pwrite(fd_, text.data() + done, text.size() - done,
                               static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno("write " + path_, errno);
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }
  const RunDir dir(dir_, names_);
  if (!dir.status().ok()) return dir.status();
  const int fd = dir.Open(file_name_, O_WRONLY | O_TRUNC);
  if (fd < 0) return Status::FromErrno("open " + path_, errno);
  // From here until WriteAll the file is empty: the tutorial's torn-read
  // window.
  MidWrite();
  SleepMs(slow_write_ms_);
  Status s = WriteAll(fd, text, path_);
  Status c = CloseFd(fd, path_);
  return s.ok() ? c : s;
}

Status FileStore::WriteReplacing(const std::string& text) {
  // One temp file per writer, in the run's private directory: per thread,
  // for buyers may be threads of one process (a process's only thread has
  // its pid for its id).
  const RunDir dir(dir_, names_);
  if (!dir.status().ok()) return dir.status();
  const std::string temp_name = fmt::format("{}.{}.tmp", file_name_, gettid());
  const std::string temp = names_.File(temp_name);
  const int fd = dir.Open(temp_name, O_WRONLY | O_CREAT | O_TRUNC);
  if (fd < 0) return Status::FromErrno("create " + temp, errno);
  Status s = WriteAll(fd, text, temp);
  Status c = CloseFd(fd, temp);
  if (!s.ok() || !c.ok()) {
    unlinkat(dir.fd(), temp_name.c_str(), 0);
    return s.ok() ? c : s;
  }
  MidWrite();
  SleepMs(slow_write_ms_);
  if (renameat(dir.fd(), temp_name.c_str(), dir.fd(), file_name_.c_str()) !=
      0) {
    const int err = errno;
    unlinkat(dir.fd(), temp_name.c_str(), 0);
    return Status::FromErrno("rename " + temp, err);
  }
  return Status::Ok();
}

}  // namespace ticketsim
