#include "api/feast/feature_server_routes.h"

#include <any>
#include <chrono>

#include <nlohmann/json.hpp>

#include "features/value_json.h"

namespace kiln::api::feast {

namespace {

namespace f = kiln::features;
using nlohmann::json;

constexpr const char* kActor = "feature_server";

bool StartsWith(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

// The Feast exception class the SDK re-raises for a kiln Status.
std::string_view FeastClass(const Status& s) {
  const std::string& m = s.message();
  if (s.code() == StatusCode::kNotFound) {
    if (StartsWith(m, "Feature view ")) return "FeatureViewNotFoundException";
    if (StartsWith(m, "Feature service ")) return "FeatureServiceNotFoundException";
    if (StartsWith(m, "Unable to find push source")) return "PushSourceNotFoundException";
    if (StartsWith(m, "Project ")) return "ProjectNotFoundException";
    return "FeastObjectNotFoundException";
  }
  return "FeastError";
}

unsigned HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kFailedPrecondition:
      return 400;
    case StatusCode::kNotFound:
      return FeastClass(s) == "PushSourceNotFoundException" ? 422 : 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted:
      return 409;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kResourceExhausted:
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

net::HttpResponse ErrorWith(unsigned status, std::string_view cls, std::string_view message) {
  // Feast's handler answers JSONResponse(content=exc.to_error_detail()):
  // a JSON string whose text is the JSON detail.
  std::string detail;
  detail.reserve(message.size() + 64);
  detail += "{\"module\": \"feast.errors\", \"class\": ";
  f::AppendJsonString(cls, &detail);
  detail += ", \"message\": ";
  f::AppendJsonString(message, &detail);
  detail += "}";
  std::string body;
  f::AppendJsonString(detail, &body);
  return net::HttpResponse::Json(status, std::move(body));
}

template <class J>
Status ParseBody(const net::HttpRequest& req, J* out) {
  *out = J::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded()) return InvalidArgument("the request body is not valid JSON");
  if (!out->is_object()) return InvalidArgument("the request body must be a JSON object");
  return Status::Ok();
}

// Optional typed fields: null counts as absent (pydantic's Optional).
template <class J>
Status GetString(const J& body, const char* key, std::string* out, bool required = false) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    if (required) return InvalidArgument(std::string("field '") + key + "' is required");
    return Status::Ok();
  }
  if (!it->is_string()) return InvalidArgument(std::string("field '") + key + "' must be a string");
  *out = it->template get<std::string>();
  return Status::Ok();
}

template <class J>
Status GetBool(const J& body, const char* key, bool* out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return Status::Ok();
  if (!it->is_boolean()) return InvalidArgument(std::string("field '") + key + "' must be true or false");
  *out = it->template get<bool>();
  return Status::Ok();
}

template <class J>
Status GetStringList(const J& body, const char* key, std::vector<std::string>* out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return InvalidArgument(std::string("field '") + key + "' must be a list of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) return InvalidArgument(std::string("field '") + key + "' must be a list of strings");
    out->push_back(v.template get<std::string>());
  }
  return Status::Ok();
}

// --- /get-online-features ---

// Parsed order-preserving: the join-key columns answer in request order, as
// Feast's (dict-ordered) server does.
StatusOr<f::OnlineRequest> DecodeOnlineRequest(const nlohmann::ordered_json& body) {
  f::OnlineRequest r;
  KILN_RETURN_IF_ERROR(GetString(body, "project", &r.project));
  KILN_RETURN_IF_ERROR(GetString(body, "feature_service", &r.feature_service));
  KILN_RETURN_IF_ERROR(GetStringList(body, "features", &r.features));
  KILN_RETURN_IF_ERROR(GetBool(body, "full_feature_names", &r.full_feature_names));
  bool version_metadata = false;
  KILN_RETURN_IF_ERROR(GetBool(body, "include_feature_view_version_metadata", &version_metadata));
  if (version_metadata) {
    return InvalidArgument("include_feature_view_version_metadata needs feature view versioning, which kiln does "
                           "not support; omit it");
  }
  auto it = body.find("entities");
  if (it == body.end() || !it->is_object()) {
    return InvalidArgument("field 'entities' is required: an object of entity columns (join key -> list of values)");
  }
  for (auto col = it->begin(); col != it->end(); ++col) {
    if (!col.value().is_array()) {
      return InvalidArgument("entity column '" + col.key() + "' must be a list of values");
    }
    std::vector<f::RequestValue> values;
    values.reserve(col.value().size());
    for (const auto& v : col.value()) {
      KILN_ASSIGN_OR_RETURN(f::RequestValue rv,
                            f::RequestValueFromJson(json(v), "entity column '" + col.key() + "'"));
      values.push_back(std::move(rv));
    }
    r.entities.emplace_back(col.key(), std::move(values));
  }
  return r;
}

