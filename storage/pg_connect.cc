#include "storage/pg_connect.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <utility>

#include "base/clock.h"
#include "base/shell_words.h"

namespace ticketsim {
namespace {

// How often a watched wait asks its watch.
constexpr int64_t kWatchEveryNs = 50000000;

struct Watch {
  std::function<Status()> check;
  pid_t owner;
  Watch* previous;
};
Watch* watch = nullptr;

bool Watched() { return watch != nullptr && watch->owner == getpid(); }

// Waits until `fd` is ready for `events` or `deadline` (CLOCK_MONOTONIC ns)
// passes, asking the watch meanwhile. Sets *ready; not Ok only when the
// watch stopped the wait.
Status AwaitFd(int fd, short events, int64_t deadline, bool* ready) {
  *ready = false;
  if (fd < 0) {
    *ready = true;  // no socket: libpq has failed, and says why
    return Status::Ok();
  }
  for (;;) {
    const bool watched = Watched();
    const int64_t left = deadline - MonotonicNs();
    if (left <= 0) return Status::Ok();
    const int64_t slice = watched ? std::min(left, kWatchEveryNs) : left;
    const int timeout_ms = slice >= int64_t{INT32_MAX} * 1000000
                               ? -1
                               : static_cast<int>((slice + 999999) / 1000000);
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, timeout_ms);
    if (n > 0 || (n < 0 && errno != EINTR)) {
      *ready = true;  // a failed poll: libpq's next call meets the error
      return Status::Ok();
    }
    if (watched) {
      if (Status s = PgWaitCheck(); !s.ok()) return s;
    }
  }
}

uint32_t BigEndian32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return ntohl(v);
}

enum class Peeked {
  kLetLibpqRead,  // complete messages, none of them refused
  kIncomplete,    // a message is not all there yet: wait for the rest
  kRefused,
};

// Looks, without taking them, at the messages the server sent during
// authentication that libpq has not read yet, each from its start. libpq
// is let read only whole messages, so that the next look starts at a
// message's start too; what it cannot be let read (a message larger than
// a look, or one that is not a message of this phase) ends the connection.
Peeked LookAtAuthRequests(int fd, std::string* why) {
  unsigned char buf[8192];
  const ssize_t got = recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
  if (got <= 0) return Peeked::kLetLibpqRead;  // libpq meets the EOF or error
  const size_t size = static_cast<size_t>(got);
  size_t at = 0;
  while (at < size) {
    if (size - at < 5) return Peeked::kIncomplete;
    const unsigned char type = buf[at];
    const uint32_t length = BigEndian32(buf + at + 1);
    // Authentication, an error, a notice, a protocol version; once
    // authenticated: parameters, the cancel key, ready for a query.
    if (std::strchr("REvNSKZ", type) == nullptr || type == '\0' || length < 4 ||
        length > sizeof buf - 1) {
      *why = "the server sent what is not a PostgreSQL message";
      return Peeked::kRefused;
    }
    if (type == 'R' && size - at >= 9) {
      constexpr uint32_t kCleartextPassword = 3;
      if (BigEndian32(buf + at + 5) == kCleartextPassword) {
        *why =
            "the server asked for the password in clear text: refused "
            "(ticketsim sends a password only through SCRAM or MD5; set the "
            "server's pg_hba.conf to scram-sha-256)";
        return Peeked::kRefused;
      }
    }
    if (size - at < 1 + length) return Peeked::kIncomplete;
    at += 1 + length;
  }
  return Peeked::kLetLibpqRead;
}

// Whether libpq is about to read authentication requests it can see
// unencrypted.
bool Authenticating(PGconn* db) {
  return PQstatus(db) == CONNECTION_AWAITING_RESPONSE && !PQsslInUse(db) &&
         !PQgssEncInUse(db);
}

bool Failed(PGresult* result) {
  const ExecStatusType status = PQresultStatus(result);
  return status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
         status != PGRES_EMPTY_QUERY;
}

// The end of a password's value in `text` from `at`: a quoted value (as
// ConninfoValue writes it) to its closing quote, else the next space,
// quote, '&' (a URI's query) or end.
size_t ValueEnd(std::string_view text, size_t at) {
  if (at < text.size() && text[at] == '\'') {
    for (size_t i = at + 1; i < text.size(); ++i) {
      if (text[i] == '\\') {
        ++i;
      } else if (text[i] == '\'') {
        return i + 1;
      }
    }
    return text.size();
  }
  size_t i = at;
  while (i < text.size() &&
         !std::isspace(static_cast<unsigned char>(text[i])) && text[i] != '"' &&
         text[i] != '\'' && text[i] != '&') {
    ++i;
  }
  return i;
}

