// HttpServer over TLS: HTTPS, plain HTTP sent to the TLS port, client
// certificates (mTLS) and certificate reload, with certificates made by the
// `openssl` command in a temp dir and a blocking OpenSSL client.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "net/http_client.h"
#include "net/http_server.h"
#include "net/tls_context.h"

namespace kiln::net {
namespace {

namespace fs = std::filesystem;

void Run(const std::string& command) {
  std::string quiet = command + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(quiet.c_str()), 0) << command;
}

// A CA and leaf certificates signed by it, in a fresh directory.
class Pki {
 public:
  Pki() {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("kiln-tls-test-" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  ~Pki() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  void MakeCa(const std::string& name) {
    Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=" + name +
        " -keyout " + Path(name + ".key") + " -out " + Path(name + ".pem"));
  }
  // A leaf `name` signed by `ca` with the given serial, valid for 127.0.0.1.
  void MakeLeaf(const std::string& name, const std::string& ca, int serial, const std::string& cn) {
    std::ofstream(Path(name + ".ext")) << "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n";
    Run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + cn + " -keyout " +
        Path(name + ".key") + " -out " + Path(name + ".csr"));
    Run("openssl x509 -req -days 2 -in " + Path(name + ".csr") + " -CA " + Path(ca + ".pem") + " -CAkey " +
        Path(ca + ".key") + " -set_serial " + std::to_string(serial) + " -extfile " + Path(name + ".ext") +
        " -out " + Path(name + ".pem"));
  }

 private:
  fs::path dir_;
};

int Connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

struct TlsResult {
  bool handshake_ok = false;
  std::string response;  // what came back after the request, until close
  long server_serial = -1;
};

// One request over a verifying TLS client (CA `ca_file`, host 127.0.0.1),
// optionally presenting a client certificate.
TlsResult TlsExchange(uint16_t port, const std::string& ca_file, const std::string& request,
                      const std::string& client_cert = "", const std::string& client_key = "") {
  TlsResult out;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (!client_cert.empty()) {
    SSL_CTX_use_certificate_chain_file(ctx, client_cert.c_str());
    SSL_CTX_use_PrivateKey_file(ctx, client_key.c_str(), SSL_FILETYPE_PEM);
  }
  int fd = Connect(port);
  SSL* ssl = SSL_new(ctx);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
  SSL_set_fd(ssl, fd);
  if (fd >= 0 && SSL_connect(ssl) == 1) {
    out.handshake_ok = true;
    if (X509* cert = SSL_get1_peer_certificate(ssl)) {
      out.server_serial = ASN1_INTEGER_get(X509_get_serialNumber(cert));
      X509_free(cert);
    }
    // TLS 1.3 reports a refused client certificate only on the first read.
    if (SSL_write(ssl, request.data(), static_cast<int>(request.size())) > 0) {
      char buf[4096];
      int n;
      while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) out.response.append(buf, static_cast<size_t>(n));
    }
  }
  ERR_clear_error();
  SSL_free(ssl);
  if (fd >= 0) ::close(fd);
  SSL_CTX_free(ctx);
  return out;
}

std::string PlainExchange(uint16_t port, const std::string& request) {
  int fd = Connect(port);
  if (fd < 0) return "";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

constexpr const char* kGetWho = "GET /who HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_.MakeCa("ca");
    pki_.MakeLeaf("server", "ca", 1001, "localhost");
    pki_.MakeLeaf("client", "ca", 2001, "alice");
    router_.Add("GET", "/who", [](HttpRequest& r) {
      return HttpResponse::Text(200, "protocol=" + r.protocol + " cn=" + r.client_cert_subject + ";");
    });
    router_.Add("POST", "/echo", [](HttpRequest& r) { return HttpResponse::Text(200, "echo:" + r.body); });
  }
  void Start(bool mutual) {
    HttpServerOptions options;
    options.port = 0;
    options.handle_signals = false;
    options.access_log = false;
    options.read_timeout = std::chrono::milliseconds(1500);  // bounds the stalled handshake below
    options.tls_cert_file = pki_.Path("server.pem");
    options.tls_key_file = pki_.Path("server.key");
    if (mutual) options.tls_client_ca_file = pki_.Path("ca.pem");
    pool_ = std::make_unique<WorkerPool>(2, 8);
    auto server = HttpServer::Create(options, router_, *pool_, metrics_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    ASSERT_TRUE(server_->tls_enabled());
    thread_ = std::thread([this] { run_status_ = server_->Run(); });
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return server_->port(); }

  Pki pki_;
  Router router_;
  MetricsRegistry metrics_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  Status run_status_;
};

