// Output files: the paths of --json, --html, --junit and --history, checked
// and opened before anything runs, and written whole or not at all.
//
// What a path may be:
//   "-"               stdout (so is any path that is this process's stdout,
//                     such as /dev/stdout);
//   a character device (/dev/null, /dev/full, a terminal): written as it is;
//   a regular file, or a new one in an existing directory: written to a
//                     temporary file beside it, which Commit renames over it
//                     once every byte is on disk, and which is removed if
//                     anything failed (the old file, if any, is untouched).
// Anything else is refused before the run, with the reason: a directory, a
// FIFO (opening one for writing waits for a reader), a socket, a missing
// directory, no permission.
#ifndef TICKETSIM_BASE_OUTPUT_FILE_H_
#define TICKETSIM_BASE_OUTPUT_FILE_H_

#include <sys/types.h>

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ticketsim {

// Which file a path is, to tell two names of one file apart from two files:
// the device and inode of a file that exists, else the normalised absolute
// path of the one that will be made.
struct FileIdentity {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  std::string path;

  bool operator==(const FileIdentity& other) const;
};

// The identity of `path` (which need not exist).
FileIdentity IdentityOf(const std::string& path);

// Opens /dev/null onto whichever of fds 0, 1 and 2 is closed, read-only, so
// that no file ticketsim opens lands there by accident, and a write meant
// for a closed stdout or stderr still fails (EBADF) as it would have.
void GuardStandardDescriptors();

class OutputFile {
 public:
  enum class Kind { kStdout, kStderr, kDevice, kFile };

  // What `path` of `flag` would be written to, without opening anything;
  // Invalid ("--json out: a directory") if it cannot be an output.
  static Status Classify(const std::string& flag, const std::string& path,
                         Kind* kind);

  // Checks and opens `path` for `flag` (as the file comment says). Invalid,
  // naming the flag, the path and the reason, if it cannot be written.
  static Status Open(const std::string& flag, const std::string& path,
                     std::unique_ptr<OutputFile>* out);

  ~OutputFile();  // an uncommitted temporary file is removed
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  const std::string& flag() const { return flag_; }
  const std::string& path() const { return path_; }
  Kind kind() const { return kind_; }
  // For streaming writers; a failed write is found by Commit (ferror).
  std::FILE* stream() const { return stream_; }

  // Appends `text`; remembers the first failure for Commit.
  void Write(std::string_view text);
  // Remembers a failure found by a streaming writer.
  void Fail(int error);

  // Finishes the output: flushes it, and for a file syncs it, closes it and
  // renames it into place. On any failure (now or in an earlier write) a
  // file's temporary is removed and the error names the flag and path.
  Status Commit();

 private:
  OutputFile(std::string flag, std::string path, Kind kind);
  // Open's ways for a device and for a file (see the file comment).
  Status OpenDevice();
  Status OpenFile();
  // Where a file's bytes go (target_), the mode it keeps and its owner.
  Status FindTarget(mode_t* mode, uid_t* owner);
  // The temporary beside the target in `dir`, removed if ticketsim is
  // interrupted.
  Status CreateTemporary(const std::string& dir, int* fd);
  Status Failed(int error) const;

  std::string flag_;
  std::string path_;
  Kind kind_;
  std::FILE* stream_ = nullptr;
  std::string target_;     // kFile: where Commit renames the temporary
  std::string temporary_;  // kFile: "" once renamed or removed
  int error_ = 0;          // the first failed write's errno
  bool committed_ = false;
};

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_OUTPUT_FILE_H_
