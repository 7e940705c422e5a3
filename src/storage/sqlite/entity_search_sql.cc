#include "storage/sqlite/entity_search_sql.h"

#include "storage/sqlite/run_search_sql.h"
#include "storage/tracking_entities.h"

namespace kiln::storage::sqlite {
namespace {

struct AttrColumn {
  const char* name;
  const char* column;
  bool numeric;
};

constexpr AttrColumn kExperimentAttrs[] = {
    {"name", "e.name", false},
    {"experiment_id", "e.experiment_id", false},
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
Status AppendFilters(const std::vector<FilterClause>& filter, const AttrColumn (&attrs)[N],
                     const EntitySpec& spec, std::string* from, std::vector<SqlArg>* from_args,
                     std::string* where, std::vector<SqlArg>* where_args) {
  int alias = 0;
  for (const auto& c : filter) {
    *where += " AND ";
    if (c.entity == SearchEntity::kAttribute) {
      const AttrColumn* a = FindAttr(attrs, c.key);
      if (!a) return InvalidArgument("Invalid attribute key '" + c.key + "' specified.");
      KILN_RETURN_IF_ERROR(AppendComparison(a->column, c.op, c.value, a->numeric, where, where_args));
      continue;
    }
    const char* table = nullptr;
    if (c.entity == SearchEntity::kTag) table = spec.tag_table;
    if (c.entity == SearchEntity::kParam) table = spec.param_table;
    if (!table) return InvalidArgument("Unsupported filter on '" + c.key + "'");
    std::string a = "f" + std::to_string(alias++);
    *from += std::string(" JOIN ") + table + " " + a + " ON " + a + "." + spec.fk + " = " +
             spec.id_col + " AND " + a + ".key = ?";
    from_args->push_back(c.key);
    KILN_RETURN_IF_ERROR(AppendComparison(a + ".value", c.op, c.value, false, where, where_args));
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

SqlQuery Assemble(const std::string& from, std::vector<SqlArg> from_args, const std::string& where,
                  std::vector<SqlArg> where_args, const std::string& order, int64_t limit,
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

StatusOr<SqlQuery> BuildExperimentSearchSql(const ExperimentQuery& query) {
  static const EntitySpec spec{"e.experiment_id", "experiment_tags", "experiment_id", nullptr};
  std::string from = "SELECT e.experiment_id FROM experiments e";
  std::string where = " WHERE 1";
  std::vector<SqlArg> from_args, where_args;
  if (std::string v = ViewTypeCondition(query.view, "e.lifecycle_stage"); !v.empty()) {
    where += " AND " + v;
  }
  KILN_RETURN_IF_ERROR(AppendFilters(query.filter, kExperimentAttrs, spec, &from, &from_args,
                                     &where, &where_args));
  std::string order = " ORDER BY ";
  KILN_RETURN_IF_ERROR(AppendOrder(query.order_by, kExperimentAttrs, &order));
  order += "e.creation_time DESC, e.experiment_id ASC";
  return Assemble(from, std::move(from_args), where, std::move(where_args), order,
                  query.max_results, query.offset);
}

StatusOr<SqlQuery> BuildLoggedModelSearchSql(const LoggedModelQuery& query) {
  static const EntitySpec spec{"m.model_id", "logged_model_tags", "model_id",
                               "logged_model_params"};
  std::string from = "SELECT m.model_id FROM logged_models m";
  std::string where =
      " WHERE m.experiment_id IN (SELECT value FROM json_each(?)) AND m.lifecycle_stage = 'active'";
  std::vector<SqlArg> from_args, where_args;
  std::vector<int64_t> ids;
  for (const auto& id : query.experiment_ids) {
    int64_t v = 0;
    if (ParseInt64(id, &v)) ids.push_back(v);
  }
  where_args.push_back(JsonIntArray(ids));
  KILN_RETURN_IF_ERROR(
      AppendFilters(query.filter, kModelAttrs, spec, &from, &from_args, &where, &where_args));
  std::string order = " ORDER BY ";
  KILN_RETURN_IF_ERROR(AppendOrder(query.order_by, kModelAttrs, &order));
  order += "m.creation_timestamp DESC, m.model_id ASC";
  return Assemble(from, std::move(from_args), where, std::move(where_args), order,
                  query.max_results, query.offset);
}

}  // namespace kiln::storage::sqlite
