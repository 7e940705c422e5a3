#include "storage/s3/s3_client.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <random>
#include <thread>

#include "core/base64.h"
#include "core/log.h"
#include "storage/s3/s3_web_identity.h"
#include "storage/s3/s3_xml.h"

namespace kiln::storage::s3 {
namespace {

constexpr size_t kMaxAnswerBody = 1 << 20;
constexpr std::string_view kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

size_t CollectBody(char* data, size_t size, size_t count, void* userp) {
  auto* out = static_cast<std::string*>(userp);
  const size_t n = size * count;
  if (out->size() < kMaxAnswerBody) out->append(data, std::min(n, kMaxAnswerBody - out->size()));
  return n;
}

size_t CollectHeader(char* data, size_t size, size_t count, void* userp) {
  auto* out = static_cast<std::map<std::string, std::string>*>(userp);
  const size_t n = size * count;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    out->clear();  // a new response (after 100 Continue or a retry inside curl)
    return n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
  (*out)[name] = std::string(value);
  return n;
}

struct BodySource {
  std::string_view data;
  size_t pos = 0;
};

size_t ReadBody(char* buffer, size_t size, size_t count, void* userp) {
  auto* src = static_cast<BodySource*>(userp);
  const size_t n = std::min(size * count, src->data.size() - src->pos);
  std::memcpy(buffer, src->data.data() + src->pos, n);
  src->pos += n;
  return n;
}

int SeekBody(void* userp, curl_off_t offset, int origin) {
  auto* src = static_cast<BodySource*>(userp);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > src->data.size()) return CURL_SEEKFUNC_FAIL;
  src->pos = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

std::string Reason(long status) {
  switch (status) {
    case 400: return "400 Bad Request";
    case 403: return "403 Forbidden";
    case 404: return "404 Not Found";
    case 409: return "409 Conflict";
    case 412: return "412 Precondition Failed";
    case 416: return "416 Range Not Satisfiable";
    case 429: return "429 Too Many Requests";
    case 500: return "500 Internal Server Error";
    case 501: return "501 Not Implemented";
    case 503: return "503 Service Unavailable";
    default: return std::to_string(status);
  }
}

// Keys that cannot be had (STS refused the role or token, the token file is
// missing) are the server's misconfiguration, not the caller's lack of
// permission: PermissionDenied would reach an MLflow client as such (or, on
// artifact routes, as "Invalid path"). An unreachable STS stays Unavailable.
Status CredentialsError(const Status& s) {
  if (s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kInternal) return s;
  return Internal("the artifact store has no S3 credentials: " + s.message());
}

}  // namespace

std::string Sha256Hex(std::string_view data) { return Hex(Digest(EVP_sha256(), data)); }
std::string Md5Base64(std::string_view data) { return Base64Encode(Digest(EVP_md5(), data)); }

bool RetryableAnswer(long status, std::string_view s3_code) {
  if (status == 0 || status == 429 || status >= 500) return status != 501;
  return status == 400 && s3_code == "RequestTimeout";
}

std::chrono::milliseconds BackoffDelay(int attempt, std::chrono::milliseconds base, std::chrono::milliseconds cap) {
  int64_t ceiling = base.count();
  for (int i = 1; i < attempt && ceiling < cap.count(); ++i) ceiling *= 2;
  ceiling = std::min<int64_t>(ceiling, cap.count());
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(0, ceiling)(rng));
}

StatusOr<std::unique_ptr<S3Client>> S3Client::Create(const S3Settings& settings, const std::string& bucket,
                                                     const std::string& addressing, S3ClientOptions options) {
  KILN_ASSIGN_OR_RETURN(S3Addressing addr, S3Addressing::Create(settings.endpoint, settings.region, bucket, addressing));
  GlobalInit();
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<S3CredentialsProvider> credentials, MakeCredentialsProvider(settings));
  return std::unique_ptr<S3Client>(new S3Client(settings, std::move(addr), options, std::move(credentials)));
}

S3Client::S3Client(S3Settings settings, S3Addressing addressing, S3ClientOptions options,
                   std::shared_ptr<S3CredentialsProvider> credentials)
    : settings_(std::move(settings)),
      addressing_(std::move(addressing)),
      options_(options),
      sigv4_("aws:amz:" + settings_.region + ":s3"),
      credentials_(std::move(credentials)) {}

