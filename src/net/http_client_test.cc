// HttpClient against kiln's own HttpServer over real sockets on port 0: the
// request line, body and headers arrive, statuses and bodies come back, one
// connection serves consecutive requests, and no listener is Unavailable.
#include "net/http_client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <thread>

#include "net/http_server.h"

namespace kiln::net {
namespace {

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/ping", [](HttpRequest&) { return HttpResponse::Text(200, "pong"); }, Execution::kInline);
    router_.Add("POST", "/echo", [](HttpRequest& r) {
      return HttpResponse::Json(201, std::string(r.Header("content-type")) + "|" + r.body);
    });
    router_.Add("DELETE", "/thing", [](HttpRequest& r) {
      return HttpResponse::Text(200, "deleted " + std::string(r.Header("x-who")) + " " + r.body);
    });
    HttpServerOptions o;
    o.port = 0;
    o.handle_signals = false;
    o.access_log = false;
    pool_ = std::make_unique<WorkerPool>(2, 8);
    auto server = HttpServer::Create(o, router_, *pool_, metrics_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    thread_ = std::thread([this] { (void)server_->Run(); });
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    if (thread_.joinable()) thread_.join();
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/"; }

  Router router_;
  MetricsRegistry metrics_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(HttpClientTest, RequestsAndAnswers) {
  auto client = HttpClient::Create(Url());
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_EQ((*client)->base_url(), Url().substr(0, Url().size() - 1));
  for (int i = 0; i < 3; ++i) {  // the same connection, kept alive
    auto r = (*client)->Get("/ping");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "pong");
  }
  std::string big(5000, 'x');  // larger than curl's Expect: 100-continue threshold
  auto r = (*client)->PostJson("/echo", big);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "application/json|" + big);
  EXPECT_NE(r->content_type.find("application/json"), std::string::npos);
  r = (*client)->Request("DELETE", "/thing", "{}", {{"X-Who", "me"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "deleted me {}");
  r = (*client)->Get("/nope");
  ASSERT_TRUE(r.ok());  // any HTTP status is an answer
  EXPECT_EQ(r->status, 404);
}

TEST(HttpClient, NoListenerIsUnavailableAndBadUrlsAreRefused) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  ::close(fd);  // bound, never listened: nothing answers there
  auto client = HttpClient::Create("http://127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(client.ok());
  auto r = (*client)->Get("/health");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("GET http://127.0.0.1:"), std::string::npos) << r.status().message();
  EXPECT_EQ(HttpClient::Create("ftp://x").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::net
