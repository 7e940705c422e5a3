#include "cli/validate_cmd.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "net/http_client.h"

namespace kiln::cli {

namespace {

using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

// --- the throwaway model ---------------------------------------------------
// Two stumps over two features, base score 0: a < 0.5 adds 0.25 else 0.75,
// b < 0.5 adds 1.5 else 2.5. Every answer is exact in float.
constexpr float kLeaves[2][2] = {{0.25f, 0.75f}, {1.5f, 2.5f}};

double Expected(double a, double b) {
  return static_cast<double>(kLeaves[0][a < 0.5 ? 0 : 1]) + static_cast<double>(kLeaves[1][b < 0.5 ? 0 : 1]);
}

json Stump(int id, int feature) {
  return {{"id", id},
          {"tree_param", {{"num_nodes", "3"}, {"size_leaf_vector", "1"}, {"num_feature", "2"}, {"num_deleted", "0"}}},
          {"categories", json::array()},
          {"categories_nodes", json::array()},
          {"categories_segments", json::array()},
          {"categories_sizes", json::array()},
          {"left_children", {1, -1, -1}},
          {"right_children", {2, -1, -1}},
          {"parents", {2147483647, 0, 0}},
          {"split_indices", {feature, 0, 0}},
          {"split_conditions", {0.5, kLeaves[feature][0], kLeaves[feature][1]}},
          {"default_left", {0, 0, 0}},
          {"split_type", {0, 0, 0}},
          {"base_weights", {0.0, 0.0, 0.0}},
          {"loss_changes", {0.0, 0.0, 0.0}},
          {"sum_hessian", {1.0, 1.0, 1.0}}};
}

// Laid out as xgboost 2.1's Booster.save_model("model.json") writes it.
std::string ModelJson() {
  json gbtree = {{"name", "gbtree"},
                 {"model",
                  {{"gbtree_model_param", {{"num_trees", "2"}, {"num_parallel_tree", "1"}}},
                   {"iteration_indptr", {0, 1, 2}},
                   {"tree_info", {0, 0}},
                   {"trees", {Stump(0, 0), Stump(1, 1)}}}}};
  json m = {{"learner",
             {{"attributes", json::object()},
              {"feature_names", {"a", "b"}},
              {"feature_types", {"float", "float"}},
              {"gradient_booster", gbtree},
              {"learner_model_param",
               {{"base_score", "0"}, {"boost_from_average", "1"}, {"num_class", "0"}, {"num_feature", "2"},
                {"num_target", "1"}}},
              {"objective", {{"name", "reg:squarederror"}, {"reg_loss_param", {{"scale_pos_weight", "1"}}}}}}},
            {"version", {2, 1, 4}}};
  return m.dump();
}

std::string MlModelYaml(const std::string& run_id, const std::string& uuid) {
  return "artifact_path: model\n"
         "flavors:\n"
         "  python_function:\n"
         "    data: model.json\n"
         "    env:\n"
         "      virtualenv: python_env.yaml\n"
         "    loader_module: mlflow.xgboost\n"
         "    python_version: 3.11.0\n"
         "  xgboost:\n"
         "    code: null\n"
         "    data: model.json\n"
         "    model_class: xgboost.core.Booster\n"
         "    model_format: json\n"
         "    xgb_version: 2.1.4\n"
         "mlflow_version: 2.21.0\n"
         "model_uuid: " + uuid + "\n"
         "run_id: " + run_id + "\n"
         "signature:\n"
         "  inputs: '[{\"type\": \"double\", \"name\": \"a\", \"required\": true}, {\"type\": \"double\", \"name\": "
         "\"b\", \"required\": true}]'\n"
         "  outputs: '[{\"type\": \"tensor\", \"tensor-spec\": {\"dtype\": \"float32\", \"shape\": [-1]}}]'\n"
         "  params: null\n";
}

// --- helpers -----------------------------------------------------------------

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string RandomHex(int n) {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < n; ++i) out.push_back("0123456789abcdef"[rd() % 16]);
  return out;
}

std::string Url(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string OneLine(std::string s, size_t max = 240) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

// The error text of a kiln answer: its {"error_code","message"} when it has one.
std::string AnswerError(const net::HttpClientResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    std::string code = j.value("error_code", "");
    return "HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + code) + ": " +
           OneLine(j["message"].get<std::string>());
  }
  if (j.is_object() && j.contains("detail")) return "HTTP " + std::to_string(r.status) + ": " + OneLine(j["detail"].dump());
  return "HTTP " + std::to_string(r.status) + ": " + OneLine(r.body);
}

StatusOr<json> JsonAnswer(StatusOr<net::HttpClientResponse> r) {
  if (!r.ok()) return Status(StatusCode::kUnavailable, "no answer: " + r.status().message());
  if (r->status < 200 || r->status >= 300) return Status(StatusCode::kFailedPrecondition, AnswerError(*r));
  json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded()) return Status(StatusCode::kFailedPrecondition, "the answer is not JSON: " + OneLine(r->body));
  return j;
}

