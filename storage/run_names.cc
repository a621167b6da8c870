#include "storage/run_names.h"

#include <fmt/format.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace ticketsim {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kShmDir = "/dev/shm";
// POSIX named semaphores appear in /dev/shm with this prefix.
constexpr std::string_view kSemPrefix = "sem.";

std::string TempRoot() {
  const char* tmp = std::getenv("TMPDIR");
  return (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
}

std::string UidPrefix() { return fmt::format("ticketsim.{}.", getuid()); }

// If `name` is "ticketsim.<our uid>.<pid>.<...>", returns pid; otherwise 0.
pid_t OwnerOf(std::string_view name) {
  const std::string prefix = UidPrefix();
  if (name.substr(0, prefix.size()) != prefix) return 0;
  name.remove_prefix(prefix.size());
  pid_t pid = 0;
  size_t i = 0;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i) {
    pid = pid * 10 + (name[i] - '0');
  }
  return (i > 0 && i < name.size() && name[i] == '.') ? pid : 0;
}

bool ProcessAlive(pid_t pid) { return kill(pid, 0) == 0 || errno == EPERM; }

bool IsLeftover(std::string_view name, bool all) {
  const pid_t owner = OwnerOf(name);
  if (owner == 0 || owner == getpid()) return false;
  return all || !ProcessAlive(owner);
}

}  // namespace

std::string RunNames::Object(std::string_view purpose) const {
  return fmt::format("{}.{}", tag, purpose);
}

std::string RunNames::File(std::string_view name) const {
  return fmt::format("{}/{}", dir, name);
}

RunNames NewRunNames() {
  static std::atomic<int> seq{0};
  RunNames names;
  names.tag = fmt::format("{}{}.{}", UidPrefix(), getpid(), ++seq);
  names.dir = fmt::format("{}/{}", TempRoot(), names.tag);
  return names;
}

Status CreateRunDirectory(const RunNames& names) {
  if (mkdir(names.dir.c_str(), 0700) != 0) {
    return Status::FromErrno("mkdir " + names.dir, errno);
  }
  return Status::Ok();
}

void RemoveRunObjects(const RunNames& names,
                      const std::vector<std::string>& purposes) {
  for (const std::string& purpose : purposes) {
    const std::string name = "/" + names.Object(purpose);
    shm_unlink(name.c_str());
    sem_unlink(name.c_str());
  }
  std::error_code ignored;
  fs::remove_all(names.dir, ignored);
}

std::vector<std::string> CleanLeftovers(bool all) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kShmDir, ec)) {
    std::string name = entry.path().filename();
    std::string_view object = name;
    const bool is_sem = object.substr(0, kSemPrefix.size()) == kSemPrefix;
    if (is_sem) object.remove_prefix(kSemPrefix.size());
    if (!IsLeftover(object, all)) continue;
    const std::string posix_name = "/" + std::string(object);
    const int rc = is_sem ? sem_unlink(posix_name.c_str())
                          : shm_unlink(posix_name.c_str());
    if (rc == 0) removed.push_back(entry.path());
  }
  for (const auto& entry : fs::directory_iterator(TempRoot(), ec)) {
    if (!IsLeftover(entry.path().filename().string(), all)) continue;
    std::error_code remove_ec;
    if (fs::remove_all(entry.path(), remove_ec) > 0) {
      removed.push_back(entry.path());
    }
  }
  return removed;
}

}  // namespace ticketsim
