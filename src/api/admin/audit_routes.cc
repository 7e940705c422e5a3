// The audit API's handlers read the audit store, so all run on the worker
// pool. Paging is by seq (records are append-only, so a page token stays
// valid while the log grows).
#include "api/admin/audit_routes.h"

#include "api/kiln_errors.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "audit/audit_record.h"
#include "audit/audit_verify.h"
#include "core/base64.h"

namespace kiln::api::admin {
namespace {

using nlohmann::json;

constexpr int64_t kDefaultPage = 100;
constexpr int64_t kMaxPage = 1000;
constexpr int64_t kMaxExport = 100000;
constexpr size_t kMaxExportBytes = 64u << 20;

StatusOr<int64_t> IntParam(const net::HttpRequest& req, std::string_view name, int64_t fallback, int64_t min,
                           int64_t max) {
  std::string_view text = req.QueryValue(name);
  if (text.empty()) return fallback;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < min || v > max) {
    return InvalidArgument("invalid " + std::string(name) + " '" + std::string(text) + "': an integer in [" +
                           std::to_string(min) + ", " + std::to_string(max) + "] expected");
  }
  return v;
}

StatusOr<storage::AuditQuery> Filters(const net::HttpRequest& req) {
  storage::AuditQuery q;
  q.actor = std::string(req.QueryValue("actor"));
  q.action_prefix = std::string(req.QueryValue("action"));
  q.object = std::string(req.QueryValue("object"));
  q.decision = std::string(req.QueryValue("decision"));
  if (!q.decision.empty() && q.decision != "allow" && q.decision != "deny") {
    return InvalidArgument("invalid decision '" + q.decision + "': allow or deny expected");
  }
  q.audit_id = std::string(req.QueryValue("audit_id"));
  KILN_ASSIGN_OR_RETURN(q.since_ms, IntParam(req, "since", 0, 0, INT64_MAX));
  KILN_ASSIGN_OR_RETURN(q.until_ms, IntParam(req, "until", 0, 0, INT64_MAX));
  return q;
}

// "seq:N" continues after N (oldest first), "before:N" before N (newest
// first); a token of one order is refused in the other.
std::string PageToken(bool newest_first, int64_t seq) {
  return Base64Encode((newest_first ? "before:" : "seq:") + std::to_string(seq));
}

StatusOr<int64_t> ParsePageToken(std::string_view token, bool newest_first) {
  std::optional<std::string> text = Base64Decode(token);
  const std::string prefix = newest_first ? "before:" : "seq:";
  int64_t seq = 0;
  if (text && text->rfind(prefix, 0) == 0) {
    auto [p, ec] = std::from_chars(text->data() + prefix.size(), text->data() + text->size(), seq);
    if (ec == std::errc() && p == text->data() + text->size() && seq >= 0) return seq;
  }
  return InvalidArgument("invalid page_token");
}

json RecordObject(const storage::StoredAuditRecord& r) {
  json j = json::parse(audit::ExportLine(r), nullptr, false);
  // A record edited into something unparsable is still shown, as it is.
  if (j.is_discarded() || !j.is_object()) return {{"seq", r.seq}, {"hash", r.hash}, {"invalid_record", r.json}};
  return j;
}

net::HttpResponse List(storage::AuditStore& store, const net::HttpRequest& req) {
  auto q = Filters(req);
  if (!q.ok()) return KilnErrorResponse(q.status());
  auto max = IntParam(req, "max_results", kDefaultPage, 1, kMaxPage);
  if (!max.ok()) return KilnErrorResponse(max.status());
  const std::string_view order = req.QueryValue("order");
  if (!order.empty() && order != "asc" && order != "desc") {
    return KilnErrorResponse(InvalidArgument("invalid order '" + std::string(order) + "': asc or desc expected"));
  }
  q->newest_first = order == "desc";
  if (std::string_view token = req.QueryValue("page_token"); !token.empty()) {
    auto seq = ParsePageToken(token, q->newest_first);
    if (!seq.ok()) return KilnErrorResponse(seq.status());
    (q->newest_first ? q->before_seq : q->after_seq) = *seq;
  }
  q->max_results = *max + 1;  // one more tells whether another page exists
  auto rows = store.Query(*q);
  if (!rows.ok()) return KilnErrorResponse(rows.status());
  json out = {{"records", json::array()}};
  const bool more = static_cast<int64_t>(rows->size()) > *max;
  if (more) rows->pop_back();
  for (const auto& r : *rows) out["records"].push_back(RecordObject(r));
  if (more) out["next_page_token"] = PageToken(q->newest_first, rows->back().seq);
  return KilnJsonResponse(200, out);
}

net::HttpResponse Export(storage::AuditStore& store, const net::HttpRequest& req) {
  auto q = Filters(req);
  if (!q.ok()) return KilnErrorResponse(q.status());
  auto after = IntParam(req, "after_seq", 0, 0, INT64_MAX);
  if (!after.ok()) return KilnErrorResponse(after.status());
  auto max = IntParam(req, "max_results", kMaxExport, 1, kMaxExport);
  if (!max.ok()) return KilnErrorResponse(max.status());
  q->after_seq = *after;
  std::string body;
  int64_t written = 0;
  int64_t last_seq = q->after_seq;
  bool more = false;
  while (true) {
    q->max_results = std::min<int64_t>(kMaxPage, *max - written + 1);
    auto rows = store.Query(*q);
    if (!rows.ok()) return KilnErrorResponse(rows.status());
    for (const auto& r : *rows) {
      if (written == *max || body.size() >= kMaxExportBytes) {
        more = true;
        break;
      }
      body += audit::ExportLine(r);
      body += '\n';
      ++written;
      last_seq = r.seq;
    }
    if (more || static_cast<int64_t>(rows->size()) < q->max_results) break;
    q->after_seq = rows->back().seq;
  }
  net::HttpResponse res = net::HttpResponse::Text(200, std::move(body));
  res.content_type = "application/x-ndjson";
  if (more) res.headers.emplace_back("X-Kiln-Audit-Next-After-Seq", std::to_string(last_seq));
  return res;
}

net::HttpResponse Verify(storage::AuditStore& store, const audit::AuditLog& log) {
  auto r = audit::VerifyAuditStore(store, log.PublicKeyPem());
  if (!r.ok()) return KilnErrorResponse(r.status());
  json out = {{"ok", r->ok},
              {"records", r->records},
              {"first_seq", r->first_seq},
              {"last_seq", r->last_seq},
              {"checkpoints", r->checkpoints},
              {"last_checkpoint_seq", r->last_checkpoint_seq},
              {"last_checkpoint_time_ms", r->last_checkpoint_time_ms},
              {"uncovered", r->uncovered},
              {"key_id", r->key_id},
              {"summary", audit::DescribeResult(*r)}};
  if (!r->ok) {
    out["bad_seq"] = r->bad_seq;
    out["problem"] = std::string(audit::AuditProblemName(r->problem));
    out["message"] = r->message;
  }
  return KilnJsonResponse(200, out);
}

}  // namespace

void AddAuditRoutes(net::Router& router, storage::AuditStore& store, audit::AuditLog& log) {
  auto add = [&router](const char* pattern, const char* action, net::Handler handler) {
    net::Route& route = router.Add("GET", pattern, std::move(handler), net::Execution::kPool);
    route.render_error = KilnRenderError;
    route.access = net::AdminAccess(false);
    route.access.action = action;
  };
  // Each read first writes the outcome records still queued, so a caller
  // sees every record of the requests it has had answered.
  add("/api/v1/audit", "audit.query", [&store, &log](net::HttpRequest& req) {
    log.Flush();
    return List(store, req);
  });
  add("/api/v1/audit/export", "audit.export", [&store, &log](net::HttpRequest& req) {
    log.Flush();
    return Export(store, req);
  });
  add("/api/v1/audit/verify", "audit.verify", [&store, &log](net::HttpRequest&) {
    log.Flush();
    return Verify(store, log);
  });
  add("/api/v1/audit/public-key", "audit.public-key", [&log](net::HttpRequest&) {
    return KilnJsonResponse(200, {{"algorithm", "Ed25519"}, {"key_id", log.KeyId()}, {"public_key_pem", log.PublicKeyPem()}});
  });
}

}  // namespace kiln::api::admin