S3Client::~S3Client() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* S3Client::AcquireHandle() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void S3Client::ReleaseHandle(void* handle) {
  if (handle == nullptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < 64) {
    idle_.push_back(handle);
    return;
  }
  curl_easy_cleanup(static_cast<CURL*>(handle));
}

void S3Client::Prepare(void* handle, const std::string& method, const std::string& url,
                       const S3Credentials& creds) const {
  CURL* curl = static_cast<CURL*>(handle);
  curl_easy_reset(curl);  // keeps the connection cache
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.low_speed_seconds));
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4_.c_str());
  curl_easy_setopt(curl, CURLOPT_USERNAME, creds.access_key_id.c_str());  // curl copies both
  curl_easy_setopt(curl, CURLOPT_PASSWORD, creds.secret_access_key.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  // Servers answer 100 Continue quickly; a short wait keeps a server that
  // ignores Expect from costing a second per part.
  curl_easy_setopt(curl, CURLOPT_EXPECT_100_TIMEOUT_MS, 200L);
  if (method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method != "PUT" && method != "POST") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
}

void* S3Client::HeaderList(const std::vector<std::pair<std::string, std::string>>& extra,
                           std::string_view body_sha, const S3Credentials& creds) const {
  // Never a header removal ("Name:") here: curl signs the list as written,
  // so a removed header would be signed and the signature would not match.
  curl_slist* list = nullptr;
  list = curl_slist_append(list, ("x-amz-content-sha256: " + std::string(body_sha)).c_str());
  if (!creds.session_token.empty()) {
    list = curl_slist_append(list, ("x-amz-security-token: " + creds.session_token).c_str());
  }
  for (const auto& [k, v] : extra) list = curl_slist_append(list, (k + ": " + v).c_str());
  return list;
}

StatusOr<S3Response> S3Client::Call(const S3Request& req) {
  const std::string url = addressing_.Url(req.key, CanonicalQuery(req.query));
  const bool has_body = req.method == "PUT" || req.method == "POST";
  const std::string body_sha = has_body ? Sha256Hex(req.body) : std::string(kEmptySha256);
  std::string last_error;
  bool renewed = false;
  for (int attempt = 1;; ++attempt) {
    StatusOr<S3Credentials> current = credentials_->Current();
    if (!current.ok()) return CredentialsError(current.status());
    const S3Credentials& creds = *current;
    CURL* curl = static_cast<CURL*>(AcquireHandle());
    if (curl == nullptr) return Internal("curl_easy_init failed");
    Prepare(curl, req.method, url, creds);
    S3Response res;
    BodySource src{req.body, 0};
    if (req.method == "PUT") {
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, &ReadBody);
      curl_easy_setopt(curl, CURLOPT_READDATA, &src);
      curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, &SeekBody);
      curl_easy_setopt(curl, CURLOPT_SEEKDATA, &src);
    } else if (req.method == "POST") {
      curl_easy_setopt(curl, CURLOPT_POST, 1L);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
    auto headers = req.headers;
    if (has_body && std::none_of(headers.begin(), headers.end(), [](const auto& h) {
          return h.first == "Content-Type";
        })) {
      // curl would otherwise label a POST as a form.
      headers.emplace_back("Content-Type", req.method == "POST" ? "application/xml" : "application/octet-stream");
    }
    curl_slist* list = static_cast<curl_slist*>(HeaderList(headers, body_sha, creds));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &CollectBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &res.body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &CollectHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &res.headers);
    const CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(list);
    if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res.status);
    ReleaseHandle(curl);
    std::string code;
    if (rc != CURLE_OK) {
      last_error = curl_easy_strerror(rc);
    } else {
      code = res.status >= 300 ? ParseError(res.body).code : "";
      if (code == "ExpiredToken" && !renewed) {
        // Temporary keys S3 thinks expired (clock skew): once with new ones.
        renewed = true;
        credentials_->Invalidate();
        --attempt;
        continue;
      }
      if (!RetryableAnswer(res.status, code)) return res;
      last_error = "HTTP " + Reason(res.status) + (code.empty() ? "" : " " + code);
      if (attempt >= options_.max_attempts) return res;
    }
    if (attempt >= options_.max_attempts) {
      return Unavailable("S3 " + req.method + " " + addressing_.description() + ": no answer after " +
                         std::to_string(attempt) + " attempts: " + last_error);
    }
    std::this_thread::sleep_for(BackoffDelay(attempt, options_.backoff_base, options_.backoff_cap));
  }
}

