// The box office of `ticketsim serve`: a server that holds the count, whose
// request handlers make the purchases (docs/server.md).
//
// Every connection is a buyer. It has its own lane of the history and its
// own store and guard objects, made as a buyer thread makes its own (a file
// descriptor, an SQLite connection, an open file description for the file
// lock; the memory store's variable and the std-mutex are the office's, one
// for all), and a Purchaser that makes its purchases with the very steps a
// buyer process takes. So the checker, its witnesses, the narration and the
// timeline work on the server's history unchanged: "buyer 3 read 5" is
// connection 3's request. A connection's requests are served one at a time,
// on one thread, so each lane has one writer.
#ifndef TICKETSIM_SIM_SERVER_BOX_OFFICE_H_
#define TICKETSIM_SIM_SERVER_BOX_OFFICE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "base/status.h"
#include "sim/buyers/buyer.h"
#include "sim/buyers/buyer_processes.h"
#include "sim/guards/guard.h"
#include "sim/history/history.h"
#include "sim/result/run_result.h"
#include "sim/scenario/scenario.h"
#include "storage/run_names.h"
#include "storage/ticket_store.h"

namespace ticketsim {

class BoxOffice {
 public:
  // Starts a run (its private directory and names), creates the store with
  // tickets.initial and the guard. REQUIRES: `scenario` is valid with
  // buyers.mode = "thread" and sells one event.
  static Status Open(const Scenario& scenario, std::unique_ptr<BoxOffice>* out);
  // Removes every object of the run, its directory with them.
  ~BoxOffice();
  BoxOffice(const BoxOffice&) = delete;
  BoxOffice& operator=(const BoxOffice&) = delete;

  // One connection's window: its lane, its objects and its purchases. Made,
  // used and closed on the thread serving the connection.
  class Window {
   public:
    ~Window();
    Window(const Window&) = delete;
    Window& operator=(const Window&) = delete;

    // POST /buy: one purchase, recorded in the lane. kNone if this window
    // has made server.max_attempts purchases.
    PurchaseOutcome Buy();
    uint32_t buyer() const { return buyer_; }

   private:
    friend class BoxOffice;
    Window(BoxOffice* office, uint32_t buyer);

    BoxOffice* office_;
    uint32_t buyer_;
    std::unique_ptr<ThreadObjects> objects_;
    std::unique_ptr<Purchaser> purchaser_;
    int64_t attempts_ = 0;
  };

  // The next connection's window, attached; an error once server.max_buyers
  // connections have been served, or if its store or guard cannot be opened.
  Status OpenWindow(std::unique_ptr<Window>* out);

  // GET /count: the count as it is now (not recorded: a look, not a step
  // of a purchase).
  Status Count(int64_t* count);

  // Whether a buyer has been told the tickets are sold out.
  bool sold_out() const { return sold_out_.load(); }
  int64_t windows() const { return next_buyer_.load(); }
  const Scenario& scenario() const { return scenario_; }

  // Once every window is closed: the run as the checker and the reports
  // take it, its history holding a lane per connection served.
  Status Finish(RunResult* run);

 private:
  BoxOffice() = default;
  Status Create(const Scenario& scenario);

  Scenario scenario_;
  RunNames names_;
  RunLease lease_;
  std::unique_ptr<TicketStore> store_;
  std::unique_ptr<Guard> guard_;
  ThreadObjectSpecs specs_;
  std::vector<TicketStore*> stores_;
  std::vector<Guard*> guards_;
  std::unique_ptr<SharedControl> control_;
  HistoryArena history_;
  std::atomic<uint32_t> next_buyer_{0};
  std::atomic<bool> sold_out_{false};
  std::vector<std::string> purposes_;
  std::mutex look_;  // one look at a time through store_
};

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_SERVER_BOX_OFFICE_H_
