#include "sim/scenario/scenario_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <re2/re2.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <vector>

#include "base/input_file.h"
#include "sim/scenario/scenario_keys.h"
#include "sim/scenario/toml_text.h"

namespace ticketsim {
namespace {

namespace fs = std::filesystem;

std::string Place(const std::string& path, const toml::source_position& at) {
  return fmt::format("{}:{}:{}", path, at.line, at.column);
}

// Line and column of byte `offset` in `text`, counted from 1.
toml::source_position PositionOf(std::string_view text, size_t offset) {
  toml::source_position at{1, 1};
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++at.line;
      at.column = 1;
    } else {
      ++at.column;
    }
  }
  return at;
}

// Why a path could not be opened or listed. strerror's "too many levels of
// symbolic links" is most often a loop, so it is named as one.
std::string Reason(int err) {
  if (err == ELOOP) return "symlink loop (too many levels of symbolic links)";
  return std::strerror(err);
}

Status NotRegular(const std::string& path, mode_t mode) {
  if (S_ISDIR(mode)) return Status::Invalid(path + ": is a directory");
  return Status::Invalid(fmt::format(
      "{}: is {}, not a scenario file (a scenario is a regular TOML file)",
      path, FileKindOf(mode)));
}

// Reads a regular file whole, never waiting on what is not one (a FIFO, a
// device: see OpenRegularFile). A symlink to a regular file is followed.
Status ReadScenarioFile(const std::string& path, std::string* text) {
  int err = 0;
  mode_t mode = 0;
  const Fd fd = OpenRegularFile(path, &err, &mode);
  if (fd.get() < 0) {
    return err != 0 ? Status::Invalid(
                          fmt::format("{}: cannot read: {}", path, Reason(err)))
                    : NotRegular(path, mode);
  }
  // One byte past the limit tells a file that is too long.
  text->assign(kMaxScenarioBytes + 1, '\0');
  size_t got = 0;
  while (got < text->size()) {
    const ssize_t n = read(fd.get(), text->data() + got, text->size() - got);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Invalid(
          fmt::format("{}: cannot read: {}", path, Reason(errno)));
    }
    got += static_cast<size_t>(n);
  }
  text->resize(got);
  return Status::Ok();
}

// Refuses what is plainly not a scenario before the TOML parser sees it.
Status CheckScenarioText(const std::string& path, std::string_view text) {
  if (text.size() > kMaxScenarioBytes) {
    return Status::Invalid(
        fmt::format("{}:1:1: the file is longer than {} KiB; is it a scenario?",
                    path, kMaxScenarioBytes >> 10));
  }
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Status::Invalid(
        fmt::format("{}:1:1: the file is empty; a scenario sets at least one "
                    "key, e.g. [buyers] count = 10",
                    path));
  }
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return Status::Invalid(fmt::format(
        "{}: a NUL byte: this is a binary file, not a TOML scenario",
        Place(path, PositionOf(text, nul))));
  }
  return Status::Ok();
}

// Line `line` (from 1) of `text`, without its newline.
std::string_view LineOf(std::string_view text, size_t line) {
  size_t start = 0;
  for (size_t i = 1; i < line && start != std::string_view::npos; ++i) {
    start = text.find('\n', start);
    if (start != std::string_view::npos) ++start;
  }
  if (start == std::string_view::npos || start > text.size()) return "";
  const size_t end = text.find('\n', start);
  return text.substr(start, end == std::string_view::npos ? end : end - start);
}

// toml++'s words for two mistakes a newcomer makes, in the scenario's own
// words: a range written 20-50 (which toml++ takes for a date) and a string
// without its closing quote. Anything else keeps toml++'s description.
std::string ExplainParseError(std::string_view text,
                              const toml::parse_error& e) {
  const std::string_view line = LineOf(text, e.source().begin.line);
  static const re2::RE2 kKeyValue(R"(\s*([A-Za-z0-9_.-]+)\s*=\s*(.*?)\s*)",
                                  re2::RE2::Latin1);
  std::string key, value;
  if (re2::RE2::FullMatch(re2::StringPiece(line.data(), line.size()), kKeyValue,
                          &key, &value)) {
    if (const std::string array = RangeWrittenAsArray(value); !array.empty()) {
      return fmt::format(
          "{} = {} is not a number or a range: a range is written {} ({} = "
          "{})",
          key, value, array, key, array);
    }
    const bool string_error =
        e.description().find("parsing string") != std::string_view::npos;
    if (string_error && !value.empty() && value.front() == '"' &&
        std::count(value.begin(), value.end(), '"') == 1) {
      return fmt::format(
          "the string is not closed: a '\"' is missing at its end ({} = {}\")",
          key, value);
    }
  }
  return std::string(e.description());
}

