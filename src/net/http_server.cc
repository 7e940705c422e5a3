#include <utility>  // before Asio's coroutine headers (Boost 1.74 + GCC 12)

#include "net/http_server.h"

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cctype>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/log.h"
#include "net/pool_await.h"
#include "net/tls_context.h"
#include "net/url.h"

namespace kiln::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using tcp_stream = beast::tcp_stream;  // its executor is the connection's single-threaded context
using tls_stream = beast::ssl_stream<tcp_stream>;

namespace {

constexpr size_t kStreamChunk = 1 << 20;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Per-connection state visible to the shutdown path. Touched only on the
// connection's own io_context thread, except `busy`, which is atomic.
struct ConnectionState {
  tcp_stream* stream = nullptr;
  bool alive = true;
  std::atomic<bool> busy{false};
};

// What a request learns from the connection it came on.
struct ConnectionInfo {
  bool tls = false;
  std::string client_cert_subject;  // CN of the client certificate (TLS only)
};

// The first byte of every TLS connection: a handshake record.
constexpr unsigned char kTlsHandshakeRecord = 0x16;

}  // namespace

class HttpServer::Impl {
 public:
  Impl(const HttpServerOptions& options, const Router& router, WorkerPool& pool, MetricsRegistry& metrics)
      : options_(options),
        router_(router),
        pool_(pool),
        metrics_(metrics),
        contexts_(MakeContexts(options.io_threads)),
        acceptor_(*contexts_[0]),
        signals_(*contexts_[0]),
        delay_timer_(*contexts_[0]),
        in_flight_gauge_(metrics.Gauge("kiln_http_requests_in_flight", "HTTP requests being handled")),
        connections_gauge_(metrics.Gauge("kiln_http_connections_open", "Open HTTP connections")) {}

