// MakeStore: the one place that knows every store. It sits above the stores
// (each includes only ticket_store.h), so the interface and the stores never
// include each other; callers that open a store by its spec include this.
#ifndef TICKETSIM_STORAGE_MAKE_STORE_H_
#define TICKETSIM_STORAGE_MAKE_STORE_H_

#include <memory>

#include "storage/run_names.h"
#include "storage/ticket_store.h"

namespace ticketsim {

// A store of `spec.kind`, not yet created or attached, whose named objects
// are named after `names`.
std::unique_ptr<TicketStore> MakeStore(const StoreSpec& spec,
                                       const RunNames& names);

}  // namespace ticketsim

#endif  // TICKETSIM_STORAGE_MAKE_STORE_H_
