#include "api/mlflow/request_fields.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace kiln::api::mlflow {
namespace {

Status BadValue(const std::string& key, const nlohmann::json& v, const char* expected) {
  std::string shown = v.dump();
  if (shown.size() > 200) shown = shown.substr(0, 200) + "...";
  return InvalidArgument("Invalid value " + shown + " for parameter '" + key + "' supplied: expected " + expected +
                         ".");
}

std::optional<int64_t> ParseInt(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> ParseDouble(const std::string& s) {
  if (s == "NaN" || s == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (s == "Infinity" || s == "inf" || s == "+Infinity") return std::numeric_limits<double>::infinity();
  if (s == "-Infinity" || s == "-inf") return -std::numeric_limits<double>::infinity();
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

StatusOr<std::optional<std::string>> StringOf(const nlohmann::json& obj, const std::string& key,
                                              const std::string& shown_key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return BadValue(shown_key, *it, "a string");
  return std::optional<std::string>(it->get<std::string>());
}

StatusOr<std::optional<int64_t>> Int64Of(const nlohmann::json& obj, const std::string& key,
                                         const std::string& shown_key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<int64_t>();
  if (it->is_number_integer()) return std::optional<int64_t>(it->get<int64_t>());
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (std::floor(d) == d && std::abs(d) < 9.2e18) return std::optional<int64_t>(static_cast<int64_t>(d));
  }
  if (it->is_string()) {
    if (auto v = ParseInt(it->get<std::string>())) return std::optional<int64_t>(*v);
  }
  return BadValue(shown_key, *it, "an integer");
}

StatusOr<std::optional<double>> DoubleOf(const nlohmann::json& obj, const std::string& key,
                                         const std::string& shown_key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<double>();
  if (it->is_number()) return std::optional<double>(it->get<double>());
  if (it->is_string()) {
    if (auto v = ParseDouble(it->get<std::string>())) return std::optional<double>(*v);
  }
  return BadValue(shown_key, *it, "a number");
}

}  // namespace

Status MissingParameter(const std::string& key) {
  return InvalidArgument("Missing value for required parameter '" + key +
                         "'. See the API docs for more information about request parameters.");
}

namespace {

// What req.parsed_body holds for MLflow routes: the document and the body it
// was parsed from, so a body changed after the parse is parsed again rather
// than answered from a stale document.
struct ParsedBody {
  const char* data = nullptr;
  size_t size = 0;
  std::shared_ptr<const nlohmann::json> doc;
};

}  // namespace

StatusOr<RequestFields> RequestFields::From(const net::HttpRequest& req) {
  RequestFields f;
  bool use_query = req.method == "GET" || (req.body.empty() && !req.query.empty()) ||
                   (req.body.empty() && req.method == "DELETE");
  if (use_query) {
    f.from_query_ = true;
    auto doc = std::make_shared<nlohmann::json>(nlohmann::json::object());
    for (const auto& [k, v] : req.query) {
      auto& slot = (*doc)[k];
      if (slot.is_null()) {
        slot = v;
      } else if (slot.is_array()) {
        slot.push_back(v);
      } else {
        slot = nlohmann::json::array({slot, v});
      }
    }
    f.json_ = std::move(doc);
    return f;
  }
  // MLflow reads a body only when it is declared JSON; anything else counts as
  // an empty request, which then fails on its first required field.
  const bool declared_json = req.Header("content-type").find("json") != std::string_view::npos;
  if (req.body.empty() || !declared_json) {
    f.json_ = std::make_shared<const nlohmann::json>(nlohmann::json::object());
    return f;
  }
  if (const auto* kept = std::any_cast<ParsedBody>(&req.parsed_body);
      kept != nullptr && kept->data == req.body.data() && kept->size == req.body.size()) {
    f.json_ = kept->doc;
    return f;
  }
  auto doc = std::make_shared<nlohmann::json>(nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false));
  if (doc->is_discarded()) return InvalidArgument("Malformed JSON in request body: " + req.body.substr(0, 200));
  if (!doc->is_object()) return InvalidArgument("Request body must be a JSON object");
  f.json_ = std::move(doc);
  req.parsed_body = ParsedBody{req.body.data(), req.body.size(), f.json_};
  return f;
}

bool RequestFields::Has(const std::string& key) const {
  auto it = json_->find(key);
  return it != json_->end() && !it->is_null();
}

StatusOr<std::optional<std::string>> RequestFields::String(const std::string& key) const {
  if (from_query_) {
    auto it = json_->find(key);
    if (it != json_->end() && it->is_array()) return std::optional<std::string>(it->front().get<std::string>());
  }
  return StringOf(*json_, key, key);
}

StatusOr<std::string> RequestFields::RequiredString(const std::string& key) const {
  KILN_ASSIGN_OR_RETURN(auto v, String(key));
  if (!v || v->empty()) return MissingParameter(key);
  return *v;
}

StatusOr<std::optional<int64_t>> RequestFields::Int64(const std::string& key) const { return Int64Of(*json_, key, key); }

StatusOr<std::optional<double>> RequestFields::Double(const std::string& key) const {
  return DoubleOf(*json_, key, key);
}

StatusOr<std::optional<bool>> RequestFields::Bool(const std::string& key) const {
  auto it = json_->find(key);
  if (it == json_->end() || it->is_null()) return std::optional<bool>();
  if (it->is_boolean()) return std::optional<bool>(it->get<bool>());
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    if (s == "true" || s == "True" || s == "1") return std::optional<bool>(true);
    if (s == "false" || s == "False" || s == "0") return std::optional<bool>(false);
  }
  return BadValue(key, *it, "a boolean");
}

StatusOr<std::vector<std::string>> RequestFields::StringList(const std::string& key) const {
  std::vector<std::string> out;
  auto it = json_->find(key);
  if (it == json_->end() || it->is_null()) return out;
  if (it->is_string() && from_query_) {  // a single repeated-field value in a query string
    out.push_back(it->get<std::string>());
    return out;
  }
  if (!it->is_array()) return BadValue(key, *it, "a list of strings");
  for (const auto& e : *it) {
    if (!e.is_string()) return BadValue(key, *it, "a list of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

StatusOr<std::vector<nlohmann::json>> RequestFields::Objects(const std::string& key) const {
  std::vector<nlohmann::json> out;
  auto it = json_->find(key);
  if (it == json_->end() || it->is_null()) return out;
  if (!it->is_array()) return BadValue(key, *it, "a list of objects");
  for (const auto& e : *it) {
    if (!e.is_object()) return BadValue(key, *it, "a list of objects");
    out.push_back(e);
  }
  return out;
}

StatusOr<std::optional<std::string>> RequestFields::StringIn(const nlohmann::json& obj, const std::string& key,
                                                             const std::string& context) {
  return StringOf(obj, key, context + "." + key);
}
StatusOr<std::optional<int64_t>> RequestFields::Int64In(const nlohmann::json& obj, const std::string& key,
                                                        const std::string& context) {
  return Int64Of(obj, key, context + "." + key);
}
StatusOr<std::optional<double>> RequestFields::DoubleIn(const nlohmann::json& obj, const std::string& key,
                                                        const std::string& context) {
  return DoubleOf(obj, key, context + "." + key);
}

}  // namespace kiln::api::mlflow
