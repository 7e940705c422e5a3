// SqlTraceStore: assessments (feedback and expectations) of traces.
#include <nlohmann/json.hpp>

#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_trace_rows.h"
#include "storage/sql/sql_trace_store.h"

namespace kiln::storage {

using sql::Stmt;

namespace {

constexpr const char* kColumns =
    "assessment_id, trace_id, name, kind, span_id, source_type, source_id, create_time, last_update_time, "
    "value_json, rationale, metadata_json, overrides, valid";

std::string MetadataJson(const std::map<std::string, std::string>& md) { return nlohmann::json(md).dump(); }

Assessment ReadRow(const Stmt& st) {
  Assessment a;
  a.assessment_id = st.Text(0);
  a.trace_id = st.Text(1);
  a.name = st.Text(2);
  a.kind = st.Text(3);
  a.span_id = st.Text(4);
  a.source_type = st.Text(5);
  a.source_id = st.Text(6);
  a.create_time_ms = st.Int(7);
  a.last_update_time_ms = st.Int(8);
  a.value_json = st.Text(9);
  if (!st.IsNull(10)) a.rationale = st.Text(10);
  auto md = nlohmann::json::parse(st.Text(11), nullptr, false);
  if (md.is_object()) {
    for (auto it = md.begin(); it != md.end(); ++it) {
      if (it->is_string()) a.metadata[it.key()] = it->get<std::string>();
    }
  }
  a.overrides = st.Text(12);
  a.valid = st.Int(13) != 0;
  return a;
}

Status AssessmentNotFound(const std::string& trace_id, const std::string& assessment_id) {
  return NotFound("Assessment with ID '" + assessment_id + "' not found for trace '" + trace_id + "'");
}

StatusOr<Assessment> Load(sql::Conn& c, const std::string& trace_id, const std::string& assessment_id) {
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(std::string("SELECT ") + kColumns +
                                           " FROM trace_assessments WHERE trace_id = ? AND assessment_id = ?"));
  st.Args(trace_id, assessment_id);
  KILN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (row) return ReadRow(st);
  st.Reset();
  KILN_ASSIGN_OR_RETURN(bool trace, sql::TraceExists(c, trace_id));
  if (!trace) return sql::TraceNotFound(trace_id);
  return AssessmentNotFound(trace_id, assessment_id);
}

}  // namespace

Status SqlTraceStore::CreateAssessment(const Assessment& a) {
  return db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(bool trace, sql::TraceExists(c, a.trace_id));
    if (!trace) return sql::TraceNotFound(a.trace_id);
    if (!a.overrides.empty()) {
      KILN_ASSIGN_OR_RETURN(Stmt up, c.Prepare("UPDATE trace_assessments SET valid = 0 "
                                               "WHERE trace_id = ? AND assessment_id = ?"));
      KILN_RETURN_IF_ERROR(up.Args(a.trace_id, a.overrides).Run());
      if (c.Changes() == 0) return AssessmentNotFound(a.trace_id, a.overrides);
    }
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(std::string("INSERT INTO trace_assessments(") + kColumns +
                                             ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    st.Bind(1, a.assessment_id).Bind(2, a.trace_id).Bind(3, a.name).Bind(4, a.kind).Bind(5, a.span_id);
    st.Bind(6, a.source_type).Bind(7, a.source_id).Bind(8, a.create_time_ms).Bind(9, a.last_update_time_ms);
    st.Bind(10, a.value_json);
    if (a.rationale) {
      st.Bind(11, *a.rationale);
    } else {
      st.BindNull(11);
    }
    st.Bind(12, MetadataJson(a.metadata)).Bind(13, a.overrides).Bind(14, a.valid ? 1 : 0);
    Status s = st.Run();
    if (!s.ok() && s.message().find("UNIQUE") != std::string::npos) {
      return AlreadyExists("Assessment with ID '" + a.assessment_id + "' already exists");
    }
    return s;
  });
}

StatusOr<Assessment> SqlTraceStore::GetAssessment(const std::string& trace_id, const std::string& assessment_id) {
  Assessment out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(out, Load(c, trace_id, assessment_id));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<Assessment>> SqlTraceStore::ListAssessments(const std::string& trace_id) {
  std::vector<Assessment> out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(std::string("SELECT ") + kColumns +
                                             " FROM trace_assessments WHERE trace_id = ? "
                                             "ORDER BY create_time, assessment_id"));
    st.Args(trace_id);
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.push_back(ReadRow(st));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Status SqlTraceStore::UpdateAssessment(const Assessment& a) {
  return db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("UPDATE trace_assessments SET name = ?, value_json = ?, rationale = ?, "
                                             "metadata_json = ?, last_update_time = ?, valid = ? "
                                             "WHERE trace_id = ? AND assessment_id = ?"));
    st.Bind(1, a.name).Bind(2, a.value_json);
    if (a.rationale) {
      st.Bind(3, *a.rationale);
    } else {
      st.BindNull(3);
    }
    st.Bind(4, MetadataJson(a.metadata)).Bind(5, a.last_update_time_ms).Bind(6, a.valid ? 1 : 0);
    st.Bind(7, a.trace_id).Bind(8, a.assessment_id);
    KILN_RETURN_IF_ERROR(st.Run());
    if (c.Changes() == 0) return AssessmentNotFound(a.trace_id, a.assessment_id);
    return Status::Ok();
  });
}

Status SqlTraceStore::DeleteAssessment(const std::string& trace_id, const std::string& assessment_id) {
  return db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(bool trace, sql::TraceExists(c, trace_id));
    if (!trace) return sql::TraceNotFound(trace_id);
    std::string overrides;
    {
      KILN_ASSIGN_OR_RETURN(Stmt q, c.Prepare("SELECT overrides FROM trace_assessments "
                                              "WHERE trace_id = ? AND assessment_id = ?"));
      q.Args(trace_id, assessment_id);
      KILN_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) return Status::Ok();
      overrides = q.Text(0);
    }
    if (!overrides.empty()) {
      KILN_ASSIGN_OR_RETURN(Stmt up, c.Prepare("UPDATE trace_assessments SET valid = 1 "
                                               "WHERE trace_id = ? AND assessment_id = ?"));
      KILN_RETURN_IF_ERROR(up.Args(trace_id, overrides).Run());
    }
    KILN_ASSIGN_OR_RETURN(Stmt del, c.Prepare("DELETE FROM trace_assessments WHERE trace_id = ? AND assessment_id = ?"));
    return del.Args(trace_id, assessment_id).Run();
  });
}

}  // namespace kiln::storage
