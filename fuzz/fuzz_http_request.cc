#include "fuzz/fuzz_http_request.h"

#include <fmt/format.h>

#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "sim/server/box_office.h"
#include "sim/server/http_server.h"

namespace ticketsim {
namespace {

// A box office of its own for each input (its run's directory, its count
// in memory; all removed when it closes), small enough to open quickly:
// one connection of at most 64 purchases.
const Scenario& FuzzScenario() {
  static const Scenario scenario = [] {
    Scenario s;
    for (const char* setting :
         {"store.kind = \"memory\"", "buyers.mode = \"thread\"",
          "tickets.initial = 1000", "server.max_buyers = 1",
          "server.max_attempts = 64"}) {
      if (!ApplySetting(&s, setting).ok()) std::abort();
    }
    if (!ValidateScenario(s).ok()) std::abort();
    return s;
  }();
  return scenario;
}

}  // namespace

std::string CheckHttpRequestInput(const uint8_t* data, size_t size) {
  std::unique_ptr<BoxOffice> office;
  if (Status s = BoxOffice::Open(FuzzScenario(), &office); !s.ok()) {
    return "the box office did not open: " + s.message();
  }
  BoxOfficeServer server(office.get(), FuzzScenario().server, "");
  std::unique_ptr<BoxOffice::Window> window;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (const HttpReply& reply : server.AnswerBytes(bytes, &window)) {
    switch (reply.status) {
      case 200:
      case 400:
      case 403:
      case 404:
      case 405:
      case 409:
      case 429:
      case 503:
        break;
      default:
        return fmt::format("a reply with status {}", reply.status);
    }
    if (reply.content_type == "application/json" &&
        nlohmann::json::parse(reply.body, nullptr, false).is_discarded()) {
      return fmt::format("a reply that is not JSON: {}", reply.body);
    }
    if (reply.body.empty()) return "an empty reply";
  }
  return "";
}

}  // namespace ticketsim
