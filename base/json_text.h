// JSON as text, the one way every output of ticketsim writes it.
#ifndef TICKETSIM_BASE_JSON_TEXT_H_
#define TICKETSIM_BASE_JSON_TEXT_H_

#include <nlohmann/json.hpp>
#include <string>

namespace ticketsim {

// `json` as text (`indent` as nlohmann's dump takes it), never throwing:
// text that is not UTF-8 (a file name, a --set value) has each bad byte
// replaced with U+FFFD, and every character past ASCII is written as its
// \u escape, so that no C1 control reaches a terminal that shows it.
std::string JsonText(const nlohmann::json& json, int indent = -1);

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_JSON_TEXT_H_
