#include "api/mlflow/trace_json.h"

#include <charconv>
#include <cstdio>

#include "api/mlflow/request_fields.h"
#include "core/base64.h"

namespace kiln::api::mlflow {

using nlohmann::json;

namespace {

// Days since 1970-01-01 for a proleptic Gregorian date, and back
// (H. Hinnant's algorithms).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp + (mp < 10 ? 3 : -9);
  y += m <= 2;
}

bool Digits(const std::string& s, size_t pos, size_t n, int64_t& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

Status BadField(const std::string& field, const std::string& value, const char* expected) {
  return InvalidArgument("Invalid value '" + value.substr(0, 100) + "' for parameter '" + field + "': expected " +
                         expected);
}

std::string HexOfBase64(const std::string& b64) {
  auto raw = Base64Decode(b64);
  if (!raw) return "";
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : *raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

int64_t IntOf(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_unsigned()) return static_cast<int64_t>(v.get<uint64_t>());
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    int64_t out = 0;
    uint64_t u = 0;
    if (std::from_chars(s.data(), s.data() + s.size(), out).ec == std::errc()) return out;
    if (std::from_chars(s.data(), s.data() + s.size(), u).ec == std::errc()) return static_cast<int64_t>(u);
  }
  return 0;
}

json StringMap(const std::map<std::string, std::string>& m) {
  json out = json::object();
  for (const auto& [k, v] : m) out[k] = v;
  return out;
}

json KeyValueList(const std::map<std::string, std::string>& m) {
  json out = json::array();
  for (const auto& [k, v] : m) out.push_back({{"key", k}, {"value", v}});
  return out;
}

StatusOr<std::map<std::string, std::string>> StringMapIn(const json& obj, const std::string& key,
                                                         const std::string& context) {
  std::map<std::string, std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_object()) return InvalidArgument("Invalid value for parameter '" + context + "." + key + "': expected a map");
  for (auto e = it->begin(); e != it->end(); ++e) {
    if (!e->is_string()) {
      return InvalidArgument("Invalid value for '" + context + "." + key + "[" + e.key() + "]': expected a string");
    }
    out[e.key()] = e->get<std::string>();
  }
  return out;
}

StatusOr<std::string> EnumName(const json& obj, const std::string& key, const std::vector<std::string>& names,
                               const std::string& context) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return names[0];
  if (it->is_number_integer()) {
    int64_t i = it->get<int64_t>();
    if (i >= 0 && i < static_cast<int64_t>(names.size())) return names[static_cast<size_t>(i)];
  } else if (it->is_string()) {
    for (const auto& n : names) {
      if (n == it->get<std::string>()) return n;
    }
  }
  return InvalidArgument("Invalid value " + it->dump() + " for parameter '" + context + "." + key + "'");
}

}  // namespace

std::string FormatTimestamp(int64_t ms) {
  int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
  int64_t rem = ms - days * 86400000;
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lld", static_cast<long long>(y), m, d,
                static_cast<long long>(rem / 3600000), static_cast<long long>(rem / 60000 % 60),
                static_cast<long long>(rem / 1000 % 60));
  std::string out = buf;
  // As protobuf prints Timestamps: no fraction for whole seconds, else milliseconds.
  if (rem % 1000) {
    std::snprintf(buf, sizeof(buf), ".%03lld", static_cast<long long>(rem % 1000));
    out += buf;
  }
  return out + "Z";
}

