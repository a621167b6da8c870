#include "sim/cli/text_stream.h"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>

#include "base/escape.h"

namespace ticketsim {
namespace {

void WriteToStderr(const std::string& line) {
  if (std::fwrite(line.data(), 1, line.size(), stderr) != line.size()) {
    std::clearerr(stderr);
  }
}

}  // namespace

void Complain(std::string_view message) {
  WriteToStderr(
      fmt::format("ticketsim: {}\n", VisibleIndented(message, "    ")));
}

void ComplainInOneLine(std::string_view message) {
  WriteToStderr(fmt::format("ticketsim: {}\n", Visible(message)));
}

std::string TextStream::Finish() {
  if (error_ == 0 && (std::fflush(out_) != 0 || std::ferror(out_))) {
    error_ = errno != 0 ? errno : EIO;
  }
  // Its reader went away (`| head`, `| grep -q`): it has read what it
  // wanted, which is no failure of the run's.
  if (error_ == 0 || error_ == EPIPE) return "";
  return fmt::format("cannot write to {}: {}",
                     out_ == stderr ? "stderr" : "stdout",
                     std::strerror(error_));
}

HeldText::HeldText() : file_(open_memstream(&data_, &size_)) {}

HeldText::~HeldText() {
  if (file_ != nullptr) std::fclose(file_);
  std::free(data_);
}

std::string HeldText::Take() {
  if (file_ == nullptr || std::fflush(file_) != 0) return "";
  return std::string(data_, size_);
}

}  // namespace ticketsim