// Reads of the embedded online store are memory-only. Small ones are
// answered on the I/O thread: at one request in flight, the worker pool's two
// thread handoffs are most of their latency (bench/features: 1 row x 50
// features, ~2x the requests per second). Larger ones (~0.5 ms for 100 rows x
// 50 features) go to the pool, so one request cannot hold an I/O thread long.
constexpr size_t kInlineMaxBody = 16 * 1024;
constexpr size_t kInlineMaxRows = 16;

bool ReadInline(const f::OnlineService& online, const net::HttpRequest& req) {
  return !online.ReadsBlock() && req.body.size() <= kInlineMaxBody;
}

net::HttpResponse GetOnlineFeatures(f::OnlineService& online, net::HttpRequest& req) {
  // A request the I/O thread decoded and handed over is not decoded again.
  f::OnlineRequest request;
  if (auto* handed = std::any_cast<f::OnlineRequest>(&req.parsed_body)) {
    request = std::move(*handed);
    req.parsed_body.reset();
  } else {
    nlohmann::ordered_json body;
    if (Status s = ParseBody(req, &body); !s.ok()) return FeastErrorResponse(s);
    auto decoded = DecodeOnlineRequest(body);
    if (!decoded.ok()) return FeastErrorResponse(decoded.status());
    request = std::move(*decoded);
  }
  request.memory_only = req.on_io_thread;
  const size_t rows = request.entities.empty() ? 0 : request.entities.front().second.size();
  if (req.on_io_thread && rows > kInlineMaxRows) {
    request.memory_only = false;
    req.parsed_body = std::move(request);
    return net::HttpResponse::RunOnPool();
  }
  auto result = online.GetOnlineFeatures(request);
  if (!result.ok() && f::IsWouldBlock(result.status())) {
    request.memory_only = false;
    req.parsed_body = std::move(request);
    return net::HttpResponse::RunOnPool();
  }
  if (!result.ok()) return FeastErrorResponse(result.status());
  net::HttpResponse r;
  if (Status s = RenderOnlineResponse(*result, &r.body); !s.ok()) return FeastErrorResponse(s);
  return r;
}

// --- writes ---

net::HttpResponse WriteToOnlineStore(f::OnlineService& online, const net::HttpRequest& req) {
  json body;
  if (Status s = ParseBody(req, &body); !s.ok()) return FeastErrorResponse(s);
  std::string project, view;
  if (Status s = GetString(body, "project", &project); !s.ok()) return FeastErrorResponse(s);
  if (Status s = GetString(body, "feature_view_name", &view, true); !s.ok()) return FeastErrorResponse(s);
  auto df = body.find("df");
  if (df == body.end()) return FeastErrorResponse(InvalidArgument("field 'df' is required"));
  auto out = online.WriteToOnlineStore(project, view, *df);
  if (!out.ok()) {
    // Feast looks the name up among every kind of view and answers
    // FeastObjectNotFoundException "Can't recognize feast object with a name x".
    if (out.status().code() == StatusCode::kNotFound && StartsWith(out.status().message(), "Feature view ")) {
      return ErrorWith(404, "FeastObjectNotFoundException", "Can't recognize feast object with a name " + view);
    }
    return FeastErrorResponse(out.status());
  }
  return net::HttpResponse::Json(200, "null");
}

