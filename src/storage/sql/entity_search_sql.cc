#include "storage/sql/entity_search_sql.h"

#include "storage/sql/run_search_sql.h"
#include "storage/tracking_entities.h"

namespace kiln::storage::sql {
namespace {

struct AttrColumn {
  const char* name;
  const char* column;
  bool numeric;
};

constexpr AttrColumn kExperimentAttrs[] = {
    {"name", "e.name", false},
    // An integer column that MLflow's filter grammar compares as a string
    // (=, !=, IN, LIKE): cast, since PostgreSQL has no bigint = text.
    {"experiment_id", "CAST(e.experiment_id AS TEXT)", false},
    {"creation_time", "e.creation_time", true},
    {"last_update_time", "e.last_update_time", true},
    {"lifecycle_stage", "e.lifecycle_stage", false},
};

constexpr AttrColumn kModelAttrs[] = {
    {"model_id", "m.model_id", false},
    {"name", "m.name", false},
    {"model_type", "m.model_type", false},
    {"status", "m.status", false},
    {"creation_timestamp", "m.creation_timestamp", true},
    {"last_updated_timestamp", "m.last_updated_timestamp", true},
    {"source_run_id", "m.source_run_id", false},
};

template <size_t N>
const AttrColumn* FindAttr(const AttrColumn (&attrs)[N], const std::string& key) {
  for (const auto& a : attrs) {
    if (key == a.name) return &a;
  }
  return nullptr;
}

// Builds "<joins> WHERE ... ORDER BY ..." for an entity with a key/value tag
// table (and optionally a param table) joined on `id_col`.
struct EntitySpec {
  const char* id_col;       // "e.experiment_id"
  const char* tag_table;    // "experiment_tags"
  const char* fk;           // column in tag/param tables referring to the entity
  const char* param_table;  // nullptr if the entity has no params
};

template <size_t N>
Status AppendFilters(Dialect d, const std::vector<FilterClause>& filter, const AttrColumn (&attrs)[N],
                     const EntitySpec& spec, std::string* from, std::vector<sql::Arg>* from_args,
                     std::string* where, std::vector<sql::Arg>* where_args) {
  int alias = 0;
  for (const auto& c : filter) {
    *where += " AND ";
    if (c.entity == SearchEntity::kAttribute) {
      const AttrColumn* a = FindAttr(attrs, c.key);
      if (!a) return InvalidArgument("Invalid attribute key '" + c.key + "' specified.");
      KILN_RETURN_IF_ERROR(AppendComparison(d, a->column, c.op, c.value, a->numeric, where, where_args));
      continue;
    }
    const char* table = nullptr;
    if (c.entity == SearchEntity::kTag) table = spec.tag_table;
    if (c.entity == SearchEntity::kParam) table = spec.param_table;
    if (!table) return InvalidArgument("Unsupported filter on '" + c.key + "'");
    std::string a = "f" + std::to_string(alias++);
    if (c.op == CompareOp::kIsNull || c.op == CompareOp::kIsNotNull) {
      *where += std::string(c.op == CompareOp::kIsNull ? "NOT " : "") + "EXISTS (SELECT 1 FROM " + table + " " + a +
                " WHERE " + a + "." + spec.fk + " = " + spec.id_col + " AND " + a + ".key = ?)";
      where_args->push_back(c.key);
      continue;
    }
    *from += std::string(" JOIN ") + table + " " + a + " ON " + a + "." + spec.fk + " = " +
             spec.id_col + " AND " + a + ".key = ?";
    from_args->push_back(c.key);
    KILN_RETURN_IF_ERROR(AppendComparison(d, a + ".value", c.op, c.value, false, where, where_args));
  }
  return Status::Ok();
}

template <size_t N>
Status AppendOrder(const std::vector<OrderBy>& order_by, const AttrColumn (&attrs)[N],
                   std::string* order) {
  for (const auto& o : order_by) {
    const AttrColumn* a =
        o.entity == SearchEntity::kAttribute ? FindAttr(attrs, o.key) : nullptr;
    if (!a) return InvalidArgument("Invalid order_by key '" + o.key + "'");
    *order += OrderTerm(a->column, o.ascending) + ", ";
  }
  return Status::Ok();
}

SqlQuery Assemble(const std::string& from, std::vector<sql::Arg> from_args, const std::string& where,
                  std::vector<sql::Arg> where_args, const std::string& order, int64_t limit,
                  int64_t offset) {
  SqlQuery q;
  q.sql = from + where + order + " LIMIT ? OFFSET ?";
  q.args = std::move(from_args);
  for (auto& a : where_args) q.args.push_back(std::move(a));
  // In-place construction: GCC 12 -O2 reports a false -Wmaybe-uninitialized
  // when moving a temporary variant<..., std::string> into the vector.
  q.args.emplace_back(std::in_place_type<int64_t>, limit + 1);
  q.args.emplace_back(std::in_place_type<int64_t>, offset);
  return q;
}

}  // namespace

StatusOr<SqlQuery> BuildExperimentSearchSql(const ExperimentQuery& query, Dialect d) {
  static const EntitySpec spec{"e.experiment_id", "experiment_tags", "experiment_id", nullptr};
  std::string from = "SELECT e.experiment_id FROM experiments e";
  std::string where = " WHERE 1 = 1";
  std::vector<sql::Arg> from_args, where_args;
  if (std::string v = ViewTypeCondition(query.view, "e.lifecycle_stage"); !v.empty()) {
    where += " AND " + v;
  }
  KILN_RETURN_IF_ERROR(AppendFilters(d, query.filter, kExperimentAttrs, spec, &from, &from_args,
                                     &where, &where_args));
  std::string order = " ORDER BY ";
  KILN_RETURN_IF_ERROR(AppendOrder(query.order_by, kExperimentAttrs, &order));
  order += "e.creation_time DESC, e.experiment_id ASC";
  return Assemble(from, std::move(from_args), where, std::move(where_args), order,
                  query.max_results, query.offset);
}

namespace {

// "(x.dataset_name = ? [AND x.dataset_digest = ?]) OR ..." for metric rows aliased `x`.
std::string DatasetCondition(const std::vector<DatasetScope>& datasets, const std::string& x,
                             std::vector<sql::Arg>* args) {
  std::string out = "(";
  for (size_t i = 0; i < datasets.size(); ++i) {
    if (i) out += " OR ";
    out += "(" + x + ".dataset_name = ?";
    args->push_back(datasets[i].name);
    if (!datasets[i].digest.empty()) {
      out += " AND " + x + ".dataset_digest = ?";
      args->push_back(datasets[i].digest);
    }
    out += ")";
  }
  return out + ")";
}

// MLflow matches a metric clause against any value the model logged under
// that key (every step, run and dataset), restricted to the requested
// datasets when there are any.
Status AppendMetricFilter(Dialect d, const FilterClause& c, const std::vector<DatasetScope>& datasets, int alias,
                          std::string* where, std::vector<sql::Arg>* args) {
  std::string x = "lm" + std::to_string(alias);
  *where += " AND EXISTS (SELECT 1 FROM logged_model_metrics " + x + " WHERE " + x + ".model_id = m.model_id AND " +
            x + ".key = ? AND ";
  args->push_back(c.key);
  KILN_RETURN_IF_ERROR(AppendComparison(d, x + ".value", c.op, c.value, /*numeric=*/true, where, args));
  if (!datasets.empty()) *where += " AND " + DatasetCondition(datasets, x, args);
  *where += ")";
  return Status::Ok();
}

// The model's latest value of a metric (highest step, then timestamp, then
// value, as MLflow 3.18 picks it and as run metrics do), optionally on one
// dataset and within the query's datasets, joined as `<alias>.value`.
void AppendMetricOrderJoin(const OrderBy& o, const std::vector<DatasetScope>& datasets, const std::string& alias,
                           std::string* from, std::vector<sql::Arg>* args) {
  std::string cond = "x.key = ?";
  args->push_back(o.key);
  if (!o.dataset_name.empty()) {
    cond += " AND x.dataset_name = ?";
    args->push_back(o.dataset_name);
  }
  if (!o.dataset_digest.empty()) {
    cond += " AND x.dataset_digest = ?";
    args->push_back(o.dataset_digest);
  }
  if (!datasets.empty()) cond += " AND " + DatasetCondition(datasets, "x", args);
  *from += " LEFT JOIN (SELECT model_id, value FROM (SELECT x.model_id, x.value, row_number() OVER (PARTITION BY "
           "x.model_id ORDER BY x.step DESC, x.timestamp DESC, x.value DESC) AS rn FROM logged_model_metrics x "
           "WHERE " + cond + ") ranked WHERE rn = 1) " + alias + " ON " + alias + ".model_id = m.model_id";
}

}  // namespace

StatusOr<SqlQuery> BuildLoggedModelSearchSql(const LoggedModelQuery& query, Dialect d) {
  static const EntitySpec spec{"m.model_id", "logged_model_tags", "model_id",
                               "logged_model_params"};
  std::string from = "SELECT m.model_id FROM logged_models m";
  std::string where =
      " WHERE m.experiment_id IN " + JsonArrayValues(d, "?", /*integers=*/true) + " AND m.lifecycle_stage = 'active'";
  std::vector<sql::Arg> from_args, where_args;
  std::vector<int64_t> ids;
  for (const auto& id : query.experiment_ids) {
    int64_t v = 0;
    if (ParseInt64(id, &v)) ids.push_back(v);
  }
  where_args.push_back(JsonIntArray(ids));
  std::vector<FilterClause> others;
  int metric_alias = 0;
  bool has_metric_filter = false;
  for (const auto& c : query.filter) {
    if (c.entity != SearchEntity::kMetric) {
      others.push_back(c);
      continue;
    }
    has_metric_filter = true;
    KILN_RETURN_IF_ERROR(AppendMetricFilter(d, c, query.datasets, metric_alias++, &where, &where_args));
  }
  if (!query.datasets.empty() && !has_metric_filter) {
    // No metric clause: the models that logged any metric on those datasets.
    where += " AND EXISTS (SELECT 1 FROM logged_model_metrics ds WHERE ds.model_id = m.model_id AND " +
             DatasetCondition(query.datasets, "ds", &where_args) + ")";
  }
  KILN_RETURN_IF_ERROR(AppendFilters(d, others, kModelAttrs, spec, &from, &from_args, &where, &where_args));
  std::string order = " ORDER BY ";
  bool has_creation = false, has_model_id = false;
  for (size_t i = 0; i < query.order_by.size(); ++i) {
    const OrderBy& o = query.order_by[i];
    if (o.entity == SearchEntity::kMetric) {
      std::string alias = "ob" + std::to_string(i);
      AppendMetricOrderJoin(o, query.datasets, alias, &from, &from_args);
      order += OrderTerm(alias + ".value", o.ascending) + ", ";
      continue;
    }
    has_creation = has_creation || o.key == "creation_timestamp";
    has_model_id = has_model_id || o.key == "model_id";
    KILN_RETURN_IF_ERROR(AppendOrder(std::vector<OrderBy>{o}, kModelAttrs, &order));
  }
  // MLflow's tie-breakers, each only when not ordered by already.
  if (!has_creation) order += "m.creation_timestamp DESC, ";
  if (has_model_id) {
    order.resize(order.size() - 2);  // the trailing ", "
  } else {
    order += "m.model_id ASC";
  }
  return Assemble(from, std::move(from_args), where, std::move(where_args), order,
                  query.max_results, query.offset);
}

}  // namespace kiln::storage::sql
