// HttpServer's shutdown delay (rolling restarts behind a load balancer),
// exercised over real sockets on port 0. The delays are long (30 s) and cut
// short by a second Shutdown(), so nothing depends on how fast the machine is.
#include "net/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace kiln::net {
namespace {

constexpr std::chrono::milliseconds kLongDelay{30000};

// One client connection; reads whole responses by their Content-Length.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{10, 0};  // a guard against a hung test, not a timing assertion
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }

  bool Send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Header block and body of the next response; empty if the peer closed first.
  std::string ReadResponse() {
    for (;;) {
      size_t end = pending_.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t length = 0;
        size_t cl = pending_.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) length = std::stoul(pending_.substr(cl + 16));
        if (pending_.size() >= end + 4 + length) {
          std::string response = pending_.substr(0, end + 4 + length);
          pending_.erase(0, end + 4 + length);
          return response;
        }
      }
      if (!Fill()) return "";
    }
  }

  // True if the peer closed the connection (an orderly FIN) with nothing more to read.
  bool ClosedByPeer() {
    char c;
    return pending_.empty() && ::recv(fd_, &c, 1, 0) == 0;
  }

 private:
  bool Fill() {
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    pending_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string pending_;
};

int StatusOf(const std::string& response) { return response.size() < 12 ? 0 : std::stoi(response.substr(9, 3)); }
bool ClosesConnection(const std::string& response) {
  return response.find("Connection: close\r\n") != std::string::npos;
}

class HttpServerDrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/x", [](HttpRequest&) { return HttpResponse::Text(200, "ok"); }, Execution::kInline);
    router_.Add("GET", "/pooled", [](HttpRequest&) { return HttpResponse::Text(200, "pooled"); });
  }
  void Start(std::chrono::milliseconds delay) {
    HttpServerOptions options;
    options.port = 0;
    options.handle_signals = false;
    options.access_log = false;
    options.shutdown_delay = delay;
    options.drain_state = &drain_;
    pool_ = std::make_unique<WorkerPool>(2, 8);
    auto server = HttpServer::Create(options, router_, *pool_, metrics_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    port_ = server_->port();
    thread_ = std::thread([this] {
      run_status_ = server_->Run();
      returned_ = true;
    });
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    if (thread_.joinable()) thread_.join();
  }
  // Shutdown() is posted to the server's I/O thread; wait until it has begun.
  void BeginShutdown() {
    server_->Shutdown();
    while (!server_->draining()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::string Get(Client& c, const std::string& path) {
    if (!c.Send("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n")) return "";
    return c.ReadResponse();
  }

  Router router_;
  MetricsRegistry metrics_;
  DrainState drain_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> returned_{false};
  Status run_status_;
};

TEST_F(HttpServerDrainTest, DuringTheDelayNewConnectionsAreServedWithConnectionClose) {
  Start(kLongDelay);
  EXPECT_FALSE(drain_.draining());
  BeginShutdown();
  EXPECT_TRUE(drain_.draining());
  EXPECT_FALSE(server_->listener_closed());
  // A load balancer that has not yet seen /health turn 503 still connects
  // here: those requests succeed, inline and on the pool, and tell the
  // client not to reuse the connection.
  for (const char* path : {"/x", "/pooled"}) {
    Client c(port_);
    ASSERT_TRUE(c.connected());
    std::string res = Get(c, path);
    EXPECT_EQ(StatusOf(res), 200) << res;
    EXPECT_TRUE(ClosesConnection(res)) << res;
    EXPECT_TRUE(c.ClosedByPeer());
  }
  EXPECT_FALSE(returned_);
}

TEST_F(HttpServerDrainTest, AKeepAliveConnectionFromBeforeTheShutdownIsServedOnceMoreThenClosed) {
  Start(kLongDelay);
  Client c(port_);
  ASSERT_TRUE(c.connected());
  std::string first = Get(c, "/x");
  EXPECT_EQ(StatusOf(first), 200);
  EXPECT_FALSE(ClosesConnection(first)) << first;
  BeginShutdown();
  // Idle when the shutdown began: not cut off, its next request is answered.
  std::string second = Get(c, "/pooled");
  EXPECT_EQ(StatusOf(second), 200) << second;
  EXPECT_TRUE(ClosesConnection(second)) << second;
  EXPECT_TRUE(c.ClosedByPeer());
}

TEST_F(HttpServerDrainTest, ASecondShutdownSkipsTheDelayAndClosesTheListener) {
  Start(kLongDelay);
  Client idle(port_);
  ASSERT_TRUE(idle.connected());
  EXPECT_EQ(StatusOf(Get(idle, "/x")), 200);
  BeginShutdown();
  server_->Shutdown();  // the second SIGTERM
  thread_.join();       // Run() returns long before the 30 s delay
  EXPECT_TRUE(run_status_.ok());
  EXPECT_TRUE(server_->listener_closed());
  EXPECT_FALSE(Client(port_).connected());
  // The idle keep-alive connection was closed with the listener.
  EXPECT_TRUE(idle.ClosedByPeer());
}

TEST_F(HttpServerDrainTest, TheDelayEndsByItself) {
  Start(std::chrono::milliseconds(50));
  BeginShutdown();
  thread_.join();
  EXPECT_TRUE(run_status_.ok());
  EXPECT_TRUE(server_->listener_closed());
  EXPECT_FALSE(Client(port_).connected());
}

TEST_F(HttpServerDrainTest, WithoutADelayTheListenerClosesAtOnce) {
  Start(std::chrono::milliseconds(0));
  BeginShutdown();
  thread_.join();
  EXPECT_TRUE(drain_.draining());
  EXPECT_TRUE(server_->listener_closed());
  EXPECT_FALSE(Client(port_).connected());
}

TEST_F(HttpServerDrainTest, AnInFlightRequestFinishesAfterTheListenerCloses) {
  std::atomic<bool> entered{false}, release{false};
  router_.Add("GET", "/slow", [&](HttpRequest&) {
    entered = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return HttpResponse::Text(200, "finished");
  });
  Start(kLongDelay);
  Client c(port_);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
  while (!entered) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  BeginShutdown();
  server_->Shutdown();
  while (!server_->listener_closed()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_FALSE(returned_);  // waits for the request (shutdown_grace is 30 s)
  release = true;
  std::string res = c.ReadResponse();
  EXPECT_EQ(StatusOf(res), 200) << res;
  EXPECT_NE(res.find("finished"), std::string::npos);
  EXPECT_TRUE(ClosesConnection(res));
  thread_.join();
  EXPECT_TRUE(run_status_.ok());
}

}  // namespace
}  // namespace kiln::net
