// OpenOnlineStore: the online store kiln's --online-store-uri selects.
//   ""                     the embedded store in `embedded_dir`
//   redis://... rediss://  Redis in Feast's layout (redis/redis_options.h)
// The Redis password may come from a file and the CA bundle for rediss://
// from another (kiln's --redis-password-file / --redis-ca-file).
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "storage/online_store.h"

namespace kiln::storage {

struct OnlineStoreConfig {
  std::string uri;
  std::string embedded_dir;
  std::string redis_password_file;  // wins over a password in the URI
  std::string redis_ca_file;
};

StatusOr<std::unique_ptr<OnlineStore>> OpenOnlineStore(const OnlineStoreConfig& config);

// What a log line may say about the store (no password).
std::string DescribeOnlineStore(const OnlineStoreConfig& config);

}  // namespace kiln::storage
