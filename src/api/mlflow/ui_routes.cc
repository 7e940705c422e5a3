// MLflow's UI-only server routes (mlflow/server/__init__.py), answered from
// kiln's services. Every handler runs on the worker pool: each reads SQLite
// or the artifact store, and file bodies stream in chunks.
#include "api/mlflow/ui_routes.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <tuple>

#include "api/mlflow/entity_json.h"
#include "api/mlflow/graphql_mlflow.h"
#include "api/mlflow/handler_util.h"
#include "api/mlflow/proxied_artifacts.h"
#include "api/mlflow/routes_internal.h"
#include "api/mlflow/ui_static.h"
#include "net/url.h"

namespace kiln::api::mlflow {

using nlohmann::json;

namespace {

// MLflow's upload-artifact accepts at most 10 MB.
constexpr uint64_t kMaxUiUploadBytes = 10ull * 1024 * 1024;
// get-history-bulk: at most 100 runs and 25,000 points (MLflow's handler).
constexpr size_t kMaxBulkRuns = 100;
constexpr int64_t kMaxBulkPoints = 25000;

// "mlflow-artifacts:/1/abc/artifacts" -> "1/abc/artifacts". Other locations
// are written and read by clients themselves; kiln cannot serve them.
StatusOr<std::string> StoreRelative(const std::string& uri) {
  std::optional<std::string> path = ProxiedArtifactPath(uri);
  if (!path) {
    return FailedPrecondition("artifact location '" + uri +
                              "' is not in kiln's artifact store (mlflow-artifacts:), so kiln cannot serve it");
  }
  return *std::move(path);
}

// MLflow's validate_path_is_safe: no '#', backslash, absolute path or '..'
// segment, after decoding any percent-encoding left in the value.
Status ValidatePathIsSafe(const std::string& path) {
  std::string current = path;
  for (int round = 0; round < 4; ++round) {
    if (current.empty() || current.find('#') != std::string::npos || current.find('\\') != std::string::npos ||
        current.find('\0') != std::string::npos || current[0] == '/' ||
        (current.size() >= 2 && current[1] == ':')) {
      return InvalidArgument("Invalid path");
    }
    size_t start = 0;
    while (start <= current.size()) {
      size_t slash = current.find('/', start);
      if (slash == std::string::npos) slash = current.size();
      if (current.compare(start, slash - start, "..") == 0) return InvalidArgument("Invalid path");
      start = slash + 1;
    }
    auto decoded = net::PercentDecode(current, false);
    if (!decoded) return InvalidArgument("Invalid path");
    if (*decoded == current) return Status::Ok();
    current = std::move(*decoded);
  }
  return InvalidArgument("Invalid path");
}

std::string BaseName(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

// MLflow's _guess_mime_type: its text extensions (and MLmodel/MLproject) are
// text/plain, then Python's mimetypes, then application/octet-stream.
std::string ArtifactMimeType(const std::string& path) {
  std::string name = BaseName(path);
  size_t dot = name.rfind('.');
  std::string ext = (dot == std::string::npos || dot == 0) ? name : name.substr(dot + 1);
  static const char* kText[] = {"txt", "log", "err", "cfg", "conf", "cnf", "cf", "ini", "properties", "prop",
                                "hocon", "toml", "yaml", "yml", "xml", "json", "js", "py", "py3", "csv", "tsv",
                                "md", "rst", "ipynb", "MLmodel", "MLproject"};
  for (const char* t : kText) {
    if (ext == t) return "text/plain";
  }
  std::string lower = ext;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  static const std::pair<const char*, const char*> kTypes[] = {
      {"png", "image/png"},      {"jpg", "image/jpeg"},       {"jpeg", "image/jpeg"}, {"gif", "image/gif"},
      {"svg", "image/svg+xml"},  {"bmp", "image/bmp"},        {"webp", "image/webp"}, {"tif", "image/tiff"},
      {"tiff", "image/tiff"},    {"html", "text/html"},       {"htm", "text/html"},   {"pdf", "application/pdf"},
      {"mp4", "video/mp4"},      {"wav", "audio/x-wav"},      {"mp3", "audio/mpeg"},  {"zip", "application/zip"},
      {"gz", "application/gzip"}, {"parquet", "application/octet-stream"}};
  for (const auto& [e, t] : kTypes) {
    if (lower == e) return t;
  }
  return "application/octet-stream";
}

Status AsMlflowPathError(Status s) {
  if (s.code() == StatusCode::kPermissionDenied) return InvalidArgument(s.message());
  return s;
}

// MLflow's _send_artifact: always an attachment (the browser must not
// render an artifact on the server's origin), nosniff, the guessed type;
// Range requests answered 206/416 as Flask's send_file does.
net::HttpResponse SendArtifact(const net::HttpRequest& req, storage::ArtifactStore& artifacts,
                               const std::string& root_uri, const std::string& path) {
  if (Status safe = ValidatePathIsSafe(path); !safe.ok()) return ErrorResponse(safe);
  auto root = StoreRelative(root_uri);
  if (!root.ok()) return ErrorResponse(root.status());
  std::string full = root->empty() ? path : *root + "/" + path;
  auto reader = artifacts.OpenReader(full);
  if (!reader.ok()) {
    // A folder is not a file to send (MLflow's wording).
    auto listing = artifacts.List(full);
    if (listing.ok() && !listing->empty()) {
      return ErrorResponse(InvalidArgument("Artifact path refers to a directory, not a file: '" + path + "'"));
    }
    return ErrorResponse(AsMlflowPathError(reader.status()));
  }
  net::HttpResponse res;
  res.content_type = ArtifactMimeType(path);
  std::string name = BaseName(path);
  std::string quoted;
  for (char c : name) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) continue;
    quoted += c;
  }
  res.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + quoted + "\"");
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  SetArtifactBody(req, res, std::move(reader).value(), RangeStyle::kFlask);
  return res;
}

