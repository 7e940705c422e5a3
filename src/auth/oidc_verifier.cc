#include "auth/oidc_verifier.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/jwks.h"
#include "auth/jwt.h"
#include "auth/oidc_claims.h"
#include "core/log.h"
#include "net/http_client.h"

namespace kiln::auth {
namespace {

using Json = nlohmann::json;

bool IsHttpUrl(std::string_view url) { return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0; }

std::string WithoutTrailingSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// The keys that may have signed this token: those with its kid (an issuer
// may publish one kid twice during a rotation), or the set's only key when the
// token names none. Empty when nothing fits.
std::vector<const Jwk*> Candidates(const KeySet* keys, const Jws& jws) {
  if (!keys) return {};
  if (jws.kid) return keys->WithKid(*jws.kid);
  if (keys->keys().size() == 1) return {&keys->keys().front()};
  return {};
}

// Ok when one of the candidates verifies the signature; else the reason of
// the first one of the token's key type (or, when none is, the type mismatch).
Status VerifyWithAny(const Jws& jws, const std::vector<const Jwk*>& candidates) {
  const JwkType wanted = jws.alg == "RS256" ? JwkType::kRsa : JwkType::kEcP256;
  std::optional<Status> first;
  for (const Jwk* k : candidates) {
    if (k->type != wanted) continue;
    Status s = VerifySignature(jws, *k);
    if (s.ok()) return s;
    if (!first) first = std::move(s);
  }
  if (first) return *first;
  Status mismatch = VerifySignature(jws, *candidates.front());
  return mismatch.ok() ? Unauthenticated("alg does not match the signing key") : mismatch;
}

}  // namespace

class OidcVerifier::Impl {
 public:
  Impl(OidcOptions options, Clock& clock) : options_(std::move(options)), clock_(clock) {}

  StatusOr<Principal> Verify(std::string_view token) {
    const double now_s = static_cast<double>(clock_.NowMillis()) / 1000.0;
    if (auto cached = Cached(token, now_s)) return std::move(*cached);

    KILN_ASSIGN_OR_RETURN(Jws jws, ParseJws(token));
    std::shared_ptr<const KeySet> keys;
    uint64_t generation = 0;
    {
      std::lock_guard lock(mu_);
      keys = keys_;
      generation = generation_;
    }
    std::vector<const Jwk*> candidates = Candidates(keys.get(), jws);
    if (candidates.empty()) {
      // An unknown kid is how key rotation shows itself: look again, unless
      // someone looked recently (random kids must not make kiln hammer the issuer).
      Refresh(generation);
      std::lock_guard lock(mu_);
      keys = keys_;
      candidates = Candidates(keys.get(), jws);
      if (candidates.empty()) {
        if (!keys) return Unavailable("OIDC issuer's signing keys are not available: " + last_error_);
        if (!jws.kid) {
          return Unauthenticated("token has no kid and the issuer publishes " + std::to_string(keys->keys().size()) +
                                 " usable keys");
        }
        return Unauthenticated("unknown signing key " + *jws.kid);
      }
    }
    KILN_RETURN_IF_ERROR(VerifyWithAny(jws, candidates));
    KILN_ASSIGN_OR_RETURN(Json claims, ParseClaims(jws));
    KILN_ASSIGN_OR_RETURN(TokenWindow window, CheckClaims(claims, options_, now_s));
    KILN_ASSIGN_OR_RETURN(Principal principal, PrincipalFromClaims(claims, options_));
    Remember(token, principal, window);
    return principal;
  }

 private:
  struct CachedToken {
    Principal principal;
    TokenWindow window;
  };

  std::optional<StatusOr<Principal>> Cached(std::string_view token, double now_s) {
    if (options_.token_cache_entries == 0) return std::nullopt;
    std::lock_guard lock(mu_);
    auto it = cache_.find(std::string(token));
    if (it == cache_.end()) return std::nullopt;
    Status in_window = CheckWindow(it->second.window, options_.leeway_s, now_s);
    if (!in_window.ok()) {
      cache_.erase(it);
      return StatusOr<Principal>(in_window);
    }
    return StatusOr<Principal>(it->second.principal);
  }

  void Remember(std::string_view token, const Principal& principal, const TokenWindow& window) {
    if (options_.token_cache_entries == 0) return;
    std::lock_guard lock(mu_);
    // Crude but bounded: a full cache starts over rather than tracking recency.
    if (cache_.size() >= options_.token_cache_entries) cache_.clear();
    cache_.insert_or_assign(std::string(token), CachedToken{principal, window});
  }

  // Fetches the JWKS unless another thread did since `seen_generation` or the
  // last attempt is younger than the refresh interval. A failure keeps the old keys.
  void Refresh(uint64_t seen_generation) {
    std::lock_guard fetching(fetch_mu_);
    {
      std::lock_guard lock(mu_);
      if (generation_ != seen_generation) return;  // fetched while we waited
      const int64_t now = clock_.NowMillis();
      if (last_attempt_ms_ && now - *last_attempt_ms_ < options_.refresh_interval_s * 1000) return;
      last_attempt_ms_ = now;
    }
    StatusOr<std::shared_ptr<const KeySet>> fetched = Fetch();
    std::lock_guard lock(mu_);
    ++generation_;
    if (!fetched.ok()) {
      last_error_ = fetched.status().message();
      log::Warn("OIDC: fetching the signing keys failed (any previous keys are kept): " + last_error_);
      return;
    }
    keys_ = std::move(fetched).value();
    last_error_.clear();
    cache_.clear();  // a key the issuer withdrew must stop vouching for cached tokens
  }

