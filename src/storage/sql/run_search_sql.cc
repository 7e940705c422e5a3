#include "storage/sql/run_search_sql.h"

#include <map>
#include <string>

#include "storage/tracking_entities.h"

namespace kiln::storage::sql {
namespace {

constexpr const char* kContextTag = "mlflow.data.context";

struct AttrColumn {
  const char* name;
  const char* column;
  bool numeric;
};

constexpr AttrColumn kRunAttrs[] = {
    {"run_id", "r.run_id", false},         {"run_name", "r.name", false},
    {"status", "r.status", false},         {"user_id", "r.user_id", false},
    {"artifact_uri", "r.artifact_uri", false}, {"lifecycle_stage", "r.lifecycle_stage", false},
    {"start_time", "r.start_time", true},  {"end_time", "r.end_time", true},
};

const AttrColumn* FindAttr(const std::string& key) {
  for (const auto& a : kRunAttrs) {
    if (key == a.name) return &a;
  }
  return nullptr;
}

// Joined tables for metric/param/tag keys: "latest_metrics", "params", "tags".
const char* KeyedTable(SearchEntity e) {
  switch (e) {
    case SearchEntity::kMetric: return "latest_metrics";
    case SearchEntity::kParam: return "params";
    case SearchEntity::kTag: return "tags";
    default: return nullptr;
  }
}

Status AppendDatasetFilter(Dialect d, const FilterClause& c, std::string* where, std::vector<sql::Arg>* args) {
  if (c.key == "name" || c.key == "digest") {
    *where += "EXISTS (SELECT 1 FROM dataset_inputs di JOIN datasets d ON d.id = di.dataset_id "
              "WHERE di.run_pk = r.id AND ";
    KILN_RETURN_IF_ERROR(AppendComparison(d, "d." + c.key, c.op, c.value, false, where, args));
    *where += ")";
    return Status::Ok();
  }
  if (c.key == "context") {
    *where += "EXISTS (SELECT 1 FROM dataset_inputs di JOIN input_tags it ON it.input_id = di.id "
              "AND it.key = ? WHERE di.run_pk = r.id AND ";
    args->push_back(std::string(kContextTag));
    KILN_RETURN_IF_ERROR(AppendComparison(d, "it.value", c.op, c.value, false, where, args));
    *where += ")";
    return Status::Ok();
  }
  return InvalidArgument("Invalid dataset attribute key '" + c.key +
                         "'. Valid keys are: name, digest, context");
}

}  // namespace

std::string ViewTypeCondition(ViewType view, const std::string& col) {
  switch (view) {
    case ViewType::kActiveOnly: return col + " = '" + kLifecycleActive + "'";
    case ViewType::kDeletedOnly: return col + " = '" + kLifecycleDeleted + "'";
    case ViewType::kAll: return "";
  }
  return "";
}

StatusOr<SqlQuery> BuildRunSearchSql(const RunQuery& query, Dialect d) {
  std::string from = "SELECT r.id FROM runs r";
  std::vector<sql::Arg> from_args;
  std::string where = " WHERE r.experiment_id IN " + JsonArrayValues(d, "?", /*integers=*/true);
  std::vector<sql::Arg> where_args;
  std::vector<int64_t> exp_ids;
  for (const auto& id : query.experiment_ids) {
    int64_t v = 0;
    if (ParseInt64(id, &v)) exp_ids.push_back(v);  // non-numeric ids match nothing
  }
  if (exp_ids.size() == 1) {
    where = " WHERE r.experiment_id = ?";  // lets the planner use an equality seek
    where_args.push_back(exp_ids[0]);
  } else {
    where_args.push_back(JsonIntArray(exp_ids));
  }
  if (std::string view = ViewTypeCondition(query.view, "r.lifecycle_stage"); !view.empty()) {
    where += " AND " + view;
  }

  int alias = 0;
  // Metric keys inner-joined by an ordered comparison: their value is never
  // NULL or NaN, so ordering on them needs no NULL/NaN buckets and SQLite can
  // walk latest_metrics_key_value in order and stop at the LIMIT.
  std::map<std::string, std::string> ordered_metric_alias;
  for (const auto& c : query.filter) {
    where += " AND ";
    if (const char* table = KeyedTable(c.entity); table && (c.op == CompareOp::kIsNull || c.op == CompareOp::kIsNotNull)) {
      std::string a = "f" + std::to_string(alias++);
      where += std::string(c.op == CompareOp::kIsNull ? "NOT " : "") + "EXISTS (SELECT 1 FROM " + table + " " + a +
               " WHERE " + a + ".run_pk = r.id AND " + a + ".key = ?)";
      where_args.push_back(c.key);
    } else if (const char* table = KeyedTable(c.entity)) {
      std::string a = "f" + std::to_string(alias++);
      from += std::string(" JOIN ") + table + " " + a + " ON " + a + ".run_pk = r.id AND " + a +
              ".key = ?";
      from_args.push_back(c.key);
      if (c.entity == SearchEntity::kMetric) {
        // NaN never satisfies an ordered comparison; it is "!=" anything.
        where += c.op == CompareOp::kNe ? "(" + a + ".is_nan = 1 OR " : "(" + a + ".is_nan = 0 AND ";
        KILN_RETURN_IF_ERROR(
            AppendComparison(d, a + ".value", c.op, c.value, true, &where, &where_args));
        where += ")";
        if (c.op != CompareOp::kNe && c.op != CompareOp::kIn && c.op != CompareOp::kNotIn) {
          ordered_metric_alias.emplace(c.key, a);
        }
      } else {
        KILN_RETURN_IF_ERROR(
            AppendComparison(d, a + ".value", c.op, c.value, false, &where, &where_args));
      }
    } else if (c.entity == SearchEntity::kAttribute) {
      const AttrColumn* attr = FindAttr(c.key);
      if (!attr) return InvalidArgument("Invalid attribute key '" + c.key + "' specified.");
      KILN_RETURN_IF_ERROR(
          AppendComparison(d, attr->column, c.op, c.value, attr->numeric, &where, &where_args));
    } else {
      KILN_RETURN_IF_ERROR(AppendDatasetFilter(d, c, &where, &where_args));
    }
  }

  std::string order = " ORDER BY ";
  for (const auto& o : query.order_by) {
    if (o.entity == SearchEntity::kMetric) {
      if (auto it = ordered_metric_alias.find(o.key); it != ordered_metric_alias.end()) {
        order += it->second + ".value" + (o.ascending ? " ASC, " : " DESC, ");
        continue;
      }
    }
    if (const char* table = KeyedTable(o.entity)) {
      std::string a = "o" + std::to_string(alias++);
      from += std::string(" LEFT JOIN ") + table + " " + a + " ON " + a + ".run_pk = r.id AND " +
              a + ".key = ?";
      from_args.push_back(o.key);
      if (o.entity == SearchEntity::kMetric) {
        // Numbers first, then NaN, then runs without the metric (both directions).
        order += "CASE WHEN " + a + ".value IS NULL THEN 2 WHEN " + a +
                 ".is_nan = 1 THEN 1 ELSE 0 END, " + a + ".value" +
                 (o.ascending ? " ASC, " : " DESC, ");
      } else {
        order += OrderTerm(a + ".value", o.ascending) + ", ";
      }
    } else if (o.entity == SearchEntity::kAttribute) {
      const AttrColumn* attr = FindAttr(o.key);
      if (!attr) return InvalidArgument("Invalid attribute key '" + o.key + "' specified.");
      order += OrderTerm(attr->column, o.ascending) + ", ";
    } else {
      return InvalidArgument("Invalid order_by entity for key '" + o.key + "'");
    }
  }
  order += "r.start_time DESC, r.run_id ASC LIMIT ? OFFSET ?";

  SqlQuery out;
  out.sql = from + where + order;
  out.args = std::move(from_args);
  for (auto& a : where_args) out.args.push_back(std::move(a));
  out.args.push_back(static_cast<int64_t>(query.max_results + 1));
  out.args.push_back(static_cast<int64_t>(query.offset));
  return out;
}

}  // namespace kiln::storage::sql
