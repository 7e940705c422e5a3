// SqlTraceStore: TraceStore over any sql::Database, sharing the tracking
// store's database, so on SQLite trace writes (a high-volume path: one OTLP
// request per span by default) join the same group commit as every other
// write.
//
// Ownership: borrows the Database, which must outlive the store.
// Thread-safety: every method is thread-safe (see sql::Database).
#pragma once

#include "storage/sql/sql_conn.h"
#include "storage/trace_store.h"

namespace kiln::storage {

class SqlTraceStore final : public TraceStore {
 public:
  explicit SqlTraceStore(sql::Database& db) : db_(db) {}

  StatusOr<TraceInfo> UpsertTraceInfo(const TraceInfo& info) override;
  Status LogSpans(const std::vector<TraceSpan>& spans, const std::map<std::string, DerivedTrace>& derived) override;
  StatusOr<TraceInfo> GetTraceInfo(const std::string& trace_id) override;
  StatusOr<std::vector<TraceInfo>> GetTraceInfos(const std::vector<std::string>& trace_ids) override;
  StatusOr<std::vector<TraceSpan>> GetSpans(const std::string& trace_id) override;
  StatusOr<TracePage> SearchTraces(const TraceQuery& query) override;
  StatusOr<int64_t> DeleteTraces(const TraceDeletion& deletion) override;
  Status SetTraceTag(const std::string& trace_id, const std::string& key, const std::string& value) override;
  Status DeleteTraceTag(const std::string& trace_id, const std::string& key) override;
  Status CreateAssessment(const Assessment& assessment) override;
  StatusOr<Assessment> GetAssessment(const std::string& trace_id, const std::string& assessment_id) override;
  StatusOr<std::vector<Assessment>> ListAssessments(const std::string& trace_id) override;
  Status UpdateAssessment(const Assessment& assessment) override;
  Status DeleteAssessment(const std::string& trace_id, const std::string& assessment_id) override;

 private:
  sql::Database& db_;
};

}  // namespace kiln::storage
