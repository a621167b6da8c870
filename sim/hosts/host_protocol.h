// The host protocol: what a run says to the `ticketsim buyer` agent of each
// host over the launcher's pipes, and what the agent says back. One JSON
// object per line, both ways (docs/hosts.md is the reference).
//
// Parent -> agent, on the agent's stdin:
//   {"share":1, "host":..., "buyers":[...], "settings":[...],
//    "store_tag":..., "store_dir":..., "conninfo":..., "timeout_ms":N}
//                      first line: the host's share of the run
//   {"ping":N}         answer with a pong at once (clock offsets)
//   {"go":1}           open the start barrier
//   {"stop":1}         kill the buyers still running, then finish
//   (end of file)      the parent is gone: kill, clean up, exit
// Agent -> parent, on its stdout:
//   {"pong":N, "t":NS}       its CLOCK_MONOTONIC when it answered ping N
//   {"ready":1, "pids":[...]} every buyer waits at the barrier (pids in the
//                            order of the share's buyers)
//   {"ev":[buyer, attempt, kind, flags, event, value, aux, t]}
//                            one history event; t on the agent's clock
//   {"end":buyer, "exit":C, "signal":S, "held":BITS}
//                            the buyer's process ended (after its events)
//   {"errors":{"failure":..., "store":..., "guard":...}}
//   {"done":1}               nothing more comes
//   {"error":"..."}          the agent could not run its share
//
// Nothing here blocks or touches a descriptor: these are the words only.
#ifndef TICKETSIM_SIM_HOSTS_HOST_PROTOCOL_H_
#define TICKETSIM_SIM_HOSTS_HOST_PROTOCOL_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/line_splitter.h"
#include "base/status.h"
#include "sim/history/history.h"
#include "sim/scenario/scenario.h"

namespace ticketsim {

// A longer line is a protocol error (an event line is about 100 bytes).
inline constexpr size_t kMaxHostLine = 1 << 20;

// One host's share of a run.
struct HostShare {
  std::string host;
  std::vector<uint32_t> buyers;       // global buyer indices, increasing
  std::vector<std::string> settings;  // "key = value", as --set takes them
  std::string store_tag;              // the parent's RunNames of the store
  std::string store_dir;
  std::string conninfo;  // how the buyers reach the store's server
  int64_t timeout_ms = 0;
};

// The settings (`key = value`) that make a buyer on another host behave as
// one of `scenario`'s: the store, the guard, the buyers and their faults.
std::vector<std::string> HostSettings(const Scenario& scenario);

std::string ShareLine(const HostShare& share);
// Invalid, saying what is wrong, for anything but a share line whose
// settings a scenario takes; on success `*scenario` is the scenario they make.
Status ParseShareLine(std::string_view line, HostShare* share,
                      Scenario* scenario);

// Parent -> agent.
struct ParentMessage {
  enum class Kind { kPing, kGo, kStop } kind = Kind::kPing;
  int64_t ping = 0;
};
std::string PingLine(int64_t n);
std::string GoLine();
std::string StopLine();
Status ParseParentLine(std::string_view line, ParentMessage* out);

// Agent -> parent.
struct AgentMessage {
  enum class Kind {
    kPong,
    kReady,
    kEvent,
    kEnd,
    kErrors,
    kDone,
    kError,
  } kind = Kind::kDone;
  int64_t ping = 0;  // kPong
  int64_t time = 0;  // kPong: its clock; kEvent: event.time_ns, its clock
  Event event{};     // kEvent
  std::vector<int64_t> pids;  // kReady
  uint32_t buyer = 0;         // kEnd
  int exit_code = -1;
  int signal = 0;
  uint32_t held = 0;
  std::string failure, store_error, guard_error;  // kErrors
  std::string error;                              // kError
};
std::string PongLine(int64_t n, int64_t time);
std::string ReadyLine(const std::vector<int64_t>& pids);
std::string EventLine(const Event& event, int64_t time);
std::string EndLine(uint32_t buyer, int exit_code, int signal, uint32_t held);
std::string ErrorsLine(std::string_view failure, std::string_view store_error,
                       std::string_view guard_error);
std::string DoneLine();
std::string ErrorLine(std::string_view error);
// Invalid, saying what is wrong, for a line that is not one of the above
// (an event's kind, buyer and numbers are checked for range here; whether
// they fit the run is CheckAgentEvent's and CheckAgentEnd's to say).
Status ParseAgentLine(std::string_view line, AgentMessage* out);

// Invalid, saying what is wrong, for an event that no buyer of `scenario`
// among `buyers` (the host's share, increasing) records: another host's
// buyer, an attempt past buyers.attempts, an event past the scenario's
// events, or flags, aux or a value that its kind never holds (as
// sim/buyers/buyer.cc records them). What a report indexes a table by, or
// counts with, is then in range.
Status CheckAgentEvent(const Event& event, const Scenario& scenario,
                       std::span<const uint32_t> buyers);
// The same for a buyer's end (kEnd): the host's buyer, either an exit
// status or a signal with a name, and only the scenario's guards held.
Status CheckAgentEnd(const AgentMessage& end, const Scenario& scenario,
                     std::span<const uint32_t> buyers);

}  // namespace ticketsim

#endif  // TICKETSIM_SIM_HOSTS_HOST_PROTOCOL_H_
