#include "tracking/validation.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>

namespace kiln::tracking {
namespace {

// Decodes one UTF-8 code point at s[i]; advances i. Returns nullopt (and
// advances one byte) on an invalid sequence.
std::optional<char32_t> NextCodePoint(std::string_view s, size_t& i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) {
    ++i;
    return c;
  }
  int len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return std::nullopt;
  }
  char32_t cp = c & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) {
      ++i;
      return std::nullopt;
    }
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return std::nullopt;
  }
  i += len;
  return cp;
}

bool IsAsciiAlnum(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
// Python's Unicode-aware \w, approximated: every non-ASCII code point counts.
bool IsWord(char32_t c) { return IsAsciiAlnum(c) || c == '_' || c >= 0x80; }

// Python's json.dumps(str) (ensure_ascii=True).
std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  char buf[16];
  auto u16 = [&](unsigned v) {
    std::snprintf(buf, sizeof buf, "\\u%04x", v);
    out += buf;
  };
  for (size_t i = 0; i < s.size();) {
    std::optional<char32_t> cp = NextCodePoint(s, i);
    char32_t c = cp.value_or(0xFFFD);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || (c >= 0x80 && c < 0x10000)) {
          u16(static_cast<unsigned>(c));
        } else if (c >= 0x10000) {
          char32_t v = c - 0x10000;
          u16(0xD800 + static_cast<unsigned>(v >> 10));
          u16(0xDC00 + static_cast<unsigned>(v & 0x3FF));
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// Python's repr(str) for the common cases: single quotes unless the text
// contains a single quote and no double quote.
std::string PyRepr(std::string_view s) {
  char q = (s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos) ? '"' : '\'';
  std::string out(1, q);
  for (char c : s) {
    if (c == '\\' || c == q) out += '\\';
    out += c;
  }
  return out + q;
}

// Python's repr(float), close enough for messages.
std::string PyFloat(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string out(buf, ec == std::errc() ? end : buf);
  if (out.find_first_of(".e") == std::string::npos) out += ".0";
  return out;
}

// posixpath.normpath.
std::string NormPath(std::string_view path) {
  if (path.empty()) return ".";
  size_t initial = 0;
  if (path[0] == '/') initial = (path.size() > 1 && path[1] == '/' && (path.size() < 3 || path[2] != '/')) ? 2 : 1;
  std::vector<std::string_view> comps;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view comp = path.substr(start, end - start);
    start = end + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp != ".." || (initial == 0 && comps.empty()) || (!comps.empty() && comps.back() == "..")) {
      comps.push_back(comp);
    } else if (!comps.empty()) {
      comps.pop_back();
    }
  }
  std::string out(initial, '/');
  for (size_t i = 0; i < comps.size(); ++i) {
    if (i) out += '/';
    out += comps[i];
  }
  return out.empty() ? "." : out;
}

std::string JoinPath(std::string_view base, std::string_view field) {
  if (base.empty()) return std::string(field);
  return std::string(base) + "." + std::string(field);
}

std::string InvalidValue(std::string_view path, std::string_view json_value, std::string_view message = {}) {
  std::string out = "Invalid value " + std::string(json_value) + " for parameter '" + std::string(path) + "' supplied";
  if (message.empty()) return out + ".";
  return out + ": " + std::string(message);
}

constexpr std::string_view kBadCharacters =
    "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and "
    "slashes (/).";

// Shared metric / param / tag key rule.
Status ValidateKeyName(std::string_view name, std::string_view path) {
  for (size_t i = 0; i < name.size();) {
    std::optional<char32_t> c = NextCodePoint(name, i);
    bool ok = c && (IsWord(*c) || *c == '/' || *c == '.' || *c == '-' || *c == ' ' || *c == ':');
    if (!ok) return InvalidArgument(InvalidValue(path, JsonQuote(name), kBadCharacters));
  }
  std::string norm = NormPath(name);
  if (norm != name || norm == "." || norm.starts_with("..") || norm.starts_with("/")) {
    return InvalidArgument(InvalidValue(
        path, JsonQuote(name),
        "Names may be treated as files in certain cases, and must not resolve to other names when treated as "
        "such. This name would resolve to " +
            PyRepr(norm)));
  }
  return Status::Ok();
}

