#include "base/json_text.h"

namespace ticketsim {

std::string JsonText(const nlohmann::json& json, int indent) {
  return json.dump(indent, ' ', /*ensure_ascii=*/true,
                   nlohmann::json::error_handler_t::replace);
}

}  // namespace ticketsim