std::string Query(const net::HttpRequest& req, std::string_view key) { return std::string(req.QueryValue(key)); }

class UploadSink final : public net::RequestBodySink {
 public:
  explicit UploadSink(std::unique_ptr<storage::ArtifactWriter> writer) : writer_(std::move(writer)) {}
  Status Write(std::string_view chunk) override {
    written_ += chunk.size();
    if (written_ > kMaxUiUploadBytes) {
      return InvalidArgument("Artifact size is too large. Max size is 10MB.");
    }
    return writer_->Write(chunk);
  }
  net::HttpResponse Finish() override {
    if (written_ == 0) return ErrorResponse(InvalidArgument("Request must specify data."));
    if (Status s = writer_->Commit(); !s.ok()) return ErrorResponse(s);
    return net::HttpResponse::Json(200, "");  // MLflow answers an empty body
  }

 private:
  std::unique_ptr<storage::ArtifactWriter> writer_;
  uint64_t written_ = 0;
};

net::HttpResponse GraphqlResponse(const graphql::Schema& schema, net::HttpRequest& req) {
  graphql::Request gq;
  if (req.method == "GET") {
    gq.query = Query(req, "query");
    gq.operation_name = Query(req, "operationName");
    std::string vars = Query(req, "variables");
    if (!vars.empty()) {
      gq.variables = json::parse(vars, nullptr, false);
      if (gq.variables.is_discarded()) {
        return ErrorResponse(InvalidArgument("GraphQL 'variables' must be a JSON object"));
      }
    }
  } else {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return ErrorResponse(InvalidArgument("GraphQL requests must be a JSON object with a 'query' string"));
    }
    if (auto q = body.find("query"); q != body.end() && q->is_string()) gq.query = q->get<std::string>();
    if (auto v = body.find("variables"); v != body.end() && !v->is_null()) gq.variables = *v;
    if (auto o = body.find("operationName"); o != body.end() && o->is_string()) gq.operation_name = o->get<std::string>();
  }
  if (gq.query.empty()) return ErrorResponse(InvalidArgument("GraphQL request has no 'query'"));
  nlohmann::ordered_json result = graphql::Execute(schema, gq);
  return JsonOk(result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

void AddMlflowUiApiRoutes(net::Router& r, tracking::TrackingService& svc, registry::RegistryService& registry,
                          storage::ArtifactStore& artifacts) {
  AddRoute(r, "GET", "/get-artifact", [&svc, &artifacts](net::HttpRequest& req) {
    std::string run_id = Query(req, "run_id");
    if (run_id.empty()) run_id = Query(req, "run_uuid");
    if (!req.HasQuery("path")) return ErrorResponse(MissingParameter("path"));
    auto run = svc.GetRun(run_id);
    if (!run.ok()) return ErrorResponse(run.status());
    return SendArtifact(req, artifacts, run->info.artifact_uri, Query(req, "path"));
  });
  AddRoute(r, "GET", "/model-versions/get-artifact", [&registry, &artifacts](net::HttpRequest& req) {
    if (!req.HasQuery("path")) return ErrorResponse(MissingParameter("path"));
    auto uri = registry.GetDownloadUri(Query(req, "name"), Query(req, "version"));
    if (!uri.ok()) return ErrorResponse(uri.status());
    return SendArtifact(req, artifacts, *uri, Query(req, "path"));
  });
  for (const std::string base : {"/api/2.0/mlflow", "/ajax-api/2.0/mlflow"}) {
    AddRoute(r, "GET", base + "/logged-models/{model_id}/artifacts/files", [&svc, &artifacts](net::HttpRequest& req) {
      std::string path = Query(req, "artifact_file_path");
      if (path.empty()) {
        return net::HttpResponse::Json(
            400, json{{"error_code", "BAD_REQUEST"},
                      {"message", "Request must include the \"artifact_file_path\" query parameter."}}
                     .dump());
      }
      auto model = svc.GetLoggedModel(std::string(req.PathParam("model_id")), false);
      if (!model.ok()) return ErrorResponse(model.status());
      return SendArtifact(req, artifacts, model->artifact_uri, path);
    });
  }
  AddRoute(r, "GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk", [&svc](net::HttpRequest& req) {
    std::vector<std::string> run_ids = req.QueryValues("run_id");
    if (run_ids.empty()) {
      return ErrorResponse(InvalidArgument("GetMetricHistoryBulk request must specify at least one run_id."));
    }
    if (run_ids.size() > kMaxBulkRuns) {
      return ErrorResponse(InvalidArgument("GetMetricHistoryBulk request cannot specify more than " +
                                           std::to_string(kMaxBulkRuns) + " run_ids. Received " +
                                           std::to_string(run_ids.size()) + " run_ids."));
    }
    if (!req.HasQuery("metric_key")) {
      return ErrorResponse(InvalidArgument("GetMetricHistoryBulk request must specify a metric_key."));
    }
    std::string key = Query(req, "metric_key");
    int64_t max_results = kMaxBulkPoints;
    if (req.HasQuery("max_results")) {
      std::string v = Query(req, "max_results");
      char* end = nullptr;
      long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0') {
        return ErrorResponse(InvalidArgument("Invalid value '" + v + "' for parameter 'max_results'"));
      }
      max_results = std::min<int64_t>(n, kMaxBulkPoints);
    }
    std::sort(run_ids.begin(), run_ids.end());
    json metrics = json::array();
    for (const auto& run_id : run_ids) {
      auto page = svc.GetMetricHistory(run_id, key, std::nullopt, "");
      if (!page.ok()) return ErrorResponse(page.status());
      std::vector<storage::Metric> points = std::move(page->items);
      std::stable_sort(points.begin(), points.end(), [](const storage::Metric& a, const storage::Metric& b) {
        return std::tie(a.timestamp, a.step, a.value) < std::tie(b.timestamp, b.step, b.value);
      });
      for (const auto& m : points) {
        if (static_cast<int64_t>(metrics.size()) >= max_results) break;
        metrics.push_back({{"key", m.key},
                           {"value", DoubleJson(m.value)},
                           {"timestamp", m.timestamp},
                           {"step", m.step},
                           {"run_id", run_id}});
      }
    }
    return JsonOk(json{{"metrics", std::move(metrics)}}.dump());
  });
  auto& upload = r.AddUpload(
      "POST", "/ajax-api/2.0/mlflow/upload-artifact",
      [&svc, &artifacts](net::HttpRequest& req) -> StatusOr<std::unique_ptr<net::RequestBodySink>> {
        std::string run_id = Query(req, "run_uuid");
        if (run_id.empty()) return InvalidArgument("Request must specify run_uuid.");
        std::string path = Query(req, "path");
        if (path.empty()) return InvalidArgument("Request must specify path.");
        KILN_RETURN_IF_ERROR(ValidatePathIsSafe(path));
        KILN_ASSIGN_OR_RETURN(auto run, svc.GetRun(run_id));
        KILN_ASSIGN_OR_RETURN(auto root, StoreRelative(run.info.artifact_uri));
        std::string full = root.empty() ? path : root + "/" + path;
        auto writer = artifacts.OpenWriter(full);
        if (!writer.ok()) return AsMlflowPathError(writer.status());
        return std::unique_ptr<net::RequestBodySink>(std::make_unique<UploadSink>(std::move(writer).value()));
      });
  upload.render_error = RenderHttpLayerError;
  upload.max_body_bytes = kMaxUiUploadBytes;

  // kiln sends no telemetry anywhere; the UI is told so and stops asking.
  r.Add(
      "GET", "/ajax-api/3.0/mlflow/ui-telemetry",
      [](net::HttpRequest&) {
        return JsonOk(R"({"disable_ui_telemetry": true, "disable_ui_events": [], "ui_rollout_percentage": 0})");
      },
      net::Execution::kInline);
  r.Add(
      "POST", "/ajax-api/3.0/mlflow/ui-telemetry",
      [](net::HttpRequest&) { return JsonOk(R"({"status": "disabled"})"); }, net::Execution::kPool);

  // MLflow's assistant needs a local coding agent; kiln offers none, and says so.
  r.Add(
      "GET", "/ajax-api/3.0/mlflow/assistant/config",
      [](net::HttpRequest&) { return JsonOk(R"({"providers": {}, "projects": {}, "remote_access_allowed": false})"); },
      net::Execution::kInline);
  r.Add(
      "GET", "/ajax-api/3.0/mlflow/assistant/providers",
      [](net::HttpRequest&) { return JsonOk(R"({"providers": [], "resolved": null, "gateway_vendor_options": {}})"); },
      net::Execution::kInline);
  // MLflow answers this way when no deployments target is configured.
  for (const char* method : {"GET", "POST"}) {
    r.Add(
        method, "/ajax-api/2.0/mlflow/gateway-proxy", [](net::HttpRequest&) { return JsonOk(R"({"endpoints": []})"); },
        net::Execution::kInline);
  }
  AddRoute(r, "POST", "/ajax-api/2.0/mlflow/experiments/search-datasets", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    if (req.Header("content-type").find("application/json") == std::string_view::npos) {
      return InvalidArgument("Bad Request. Content-Type must be one of ['application/json'].");
    }
    KILN_ASSIGN_OR_RETURN(auto ids, f.StringList("experiment_ids"));
    if (ids.empty()) return InvalidArgument("SearchDatasets request must specify at least one experiment_id.");
    if (ids.size() > 20) {
      return InvalidArgument("SearchDatasets request cannot specify more than 20 experiment_ids. Received " +
                             std::to_string(ids.size()) + " experiment_ids.");
    }
    // Distinct (experiment, dataset name, digest, context) over the runs'
    // dataset inputs, deleted runs included, at most 1000 (MLflow's store).
    std::set<std::tuple<std::string, std::string, std::string, std::optional<std::string>>> seen;
    json summaries = json::array();
    tracking::SearchRunsRequest search;
    search.experiment_ids = ids;
    search.view_type = "ALL";
    search.max_results = 1000;
    while (summaries.size() < 1000) {
      KILN_ASSIGN_OR_RETURN(auto page, svc.SearchRuns(search));
      for (const auto& run : page.items) {
        for (const auto& in : run.dataset_inputs) {
          std::optional<std::string> context;
          for (const auto& t : in.tags) {
            if (t.key == "mlflow.data.context") context = t.value;
          }
          auto key = std::make_tuple(run.info.experiment_id, in.dataset.name, in.dataset.digest, context);
          if (summaries.size() >= 1000 || !seen.insert(key).second) continue;
          json s = {{"experiment_id", run.info.experiment_id}, {"name", in.dataset.name}, {"digest", in.dataset.digest}};
          if (context) s["context"] = *context;
          summaries.push_back(std::move(s));
        }
      }
      if (page.next_page_token.empty()) break;
      search.page_token = page.next_page_token;
    }
    json out = json::object();
    if (!summaries.empty()) out["dataset_summaries"] = std::move(summaries);
    return out;
  }));

  std::shared_ptr<const graphql::Schema> schema = MakeMlflowGraphqlSchema(svc, registry);
  for (const char* method : {"GET", "POST"}) {
    AddRoute(r, method, "/graphql", [schema](net::HttpRequest& req) { return GraphqlResponse(*schema, req); });
  }
}

