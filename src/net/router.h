// Router: maps (method, path) to a handler. Patterns are literal segments,
// `{name}` (one segment), `{name}:verb` (one segment ending in the literal
// ":verb", as Google-style custom methods such as /endpoints/fraud:rollback)
// and a trailing `{name...}` (the rest of the path, possibly empty). Literal-only routes are found by hash lookup; patterned
// routes are tried in registration order.
//
// Each route says where it runs (inline on the I/O thread for cheap
// in-memory work, or on the worker pool for anything that blocks) and how
// errors raised by the HTTP layer itself (413, 503, 408) are rendered for
// that protocol.
//
// Build the router fully before the server starts; afterwards it is read-only
// and safe to share between threads.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/access_rule.h"
#include "net/http_message.h"

namespace kiln::net {

enum class Execution { kInline, kPool };

using Handler = std::function<HttpResponse(HttpRequest&)>;
// Starts a streamed upload: returns a sink, or an error response.
using UploadHandler = std::function<StatusOr<std::unique_ptr<RequestBodySink>>(HttpRequest&)>;
// Completes a deferred response: call exactly once, from any thread.
using Responder = std::function<void(HttpResponse)>;
// Starts on a worker thread and answers through the Responder, possibly later
// and from another thread (a batcher), so no worker waits for the answer.
// If every copy of the Responder is dropped unanswered, the client gets a 500.
using AsyncHandler = std::function<void(std::shared_ptr<HttpRequest>, Responder)>;
// Decides, once a kPool or deferred route's body is read, whether its handler
// runs first on the I/O thread: memory-only work that costs less than the two
// thread handoffs (to a worker and back), which at one request in flight are
// most of a small request's latency. The handler sees
// HttpRequest::on_io_thread; a deferred handler may still answer later from
// another thread, or answer HttpResponse::RunOnPool() to start again on a
// worker.
using InlineProbe = std::function<bool(const HttpRequest&)>;
// Renders an error the HTTP layer raises (status, short code, message).
using ErrorRenderer = std::function<HttpResponse(unsigned status, std::string_view code, std::string_view message)>;

HttpResponse DefaultErrorRenderer(unsigned status, std::string_view code, std::string_view message);

struct Route {
  std::string method;
  std::string pattern;
  std::string label;  // metrics label: the pattern
  Execution execution = Execution::kPool;
  Handler handler;
  UploadHandler upload;  // set for streamed-body routes instead of handler
  AsyncHandler async;    // set for deferred-answer routes instead of handler
  ErrorRenderer render_error = DefaultErrorRenderer;
  uint64_t max_body_bytes = 0;  // 0: the server default
  InlineProbe inline_if;        // kPool handler and deferred routes; null: always the pool
  AccessRule access;  // who may call it (see access_rule.h); set by the api layer

  std::vector<std::string> segments;  // parsed pattern
};

struct RouteMatch {
  const Route* route = nullptr;
  bool path_known = false;  // some route matched the path but not the method
  std::vector<std::pair<std::string, std::string>> params;
};

class Router {
 public:
  Route& Add(std::string method, std::string pattern, Handler handler, Execution execution = Execution::kPool);
  Route& AddUpload(std::string method, std::string pattern, UploadHandler upload);
  Route& AddAsync(std::string method, std::string pattern, AsyncHandler handler);
  RouteMatch Match(std::string_view method, std::string_view path) const;
  // Answer for paths no route knows (MLflow's client expects a bare 404).
  void SetNotFound(Handler handler) { not_found_ = std::move(handler); }
  HttpResponse NotFound(HttpRequest& req) const;
  // Every route in registration order (what an API description is checked against).
  std::vector<const Route*> routes() const;
  // The same, mutable: for declaring access rules and for the request gate
  // wrapping handlers, before the server starts.
  std::vector<Route*> mutable_routes();
  // The route registered for exactly this method and pattern, or null.
  Route* Find(std::string_view method, std::string_view pattern);

 private:
  Route& AddRoute(Route route);
  static bool MatchPattern(const Route& r, std::string_view path,
                           std::vector<std::pair<std::string, std::string>>* params);

  std::vector<std::unique_ptr<Route>> routes_;
  std::unordered_map<std::string, std::vector<const Route*>> literal_;  // path -> routes
  std::vector<const Route*> patterned_;
  Handler not_found_;
};

}  // namespace kiln::net
