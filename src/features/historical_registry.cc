// The registry-backed constructor, apart from historical.cc so tests with a
// fake catalog do not link the registry.
#include "features/historical.h"

namespace kiln::features {

HistoricalService::HistoricalService(FeatureRegistry& registry, storage::OfflineEngine& engine)
    : HistoricalService(NewRegistryCatalog(registry), engine) {}

}  // namespace kiln::features
