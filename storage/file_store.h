// FileStore: the count as JSON in a file, as the tutorial's db.txt holds it.
// See ticket_store.h for what write = truncate and write = replace show.
#ifndef TICKETSIM_STORAGE_FILE_STORE_H_
#define TICKETSIM_STORAGE_FILE_STORE_H_

#include <string>

#include "storage/ticket_store.h"

namespace ticketsim {

class FileStore : public TicketStore {
 public:
  FileStore(const StoreSpec& spec, const RunNames& names);

  ~FileStore() override { Detach(); }

  Status Create(int64_t initial) override;
  // write = truncate: Attach opens the file once, and each Read and Write
  // goes through that descriptor (pread; ftruncate, then pwrite), the same
  // file the tutorial reopens every time, with the same empty moment between
  // the truncation and the write, at a fraction of the cost.
  // write = replace: every Read opens the file anew, since each write puts
  // a new file under the name.
  // write = mmap: Attach maps the file, kept kMappedBytes long (the JSON
  // padded with spaces); Read and Write copy bytes to and from the page
  // cache, with no system call at all.
  // Every file is opened through the run directory's descriptor, checked to
  // be the directory the run made: Attach's, or (not attached) one opened
  // for the call.
  Status Attach() override;
  void Detach() override;
  Status Read(Reading* out) override;
  Status Write(int64_t count) override;

  std::string Location() const override { return path_; }
  const std::string& path() const { return path_; }

 private:
  Status WriteTruncating(const std::string& text);
  Status WriteReplacing(const std::string& text);

  const FileWrite write_;
  const double slow_write_ms_;
  const RunNames names_;
  const std::string file_name_;
  const std::string path_;
  int dir_ = -1;            // the run directory, once attached
  int fd_ = -1;             // write = truncate, once attached
  char* mapped_ = nullptr;  // write = mmap, once attached
};

}  // namespace ticketsim

#endif  // TICKETSIM_STORAGE_FILE_STORE_H_
