#include "sim/server/http_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <system_error>
#include <utility>

#include "base/escape.h"

namespace ticketsim {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

// A connection that sends nothing for this long is closed (a client that
// connects and never asks holds no thread for ever).
constexpr int kIdleSeconds = 30;
constexpr size_t kHeaderLimit = 8192;
constexpr size_t kBodyLimit = 65536;

// The page at "/": a button that buys, and what it was told.
constexpr std::string_view kPage = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ticketsim box office</title>
<style>
body { font: 24px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 40em;
       color: #111; background: #fff; }
button { font-size: 1.2em; padding: 0.4em 1.2em; }
#told { font-weight: bold; margin-top: 1em; }
</style></head>
<body>
<h1>Box office</h1>
<p>Tickets left: <span id="count">?</span></p>
<button id="buy">Buy a ticket</button>
<p id="told" aria-live="polite"></p>
<script>
const token = new URLSearchParams(location.search).get("token");
const at = (path) => token ? path + "?token=" + encodeURIComponent(token) : path;
async function look() {
  const r = await fetch(at("/count"));
  if (r.ok) document.getElementById("count").textContent = (await r.json()).count;
}
document.getElementById("buy").onclick = async () => {
  const r = await fetch(at("/buy"), { method: "POST" });
  const body = await r.json();
  document.getElementById("told").textContent =
      r.status === 200 ? "You have seat " + body.seat + "." :
      r.status === 409 ? "Sold out." : "Not sold: " + (body.failed || r.status);
  look();
};
look();
</script>
</body></html>
)";

HttpReply Json(int status, const nlohmann::json& body) {
  return {status, "application/json", body.dump() + "\n"};
}

// The value of `name` in the query of `target` ("/buy?token=abc"), or "".
std::string QueryValue(std::string_view target, std::string_view name) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return "";
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name && eq != std::string_view::npos) {
      return std::string(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "";
}

// The words of a failed purchase's reply.
std::string FailureWords(Failure failure) {
  switch (failure) {
    case Failure::kGuardTimeout:
      return "timed out waiting for the guard";
    case Failure::kGuardError:
      return "the guard failed";
    case Failure::kStoreBusy:
      return "the store was busy";
    case Failure::kSerialization:
      return "the transaction was refused";
    case Failure::kOutcomeUnknown:
      return "the store's connection broke with the purchase in flight";
    default:
      return "the store failed";
  }
}

// The connection's socket, whose reads give up at a deadline: a request
// must arrive whole within kIdleSeconds of the last reply (a client that
// connects and never sends, or sends a byte a minute, holds its thread no
// longer). Beast reads a request through it (a SyncReadStream).
class DeadlineStream {
 public:
  DeadlineStream(asio::generic::stream_protocol::socket* socket, int fd)
      : socket_(socket), fd_(fd) {}
  void Restart() {
    deadline_ =
        std::chrono::steady_clock::now() + std::chrono::seconds(kIdleSeconds);
  }
  template <typename Buffers>
  size_t read_some(const Buffers& buffers, boost::system::error_code& ec) {
    if (!Ready(POLLIN)) {
      ec = asio::error::timed_out;
      return 0;
    }
    return socket_->read_some(buffers, ec);
  }
  template <typename Buffers>
  size_t read_some(const Buffers& buffers) {
    boost::system::error_code ec;
    const size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  // A reply too must be taken within the limit: a client that never reads
  // its replies holds its thread no longer.
  template <typename Buffers>
  size_t write_some(const Buffers& buffers, boost::system::error_code& ec) {
    if (!Ready(POLLOUT)) {
      ec = asio::error::timed_out;
      return 0;
    }
    return socket_->write_some(buffers, ec);
  }
  template <typename Buffers>
  size_t write_some(const Buffers& buffers) {
    boost::system::error_code ec;
    const size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  // Whether the socket is ready for `events` (or broken) before the
  // deadline.
  bool Ready(short events) const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline_ - std::chrono::steady_clock::now());
    pollfd ready{fd_, events, 0};
    return left.count() > 0 &&
           poll(&ready, 1, static_cast<int>(left.count())) > 0;
  }

  asio::generic::stream_protocol::socket* socket_;
  int fd_;
  std::chrono::steady_clock::time_point deadline_;
};

// The token a request carries in its header, if any.
template <typename Request>
std::string TokenOf(const Request& request) {
  const auto token = request.find("Ticketsim-Token");
  return token != request.end() ? std::string(token->value()) : "";
}

HttpReply BadRequest(const boost::system::error_code& ec) {
  return Json(400, {{"error", ec.message()}});
}

void SendRaw(int fd, int status, std::string_view reason,
             std::string_view json) {
  const std::string reply = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: "
      "{}\r\nConnection: close\r\n\r\n{}",
      status, reason, json.size(), json);
  (void)!send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
}

