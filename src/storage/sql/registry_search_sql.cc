#include "storage/sql/registry_search_sql.h"

#include <algorithm>
#include <string_view>

namespace kiln::storage::sql {
namespace {

struct Column {
  std::string_view key;
  const char* expr;
  bool numeric;
};

constexpr Column kModelColumns[] = {
    {"name", "rm.name", false},
    {"creation_timestamp", "rm.creation_time", true},
    {"last_updated_timestamp", "rm.last_updated_time", true},
};

constexpr Column kVersionColumns[] = {
    {"name", "rm.name", false},
    {"version_number", "mv.version", true},
    {"run_id", "mv.run_id", false},
    {"source_path", "mv.source", false},
    {"creation_timestamp", "mv.creation_time", true},
    {"last_updated_timestamp", "mv.last_updated_time", true},
    // Not in MLflow's filter grammar (the parser refuses it): kiln's own
    // lookup of the version whose copy lives at a storage path.
    {"storage_path", "mv.storage_path", false},
};

template <size_t N>
const Column* Find(const Column (&cols)[N], const std::string& key) {
  for (const Column& c : cols) {
    if (c.key == key) return &c;
  }
  return nullptr;
}

// MLflow 3 clients add `tags.mlflow.prompt.is_prompt != 'true'` to every
// registry search to hide prompts; a model without the tag must match that
// (and `= 'false'`), as in MLflow's own stores.
constexpr std::string_view kIsPromptTag = "mlflow.prompt.is_prompt";

bool MissingTagMatches(const FilterClause& c) {
  const auto* v = std::get_if<std::string>(&c.value);
  if (c.key != kIsPromptTag || !v) return false;
  return (c.op == CompareOp::kEq && *v == "false") || (c.op == CompareOp::kNe && *v == "true");
}

// `tag_match` is the EXISTS subquery prefix up to the value comparison.
template <size_t N>
Status AppendWhere(Dialect d, const std::vector<FilterClause>& filter, const Column (&cols)[N], const std::string& tag_match,
                   SqlQuery* q) {
  for (const FilterClause& c : filter) {
    q->sql += " AND ";
    if (c.entity == SearchEntity::kTag) {
      const bool missing_matches = MissingTagMatches(c);
      if (missing_matches) {
        q->sql += "(NOT " + tag_match + "1 = 1) OR ";
        q->args.push_back(c.key);
      }
      q->sql += tag_match;
      q->args.push_back(c.key);
      KILN_RETURN_IF_ERROR(AppendComparison(d, "t.value", c.op, c.value, false, &q->sql, &q->args));
      q->sql += missing_matches ? "))" : ")";
      continue;
    }
    const Column* col = c.entity == SearchEntity::kAttribute ? Find(cols, c.key) : nullptr;
    if (!col) return InvalidArgument("Invalid attribute key '" + c.key + "' specified.");
    KILN_RETURN_IF_ERROR(AppendComparison(d, col->expr, c.op, c.value, col->numeric, &q->sql, &q->args));
  }
  return Status::Ok();
}

template <size_t N>
StatusOr<std::string> OrderSql(const std::vector<OrderBy>& order_by, const Column (&cols)[N]) {
  std::string out;
  std::vector<std::string_view> seen;
  for (const OrderBy& o : order_by) {
    const Column* col = o.entity == SearchEntity::kAttribute ? Find(cols, o.key) : nullptr;
    if (!col) return InvalidArgument("Invalid order_by key '" + o.key + "'");
    if (std::find(seen.begin(), seen.end(), std::string_view(col->expr)) != seen.end()) {
      return InvalidArgument("`order_by` contains duplicate fields: " + o.key);
    }
    seen.push_back(col->expr);
    out += out.empty() ? " ORDER BY " : ", ";
    out += std::string(col->expr) + (o.ascending ? " ASC" : " DESC");
  }
  return out;
}

bool HasKey(const std::vector<OrderBy>& order_by, std::string_view key) {
  for (const OrderBy& o : order_by) {
    if (o.key == key) return true;
  }
  return false;
}

}  // namespace

StatusOr<SqlQuery> BuildRegisteredModelSearchSql(const RegisteredModelQuery& query, Dialect d) {
  SqlQuery q;
  q.sql = "SELECT rm.id FROM registered_models rm WHERE 1 = 1";
  KILN_RETURN_IF_ERROR(AppendWhere(d, query.filter, kModelColumns,
                                   "EXISTS (SELECT 1 FROM registered_model_tags t "
                                   "WHERE t.model_pk = rm.id AND t.key = ? AND ",
                                   &q));
  KILN_ASSIGN_OR_RETURN(std::string order, OrderSql(query.order_by, kModelColumns));
  if (!HasKey(query.order_by, "name")) order += order.empty() ? " ORDER BY rm.name ASC" : ", rm.name ASC";
  q.sql += order + " LIMIT ? OFFSET ?";
  q.args.push_back(query.max_results + 1);
  q.args.push_back(query.offset);
  return q;
}

StatusOr<SqlQuery> BuildModelVersionSearchSql(const ModelVersionQuery& query, Dialect d) {
  SqlQuery q;
  q.sql =
      "SELECT mv.model_pk, mv.version, rm.name FROM model_versions mv "
      "JOIN registered_models rm ON rm.id = mv.model_pk WHERE 1 = 1";
  KILN_RETURN_IF_ERROR(AppendWhere(d, query.filter, kVersionColumns,
                                   "EXISTS (SELECT 1 FROM model_version_tags t WHERE t.model_pk = mv.model_pk "
                                   "AND t.version = mv.version AND t.key = ? AND ",
                                   &q));
  // MLflow's default order: most recently updated first.
  static const std::vector<OrderBy> kDefaultOrder = {{SearchEntity::kAttribute, "last_updated_timestamp", false}};
  KILN_ASSIGN_OR_RETURN(std::string order,
                        OrderSql(query.order_by.empty() ? kDefaultOrder : query.order_by, kVersionColumns));
  if (!HasKey(query.order_by, "name")) order += order.empty() ? " ORDER BY rm.name ASC" : ", rm.name ASC";
  if (!HasKey(query.order_by, "version_number")) order += ", mv.version DESC";
  q.sql += order + " LIMIT ? OFFSET ?";
  q.args.push_back(query.max_results + 1);
  q.args.push_back(query.offset);
  return q;
}

}  // namespace kiln::storage::sql
