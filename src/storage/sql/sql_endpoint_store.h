// SqlEndpointStore: EndpointStore over any sql::Database. It lives in kiln's
// metadata database (schema v7: endpoints, endpoint_revisions,
// endpoint_events) and shares the tracking store's database. UpdateEndpoint's
// version check is the UPDATE of the endpoint's row (WHERE config_version =
// expected), which locks that row until commit; the new revision's number is
// checked against the revisions after it, so of two updates computed from the
// same config_version exactly one commits, also across processes.
//
// Conventions beyond the interface's contract:
// - An event whose endpoint is empty takes the endpoint's name; its
//   timestamp_ms, when 0, takes the record's updated_ms (created_ms for a
//   create; a delete keeps the event's own). Events carry no link to the endpoints table: they survive its
//   deletion and a later endpoint of the same name continues the same list.
// - CreateEndpoint stores `first` as revision 1 (a number of 0 means 1; any
//   other is InvalidArgument); it keeps `endpoint.state` as given apart from
//   config_version.
// - ListEvents: max_results <= 0 means no limit.
// - Settings, state and specs are JSON text of the store's own serializer
//   (sql/endpoint_rows.h); a row that does not parse is Internal.
//
// Ownership: borrows the Database, which must outlive the store.
// Thread-safety: every method is thread-safe (see sql::Database).
#pragma once

#include "storage/sql/sql_conn.h"
#include "storage/endpoint_store.h"

namespace kiln::storage {

class SqlEndpointStore final : public EndpointStore {
 public:
  explicit SqlEndpointStore(sql::Database& db) : db_(db) {}

  StatusOr<EndpointRecord> CreateEndpoint(const EndpointRecord& endpoint, const EndpointRevision& first,
                                          const EndpointEvent& event) override;
  StatusOr<EndpointRecord> GetEndpoint(const std::string& name) override;
  StatusOr<std::vector<EndpointRecord>> ListEndpoints() override;
  StatusOr<EndpointRecord> UpdateEndpoint(const EndpointRecord& endpoint, int64_t expected_config_version,
                                          const std::optional<EndpointRevision>& new_revision,
                                          const EndpointEvent& event) override;
  Status DeleteEndpoint(const std::string& name, const EndpointEvent& event) override;
  StatusOr<std::vector<EndpointRevision>> ListRevisions(const std::string& name) override;
  StatusOr<EndpointRevision> GetRevision(const std::string& name, int64_t number) override;
  StatusOr<std::vector<EndpointEvent>> ListEvents(const std::string& name, int64_t after_id,
                                                  int64_t max_results) override;

 private:
  sql::Database& db_;
};

}  // namespace kiln::storage
