#include "storage/backup/table_copy.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <map>
#include <set>

namespace kiln::storage::backup {
namespace {

using sql::Conn;
using sql::Dialect;
using sql::Stmt;

// Schema-version tables, and metric_blocks: the schema's triggers derive it
// from metrics, so the target rebuilds it as the points arrive (its sums then
// add in the target's order, so it could not be compared bit-exact anyway).
bool IsBookkeeping(const std::string& table) {
  return table == "schema_migrations" || table == "audit_schema_migrations" || table == "metric_blocks";
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// SQLite's declared type affinity rules, and PostgreSQL's data_type names.
ColumnKind KindOf(const std::string& declared) {
  const std::string t = Lower(declared);
  if (t.find("int") != std::string::npos) return ColumnKind::kInteger;
  if (t.find("real") != std::string::npos || t.find("floa") != std::string::npos ||
      t.find("doub") != std::string::npos || t == "numeric") {
    return ColumnKind::kDouble;
  }
  return ColumnKind::kText;
}

std::string Quote(const std::string& name) { return "\"" + name + "\""; }

// Appends the first column of every row.
Status CollectText(Stmt& st, std::vector<std::string>& out) {
  for (;;) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::Ok();
    out.push_back(st.Text(0));
  }
}

StatusOr<std::vector<std::string>> TableNames(Conn& conn) {
  const char* sql =
      conn.dialect() == Dialect::kSqlite
          ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
          : "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_type = 'BASE TABLE' ORDER BY table_name";
  KILN_ASSIGN_OR_RETURN(Stmt st, conn.Prepare(sql, false));
  std::vector<std::string> names;
  KILN_RETURN_IF_ERROR(CollectText(st, names));
  names.erase(std::remove_if(names.begin(), names.end(), IsBookkeeping), names.end());
  return names;
}

Status ReadColumns(Conn& conn, TableInfo& t) {
  if (conn.dialect() == Dialect::kSqlite) {
    KILN_ASSIGN_OR_RETURN(Stmt st, conn.Prepare("SELECT name, type FROM pragma_table_info(?) ORDER BY cid", false));
    st.Args(t.name);
    for (;;) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      t.columns.push_back({st.Text(0), KindOf(st.Text(1)), false});
    }
    KILN_ASSIGN_OR_RETURN(Stmt fk, conn.Prepare("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?)", false));
    fk.Args(t.name);
    return CollectText(fk, t.references);
  }
  KILN_ASSIGN_OR_RETURN(
      Stmt st, conn.Prepare("SELECT column_name, data_type, "
                            "CASE WHEN column_default LIKE 'nextval(%' OR is_identity = 'YES' THEN 1 ELSE 0 END "
                            "FROM information_schema.columns WHERE table_schema = current_schema() "
                            "AND table_name = ? ORDER BY ordinal_position",
                            false));
  st.Args(t.name);
  for (;;) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    t.columns.push_back({st.Text(0), KindOf(st.Text(1)), st.Int(2) != 0});
  }
  KILN_ASSIGN_OR_RETURN(
      Stmt fk, conn.Prepare("SELECT DISTINCT ccu.table_name FROM information_schema.table_constraints tc "
                            "JOIN information_schema.constraint_column_usage ccu "
                            "ON tc.constraint_name = ccu.constraint_name AND tc.table_schema = ccu.table_schema "
                            "WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema() "
                            "AND tc.table_name = ?",
                            false));
  fk.Args(t.name);
  return CollectText(fk, t.references);
}

std::string ColumnList(const TableInfo& t) {
  std::string cols;
  for (const auto& c : t.columns) {
    if (!cols.empty()) cols += ", ";
    cols += Quote(c.name);
  }
  return cols;
}

// One value in a form that is identical for identical values on both engines.
void AppendCanonical(const Stmt& st, int col, ColumnKind kind, std::string& out) {
  if (st.IsNull(col)) {
    out += 'N';
    return;
  }
  switch (kind) {
    case ColumnKind::kInteger:
      out += 'I';
      out += std::to_string(st.Int(col));
      break;
    case ColumnKind::kDouble: {
      const double d = st.Double(col);
      uint64_t bits = 0;
      std::memcpy(&bits, &d, sizeof bits);
      char buf[17];
      auto r = std::to_chars(buf, buf + sizeof buf, bits, 16);
      out += 'D';
      out.append(buf, r.ptr);
      break;
    }
    case ColumnKind::kText: {
      const std::string s = st.Text(col);
      out += 'T';
      out += std::to_string(s.size());
      out += ':';
      out += s;
      break;
    }
  }
  out += '|';
}

void BindValue(const Stmt& from, int col, ColumnKind kind, Stmt& to, int idx) {
  if (from.IsNull(col)) {
    to.BindNull(idx);
    return;
  }
  switch (kind) {
    case ColumnKind::kInteger:
      to.Bind(idx, from.Int(col));
      break;
    case ColumnKind::kDouble:
      to.Bind(idx, from.Double(col));
      break;
    case ColumnKind::kText:
      to.Bind(idx, from.Text(col));
      break;
  }
}

}  // namespace

