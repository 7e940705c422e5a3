#include "storage/s3/s3_web_identity.h"

#include <curl/curl.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <thread>

#include "core/log.h"
#include "storage/s3/s3_client.h"
#include "storage/s3/s3_location.h"
#include "storage/s3/s3_xml.h"

namespace kiln::storage::s3 {
namespace {

constexpr size_t kMaxAnswer = 1 << 20;

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool Digits(std::string_view s, size_t pos, size_t n, int64_t& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

size_t Collect(char* data, size_t size, size_t count, void* userp) {
  auto* out = static_cast<std::string*>(userp);
  const size_t n = size * count;
  if (out->size() < kMaxAnswer) out->append(data, std::min(n, kMaxAnswer - out->size()));
  return n;
}

std::string TrimmedFile(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  if (!ok) return "";
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

bool RetryableSts(long status, const std::string& code) {
  return status == 0 || status == 429 || status >= 500 || code == "Throttling" || code == "IDPCommunicationError";
}

}  // namespace

std::optional<int64_t> ParseIso8601Millis(std::string_view t) {
  int64_t y, mo, d, h, mi, s;
  if (!Digits(t, 0, 4, y) || t.size() < 19 || t[4] != '-' || !Digits(t, 5, 2, mo) || t[7] != '-' ||
      !Digits(t, 8, 2, d) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || !Digits(t, 11, 2, h) ||
      t[13] != ':' || !Digits(t, 14, 2, mi) || t[16] != ':' || !Digits(t, 17, 2, s)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < t.size() && t[pos] == '.') {
    ++pos;
    int64_t scale = 100;
    const size_t start = pos;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
      millis += (t[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  std::string_view zone = t.substr(pos);
  if (zone != "Z" && zone != "z" && zone != "+00:00" && zone != "-00:00" && zone != "+0000") return std::nullopt;
  const int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 24 + h) * 60 + mi) * 60 * 1000 + s * 1000 + millis;
}

StatusOr<TemporaryCredentials> ParseAssumeRoleWithWebIdentity(std::string_view xml) {
  auto result = XmlElements(xml, "AssumeRoleWithWebIdentityResult");
  auto creds = XmlElements(result.empty() ? std::string_view() : result.front(), "Credentials");
  if (creds.empty()) {
    return InvalidArgument("STS answer has no AssumeRoleWithWebIdentityResult/Credentials");
  }
  const std::string_view c = creds.front();
  TemporaryCredentials out;
  auto field = [&](std::string_view tag, std::string& into) -> Status {
    auto v = XmlText(c, tag);
    if (!v || v->empty()) return InvalidArgument("STS answer's Credentials lack " + std::string(tag));
    into = std::move(*v);
    return Status::Ok();
  };
  KILN_RETURN_IF_ERROR(field("AccessKeyId", out.credentials.access_key_id));
  KILN_RETURN_IF_ERROR(field("SecretAccessKey", out.credentials.secret_access_key));
  // AWS always sends a session token; an STS-compatible service may hand out
  // keys without one, which are then signed with like long-term keys.
  out.credentials.session_token = XmlText(c, "SessionToken").value_or("");
  std::string expiration;
  KILN_RETURN_IF_ERROR(field("Expiration", expiration));
  auto ms = ParseIso8601Millis(expiration);
  if (!ms) return InvalidArgument("STS answer's Expiration '" + expiration + "' is not an ISO 8601 UTC time");
  out.expires_ms = *ms;
  return out;
}

std::string AssumeRoleWithWebIdentityForm(const WebIdentityConfig& config, std::string_view token) {
  // Form values use the same unreserved set as SigV4's URI encoding.
  return "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" + AwsUriEncode(config.role_arn, false) +
         "&RoleSessionName=" + AwsUriEncode(config.session_name, false) +
         "&WebIdentityToken=" + AwsUriEncode(token, false);
}

StsTransport CurlStsTransport() {
  return [](const std::string& url, const std::string& form) -> StatusOr<StsAnswer> {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    CURL* curl = curl_easy_init();
    if (curl == nullptr) return Internal("curl_easy_init failed");
    StsAnswer answer;
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/x-www-form-urlencoded; charset=utf-8");
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(form.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
    const CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) return Unavailable(curl_easy_strerror(rc));
    return answer;
  };
}

StatusOr<std::unique_ptr<WebIdentityProvider>> WebIdentityProvider::Create(WebIdentityConfig config,
                                                                           WebIdentityOptions options) {
  if (config.role_arn.empty()) return InvalidArgument("web identity: no role ARN");
  if (config.token_file.empty()) return InvalidArgument("web identity: no token file");
  if (config.session_name.empty()) return InvalidArgument("web identity: no role session name");
  if (!config.sts_endpoint.starts_with("https://") && !config.sts_endpoint.starts_with("http://")) {
    return InvalidArgument("STS endpoint '" + config.sts_endpoint + "' is not an http(s):// URL");
  }
  if (!options.clock) options.clock = std::make_shared<SystemClock>();
  if (!options.transport) options.transport = CurlStsTransport();
  return std::unique_ptr<WebIdentityProvider>(new WebIdentityProvider(std::move(config), std::move(options)));
}

WebIdentityProvider::WebIdentityProvider(WebIdentityConfig config, WebIdentityOptions options)
    : config_(std::move(config)), options_(std::move(options)) {}

std::string WebIdentityProvider::Describe() const {
  return "role " + config_.role_arn + " at " + config_.sts_endpoint;
}

StatusOr<TemporaryCredentials> WebIdentityProvider::Fetch() const {
  bool readable = false;
  const std::string token = TrimmedFile(config_.token_file, readable);
  if (!readable) {
    return FailedPrecondition("web identity for " + Describe() + ": cannot read the token file " + config_.token_file);
  }
  if (token.empty()) {
    return FailedPrecondition("web identity for " + Describe() + ": the token file " + config_.token_file +
                              " is empty");
  }
  const std::string form = AssumeRoleWithWebIdentityForm(config_, token);
  const std::string url = config_.sts_endpoint + "/";
  std::string last;
  for (int attempt = 1;; ++attempt) {
    StatusOr<StsAnswer> answer = options_.transport(url, form);
    std::string code;
    if (!answer.ok()) {
      last = answer.status().message();
    } else if (answer->status == 200) {
      auto parsed = ParseAssumeRoleWithWebIdentity(answer->body);
      if (!parsed.ok()) return Internal("STS AssumeRoleWithWebIdentity for " + Describe() + ": " +
                                        parsed.status().message());
      parsed->credentials.source = "web identity (role " + config_.role_arn + ")";
      return parsed;
    } else {
      S3Error e = ParseError(answer->body);
      code = e.code;
      last = "HTTP " + std::to_string(answer->status) + (e.code.empty() ? "" : ": " + e.code) +
             (e.message.empty() ? "" : ": " + e.message);
      if (!RetryableSts(answer->status, code)) {
        return PermissionDenied("STS refused AssumeRoleWithWebIdentity for " + Describe() + " (token file " +
                                config_.token_file + "): " + last);
      }
    }
    if (attempt >= options_.max_attempts) {
      return Unavailable("STS AssumeRoleWithWebIdentity for " + Describe() + " failed after " +
                         std::to_string(attempt) + " attempts: " + last);
    }
    std::this_thread::sleep_for(BackoffDelay(attempt, options_.backoff_base, options_.backoff_base * 16));
  }
}

StatusOr<S3Credentials> WebIdentityProvider::Current() {
  const int64_t ahead = options_.refresh_ahead.count();
  const int64_t must = options_.must_refresh.count();
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    const int64_t now = options_.clock->NowMillis();
    const bool usable = current_ && now + must < current_->expires_ms;
    if (current_ && now + ahead < current_->expires_ms) return current_->credentials;
    if (usable && (fetching_ || now < next_try_ms_)) return current_->credentials;
    if (!fetching_) break;
    const int64_t seen = generation_;
    done_.wait(lock, [&] { return generation_ != seen; });
    if (current_ && options_.clock->NowMillis() + must < current_->expires_ms) return current_->credentials;
    if (!last_error_.ok()) return last_error_;
  }
  fetching_ = true;
  ++fetches_;
  lock.unlock();
  StatusOr<TemporaryCredentials> fetched = Fetch();
  lock.lock();
  fetching_ = false;
  ++generation_;
  done_.notify_all();
  if (fetched.ok()) {
    current_ = std::move(*fetched);
    last_error_ = Status::Ok();
    next_try_ms_ = 0;
    return current_->credentials;
  }
  last_error_ = fetched.status();
  const int64_t now = options_.clock->NowMillis();
  if (current_ && now + must < current_->expires_ms) {
    next_try_ms_ = now + options_.retry_after.count();
    log::Warn(fetched.status().message() + "; keeping the current keys until they are close to expiring");
    return current_->credentials;
  }
  return fetched.status();
}

void WebIdentityProvider::Invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  current_.reset();
  next_try_ms_ = 0;
}

int64_t WebIdentityProvider::fetches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fetches_;
}

StatusOr<std::shared_ptr<S3CredentialsProvider>> MakeCredentialsProvider(const S3Settings& settings) {
  if (settings.provider) return settings.provider;
  if (settings.web_identity) {
    KILN_ASSIGN_OR_RETURN(auto provider, WebIdentityProvider::Create(*settings.web_identity));
    return std::shared_ptr<S3CredentialsProvider>(std::move(provider));
  }
  if (settings.credentials.access_key_id.empty() || settings.credentials.secret_access_key.empty()) {
    return FailedPrecondition("S3 credentials are incomplete");
  }
  return std::shared_ptr<S3CredentialsProvider>(std::make_shared<StaticCredentialsProvider>(settings.credentials));
}

}  // namespace kiln::storage::s3
