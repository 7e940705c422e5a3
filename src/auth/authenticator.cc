#include "auth/authenticator.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "auth/login_limiter.h"
#include "auth/password_hash.h"
#include "core/base64.h"

namespace kiln::auth {
namespace {

// Tokens can be revoked on another replica, which this cache does not hear
// about: trust a verified token for at most this long without the store.
constexpr int64_t kTokenCacheMaxMs = 10000;
constexpr int64_t kTouchIntervalMs = 60000;
constexpr const char* kBadCredentials = "invalid username or password";

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::shared_ptr<const Principal> PrincipalOf(const storage::UserRecord& u, const char* method,
                                             const std::string& credential_id) {
  auto p = std::make_shared<Principal>();
  p->name = u.name;
  p->kind = u.service_account ? Principal::Kind::kServiceAccount : Principal::Kind::kUser;
  p->groups = u.groups;
  p->admin = u.admin;
  p->method = method;
  p->credential_id = credential_id;
  return p;
}

}  // namespace

class Authenticator::Impl {
 public:
  Impl(storage::IdentityStore& store, const ServerSecret& secret, OidcVerifier* oidc, Clock& clock,
       const AuthenticatorOptions& options)
      : store_(store), secret_(secret), oidc_(oidc), clock_(clock), options_(options),
        limiter_(clock, options.max_failures, options.failure_window_ms) {}

  StatusOr<std::shared_ptr<const Principal>> Authenticate(std::string_view authorization, std::string_view source) {
    std::string_view header = Trim(authorization);
    if (header.empty()) return std::shared_ptr<const Principal>();
    if (StartsWithNoCase(header, "basic ")) return Basic(Trim(header.substr(6)), source);
    if (StartsWithNoCase(header, "bearer ")) return Bearer(Trim(header.substr(7)));
    return Unauthenticated("unsupported Authorization scheme: use Basic or Bearer");
  }

  // "" drops every cached credential.
  void Invalidate(const std::string& user_name) {
    std::unique_lock lock(mu_);
    ++epoch_;
    for (auto it = cache_.begin(); it != cache_.end();) {
      it = user_name.empty() || it->second.principal->name == user_name ? cache_.erase(it) : std::next(it);
    }
  }

 private:
  struct Entry {
    std::shared_ptr<const Principal> principal;
    int64_t cached_until_ms = 0;
    int64_t token_expires_ms = 0;  // 0: not a token, or a token that never expires
    int64_t touched_ms = 0;        // tokens: last time last_used_ms was written
  };

  // A cached, still valid principal for `key`, or null. For tokens, writes
  // last_used_ms at most once a minute.
  std::shared_ptr<const Principal> Lookup(const std::string& key, int64_t now) {
    bool touch = false;
    std::shared_ptr<const Principal> found;
    {
      std::shared_lock lock(mu_);
      auto it = cache_.find(key);
      if (it == cache_.end()) return nullptr;
      const Entry& e = it->second;
      if (now >= e.cached_until_ms || (e.token_expires_ms != 0 && now >= e.token_expires_ms)) return nullptr;
      found = e.principal;
      touch = !found->credential_id.empty() && now - e.touched_ms >= kTouchIntervalMs;
    }
    if (touch) {
      {
        std::unique_lock lock(mu_);
        auto it = cache_.find(key);
        if (it == cache_.end() || now - it->second.touched_ms < kTouchIntervalMs) return found;
        it->second.touched_ms = now;
      }
      (void)store_.TouchToken(found->credential_id, now);  // bookkeeping only: never fails a request
    }
    return found;
  }