// No scenario key has more parts than this ("faults.partition_host.at_ms"
// has three), with room to spare.
constexpr int kMaxKeyParts = 8;

// The wrong keys of one file named at most; past them, how many more.
constexpr size_t kMaxFileErrors = 20;

// Walks a parsed file, setting each key it knows and refusing any other.
// It goes on past a wrong key, so that one look at a file names all its
// wrong keys (up to kMaxFileErrors), not one per attempt.
class FileWalker {
 public:
  FileWalker(const std::string& path, LoadedScenario* out)
      : path_(path), out_(out) {}

  // `depth`: how many sections `table` is inside.
  void Walk(const toml::table& table, const std::string& prefix,
            int depth = 0) {
    for (const auto& [name, node] : table) {
      const std::string key = prefix.empty()
                                  ? std::string(name.str())
                                  : fmt::format("{}.{}", prefix, name.str());
      const std::string where = Place(path_, node.source().begin);
      if (IsScenarioKey(key)) {
        if (Status s = SetKey(&out_->scenario, key, node); !s.ok()) {
          Refuse(node.source().begin,
                 fmt::format("{}: {}: {}", where, key, s.message()));
          continue;
        }
        out_->where[key] = where;
      } else if (IsScenarioSection(key)) {
        const toml::table* section = node.as_table();
        if (section == nullptr) {
          Refuse(node.source().begin,
                 fmt::format(
                     "{}: \"{}\" is a section: expected [{}] and keys under it",
                     where, key, key));
          continue;
        }
        Walk(*section, key, depth + 1);
      } else if (const toml::table* unknown = node.as_table();
                 unknown != nullptr && !unknown->empty() &&
                 depth + 1 < kMaxKeyParts) {
        // An unknown section: its keys are unknown too, and each gets the
        // suggestion ("buyer.count": "buyers.count"?). No key has more than
        // a few parts: deeper than that (a.a.a... a thousand times) it is
        // not walked, and is named by its first parts.
        Walk(*unknown, key, depth + 1);
      } else {
        RefuseUnknownKey(key, name, depth);
      }
    }
  }

  // A key that is no scenario key, named with the one it may have meant;
  // or, deeper than any key goes, by its first parts.
  void RefuseUnknownKey(const std::string& key, const toml::key& name,
                        int depth) {
    const std::string where = Place(path_, name.source().begin);
    if (depth + 1 >= kMaxKeyParts) {
      Refuse(name.source().begin,
             fmt::format("{}: unknown key \"{}...\": no scenario key has more "
                         "than {} parts",
                         where, key, kMaxKeyParts - 1));
      return;
    }
    const std::string near = NearestKey(key);
    Refuse(name.source().begin,
           fmt::format("{}: unknown key \"{}\"{}", where, key,
                       near.empty()
                           ? std::string(" (`ticketsim list` shows the keys)")
                           : fmt::format("; did you mean \"{}\"?", near)));
  }

  // Every wrong key found, one a line, in the file's order (a table's keys
  // come in name order); Ok if none.
  Status Result() {
    if (errors_.empty()) return Status::Ok();
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const Error& a, const Error& b) {
                       return std::pair(a.at.line, a.at.column) <
                              std::pair(b.at.line, b.at.column);
                     });
    if (errors_.size() > kMaxFileErrors) {
      more_ = errors_.size() - kMaxFileErrors;
      errors_.resize(kMaxFileErrors);
    }
    std::string text;
    for (const Error& e : errors_) {
      text += (text.empty() ? "" : "\n") + e.message;
    }
    if (more_ > 0) {
      text += fmt::format("\n{}: and {} more error{} (the first {} are shown)",
                          path_, more_, more_ == 1 ? "" : "s", kMaxFileErrors);
    }
    return Status::Invalid(text);
  }

 private:
  struct Error {
    toml::source_position at;
    std::string message;
  };

  void Refuse(const toml::source_position& at, std::string message) {
    errors_.push_back({at, std::move(message)});
  }

  const std::string& path_;
  LoadedScenario* out_;
  std::vector<Error> errors_;
  size_t more_ = 0;
};

Status LoadText(const std::string& path, std::string_view text,
                LoadedScenario* out) {
  if (Status s = CheckScenarioText(path, text); !s.ok()) return s;
  std::string safe;
  if (Status s = SafeTomlText(path, text, &safe); !s.ok()) return s;
  toml::table table;
  try {
    table = toml::parse(safe, path);
  } catch (const toml::parse_error& e) {
    return Status::Invalid(fmt::format("{}: {}", Place(path, e.source().begin),
                                       ExplainParseError(safe, e)));
  }
  if (table.empty()) {
    return Status::Invalid(fmt::format(
        "{}:1:1: the file sets no key (only comments); a scenario sets at "
        "least one, e.g. [buyers] count = 10",
        path));
  }
  out->scenario.name = fs::path(path).stem().string();
  // A program's paths are the scenario file's neighbours.
  std::error_code ignored;
  out->scenario.program.base_dir =
      fs::absolute(fs::path(path), ignored).parent_path().string();
  FileWalker walker(path, out);
  walker.Walk(table, "");
  return walker.Result();
}

