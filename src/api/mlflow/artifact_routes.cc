// Run artifact listing and MLflow's proxied artifact API (mlflow-artifacts).
#include "api/mlflow/handler_util.h"
#include "api/mlflow/proxied_artifacts.h"
#include "api/mlflow/routes_internal.h"
#include "net/url.h"

namespace kiln::api::mlflow {

using nlohmann::json;

namespace {

std::string Join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "/" + b;
}

std::string ContentTypeFor(const std::string& path) {
  auto ends = [&](const char* ext) {
    size_t n = std::char_traits<char>::length(ext);
    return path.size() >= n && path.compare(path.size() - n, n, ext) == 0;
  };
  if (ends(".json")) return "application/json";
  if (ends(".txt") || ends(".log") || ends("MLmodel") || ends(".yaml") || ends(".yml") || ends(".py")) {
    return "text/plain; charset=utf-8";
  }
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".png")) return "image/png";
  if (ends(".jpg") || ends(".jpeg")) return "image/jpeg";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

std::string BaseName(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

class WriterSink final : public net::RequestBodySink {
 public:
  explicit WriterSink(std::unique_ptr<storage::ArtifactWriter> writer) : writer_(std::move(writer)) {}
  Status Write(std::string_view chunk) override { return writer_->Write(chunk); }
  net::HttpResponse Finish() override {
    Status s = writer_->Commit();
    if (!s.ok()) return ErrorResponse(s);
    return JsonOk("{}");
  }

 private:
  std::unique_ptr<storage::ArtifactWriter> writer_;
};

// MLflow answers an artifact path that escapes the root with 400
// INVALID_PARAMETER_VALUE "Invalid path" (clients and users match on that
// text); the store says PermissionDenied.
constexpr const char* kInvalidPath = "Invalid path";

Status AsMlflowPathError(Status s) {
  if (s.code() == StatusCode::kPermissionDenied) return InvalidArgument(kInvalidPath);
  return s;
}

template <typename T>
StatusOr<T> AsMlflowPathError(StatusOr<T> s) {
  if (!s.ok()) return AsMlflowPathError(s.status());
  return s;
}

// The HTTP layer decodes a path once. A path that still decodes into a
// traversal ("%252e%252e" -> "%2e%2e" -> "..") is an attack on whatever
// decodes it next (a proxy, a client, S3); refuse it as MLflow does.
Status RefuseEncodedTraversal(const std::string& path) {
  std::string current = path;
  for (int round = 0; round < 3; ++round) {
    auto decoded = net::PercentDecode(current, false);
    if (!decoded || *decoded == current) return Status::Ok();
    current = std::move(*decoded);
    if (current.find('\\') != std::string::npos || (!current.empty() && current[0] == '/') ||
        current.find('\0') != std::string::npos) {
      return InvalidArgument(kInvalidPath);  // decodes to an absolute path, a backslash or NUL
    }
    size_t start = 0;
    while (start <= current.size()) {
      size_t slash = current.find('/', start);
      if (slash == std::string::npos) slash = current.size();
      if (current.compare(start, slash - start, "..") == 0) {
        return InvalidArgument(kInvalidPath);  // decodes to a '..' segment
      }
      start = slash + 1;
    }
  }
  return Status::Ok();
}

// Registered model versions are immutable: their folder takes no writes
// through the artifact API, only reads.
Status RefuseReadOnly(const std::string& path, const std::string& prefix) {
  if (prefix.empty() || (path != prefix && !path.starts_with(prefix + "/"))) return Status::Ok();
  return PermissionDenied("'" + path + "' is in the model registry's storage, which is read-only; delete the model "
                          "version through the registry instead");
}

// Lists the direct children of `rel` under an artifact root URI the way
// MLflow's artifacts/list does: paths relative to the root, sizes for files.
StatusOr<json> ListUnderRoot(storage::ArtifactStore& artifacts, const std::string& root_uri, std::string rel) {
  json out = {{"root_uri", root_uri}};
  auto root = ProxiedArtifactPath(root_uri);
  if (!root) return out;  // a location the client writes to itself
  while (!rel.empty() && rel.back() == '/') rel.pop_back();
  KILN_RETURN_IF_ERROR(RefuseEncodedTraversal(rel));
  KILN_ASSIGN_OR_RETURN(auto entries, AsMlflowPathError(artifacts.List(Join(*root, rel))));
  json files = json::array();
  for (const auto& e : entries) {
    json file = {{"path", Join(rel, BaseName(e.path))}, {"is_dir", e.is_dir}};
    if (!e.is_dir) file["file_size"] = e.size;
    files.push_back(std::move(file));
  }
  if (!files.empty()) out["files"] = std::move(files);
  return out;
}

}  // namespace

