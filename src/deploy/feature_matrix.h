// The model input matrix of a feature-bound prediction: the online features
// read for each entity row, placed in the model signature's column order.
// Kept apart from PredictService so the rules of item 4 — mapping by name,
// missing, null and stale values refused unless a default is declared, never
// a silent zero — are one pure function with its own tests.
//
// Mapping rule: a signature column takes the feature whose full name
// ("view__feature", the projection's alias for a feature service) equals it,
// else the one feature whose short name equals it; two features with that
// short name are ambiguous (refused, naming both). A column no feature
// provides takes its declared default for every row, or is refused.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "features/online_service.h"
#include "storage/endpoint_entities.h"

namespace kiln::deploy {

// A scalar numeric feast.types.Value (int32/int64/double/float/bool) as a
// double. *is_null for an empty or null_val Value. InvalidArgument for any
// other kind (strings, bytes, lists, timestamps): a model input is a number.
Status NumericFeatureValue(std::string_view value_bytes, double* out, bool* is_null);

// Which result column feeds each signature column (-1: none, default
// applies). `feature_names` are the full names of the features read.
StatusOr<std::vector<int>> MapFeatureColumns(const std::vector<std::string>& feature_names,
                                             const std::vector<std::string>& input_columns,
                                             const storage::FeatureBinding& binding);

// Builds rows x input_columns.size() values, row-major, from an online read
// made with full_feature_names. `entities` is the request's entity columns
// (for error messages naming the row).
StatusOr<std::vector<double>> BuildFeatureMatrix(
    const features::OnlineResult& result, const std::vector<std::string>& input_columns,
    const storage::FeatureBinding& binding,
    const std::vector<std::pair<std::string, std::vector<features::RequestValue>>>& entities);

}  // namespace kiln::deploy
