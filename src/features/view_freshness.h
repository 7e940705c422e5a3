// Freshness of a feature view's online values: the age of the newest stored
// event time against the view's ttl, the way online reads judge a row
// (online_service.h: a row older than now - ttl is OUTSIDE_MAX_AGE, exactly
// now - ttl is still PRESENT). Used by the web UI's feature pages.
//
//   fresh       newest event time >= now - ttl (or the view has no ttl)
//   stale       newest event time <  now - ttl: reads answer OUTSIDE_MAX_AGE
//   no_data     the online store holds no row for the view
//   unknown     the online store cannot tell (Redis keeps no per-view newest time)
//   not_online  the view is not served online (online=False)
//   on_demand   an on-demand view: computed per request, nothing is stored
//               (and kiln does not run its Python transformation)
//
// Pure over the store's NewestEventTs; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "features/view_schema.h"
#include "storage/online_store.h"

namespace kiln::features {

enum class FreshnessState { kFresh, kStale, kNoData, kUnknown, kNotOnline, kOnDemand };

std::string_view FreshnessStateName(FreshnessState s);  // "fresh", "stale", "no_data", ...

struct ViewFreshness {
  FreshnessState state = FreshnessState::kUnknown;
  std::optional<int64_t> newest_event_us;  // set when the store told
  int64_t age_us = 0;                      // now - newest (when newest is set; may be < 0 for future rows)
  int64_t ttl_us = 0;                      // the view's ttl; 0: none
  int64_t checked_us = 0;                  // the "now" it was judged at
  std::string reason;                      // why, for unknown (the store's message)
};

ViewFreshness FreshnessOf(const ViewSchema& view, storage::OnlineStore& store, int64_t now_us);

}  // namespace kiln::features
