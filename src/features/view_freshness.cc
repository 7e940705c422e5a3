#include "features/view_freshness.h"

namespace kiln::features {

std::string_view FreshnessStateName(FreshnessState s) {
  switch (s) {
    case FreshnessState::kFresh: return "fresh";
    case FreshnessState::kStale: return "stale";
    case FreshnessState::kNoData: return "no_data";
    case FreshnessState::kUnknown: return "unknown";
    case FreshnessState::kNotOnline: return "not_online";
    case FreshnessState::kOnDemand: return "on_demand";
  }
  return "unknown";
}

ViewFreshness FreshnessOf(const ViewSchema& view, storage::OnlineStore& store, int64_t now_us) {
  ViewFreshness f;
  f.ttl_us = view.ttl_us;
  f.checked_us = now_us;
  if (view.kind == ViewKind::kOnDemand) {
    f.state = FreshnessState::kOnDemand;
    return f;
  }
  StatusOr<std::optional<int64_t>> newest = store.NewestEventTs({view.project, view.name});
  if (!newest.ok()) {
    f.state = view.online ? FreshnessState::kUnknown : FreshnessState::kNotOnline;
    f.reason = newest.status().message();
    return f;
  }
  f.newest_event_us = *newest;
  if (*newest) f.age_us = now_us - **newest;
  if (!view.online) {
    f.state = FreshnessState::kNotOnline;
  } else if (!*newest) {
    f.state = FreshnessState::kNoData;
  } else if (view.ttl_us > 0 && **newest < now_us - view.ttl_us) {
    f.state = FreshnessState::kStale;
  } else {
    f.state = FreshnessState::kFresh;
  }
  return f;
}

}  // namespace kiln::features