void AddArtifactRoutes(net::Router& r, const std::string& p, const std::string& ap, tracking::TrackingService& svc,
                       storage::ArtifactStore& artifacts, const MlflowApiOptions& opt) {
  // Run artifact listing: paths are relative to the run's artifact root.
  AddRoute(r, "GET", p + "/artifacts/list", Json([&svc, &artifacts](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto run_id, f.String("run_id"));
    if (!run_id || run_id->empty()) {
      KILN_ASSIGN_OR_RETURN(run_id, f.String("run_uuid"));
    }
    if (!run_id || run_id->empty()) return MissingParameter("run_id");
    KILN_ASSIGN_OR_RETURN(auto path, f.String("path"));
    KILN_ASSIGN_OR_RETURN(auto run, svc.GetRun(*run_id));
    return ListUnderRoot(artifacts, run.info.artifact_uri, path.value_or(""));
  }));

  // Logged-model artifact listing (MLflow 3 UI).
  AddRoute(r, "GET", p + "/logged-models/{model_id}/artifacts/directories",
           Json([&svc, &artifacts](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
             KILN_ASSIGN_OR_RETURN(auto model, svc.GetLoggedModel(std::string(req.PathParam("model_id")), false));
             KILN_ASSIGN_OR_RETURN(auto path, f.String("artifact_directory_path"));
             return ListUnderRoot(artifacts, model.artifact_uri, path.value_or(""));
           }));

  // Proxied artifact API: paths are relative to the artifact store root.
  AddRoute(r, "GET", ap + "/artifacts", Json([&artifacts](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto path, f.String("path"));
    std::string rel = path.value_or("");
    while (!rel.empty() && rel.back() == '/') rel.pop_back();
    KILN_RETURN_IF_ERROR(RefuseEncodedTraversal(rel));
    KILN_ASSIGN_OR_RETURN(auto entries, AsMlflowPathError(artifacts.List(rel)));
    json files = json::array();
    for (const auto& e : entries) {
      json file = {{"path", BaseName(e.path)}, {"is_dir", e.is_dir}};
      if (!e.is_dir) file["file_size"] = e.size;
      files.push_back(std::move(file));
    }
    json out = json::object();
    if (!files.empty()) out["files"] = std::move(files);
    return out;
  }));
  AddRoute(r, "GET", ap + "/artifacts/{path...}", [&artifacts](net::HttpRequest& req) {
    std::string path(req.PathParam("path"));
    if (Status unsafe = RefuseEncodedTraversal(path); !unsafe.ok()) return ErrorResponse(unsafe);
    auto reader = artifacts.OpenReader(path);
    if (!reader.ok()) return ErrorResponse(AsMlflowPathError(reader.status()));
    net::HttpResponse res;
    res.content_type = ContentTypeFor(path);
    res.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + BaseName(path) + "\"");
    SetArtifactBody(req, res, std::move(reader).value(), RangeStyle::kStarlette);
    return res;
  });
  auto& upload = r.AddUpload("PUT", ap + "/artifacts/{path...}",
                             [&artifacts, opt](net::HttpRequest& req) -> StatusOr<std::unique_ptr<net::RequestBodySink>> {
                               std::string path(req.PathParam("path"));
                               if (path.empty()) return InvalidArgument("artifact path is required");
                               KILN_RETURN_IF_ERROR(RefuseEncodedTraversal(path));
                               KILN_RETURN_IF_ERROR(RefuseReadOnly(path, opt.read_only_prefix));
                               KILN_ASSIGN_OR_RETURN(auto writer, AsMlflowPathError(artifacts.OpenWriter(path)));
                               return std::unique_ptr<net::RequestBodySink>(std::make_unique<WriterSink>(std::move(writer)));
                             });
  upload.render_error = RenderHttpLayerError;
  upload.max_body_bytes = opt.max_upload_bytes;
  AddRoute(r, "DELETE", ap + "/artifacts/{path...}", [&artifacts, opt](net::HttpRequest& req) {
    std::string path(req.PathParam("path"));
    if (Status unsafe = RefuseEncodedTraversal(path); !unsafe.ok()) return ErrorResponse(unsafe);
    if (Status ro = RefuseReadOnly(path, opt.read_only_prefix); !ro.ok()) return ErrorResponse(ro);
    Status s = artifacts.Delete(path);
    // Deleting what is not there succeeds, as in MLflow.
    if (!s.ok() && s.code() != StatusCode::kNotFound) return ErrorResponse(AsMlflowPathError(s));
    return JsonOk("{}");
  });
  for (const char* op : {"create", "complete", "abort"}) {
    AddRoute(r, "POST", ap + "/mpu/" + op + "/{path...}", [](net::HttpRequest&) {
      return ErrorResponse(Unimplemented(
          "Multipart upload is not supported for the current artifact repository; upload with a single PUT."));
    });
  }
}

net::Route& AddRoute(net::Router& r, const std::string& method, const std::string& path, net::Handler handler) {
  auto& route = r.Add(method, path, std::move(handler), net::Execution::kPool);
  route.render_error = RenderHttpLayerError;
  return route;
}

void AddMlflowRoutes(net::Router& router, tracking::TrackingService& service, storage::ArtifactStore& artifacts,
                     const MlflowApiOptions& options) {
  for (const std::string base : {"/api/2.0", "/ajax-api/2.0"}) {
    const std::string p = base + "/mlflow";
    AddExperimentRoutes(router, p, service, options);
    AddRunRoutes(router, p, service);
    AddLoggedModelRoutes(router, p, service);
    AddArtifactRoutes(router, p, base + "/mlflow-artifacts", service, artifacts, options);
  }
  // What MLflow's server-info reports for a SQL store without workspaces,
  // trace archival, multipart transfers or the AI gateway (kiln has none);
  // the client probes the REST path, the web UI the ajax one.
  for (const char* path : {"/api/3.0/mlflow/server-info", "/ajax-api/3.0/mlflow/server-info"}) {
    router.Add(
        "GET", path,
        [](net::HttpRequest&) {
          return JsonOk(R"({"store_type": "SqlStore", "workspaces_enabled": false, "trace_archival_enabled": false, )"
                        R"("multipart_uploads_enabled": false, "multipart_downloads_enabled": false, )"
                        R"("presigned_upload_run_id_supported": false, "presigned_upload_model_id_supported": false, )"
                        R"("features_enabled": {"gateway": false}})");
        },
        net::Execution::kInline);
  }
}

}  // namespace kiln::api::mlflow