std::string Ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms < 10 ? "%.2f ms" : "%.0f ms", ms);
  return buf;
}

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size()))) - 1;
  return sorted[std::min(i, sorted.size() - 1)];
}

// Reads one prediction as a number: 2.75 or [2.75].
bool PredictionValue(const json& p, double* out) {
  if (p.is_number()) return *out = p.get<double>(), true;
  if (p.is_array() && p.size() == 1 && p[0].is_number()) return *out = p[0].get<double>(), true;
  return false;
}

struct Row {
  std::string phase;
  std::string name;
  bool ok = false;
  double ms = 0;
  std::string detail;
};

class Validator {
 public:
  explicit Validator(const ValidateOptions& o) : o_(o) {}

  int Run() {
    net::HttpClientOptions http;
    http.timeout = std::chrono::milliseconds(static_cast<int64_t>(o_.timeout_s * 1000));
    auto client = net::HttpClient::Create(o_.url, http);
    if (!client.ok()) {
      std::fprintf(stderr, "kiln validate: %s\n", client.status().message().c_str());
      return 2;
    }
    http_ = std::move(*client);
    std::printf("kiln validate %s\n\n", http_->base_url().c_str());

    const bool up = Check("health", "GET /health", [&] { return Health(); });
    Check("health", "GET /version", [&]() -> StatusOr<std::string> {
      auto r = http_->Get("/version");
      if (!r.ok()) return Status(StatusCode::kUnavailable, "no answer: " + r.status().message());
      if (r->status != 200 || r->body.empty()) return Status(StatusCode::kFailedPrecondition, AnswerError(*r));
      return "MLflow protocol " + OneLine(r->body, 40);
    });
    Check("health", "GET /metrics", [&]() -> StatusOr<std::string> {
      auto r = http_->Get("/metrics");
      if (!r.ok()) return Status(StatusCode::kUnavailable, "no answer: " + r.status().message());
      if (r->status != 200) return Status(StatusCode::kFailedPrecondition, AnswerError(*r));
      size_t families = 0;
      for (size_t at = r->body.find("# TYPE "); at != std::string::npos; at = r->body.find("# TYPE ", at + 1)) {
        ++families;
      }
      if (families == 0) return Status(StatusCode::kFailedPrecondition, "no Prometheus metric families");
      return std::to_string(families) + " Prometheus metric families";
    });

    const bool tracking = Check("integration", "tracking reachable", [&]() -> StatusOr<std::string> {
      KILN_ASSIGN_OR_RETURN(json j, JsonAnswer(http_->PostJson("/api/2.0/mlflow/experiments/search",
                                                                R"({"max_results": 1})")));
      return "experiments/search answered (" + std::to_string(j.value("experiments", json::array()).size()) +
             " shown)";
    });
    const bool experiment = Check("integration", "create an experiment", [&]() -> StatusOr<std::string> {
      if (!tracking) return Status(StatusCode::kFailedPrecondition, "skipped: tracking is not reachable");
      experiment_name_ = "kiln-validate-" + std::to_string(NowMs()) + "-" + RandomHex(4);
      KILN_ASSIGN_OR_RETURN(json j, JsonAnswer(http_->PostJson("/api/2.0/mlflow/experiments/create",
                                                                json{{"name", experiment_name_}}.dump())));
      experiment_id_ = j.value("experiment_id", "");
      if (experiment_id_.empty()) return Status(StatusCode::kFailedPrecondition, "no experiment_id in " + j.dump());
      return "experiment " + experiment_id_ + " (" + experiment_name_ + ")";
    });
    Check("integration", "feature retrieval", [&] { return Features(); });
    const bool deployed = Check("integration", "model deployment", [&]() -> StatusOr<std::string> {
      if (!experiment) return Status(StatusCode::kFailedPrecondition, "skipped: no experiment to log the model to");
      return Deploy();
    });
    const bool predicted = Check("integration", "model prediction", [&]() -> StatusOr<std::string> {
      if (!deployed) return Status(StatusCode::kFailedPrecondition, "skipped: no deployed model");
      return Predict();
    });
    Check("load", "predict under load", [&]() -> StatusOr<std::string> {
      if (!predicted) return Status(StatusCode::kFailedPrecondition, "skipped: prediction does not work");
      return Load();
    });
    (void)up;
    if (!o_.keep) Cleanup();
    return PrintSummary();
  }

