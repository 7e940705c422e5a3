// Server-side TLS settings shared by the HTTP and gRPC listeners: which PEM
// files to load, how to build an OpenSSL context from them (TLS 1.2+, AEAD
// ciphers with forward secrecy, client certificates required when a client
// CA is given), and a holder that swaps in a rebuilt context on reload.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "core/metrics.h"
#include "core/status.h"

namespace kiln::net {

struct TlsFiles {
  std::string cert_file;       // PEM certificate chain, leaf first
  std::string key_file;        // PEM private key of the leaf
  std::string client_ca_file;  // when set: clients must present a certificate this CA signed (mTLS)

  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

// Checks the files (both of cert and key given, readable, parseable, the key
// matches the certificate, the CA file loads) and builds a context. Every
// failure names the file.
StatusOr<std::shared_ptr<boost::asio::ssl::context>> BuildServerTlsContext(const TlsFiles& files);

// The subject common name of the certificate the peer presented on `ssl`, or
// empty when it presented none.
std::string PeerCommonName(SSL* ssl);

// The notAfter of the leaf certificate `context` serves, in Unix seconds;
// nullopt when it has none or the time does not parse.
std::optional<int64_t> CertificateNotAfter(const SSL_CTX* context);

// Holds the context new connections use. Reload() builds a fresh one from the
// same files and swaps it in only when that succeeds, so a bad file keeps the
// old certificate; connections hold their own reference, so in-flight ones
// keep the context they started with.
//
// Thread-safety: Current() and Reload() may be called from any thread.
class TlsContextHolder {
 public:
  static StatusOr<std::unique_ptr<TlsContextHolder>> Create(const TlsFiles& files);

  std::shared_ptr<boost::asio::ssl::context> Current() const;
  Status Reload();
  const TlsFiles& files() const { return files_; }
  // Sets `gauge` (kiln_tls_certificate_expiry_timestamp_seconds) to the
  // current certificate's notAfter now and after every successful Reload.
  // The gauge belongs to a registry that outlives this holder.
  void ExportExpiry(GaugeMetric* gauge);

 private:
  TlsContextHolder(TlsFiles files, std::shared_ptr<boost::asio::ssl::context> context)
      : files_(std::move(files)), current_(std::move(context)) {}

  const TlsFiles files_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;  // GUARDED_BY(mu_)
  GaugeMetric* expiry_ = nullptr;                        // GUARDED_BY(mu_)
  void SetExpiryLocked();
};

}  // namespace kiln::net
