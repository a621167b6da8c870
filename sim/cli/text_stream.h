// Text for a person, written so that a failed write never stops a command:
// messages on stderr, the text reports on a stream whose failure is told at
// the end, and text held back in memory to be written later at once.
#ifndef TICKETSIM_SIM_CLI_TEXT_STREAM_H_
#define TICKETSIM_SIM_CLI_TEXT_STREAM_H_

#include <cerrno>
#include <cstdio>
#include <string>
#include <string_view>
#include <system_error>

namespace ticketsim {

// "ticketsim: MESSAGE" on stderr, its later lines indented. Never throws:
// with stderr closed or full there is nowhere left to say anything, and the
// exit status still tells.
void Complain(std::string_view message);
// The same on one line, whatever `message` holds.
void ComplainInOneLine(std::string_view message);

// Text for a person (the text report, compare's table). fmt throws on a
// failed write; here the failure is remembered and reported at the end
// instead, so that a closed pipe or a full disk under the text does not stop
// the run or lose the files it was asked to write.
class TextStream {
 public:
  explicit TextStream(std::FILE* out) : out_(out) {}
  std::FILE* get() const { return out_; }

  // Calls `write` (which prints to get()) unless a write already failed.
  template <typename Write>
  void operator()(Write&& write) {
    if (error_ != 0) return;
    try {
      write();
    } catch (const std::system_error& e) {
      error_ = e.code().value() != 0 ? e.code().value() : EIO;
    }
  }

  // Flushes the stream; "" if every write went through (or its reader went
  // away), else the message.
  std::string Finish();
  // A write failed (Finish said so, or had nothing to say for a reader
  // that went away).
  bool failed() const { return error_ != 0; }

 private:
  std::FILE* out_;
  int error_ = 0;
};

// Text held back in memory (a file in memory: the reports write to a
// stream), to be written later at once.
class HeldText {
 public:
  HeldText();
  HeldText(const HeldText&) = delete;
  HeldText& operator=(const HeldText&) = delete;
  ~HeldText();
  // Null if no memory could be had for it.
  std::FILE* get() const { return file_; }
  // What was written so far.
  std::string Take();

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_CLI_TEXT_STREAM_H_