TEST_F(TlsServerTest, HttpsRequestIsServedAndMarkedHttps) {
  Start(false);
  TlsResult r = TlsExchange(port(), pki_.Path("ca.pem"), kGetWho);
  ASSERT_TRUE(r.handshake_ok);
  EXPECT_EQ(r.server_serial, 1001);
  EXPECT_EQ(r.response.rfind("HTTP/1.1 200", 0), 0u) << r.response;
  EXPECT_NE(r.response.find("protocol=https cn=;"), std::string::npos) << r.response;
  // Bodies and keep-alive work over TLS too.
  TlsResult post = TlsExchange(port(), pki_.Path("ca.pem"),
                               "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                               "GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(post.response.find("echo:hello"), std::string::npos) << post.response;
  EXPECT_NE(post.response.find("protocol=https"), std::string::npos) << post.response;
}

TEST_F(TlsServerTest, PlainHttpToTheTlsPortIsRefusedAndTheServerKeepsServing) {
  Start(false);
  std::string plain = PlainExchange(port(), kGetWho);
  EXPECT_EQ(plain.rfind("HTTP/1.1 400", 0), 0u) << plain;
  EXPECT_NE(plain.find("HTTPS"), std::string::npos) << plain;
  // Garbage that is neither HTTP nor TLS, and a connection closed mid-handshake.
  PlainExchange(port(), std::string("\x16\x03\x01\x00\x05hello", 10));
  PlainExchange(port(), "");
  TlsResult r = TlsExchange(port(), pki_.Path("ca.pem"), kGetWho);
  EXPECT_NE(r.response.find("protocol=https"), std::string::npos) << r.response;
}

TEST_F(TlsServerTest, ClientThatDoesNotTrustTheServerCannotConnect) {
  Start(false);
  pki_.MakeCa("other");
  TlsResult r = TlsExchange(port(), pki_.Path("other.pem"), kGetWho);
  EXPECT_FALSE(r.handshake_ok);
  EXPECT_NE(TlsExchange(port(), pki_.Path("ca.pem"), kGetWho).response.find("200"), std::string::npos);
}

TEST_F(TlsServerTest, MutualTlsRefusesClientsWithoutACertificateAndNamesTheirCn) {
  Start(true);
  TlsResult anonymous = TlsExchange(port(), pki_.Path("ca.pem"), kGetWho);
  EXPECT_EQ(anonymous.response, "");
  pki_.MakeCa("rogue");
  pki_.MakeLeaf("mallory", "rogue", 3001, "mallory");
  TlsResult rogue = TlsExchange(port(), pki_.Path("ca.pem"), kGetWho, pki_.Path("mallory.pem"),
                                pki_.Path("mallory.key"));
  EXPECT_EQ(rogue.response, "");
  TlsResult alice = TlsExchange(port(), pki_.Path("ca.pem"), kGetWho, pki_.Path("client.pem"), pki_.Path("client.key"));
  ASSERT_TRUE(alice.handshake_ok);
  EXPECT_NE(alice.response.find("protocol=https cn=alice;"), std::string::npos) << alice.response;
}

TEST_F(TlsServerTest, ReloadSwitchesTheCertificateForNewConnectionsAndABadFileKeepsTheOld) {
  Start(false);
  EXPECT_EQ(TlsExchange(port(), pki_.Path("ca.pem"), kGetWho).server_serial, 1001);
  pki_.MakeLeaf("server", "ca", 1002, "localhost");  // overwrites server.pem/.key
  ASSERT_TRUE(server_->ReloadTls().ok());
  TlsResult after = TlsExchange(port(), pki_.Path("ca.pem"), kGetWho);
  EXPECT_EQ(after.server_serial, 1002);
  EXPECT_NE(after.response.find("200"), std::string::npos);

  std::ofstream(pki_.Path("server.pem")) << "not a certificate\n";
  Status bad = server_->ReloadTls();
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("server.pem"), std::string::npos) << bad.message();
  EXPECT_EQ(TlsExchange(port(), pki_.Path("ca.pem"), kGetWho).server_serial, 1002);
}

// notAfter of the first certificate in a PEM file, in Unix seconds, worked
// out apart from the server's own code (ASN1_TIME_diff against the epoch).
int64_t NotAfterOf(const std::string& pem) {
  FILE* f = std::fopen(pem.c_str(), "r");
  if (!f) return -1;
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!cert) return -1;
  ASN1_TIME* epoch = ASN1_TIME_set(nullptr, 0);
  int days = 0, secs = 0;
  const bool ok = ASN1_TIME_diff(&days, &secs, epoch, X509_get0_notAfter(cert)) == 1;
  ASN1_TIME_free(epoch);
  X509_free(cert);
  return ok ? int64_t{days} * 86400 + secs : -1;
}

double ExpiryGauge(MetricsRegistry& metrics) {
  const std::string text = metrics.Render();
  const std::string name = "kiln_tls_certificate_expiry_timestamp_seconds ";
  const size_t at = text.find("\n" + name);
  return at == std::string::npos ? -1 : std::stod(text.substr(at + 1 + name.size()));
}

