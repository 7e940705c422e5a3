// SqlTraceStore: trace infos, spans, tags and deletion. Search lives in
// sqlite_trace_search.cc, assessments in sqlite_trace_assessments.cc.
#include "storage/sql/sql_trace_store.h"

#include <algorithm>
#include <charconv>

#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_trace_rows.h"

namespace kiln::storage {

using sql::Stmt;

namespace sql {

TraceInfo ReadTraceRow(const Stmt& st, int first) {
  TraceInfo t;
  t.trace_id = st.Text(first);
  t.experiment_id = std::to_string(st.Int(first + 1));
  t.client_request_id = st.IsNull(first + 2) ? "" : st.Text(first + 2);
  t.request_time_ms = st.Int(first + 3);
  if (!st.IsNull(first + 4)) t.execution_duration_ms = st.Int(first + 4);
  t.state = st.Text(first + 5);
  if (!st.IsNull(first + 6)) t.request_preview = st.Text(first + 6);
  if (!st.IsNull(first + 7)) t.response_preview = st.Text(first + 7);
  return t;
}

Status LoadTraceChildren(sql::Conn& c, TraceInfo& info) {
  {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("SELECT key, value FROM trace_tags WHERE trace_id = ?"));
    st.Args(info.trace_id);
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      info.tags[st.Text(0)] = st.Text(1);
    }
  }
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("SELECT key, value FROM trace_metadata WHERE trace_id = ?"));
  st.Args(info.trace_id);
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    info.metadata[st.Text(0)] = st.Text(1);
  }
  return Status::Ok();
}

Status TraceNotFound(const std::string& trace_id) { return NotFound("Trace with ID '" + trace_id + "' not found."); }

StatusOr<TraceInfo> LoadTrace(sql::Conn& c, const std::string& trace_id) {
  KILN_ASSIGN_OR_RETURN(Stmt st,
                        c.Prepare(std::string("SELECT ") + kTraceColumns + " FROM traces WHERE trace_id = ?"));
  st.Args(trace_id);
  KILN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return TraceNotFound(trace_id);
  TraceInfo info = ReadTraceRow(st);
  st.Reset();
  KILN_RETURN_IF_ERROR(LoadTraceChildren(c, info));
  return info;
}

StatusOr<bool> TraceExists(sql::Conn& c, const std::string& trace_id) {
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("SELECT 1 FROM traces WHERE trace_id = ?"));
  st.Args(trace_id);
  return st.Step();
}

Status UpsertTraceTag(sql::Conn& c, const std::string& trace_id, const std::string& key, const std::string& value) {
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("INSERT INTO trace_tags(trace_id, key, value) VALUES (?, ?, ?) "
                                           "ON CONFLICT(trace_id, key) DO UPDATE SET value = excluded.value"));
  return st.Args(trace_id, key, value).Run();
}

StatusOr<int64_t> ExperimentPk(const std::string& experiment_id) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(experiment_id.data(), experiment_id.data() + experiment_id.size(), v);
  if (ec == std::errc() && end == experiment_id.data() + experiment_id.size() && !experiment_id.empty()) return v;
  return InvalidArgument("Invalid experiment ID: '" + experiment_id + "'");
}

}  // namespace sql

using sql::ExperimentPk;

namespace {

Status UpsertMetadata(sql::Conn& c, const std::string& trace_id, const std::map<std::string, std::string>& md) {
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("INSERT INTO trace_metadata(trace_id, key, value) VALUES (?, ?, ?) "
                                           "ON CONFLICT(trace_id, key) DO UPDATE SET value = excluded.value"));
  for (const auto& [k, v] : md) KILN_RETURN_IF_ERROR(st.Args(trace_id, k, v).Run());
  return Status::Ok();
}

Status UpsertTags(sql::Conn& c, const std::string& trace_id, const std::map<std::string, std::string>& tags) {
  for (const auto& [k, v] : tags) KILN_RETURN_IF_ERROR(sql::UpsertTraceTag(c, trace_id, k, v));
  return Status::Ok();
}

Stmt& BindOptional(Stmt& st, int idx, const std::optional<std::string>& v) {
  return v ? st.Bind(idx, *v) : st.BindNull(idx);
}

Status InsertTrace(sql::Conn& c, const TraceInfo& t, bool finalized) {
  KILN_ASSIGN_OR_RETURN(int64_t exp, ExperimentPk(t.experiment_id));
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("INSERT INTO traces(trace_id, experiment_id, client_request_id, "
                                           "request_time, execution_duration, state, request_preview, "
                                           "response_preview, finalized) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  st.Bind(1, t.trace_id).Bind(2, exp);
  if (t.client_request_id.empty()) {
    st.BindNull(3);
  } else {
    st.Bind(3, t.client_request_id);
  }
  st.Bind(4, t.request_time_ms);
  if (t.execution_duration_ms) {
    st.Bind(5, *t.execution_duration_ms);
  } else {
    st.BindNull(5);
  }
  st.Bind(6, t.state);
  BindOptional(st, 7, t.request_preview);
  BindOptional(st, 8, t.response_preview);
  st.Bind(9, finalized ? 1 : 0);
  return st.Run();
}

}  // namespace