Status AddMlflowUiStaticRoutes(net::Router& r, const MlflowUiOptions& options) {
  char resolved[PATH_MAX];
  if (options.build_dir.empty() || ::realpath(options.build_dir.c_str(), resolved) == nullptr) {
    return InvalidArgument("'" + options.build_dir + "' does not exist");
  }
  std::string root(resolved);
  auto index = ResolveUiPath(root, "index.html");
  if (!index.ok()) return InvalidArgument("'" + options.build_dir + "' holds no index.html (not MLflow's UI build)");
  std::string index_path = *index;
  net::Handler fallback = options.root_fallback;
  // MLflow's UI routes with the URL fragment (#/experiments/1), so "/" is
  // the only page; everything else it loads sits under /static-files/.
  r.Add(
      "GET", "/",
      [index_path, fallback](net::HttpRequest& req) {
        if (fallback && req.Header("accept").find("text/html") == std::string_view::npos) return fallback(req);
        return UiFileResponse(index_path, req.Header("if-none-match"));
      },
      net::Execution::kPool);
  r.Add(
      "GET", "/static-files/{path...}",
      [root](net::HttpRequest& req) {
        auto file = ResolveUiPath(root, req.PathParam("path"));
        if (!file.ok()) return net::HttpResponse::Text(404, "Not Found\n");
        return UiFileResponse(*file, req.Header("if-none-match"));
      },
      net::Execution::kPool);
  return Status::Ok();
}

