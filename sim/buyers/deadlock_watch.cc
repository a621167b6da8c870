#include "sim/buyers/deadlock_watch.h"

#include <algorithm>
#include <atomic>

namespace ticketsim {

std::vector<DeadlockLink> FindDeadlockCycle(
    const RunControl& control, size_t buyers, size_t events,
    const std::vector<BuyerProcess>& processes, std::vector<uint32_t>* waits) {
  std::vector<int64_t> holder(events, -1);
  std::vector<uint32_t> waiting(buyers), wait_counts(buyers), held(buyers);
  for (size_t b = 0; b < buyers; ++b) {
    const BuyerSlot& slot = control.slots[b];
    waiting[b] = slot.waiting.load(std::memory_order_acquire);
    wait_counts[b] = slot.waits.load(std::memory_order_relaxed);
    held[b] = slot.held.load(std::memory_order_acquire);
    for (size_t e = 0; e < events; ++e) {
      if (held[b] & (1u << e)) holder[e] = static_cast<int64_t>(b);
    }
  }
  std::vector<uint32_t> cycle;
  for (size_t start = 0; start < buyers && cycle.empty(); ++start) {
    // Follow start -> the holder of what it waits for -> ...
    std::vector<size_t> path;
    size_t b = start;
    while (waiting[b] != 0 && path.size() <= buyers) {
      const auto seen = std::find(path.begin(), path.end(), b);
      if (seen != path.end()) {
        for (auto it = seen; it != path.end(); ++it) {
          cycle.push_back(static_cast<uint32_t>(*it));
        }
        break;
      }
      path.push_back(b);
      const int64_t next = holder[waiting[b] - 1];
      if (next < 0 || static_cast<size_t>(next) == b) break;
      b = static_cast<size_t>(next);
    }
  }
  if (waits != nullptr) waits->clear();
  std::vector<DeadlockLink> links;
  for (const uint32_t buyer : cycle) {
    DeadlockLink link;
    link.buyer = buyer;
    const int32_t process = control.slots[buyer].process.load();
    link.pid = process < 0 ? 0 : processes[process].pid;
    link.waits_for = waiting[buyer] - 1;
    for (size_t e = 0; e < events; ++e) {
      if ((held[buyer] & (1u << e)) && e != link.waits_for) link.holds = e;
    }
    links.push_back(link);
    if (waits != nullptr) waits->push_back(wait_counts[buyer]);
  }
  return links;
}

std::vector<DeadlockLink> DeadlockWatch::Check(
    const std::vector<BuyerProcess>& processes) {
  std::vector<uint32_t> waits;
  std::vector<DeadlockLink> links =
      FindDeadlockCycle(*control_, buyers_, events_, processes, &waits);
  std::vector<std::pair<uint32_t, uint32_t>> cycle;  // buyer, its waits
  for (size_t i = 0; i < links.size(); ++i) {
    cycle.emplace_back(links[i].buyer, waits[i]);
  }
  const bool confirmed = !cycle.empty() && cycle == last_;
  last_ = std::move(cycle);
  if (!confirmed) return {};
  return links;
}

}  // namespace ticketsim
