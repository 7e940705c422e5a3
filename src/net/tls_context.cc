#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <ctime>
#include <fstream>

namespace kiln::net {

namespace ssl = boost::asio::ssl;

namespace {

// TLS 1.2 suites with ECDHE and AEAD only (TLS 1.3 suites are all AEAD and
// stay at OpenSSL's defaults). Mozilla's "intermediate" list without DHE.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Resumed sessions with client verification need an id context, or OpenSSL
// refuses them ("session id context uninitialized").
constexpr unsigned char kSessionIdContext[] = "kiln";

std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

Status Readable(const std::string& what, const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read TLS " + what + " file '" + path + "'");
  return Status::Ok();
}

}  // namespace

StatusOr<std::shared_ptr<ssl::context>> BuildServerTlsContext(const TlsFiles& files) {
  if (files.cert_file.empty() || files.key_file.empty()) {
    return InvalidArgument("TLS needs both a certificate file and a key file");
  }
  KILN_RETURN_IF_ERROR(Readable("certificate", files.cert_file));
  KILN_RETURN_IF_ERROR(Readable("key", files.key_file));
  if (!files.client_ca_file.empty()) KILN_RETURN_IF_ERROR(Readable("client CA", files.client_ca_file));

  ERR_clear_error();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  boost::system::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                           ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                       ec);
  if (ec || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return Internal("cannot configure TLS: " + (ec ? ec.message() : OpenSslError()));
  }
  // Compression invites CRIME; renegotiation by clients is a DoS lever.
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1);

  context->use_certificate_chain_file(files.cert_file, ec);
  if (ec) return InvalidArgument("cannot load TLS certificate '" + files.cert_file + "': " + ec.message());
  context->use_private_key_file(files.key_file, ssl::context::pem, ec);
  if (ec) return InvalidArgument("cannot load TLS key '" + files.key_file + "': " + ec.message());
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return InvalidArgument("TLS key '" + files.key_file + "' does not match the certificate '" + files.cert_file +
                           "': " + OpenSslError());
  }
  if (!files.client_ca_file.empty()) {
    context->load_verify_file(files.client_ca_file, ec);
    if (ec) return InvalidArgument("cannot load TLS client CA '" + files.client_ca_file + "': " + ec.message());
    // Tell clients which CA to pick a certificate for (mlflow/requests and
    // grpc clients send theirs regardless, browsers ask the user).
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca_file.c_str());
    if (!names) {
      return InvalidArgument("TLS client CA file '" + files.client_ca_file + "' holds no certificate: " +
                             OpenSslError());
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
    if (ec) return Internal("cannot require client certificates: " + ec.message());
  }
  ERR_clear_error();
  return context;
}

std::string PeerCommonName(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return "";
  std::string out;
  X509_NAME* subject = X509_get_subject_name(cert);
  int index = subject ? X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
  if (index >= 0) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, data);
    if (n > 0) out.assign(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
    OPENSSL_free(utf8);
  }
  X509_free(cert);
  return out;
}

StatusOr<std::unique_ptr<TlsContextHolder>> TlsContextHolder::Create(const TlsFiles& files) {
  auto context = BuildServerTlsContext(files);
  if (!context.ok()) return context.status();
  return std::unique_ptr<TlsContextHolder>(new TlsContextHolder(files, std::move(*context)));
}

std::optional<int64_t> CertificateNotAfter(const SSL_CTX* context) {
  X509* cert = context ? SSL_CTX_get0_certificate(context) : nullptr;
  const ASN1_TIME* not_after = cert ? X509_get0_notAfter(cert) : nullptr;
  struct tm tm {};
  if (!not_after || ASN1_TIME_to_tm(not_after, &tm) != 1) return std::nullopt;
  return static_cast<int64_t>(timegm(&tm));  // ASN1 times are UTC
}

void TlsContextHolder::SetExpiryLocked() {
  if (!expiry_) return;
  if (auto t = CertificateNotAfter(current_->native_handle())) expiry_->Set(static_cast<double>(*t));
}

void TlsContextHolder::ExportExpiry(GaugeMetric* gauge) {
  std::lock_guard lock(mu_);
  expiry_ = gauge;
  SetExpiryLocked();
}

std::shared_ptr<ssl::context> TlsContextHolder::Current() const {
  std::lock_guard lock(mu_);
  return current_;
}

Status TlsContextHolder::Reload() {
  auto context = BuildServerTlsContext(files_);
  if (!context.ok()) return context.status();
  std::lock_guard lock(mu_);
  current_ = std::move(*context);
  SetExpiryLocked();
  return Status::Ok();
}

}  // namespace kiln::net