  void Insert(const std::string& key, Entry entry, uint64_t epoch_seen) {
    std::unique_lock lock(mu_);
    // An Invalidate() ran while this credential was being verified against
    // the old record: caching it now could resurrect a changed password.
    if (epoch_ != epoch_seen) return;
    if (cache_.size() >= options_.cache_max_entries) {
      const int64_t now = clock_.NowMillis();
      for (auto it = cache_.begin(); it != cache_.end();) {
        it = now >= it->second.cached_until_ms ? cache_.erase(it) : std::next(it);
      }
      if (cache_.size() >= options_.cache_max_entries) cache_.clear();
    }
    cache_[key] = std::move(entry);
  }

  uint64_t Epoch() {
    std::shared_lock lock(mu_);
    return epoch_;
  }

  StatusOr<std::shared_ptr<const Principal>> Basic(std::string_view encoded, std::string_view source) {
    std::optional<std::string> decoded = Base64Decode(encoded);
    if (!decoded) return Unauthenticated("malformed Basic credentials");
    size_t colon = decoded->find(':');
    if (colon == std::string::npos || colon == 0) return Unauthenticated("malformed Basic credentials");
    const std::string user = decoded->substr(0, colon);
    const std::string_view password = std::string_view(*decoded).substr(colon + 1);

    // Before the cache: a blocked guesser must not learn that a guess matched
    // a recently used password.
    KILN_RETURN_IF_ERROR(limiter_.Check(user, source));
    const int64_t now = clock_.NowMillis();
    const std::string key = "b:" + secret_.HmacHex(*decoded);
    if (auto p = Lookup(key, now)) return p;

    const uint64_t epoch = Epoch();
    StatusOr<storage::UserRecord> user_record = store_.GetUser(user);
    if (!user_record.ok() && user_record.status().code() != StatusCode::kNotFound) return user_record.status();
    bool ok = false;
    if (user_record.ok() && !user_record->service_account && !user_record->password_hash.empty()) {
      StatusOr<bool> match = VerifyPassword(password, user_record->password_hash);
      if (!match.ok()) return Internal("the stored password hash of user '" + user + "' is unreadable");
      ok = *match;
    } else {
      // Same work as a real check, so timing does not tell which names exist.
      (void)VerifyPassword(password, DummyHash());
    }
    if (!ok) {
      limiter_.RecordFailure(user, source);
      return Unauthenticated(kBadCredentials);
    }
    limiter_.RecordSuccess(user);
    auto principal = PrincipalOf(*user_record, "basic", "");
    Insert(key, Entry{principal, now + options_.cache_ttl_ms, 0, 0}, epoch);
    return principal;
  }

  // Bearer credentials are not rate-limited: a kiln token has 256 random
  // bits and a JWT a signature, neither can be guessed, and refusing them
  // from an address where someone guessed passwords would only lock out the
  // services sharing that address.
  StatusOr<std::shared_ptr<const Principal>> Bearer(std::string_view token) {
    if (token.empty()) return Unauthenticated("empty Bearer token");
    if (token.substr(0, 5) == "kiln_") return KilnToken(token);
    const bool jwt = OidcVerifier::LooksLikeJwt(token);
    if (oidc_ != nullptr && jwt) {
      StatusOr<Principal> p = oidc_->Verify(token);
      if (!p.ok()) return p.status();
      KILN_RETURN_IF_ERROR(CheckExternalName(p->name));
      return std::shared_ptr<const Principal>(std::make_shared<Principal>(std::move(*p)));
    }
    if (jwt) return Unauthenticated("a JWT was presented but this server has no OIDC issuer configured");
    return Unauthenticated("unknown Bearer token");
  }

  // Grants to a user name apply to whoever carries that name, so an OIDC
  // user must not take a local user's or service account's name (claims such
  // as preferred_username are often chosen by the user at the IdP). The
  // answer "no local user has it" is cached like a credential.
  Status CheckExternalName(const std::string& name) {
    const int64_t now = clock_.NowMillis();
    const std::string key = "n:" + name;
    if (Lookup(key, now)) return Status::Ok();
    const uint64_t epoch = Epoch();
    StatusOr<storage::UserRecord> local = store_.GetUser(name);
    if (local.ok()) {
      return Unauthenticated("the OIDC user name '" + name + "' is a local " +
                             (local->service_account ? "service account" : "user") + "'s name");
    }
    if (local.status().code() != StatusCode::kNotFound) return local.status();
    static const auto kFree = std::make_shared<const Principal>();
    Insert(key, Entry{kFree, now + options_.cache_ttl_ms, 0, 0}, epoch);
    return Status::Ok();
  }