 private:
  bool Check(const std::string& phase, const std::string& name, const std::function<StatusOr<std::string>()>& fn) {
    const auto start = SteadyClock::now();
    StatusOr<std::string> r = fn();
    Row row{phase, name, r.ok(), std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count(),
            r.ok() ? *r : r.status().message()};
    std::printf("  %-4s %-12s %-22s %s\n", row.ok ? "ok" : "FAIL", phase.c_str(), name.c_str(), row.detail.c_str());
    std::fflush(stdout);
    rows_.push_back(std::move(row));
    return rows_.back().ok;
  }

  StatusOr<std::string> Health() {
    auto r = http_->Get("/health");
    if (!r.ok()) return Status(StatusCode::kUnavailable, "no answer: " + r.status().message());
    json j = json::parse(r->body, nullptr, false);
    const std::string status = j.is_object() ? j.value("status", "") : "";
    if (r->status != 200 || status != "healthy") {
      return Status(StatusCode::kFailedPrecondition, "HTTP " + std::to_string(r->status) + ": " + OneLine(r->body));
    }
    return "healthy, version " + j.value("version", std::string("?"));
  }

  StatusOr<std::string> Features() {
    if (o_.features.empty() || o_.entity.empty()) {
      return Status(StatusCode::kFailedPrecondition,
                    "no feature view to read: pass --features view:feature[,...] and --entity key=value (kiln's "
                    "feature views are applied with Feast's SDK; validate does not create them)");
    }
    const size_t eq = o_.entity.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status(StatusCode::kInvalidArgument, "--entity must be key=value, got '" + o_.entity + "'");
    }
    const std::string key = o_.entity.substr(0, eq), text = o_.entity.substr(eq + 1);
    json value = text;
    int64_t i = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
    if (ec == std::errc() && p == text.data() + text.size()) value = i;
    json body = {{"features", o_.features}, {"entities", {{key, {value}}}}};
    KILN_ASSIGN_OR_RETURN(json j, JsonAnswer(http_->PostJson("/get-online-features", body.dump())));
    const json names = j.contains("metadata") ? j["metadata"].value("feature_names", json::array()) : json::array();
    const json results = j.value("results", json::array());
    std::string detail;
    bool all_present = true;
    for (const std::string& ref : o_.features) {
      const std::string feature = ref.substr(ref.find(':') + 1);
      auto it = std::find(names.begin(), names.end(), json(feature));
      if (it == names.end()) {
        return Status(StatusCode::kFailedPrecondition, "the answer has no feature '" + feature + "': " + OneLine(j.dump()));
      }
      const size_t col = static_cast<size_t>(it - names.begin());
      std::string status = "?";
      if (col < results.size() && results[col].contains("statuses") && !results[col]["statuses"].empty()) {
        status = results[col]["statuses"][0].get<std::string>();
      }
      all_present = all_present && status == "PRESENT";
      std::string shown = col < results.size() && results[col].contains("values") && !results[col]["values"].empty()
                              ? results[col]["values"][0].dump()
                              : "null";
      detail += (detail.empty() ? "" : ", ") + feature + "=" + shown + " (" + status + ")";
    }
    if (!all_present) {
      return Status(StatusCode::kFailedPrecondition, key + "=" + text + ": " + detail + ": not every feature has a value");
    }
    return key + "=" + text + ": " + detail;
  }

  StatusOr<std::string> Deploy() {
    const auto mlflow = std::string("/api/2.0/mlflow");
    KILN_ASSIGN_OR_RETURN(json run, JsonAnswer(http_->PostJson(
                                        mlflow + "/runs/create",
                                        json{{"experiment_id", experiment_id_}, {"start_time", NowMs()},
                                             {"run_name", "kiln-validate"}}
                                            .dump())));
    const json info = run["run"]["info"];
    run_id_ = info.value("run_id", "");
    const std::string artifact_uri = info.value("artifact_uri", "");
    const std::string prefix = "mlflow-artifacts:/";
    if (artifact_uri.rfind(prefix, 0) != 0) {
      return Status(StatusCode::kFailedPrecondition,
                    "the run's artifacts go to '" + artifact_uri +
                        "', not kiln's proxied artifact store (mlflow-artifacts:), which validate uploads through");
    }
    std::string root = artifact_uri.substr(prefix.size());
    while (!root.empty() && root.front() == '/') root.erase(0, 1);
    const std::string base = "/api/2.0/mlflow-artifacts/artifacts/" + root + "/model/";
    const std::vector<std::pair<std::string, std::string>> files = {
        {"model.json", ModelJson()},
        {"MLmodel", MlModelYaml(run_id_, RandomHex(32))},
        {"python_env.yaml", "python: 3.11.0\nbuild_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n"},
        {"requirements.txt", "mlflow==2.21.0\nxgboost==2.1.4\n"}};
    for (const auto& [name, content] : files) {
      auto put = http_->Request("PUT", base + name, content, {{"Content-Type", "application/octet-stream"}});
      if (!put.ok()) return Status(StatusCode::kUnavailable, "uploading " + name + ": " + put.status().message());
      if (put->status != 200) return Status(StatusCode::kFailedPrecondition, "uploading " + name + ": " + AnswerError(*put));
    }
    KILN_RETURN_IF_ERROR(JsonAnswer(http_->PostJson(mlflow + "/runs/update",
                                                    json{{"run_id", run_id_}, {"status", "FINISHED"}, {"end_time", NowMs()}}
                                                        .dump()))
                             .status());
    model_name_ = experiment_name_;
    KILN_RETURN_IF_ERROR(
        JsonAnswer(http_->PostJson(mlflow + "/registered-models/create", json{{"name", model_name_}}.dump())).status());
    KILN_ASSIGN_OR_RETURN(json mv, JsonAnswer(http_->PostJson(mlflow + "/model-versions/create",
                                                              json{{"name", model_name_},
                                                                   {"source", "runs:/" + run_id_ + "/model"},
                                                                   {"run_id", run_id_}}
                                                                  .dump())));
    version_ = mv["model_version"].value("version", "");
    std::string status = mv["model_version"].value("status", "");
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(static_cast<int64_t>(o_.timeout_s * 1000));
    while (status != "READY") {
      if (status == "FAILED_REGISTRATION") {
        return Status(StatusCode::kFailedPrecondition,
                      "version " + version_ + " failed registration: " + mv["model_version"].value("status_message", ""));
      }
      if (SteadyClock::now() > deadline) {
        return Status(StatusCode::kDeadlineExceeded, "version " + version_ + " still " + status + " after the timeout");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      KILN_ASSIGN_OR_RETURN(mv, JsonAnswer(http_->Get(mlflow + "/model-versions/get?name=" + Url(model_name_) +
                                                      "&version=" + Url(version_))));
      status = mv["model_version"].value("status", "");
    }
    KILN_ASSIGN_OR_RETURN(json dep, JsonAnswer(http_->PostJson("/api/v1/models/deploy",
                                                               json{{"model_name", model_name_},
                                                                    {"model_version", version_},
                                                                    {"target_stage", "staging"}}
                                                                   .dump())));
    endpoint_ = dep.value("endpoint", "");
    if (endpoint_.empty()) return Status(StatusCode::kFailedPrecondition, "the deploy answer names no endpoint: " + dep.dump());
    return model_name_ + " v" + version_ + " -> endpoint " + endpoint_ + " revision " +
           std::to_string(dep.value("revision", int64_t{0}));
  }

  std::string PredictPath() const { return "/api/v1/endpoints/" + Url(endpoint_) + "/predict"; }

  StatusOr<std::string> Predict() {
    // Columns given out of the signature's order: kiln must put them back.
    const std::vector<double> a = {0.2, 0.7, 0.5}, b = {0.9, 0.1, 0.49};
    json body = {{"inputs", {{"b", b}, {"a", a}}}};
    KILN_ASSIGN_OR_RETURN(json j, JsonAnswer(http_->PostJson(PredictPath(), body.dump())));
    const json preds = j.value("predictions", json::array());
    if (!preds.is_array() || preds.size() != a.size()) {
      return Status(StatusCode::kFailedPrecondition, "expected " + std::to_string(a.size()) + " predictions: " + OneLine(j.dump()));
    }
    std::string got;
    for (size_t i = 0; i < a.size(); ++i) {
      double v = 0;
      if (!PredictionValue(preds[i], &v) || v != Expected(a[i], b[i])) {
        return Status(StatusCode::kFailedPrecondition, "prediction " + std::to_string(i) + " is " + preds[i].dump() +
                                                           ", the trees give " + json(Expected(a[i], b[i])).dump());
      }
      got += (got.empty() ? "" : ", ") + json(v).dump();
    }
    const std::string answered = j.contains("model_version") ? j["model_version"].dump() : "?";
    if (answered != "\"" + version_ + "\"" && answered != version_) {
      return Status(StatusCode::kFailedPrecondition, "answered by model_version " + answered + ", deployed " + version_);
    }
    return "[" + got + "] as the trees give, by version " + version_;
  }

  StatusOr<std::string> Load() {
    const std::string body = json{{"inputs", {{"a", {0.2}}, {"b", {0.9}}}}}.dump();
    const std::string path = PredictPath();
    std::atomic<uint64_t> errors{0}, requests{0};
    std::mutex mu;
    std::vector<double> latencies;
    std::string first_error;
    const auto start = SteadyClock::now();
    const auto end = start + std::chrono::milliseconds(static_cast<int64_t>(o_.duration_s * 1000));
    std::vector<std::thread> threads;
    for (int t = 0; t < o_.threads; ++t) {
      threads.emplace_back([&] {
        std::vector<double> mine;
        auto client = net::HttpClient::Create(http_->base_url());
        if (!client.ok()) return;
        while (SteadyClock::now() < end) {
          const auto t0 = SteadyClock::now();
          auto r = (*client)->PostJson(path, body);
          mine.push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count());
          ++requests;
          if (!r.ok() || r->status < 200 || r->status >= 300) {
            ++errors;
            std::lock_guard lock(mu);
            if (first_error.empty()) first_error = r.ok() ? AnswerError(*r) : r.status().message();
          }
        }
        std::lock_guard lock(mu);
        latencies.insert(latencies.end(), mine.begin(), mine.end());
      });
    }
    for (auto& t : threads) t.join();
    const double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
    if (latencies.empty()) return Status(StatusCode::kFailedPrecondition, "no request completed");
    std::sort(latencies.begin(), latencies.end());
    double sum = 0;
    for (double l : latencies) sum += l;
    const double avg = sum / static_cast<double>(latencies.size());
    const double p50 = Percentile(latencies, 0.50), p95 = Percentile(latencies, 0.95), p99 = Percentile(latencies, 0.99);
    const double error_rate = static_cast<double>(errors.load()) / static_cast<double>(requests.load());
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "%d threads x %.0f s: %llu requests (%.0f/s), avg %s, p50 %s, p95 %s, p99 %s, errors %llu (%.2f %%)",
                  o_.threads, o_.duration_s, static_cast<unsigned long long>(requests.load()),
                  static_cast<double>(requests.load()) / seconds, Ms(avg).c_str(), Ms(p50).c_str(), Ms(p95).c_str(),
                  Ms(p99).c_str(), static_cast<unsigned long long>(errors.load()), error_rate * 100);
    std::string detail = buf;
    std::string breached;
    if (avg > o_.max_avg_ms) breached += "; avg above --max-avg-ms " + Ms(o_.max_avg_ms);
    if (p95 > o_.max_p95_ms) breached += "; p95 above --max-p95-ms " + Ms(o_.max_p95_ms);
    if (error_rate > o_.max_error_rate) {
      breached += "; error rate above --max-error-rate " + json(o_.max_error_rate).dump() + " (first: " + first_error + ")";
    }
    if (!breached.empty()) return Status(StatusCode::kFailedPrecondition, detail + breached);
    return detail;
  }

  void Cleanup() {
    auto warn = [](const std::string& what, StatusOr<net::HttpClientResponse> r) {
      if (!r.ok()) {
        std::fprintf(stderr, "kiln validate: cleanup: %s: %s\n", what.c_str(), r.status().message().c_str());
      } else if (r->status >= 300 && r->status != 404) {
        std::fprintf(stderr, "kiln validate: cleanup: %s: %s\n", what.c_str(), AnswerError(*r).c_str());
      }
    };
    if (!endpoint_.empty()) warn("deleting endpoint " + endpoint_, http_->Request("DELETE", "/api/v1/endpoints/" + Url(endpoint_)));
    if (!model_name_.empty()) {
      warn("deleting model " + model_name_,
           http_->Request("DELETE", "/api/2.0/mlflow/registered-models/delete", json{{"name", model_name_}}.dump(),
                          {{"Content-Type", "application/json"}}));
    }
    if (!experiment_id_.empty()) {
      warn("deleting experiment " + experiment_id_,
           http_->PostJson("/api/2.0/mlflow/experiments/delete", json{{"experiment_id", experiment_id_}}.dump()));
    }
  }

  int PrintSummary() {
    size_t name_w = 5, phase_w = 5;
    for (const Row& r : rows_) {
      name_w = std::max(name_w, r.name.size());
      phase_w = std::max(phase_w, r.phase.size());
    }
    std::printf("\n%-*s  %-*s  %-6s  %10s  %s\n", static_cast<int>(phase_w), "PHASE", static_cast<int>(name_w), "CHECK",
                "RESULT", "TIME", "DETAIL");
    size_t passed = 0;
    for (const Row& r : rows_) {
      passed += r.ok;
      std::printf("%-*s  %-*s  %-6s  %10s  %s\n", static_cast<int>(phase_w), r.phase.c_str(),
                  static_cast<int>(name_w), r.name.c_str(), r.ok ? "PASS" : "FAIL", Ms(r.ms).c_str(), r.detail.c_str());
    }
    std::printf("\n%zu of %zu checks passed: %s\n", passed, rows_.size(), passed == rows_.size() ? "PASS" : "FAIL");
    return passed == rows_.size() ? 0 : 1;
  }

  const ValidateOptions& o_;
  std::unique_ptr<net::HttpClient> http_;
  std::vector<Row> rows_;
  std::string experiment_name_, experiment_id_, run_id_, model_name_, version_, endpoint_;
};

}  // namespace