StatusOr<int64_t> ParseTimestamp(const std::string& s, const std::string& field) {
  int64_t y, mo, d, h, mi, sec;
  if (s.size() < 20 || !Digits(s, 0, 4, y) || s[4] != '-' || !Digits(s, 5, 2, mo) || s[7] != '-' ||
      !Digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !Digits(s, 11, 2, h) || s[13] != ':' ||
      !Digits(s, 14, 2, mi) || s[16] != ':' || !Digits(s, 17, 2, sec) || mo < 1 || mo > 12 || d < 1 || d > 31) {
    return BadField(field, s, "an RFC 3339 timestamp");
  }
  size_t i = 19;
  int64_t frac_ms = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return BadField(field, s, "an RFC 3339 timestamp");
    std::string frac = s.substr(start, i - start);
    while (frac.size() < 3) frac += '0';
    Digits(frac, 0, 3, frac_ms);
  }
  int64_t offset_min = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int64_t oh, om;
    if (!Digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !Digits(s, i + 4, 2, om)) {
      return BadField(field, s, "an RFC 3339 timestamp");
    }
    offset_min = (oh * 60 + om) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return BadField(field, s, "an RFC 3339 timestamp");
  }
  if (i != s.size()) return BadField(field, s, "an RFC 3339 timestamp");
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 24 + h) * 60 + mi - offset_min) * 60000 + sec * 1000 + frac_ms;
}

std::string FormatDuration(int64_t ms) {
  char buf[48];
  const char* sign = ms < 0 ? "-" : "";
  int64_t a = ms < 0 ? -ms : ms;
  if (a % 1000 == 0) {
    std::snprintf(buf, sizeof(buf), "%s%llds", sign, static_cast<long long>(a / 1000));
  } else {
    std::snprintf(buf, sizeof(buf), "%s%lld.%03llds", sign, static_cast<long long>(a / 1000),
                  static_cast<long long>(a % 1000));
  }
  return buf;
}

StatusOr<int64_t> ParseDuration(const std::string& s, const std::string& field) {
  if (s.size() < 2 || s.back() != 's') return BadField(field, s, "a duration such as \"1.5s\"");
  std::string body = s.substr(0, s.size() - 1);
  bool neg = !body.empty() && body[0] == '-';
  if (neg) body.erase(0, 1);
  size_t dot = body.find('.');
  std::string whole = body.substr(0, dot);
  std::string frac = dot == std::string::npos ? "" : body.substr(dot + 1);
  int64_t secs = 0, frac_ms = 0;
  if (whole.empty() || !Digits(whole, 0, whole.size(), secs)) return BadField(field, s, "a duration such as \"1.5s\"");
  if (!frac.empty()) {
    int64_t ignored = 0;
    if (!Digits(frac, 0, frac.size(), ignored)) return BadField(field, s, "a duration such as \"1.5s\"");
    while (frac.size() < 3) frac += '0';
    Digits(frac, 0, 3, frac_ms);
  }
  int64_t ms = secs * 1000 + frac_ms;
  return neg ? -ms : ms;
}

