// Sorting and pagination of list answers exactly as Feast's registry server
// applies them (registry_server.apply_pagination_and_sorting): sort_by is a
// dot path looked up on the object, then under its spec and meta (where
// Feast's Python objects keep those attributes); strings compare
// case-insensitively, missing values first; "desc" reverses; page/limit are
// 1-based and only apply when both are > 0. Pure; thread-safe.
#pragma once

#include <vector>

#include <google/protobuf/message.h>

#include "feast/registry/RegistryServer.pb.h"

namespace kiln::api::feast {

// Reorders and trims `items` in place; returns the response's metadata.
::feast::registry::PaginationMetadata PaginateAndSort(std::vector<const google::protobuf::Message*>& items,
                                                      const ::feast::registry::PaginationParams& pagination,
                                                      const ::feast::registry::SortingParams& sorting);

}  // namespace kiln::api::feast