StatusOr<std::vector<TableInfo>> ListTables(Conn& conn) {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, TableNames(conn));
  std::map<std::string, TableInfo> by_name;
  for (const auto& n : names) {
    TableInfo t;
    t.name = n;
    KILN_RETURN_IF_ERROR(ReadColumns(conn, t));
    by_name.emplace(n, std::move(t));
  }
  // Parents first: repeatedly emit tables whose referenced tables are out.
  std::vector<TableInfo> ordered;
  std::set<std::string> done;
  while (ordered.size() < by_name.size()) {
    bool progressed = false;
    for (auto& [name, t] : by_name) {
      if (done.count(name)) continue;
      bool ready = std::all_of(t.references.begin(), t.references.end(),
                               [&](const std::string& r) { return r == name || done.count(r) || !by_name.count(r); });
      if (!ready) continue;
      done.insert(name);
      ordered.push_back(t);
      progressed = true;
    }
    if (!progressed) return Internal("metadata tables have a foreign-key cycle; cannot order them for copying");
  }
  return ordered;
}

StatusOr<TableDigest> DigestTable(Conn& conn, const TableInfo& table) {
  std::string order;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    order += (i ? ", " : "") + std::to_string(i + 1) + " NULLS FIRST";
  }
  KILN_ASSIGN_OR_RETURN(
      Stmt st,
      conn.Prepare("SELECT " + ColumnList(table) + " FROM " + Quote(table.name) + " ORDER BY " + order, false));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    return Internal("sha256 unavailable");
  }
  TableDigest d;
  d.table = table.name;
  std::string row;
  Status failed = Status::Ok();
  for (;;) {
    auto more = st.Step();
    if (!more.ok()) {
      failed = more.status();
      break;
    }
    if (!*more) break;
    row.clear();
    for (size_t c = 0; c < table.columns.size(); ++c) {
      AppendCanonical(st, static_cast<int>(c), table.columns[c].kind, row);
    }
    row += '\n';
    EVP_DigestUpdate(ctx, row.data(), row.size());
    ++d.rows;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  if (!failed.ok()) return failed;
  static const char* kHex = "0123456789abcdef";
  for (unsigned i = 0; i < len; ++i) {
    d.sha256 += kHex[md[i] >> 4];
    d.sha256 += kHex[md[i] & 15];
  }
  return d;
}

StatusOr<int64_t> CopyTable(Conn& from, Conn& to, const TableInfo& table,
                            const std::function<void(int64_t)>& progress) {
  if (table.columns.empty()) return int64_t{0};
  std::string placeholders;
  for (size_t i = 0; i < table.columns.size(); ++i) placeholders += i ? ", ?" : "?";
  const std::string cols = ColumnList(table);
  KILN_ASSIGN_OR_RETURN(Stmt read, from.Prepare("SELECT " + cols + " FROM " + Quote(table.name), false));
  KILN_ASSIGN_OR_RETURN(
      Stmt write,
      to.Prepare("INSERT INTO " + Quote(table.name) + " (" + cols + ") VALUES (" + placeholders + ")", false));
  int64_t rows = 0;
  for (;;) {
    KILN_ASSIGN_OR_RETURN(bool row, read.Step());
    if (!row) break;
    for (size_t c = 0; c < table.columns.size(); ++c) {
      BindValue(read, static_cast<int>(c), table.columns[c].kind, write, static_cast<int>(c + 1));
    }
    if (Status s = write.Run(); !s.ok()) {
      return Status(s.code(),
                    "restoring table " + table.name + " row " + std::to_string(rows + 1) + ": " + s.message());
    }
    ++rows;
    if (progress && rows % 5000 == 0) progress(rows);
  }
  if (progress) progress(rows);
  return rows;
}

Status AdvanceSequences(Conn& to, const std::vector<TableInfo>& tables) {
  if (to.dialect() != Dialect::kPostgres) return Status::Ok();
  for (const auto& t : tables) {
    for (const auto& c : t.columns) {
      if (!c.serial) continue;
      KILN_ASSIGN_OR_RETURN(Stmt st, to.Prepare("SELECT setval(pg_get_serial_sequence(?, ?), COALESCE((SELECT MAX(" +
                                                    Quote(c.name) + ") FROM " + Quote(t.name) + "), 0) + 1, false)",
                                                false));
      st.Args(t.name, c.name);
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      (void)row;
    }
  }
  return Status::Ok();
}

StatusOr<int64_t> CountRows(Conn& conn, const std::string& table) {
  return conn.QueryInt("SELECT COUNT(*) FROM " + Quote(table));
}

}  // namespace kiln::storage::backup
