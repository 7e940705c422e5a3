#include "net/http_client.h"

#include <curl/curl.h>

#include <mutex>

namespace kiln::net {

namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

}  // namespace

StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(std::string base_url, HttpClientOptions options) {
  if (base_url.rfind("http://", 0) != 0 && base_url.rfind("https://", 0) != 0) {
    return InvalidArgument("'" + base_url + "' is not an http:// or https:// URL");
  }
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  GlobalInit();
  CURL* curl = curl_easy_init();
  if (!curl) return Internal("curl_easy_init failed");
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(base_url), options, curl));
}

HttpClient::HttpClient(std::string base_url, HttpClientOptions options, void* curl)
    : base_url_(std::move(base_url)), options_(options), curl_(curl) {}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

StatusOr<HttpClientResponse> HttpClient::Request(const std::string& method, const std::string& path,
                                                 const std::string& body,
                                                 const std::map<std::string, std::string>& headers) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);  // keeps the connection cache: the next request reuses the socket
  const std::string url = base_url_ + path;
  HttpClientResponse out;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.client_cert_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, options_.client_cert_file.c_str());
    curl_easy_setopt(curl, CURLOPT_SSLKEY,
                     (options_.client_key_file.empty() ? options_.client_cert_file : options_.client_key_file).c_str());
  }
  if (method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
  }
  curl_slist* list = nullptr;
  for (const auto& [k, v] : headers) list = curl_slist_append(list, (k + ": " + v).c_str());
  // curl would otherwise send "Expect: 100-continue" for bodies > 1 KiB and wait for it.
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(list);
  if (rc != CURLE_OK) {
    return Unavailable(method + " " + url + ": " + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  char* ct = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct) out.content_type = ct;
  curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME, &out.seconds);
  return out;
}

}  // namespace kiln::net