Status ValidateLength(std::string_view entity, size_t limit, std::string_view value) {
  if (Utf8Length(value) <= limit) return Status::Ok();
  return InvalidArgument("'" + std::string(entity) + "' exceeds the maximum length of " + std::to_string(limit) +
                         " characters");
}

Status ValidateBatchLimit(std::string_view entity, size_t limit, size_t length) {
  if (length <= limit) return Status::Ok();
  std::string e(entity);
  return InvalidArgument("A batch logging request can contain at most " + std::to_string(limit) + " " + e + ". Got " +
                         std::to_string(length) + " " + e + ". Please split up " + e +
                         " across multiple requests and try again.");
}

// ^[a-zA-Z0-9][\w\-]{0,max_rest}$
bool MatchesIdPattern(std::string_view id, size_t max_rest) {
  if (id.empty() || !IsAsciiAlnum(static_cast<unsigned char>(id[0]))) return false;
  size_t count = 0;
  for (size_t i = 1; i < id.size(); ++count) {
    std::optional<char32_t> c = NextCodePoint(id, i);
    if (!c || !(IsWord(*c) || *c == '-')) return false;
  }
  return count <= max_rest;
}

constexpr std::string_view kRunStatuses[] = {"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"};

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) NextCodePoint(s, i);
  return n;
}

std::string_view TruncateUtf8(std::string_view s, size_t max_code_points) {
  size_t i = 0;
  for (size_t n = 0; n < max_code_points && i < s.size(); ++n) NextCodePoint(s, i);
  return s.substr(0, i);
}

Status ValidateMetricName(std::string_view name, std::string_view path) { return ValidateKeyName(name, path); }
Status ValidateParamName(std::string_view name, std::string_view path) { return ValidateKeyName(name, path); }
Status ValidateTagName(std::string_view name, std::string_view path) { return ValidateKeyName(name, path); }

Status ValidateMetric(std::string_view key, double value, int64_t timestamp, int64_t step, std::string_view path) {
  KILN_RETURN_IF_ERROR(ValidateMetricName(key, JoinPath(path, "name")));
  if (timestamp < 0) {
    return InvalidArgument(InvalidValue(JoinPath(path, "timestamp"), std::to_string(timestamp),
                                        "metric '" + std::string(key) + "' (value=" + PyFloat(value) +
                                            "). Timestamp must be a nonnegative long (64-bit integer) "));
  }
  return ValidateLength("Metric name", kMaxEntityKeyLength, key);
}

Status ValidateParam(std::string_view key, std::string_view value, std::string_view path) {
  KILN_RETURN_IF_ERROR(ValidateParamName(key, JoinPath(path, "key")));
  KILN_RETURN_IF_ERROR(ValidateLength("Param key", kMaxEntityKeyLength, key));
  return ValidateParamValue(value);
}

Status ValidateParamValue(std::string_view value) { return ValidateLength("Param value", kMaxParamValLength, value); }

Status ValidateTag(std::string_view key, std::string_view value, std::string_view path) {
  KILN_RETURN_IF_ERROR(ValidateTagName(key, JoinPath(path, "key")));
  KILN_RETURN_IF_ERROR(ValidateLength(JoinPath(path, "key"), kMaxEntityKeyLength, key));
  return ValidateTagValue(value, JoinPath(path, "value"));
}

Status ValidateTagValue(std::string_view value, std::string_view path) {
  return ValidateLength(path, kMaxTagValLength, value);
}

Status ValidateExperimentTag(std::string_view key, std::string_view value) {
  KILN_RETURN_IF_ERROR(ValidateTagName(key));
  KILN_RETURN_IF_ERROR(ValidateLength("key", kMaxExperimentTagKeyLength, key));
  return ValidateLength("value", kMaxExperimentTagValLength, value);
}

Status ValidateBatchLimits(size_t n_metrics, size_t n_params, size_t n_tags) {
  KILN_RETURN_IF_ERROR(ValidateBatchLimit("metrics", kMaxMetricsPerBatch, n_metrics));
  KILN_RETURN_IF_ERROR(ValidateBatchLimit("params", kMaxParamsTagsPerBatch, n_params));
  KILN_RETURN_IF_ERROR(ValidateBatchLimit("tags", kMaxParamsTagsPerBatch, n_tags));
  return ValidateBatchLimit("metrics, params, and tags", kMaxEntitiesPerBatch, n_metrics + n_params + n_tags);
}