// The key of "key=value" as ApplySetting reads it, without the spaces and
// tabs around it: "buyers.pool = 5" sets (and is blamed for) "buyers.pool".
std::string KeyOf(std::string_view setting) {
  const std::string_view key = setting.substr(0, setting.find('='));
  const size_t first = key.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "";
  return std::string(
      key.substr(first, key.find_last_not_of(" \t") + 1 - first));
}

// The command line's settings, in order, then the checks across keys.
Status ApplyOverridesAndValidate(const std::string& path,
                                 std::span<const Override> overrides,
                                 LoadedScenario* out) {
  for (const Override& o : overrides) {
    if (Status s = ApplySetting(&out->scenario, o.setting); !s.ok()) {
      return Status::Invalid(fmt::format("{}: {}", o.origin, s.message()));
    }
    out->where[KeyOf(o.setting)] = o.origin;
    // A command given on the command line names paths from here.
    if (KeyOf(o.setting) == "program.command" ||
        out->scenario.program.base_dir.empty()) {
      std::error_code ignored;
      out->scenario.program.base_dir = fs::current_path(ignored).string();
    }
  }
  if (out->scenario.program.base_dir.empty()) {
    std::error_code ignored;
    out->scenario.program.base_dir = fs::current_path(ignored).string();
  }
  std::string key;
  if (Status s = ValidateScenario(out->scenario, &key); !s.ok()) {
    auto it = out->where.find(key);
    std::string where;
    if (it != out->where.end()) {
      where = it->second;
    } else if (!path.empty()) {
      where = path + ":1:1";
    } else {
      where = "the command line";
    }
    return Status::Invalid(fmt::format("{}: {}", where, s.message()));
  }
  return Status::Ok();
}

}  // namespace

Status LoadScenario(const std::string& path,
                    std::span<const Override> overrides, LoadedScenario* out) {
  out->path = path;
  if (path.empty()) return ApplyOverridesAndValidate(path, overrides, out);
  std::string text;
  if (Status s = ReadScenarioFile(path, &text); !s.ok()) return s;
  return LoadScenarioText(path, text, overrides, out);
}

Status LoadScenarioText(const std::string& path, std::string_view text,
                        std::span<const Override> overrides,
                        LoadedScenario* out) {
  out->path = path;
  if (Status s = LoadText(path, text, out); !s.ok()) return s;
  return ApplyOverridesAndValidate(path, overrides, out);
}

Status ApplyOverrides(std::span<const Override> overrides,
                      LoadedScenario* loaded) {
  return ApplyOverridesAndValidate(loaded->path, overrides, loaded);
}

namespace {

// The *.toml scenarios in directory `path`, in name order.
Status ScenariosInDirectory(const std::string& path,
                            std::vector<std::string>* files) {
  // Every call with an error code: a directory that cannot be read, or
  // an entry that cannot be looked at, is a message, never an exception.
  std::error_code error;
  fs::directory_iterator it(path, error);
  std::vector<std::string> found;
  for (; !error && it != fs::directory_iterator(); it.increment(error)) {
    const fs::directory_entry& entry = *it;
    if (entry.path().extension() != ".toml") continue;
    // An entry that cannot be looked at (a symlink loop, a dangling
    // link) is kept: loading it says why it is not a scenario.
    std::error_code kind_error;
    if (!entry.is_directory(kind_error)) {
      found.push_back(entry.path().string());
    }
  }
  if (error) {
    return Status::Invalid(fmt::format("{}: cannot list the directory: {}",
                                       path, Reason(error.value())));
  }
  if (found.empty()) {
    return Status::Invalid(
        fmt::format("{}: a directory with no *.toml scenario in it", path));
  }
  std::sort(found.begin(), found.end());
  files->insert(files->end(), found.begin(), found.end());
  return Status::Ok();
}

}  // namespace

Status ExpandScenarioPaths(std::span<const std::string> paths,
                           std::vector<std::string>* files) {
  for (const std::string& path : paths) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
      const int err = errno;
      if (err == ENOENT) {
        return Status::Invalid(
            fmt::format("{}: no such file or directory", path));
      }
      return Status::Invalid(fmt::format("{}: {}", path, Reason(err)));
    }
    if (!S_ISDIR(st.st_mode)) {
      files->push_back(path);  // loading it says what is wrong with it
      continue;
    }
    if (Status s = ScenariosInDirectory(path, files); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace ticketsim