  StatusOr<std::shared_ptr<const KeySet>> Fetch() {
    if (jwks_uri_.empty()) {
      if (!options_.jwks_uri.empty()) {
        jwks_uri_ = options_.jwks_uri;
      } else {
        KILN_ASSIGN_OR_RETURN(jwks_uri_, Discover());
      }
    }
    StatusOr<std::string> body = Get(jwks_uri_);
    if (!body.ok()) {
      if (options_.jwks_uri.empty()) jwks_uri_.clear();  // the issuer may have moved it: rediscover next time
      return body.status();
    }
    std::vector<std::string> skipped;
    StatusOr<KeySet> set = KeySet::Parse(*body, &skipped);
    if (!set.ok()) return Unavailable(jwks_uri_ + ": " + set.status().message());
    for (const std::string& why : skipped) log::Warn("OIDC: JWKS " + jwks_uri_ + ": skipping " + why);
    log::Info("OIDC: " + std::to_string(set->keys().size()) + " signing keys from " + jwks_uri_);
    return std::make_shared<const KeySet>(std::move(set).value());
  }

  StatusOr<std::string> Discover() {
    const std::string url = WithoutTrailingSlash(options_.issuer) + "/.well-known/openid-configuration";
    KILN_ASSIGN_OR_RETURN(std::string body, Get(url));
    Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) return Unavailable(url + ": not a JSON object");
    // OIDC Discovery 4.3: the document must name exactly the issuer it was fetched for.
    auto issuer = doc.find("issuer");
    if (issuer == doc.end() || !issuer->is_string() || issuer->get_ref<const std::string&>() != options_.issuer) {
      return Unavailable(url + ": issuer " + (issuer != doc.end() ? issuer->dump() : "(missing)") +
                         " is not the configured " + options_.issuer);
    }
    auto jwks = doc.find("jwks_uri");
    if (jwks == doc.end() || !jwks->is_string() || !IsHttpUrl(jwks->get_ref<const std::string&>())) {
      return Unavailable(url + ": no http(s) jwks_uri");
    }
    return jwks->get<std::string>();
  }

  StatusOr<std::string> Get(const std::string& url) {
    // HttpClient wants an origin and a path; split after scheme://host[:port].
    const size_t host = url.find("://") + 3;
    const size_t slash = url.find('/', host);
    const std::string origin = url.substr(0, slash);
    const std::string path = slash == std::string::npos ? "/" : url.substr(slash);
    net::HttpClientOptions http;
    http.timeout = std::chrono::milliseconds(options_.fetch_timeout_ms);
    http.connect_timeout = std::min(http.connect_timeout, http.timeout);
    http.ca_file = options_.ca_file;
    KILN_ASSIGN_OR_RETURN(auto client, net::HttpClient::Create(origin, http));
    StatusOr<net::HttpClientResponse> response = client->Get(path);
    if (!response.ok()) return Unavailable(response.status().message());
    if (response->status != 200) return Unavailable("GET " + url + ": HTTP " + std::to_string(response->status));
    return std::move(response->body);
  }

  const OidcOptions options_;
  Clock& clock_;

  std::mutex mu_;  // guards the members below it up to fetch_mu_
  std::shared_ptr<const KeySet> keys_;
  uint64_t generation_ = 0;  // completed fetch attempts
  std::optional<int64_t> last_attempt_ms_;
  std::string last_error_ = "not fetched yet";
  std::unordered_map<std::string, CachedToken> cache_;

  std::mutex fetch_mu_;  // one fetch at a time; guards jwks_uri_
  std::string jwks_uri_;
};

StatusOr<std::unique_ptr<OidcVerifier>> OidcVerifier::Create(const OidcOptions& options, Clock& clock) {
  if (!IsHttpUrl(options.issuer)) return InvalidArgument("OIDC issuer must be an http(s) URL, got '" + options.issuer + "'");
  if (options.audience.empty()) return InvalidArgument("OIDC audience must be set with the issuer");
  if (!options.jwks_uri.empty() && !IsHttpUrl(options.jwks_uri)) {
    return InvalidArgument("OIDC JWKS URI must be an http(s) URL, got '" + options.jwks_uri + "'");
  }
  if (options.leeway_s < 0 || options.refresh_interval_s < 0 || options.fetch_timeout_ms <= 0) {
    return InvalidArgument("OIDC leeway and refresh interval must be >= 0 and the fetch timeout > 0");
  }
  if (options.username_claim.empty()) return InvalidArgument("OIDC username claim must not be empty");
  return std::unique_ptr<OidcVerifier>(new OidcVerifier(std::make_unique<Impl>(options, clock)));
}

OidcVerifier::OidcVerifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OidcVerifier::~OidcVerifier() = default;

StatusOr<Principal> OidcVerifier::Verify(std::string_view token) { return impl_->Verify(token); }

bool OidcVerifier::LooksLikeJwt(std::string_view token) {
  // Header and payload are never empty; the signature is empty in an
  // unsigned ("alg": "none") token, which must reach Verify to be refused by name.
  size_t dots = 0;
  size_t segment = 0;
  for (char c : token) {
    if (c == '.') {
      if (segment == 0 || ++dots > 2) return false;
      segment = 0;
    } else if (IsBase64UrlChar(c)) {
      ++segment;
    } else {
      return false;
    }
  }
  return dots == 2;
}

}  // namespace kiln::auth
