// HttpServer's limits and lifecycle, exercised over real sockets on port 0.
#include "net/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace kiln::net {
namespace {

// Sends raw bytes and reads until the peer closes or `timeout` passes;
// `closed_by_peer` tells which of the two ended it.
std::string RawExchange(uint16_t port, const std::string& request, std::chrono::milliseconds timeout,
                        bool* closed_by_peer = nullptr) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "";
  }
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  size_t off = 0;
  while (off < request.size()) {
    ssize_t n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (closed_by_peer) *closed_by_peer = (n == 0);
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// POSTs `body` to `path` on a connection of its own and reads the reply.
std::string PostOnce(uint16_t port, const std::string& path, const std::string& body) {
  return RawExchange(port,
                     "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                         "\r\nConnection: close\r\n\r\n" + body,
                     std::chrono::milliseconds(3000));
}

int StatusOf(const std::string& response) {
  if (response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

size_t CountResponses(const std::string& raw) {
  size_t count = 0, pos = 0;
  while ((pos = raw.find("HTTP/1.1 ", pos)) != std::string::npos) {
    ++count;
    pos += 9;
  }
  return count;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpServerOptions options, size_t workers = 2, size_t queue = 8) {
    options.port = 0;
    options.handle_signals = false;
    options.access_log = false;
    pool_ = std::make_unique<WorkerPool>(workers, queue);
    auto server = HttpServer::Create(options, router_, *pool_, metrics_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    thread_ = std::thread([this] { run_status_ = server_->Run(); });
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return server_->port(); }

  Router router_;
  MetricsRegistry metrics_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  Status run_status_;
};

TEST_F(HttpServerTest, AnswersAndKeepsConnectionAlive) {
  router_.Add("GET", "/ping", [](HttpRequest&) { return HttpResponse::Text(200, "pong"); }, Execution::kInline);
  router_.Add("POST", "/echo", [](HttpRequest& r) { return HttpResponse::Text(200, r.body); });
  Start({});
  std::string two = "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"
                    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
  std::string raw = RawExchange(port(), two, std::chrono::milliseconds(3000));
  EXPECT_EQ(CountResponses(raw), 2u) << raw;
  EXPECT_NE(raw.find("pong"), std::string::npos);
  EXPECT_NE(raw.find("hello"), std::string::npos);
  EXPECT_NE(raw.find("X-Request-Id: "), std::string::npos);
}

TEST_F(HttpServerTest, PathAndQueryParametersAreDecoded) {
  router_.Add("GET", "/items/{id}/files/{rest...}", [](HttpRequest& r) {
    return HttpResponse::Text(200, std::string(r.PathParam("id")) + "|" + std::string(r.PathParam("rest")) + "|" +
                                       std::string(r.QueryValue("q")));
  });
  Start({});
  std::string raw = RawExchange(port(), "GET /items/a%20b/files/x/y.txt?q=1%2B1+2 HTTP/1.1\r\nConnection: close\r\n\r\n",
                                std::chrono::milliseconds(3000));
  EXPECT_EQ(StatusOf(raw), 200);
  EXPECT_NE(raw.find("a b|x/y.txt|1+1 2"), std::string::npos) << raw;
}

TEST_F(HttpServerTest, UnknownRouteIs404AndWrongMethodIs405) {
  router_.Add("GET", "/only-get", [](HttpRequest&) { return HttpResponse::Text(200, "ok"); });
  Start({});
  EXPECT_EQ(StatusOf(RawExchange(port(), "GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n", std::chrono::milliseconds(3000))), 404);
  EXPECT_EQ(StatusOf(RawExchange(port(), "POST /only-get HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                                 std::chrono::milliseconds(3000))), 405);
}

TEST_F(HttpServerTest, OversizeHeaderIs431) {
  router_.Add("GET", "/x", [](HttpRequest&) { return HttpResponse::Text(200, "ok"); });
  HttpServerOptions o;
  o.max_header_bytes = 2048;
  Start(o);
  std::string req = "GET /x HTTP/1.1\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n";
  EXPECT_EQ(StatusOf(RawExchange(port(), req, std::chrono::milliseconds(3000))), 431);
}

TEST_F(HttpServerTest, OversizeBodyIs413ByDeclaredLengthAndByChunkedStream) {
  router_.Add("POST", "/x", [](HttpRequest&) { return HttpResponse::Text(200, "ok"); });
  HttpServerOptions o;
  o.max_body_bytes = 1024;
  Start(o);
  std::string declared = "POST /x HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'a');
  EXPECT_EQ(StatusOf(RawExchange(port(), declared, std::chrono::milliseconds(3000))), 413);
  std::string chunk(3000, 'b');
  char size_line[16];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  std::string chunked = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(size_line) + chunk + "\r\n0\r\n\r\n";
  EXPECT_EQ(StatusOf(RawExchange(port(), chunked, std::chrono::milliseconds(3000))), 413);
  // A body at the limit is fine.
  std::string ok = "POST /x HTTP/1.1\r\nContent-Length: 1024\r\nConnection: close\r\n\r\n" + std::string(1024, 'c');
  EXPECT_EQ(StatusOf(RawExchange(port(), ok, std::chrono::milliseconds(3000))), 200);
}

TEST_F(HttpServerTest, RouteErrorRendererShapesLayerErrors) {
  auto& route = router_.Add("POST", "/x", [](HttpRequest&) { return HttpResponse::Text(200, "ok"); });
  route.render_error = [](unsigned status, std::string_view code, std::string_view) {
    return HttpResponse::Json(status, "{\"error_code\":\"" + std::string(code) + "\"}");
  };
  route.max_body_bytes = 1024;
  Start({});
  std::string raw = RawExchange(port(), "POST /x HTTP/1.1\r\nContent-Length: 4096\r\n\r\n", std::chrono::milliseconds(3000));
  EXPECT_EQ(StatusOf(raw), 413);
  EXPECT_NE(raw.find("REQUEST_TOO_LARGE"), std::string::npos) << raw;
}

TEST_F(HttpServerTest, FullWorkerQueueIsRefusedWith503) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> started{0};
  router_.Add("GET", "/slow", [&](HttpRequest&) {
    started.fetch_add(1);
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
    return HttpResponse::Text(200, "done");
  });
  Start({}, /*workers=*/1, /*queue=*/1);
  // One request occupies the worker, one waits in the queue; the third is refused.
  std::thread a([&] { RawExchange(port(), "GET /slow HTTP/1.1\r\nConnection: close\r\n\r\n", std::chrono::milliseconds(5000)); });
  while (started.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::thread b([&] { RawExchange(port(), "GET /slow HTTP/1.1\r\nConnection: close\r\n\r\n", std::chrono::milliseconds(5000)); });
  while (pool_->queue_depth() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::string refused = RawExchange(port(), "GET /slow HTTP/1.1\r\nConnection: close\r\n\r\n", std::chrono::milliseconds(3000));
  EXPECT_EQ(StatusOf(refused), 503) << refused;
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  a.join();
  b.join();
}

TEST_F(HttpServerTest, IdleConnectionIsClosedAfterTimeout) {
  router_.Add("GET", "/x", [](HttpRequest&) { return HttpResponse::Text(200, "ok"); });
  HttpServerOptions o;
  o.idle_timeout = std::chrono::milliseconds(200);
  Start(o);
  // Sends nothing: the server must hang up on its own (an orderly close),
  // not leave us to give up after our 5 s receive guard.
  bool closed_by_peer = false;
  std::string raw = RawExchange(port(), "", std::chrono::milliseconds(5000), &closed_by_peer);
  EXPECT_TRUE(raw.empty());
  EXPECT_TRUE(closed_by_peer);
}

TEST_F(HttpServerTest, ShutdownFinishesInFlightRequest) {
  std::atomic<bool> entered{false};
  router_.Add("GET", "/slow", [&](HttpRequest&) {
    entered = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return HttpResponse::Text(200, "finished");
  });
  Start({});
  std::string raw;
  std::thread client([&] { raw = RawExchange(port(), "GET /slow HTTP/1.1\r\n\r\n", std::chrono::milliseconds(5000)); });
  while (!entered) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  server_->Shutdown();
  client.join();
  thread_.join();
  EXPECT_TRUE(run_status_.ok());
  EXPECT_EQ(StatusOf(raw), 200);
  EXPECT_NE(raw.find("finished"), std::string::npos);
  EXPECT_NE(raw.find("Connection: close"), std::string::npos) << raw;
}

TEST_F(HttpServerTest, CountsRequestsInMetrics) {
  router_.Add("GET", "/x", [](HttpRequest&) { return HttpResponse::Text(200, "ok"); }, Execution::kInline);
  Start({});
  RawExchange(port(), "GET /x HTTP/1.1\r\nConnection: close\r\n\r\n", std::chrono::milliseconds(3000));
  std::string text = metrics_.Render();
  EXPECT_NE(text.find("kiln_http_requests_total{method=\"GET\",route=\"/x\",status=\"200\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("kiln_http_request_duration_seconds_bucket{method=\"GET\",route=\"/x\",status=\"200\",le=\"+Inf\"} 1"),
            std::string::npos);
}

TEST_F(HttpServerTest, InlineProbeStartsADeferredRouteOnTheIoThread) {
  // "now": answered at once on the I/O thread; "later": answered from another
  // thread after the handler returned; "blk": handed over to a worker.
  struct Call {
    std::string body;
    bool on_io_thread;
  };
  std::mutex mu;
  std::vector<Call> calls;
  std::vector<std::thread> answerers;
  Route& r = router_.AddAsync("POST", "/deferred", [&](std::shared_ptr<HttpRequest> req, Responder respond) {
    {
      std::lock_guard lock(mu);
      calls.push_back({req->body, req->on_io_thread});
    }
    const std::string where = req->on_io_thread ? "io:" : "pool:";
    if (req->on_io_thread && req->body == "blk") return respond(HttpResponse::RunOnPool());
    if (req->body == "later") {
      std::lock_guard lock(mu);
      answerers.emplace_back([respond, where] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        respond(HttpResponse::Text(200, where + "later"));
      });
      return;
    }
    respond(HttpResponse::Text(200, where + req->body));
  });
  r.inline_if = [](const HttpRequest& req) { return req.body != "big"; };
  Start({});
  auto post = [&](const std::string& body) { return PostOnce(port(), "/deferred", body); };
  EXPECT_NE(post("now").find("io:now"), std::string::npos);
  EXPECT_NE(post("later").find("io:later"), std::string::npos);
  std::string handed = post("blk");
  EXPECT_EQ(StatusOf(handed), 200) << handed;
  EXPECT_NE(handed.find("pool:blk"), std::string::npos) << handed;
  EXPECT_NE(post("big").find("pool:big"), std::string::npos);
  std::lock_guard lock(mu);
  for (auto& t : answerers) t.join();
  ASSERT_EQ(calls.size(), 5u);
  EXPECT_TRUE(calls[0].on_io_thread);
  EXPECT_TRUE(calls[1].on_io_thread);
  EXPECT_TRUE(calls[2].on_io_thread);   // "blk" tried on the I/O thread,
  EXPECT_FALSE(calls[3].on_io_thread);  // then started again on a worker
  EXPECT_EQ(calls[3].body, "blk");
  EXPECT_FALSE(calls[4].on_io_thread);  // the probe said no
}

}  // namespace
}  // namespace kiln::net

namespace kiln::net {
namespace {

TEST_F(HttpServerTest, AsyncRouteAnswersFromAnotherThreadWithoutHoldingAWorker) {
  // The responder is answered by a helper thread after the worker returned;
  // with one worker and eight requests in flight, all are answered.
  std::mutex mu;
  std::vector<Responder> pending;
  router_.AddAsync("POST", "/later", [&](std::shared_ptr<HttpRequest> req, Responder respond) {
    std::lock_guard lock(mu);
    pending.push_back([respond, body = req->body](HttpResponse) mutable {
      respond(HttpResponse::Text(200, "done:" + body));
    });
  });
  router_.AddAsync("POST", "/dropped", [](std::shared_ptr<HttpRequest>, Responder) {});
  Start({}, /*workers=*/1, /*queue=*/16);
  std::atomic<bool> stop{false};
  std::thread answerer([&] {
    while (!stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      std::lock_guard lock(mu);
      for (auto& r : pending) r(HttpResponse{});
      pending.clear();
    }
  });
  std::vector<std::thread> clients;
  std::vector<std::string> replies(8);
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      std::string req = "POST /later HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\n" +
                        std::to_string(i);
      replies[i] = RawExchange(port(), req, std::chrono::milliseconds(3000));
    });
  }
  for (auto& c : clients) c.join();
  for (int i = 0; i < 8; ++i) EXPECT_NE(replies[i].find("done:" + std::to_string(i)), std::string::npos) << replies[i];
  // A handler that drops its responder produces a 500, not a hung connection.
  std::string raw = RawExchange(port(), "POST /dropped HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                                std::chrono::milliseconds(3000));
  EXPECT_NE(raw.find("HTTP/1.1 500"), std::string::npos) << raw;
  stop = true;
  answerer.join();
}

TEST_F(HttpServerTest, InlineProbeRunsOnTheIoThreadAndHandsOverToThePool) {
  struct Call {
    std::string body;
    bool on_io_thread;
    std::thread::id thread;
  };
  std::mutex mu;
  std::vector<Call> calls;
  Route& r = router_.Add("POST", "/maybe", [&](HttpRequest& req) {
    {
      std::lock_guard lock(mu);
      calls.push_back({req.body, req.on_io_thread, std::this_thread::get_id()});
    }
    if (req.on_io_thread && req.body == "blk") return HttpResponse::RunOnPool();
    return HttpResponse::Text(200, std::string(req.on_io_thread ? "io:" : "pool:") + req.body);
  });
  r.inline_if = [](const HttpRequest& req) { return req.body.size() <= 3; };
  Start({});
  auto post = [&](const std::string& body) { return PostOnce(port(), "/maybe", body); };
  std::string small = post("ab");
  EXPECT_NE(small.find("io:ab"), std::string::npos) << small;
  std::string handed = post("blk");
  EXPECT_EQ(StatusOf(handed), 200) << handed;
  EXPECT_NE(handed.find("pool:blk"), std::string::npos) << handed;
  std::string large = post("large");
  EXPECT_NE(large.find("pool:large"), std::string::npos) << large;
  std::lock_guard lock(mu);
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_TRUE(calls[0].on_io_thread);
  EXPECT_TRUE(calls[1].on_io_thread);                   // "blk": tried on the I/O thread,
  EXPECT_FALSE(calls[2].on_io_thread);                  // then run again on a worker
  EXPECT_NE(calls[1].thread, calls[2].thread);
  EXPECT_EQ(calls[2].body, "blk");
  EXPECT_FALSE(calls[3].on_io_thread);                  // the probe said no
}

}  // namespace
}  // namespace kiln::net
