#include "storage/redis/redis_options.h"

#include <charconv>

namespace kiln::storage::redis {

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

StatusOr<std::string> PercentDecode(std::string_view s, const char* what) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    const int hi = i + 1 < s.size() ? HexDigit(s[i + 1]) : -1;
    const int lo = i + 2 < s.size() ? HexDigit(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) return InvalidArgument(std::string("invalid --online-store-uri: bad %-escape in the ") + what);
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

template <class T>
bool ParseNumber(std::string_view s, T* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

StatusOr<RedisOptions> ParseRedisUri(std::string_view uri) {
  RedisOptions o;
  std::string_view rest;
  if (uri.rfind("redis://", 0) == 0) {
    rest = uri.substr(8);
  } else if (uri.rfind("rediss://", 0) == 0) {
    rest = uri.substr(9);
    o.tls = true;
  } else {
    return InvalidArgument("invalid --online-store-uri: must start with redis:// or rediss://");
  }
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view path;
  if (size_t s = rest.find('/'); s != std::string_view::npos) {
    path = rest.substr(s + 1);
    rest = rest.substr(0, s);
  }
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    std::string_view user = userinfo, pass;
    bool has_pass = false;
    if (size_t c = userinfo.find(':'); c != std::string_view::npos) {
      user = userinfo.substr(0, c);
      pass = userinfo.substr(c + 1);
      has_pass = true;
    }
    KILN_ASSIGN_OR_RETURN(o.username, PercentDecode(user, "user name"));
    if (has_pass) {
      KILN_ASSIGN_OR_RETURN(o.password, PercentDecode(pass, "password"));
    } else {
      // redis://secret@host: redis-py reads a lone userinfo as the password.
      o.password = std::move(o.username);
      o.username.clear();
    }
  }
  std::string_view host = rest, port;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return InvalidArgument("invalid --online-store-uri: unclosed [ in the host");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgument("invalid --online-store-uri: text after the host");
      port = after.substr(1);
    }
  } else if (size_t c = rest.rfind(':'); c != std::string_view::npos) {
    host = rest.substr(0, c);
    port = rest.substr(c + 1);
  }
  if (host.empty()) return InvalidArgument("invalid --online-store-uri: no host");
  o.host = std::string(host);
  if (!port.empty() && (!ParseNumber(port, &o.port) || o.port < 1 || o.port > 65535)) {
    return InvalidArgument("invalid --online-store-uri: port '" + std::string(port) + "' is not 1-65535");
  }
  if (!path.empty() && (!ParseNumber(path, &o.db) || o.db < 0)) {
    return InvalidArgument("invalid --online-store-uri: database '" + std::string(path) +
                           "' is not a number (redis://host:port/0)");
  }
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (kv.empty()) continue;
    size_t eq = kv.find('=');
    std::string_view k = kv.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
    auto bad = [&] { return InvalidArgument("invalid --online-store-uri: bad value for " + std::string(k)); };
    if (k == "key_ttl_seconds") {
      if (!ParseNumber(v, &o.key_ttl_seconds) || o.key_ttl_seconds < 0) return bad();
    } else if (k == "pool_size") {
      if (!ParseNumber(v, &o.pool_size) || o.pool_size < 1 || o.pool_size > 1024) return bad();
    } else if (k == "timeout_ms") {
      if (!ParseNumber(v, &o.timeout_ms) || o.timeout_ms < 1) return bad();
    } else {
      return InvalidArgument("invalid --online-store-uri: unknown option '" + std::string(k) +
                             "' (key_ttl_seconds, pool_size, timeout_ms)");
    }
  }
  return o;
}

std::string RedactRedisUri(std::string_view uri) {
  size_t scheme = uri.find("://");
  if (scheme == std::string_view::npos) return std::string(uri);
  size_t start = scheme + 3;
  size_t end = uri.find_first_of("/?", start);
  std::string_view authority = uri.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(uri);
  std::string userinfo(authority.substr(0, at));
  size_t c = userinfo.find(':');
  std::string masked = c == std::string::npos ? "***" : userinfo.substr(0, c) + ":***";
  return std::string(uri.substr(0, start)) + masked + std::string(uri.substr(start + at));
}

}  // namespace kiln::storage::redis