StatusOr<TraceInfo> SqlTraceStore::UpsertTraceInfo(const TraceInfo& info) {
  TraceInfo out;
  Status s = db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(bool exists, sql::TraceExists(c, info.trace_id));
    if (!exists) {
      KILN_RETURN_IF_ERROR(InsertTrace(c, info, true));
    } else {
      // Spans arrived first (LogSpans created the row): the client's complete
      // info now wins over what was derived from spans.
      KILN_ASSIGN_OR_RETURN(int64_t exp, ExperimentPk(info.experiment_id));
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("UPDATE traces SET experiment_id = ?, client_request_id = ?, "
                                               "request_time = ?, execution_duration = ?, state = ?, "
                                               "request_preview = coalesce(?, request_preview), "
                                               "response_preview = coalesce(?, response_preview), finalized = 1 "
                                               "WHERE trace_id = ?"));
      st.Bind(1, exp);
      if (info.client_request_id.empty()) {
        st.BindNull(2);
      } else {
        st.Bind(2, info.client_request_id);
      }
      st.Bind(3, info.request_time_ms);
      if (info.execution_duration_ms) {
        st.Bind(4, *info.execution_duration_ms);
      } else {
        st.BindNull(4);
      }
      st.Bind(5, info.state);
      BindOptional(st, 6, info.request_preview);
      BindOptional(st, 7, info.response_preview);
      st.Bind(8, info.trace_id);
      KILN_RETURN_IF_ERROR(st.Run());
    }
    KILN_RETURN_IF_ERROR(UpsertTags(c, info.trace_id, info.tags));
    KILN_RETURN_IF_ERROR(UpsertMetadata(c, info.trace_id, info.metadata));
    KILN_ASSIGN_OR_RETURN(out, sql::LoadTrace(c, info.trace_id));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Status SqlTraceStore::LogSpans(const std::vector<TraceSpan>& spans,
                                  const std::map<std::string, DerivedTrace>& derived) {
  return db_.Write([&](sql::Conn& c) -> Status {
    for (const auto& [trace_id, d] : derived) {
      KILN_ASSIGN_OR_RETURN(Stmt q, c.Prepare("SELECT finalized, state, request_time, execution_duration "
                                              "FROM traces WHERE trace_id = ?"));
      q.Args(trace_id);
      KILN_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) {
        q.Reset();
        TraceInfo fresh = d.from_spans;
        fresh.trace_id = trace_id;
        if (d.has_root) fresh.state = d.root_state;
        KILN_RETURN_IF_ERROR(InsertTrace(c, fresh, false));
      } else {
        const bool finalized = q.Int(0) != 0;
        std::string state = q.Text(1);
        int64_t start = q.Int(2);
        std::optional<int64_t> duration;
        if (!q.IsNull(3)) duration = q.Int(3);
        q.Reset();
        // Until the client's own info arrives, the trace's extent is that of
        // the spans seen so far.
        if (!finalized) {
          int64_t end = duration ? start + *duration : start;
          int64_t batch_start = d.from_spans.request_time_ms;
          int64_t batch_end = batch_start + d.from_spans.execution_duration_ms.value_or(0);
          int64_t new_start = std::min(start, batch_start);
          int64_t new_end = std::max(end, batch_end);
          start = new_start;
          if (duration || d.from_spans.execution_duration_ms) duration = new_end - new_start;
        }
        if (d.has_root && (state == kTraceStateInProgress || state == kTraceStateUnspecified)) state = d.root_state;
        KILN_ASSIGN_OR_RETURN(Stmt up, c.Prepare("UPDATE traces SET request_time = ?, execution_duration = ?, "
                                                 "state = ? WHERE trace_id = ?"));
        up.Bind(1, start);
        if (duration) {
          up.Bind(2, *duration);
        } else {
          up.BindNull(2);
        }
        up.Bind(3, state);
        up.Bind(4, trace_id);
        KILN_RETURN_IF_ERROR(up.Run());
      }
      KILN_RETURN_IF_ERROR(UpsertTags(c, trace_id, d.tags));
      if (!d.metadata_if_absent.empty()) {
        KILN_ASSIGN_OR_RETURN(Stmt md, c.Prepare("INSERT INTO trace_metadata(trace_id, key, value) VALUES (?, ?, ?) "
                                                 "ON CONFLICT(trace_id, key) DO NOTHING"));
        for (const auto& [k, v] : d.metadata_if_absent) KILN_RETURN_IF_ERROR(md.Args(trace_id, k, v).Run());
      }
    }
    KILN_ASSIGN_OR_RETURN(
        Stmt ins, c.Prepare("INSERT INTO trace_spans(trace_id, span_id, parent_span_id, name, span_type, status_code, "
                            "start_time_ns, end_time_ns, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                            "ON CONFLICT(trace_id, span_id) DO UPDATE SET parent_span_id = excluded.parent_span_id, "
                            "name = excluded.name, span_type = excluded.span_type, status_code = "
                            "excluded.status_code, start_time_ns = excluded.start_time_ns, end_time_ns = "
                            "excluded.end_time_ns, content = excluded.content"));
    for (const TraceSpan& s : spans) {
      ins.Args(s.trace_id, s.span_id, s.parent_span_id, s.name, s.span_type, s.status_code, s.start_time_ns,
               s.end_time_ns, s.content);
      KILN_RETURN_IF_ERROR(ins.Run());
    }
    return Status::Ok();
  });
}

