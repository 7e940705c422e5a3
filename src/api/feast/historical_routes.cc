#include "api/feast/historical_routes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/ids.h"
#include "features/value_json.h"

namespace kiln::api::feast {
namespace {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

net::HttpResponse Error(unsigned http, std::string_view code, std::string_view message) {
  json body = {{"error_code", code}, {"message", message}};
  return net::HttpResponse::Json(http, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

net::HttpResponse ErrorFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument: return Error(400, "INVALID_ARGUMENT", s.message());
    case StatusCode::kFailedPrecondition: return Error(400, "FAILED_PRECONDITION", s.message());
    case StatusCode::kNotFound: return Error(404, "NOT_FOUND", s.message());
    case StatusCode::kAlreadyExists: return Error(409, "ALREADY_EXISTS", s.message());
    case StatusCode::kResourceExhausted: return Error(429, "RESOURCE_EXHAUSTED", s.message());
    case StatusCode::kUnavailable: return Error(503, "UNAVAILABLE", s.message());
    case StatusCode::kUnimplemented: return Error(501, "UNIMPLEMENTED", s.message());
    case StatusCode::kPermissionDenied: return Error(403, "PERMISSION_DENIED", s.message());
    default: return Error(500, "INTERNAL", s.message());
  }
}

StatusOr<storage::FileFormat> ParseFormat(const std::string& name, const std::string& path, bool allow_json) {
  std::string f = name;
  if (f.empty()) {
    const std::string ext = std::filesystem::path(path).extension().string();
    f = ext == ".csv" ? "csv" : ext == ".json" ? "json" : "parquet";
  }
  if (f == "parquet") return storage::FileFormat::kParquet;
  if (f == "csv") return storage::FileFormat::kCsv;
  if (f == "json" && allow_json) return storage::FileFormat::kJson;
  return InvalidArgument("unknown format '" + f + (allow_json ? "' (parquet, csv or json)" : "' (parquet or csv)"));
}

Status NeedAbsolute(const std::string& path, const char* what) {
  if (path.empty() || path[0] != '/') return InvalidArgument(std::string(what) + " must be an absolute server path");
  return Status::Ok();
}

// Unlinked temporary file served as the body; the descriptor keeps it alive
// until the response is sent.
class TempFileSource final : public net::ResponseBodySource {
 public:
  TempFileSource(int fd, int64_t size) : fd_(fd), size_(size) {}
  ~TempFileSource() override { ::close(fd_); }
  TempFileSource(const TempFileSource&) = delete;
  TempFileSource& operator=(const TempFileSource&) = delete;
  int64_t size() const override { return size_; }
  StatusOr<size_t> Read(char* buffer, size_t capacity) override {
    while (true) {
      ssize_t n = ::read(fd_, buffer, capacity);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return Internal(std::string("cannot read the result file: ") + std::strerror(errno));
    }
  }