// Whether `addr` names a socket file that nobody listens on: one a box
// office killed outright left (never a file of another kind, nor a live
// socket).
bool StaleSocket(const sockaddr_un& addr) {
  struct stat st {};
  if (lstat(addr.sun_path, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return false;
  const bool refused = connect(probe, reinterpret_cast<const sockaddr*>(&addr),
                               sizeof addr) != 0 &&
                       errno == ECONNREFUSED;
  close(probe);
  return refused;
}

// Binds a listening Unix socket to "unix:PATH".
Status BindUnix(const std::string& listen, int* fd_out, int* family,
                std::string* url, std::string* unix_path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = listen.substr(5);
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return Status::Invalid(fmt::format(
        "server.listen \"{}\": a socket's path is 1 to {} bytes long",
        Visible(listen), sizeof addr.sun_path - 1));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::FromErrno("socket", errno);
  int bound = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (bound != 0 && errno == EADDRINUSE && StaleSocket(addr)) {
    unlink(path.c_str());  // a box office killed before it could
    bound = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }
  if (bound != 0 || ::listen(fd, 128) != 0) {
    const int error = errno;
    close(fd);
    return Status::Environment(fmt::format(
        "server.listen \"{}\": {}", Visible(listen), std::strerror(error)));
  }
  *fd_out = fd;
  *family = AF_UNIX;
  *unix_path = path;
  *url = "unix:" + path;
  return Status::Ok();
}

// The port socket `fd` is bound to (the one chosen for port 0).
uint16_t BoundPort(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.ss_family == AF_INET6
                   ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                   : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

// Binds a listening socket to "HOST:PORT" or "unix:PATH".
Status Bind(const std::string& listen, int* fd_out, int* family,
            std::string* url, std::string* unix_path) {
  if (listen.rfind("unix:", 0) == 0) {
    return BindUnix(listen, fd_out, family, url, unix_path);
  }
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return Status::Invalid(fmt::format(
        "server.listen \"{}\": give HOST:PORT (127.0.0.1:8080; port 0: any "
        "free one) or unix:PATH",
        Visible(listen)));
  }
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535) {
    return Status::Invalid(fmt::format(
        "server.listen \"{}\": the port is a number from 0 to 65535 (0: any "
        "free one)",
        Visible(listen)));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
      rc != 0) {
    return Status::Invalid(fmt::format(
        "server.listen \"{}\": {} (give a numeric address and port)",
        Visible(listen), gai_strerror(rc)));
  }
  const int fd =
      socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    freeaddrinfo(found);
    return Status::FromErrno("socket", errno);
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const bool bound = bind(fd, found->ai_addr, found->ai_addrlen) == 0 &&
                     ::listen(fd, 128) == 0;
  const int error = errno;
  *family = found->ai_family;
  freeaddrinfo(found);
  if (!bound) {
    close(fd);
    return Status::Environment(fmt::format(
        "server.listen \"{}\": {}", Visible(listen), std::strerror(error)));
  }
  const uint16_t bound_port = BoundPort(fd);
  *fd_out = fd;
  *url = fmt::format("http://{}:{}/",
                     *family == AF_INET6 ? "[" + host + "]" : host, bound_port);
  return Status::Ok();
}

}  // namespace

BoxOfficeServer::BoxOfficeServer(BoxOffice* office, const ServerSpec& spec,
                                 std::string token)
    : office_(office), spec_(spec), token_(std::move(token)) {}

BoxOfficeServer::~BoxOfficeServer() { Stop(); }

Status BoxOfficeServer::Listen(std::string* url) {
  return Bind(spec_.listen, &listen_fd_, &family_, url, &unix_path_);
}

Status BoxOfficeServer::Start() {
  const bool pool = spec_.workers == ServerWorkers::kPool;
  const int64_t doors = pool ? spec_.threads : 1;
  try {
    for (int64_t d = 0; d < doors; ++d) {
      doors_.emplace_back([this, pool] { AcceptLoop(/*serve_here=*/pool); });
    }
  } catch (const std::system_error& e) {
    Stop();
    return Status::Environment(
        fmt::format("could not start the box office's threads ({} of {}): {}",
                    doors_.size() + 1, doors, e.what()));
  }
  return Status::Ok();
}