net::HttpResponse Push(f::OnlineService& online, const net::HttpRequest& req) {
  json body;
  if (Status s = ParseBody(req, &body); !s.ok()) return FeastErrorResponse(s);
  std::string project, source, to = "online";
  if (Status s = GetString(body, "project", &project); !s.ok()) return FeastErrorResponse(s);
  if (Status s = GetString(body, "push_source_name", &source, true); !s.ok()) return FeastErrorResponse(s);
  if (Status s = GetString(body, "to", &to); !s.ok()) return FeastErrorResponse(s);
  f::PushTarget target;
  if (to == "online") {
    target = f::PushTarget::kOnline;
  } else if (to == "offline") {
    target = f::PushTarget::kOffline;
  } else if (to == "online_and_offline") {
    target = f::PushTarget::kOnlineAndOffline;
  } else {
    return FeastErrorResponse(InvalidArgument(to + " is not a supported push format. Please specify one of these "
                                                   "['online', 'offline', 'online_and_offline']."));
  }
  auto df = body.find("df");
  if (df == body.end()) return FeastErrorResponse(InvalidArgument("field 'df' is required"));
  auto out = online.Push(project, source, *df, target);
  if (!out.ok()) return FeastErrorResponse(out.status());
  net::HttpResponse r = net::HttpResponse::Text(200, "");
  return r;
}

// --- materialization ---

StatusOr<int64_t> ParseTs(const json& body, const char* key) {
  std::string text;
  KILN_RETURN_IF_ERROR(GetString(body, key, &text, true));
  auto us = f::ParseTimestampUs(text);
  if (!us.ok()) return InvalidArgument(std::string("Invalid timestamp format for ") + key + ": " + us.status().message());
  return *us;
}

net::HttpResponse Materialize(f::Materializer& materializer, const net::HttpRequest& req, bool incremental) {
  json body;
  if (Status s = ParseBody(req, &body); !s.ok()) return FeastErrorResponse(s);
  f::MaterializeRequest m;
  m.incremental = incremental;
  m.actor = req.access ? req.access->principal().name : kActor;
  if (Status s = GetString(body, "project", &m.project); !s.ok()) return FeastErrorResponse(s);
  if (Status s = GetStringList(body, "feature_views", &m.views); !s.ok()) return FeastErrorResponse(s);
  std::string version;
  if (Status s = GetString(body, "version", &version); !s.ok()) return FeastErrorResponse(s);
  if (!version.empty()) {
    return FeastErrorResponse(InvalidArgument("materializing version '" + version +
                                              "' needs feature view versioning, which kiln does not support"));
  }
  if (incremental) {
    auto end = ParseTs(body, "end_ts");
    if (!end.ok()) return FeastErrorResponse(end.status());
    m.end_us = *end;
  } else {
    bool disable_event_timestamp = false;
    if (Status s = GetBool(body, "disable_event_timestamp", &disable_event_timestamp); !s.ok()) {
      return FeastErrorResponse(s);
    }
    if (disable_event_timestamp) {
      // Feast: every row from the epoch to now.
      m.start_us = 0;
      m.end_us = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    } else {
      if (body.value("start_ts", json()).is_null() || body.value("end_ts", json()).is_null()) {
        return FeastErrorResponse(
            InvalidArgument("start_ts and end_ts are required when disable_event_timestamp is False"));
      }
      auto start = ParseTs(body, "start_ts");
      if (!start.ok()) return FeastErrorResponse(start.status());
      auto end = ParseTs(body, "end_ts");
      if (!end.ok()) return FeastErrorResponse(end.status());
      if (*start >= *end) {
        std::string a, b;
        f::AppendRfc3339(*start, &a);
        f::AppendRfc3339(*end, &b);
        return FeastErrorResponse(InvalidArgument("start_ts (" + a + ") must be before end_ts (" + b + ")"));
      }
      m.start_us = *start;
      m.end_us = *end;
    }
  }
  const bool async = req.QueryValue("async") == "true" || req.QueryValue("async") == "True" ||
                     req.QueryValue("async") == "1";
  if (!async) {
    auto done = materializer.Run(m, nullptr);
    if (!done.ok()) return FeastErrorResponse(done.status());
    if (done->state == "failed") return FeastErrorResponse(Internal("materialization failed: " + done->error));
    return net::HttpResponse::Json(200, "null");
  }
  auto started = materializer.Start(m);
  if (!started.ok()) {
    if (started.status().code() == StatusCode::kAlreadyExists) {
      json conflict = {{"error", started.status().message()}, {"feature_views", m.views}};
      return net::HttpResponse::Json(409, conflict.dump());
    }
    return FeastErrorResponse(started.status());
  }
  json accepted = {{"status", "accepted"}, {"feature_views", started->views}};
  return net::HttpResponse::Json(202, accepted.dump());
}