 private:
  int fd_;
  int64_t size_;
};

struct Parsed {
  features::HistoricalRequest request;
  bool stream = false;
};

StatusOr<Parsed> ParseRequest(const std::string& body) {
  // Ordered: the entity columns keep the client's order in the output.
  ojson j = ojson::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("request body is not valid JSON");
  if (!j.is_object()) return InvalidArgument("request body must be a JSON object");
  Parsed p;
  auto& r = p.request;
  try {
    if (j.contains("project") && !j["project"].is_null()) r.project = j["project"].get<std::string>();
    // entities
    if (j.contains("entity_df") && j["entity_df"].is_string()) {
      r.entities.path = j["entity_df"].get<std::string>();
      KILN_ASSIGN_OR_RETURN(r.entities.format, ParseFormat("", r.entities.path, true));
    } else if (j.contains("entities") && j["entities"].is_object()) {
      const ojson& e = j["entities"];
      if (e.contains("path")) {
        r.entities.path = e["path"].get<std::string>();
        KILN_ASSIGN_OR_RETURN(r.entities.format,
                              ParseFormat(e.value("format", std::string()), r.entities.path, true));
      } else if (e.contains("rows")) {
        if (!e["rows"].is_array()) return InvalidArgument("entities.rows must be an array of objects");
        for (const auto& row : e["rows"]) {
          if (!row.is_object()) return InvalidArgument("entities.rows must be an array of objects");
        }
        if (e["rows"].empty()) return InvalidArgument("entities.rows is empty");
        r.entities.json_rows = e["rows"].dump();
      } else if (e.contains("columns")) {
        if (!e["columns"].is_object() || e["columns"].empty()) {
          return InvalidArgument("entities.columns must be an object of equally long arrays");
        }
        size_t n = 0;
        bool first = true;
        for (const auto& [name, col] : e["columns"].items()) {
          if (!col.is_array()) return InvalidArgument("entities.columns." + name + " must be an array");
          if (!first && col.size() != n) {
            return InvalidArgument("entities.columns have different lengths (" + name + " has " +
                                   std::to_string(col.size()) + ", expected " + std::to_string(n) + ")");
          }
          n = col.size();
          first = false;
        }
        r.entities.json_rows = e["columns"].dump();
      } else {
        return InvalidArgument("entities needs one of path, rows or columns");
      }
    } else {
      return InvalidArgument("entities is required ({path}, {rows} or {columns})");
    }
    if (!r.entities.path.empty()) KILN_RETURN_IF_ERROR(NeedAbsolute(r.entities.path, "entities.path"));
    if (j.contains("event_timestamp_column")) r.entities.timestamp_column = j["event_timestamp_column"].get<std::string>();
    // features
    if (j.contains("features") && !j["features"].is_null()) {
      if (!j["features"].is_array()) return InvalidArgument("features must be an array of \"view:feature\" strings");
      for (const auto& f : j["features"]) r.features.push_back(f.get<std::string>());
    }
    if (j.contains("feature_service") && !j["feature_service"].is_null()) {
      r.feature_service = j["feature_service"].get<std::string>();
    }
    if (j.contains("full_feature_names")) r.full_feature_names = j["full_feature_names"].get<bool>();
    // output
    std::string out_path, out_format = j.value("format", std::string());
    if (j.contains("output") && j["output"].is_string()) {
      out_path = j["output"].get<std::string>();
    } else if (j.contains("output") && j["output"].is_object()) {
      out_path = j["output"].value("path", std::string());
      out_format = j["output"].value("format", out_format);
    } else if (j.contains("output") && !j["output"].is_null()) {
      return InvalidArgument("output must be {path?, format?}");
    }
    KILN_ASSIGN_OR_RETURN(r.output_format, ParseFormat(out_format, out_path, false));
    if (out_path.empty()) {
      p.stream = true;
      r.output_path = (std::filesystem::temp_directory_path() /
                       ("kiln-historical-" + NewHexId() + (r.output_format == storage::FileFormat::kCsv ? ".csv" : ".parquet")))
                          .string();
    } else {
      KILN_RETURN_IF_ERROR(NeedAbsolute(out_path, "output.path"));
      r.output_path = out_path;
    }
  } catch (const ojson::exception& e) {
    return InvalidArgument(std::string("malformed request: ") + e.what());
  }
  return p;
}

net::HttpResponse Historical(features::HistoricalService& historical, net::HttpRequest& req) {
  StatusOr<Parsed> parsed = ParseRequest(req.body);
  if (!parsed.ok()) return ErrorFor(parsed.status());
  StatusOr<features::HistoricalResult> result = historical.Retrieve(parsed->request);
  if (!result.ok()) {
    if (parsed->stream) std::filesystem::remove(parsed->request.output_path);
    return ErrorFor(result.status());
  }
  if (!parsed->stream) {
    json body = {{"project", result->project}, {"rows", result->rows}, {"columns", result->columns},
                 {"path", result->output_path}};
    return net::HttpResponse::Json(200, body.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  const std::string& path = parsed->request.output_path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    if (fd >= 0) ::close(fd);
    std::filesystem::remove(path);
    return ErrorFor(Internal("cannot open the result file " + path + ": " + std::strerror(errno)));
  }
  ::unlink(path.c_str());
  net::HttpResponse res;
  res.status = 200;
  res.content_type =
      parsed->request.output_format == storage::FileFormat::kCsv ? "text/csv; charset=utf-8" : "application/vnd.apache.parquet";
  res.headers.emplace_back("X-Kiln-Rows", std::to_string(result->rows));
  res.stream = std::make_unique<TempFileSource>(fd, static_cast<int64_t>(st.st_size));
  return res;
}

std::string Rfc3339(int64_t us) {
  std::string out;
  features::AppendRfc3339(us, &out);
  return out;
}

json JobJson(const features::MaterializeProgress& p) {
  return json{{"job_id", p.job_id},
              {"state", p.state},
              {"project", p.project},
              {"views", p.views},
              {"view", p.view},
              {"rows_total", p.rows_total},
              {"rows_done", p.rows_done},
              {"rows_per_second", p.rows_per_second},
              {"eta_seconds", p.eta_seconds},
              {"error", p.error},
              {"skipped", p.skipped},
              {"started", Rfc3339(p.started_us)},
              {"finished", p.finished_us > 0 ? json(Rfc3339(p.finished_us)) : json(nullptr)}};
}

}  // namespace

void AddMaterializeJobRoutes(net::Router& router, features::Materializer& materializer) {
  auto render = [](unsigned status, std::string_view code, std::string_view message) {
    return Error(status, code, message);
  };
  net::Route& list = router.Add(
      "GET", "/api/v1/features/materialize/jobs",
      [&materializer](net::HttpRequest& req) {
        json jobs = json::array();
        for (const auto& p : materializer.ListJobs()) {
          // With auth on, only the jobs of projects the caller may view.
          if (req.access && !req.access->Allows({ObjectKind::kFeatureProject, p.project}, Role::kViewer)) continue;
          jobs.push_back(JobJson(p));
        }
        return net::HttpResponse::Json(200, json{{"jobs", jobs}}.dump(-1, ' ', false, json::error_handler_t::replace));
      },
      net::Execution::kInline);
  list.render_error = render;
  net::Route& one = router.Add(
      "GET", "/api/v1/features/materialize/jobs/{id}",
      [&materializer](net::HttpRequest& req) {
        auto p = materializer.GetJob(std::string(req.PathParam("id")));
        if (!p.ok()) return ErrorFor(p.status());
        return net::HttpResponse::Json(200, JobJson(*p).dump(-1, ' ', false, json::error_handler_t::replace));
      },
      net::Execution::kInline);
  one.render_error = render;
}

void AddHistoricalRoutes(net::Router& router, features::HistoricalService& historical) {
  net::Route& r = router.Add(
      "POST", "/api/v1/features/historical",
      [&historical](net::HttpRequest& req) { return Historical(historical, req); }, net::Execution::kPool);
  r.render_error = [](unsigned status, std::string_view code, std::string_view message) {
    return Error(status, code, message);
  };
}

}  // namespace kiln::api::feast