StatusOr<storage::TraceInfo> DecodeTraceInfoV3(const json& j, std::vector<storage::Assessment>* assessments) {
  const std::string ctx = "trace.trace_info";
  if (!j.is_object()) return MissingParameter(ctx);
  storage::TraceInfo t;
  KILN_ASSIGN_OR_RETURN(auto id, RequestFields::StringIn(j, "trace_id", ctx));
  t.trace_id = id.value_or("");
  KILN_ASSIGN_OR_RETURN(auto crid, RequestFields::StringIn(j, "client_request_id", ctx));
  t.client_request_id = crid.value_or("");
  auto loc = j.find("trace_location");
  if (loc == j.end() || !loc->is_object()) return MissingParameter(ctx + ".trace_location");
  KILN_ASSIGN_OR_RETURN(std::string type, EnumName(*loc, "type",
                                                   {"TRACE_LOCATION_TYPE_UNSPECIFIED", "MLFLOW_EXPERIMENT",
                                                    "INFERENCE_TABLE"},
                                                   ctx + ".trace_location"));
  auto exp = loc->find("mlflow_experiment");
  if (exp == loc->end() || !exp->is_object()) {
    return InvalidArgument("kiln stores traces in MLflow experiments only; trace_location type " + type +
                           " is not supported");
  }
  KILN_ASSIGN_OR_RETURN(auto exp_id, RequestFields::StringIn(*exp, "experiment_id", ctx + ".trace_location"));
  t.experiment_id = exp_id.value_or("");
  KILN_ASSIGN_OR_RETURN(t.request_preview, RequestFields::StringIn(j, "request_preview", ctx));
  KILN_ASSIGN_OR_RETURN(t.response_preview, RequestFields::StringIn(j, "response_preview", ctx));
  KILN_ASSIGN_OR_RETURN(auto rt, RequestFields::StringIn(j, "request_time", ctx));
  if (!rt) return MissingParameter(ctx + ".request_time");
  KILN_ASSIGN_OR_RETURN(t.request_time_ms, ParseTimestamp(*rt, ctx + ".request_time"));
  KILN_ASSIGN_OR_RETURN(auto dur, RequestFields::StringIn(j, "execution_duration", ctx));
  if (dur) {
    KILN_ASSIGN_OR_RETURN(int64_t d, ParseDuration(*dur, ctx + ".execution_duration"));
    t.execution_duration_ms = d;
  }
  KILN_ASSIGN_OR_RETURN(t.state, EnumName(j, "state", {"STATE_UNSPECIFIED", "OK", "ERROR", "IN_PROGRESS"}, ctx));
  KILN_ASSIGN_OR_RETURN(t.metadata, StringMapIn(j, "trace_metadata", ctx));
  KILN_ASSIGN_OR_RETURN(t.tags, StringMapIn(j, "tags", ctx));
  if (auto a = j.find("assessments"); a != j.end() && a->is_array() && assessments) {
    for (size_t i = 0; i < a->size(); ++i) {
      KILN_ASSIGN_OR_RETURN(auto decoded, DecodeAssessment((*a)[i], ctx + ".assessments[" + std::to_string(i) + "]"));
      assessments->push_back(std::move(decoded));
    }
  }
  return t;
}

json TraceInfoV3Json(const tracking::TraceRecord& r) {
  const storage::TraceInfo& t = r.info;
  json out = {{"trace_id", t.trace_id},
              {"trace_location",
               {{"type", "MLFLOW_EXPERIMENT"}, {"mlflow_experiment", {{"experiment_id", t.experiment_id}}}}},
              {"request_time", FormatTimestamp(t.request_time_ms)},
              {"state", t.state},
              {"trace_metadata", StringMap(t.metadata)},
              {"tags", StringMap(t.tags)}};
  if (!t.client_request_id.empty()) out["client_request_id"] = t.client_request_id;
  if (t.request_preview) out["request_preview"] = *t.request_preview;
  if (t.response_preview) out["response_preview"] = *t.response_preview;
  if (t.execution_duration_ms) out["execution_duration"] = FormatDuration(*t.execution_duration_ms);
  if (!r.assessments.empty()) {
    json arr = json::array();
    for (const auto& a : r.assessments) arr.push_back(AssessmentJson(a));
    out["assessments"] = std::move(arr);
  }
  return out;
}

json TraceInfoV2Json(const tracking::TraceRecord& r) {
  const storage::TraceInfo& t = r.info;
  std::string status = t.state == storage::kTraceStateUnspecified ? "TRACE_STATUS_UNSPECIFIED" : t.state;
  json out = {{"request_id", t.trace_id},
              {"experiment_id", t.experiment_id},
              {"timestamp_ms", t.request_time_ms},
              {"status", status},
              {"request_metadata", KeyValueList(t.metadata)},
              {"tags", KeyValueList(t.tags)}};
  if (t.execution_duration_ms) out["execution_time_ms"] = *t.execution_duration_ms;
  return out;
}

std::string StateFromV2Status(const std::string& status) {
  if (status == "TRACE_STATUS_UNSPECIFIED" || status.empty()) return storage::kTraceStateUnspecified;
  return status;
}

