#include "storage/online_store_factory.h"

#include <fstream>
#include <sstream>

#include "storage/embedded/embedded_online_store.h"
#include "storage/redis/redis_online_store.h"
#include "storage/redis/redis_options.h"

namespace kiln::storage {

namespace {

StatusOr<std::string> ReadSecret(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot read the Redis password file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.empty()) return InvalidArgument("the Redis password file " + path + " is empty");
  return s;
}

}  // namespace

StatusOr<std::unique_ptr<OnlineStore>> OpenOnlineStore(const OnlineStoreConfig& config) {
  if (config.uri.empty()) {
    if (!config.redis_password_file.empty() || !config.redis_ca_file.empty()) {
      return InvalidArgument("--redis-password-file and --redis-ca-file need --online-store-uri redis://...");
    }
    return EmbeddedOnlineStore::Open(config.embedded_dir);
  }
  KILN_ASSIGN_OR_RETURN(redis::RedisOptions options, redis::ParseRedisUri(config.uri));
  if (!config.redis_password_file.empty()) {
    KILN_ASSIGN_OR_RETURN(options.password, ReadSecret(config.redis_password_file));
  }
  if (!config.redis_ca_file.empty()) {
    if (!options.tls) return InvalidArgument("--redis-ca-file needs a rediss:// --online-store-uri (TLS)");
    options.ca_file = config.redis_ca_file;
  }
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<RedisOnlineStore> store, RedisOnlineStore::Open(std::move(options)));
  return std::unique_ptr<OnlineStore>(std::move(store));
}

std::string DescribeOnlineStore(const OnlineStoreConfig& config) {
  if (config.uri.empty()) return "embedded (" + config.embedded_dir + ")";
  return "Redis " + redis::RedactRedisUri(config.uri);
}

}  // namespace kiln::storage
