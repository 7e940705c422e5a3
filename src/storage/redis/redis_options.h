// RedisOptions: where and how the Redis online store connects, parsed from
// kiln's --online-store-uri:
//
//   redis://[[user]:password@]host[:port][/db][?option=value&...]
//   rediss://...   (TLS; the server certificate must chain to --redis-ca-file,
//                   or to the system CAs without one, and name the host)
//
// Options: key_ttl_seconds (Feast's key_ttl_seconds: every written hash
// expires that long after its last write; 0 = never), pool_size
// (connections kept, default 16), timeout_ms (connect and per-command I/O
// timeout, default 5000). The password may also come from a file
// (--redis-password-file, trailing newline dropped), which wins over the URI.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace kiln::storage::redis {

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string username;  // ACL user; empty: AUTH <password> (the default user)
  std::string password;  // empty: no AUTH
  bool tls = false;
  std::string ca_file;   // rediss:// only; empty: the system's CA store
  int64_t key_ttl_seconds = 0;
  size_t pool_size = 16;
  int timeout_ms = 5000;
};

// Parses the URI; InvalidArgument naming what is wrong. The password never
// appears in an error message.
StatusOr<RedisOptions> ParseRedisUri(std::string_view uri);

// The URI with any password masked, for logs.
std::string RedactRedisUri(std::string_view uri);

}  // namespace kiln::storage::redis