StatusOr<storage::Assessment> DecodeAssessment(const json& j, const std::string& ctx) {
  if (!j.is_object()) return MissingParameter(ctx);
  storage::Assessment a;
  KILN_ASSIGN_OR_RETURN(auto id, RequestFields::StringIn(j, "assessment_id", ctx));
  KILN_ASSIGN_OR_RETURN(auto name, RequestFields::StringIn(j, "assessment_name", ctx));
  KILN_ASSIGN_OR_RETURN(auto trace_id, RequestFields::StringIn(j, "trace_id", ctx));
  KILN_ASSIGN_OR_RETURN(auto span_id, RequestFields::StringIn(j, "span_id", ctx));
  KILN_ASSIGN_OR_RETURN(a.rationale, RequestFields::StringIn(j, "rationale", ctx));
  KILN_ASSIGN_OR_RETURN(auto overrides, RequestFields::StringIn(j, "overrides", ctx));
  a.assessment_id = id.value_or("");
  a.name = name.value_or("");
  a.trace_id = trace_id.value_or("");
  a.span_id = span_id.value_or("");
  a.overrides = overrides.value_or("");
  if (auto src = j.find("source"); src != j.end() && src->is_object()) {
    KILN_ASSIGN_OR_RETURN(a.source_type, EnumName(*src, "source_type",
                                                  {"SOURCE_TYPE_UNSPECIFIED", "HUMAN", "LLM_JUDGE", "CODE"},
                                                  ctx + ".source"));
    KILN_ASSIGN_OR_RETURN(auto sid, RequestFields::StringIn(*src, "source_id", ctx + ".source"));
    a.source_id = sid.value_or("");
  }
  KILN_ASSIGN_OR_RETURN(auto created, RequestFields::StringIn(j, "create_time", ctx));
  if (created) {
    KILN_ASSIGN_OR_RETURN(a.create_time_ms, ParseTimestamp(*created, ctx + ".create_time"));
  }
  KILN_ASSIGN_OR_RETURN(auto updated, RequestFields::StringIn(j, "last_update_time", ctx));
  if (updated) {
    KILN_ASSIGN_OR_RETURN(a.last_update_time_ms, ParseTimestamp(*updated, ctx + ".last_update_time"));
  }
  KILN_ASSIGN_OR_RETURN(a.metadata, StringMapIn(j, "metadata", ctx));
  auto fb = j.find("feedback");
  auto ex = j.find("expectation");
  const bool has_fb = fb != j.end() && fb->is_object();
  const bool has_ex = ex != j.end() && ex->is_object();
  if (j.contains("issue")) return InvalidArgument("Issue assessments are not supported by kiln");
  if (has_fb == has_ex) return InvalidArgument("An assessment needs exactly one of 'feedback' or 'expectation' (" + ctx + ")");
  a.kind = has_fb ? "feedback" : "expectation";
  a.value_json = (has_fb ? *fb : *ex).dump();
  return a;
}

json AssessmentJson(const storage::Assessment& a) {
  json out = {{"assessment_id", a.assessment_id},
              {"assessment_name", a.name},
              {"trace_id", a.trace_id},
              {"source", {{"source_type", a.source_type}, {"source_id", a.source_id}}},
              {"create_time", FormatTimestamp(a.create_time_ms)},
              {"last_update_time", FormatTimestamp(a.last_update_time_ms)},
              {"valid", a.valid}};
  if (!a.span_id.empty()) out["span_id"] = a.span_id;
  json value = json::parse(a.value_json, nullptr, false);
  out[a.kind] = value.is_discarded() ? json::object() : value;
  if (a.rationale) out["rationale"] = *a.rationale;
  if (!a.metadata.empty()) out["metadata"] = StringMap(a.metadata);
  if (!a.overrides.empty()) out["overrides"] = a.overrides;
  return out;
}

json SpanProtoJson(const storage::TraceSpan& s) {
  json content = json::parse(s.content, nullptr, false);
  return content.is_discarded() ? json::object() : content;
}