StatusOr<TraceInfo> SqlTraceStore::GetTraceInfo(const std::string& trace_id) {
  TraceInfo out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(out, sql::LoadTrace(c, trace_id));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<TraceInfo>> SqlTraceStore::GetTraceInfos(const std::vector<std::string>& trace_ids) {
  std::vector<TraceInfo> out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    for (const auto& id : trace_ids) {
      auto info = sql::LoadTrace(c, id);
      if (info.ok()) {
        out.push_back(std::move(*info));
      } else if (info.status().code() != StatusCode::kNotFound) {
        return info.status();
      }
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<TraceSpan>> SqlTraceStore::GetSpans(const std::string& trace_id) {
  std::vector<TraceSpan> out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("SELECT span_id, parent_span_id, name, span_type, status_code, "
                                             "start_time_ns, end_time_ns, content FROM trace_spans WHERE trace_id = ? "
                                             "ORDER BY parent_span_id != '', start_time_ns, span_id"));
    st.Args(trace_id);
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      TraceSpan sp;
      sp.trace_id = trace_id;
      sp.span_id = st.Text(0);
      sp.parent_span_id = st.Text(1);
      sp.name = st.Text(2);
      sp.span_type = st.Text(3);
      sp.status_code = st.Text(4);
      sp.start_time_ns = st.Int(5);
      sp.end_time_ns = st.Int(6);
      sp.content = st.Text(7);
      out.push_back(std::move(sp));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<int64_t> SqlTraceStore::DeleteTraces(const TraceDeletion& d) {
  KILN_ASSIGN_OR_RETURN(int64_t exp, ExperimentPk(d.experiment_id));
  int64_t deleted = 0;
  Status s = db_.Write([&](sql::Conn& c) -> Status {
    deleted = 0;
    if (!d.trace_ids.empty()) {
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("DELETE FROM traces WHERE experiment_id = ? AND trace_id = ?"));
      for (const auto& id : d.trace_ids) {
        KILN_RETURN_IF_ERROR(st.Args(exp, id).Run());
        deleted += c.Changes();
      }
      return Status::Ok();
    }
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("DELETE FROM traces WHERE trace_id IN (SELECT trace_id FROM traces "
                                             "WHERE experiment_id = ? AND request_time <= ? "
                                             "ORDER BY request_time, trace_id LIMIT ?)"));
    KILN_RETURN_IF_ERROR(st.Args(exp, d.max_timestamp_ms.value_or(INT64_MAX), d.max_traces.value_or(sql::kNoLimit)).Run());
    deleted = c.Changes();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return deleted;
}

Status SqlTraceStore::SetTraceTag(const std::string& trace_id, const std::string& key, const std::string& value) {
  return db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(bool exists, sql::TraceExists(c, trace_id));
    if (!exists) return sql::TraceNotFound(trace_id);
    return sql::UpsertTraceTag(c, trace_id, key, value);
  });
}

Status SqlTraceStore::DeleteTraceTag(const std::string& trace_id, const std::string& key) {
  return db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(bool exists, sql::TraceExists(c, trace_id));
    if (!exists) return sql::TraceNotFound(trace_id);
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("DELETE FROM trace_tags WHERE trace_id = ? AND key = ?"));
    KILN_RETURN_IF_ERROR(st.Args(trace_id, key).Run());
    if (c.Changes() == 0) {
      return NotFound("No trace tag with key '" + key + "' for trace with ID '" + trace_id + "'");
    }
    return Status::Ok();
  });
}

}  // namespace kiln::storage