net::Route& AddRoute(net::Router& router, const char* path, net::Handler handler) {
  net::Route& r = router.Add("POST", path, std::move(handler), net::Execution::kPool);
  // A refusal by the request gate is Feast's own FeastPermissionError (403),
  // so the SDK raises what it raises against Feast's permission checks.
  r.render_error = [](unsigned status, std::string_view, std::string_view message) {
    if (status == 403) return ErrorWith(status, "FeastPermissionError", "Permission error:\n" + std::string(message));
    return ErrorWith(status, "FeastError", message);
  };
  return r;
}

}  // namespace

net::HttpResponse FeastErrorResponse(const Status& status) {
  return ErrorWith(HttpStatusOf(status), FeastClass(status), status.message());
}

Status RenderOnlineResponse(const f::OnlineResult& result, std::string* out) {
  std::string& o = *out;
  // Rough size: a value, a status and a timestamp per cell.
  o.reserve(o.size() + 64 + result.columns.size() * (48 + result.rows * 44));
  o += "{\"results\":[";
  // The features of one view share their statuses and timestamps more often
  // than not: a list equal to the previous column's is copied as text.
  size_t prev_status_off = 0, prev_status_len = 0, prev_ts_off = 0, prev_ts_len = 0;
  const f::OnlineColumn* prev = nullptr;
  for (size_t c = 0; c < result.columns.size(); ++c) {
    const f::OnlineColumn& col = result.columns[c];
    if (c) o.push_back(',');
    o += "{\"values\":[";
    for (size_t r = 0; r < result.rows; ++r) {
      if (r) o.push_back(',');
      KILN_RETURN_IF_ERROR(f::AppendValueJson(result.ValueBytes(col, r), &o));
    }
    o += "],\"statuses\":";
    if (prev && prev->statuses == col.statuses) {
      const size_t off = o.size();
      o.append(o, prev_status_off, prev_status_len);
      prev_status_off = off;
    } else {
      const size_t off = o.size();
      o.push_back('[');
      for (size_t r = 0; r < result.rows; ++r) {
        if (r) o.push_back(',');
        o.push_back('"');
        o += f::FieldStatusName(col.statuses[r]);
        o.push_back('"');
      }
      o.push_back(']');
      prev_status_off = off;
      prev_status_len = o.size() - off;
    }
    if (result.rows > 0) {  // Feast leaves the key out when the list is empty
      o += ",\"event_timestamps\":";
      if (prev && prev->event_ts_us == col.event_ts_us) {
        const size_t off = o.size();
        o.append(o, prev_ts_off, prev_ts_len);
        prev_ts_off = off;
      } else {
        const size_t off = o.size();
        o.push_back('[');
        for (size_t r = 0; r < result.rows; ++r) {
          if (r) o.push_back(',');
          o.push_back('"');
          f::AppendRfc3339(col.event_ts_us[r], &o);
          o.push_back('"');
        }
        o.push_back(']');
        prev_ts_off = off;
        prev_ts_len = o.size() - off;
      }
    }
    o.push_back('}');
    prev = &col;
  }
  o += "],\"metadata\":{\"feature_names\":[";
  for (size_t c = 0; c < result.columns.size(); ++c) {
    if (c) o.push_back(',');
    f::AppendJsonString(result.columns[c].name, &o);
  }
  o += "]}}";
  return Status::Ok();
}

void AddFeatureServerRoutes(net::Router& router, f::OnlineService& online, f::Materializer& materializer) {
  AddRoute(router, "/get-online-features", [&online](net::HttpRequest& req) { return GetOnlineFeatures(online, req); })
      .inline_if = [&online](const net::HttpRequest& req) { return ReadInline(online, req); };
  AddRoute(router, "/write-to-online-store",
           [&online](net::HttpRequest& req) { return WriteToOnlineStore(online, req); });
  AddRoute(router, "/push", [&online](net::HttpRequest& req) { return Push(online, req); });
  AddRoute(router, "/materialize",
           [&materializer](net::HttpRequest& req) { return Materialize(materializer, req, false); });
  AddRoute(router, "/materialize-incremental",
           [&materializer](net::HttpRequest& req) { return Materialize(materializer, req, true); });
}

}  // namespace kiln::api::feast
