#include "net/router.h"

namespace kiln::net {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  if (!path.empty() && path[0] == '/') pos = 1;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

HttpResponse DefaultErrorRenderer(unsigned status, std::string_view code, std::string_view message) {
  return HttpResponse::Json(status, "{\"error\": \"" + JsonEscape(message) + "\"}");
}

Route& Router::Add(std::string method, std::string pattern, Handler handler, Execution execution) {
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.handler = std::move(handler);
  r.execution = execution;
  return AddRoute(std::move(r));
}

Route& Router::AddUpload(std::string method, std::string pattern, UploadHandler upload) {
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.upload = std::move(upload);
  r.execution = Execution::kPool;
  return AddRoute(std::move(r));
}

Route& Router::AddAsync(std::string method, std::string pattern, AsyncHandler handler) {
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.async = std::move(handler);
  r.execution = Execution::kPool;
  return AddRoute(std::move(r));
}

Route& Router::AddRoute(Route route) {
  route.label = route.pattern;
  for (auto s : SplitPath(route.pattern)) route.segments.emplace_back(s);
  routes_.push_back(std::make_unique<Route>(std::move(route)));
  const Route* r = routes_.back().get();
  if (r->pattern.find('{') == std::string::npos) {
    literal_[r->pattern].push_back(r);
  } else {
    patterned_.push_back(r);
  }
  return *routes_.back();
}

bool Router::MatchPattern(const Route& r, std::string_view path,
                          std::vector<std::pair<std::string, std::string>>* params) {
  auto parts = SplitPath(path);
  params->clear();
  size_t i = 0;
  for (; i < r.segments.size(); ++i) {
    const std::string& seg = r.segments[i];
    bool is_param = seg.size() >= 2 && seg.front() == '{' && seg.back() == '}';
    if (is_param && seg.size() > 5 && seg.compare(seg.size() - 4, 4, "...}") == 0) {
      // Rest of the path from here on, joined back with '/'.
      std::string rest;
      for (size_t j = i; j < parts.size(); ++j) {
        if (j > i) rest += '/';
        rest += parts[j];
      }
      params->emplace_back(seg.substr(1, seg.size() - 5), std::move(rest));
      return true;
    }
    if (i >= parts.size()) return false;
    if (const size_t close = seg.find('}'); !is_param && seg.front() == '{' && close != std::string::npos) {
      // `{name}:verb`: the segment must end with the literal suffix after a non-empty value.
      const std::string_view suffix = std::string_view(seg).substr(close + 1);
      if (parts[i].size() <= suffix.size() || !parts[i].ends_with(suffix)) return false;
      params->emplace_back(seg.substr(1, close - 1), std::string(parts[i].substr(0, parts[i].size() - suffix.size())));
      continue;
    }
    if (is_param) {
      if (parts[i].empty()) return false;
      params->emplace_back(seg.substr(1, seg.size() - 2), std::string(parts[i]));
    } else if (seg != parts[i]) {
      return false;
    }
  }
  return i == parts.size();
}

RouteMatch Router::Match(std::string_view method, std::string_view path) const {
  RouteMatch m;
  if (auto it = literal_.find(std::string(path)); it != literal_.end()) {
    m.path_known = true;
    for (const Route* r : it->second) {
      if (r->method == method) {
        m.route = r;
        return m;
      }
    }
  }
  std::vector<std::pair<std::string, std::string>> params;
  for (const Route* r : patterned_) {
    if (!MatchPattern(*r, path, &params)) continue;
    m.path_known = true;
    if (r->method == method) {
      m.route = r;
      m.params = std::move(params);
      return m;
    }
  }
  return m;
}

std::vector<const Route*> Router::routes() const {
  std::vector<const Route*> out;
  out.reserve(routes_.size());
  for (const auto& r : routes_) out.push_back(r.get());
  return out;
}

std::vector<Route*> Router::mutable_routes() {
  std::vector<Route*> out;
  out.reserve(routes_.size());
  for (const auto& r : routes_) out.push_back(r.get());
  return out;
}

Route* Router::Find(std::string_view method, std::string_view pattern) {
  for (const auto& r : routes_) {
    if (r->method == method && r->pattern == pattern) return r.get();
  }
  return nullptr;
}

HttpResponse Router::NotFound(HttpRequest& req) const {
  if (not_found_) return not_found_(req);
  HttpResponse r;
  r.status = 404;
  r.content_type = "text/plain";
  return r;
}

}  // namespace kiln::net
