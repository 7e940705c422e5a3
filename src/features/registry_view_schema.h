// ViewSchema out of Feast's view messages: join keys and their types (from
// the entities and the view's entity_columns), features, ttl, online flag,
// the batch source as an OfflineSource when kiln can read it, the push
// source feeding the view. Pure functions; thread-safe.
#pragma once

#include <functional>
#include <string>

#include "core/status.h"
#include "features/view_schema.h"

namespace feast::core {
class DataSource;
class Entity;
class FeatureView;
class OnDemandFeatureView;
class StreamFeatureView;
}  // namespace feast::core

namespace kiln::features {

// Looks an entity up by name in the view's project.
using EntityLookup = std::function<StatusOr<feast::core::Entity>(const std::string& name)>;

StatusOr<ViewSchema> SchemaFromFeatureView(const feast::core::FeatureView& view, const EntityLookup& entities);
StatusOr<ViewSchema> SchemaFromStreamFeatureView(const feast::core::StreamFeatureView& view,
                                                 const EntityLookup& entities);
// kind kOnDemand: listed, never executed.
ViewSchema SchemaFromOnDemandView(const feast::core::OnDemandFeatureView& view);

// The FileSource as kiln's engine reads it, or an error saying why it cannot.
StatusOr<storage::OfflineSource> OfflineSourceOf(const feast::core::DataSource& source);

}  // namespace kiln::features
