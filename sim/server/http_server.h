// The box office over HTTP/1.1 (Boost.Beast), for `ticketsim serve`
// (docs/server.md):
//   GET  /        a page with a button that buys a ticket
//   GET  /health  200 "ok"
//   GET  /count   200 {"count": N}
//   POST /buy     200 {"seat": N, "buyer": B} | 409 {"sold_out": true}
//                 | 503 {"failed": "..."} (a guard timeout, a store error)
// Each connection is a buyer of the history (BoxOffice::Window), served by
// a thread of its own (server.workers = "thread-per-connection") or by one
// of server.threads threads that take turns at the door ("pool"). Keep-alive
// connections make many purchases; every curl call is a buyer of its own.
#ifndef TICKETSIM_SIM_SERVER_HTTP_SERVER_H_
#define TICKETSIM_SIM_SERVER_HTTP_SERVER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/status.h"
#include "sim/scenario/scenario.h"
#include "sim/server/box_office.h"

namespace ticketsim {

// What a request asks for, and the reply it gets: the whole of the
// protocol, apart from the sockets (so that it can be tried on raw bytes).
struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class BoxOfficeServer {
 public:
  // `token`: when not empty, every request must carry it (?token=... or a
  // Ticketsim-Token header), else 403.
  BoxOfficeServer(BoxOffice* office, const ServerSpec& spec, std::string token);
  ~BoxOfficeServer();  // Stop
  BoxOfficeServer(const BoxOfficeServer&) = delete;
  BoxOfficeServer& operator=(const BoxOfficeServer&) = delete;

  // Binds and listens on spec.listen; `url` is where to reach it
  // ("http://127.0.0.1:PORT/", or "unix:PATH").
  Status Listen(std::string* url);
  // Opens the door: the threads that take connections.
  Status Start();
  // Closes the door, lets each purchase under way finish and reply, ends
  // every connection, and joins every thread. Idempotent.
  void Stop();

  int64_t refused() const { return refused_.load(); }  // told 503: too many
  int64_t bad_requests() const { return bad_requests_.load(); }

  // The reply to one request on a connection whose window is `*window`
  // (opened at its first purchase).
  HttpReply Handle(const std::string& method, const std::string& target,
                   const std::string& token,
                   std::unique_ptr<BoxOffice::Window>* window);

  // `bytes` as a connection would send them: each whole request parsed as
  // Serve parses one (the same limits) and answered by Handle, until the
  // bytes end or are not HTTP (then 400, as Serve answers them). Returns
  // the replies, in order. For the fuzzer (fuzz/fuzz_http_request.h).
  std::vector<HttpReply> AnswerBytes(
      std::string_view bytes, std::unique_ptr<BoxOffice::Window>* window);

 private:
  void AcceptLoop(bool serve_here);
  // Serves connection `fd` until it ends, then forgets and closes it.
  void Serve(int fd);
  bool TakeConnection(int fd);
  void DropConnection(int fd);
  void JoinFinished();

  BoxOffice* office_;
  const ServerSpec spec_;
  const std::string token_;
  int listen_fd_ = -1;
  int family_ = 0;
  std::string unix_path_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> refused_{0};
  std::atomic<int64_t> bad_requests_{0};
  std::vector<std::thread> doors_;  // accepting threads
  std::mutex mutex_;                // guards what follows
  std::condition_variable idle_;
  std::set<int> open_;  // connections being served
  std::map<std::thread::id, std::thread> connections_;  // per connection
  std::vector<std::thread::id> finished_;
  bool stopped_ = false;
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_SERVER_HTTP_SERVER_H_
