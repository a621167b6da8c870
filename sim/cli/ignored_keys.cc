#include "sim/cli/ignored_keys.h"

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "sim/scenario/scenario.h"

namespace ticketsim {
namespace {

// Where `key` was set in `loaded`, or null where it was not.
const std::string* WhereSet(const LoadedScenario& loaded,
                            std::string_view key) {
  auto it = loaded.where.find(key);
  return it == loaded.where.end() ? nullptr : &it->second;
}

Status RefuseWriteOfAnotherStore(const LoadedScenario& loaded) {
  const Scenario& s = loaded.scenario;
  const std::string* at = WhereSet(loaded, "store.write");
  if (at == nullptr || s.store.kind == StoreKind::kFile) return Status::Ok();
  return Status::Invalid(fmt::format(
      "{}: store.write only applies to the file store, and this store is "
      "\"{}\": drop it, or use the file store (--store file; store.kind = "
      "\"file\")",
      *at, WordOf(kStoreKinds, s.store.kind)));
}

Status RefuseScopeWithoutGuard(const LoadedScenario& loaded,
                               bool compared_guard) {
  const Scenario& s = loaded.scenario;
  const std::string* at = WhereSet(loaded, "guard.scope");
  if (at == nullptr || compared_guard || s.guard.kind != GuardKind::kNone ||
      s.guard.scope != Scope::kQueryAndBuy) {
    return Status::Ok();
  }
  return Status::Invalid(fmt::format(
      "{}: guard.scope = \"query-and-buy\" takes the guard for the query "
      "too, but there is no guard (guard.kind = \"none\"): choose one "
      "(e.g. --guard file-lock; guard.kind = \"file-lock\") or drop the "
      "scope",
      *at));
}

// A program takes its delays and locks from its own code.
Status RefuseBuyerKeysOfAProgram(const LoadedScenario& loaded) {
  if (!loaded.scenario.program.set()) return Status::Ok();
  for (const char* key :
       {"buyers.think_ms", "buyers.query_delay_ms", "guard.scope",
        "guard.timeout_ms", "store.slow_write_ms"}) {
    if (const std::string* at = WhereSet(loaded, key)) {
      return Status::Invalid(fmt::format(
          "{}: {} applies to ticketsim's own buyers; a program takes its "
          "delays and locks from its own code and arguments: drop it",
          *at, key));
    }
  }
  return Status::Ok();
}

Status RefuseOrderOfOneEvent(const LoadedScenario& loaded) {
  const std::string* at = WhereSet(loaded, "guard.order");
  if (at == nullptr || EventCount(loaded.scenario) >= 2) return Status::Ok();
  return Status::Invalid(fmt::format(
      "{}: guard.order orders the guards of several events, but this "
      "scenario sells one: add events (events = [\"concert\", "
      "\"parking\"]) or drop guard.order",
      *at));
}

}  // namespace

Status RefuseIgnoredKeys(const LoadedScenario& loaded, bool compared_guard) {
  if (Status s = RefuseWriteOfAnotherStore(loaded); !s.ok()) return s;
  if (Status s = RefuseScopeWithoutGuard(loaded, compared_guard); !s.ok()) {
    return s;
  }
  if (Status s = RefuseBuyerKeysOfAProgram(loaded); !s.ok()) return s;
  return RefuseOrderOfOneEvent(loaded);
}

}  // namespace ticketsim
