#include "features/materializer.h"
#include "features/materializer_impl.h"

namespace kiln::features {

std::unique_ptr<Materializer> CreateMaterializer(FeatureRegistry& registry, storage::OfflineEngine& engine,
                                                 storage::OnlineStore& online, const Clock& clock, WorkerPool&) {
  return NewMaterializer(NewRegistryCatalog(registry), engine, online, clock, MaterializerOptions{});
}

}  // namespace kiln::features
