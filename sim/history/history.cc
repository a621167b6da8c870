#include "sim/history/history.h"

#include <sys/mman.h>

#include <atomic>
#include <cerrno>

namespace ticketsim {

HistoryArena::~HistoryArena() {
  if (events_ != nullptr) munmap(events_, buyers_ * per_buyer_ * sizeof(Event));
}

Status HistoryArena::Map(size_t buyers, size_t events_per_buyer) {
  const size_t bytes = buyers * events_per_buyer * sizeof(Event);
  if (bytes == 0) {  // history "summary": no events at all
    buyers_ = buyers;
    return Status::Ok();
  }
  void* at = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (at == MAP_FAILED) return Status::FromErrno("map history arena", errno);
  events_ = static_cast<Event*>(at);
  buyers_ = buyers;
  per_buyer_ = events_per_buyer;
  return Status::Ok();
}

EventWriter HistoryArena::WriterFor(uint32_t buyer) {
  return EventWriter(events_ + buyer * per_buyer_, per_buyer_, buyer);
}

std::span<const Event> HistoryArena::EventsOf(uint32_t buyer) const {
  if (events_ == nullptr) return {};
  const Event* begin = events_ + buyer * per_buyer_;
  size_t n = 0;
  while (n < per_buyer_ &&
         std::atomic_ref<EventKind>(const_cast<EventKind&>(begin[n].kind))
                 .load(std::memory_order_acquire) != EventKind::kEmpty) {
    ++n;
  }
  return {begin, n};
}

}  // namespace ticketsim