Status ValidateBatchRequestSize(size_t bytes) {
  if (bytes <= kMaxBatchLogRequestSize) return Status::Ok();
  return InvalidArgument("Batched logging API requests must be at most " + std::to_string(kMaxBatchLogRequestSize) +
                         " bytes, got a request of size " + std::to_string(bytes) + ".");
}

Status ValidateDuplicateParamKeys(const std::vector<storage::Param>& params) {
  std::vector<std::string_view> seen;
  std::vector<std::string_view> dupes;
  for (const storage::Param& p : params) {
    bool known = false;
    for (std::string_view s : seen) known = known || s == p.key;
    (known ? dupes : seen).push_back(p.key);
  }
  if (dupes.empty()) return Status::Ok();
  std::string list = "[";
  for (size_t i = 0; i < dupes.size(); ++i) list += (i ? ", " : "") + PyRepr(dupes[i]);
  return InvalidArgument("Duplicate parameter keys have been submitted: " + list +
                         "]. Please ensure the request contains only one param value per param key.");
}

Status ValidateExperimentName(std::string_view name) {
  if (name.empty()) return InvalidArgument("Invalid experiment name: ''");
  return ValidateLength("name", kMaxExperimentNameLength, name);
}

Status ValidateRunId(std::string_view run_id, std::string_view path) {
  if (MatchesIdPattern(run_id, 255)) return Status::Ok();
  return InvalidArgument(InvalidValue(path, JsonQuote(run_id)));
}

Status ValidateExperimentId(std::string_view experiment_id) {
  if (MatchesIdPattern(experiment_id, 63)) return Status::Ok();
  return InvalidArgument("Invalid experiment ID: '" + std::string(experiment_id) + "'");
}

Status ValidateMaxResults(int64_t max_results, int64_t threshold) {
  std::string prefix = "Invalid value " + std::to_string(max_results) + " for parameter 'max_results' supplied. ";
  if (max_results < 1) return InvalidArgument(prefix + "It must be a positive integer");
  if (max_results > threshold) return InvalidArgument(prefix + "It must be at most " + std::to_string(threshold));
  return Status::Ok();
}

StatusOr<std::string> NormalizeRunStatus(std::string_view status) {
  for (size_t i = 0; i < std::size(kRunStatuses); ++i) {
    if (status == kRunStatuses[i] || status == std::to_string(i + 1)) return std::string(kRunStatuses[i]);
  }
  return InvalidArgument("Could not get run status corresponding to string " + std::string(status) +
                         ". Valid run status strings: ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED']");
}

Status ValidateRunStatus(std::string_view status) { return NormalizeRunStatus(status).status(); }

StatusOr<storage::ViewType> ParseViewType(std::string_view view_type) {
  if (IEquals(view_type, "ACTIVE_ONLY") || view_type == "1") return storage::ViewType::kActiveOnly;
  if (IEquals(view_type, "DELETED_ONLY") || view_type == "2") return storage::ViewType::kDeletedOnly;
  if (IEquals(view_type, "ALL") || view_type == "3") return storage::ViewType::kAll;
  return InvalidArgument("Could not get valid view type corresponding to string " + std::string(view_type) +
                         ". Valid view types are ['active_only', 'deleted_only', 'all']");
}

Status ValidateViewType(std::string_view view_type) { return ParseViewType(view_type).status(); }


// --- model registry (mlflow/utils/validation.py, model_version_stages.py) ---

namespace {

Status RegistryLengthLimit(std::string_view entity, size_t limit, std::string_view value) {
  if (Utf8Length(value) <= limit) return Status::Ok();
  return InvalidArgument("'" + std::string(entity) + "' exceeds the maximum length of " + std::to_string(limit) +
                         " characters");
}

}  // namespace