  StatusOr<std::shared_ptr<const Principal>> KilnToken(std::string_view token) {
    const int64_t now = clock_.NowMillis();
    const std::string hash = secret_.HmacHex(token);
    const std::string key = "t:" + hash;
    if (auto p = Lookup(key, now)) return p;

    const uint64_t epoch = Epoch();
    StatusOr<storage::TokenRecord> record = store_.FindTokenByHash(hash);
    if (!record.ok()) {
      if (record.status().code() != StatusCode::kNotFound) return record.status();
      return Unauthenticated("unknown Bearer token");
    }
    if (record->revoked_ms != 0) return Unauthenticated("the token " + record->id + " has been revoked");
    if (record->expires_ms != 0 && now >= record->expires_ms) {
      return Unauthenticated("the token " + record->id + " has expired");
    }
    StatusOr<storage::UserRecord> user = store_.GetUser(record->user_name);
    if (!user.ok()) {
      if (user.status().code() == StatusCode::kNotFound) return Unauthenticated("unknown Bearer token");
      return user.status();
    }
    auto principal = PrincipalOf(*user, "token", record->id);
    int64_t touched = record->last_used_ms;
    if (now - touched >= kTouchIntervalMs) {
      (void)store_.TouchToken(record->id, now);
      touched = now;
    }
    Insert(key, Entry{principal, now + std::min(options_.cache_ttl_ms, kTokenCacheMaxMs), record->expires_ms, touched},
           epoch);
    return std::shared_ptr<const Principal>(principal);
  }

  // A valid hash of a random password with the default parameters.
  static const std::string& DummyHash() {
    static const std::string hash = [] {
      StatusOr<std::string> h = HashPassword(RandomHex(16));
      return h.ok() ? *h : std::string();
    }();
    return hash;
  }

  storage::IdentityStore& store_;
  const ServerSecret& secret_;
  OidcVerifier* oidc_;
  Clock& clock_;
  const AuthenticatorOptions options_;
  LoginLimiter limiter_;

  std::shared_mutex mu_;
  std::unordered_map<std::string, Entry> cache_;  // guarded by mu_
  uint64_t epoch_ = 0;                            // guarded by mu_; bumped by Invalidate
};

std::unique_ptr<Authenticator> Authenticator::Create(storage::IdentityStore& store, const ServerSecret& secret,
                                                     OidcVerifier* oidc, Clock& clock,
                                                     const AuthenticatorOptions& options) {
  return std::unique_ptr<Authenticator>(
      new Authenticator(std::make_unique<Impl>(store, secret, oidc, clock, options)));
}

Authenticator::Authenticator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Authenticator::~Authenticator() = default;

StatusOr<std::shared_ptr<const Principal>> Authenticator::Authenticate(std::string_view authorization,
                                                                       std::string_view source) {
  return impl_->Authenticate(authorization, source);
}

void Authenticator::Invalidate(const std::string& user_name) {
  if (user_name.empty()) return;  // not a user; "" means "everyone" only between replicas
  impl_->Invalidate(user_name);
  if (feed_ != nullptr) feed_->Announce(change_topics::kCredentials, user_name);
}

void Authenticator::Follow(ChangeFeed& feed) {
  feed_ = &feed;
  Impl* impl = impl_.get();
  feed.Subscribe(change_topics::kCredentials, [impl](const std::string& user) { impl->Invalidate(user); });
}

}  // namespace kiln::auth
