// kiln's audit API (administrators only; every route is a read):
//
//   GET /api/v1/audit             ?actor=&action=<prefix>&object=&decision=&audit_id=&since=&until=(ms)
//                                 &max_results=(1..1000, default 100)&page_token=&order=asc|desc
//                                 {"records": [record objects, seq ascending, or descending
//                                 with order=desc], "next_page_token"}
//   GET /api/v1/audit/export      the same filters, &after_seq=&max_results=(default and max 100000):
//                                 JSON lines (application/x-ndjson). Bounded: when more records
//                                 match, X-Kiln-Audit-Next-After-Seq names the seq to continue after.
//   GET /api/v1/audit/verify      the verifier's result over the whole store (audit_verify.h)
//   GET /api/v1/audit/public-key  {"algorithm": "Ed25519", "key_id", "public_key_pem"}
//
// A record object is the stored record (its canonical JSON) with "hash"
// added. Errors are {"error_code", "message"} like the rest of /api/v1.
// Ownership: borrows the store and the log; both must outlive the router.
#pragma once

#include "audit/audit_log.h"
#include "net/router.h"
#include "storage/audit_store.h"

namespace kiln::api::admin {

void AddAuditRoutes(net::Router& router, storage::AuditStore& store, audit::AuditLog& log);

}  // namespace kiln::api::admin