void BoxOfficeServer::AcceptLoop(bool serve_here) {
  while (!stopping_.load()) {
    if (!serve_here) JoinFinished();
    pollfd door{listen_fd_, POLLIN, 0};
    if (poll(&door, 1, 100) <= 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // another thread took it, or it went away
    if (!TakeConnection(fd)) {
      SendRaw(
          fd, 503, "Service Unavailable",
          stopping_.load()
              ? R"({"failed": "the box office is closing"})"
              : R"j({"failed": "too many connections (server.max_connections)"})j");
      close(fd);
      continue;
    }
    if (serve_here) {
      Serve(fd);
      continue;
    }
    const std::lock_guard<std::mutex> hold(mutex_);
    try {
      std::thread thread([this, fd] {
        Serve(fd);
        const std::lock_guard<std::mutex> done(mutex_);
        finished_.push_back(std::this_thread::get_id());
        idle_.notify_all();
      });
      const std::thread::id id = thread.get_id();
      connections_.emplace(id, std::move(thread));
    } catch (const std::system_error&) {
      open_.erase(fd);
      ++refused_;
      SendRaw(
          fd, 503, "Service Unavailable",
          Json(503, {{"failed", "no thread could be started for it"}}).body);
      close(fd);
    }
  }
}

bool BoxOfficeServer::TakeConnection(int fd) {
  const std::lock_guard<std::mutex> hold(mutex_);
  if (stopped_) return false;
  if (static_cast<int64_t>(open_.size()) >= spec_.max_connections) {
    ++refused_;
    return false;
  }
  open_.insert(fd);
  return true;
}

void BoxOfficeServer::DropConnection(int fd) {
  const std::lock_guard<std::mutex> hold(mutex_);
  open_.erase(fd);
  idle_.notify_all();
}

void BoxOfficeServer::JoinFinished() {
  std::vector<std::thread> done;
  {
    const std::lock_guard<std::mutex> hold(mutex_);
    for (const std::thread::id id : finished_) {
      const auto it = connections_.find(id);
      if (it == connections_.end()) continue;
      done.push_back(std::move(it->second));
      connections_.erase(it);
    }
    finished_.clear();
  }
  for (std::thread& t : done) t.join();
}

void BoxOfficeServer::Serve(int fd) {
  // A reply a client does not take within the limit is given up.
  const timeval idle{kIdleSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof idle);
  {
    asio::io_context context;
    asio::generic::stream_protocol::socket socket(context);
    boost::system::error_code ec;
    socket.assign(asio::generic::stream_protocol(family_, 0), fd, ec);
    std::unique_ptr<BoxOffice::Window> window;
    boost::beast::flat_buffer buffer;
    DeadlineStream stream(&socket, fd);
    while (!ec) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(kBodyLimit);
      stream.Restart();
      http::read(stream, buffer, parser, ec);
      if (ec == http::error::end_of_stream || ec == asio::error::eof ||
          ec == asio::error::connection_reset ||
          ec == asio::error::would_block || ec == asio::error::try_again ||
          ec == asio::error::timed_out) {
        break;
      }
      if (ec) {  // not HTTP: told so, and the connection closed
        ++bad_requests_;
        const HttpReply bad_reply = BadRequest(ec);
        http::response<http::string_body> bad{http::status::bad_request, 11};
        bad.set(http::field::server, "ticketsim box office");
        bad.set(http::field::content_type, bad_reply.content_type);
        bad.keep_alive(false);
        bad.body() = bad_reply.body;
        bad.prepare_payload();
        stream.Restart();
        http::write(stream, bad, ec);
        break;
      }
      const http::request<http::string_body>& request = parser.get();
      const HttpReply reply =
          Handle(std::string(request.method_string()),
                 std::string(request.target()), TokenOf(request), &window);
      http::response<http::string_body> response{
          static_cast<http::status>(reply.status), request.version()};
      response.set(http::field::server, "ticketsim box office");
      response.set(http::field::content_type, reply.content_type);
      if (reply.status == 405) response.set(http::field::allow, "POST");
      response.keep_alive(request.keep_alive() && !stopping_.load());
      response.body() = reply.body;
      response.prepare_payload();
      stream.Restart();
      http::write(stream, response, ec);
      if (!response.keep_alive()) break;
    }
    window.reset();  // detached here, on the thread that attached it
    DropConnection(fd);
    socket.shutdown(asio::socket_base::shutdown_both, ec);
  }  // the socket closes fd
}