Status ValidateRegisteredModelName(std::string_view name, std::string_view path) {
  bool blank = std::all_of(name.begin(), name.end(), [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); });
  if (blank) return InvalidArgument("Missing value for required parameter '" + std::string(path) + "'.");
  if (name.find('/') != std::string_view::npos || name.find(':') != std::string_view::npos) {
    return InvalidArgument("Invalid model name '" + std::string(name) + "'. Names cannot contain '/' or ':'.");
  }
  std::string norm = NormPath(name);
  if (norm != name || norm == "." || norm.starts_with("..") || norm.starts_with("/")) {
    return InvalidArgument(InvalidValue(
        "name", JsonQuote(name),
        "Names may be treated as files in certain cases, and must not resolve to other names when treated as "
        "such. This name would resolve to " +
            PyRepr(norm)));
  }
  return Status::Ok();
}

Status ValidateRegistryTag(std::string_view key, std::string_view value) {
  KILN_RETURN_IF_ERROR(ValidateKeyName(key, "key"));
  KILN_RETURN_IF_ERROR(RegistryLengthLimit("key", kMaxRegistryTagKeyLength, key));
  return RegistryLengthLimit("value", kMaxRegistryTagValLength, value);
}

Status ValidateAliasName(std::string_view alias) {
  if (alias.empty()) return InvalidArgument("Registered model alias name cannot be empty.");
  for (char c : alias) {
    auto u = static_cast<unsigned char>(c);
    bool ok = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '_' || c == '-' ||
              u >= 0x80;
    if (!ok) {
      return InvalidArgument("Invalid alias name: '" + std::string(alias) +
                             "'. Names may only contain alphanumerics, underscores (_), and dashes (-).");
    }
  }
  return RegistryLengthLimit("Registered model alias name", kMaxAliasLength, alias);
}

bool IsLatestAlias(std::string_view alias) { return IEquals(alias, "latest"); }

Status ValidateAliasNotReserved(std::string_view alias) {
  if (IsLatestAlias(alias)) return InvalidArgument("'latest' alias name (case insensitive) is reserved.");
  if (alias.size() >= 2 && (alias[0] == 'v' || alias[0] == 'V') &&
      std::all_of(alias.begin() + 1, alias.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidArgument("Version alias name '" + std::string(alias) + "' is reserved.");
  }
  return Status::Ok();
}

StatusOr<std::string> CanonicalStage(std::string_view stage) {
  for (const char* s : {"None", "Staging", "Production", "Archived"}) {
    if (IEquals(stage, s)) return std::string(s);
  }
  return InvalidArgument("Invalid Model Version stage: " + std::string(stage) +
                         ". Value must be one of None, Staging, Production, Archived.");
}

namespace {

// Python's urllib.parse.urlparse, as far as MLflow's location checks look.
struct ParsedUri {
  std::string scheme;  // lower-cased
  std::string netloc;
  std::string path;
  std::string params;
  std::string query;
  std::string fragment;
};

ParsedUri ParseUri(std::string_view uri) {
  ParsedUri out;
  std::string_view rest = uri;
  size_t colon = uri.find(':');
  if (colon != std::string_view::npos && colon > 0 && std::isalpha(static_cast<unsigned char>(uri[0]))) {
    bool ok = true;
    for (size_t i = 0; i < colon; ++i) {
      char c = uri[i];
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.');
    }
    if (ok) {
      out.scheme = std::string(uri.substr(0, colon));
      std::transform(out.scheme.begin(), out.scheme.end(), out.scheme.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      rest = uri.substr(colon + 1);
    }
  }
  if (rest.starts_with("//")) {
    size_t end = rest.find_first_of("/?#", 2);
    out.netloc = std::string(rest.substr(2, end == std::string_view::npos ? std::string_view::npos : end - 2));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  }
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) {
    out.fragment = std::string(rest.substr(hash + 1));
    rest = rest.substr(0, hash);
  }
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    out.query = std::string(rest.substr(q + 1));
    rest = rest.substr(0, q);
  }
  static constexpr std::string_view kUsesParams[] = {"",     "ftp",  "hdl",  "prospero", "http", "imap", "https",
                                                     "shttp", "rtsp", "rtspu", "sip",     "sips", "mms",  "sftp",
                                                     "tel"};
  bool uses_params = std::find(std::begin(kUsesParams), std::end(kUsesParams), out.scheme) != std::end(kUsesParams);
  if (uses_params) {
    size_t last_slash = rest.rfind('/');
    size_t semi = rest.find(';', last_slash == std::string_view::npos ? 0 : last_slash);
    if (semi != std::string_view::npos) {
      out.params = std::string(rest.substr(semi + 1));
      rest = rest.substr(0, semi);
    }
  }
  out.path = std::string(rest);
  return out;
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecodeAll(std::string s) {
  for (int round = 0; round < 10; ++round) {
    std::string next;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
        next.push_back(static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2])));
        i += 2;
      } else {
        next.push_back(s[i]);
      }
    }
    if (next == s) break;
    s = std::move(next);
  }
  return s;
}

}  // namespace

