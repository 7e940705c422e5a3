// Random identifiers: 32 lower-case hex characters (a UUID4's digits without
// dashes, as MLflow uses for run ids). Thread-safe.
#pragma once

#include <string>

namespace kiln {

std::string NewHexId();

}  // namespace kiln