json AnyValueToJson(const json& any) {
  if (!any.is_object()) return nullptr;
  // Accept both proto field names and their lowerCamelCase JSON names.
  auto get = [&](const char* snake, const char* camel) -> const json* {
    if (auto it = any.find(snake); it != any.end()) return &*it;
    if (auto it = any.find(camel); it != any.end()) return &*it;
    return nullptr;
  };
  if (const json* v = get("string_value", "stringValue")) return *v;
  if (const json* v = get("bool_value", "boolValue")) return *v;
  if (const json* v = get("int_value", "intValue")) return IntOf(*v);
  if (const json* v = get("double_value", "doubleValue")) {
    if (v->is_string()) return *v;  // "NaN" / "Infinity": JSON has no number for them
    return *v;
  }
  if (const json* v = get("bytes_value", "bytesValue")) return *v;
  if (const json* v = get("array_value", "arrayValue")) {
    json out = json::array();
    if (auto vals = v->find("values"); vals != v->end() && vals->is_array()) {
      for (const auto& e : *vals) out.push_back(AnyValueToJson(e));
    }
    return out;
  }
  if (const json* v = get("kvlist_value", "kvlistValue")) {
    json out = json::object();
    if (auto vals = v->find("values"); vals != v->end() && vals->is_array()) {
      for (const auto& kv : *vals) {
        if (kv.contains("key")) out[kv["key"].get<std::string>()] = AnyValueToJson(kv.value("value", json::object()));
      }
    }
    return out;
  }
  return nullptr;
}

json SpanDict(const storage::TraceSpan& s) {
  json c = SpanProtoJson(s);
  json attributes = json::object();
  if (auto a = c.find("attributes"); a != c.end() && a->is_array()) {
    for (const auto& kv : *a) {
      if (!kv.contains("key")) continue;
      attributes[kv["key"].get<std::string>()] =
          AnyValueToJson(kv.value("value", json::object())).dump(-1, ' ', false, json::error_handler_t::replace);
    }
  }
  attributes["mlflow.traceRequestId"] = json(s.trace_id).dump();
  json events = json::array();
  if (auto e = c.find("events"); e != c.end() && e->is_array()) {
    for (const auto& ev : *e) {
      json eattrs = json::object();
      if (auto a = ev.find("attributes"); a != ev.end() && a->is_array()) {
        for (const auto& kv : *a) {
          if (kv.contains("key")) eattrs[kv["key"].get<std::string>()] = AnyValueToJson(kv.value("value", json::object()));
        }
      }
      events.push_back({{"name", ev.value("name", "")},
                        {"time_unix_nano", IntOf(ev.value("time_unix_nano", json(0)))},
                        {"attributes", std::move(eattrs)}});
    }
  }
  json links = json::array();
  if (auto l = c.find("links"); l != c.end() && l->is_array()) {
    for (const auto& link : *l) {
      json lattrs = json::object();
      if (auto a = link.find("attributes"); a != link.end() && a->is_array()) {
        for (const auto& kv : *a) {
          if (kv.contains("key")) lattrs[kv["key"].get<std::string>()] = AnyValueToJson(kv.value("value", json::object()));
        }
      }
      links.push_back({{"trace_id", "tr-" + HexOfBase64(link.value("trace_id", ""))},
                       {"span_id", HexOfBase64(link.value("span_id", ""))},
                       {"attributes", std::move(lattrs)}});
    }
  }
  json status = c.value("status", json::object());
  json parent = nullptr;
  if (auto p = c.find("parent_span_id"); p != c.end() && p->is_string() && !p->get<std::string>().empty()) parent = *p;
  json end = nullptr;
  if (s.end_time_ns > 0) end = s.end_time_ns;
  return {{"trace_id", c.value("trace_id", "")},
          {"span_id", c.value("span_id", "")},
          {"parent_span_id", parent},
          {"name", s.name},
          {"kind", c.value("kind", "SPAN_KIND_INTERNAL")},
          {"start_time_unix_nano", s.start_time_ns},
          {"end_time_unix_nano", end},
          {"events", std::move(events)},
          {"status", {{"code", status.value("code", "STATUS_CODE_UNSET")}, {"message", status.value("message", "")}}},
          {"attributes", std::move(attributes)},
          {"links", std::move(links)}};
}

}  // namespace kiln::api::mlflow