Status S3Client::AnswerStatus(const S3Response& r, const std::string& what) {
  S3Error e = ParseError(r.body);
  std::string detail = "S3 answered " + what + " with " + Reason(r.status);
  if (!e.code.empty()) detail += ": " + e.code;
  if (!e.message.empty()) detail += ": " + e.message;
  // Credential refusals are PermissionDenied whatever the status: versitygw
  // answers an unknown key with 404 XAdminUserNotFound where AWS says 403
  // InvalidAccessKeyId.
  const bool refused = e.code == "InvalidAccessKeyId" || e.code == "SignatureDoesNotMatch" ||
                       e.code == "XAdminUserNotFound" || e.code == "InvalidToken" || e.code == "ExpiredToken" ||
                       e.code == "AccessDenied";
  if (r.status == 403 || refused) {
    if (e.code.empty()) detail += " (check the S3 credentials and the bucket's policy)";
    return PermissionDenied(std::move(detail));
  }
  if (r.status == 404) return NotFound(std::move(detail));
  if (r.status == 429 || r.status >= 500) return Unavailable(std::move(detail));
  if (r.status == 409) return Status(StatusCode::kAborted, std::move(detail));
  if (r.status == 412) return FailedPrecondition(std::move(detail));
  if (r.status == 413 || e.code == "EntityTooLarge") return ResourceExhausted(std::move(detail));
  return InvalidArgument(std::move(detail));
}

// --- streamed downloads -----------------------------------------------------

class CurlDownload final : public S3Client::Download {
 public:
  CurlDownload(S3Client& client, std::string key, int64_t offset, int64_t size, std::string etag, std::string what)
      : client_(client), key_(std::move(key)), offset_(offset), size_(size), etag_(std::move(etag)),
        what_(std::move(what)) {}

  ~CurlDownload() override { Close(); }