Status CheckHostAddressedScheme(std::string_view uri, std::string_view field_name) {
  static constexpr std::string_view kHostAddressed[] = {"ftp", "sftp", "hdfs", "viewfs", "http",
                                                        "https", "r2", "b2", "abfss"};
  ParsedUri p = ParseUri(uri);
  bool refused = std::find(std::begin(kHostAddressed), std::end(kHostAddressed), p.scheme) != std::end(kHostAddressed);
  // mlflow-artifacts:/path is the tracking server itself; with a host it is not.
  refused = refused || (p.scheme == "mlflow-artifacts" && !p.netloc.empty());
  if (!refused) return Status::Ok();
  return InvalidArgument("'" + std::string(field_name) + "' cannot use the '" + p.scheme + "' scheme: the '" +
                         p.scheme + "' scheme addresses a host other than the tracking server's configured "
                         "artifact storage, so the server would connect to the host named in the URI.");
}

Status ValidateArtifactLocation(std::string_view location) {
  if (location.empty()) return Status::Ok();
  ParsedUri p = ParseUri(location);
  if (!p.fragment.empty() || !p.params.empty()) {
    return InvalidArgument("'artifact_location' URL can't include fragments or params.");
  }
  if (PercentDecodeAll(p.query).find("..") != std::string::npos) return InvalidArgument("Invalid query string");
  KILN_RETURN_IF_ERROR(CheckHostAddressedScheme(location, "artifact_location"));
  if (location.starts_with("runs:")) {
    return InvalidArgument("Artifact location cannot be a runs:/ URI. Given: '" + std::string(location) + "'");
  }
  return Status::Ok();
}

std::string ResolveLocalArtifactLocation(std::string_view location, std::string_view cwd) {
  // urlsplit's scheme: letters first, then letters, digits, '+', '-', '.'.
  std::string scheme;
  size_t colon = location.find(':');
  if (colon != std::string_view::npos && colon > 0 && std::isalpha(static_cast<unsigned char>(location[0]))) {
    bool ok = true;
    for (size_t i = 0; i < colon; ++i) {
      char c = location[i];
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.');
    }
    if (ok) {
      scheme = std::string(location.substr(0, colon));
      std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
    }
  }
  if (!scheme.empty() && scheme != "file") return std::string(location);
  std::string_view rest = scheme.empty() ? location : location.substr(colon + 1);
  std::string_view suffix;  // "?query#fragment" of a file: URI, kept as MLflow keeps it
  if (!scheme.empty()) {
    if (rest.starts_with("//")) {
      size_t end = rest.find_first_of("/?#", 2);
      if (end != 2) return std::string(location);  // file://host/... is absolute or remote
      rest = rest.substr(2);
    }
    if (size_t q = rest.find_first_of("?#"); q != std::string_view::npos) {
      suffix = rest.substr(q);
      rest = rest.substr(0, q);
    }
  }
  if (rest.starts_with("/")) return std::string(location);
  // pathlib's join: '.' and empty segments vanish, '..' stays.
  std::string path(cwd);
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t start = 0;
  while (start <= rest.size()) {
    size_t slash = rest.find('/', start);
    if (slash == std::string_view::npos) slash = rest.size();
    std::string_view seg = rest.substr(start, slash - start);
    if (!seg.empty() && seg != ".") path += (path == "/" ? "" : "/") + std::string(seg);
    start = slash + 1;
  }
  if (scheme.empty()) return path;
  return "file://" + path + std::string(suffix);
}

StatusOr<int64_t> ParseModelVersion(std::string_view version) {
  std::string_view v = version;
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
    return InvalidArgument("Parameter 'version' must be an integer, got '" + std::string(version) + "'.");
  }
  return out;
}

}  // namespace kiln::tracking