HttpReply BoxOfficeServer::Handle(const std::string& method,
                                  const std::string& target,
                                  const std::string& token,
                                  std::unique_ptr<BoxOffice::Window>* window) {
  const std::string path = target.substr(0, target.find('?'));
  if (path == "/health" && method == "GET") {  // for any load balancer
    return {200, "text/plain", "ok\n"};
  }
  if (!token_.empty() && token != token_ &&
      QueryValue(target, "token") != token_) {
    return Json(403, {{"error",
                       "this box office takes purchases with its token "
                       "only: use the URL it printed"}});
  }
  if (path == "/" && method == "GET") {
    return {200, "text/html; charset=utf-8", std::string(kPage)};
  }
  if (path == "/count" && method == "GET") {
    int64_t count = 0;
    if (Status s = office_->Count(&count); !s.ok()) {
      return Json(503, {{"failed", s.message()}});
    }
    return Json(200, {{"count", count}});
  }
  if (path == "/buy") {
    if (method != "POST") {
      return Json(405, {{"error", "buy with POST /buy"}});
    }
    if (stopping_.load()) {
      return Json(503, {{"failed", "the box office is closing"}});
    }
    if (*window == nullptr) {
      if (Status s = office_->OpenWindow(window); !s.ok()) {
        window->reset();
        return Json(503, {{"failed", s.message()}});
      }
    }
    const PurchaseOutcome outcome = (*window)->Buy();
    switch (outcome.kind) {
      case PurchaseOutcome::kSold:
        return Json(200,
                    {{"seat", outcome.seat}, {"buyer", (*window)->buyer()}});
      case PurchaseOutcome::kSoldOut:
        return Json(409, {{"sold_out", true}});
      case PurchaseOutcome::kFailed:
        return Json(503, {{"failed", FailureWords(outcome.failure)}});
      case PurchaseOutcome::kNone:
        return Json(429,
                    {{"failed", fmt::format("this connection has made its {} "
                                            "purchases (server.max_attempts): "
                                            "open another",
                                            spec_.max_attempts)}});
    }
  }
  if (path == "/" || path == "/health" || path == "/count") {
    return Json(405, {{"error", "use GET"}});
  }
  return Json(404,
              {{"error", "no such page: GET /, /count, /health; POST /buy"}});
}

std::vector<HttpReply> BoxOfficeServer::AnswerBytes(
    std::string_view bytes, std::unique_ptr<BoxOffice::Window>* window) {
  std::vector<HttpReply> replies;
  boost::asio::const_buffer left(bytes.data(), bytes.size());
  while (left.size() > 0) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(kBodyLimit);
    parser.eager(true);
    boost::system::error_code ec;
    while (left.size() > 0 && !parser.is_done()) {
      const size_t used = parser.put(left, ec);
      left += used;
      if (ec == http::error::need_more) {
        if (used == 0) return replies;  // the bytes ended mid-request
        ec = {};
      }
      if (ec) break;
    }
    if (ec) {
      replies.push_back(BadRequest(ec));
      return replies;
    }
    if (!parser.is_done()) {
      parser.put_eof(ec);  // a body that runs to the end of the bytes
      if (ec || !parser.is_done()) return replies;
    }
    const http::request<http::string_body>& request = parser.get();
    replies.push_back(Handle(std::string(request.method_string()),
                             std::string(request.target()), TokenOf(request),
                             window));
    if (!request.keep_alive()) break;
  }
  return replies;
}

void BoxOfficeServer::Stop() {
  {
    std::lock_guard<std::mutex> hold(mutex_);
    if (stopped_) return;
    stopped_ = true;
    stopping_.store(true);
    // Each connection's next read ends; a purchase under way finishes and
    // is answered first.
    for (const int fd : open_) shutdown(fd, SHUT_RD);
  }
  {
    // A purchase under way may wait for the guard, think and then answer;
    // a connection still open after that is one whose client does not
    // take its reply: cut off.
    const Scenario& scenario = office_->scenario();
    const auto grace = std::chrono::milliseconds(
        static_cast<int64_t>(scenario.buyers.query_delay_ms.max +
                             scenario.buyers.think_ms.max) +
        scenario.guard.timeout_ms + 2000);
    std::unique_lock<std::mutex> hold(mutex_);
    idle_.wait_for(hold, grace, [this] { return open_.empty(); });
    for (const int fd : open_) shutdown(fd, SHUT_RDWR);
  }
  for (std::thread& door : doors_) door.join();
  doors_.clear();
  std::map<std::thread::id, std::thread> connections;
  {
    const std::lock_guard<std::mutex> hold(mutex_);
    connections.swap(connections_);
    finished_.clear();
  }
  for (auto& [id, thread] : connections) thread.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  listen_fd_ = -1;
  if (!unix_path_.empty()) unlink(unix_path_.c_str());
}

}  // namespace ticketsim
