#include "api/mlflow/proxied_artifacts.h"

#include <string_view>

namespace kiln::api::mlflow {

std::optional<std::string> ProxiedArtifactPath(const std::string& uri) {
  constexpr std::string_view kProxyScheme = "mlflow-artifacts:";
  if (uri.rfind(kProxyScheme, 0) != 0) return std::nullopt;
  std::string rest = uri.substr(kProxyScheme.size());
  if (rest.rfind("//", 0) == 0) {  // an authority, which names this server: drop it
    size_t slash = rest.find('/', 2);
    rest = slash == std::string::npos ? "" : rest.substr(slash);
  }
  while (!rest.empty() && rest.front() == '/') rest.erase(0, 1);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  return rest;
}

}  // namespace kiln::api::mlflow
