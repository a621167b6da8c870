// FileStore: the count as JSON in a file, as the seed's db.txt holds it.
// See ticket_store.h for what write = truncate and write = replace show.
#ifndef TICKETSIM_STORAGE_FILE_STORE_H_
#define TICKETSIM_STORAGE_FILE_STORE_H_

#include <string>

#include "storage/ticket_store.h"

namespace ticketsim {

class FileStore : public TicketStore {
 public:
  FileStore(const StoreSpec& spec, const RunNames& names);

  Status Create(int64_t initial) override;
  // The file is opened anew by every Read and Write, as the seed does: with
  // write = replace the file under the name changes at every write.
  Status Attach() override { return Status::Ok(); }
  void Detach() override {}
  Status Read(Reading* out) override;
  Status Write(int64_t count) override;

  const std::string& path() const { return path_; }

 private:
  Status WriteTruncating(const std::string& text);
  Status WriteReplacing(const std::string& text);

  const FileWrite write_;
  const double slow_write_ms_;
  const std::string path_;
};

}  // namespace ticketsim

#endif  // TICKETSIM_STORAGE_FILE_STORE_H_
