#include "net/http_message.h"

namespace kiln::net {

std::string_view HttpRequest::QueryValue(std::string_view key) const {
  for (const auto& [k, v] : query) {
    if (k == key) return v;
  }
  return {};
}

bool HttpRequest::HasQuery(std::string_view key) const {
  for (const auto& [k, v] : query) {
    if (k == key) return true;
  }
  return false;
}

std::vector<std::string> HttpRequest::QueryValues(std::string_view key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : query) {
    if (k == key) out.push_back(v);
  }
  return out;
}

std::string_view HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return {};
}

std::string_view HttpRequest::PathParam(std::string_view name) const {
  for (const auto& [k, v] : path_params) {
    if (k == name) return v;
  }
  return {};
}

}  // namespace kiln::net
