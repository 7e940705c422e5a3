// SqlTraceStore::SearchTraces: the trace filter AST (storage/trace_store.h)
// in SQLite's dialect. Every value is a bound parameter.
#include <string>
#include <vector>

#include "storage/sql/search_sql_common.h"
#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_trace_rows.h"
#include "storage/sql/sql_trace_store.h"

namespace kiln::storage {

using sql::Arg;
using sql::Stmt;

namespace {

StatusOr<std::string> AttributeColumn(const std::string& key) {
  if (key == "trace_id") return std::string("t.trace_id");
  if (key == "experiment_id") return std::string("t.experiment_id");
  if (key == "request_time") return std::string("t.request_time");
  if (key == "execution_duration") return std::string("t.execution_duration");
  if (key == "end_time") return std::string("(t.request_time + t.execution_duration)");
  if (key == "state") return std::string("t.state");
  if (key == "client_request_id") return std::string("t.client_request_id");
  return InvalidArgument("unknown trace attribute '" + key + "'");
}

StatusOr<std::string> SpanColumn(const std::string& key) {
  if (key == "name") return std::string("s.name");
  if (key == "span_type") return std::string("s.span_type");
  if (key == "status_code") return std::string("s.status_code");
  return InvalidArgument("unknown span attribute '" + key + "'");
}

sql::Arg ValueArg(const TraceFilterClause& c) {
  if (auto* i = std::get_if<int64_t>(&c.value)) return *i;
  if (auto* s = std::get_if<std::string>(&c.value)) return *s;
  return nullptr;
}

// "<lhs> <op> ?" (or an IN list), appending the bound values.
StatusOr<std::string> Comparison(sql::Dialect d, const std::string& lhs, const TraceFilterClause& c, std::vector<sql::Arg>& args) {
  auto binary = [&](const char* op) {
    args.push_back(ValueArg(c));
    return lhs + " " + op + " ?";
  };
  switch (c.op) {
    case TraceOp::kEq: return binary("=");
    case TraceOp::kNe: return binary("!=");
    case TraceOp::kLt: return binary("<");
    case TraceOp::kLe: return binary("<=");
    case TraceOp::kGt: return binary(">");
    case TraceOp::kGe: return binary(">=");
    case TraceOp::kLike: return binary("LIKE") + sql::LikeNoEscape(d);
    case TraceOp::kILike:
      args.push_back(ValueArg(c));
      return "lower(" + lhs + ") LIKE lower(?)" + sql::LikeNoEscape(d);
    case TraceOp::kIn:
    case TraceOp::kNotIn: {
      const auto* list = std::get_if<std::vector<std::string>>(&c.value);
      if (!list || list->empty()) return InvalidArgument("IN needs a non-empty list");
      std::string sql = lhs + (c.op == TraceOp::kIn ? " IN (" : " NOT IN (");
      for (size_t i = 0; i < list->size(); ++i) {
        sql += i ? ", ?" : "?";
        args.push_back((*list)[i]);
      }
      return sql + ")";
    }
    default: return InvalidArgument("unsupported comparison");
  }
}

StatusOr<std::string> ClauseSql(sql::Dialect d, const TraceFilterClause& c, std::vector<sql::Arg>& args) {
  switch (c.kind) {
    case TraceFieldKind::kAttribute: {
      KILN_ASSIGN_OR_RETURN(std::string col, AttributeColumn(c.key));
      return Comparison(d, col, c, args);
    }
    case TraceFieldKind::kTag:
    case TraceFieldKind::kMetadata: {
      const std::string table = c.kind == TraceFieldKind::kTag ? "trace_tags" : "trace_metadata";
      const std::string exists = "EXISTS (SELECT 1 FROM " + table + " x WHERE x.trace_id = t.trace_id AND x.key = ?";
      args.push_back(c.key);
      if (c.op == TraceOp::kIsNull) return "NOT " + exists + ")";
      if (c.op == TraceOp::kIsNotNull) return exists + ")";
      KILN_ASSIGN_OR_RETURN(std::string cmp, Comparison(d, "x.value", c, args));
      return exists + " AND " + cmp + ")";
    }
    case TraceFieldKind::kSpan: {
      KILN_ASSIGN_OR_RETURN(std::string col, SpanColumn(c.key));
      KILN_ASSIGN_OR_RETURN(std::string cmp, Comparison(d, col, c, args));
      return "EXISTS (SELECT 1 FROM trace_spans s WHERE s.trace_id = t.trace_id AND " + cmp + ")";
    }
  }
  return InvalidArgument("unsupported filter");
}

StatusOr<std::string> OrderSql(const TraceOrderBy& o, std::vector<sql::Arg>& args) {
  std::string value;
  if (o.kind == TraceFieldKind::kAttribute) {
    KILN_ASSIGN_OR_RETURN(value, AttributeColumn(o.key));
  } else if (o.kind == TraceFieldKind::kTag || o.kind == TraceFieldKind::kMetadata) {
    const std::string table = o.kind == TraceFieldKind::kTag ? "trace_tags" : "trace_metadata";
    value = "(SELECT x.value FROM " + table + " x WHERE x.trace_id = t.trace_id AND x.key = ?)";
    args.push_back(o.key);
    args.push_back(o.key);  // the value expression appears twice below
  } else {
    return InvalidArgument("cannot order traces by span fields");
  }
  // NULLs last in both directions, as MLflow orders traces.
  return "(" + value + " IS NULL), " + value + (o.ascending ? " ASC" : " DESC");
}

}  // namespace

StatusOr<TracePage> SqlTraceStore::SearchTraces(const TraceQuery& q) {
  std::vector<sql::Arg> args;
  std::string sql = std::string("SELECT ") +
                    "t.trace_id, t.experiment_id, t.client_request_id, t.request_time, t.execution_duration, "
                    "t.state, t.request_preview, t.response_preview FROM traces t WHERE t.experiment_id IN (";
  if (q.experiment_ids.empty()) return TracePage{};
  for (size_t i = 0; i < q.experiment_ids.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(int64_t exp, sql::ExperimentPk(q.experiment_ids[i]));
    sql += i ? ", ?" : "?";
    args.push_back(exp);
  }
  sql += ")";
  for (const auto& c : q.filter) {
    KILN_ASSIGN_OR_RETURN(std::string clause, ClauseSql(db_.dialect(), c, args));
    sql += " AND " + clause;
  }
  sql += " ORDER BY ";
  for (const auto& o : q.order_by) {
    KILN_ASSIGN_OR_RETURN(std::string order, OrderSql(o, args));
    sql += order + ", ";
  }
  sql += "t.request_time DESC, t.trace_id ASC LIMIT ? OFFSET ?";
  args.push_back(q.max_results + 1);
  args.push_back(q.offset);

  TracePage page;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    page.items.clear();
    {
      // Shapes vary with the filter: keep them out of the statement cache.
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(sql, /*cache=*/false));
      st.BindAll(args);
      while (true) {
        KILN_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        page.items.push_back(sql::ReadTraceRow(st));
      }
    }
    if (static_cast<int64_t>(page.items.size()) > q.max_results) {
      page.items.resize(static_cast<size_t>(q.max_results));
      page.has_more = true;
    }
    for (auto& info : page.items) KILN_RETURN_IF_ERROR(sql::LoadTraceChildren(c, info));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return page;
}

}  // namespace kiln::storage