  Status Listen() {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(options_.host, ec);
    if (ec) return InvalidArgument("invalid host '" + options_.host + "': " + ec.message());
    tcp::endpoint ep(address, options_.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Unavailable("cannot listen on " + options_.host + ":" + std::to_string(options_.port) + ": " +
                         ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    return Status::Ok();
  }

  uint16_t port() const { return port_; }
  int64_t in_flight() const { return in_flight_.load(); }
  bool draining() const { return draining_.load(); }
  bool listener_closed() const { return closing_.load(); }

  Status Run() {
    asio::co_spawn(*contexts_[0], Accept(), asio::detached);
    if (options_.handle_signals) {
      signals_.add(SIGINT);
      signals_.add(SIGTERM);
      signals_.add(SIGHUP);
      WaitForSignal();
    }
    std::vector<std::thread> threads;
    // Keep every context running even while it has no connection yet.
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    for (auto& c : contexts_) guards.push_back(asio::make_work_guard(*c));
    for (size_t i = 1; i < contexts_.size(); ++i) threads.emplace_back([this, i] { contexts_[i]->run(); });
    contexts_[0]->run();
    for (auto& t : threads) t.join();
    return Status::Ok();
  }

  void Shutdown() {
    asio::post(*contexts_[0], [this] { BeginShutdown(); });
  }

  Status SetUpTls() {
    TlsFiles files{options_.tls_cert_file, options_.tls_key_file, options_.tls_client_ca_file};
    if (!files.enabled()) {
      if (!files.client_ca_file.empty()) return InvalidArgument("a TLS client CA needs a TLS certificate and key");
      return Status::Ok();
    }
    auto holder = TlsContextHolder::Create(files);
    if (!holder.ok()) return holder.status();
    tls_ = std::move(*holder);
    tls_->ExportExpiry(&metrics_.Gauge("kiln_tls_certificate_expiry_timestamp_seconds",
                                       "notAfter of the TLS certificate the HTTP listener serves (Unix seconds); "
                                       "follows SIGHUP reloads"));
    return Status::Ok();
  }
  bool tls_enabled() const { return tls_ != nullptr; }
  Status ReloadTls() {
    if (!tls_) return FailedPrecondition("TLS is not enabled on this server");
    return tls_->Reload();
  }

 private:
  void WaitForSignal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        ReloadTlsInBackground();
        WaitForSignal();
        return;
      }
      if (draining_) {
        log::Info("received signal " + std::to_string(sig) + " again: closing the listener now");
      } else if (options_.shutdown_delay.count() > 0) {
        log::Info("received signal " + std::to_string(sig) + ", draining: /health answers 503 for " +
                  std::to_string(options_.shutdown_delay.count()) +
                  " ms while requests are still served, then the listener closes");
      } else {
        log::Info("received signal " + std::to_string(sig) + ", shutting down gracefully");
      }
      BeginShutdown();
      // A second signal during the delay skips the rest of it.
      if (!closing_) WaitForSignal();
    });
  }

  // SIGHUP: files are read on the pool, not on the I/O thread that got the signal.
  void ReloadTlsInBackground() {
    if (!tls_) {
      log::Info("received SIGHUP: nothing to reload (TLS is off)");
      return;
    }
    std::shared_ptr<TlsContextHolder> tls = tls_;
    auto reload = [tls] {
      Status s = tls->Reload();
      if (s.ok()) {
        log::Info("received SIGHUP: reloaded the TLS certificate from " + tls->files().cert_file);
      } else {
        log::Error("received SIGHUP: TLS reload failed, keeping the previous certificate: " + s.message());
      }
    };
    if (!pool_.TrySubmit(reload)) reload();  // a full queue must not lose the reload
  }

  // Runs on contexts_[0]. The first call starts the delay (when one is set);
  // the delay's end, or a second call, closes the listener.
  void BeginShutdown() {
    if (closing_) return;
    const bool first = !draining_.exchange(true);
    if (first && options_.drain_state) options_.drain_state->Begin();
    if (first && options_.shutdown_delay.count() > 0) {
      delay_timer_.expires_after(options_.shutdown_delay);
      delay_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) CloseListener();
      });
      return;
    }
    CloseListener();
  }

  void CloseListener() {
    if (closing_.exchange(true)) return;
    boost::system::error_code ec;
    delay_timer_.cancel();
    acceptor_.close(ec);
    signals_.cancel(ec);
    CloseIdleConnections();
    shutdown_deadline_ = std::chrono::steady_clock::now() + options_.shutdown_grace;
    asio::co_spawn(*contexts_[0], WaitForDrain(), asio::detached);
  }

  void CloseIdleConnections() {
    std::lock_guard lock(conns_mu_);
    for (auto& weak : conns_) {
      auto state = weak.lock();
      if (!state || state->busy.load()) continue;
      asio::post(state->stream->get_executor(), [state] {
        if (!state->alive || state->busy.load()) return;
        // A request already on its way is answered (with Connection: close), not cut off.
        boost::system::error_code ec;
        if (state->stream->socket().available(ec) > 0 && !ec) return;
        state->stream->socket().cancel(ec);
      });
    }
  }

  asio::awaitable<void> WaitForDrain() {
    asio::steady_timer timer(*contexts_[0]);
    for (;;) {
      size_t open;
      {
        std::lock_guard lock(conns_mu_);
        conns_.remove_if([](const std::weak_ptr<ConnectionState>& w) { return w.expired(); });
        open = conns_.size();
      }
      if (open == 0 || std::chrono::steady_clock::now() > shutdown_deadline_) break;
      CloseIdleConnections();  // a connection may have turned idle since
      timer.expires_after(std::chrono::milliseconds(10));
      co_await timer.async_wait(asio::use_awaitable);
    }
    for (auto& c : contexts_) c->stop();
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      boost::system::error_code ec;
      // Connections are spread round-robin over single-threaded contexts, so
      // a connection needs no strand. The executor is a named object, not a
      // temporary: GCC 12 destroys non-trivial temporaries of a co_await
      // expression twice (the same bug RunOnPool's callers avoid).
      auto target = contexts_[next_context_++ % contexts_.size()]->get_executor();
      tcp::socket socket = co_await acceptor_.async_accept(target, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (closing_ || ec == asio::error::operation_aborted) co_return;
        log::Warn("accept failed: " + ec.message());
        continue;
      }
      auto executor = socket.get_executor();
      if (tls_) {
        asio::co_spawn(executor, TlsSession(tcp_stream(std::move(socket)), tls_->Current()), asio::detached);
      } else {
        asio::co_spawn(executor, Session(tcp_stream(std::move(socket))), asio::detached);
      }
    }
  }

  std::string NextRequestId() {
    static const uint64_t salt = std::hash<std::thread::id>{}(std::this_thread::get_id()) ^
                                 static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08llx-%012llx", static_cast<unsigned long long>(salt & 0xffffffff),
                  static_cast<unsigned long long>(request_counter_.fetch_add(1) + 1));
    return buf;
  }

  // Each I/O thread keeps its own map from (method, route, status) to the
  // registry's children, so the hot path takes no lock after the first hit.
  struct RequestSeries {
    CounterMetric* count;
    HistogramMetric* latency;
  };
  void Record(const std::string& method, const std::string& route, unsigned status, double seconds) {
    thread_local std::unordered_map<std::string, RequestSeries> series;
    std::string key;
    key.reserve(sizeof(void*) + method.size() + route.size() + 8);
    // The registry's address is part of the key: a thread may serve more than
    // one server over its life (tests do), each with its own registry.
    const MetricsRegistry* registry = &metrics_;
    key.append(reinterpret_cast<const char*>(&registry), sizeof registry);
    key.append(method).append(1, ' ').append(route).append(1, ' ').append(std::to_string(status));
    auto it = series.find(key);
    if (it == series.end()) {
      Labels labels{{"method", method}, {"route", route}, {"status", std::to_string(status)}};
      RequestSeries s{&metrics_.Counter("kiln_http_requests_total", "HTTP requests answered", labels),
                      &metrics_.Histogram("kiln_http_request_duration_seconds",
                                          "Time from request header to response written", labels)};
      it = series.emplace(std::move(key), s).first;
    }
    it->second.count->Increment();
    it->second.latency->Observe(seconds);
  }

  // Fills method, target, path, query and headers; false if the target is malformed.
  static bool DecodeHeader(const http::request_header<>& h, HttpRequest* req) {
    req->method = std::string(h.method_string());
    req->target = std::string(h.target());
    std::string_view target = req->target;
    size_t q = target.find('?');
    req->raw_path = std::string(target.substr(0, q));
    auto path = PercentDecode(req->raw_path, false);
    if (!path || path->empty() || (*path)[0] != '/') return false;
    req->path = std::move(*path);
    if (q != std::string_view::npos) {
      auto query = ParseQuery(target.substr(q + 1));
      if (!query) return false;
      req->query = std::move(*query);
    }
    for (const auto& field : h) {
      auto name = field.name_string();
      req->headers.emplace_back(Lower(std::string_view(name.data(), name.size())), std::string(field.value()));
    }
    return true;
  }

  std::shared_ptr<ConnectionState> Track(tcp_stream& stream) {
    auto state = std::make_shared<ConnectionState>();
    state->stream = &stream;
    {
      std::lock_guard lock(conns_mu_);
      conns_.push_back(state);
    }
    connections_gauge_.Add(1);
    return state;
  }

  void Close(tcp_stream& stream, ConnectionState& state) {
    state.alive = false;
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.socket().close(ec);
    connections_gauge_.Add(-1);
  }

  asio::awaitable<void> Session(tcp_stream stream) {
    auto state = Track(stream);
    const ConnectionInfo info;
    co_await Serve(stream, *state, info);
    Close(stream, *state);
  }

  asio::awaitable<void> TlsSession(tcp_stream tcp, std::shared_ptr<asio::ssl::context> context) {
    // `context` stays referenced for the connection's life: a reload swaps in
    // a new one for new connections only.
    tls_stream stream(std::move(tcp), *context);
    auto state = Track(stream.next_layer());
    boost::system::error_code ec;
    stream.next_layer().expires_after(options_.read_timeout);
    // One byte tells a TLS client from a plain-HTTP one, which gets a readable
    // refusal instead of a dropped connection.
    unsigned char first = 0;
    co_await stream.next_layer().async_read_some(asio::buffer(&first, 1), asio::redirect_error(asio::use_awaitable, ec));
    if (!ec && first != kTlsHandshakeRecord) {
      co_await RefusePlainHttp(stream.next_layer());
    } else if (!ec) {
      co_await stream.async_handshake(asio::ssl::stream_base::server, asio::buffer(&first, 1),
                                      asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        log::Debug("TLS handshake failed: " + ec.message());
      } else {
        ConnectionInfo info;
        info.tls = true;
        info.client_cert_subject = PeerCommonName(stream.native_handle());
        co_await Serve(stream, *state, info);
        if (!closing_) {
          // close_notify, bounded: a peer that never answers it costs no more than this.
          stream.next_layer().expires_after(std::min<std::chrono::milliseconds>(options_.read_timeout,
                                                                                std::chrono::milliseconds(1000)));
          co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
        }
      }
    }
    Close(stream.next_layer(), *state);
  }

  asio::awaitable<void> RefusePlainHttp(tcp_stream& stream) {
    // Read what the client sent so closing does not reset the connection
    // before it has read the answer.
    char discard[4096];
    boost::system::error_code ec;
    co_await stream.async_read_some(asio::buffer(discard), asio::redirect_error(asio::use_awaitable, ec));
    const std::string message = "this port speaks HTTPS: use https://";
    co_await WriteSimple(stream, 400, message, false);
  }

  template <typename Stream>
  asio::awaitable<void> Serve(Stream& stream, ConnectionState& conn, const ConnectionInfo& info) {
    ConnectionState* state = &conn;
    beast::flat_buffer buffer;
    for (;;) {
      state->busy = false;
      // Connections accepted during the shutdown delay are served; only a
      // closed listener ends the loop here.
      if (closing_) break;
      http::request_parser<http::empty_body> header_parser;
      header_parser.header_limit(static_cast<uint32_t>(options_.max_header_bytes));
      // Beast 1.74 compares the length against an optional limit, so "none" would
      // refuse every body: the real per-route limit is applied once routed.
      header_parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      boost::system::error_code ec;
      beast::get_lowest_layer(stream).expires_after(options_.idle_timeout);
      co_await http::async_read_header(stream, buffer, header_parser, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == http::error::header_limit) {
          state->busy = true;
          const std::string message = "request header too large";
          co_await WriteSimple(stream, 431, message, false);
        } else if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
                   ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
                   ec != asio::error::eof && ec != asio::ssl::error::stream_truncated /* TLS peer gone */) {
          state->busy = true;
          const std::string message = "malformed request: " + ec.message();
          co_await WriteSimple(stream, 400, message, false);
        }
        break;
      }
      state->busy = true;
      in_flight_.fetch_add(1);
      in_flight_gauge_.Add(1);
      bool keep_alive = co_await HandleOne(stream, buffer, header_parser, info);
      in_flight_.fetch_sub(1);
      in_flight_gauge_.Add(-1);
      if (!keep_alive) break;
    }
  }

  template <typename Stream>
  asio::awaitable<void> WriteSimple(Stream& stream, unsigned status, const std::string& message, bool keep_alive) {
    auto res = DefaultErrorRenderer(status, "", message);
    http::response<http::string_body> msg{static_cast<http::status>(status), 11};
    msg.set(http::field::content_type, res.content_type);
    msg.set(http::field::server, "kiln");
    msg.keep_alive(keep_alive);
    msg.body() = std::move(res.body);
    msg.prepare_payload();
    boost::system::error_code ec;
    beast::get_lowest_layer(stream).expires_after(options_.read_timeout);
    co_await http::async_write(stream, msg, asio::redirect_error(asio::use_awaitable, ec));
  }

  // Handles one request whose header has been read. Returns whether the
  // connection may be reused.
  template <typename Stream>
  asio::awaitable<bool> HandleOne(Stream& stream, beast::flat_buffer& buffer,
                                  http::request_parser<http::empty_body>& header_parser, const ConnectionInfo& info) {
    const auto started = std::chrono::steady_clock::now();
    auto req = std::make_shared<HttpRequest>();
    const auto& header = header_parser.get();
    bool keep_alive = header.keep_alive() && !draining_;
    std::string incoming_id(header["x-request-id"]);
    req->request_id = (!incoming_id.empty() && incoming_id.size() <= 128) ? incoming_id : NextRequestId();
    {
      boost::system::error_code ep_ec;
      auto ep = beast::get_lowest_layer(stream).socket().remote_endpoint(ep_ec);
      if (!ep_ec) req->remote_address = ep.address().to_string() + ":" + std::to_string(ep.port());
    }
    if (info.tls) {
      req->protocol = "https";
      req->client_cert_subject = info.client_cert_subject;
    }

    HttpResponse res;
    std::string route_label = "unmatched";
    bool body_consumed = false;
    const Route* route = nullptr;

    if (!DecodeHeader(header, req.get())) {
      res = DefaultErrorRenderer(400, "BAD_REQUEST", "malformed request target");
    } else {
      RouteMatch match = router_.Match(req->method, req->path);
      route = match.route;
      if (!route && req->method == "HEAD") route = router_.Match("GET", req->path).route;
      if (!route) {
        res = match.path_known ? DefaultErrorRenderer(405, "METHOD_NOT_ALLOWED", "method not allowed")
                               : router_.NotFound(*req);
      } else {
        route_label = route->label;
        req->path_params = std::move(match.params);
        uint64_t limit = route->max_body_bytes ? route->max_body_bytes : options_.max_body_bytes;
        auto declared = header_parser.content_length();
        if (declared && *declared > limit) {
          res = route->render_error(413, "REQUEST_TOO_LARGE",
                                    "request body of " + std::to_string(*declared) + " bytes exceeds the limit of " +
                                        std::to_string(limit) + " bytes");
        } else {
          if (header[http::field::expect] == "100-continue") {
            static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
            boost::system::error_code ec;
            co_await asio::async_write(stream, asio::buffer(kContinue, sizeof kContinue - 1),
                                       asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return false;
          }
          if (route->execution == Execution::kInline && !route->upload && header_parser.is_done()) {
            // Memory-only route without a body (/health, /version): answer
            // right here, no body parser and no extra coroutine frame.
            res = Invoke(*route, *req);
            body_consumed = true;
          } else if (route->upload) {
            auto outcome = co_await ReceiveUpload(stream, buffer, header_parser, *route, req, limit);
            res = std::move(outcome.first);
            body_consumed = outcome.second;
          } else {
            auto outcome = co_await ReadBodyAndDispatch(stream, buffer, header_parser, *route, req, limit);
            res = std::move(outcome.first);
            body_consumed = outcome.second;
          }
        }
      }
    }
    // Unread body bytes would be parsed as the next request: close instead.
    if (!body_consumed && !header_parser.is_done() && (header_parser.content_length().value_or(0) > 0 || header_parser.chunked())) {
      keep_alive = false;
    }
    // Decided once: a response that told the client "keep-alive" must leave
    // the connection open for its next request, even when the shutdown
    // begins while the response is written (that request is then answered
    // with Connection: close).
    const bool reuse = keep_alive && !draining_;
    bool ok = co_await WriteResponse(stream, *req, res, reuse);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    Record(req->method, route_label, res.status, seconds);
    if (options_.access_log) {
      char line[160];
      std::snprintf(line, sizeof line, " %u %.3fms id=%s", res.status, seconds * 1000, req->request_id.c_str());
      log::Info("access " + req->method + " " + req->target.substr(0, 512) + line);
    }
    co_return ok && reuse;
  }

  HttpResponse Invoke(const Route& route, HttpRequest& req) {
    try {
      return route.handler(req);
    } catch (const std::exception& e) {
      log::Error("handler for " + route.pattern + " threw: " + e.what());
      return route.render_error(500, "INTERNAL_ERROR", "internal error");
    }
  }

  template <typename Stream>
  asio::awaitable<std::pair<HttpResponse, bool>> ReadBodyAndDispatch(Stream& stream, beast::flat_buffer& buffer,
                                                                     http::request_parser<http::empty_body>& hp,
                                                                     const Route& route,
                                                                     const std::shared_ptr<HttpRequest>& req, uint64_t limit) {
    http::request_parser<http::string_body> parser(std::move(hp));
    parser.body_limit(limit);
    boost::system::error_code ec;
    if (!parser.is_done()) {
      beast::get_lowest_layer(stream).expires_after(options_.read_timeout);
      co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec == http::error::body_limit) {
      co_return std::pair{route.render_error(413, "REQUEST_TOO_LARGE",
                                             "request body exceeds the limit of " + std::to_string(limit) + " bytes"),
                          false};
    }
    if (ec) co_return std::pair{route.render_error(400, "BAD_REQUEST", "cannot read request body: " + ec.message()), false};
    req->body = std::move(parser.get().body());
    if (route.execution == Execution::kInline) co_return std::pair{Invoke(route, *req), true};
    if (route.inline_if && route.handler && route.inline_if(*req)) {
      req->on_io_thread = true;
      HttpResponse res = Invoke(route, *req);
      req->on_io_thread = false;
      if (!res.run_on_pool) co_return std::pair{std::move(res), true};
    }
    if (route.async) {
      auto start = [route_ptr = &route, req](Responder respond) {
        try {
          route_ptr->async(req, std::move(respond));
        } catch (const std::exception& e) {
          log::Error("handler for " + route_ptr->pattern + " threw: " + e.what());
        }
      };
      const std::string dropped = "internal error: the request was dropped";
      if (route.inline_if && route.inline_if(*req)) {
        req->on_io_thread = true;
        auto here = start;
        HttpResponse unanswered = route.render_error(500, "INTERNAL_ERROR", dropped);
        auto answered = co_await AwaitDeferredHere(std::move(here), std::move(unanswered));
        req->on_io_thread = false;
        if (answered && !answered->run_on_pool) co_return std::pair{std::move(*answered), true};
      }
      HttpResponse fallback = route.render_error(500, "INTERNAL_ERROR", dropped);
      auto deferred = co_await AwaitDeferred(pool_, std::move(start), std::move(fallback));
      if (!deferred) {
        co_return std::pair{route.render_error(503, "TEMPORARILY_UNAVAILABLE", "server busy: worker queue is full"),
                            true};
      }
      co_return std::pair{std::move(*deferred), true};
    }
    auto job = [this, route_ptr = &route, req]() { return Invoke(*route_ptr, *req); };
    auto result = co_await RunOnPool(pool_, std::move(job));
    if (!result) {
      co_return std::pair{route.render_error(503, "TEMPORARILY_UNAVAILABLE", "server busy: worker queue is full"), true};
    }
    co_return std::pair{std::move(*result), true};
  }

  template <typename Stream>
  asio::awaitable<std::pair<HttpResponse, bool>> ReceiveUpload(Stream& stream, beast::flat_buffer& buffer,
                                                               http::request_parser<http::empty_body>& hp,
                                                               const Route& route, const std::shared_ptr<HttpRequest>& req,
                                                               uint64_t limit) {
    auto begin_job = [route_ptr = &route, req]() { return route_ptr->upload(*req); };
    auto begun = co_await RunOnPool(pool_, std::move(begin_job));
    if (!begun) {
      co_return std::pair{route.render_error(503, "TEMPORARILY_UNAVAILABLE", "server busy: worker queue is full"), false};
    }
    if (!begun->ok()) {
      const Status& refused = begun->status();
      unsigned status = 400;
      const char* code = "INVALID_PARAMETER_VALUE";
      switch (refused.code()) {
        case StatusCode::kPermissionDenied: status = 403; code = "PERMISSION_DENIED"; break;
        case StatusCode::kUnauthenticated: status = 401; code = "UNAUTHENTICATED"; break;
        case StatusCode::kResourceExhausted: status = 429; code = "RESOURCE_EXHAUSTED"; break;
        case StatusCode::kNotFound: status = 404; code = "RESOURCE_DOES_NOT_EXIST"; break;
        case StatusCode::kUnavailable: status = 503; code = "TEMPORARILY_UNAVAILABLE"; break;
        case StatusCode::kInternal: status = 500; code = "INTERNAL_ERROR"; break;
        default: break;
      }
      HttpResponse res = route.render_error(status, code, refused.message());
      // The request gate refuses uploads before their body is read.
      if (status == 401) res.headers.emplace_back("WWW-Authenticate", "Basic realm=\"kiln\", Bearer realm=\"kiln\"");
      co_return std::pair{std::move(res), false};
    }
    std::shared_ptr<RequestBodySink> sink = std::move(begun->value());
    http::request_parser<http::buffer_body> parser(std::move(hp));
    parser.body_limit(limit);
    auto chunk = std::make_shared<std::vector<char>>(kStreamChunk);
    while (!parser.is_done()) {
      parser.get().body().data = chunk->data();
      parser.get().body().size = chunk->size();
      boost::system::error_code ec;
      beast::get_lowest_layer(stream).expires_after(options_.read_timeout);
      co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == http::error::need_buffer) ec = {};
      if (ec == http::error::body_limit) {
        co_return std::pair{route.render_error(413, "REQUEST_TOO_LARGE",
                                               "upload exceeds the limit of " + std::to_string(limit) + " bytes"),
                            false};
      }
      if (ec) co_return std::pair{route.render_error(400, "BAD_REQUEST", "upload interrupted: " + ec.message()), false};
      size_t n = chunk->size() - parser.get().body().size;
      if (n == 0) continue;
      std::optional<Status> written;
      for (int attempt = 0; attempt < 200 && !written; ++attempt) {
        auto write_job = [sink, chunk, n]() { return sink->Write(std::string_view(chunk->data(), n)); };
        written = co_await RunOnPool(pool_, std::move(write_job));
        if (!written) co_await Sleep(std::chrono::milliseconds(5));
      }
      if (!written) co_return std::pair{route.render_error(503, "TEMPORARILY_UNAVAILABLE", "server busy"), false};
      if (!written->ok()) co_return std::pair{route.render_error(500, "INTERNAL_ERROR", written->message()), false};
    }
    std::optional<HttpResponse> finished;
    for (int attempt = 0; attempt < 200 && !finished; ++attempt) {
      auto finish_job = [sink]() { return sink->Finish(); };
      finished = co_await RunOnPool(pool_, std::move(finish_job));
      if (!finished) co_await Sleep(std::chrono::milliseconds(5));
    }
    if (!finished) co_return std::pair{route.render_error(503, "TEMPORARILY_UNAVAILABLE", "server busy"), true};
    co_return std::pair{std::move(*finished), true};
  }

  asio::awaitable<void> Sleep(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(d);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  template <typename Message>
  void SetCommonFields(Message& msg, const HttpRequest& req, const HttpResponse& res, bool keep_alive) {
    msg.set(http::field::server, "kiln");
    msg.set(http::field::content_type, res.content_type);
    msg.set("X-Request-Id", req.request_id);
    for (const auto& [k, v] : res.headers) msg.set(k, v);
    msg.keep_alive(keep_alive);
  }

  template <typename Stream>
  asio::awaitable<bool> WriteResponse(Stream& stream, const HttpRequest& req, HttpResponse& res, bool keep_alive) {
    boost::system::error_code ec;
    beast::get_lowest_layer(stream).expires_after(options_.read_timeout);
    if (!res.stream) {
      http::response<http::string_body> msg{static_cast<http::status>(res.status), 11};
      SetCommonFields(msg, req, res, keep_alive);
      msg.body() = std::move(res.body);
      msg.prepare_payload();
      if (req.method == "HEAD") msg.body().clear();
      co_await http::async_write(stream, msg, asio::redirect_error(asio::use_awaitable, ec));
      co_return !ec;
    }
    std::shared_ptr<ResponseBodySource> source = std::move(res.stream);
    http::response<http::buffer_body> msg{static_cast<http::status>(res.status), 11};
    SetCommonFields(msg, req, res, keep_alive);
    msg.content_length(static_cast<uint64_t>(source->size()));
    msg.body().data = nullptr;
    msg.body().more = true;
    http::response_serializer<http::buffer_body> serializer{msg};
    co_await http::async_write_header(stream, serializer, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
    if (req.method == "HEAD") co_return true;
    auto chunk = std::make_shared<std::vector<char>>(kStreamChunk);
    int64_t remaining = source->size();
    while (remaining > 0) {
      std::optional<StatusOr<size_t>> got;
      for (int attempt = 0; attempt < 200 && !got; ++attempt) {
        size_t want = static_cast<size_t>(std::min<int64_t>(remaining, static_cast<int64_t>(chunk->size())));
        auto read_job = [source, chunk, want]() { return source->Read(chunk->data(), want); };
        got = co_await RunOnPool(pool_, std::move(read_job));
        if (!got) co_await Sleep(std::chrono::milliseconds(5));
      }
      // The status line is already sent: on failure the only honest signal
      // left is to cut the connection short of Content-Length.
      if (!got || !got->ok() || **got == 0) co_return false;
      msg.body().data = chunk->data();
      msg.body().size = **got;
      msg.body().more = true;
      beast::get_lowest_layer(stream).expires_after(options_.read_timeout);
      co_await http::async_write(stream, serializer, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == http::error::need_buffer) ec = {};
      if (ec) co_return false;
      remaining -= static_cast<int64_t>(**got);
    }
    msg.body().data = nullptr;
    msg.body().more = false;
    co_await http::async_write(stream, serializer, asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  HttpServerOptions options_;
  const Router& router_;
  WorkerPool& pool_;
  MetricsRegistry& metrics_;
  static std::vector<std::unique_ptr<asio::io_context>> MakeContexts(size_t n) {
    std::vector<std::unique_ptr<asio::io_context>> out;
    for (size_t i = 0; i < std::max<size_t>(1, n); ++i) out.push_back(std::make_unique<asio::io_context>(1));
    return out;
  }

  // One single-threaded io_context per I/O thread; [0] also owns the acceptor.
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  size_t next_context_ = 0;  // touched only by the accept loop on contexts_[0]
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  std::shared_ptr<TlsContextHolder> tls_;  // null when serving plain HTTP
  uint16_t port_ = 0;
  asio::steady_timer delay_timer_;  // the shutdown delay; on contexts_[0]
  // draining_: the shutdown has begun (responses carry Connection: close);
  // closing_: the delay is over and the listener is closed.
  std::atomic<bool> draining_{false};
  std::atomic<bool> closing_{false};
  std::chrono::steady_clock::time_point shutdown_deadline_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<uint64_t> request_counter_{0};
  GaugeMetric& in_flight_gauge_;
  GaugeMetric& connections_gauge_;
  std::mutex conns_mu_;
  std::list<std::weak_ptr<ConnectionState>> conns_;  // GUARDED_BY(conns_mu_)
};

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(const HttpServerOptions& options, const Router& router,
                                                         WorkerPool& pool, MetricsRegistry& metrics) {
  auto impl = std::make_unique<Impl>(options, router, pool, metrics);
  KILN_RETURN_IF_ERROR(impl->SetUpTls());
  KILN_RETURN_IF_ERROR(impl->Listen());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;
uint16_t HttpServer::port() const { return impl_->port(); }
Status HttpServer::Run() { return impl_->Run(); }
void HttpServer::Shutdown() { impl_->Shutdown(); }
bool HttpServer::draining() const { return impl_->draining(); }
bool HttpServer::listener_closed() const { return impl_->listener_closed(); }
int64_t HttpServer::in_flight() const { return impl_->in_flight(); }
bool HttpServer::tls_enabled() const { return impl_->tls_enabled(); }
Status HttpServer::ReloadTls() { return impl_->ReloadTls(); }

}  // namespace kiln::net