TEST_F(TlsServerTest, CertificateExpiryIsExportedAndFollowsAReload) {
  Start(false);
  const int64_t first = NotAfterOf(pki_.Path("server.pem"));
  ASSERT_GT(first, 0);
  EXPECT_EQ(ExpiryGauge(metrics_), static_cast<double>(first));
  // The same key and request, signed for 40 days instead of 2.
  kiln::net::Run("openssl x509 -req -days 40 -in " + pki_.Path("server.csr") + " -CA " + pki_.Path("ca.pem") + " -CAkey " +
      pki_.Path("ca.key") + " -set_serial 1003 -extfile " + pki_.Path("server.ext") + " -out " +
      pki_.Path("server.pem"));
  ASSERT_TRUE(server_->ReloadTls().ok());
  const int64_t second = NotAfterOf(pki_.Path("server.pem"));
  EXPECT_GT(second, first + 30 * 86400);
  EXPECT_EQ(ExpiryGauge(metrics_), static_cast<double>(second));
  // A failed reload keeps the certificate served, and its expiry.
  std::ofstream(pki_.Path("server.pem")) << "not a certificate\n";
  EXPECT_FALSE(server_->ReloadTls().ok());
  EXPECT_EQ(ExpiryGauge(metrics_), static_cast<double>(second));
}

TEST(TlsExpiry, NoTlsNoGauge) {
  MetricsRegistry metrics;
  Router router;
  WorkerPool pool(1, 4);
  HttpServerOptions options;
  options.port = 0;
  options.handle_signals = false;
  auto server = HttpServer::Create(options, router, pool, metrics);
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(metrics.Render().find("kiln_tls_certificate_expiry"), std::string::npos);
}

// Whether a client limited to `max_version` (and, if given, TLS 1.2 suites
// `ciphers`) completes a handshake; security level 0 so the client itself
// would allow what it offers.
bool HandshakeWith(uint16_t port, int max_version, const char* ciphers) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_security_level(ctx, 0);
  SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
  SSL_CTX_set_max_proto_version(ctx, max_version);
  if (ciphers) SSL_CTX_set_cipher_list(ctx, ciphers);
  int fd = Connect(port);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  bool ok = fd >= 0 && SSL_connect(ssl) == 1;
  ERR_clear_error();
  SSL_free(ssl);
  if (fd >= 0) ::close(fd);
  SSL_CTX_free(ctx);
  return ok;
}

TEST_F(TlsServerTest, OldProtocolsAndNonAeadSuitesAreRefused) {
  Start(false);
  EXPECT_FALSE(HandshakeWith(port(), TLS1_VERSION, nullptr));
  EXPECT_FALSE(HandshakeWith(port(), TLS1_1_VERSION, nullptr));
  EXPECT_FALSE(HandshakeWith(port(), TLS1_2_VERSION, "AES128-SHA:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA256"));
  EXPECT_TRUE(HandshakeWith(port(), TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"));
  EXPECT_TRUE(HandshakeWith(port(), TLS1_3_VERSION, nullptr));
}

TEST_F(TlsServerTest, HttpClientTrustsAGivenCaAndPresentsAClientCertificate) {
  Start(true);
  const std::string url = "https://127.0.0.1:" + std::to_string(port());
  HttpClientOptions trusting;
  trusting.ca_file = pki_.Path("ca.pem");
  trusting.client_cert_file = pki_.Path("client.pem");
  trusting.client_key_file = pki_.Path("client.key");
  auto client = HttpClient::Create(url, trusting);
  ASSERT_TRUE(client.ok());
  auto got = (*client)->Get("/who");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->body, "protocol=https cn=alice;");

  HttpClientOptions no_cert;
  no_cert.ca_file = pki_.Path("ca.pem");
  auto anonymous = HttpClient::Create(url, no_cert);
  ASSERT_TRUE(anonymous.ok());
  EXPECT_FALSE((*anonymous)->Get("/who").ok());
  auto untrusting = HttpClient::Create(url);  // the system's CAs do not know the test CA
  ASSERT_TRUE(untrusting.ok());
  EXPECT_FALSE((*untrusting)->Get("/who").ok());
}

TEST(TlsContextTest, MismatchedKeyAndMissingFilesAreRefusedWithTheFileName) {
  Pki pki;
  pki.MakeCa("ca");
  pki.MakeLeaf("a", "ca", 1, "a");
  pki.MakeLeaf("b", "ca", 2, "b");
  auto mismatch = BuildServerTlsContext({pki.Path("a.pem"), pki.Path("b.key"), ""});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("b.key"), std::string::npos) << mismatch.status().message();
  EXPECT_NE(mismatch.status().message().find("mismatch"), std::string::npos) << mismatch.status().message();
  auto missing = BuildServerTlsContext({pki.Path("a.pem"), pki.Path("a.key"), pki.Path("nope.pem")});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope.pem"), std::string::npos);
  EXPECT_FALSE(BuildServerTlsContext({pki.Path("a.pem"), "", ""}).ok());
  EXPECT_TRUE(BuildServerTlsContext({pki.Path("a.pem"), pki.Path("a.key"), pki.Path("ca.pem")}).ok());
}

}  // namespace
}  // namespace kiln::net