bool StartsWithNoCase(std::string_view text, size_t at, std::string_view word) {
  if (text.size() - at < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != word[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

PgWaitWatch::PgWaitWatch(std::function<Status()> check) {
  watch = new Watch{std::move(check), getpid(), watch};
}

PgWaitWatch::~PgWaitWatch() {
  Watch* ended = watch;
  watch = ended->previous;
  delete ended;
}

Status PgWaitCheck() { return Watched() ? watch->check() : Status::Ok(); }

Status PgWaitNap(int64_t ns) {
  const int64_t deadline = MonotonicNs() + ns;
  for (;;) {
    const int64_t left = deadline - MonotonicNs();
    if (left <= 0) return Status::Ok();
    const int64_t slice = std::min(left, kWatchEveryNs);
    timespec ts{static_cast<time_t>(slice / 1000000000),
                static_cast<long>(slice % 1000000000)};
    nanosleep(&ts, nullptr);
    if (Status s = PgWaitCheck(); !s.ok()) return s;
  }
}

Status PgConnect(const char* const* keys, const char* const* values,
                 int64_t limit_ms, PGconn** out) {
  if (Status s = PgWaitCheck(); !s.ok()) return s;
  PGconn* db = PQconnectStartParams(keys, values, /*expand_dbname=*/1);
  if (db == nullptr) return Status::Environment("out of memory");
  const int64_t deadline = MonotonicNs() + limit_ms * 1000000;
  // As libpq asks: the first wait is for the socket to take a write.
  PostgresPollingStatusType polling = PGRES_POLLING_WRITING;
  Status s;
  while (PQstatus(db) != CONNECTION_BAD && polling != PGRES_POLLING_FAILED) {
    if (polling == PGRES_POLLING_OK) {
      *out = db;
      return Status::Ok();
    }
    const bool reading = polling == PGRES_POLLING_READING;
    bool ready = false;
    s = AwaitFd(PQsocket(db), reading ? POLLIN : POLLOUT, deadline, &ready);
    if (s.ok() && !ready) {
      s = Status::Environment(fmt::format(
          "the server did not answer within {} s", limit_ms / 1000));
    }
    std::string why;
    if (s.ok() && reading && Authenticating(db)) {
      const Peeked peeked = LookAtAuthRequests(PQsocket(db), &why);
      if (peeked == Peeked::kRefused) s = Status::Environment(why);
      if (peeked == Peeked::kIncomplete) {
        if (s = PgWaitNap(1000000); s.ok()) continue;
      }
    }
    if (!s.ok()) {
      PQfinish(db);
      return s;
    }
    polling = PQconnectPoll(db);
  }
  s = Status::Environment(PQerrorMessage(db));
  PQfinish(db);
  return s;
}

Status PgAwaitResult(PGconn* db, PGresult** out) {
  *out = nullptr;
  for (;;) {
    while (Watched() && PQisBusy(db)) {
      bool ready = false;
      Status s = AwaitFd(PQsocket(db), POLLIN, INT64_MAX, &ready);
      if (!s.ok()) {
        PQclear(*out);
        *out = nullptr;
        return s;
      }
      if (PQconsumeInput(db) == 0) break;  // PQgetResult says why
    }
    PGresult* result = PQgetResult(db);
    if (result == nullptr) return Status::Ok();
    if (*out != nullptr && Failed(*out)) {
      PQclear(result);  // the first failure is the one to tell
      continue;
    }
    PQclear(*out);
    *out = result;
  }
}

std::string HidePasswords(std::string_view text) {
  constexpr std::string_view kMask = "********";
  std::string out;
  size_t copied = 0;
  const auto mask = [&](size_t begin, size_t end) {
    out.append(text.substr(copied, begin - copied));
    out.append(kMask);
    copied = end;
  };
  for (size_t at = 0; at < text.size(); ++at) {
    // A URI's user info: postgresql://user:PASSWORD@host...
    for (std::string_view scheme : {"postgresql://", "postgres://"}) {
      if (at < copied || !StartsWithNoCase(text, at, scheme)) continue;
      const size_t begin = at + scheme.size();
      const size_t end = ValueEnd(text, begin);
      const size_t sign = text.substr(begin, end - begin).rfind('@');
      if (sign == std::string_view::npos) continue;
      const size_t colon = text.substr(begin, sign).find(':');
      if (colon != std::string_view::npos) {
        mask(begin + colon + 1, begin + sign);
      }
    }
    // password=VALUE, password = 'VALUE', ...?password=VALUE&...
    if (at >= copied && text.compare(at, 8, "password") == 0 &&
        (at == 0 || !std::isalnum(static_cast<unsigned char>(text[at - 1])))) {
      size_t i = at + 8;
      while (i < text.size() && text[i] == ' ') ++i;
      if (i < text.size() && text[i] == '=') {
        ++i;
        while (i < text.size() && text[i] == ' ') ++i;
        mask(i, ValueEnd(text, i));
      }
    }
  }
  out.append(text.substr(std::min(copied, text.size())));
  return out;
}

std::string ServerLines(std::string_view text) {
  std::string out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line[0]))) {
      line.remove_prefix(1);
    }
    while (!line.empty() &&
           std::isspace(static_cast<unsigned char>(line.back()))) {
      line.remove_suffix(1);
    }
    if (line.empty()) continue;
    if (!out.empty()) out += '\n';
    for (char c : line) out += c == '\t' ? ' ' : c;
  }
  return out;
}

std::string ServerAddress(std::string_view conninfo) {
  std::string host;
  if (conninfo.starts_with("postgresql://") ||
      conninfo.starts_with("postgres://")) {
    std::string_view rest = conninfo.substr(conninfo.find("//") + 2);
    rest = rest.substr(0, rest.find_first_of("/?"));
    if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
      rest = rest.substr(at + 1);
    }
    if (rest.starts_with('[')) {
      host = std::string(rest.substr(1, rest.find(']') - 1));
    } else {
      host = std::string(rest.substr(0, rest.find(':')));
    }
    if (host.empty() || host.starts_with('%')) return "";
    return host;
  }
  std::vector<std::string> words;
  if (!SplitCommandLine(conninfo, &words).ok()) return "";
  for (const std::string& word : words) {
    for (const char* key : {"hostaddr=", "host="}) {
      if (word.starts_with(key)) {
        const std::string value = word.substr(strlen(key));
        if (!value.empty() && value[0] != '/' && value[0] != '@') {
          if (host.empty() || std::string_view(key) == "hostaddr=") {
            host = value;
          }
        }
      }
    }
  }
  return host;
}

}  // namespace ticketsim