StatusOr<std::string> FindMlflowUiBuild(const std::string& python) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path given(python);
  // An interpreter lives in <prefix>/bin; a folder may be the prefix itself.
  // The interpreter is not resolved through symlinks: a venv's bin/python
  // points at the system one, but its packages are in the venv.
  fs::path prefix = fs::is_directory(given, ec) ? given : given.parent_path().parent_path();
  if (!fs::is_directory(prefix, ec) || (!fs::is_directory(given, ec) && !fs::exists(given, ec))) {
    return InvalidArgument("'" + python + "' is neither a Python interpreter nor a Python environment folder");
  }
  std::vector<fs::path> candidates;
  for (const fs::path& lib : {prefix / "lib", prefix / "local" / "lib", prefix / "lib64"}) {
    if (!fs::is_directory(lib, ec)) continue;
    std::vector<fs::path> pythons;
    for (const auto& entry : fs::directory_iterator(lib, ec)) {
      if (entry.path().filename().string().rfind("python3", 0) == 0) pythons.push_back(entry.path());
    }
    std::sort(pythons.begin(), pythons.end());
    for (const auto& py : pythons) {
      for (const char* site : {"site-packages", "dist-packages"}) {
        candidates.push_back(py / site / "mlflow" / "server" / "js" / "build");
      }
    }
  }
  for (const auto& c : candidates) {
    if (fs::is_regular_file(c / "index.html", ec)) return c.string();
  }
  return NotFound("no mlflow/server/js/build with an index.html under " + prefix.string() +
                  "/lib/python3.*/{site,dist}-packages (is the mlflow package installed there?)");
}

}  // namespace kiln::api::mlflow