void RegisterValidateCommand(CLI::App& app, ValidateOptions& o) {
  auto* v = app.add_subcommand("validate",
                               "Check a running kiln end to end: health, tracking, features, deploy, predict, load");
  v->add_option("url", o.url, "The kiln to check, e.g. http://127.0.0.1:5000")->required();
  v->add_option("--threads", o.threads, "Load test client threads")->check(CLI::Range(1, 256));
  v->add_option("--duration-s", o.duration_s, "Load test duration in seconds")->check(CLI::Range(0.1, 3600.0));
  v->add_option("--max-avg-ms", o.max_avg_ms, "Load test: highest acceptable average latency (ms)");
  v->add_option("--max-p95-ms", o.max_p95_ms, "Load test: highest acceptable p95 latency (ms)");
  v->add_option("--max-error-rate", o.max_error_rate, "Load test: highest acceptable share of failed requests")
      ->check(CLI::Range(0.0, 1.0));
  v->add_option("--features", o.features, "Features to read for the retrieval check (view:feature, comma-separated)")
      ->delimiter(',');
  v->add_option("--entity", o.entity, "Entity of the retrieval check (join_key=value)");
  v->add_option("--timeout-s", o.timeout_s, "Timeout of one request, and of waiting for the model version");
  v->add_flag("--keep", o.keep, "Keep the throwaway experiment, model and endpoint");
}

bool ValidateCommandChosen(const CLI::App& app) { return app.got_subcommand("validate"); }

int RunValidate(const ValidateOptions& options) { return Validator(options).Run(); }

}  // namespace kiln::cli