  StatusOr<size_t> Read(char* buffer, size_t capacity) override {
    if (capacity == 0 || offset_ >= size_) return size_t{0};
    buf_ = buffer;
    cap_ = capacity;
    filled_ = 0;
    if (!spill_.empty()) {
      size_t n = std::min(spill_.size() - spill_pos_, cap_);
      std::memcpy(buf_, spill_.data() + spill_pos_, n);
      spill_pos_ += n;
      filled_ = n;
      if (spill_pos_ == spill_.size()) {
        spill_.clear();
        spill_pos_ = 0;
      }
    }
    int failures = 0;
    while (filled_ < cap_ && offset_ + static_cast<int64_t>(filled_) < size_) {
      if (easy_ == nullptr) {
        Status s = Start();
        if (!s.ok()) return s;
      }
      if (paused_) {
        paused_ = false;
        curl_easy_pause(easy_, CURLPAUSE_CONT);  // may deliver into the buffer right away
        if (paused_) break;  // the buffer is full again
      }
      int running = 0;
      curl_multi_perform(multi_, &running);
      if (paused_) break;
      if (running > 0) {
        curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
        continue;
      }
      // The transfer ended: find out how.
      CURLcode result = CURLE_OK;
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
        if (msg->msg == CURLMSG_DONE) result = msg->data.result;
      }
      long status = 0;
      curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
      const bool answered = result == CURLE_OK || result == CURLE_WRITE_ERROR;
      if (answered && status != 200 && status != 206) {
        S3Response r;
        r.status = status;
        r.body = std::move(error_body_);
        Close();
        if (!RetryableAnswer(status, ParseError(r.body).code) || ++failures >= client_.options().max_attempts) {
          if (status == 412) return Status(StatusCode::kAborted, "'" + what_ + "' changed in S3 while it was being read");
          return S3Client::AnswerStatus(r, "GET of '" + what_ + "'");
        }
      } else if (result == CURLE_OK && offset_ + static_cast<int64_t>(filled_) >= size_) {
        Close();
        break;
      } else {
        // Broken or short transfer: resume where the bytes stopped.
        std::string reason = result == CURLE_OK ? "the answer ended early" : curl_easy_strerror(result);
        Close();
        const std::string at = std::to_string(offset_ + static_cast<int64_t>(filled_));
        if (++failures >= client_.options().max_attempts) {
          return Unavailable("S3 GET of '" + what_ + "' broke off at byte " + at + ": " + reason);
        }
        log::Warn("S3 GET of '" + what_ + "' broke off at byte " + at + " (" + reason + "); resuming");
      }
      offset_ += static_cast<int64_t>(filled_);
      buf_ += filled_;
      cap_ -= filled_;
      filled_ = 0;
      std::this_thread::sleep_for(
          BackoffDelay(failures, client_.options().backoff_base, client_.options().backoff_cap));
    }
    offset_ += static_cast<int64_t>(filled_);
    const size_t delivered = static_cast<size_t>(buf_ - buffer) + filled_;
    return delivered;
  }

 private:
  static size_t OnData(char* data, size_t size, size_t count, void* userp) {
    auto* self = static_cast<CurlDownload*>(userp);
    const size_t n = size * count;
    if (!self->status_checked_) {
      long status = 0;
      curl_easy_getinfo(self->easy_, CURLINFO_RESPONSE_CODE, &status);
      self->ok_status_ = status == 206 || (status == 200 && self->started_at_ == 0);
      self->status_checked_ = true;
    }
    if (!self->ok_status_) {
      if (self->error_body_.size() < 64 * 1024) self->error_body_.append(data, std::min<size_t>(n, 64 * 1024));
      return n;
    }
    const size_t room = self->cap_ - self->filled_;
    if (n <= room) {
      std::memcpy(self->buf_ + self->filled_, data, n);
      self->filled_ += n;
      return n;
    }
    if (self->filled_ > 0) {
      self->paused_ = true;
      return CURL_WRITEFUNC_PAUSE;  // curl keeps these bytes and offers them again
    }
    // A buffer smaller than one network chunk: keep the rest for the next Read.
    std::memcpy(self->buf_, data, room);
    self->filled_ = room;
    self->spill_.assign(data + room, n - room);
    self->spill_pos_ = 0;
    self->paused_ = true;  // nothing more fits now
    return n;
  }

  Status Start() {
    easy_ = curl_easy_init();
    multi_ = curl_multi_init();
    if (easy_ == nullptr || multi_ == nullptr) return Internal("curl init failed");
    started_at_ = offset_;
    status_checked_ = false;
    ok_status_ = false;
    error_body_.clear();
    StatusOr<S3Credentials> current = client_.credentials_->Current();
    if (!current.ok()) return CredentialsError(current.status());
    const S3Credentials& creds = *current;
    client_.Prepare(easy_, "GET", client_.addressing().Url(key_), creds);
    std::vector<std::pair<std::string, std::string>> extra = {
        {"Range", "bytes=" + std::to_string(offset_) + "-" + std::to_string(size_ - 1)}};
    if (!etag_.empty()) extra.emplace_back("If-Match", etag_);
    headers_ = client_.HeaderList(extra, kEmptySha256, creds);
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(headers_));
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &CurlDownload::OnData);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
    curl_multi_add_handle(multi_, easy_);
    return Status::Ok();
  }

  void Close() {
    if (multi_ != nullptr && easy_ != nullptr) curl_multi_remove_handle(multi_, easy_);
    if (easy_ != nullptr) curl_easy_cleanup(easy_);
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
    if (headers_ != nullptr) curl_slist_free_all(static_cast<curl_slist*>(headers_));
    easy_ = nullptr;
    multi_ = nullptr;
    headers_ = nullptr;
    paused_ = false;
  }

  S3Client& client_;
  const std::string key_;
  int64_t offset_;  // next byte the caller has not received
  const int64_t size_;
  const std::string etag_;
  const std::string what_;
  CURL* easy_ = nullptr;
  CURLM* multi_ = nullptr;
  void* headers_ = nullptr;
  int64_t started_at_ = 0;
  bool status_checked_ = false;
  bool ok_status_ = false;
  bool paused_ = false;
  std::string error_body_;
  char* buf_ = nullptr;
  size_t cap_ = 0;
  size_t filled_ = 0;
  std::string spill_;
  size_t spill_pos_ = 0;
};

std::unique_ptr<S3Client::Download> S3Client::OpenDownload(const std::string& key, int64_t offset, int64_t size,
                                                           const std::string& etag, const std::string& what) {
  return std::make_unique<CurlDownload>(*this, key, offset, size, etag, what);
}

}  // namespace kiln::storage::s3
