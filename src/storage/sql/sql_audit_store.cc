#include "storage/sqlite/sqlite_audit_store.h"

#include <sqlite3.h>

#include <string_view>

namespace kiln::storage::sqlite {
namespace {

// The audit database's own migrations; each runs in one IMMEDIATE
// transaction with its row in audit_schema_migrations.
constexpr std::string_view kMigrations[] = {
    // v1. The record text lives in a table of its own, so the rows queries
    // filter (actor, action, object, ...) stay dense -- dozens per page --
    // and a filtered scan in seq order is fast without an index per column,
    // each of which would cost a page write on every append.
    "CREATE TABLE records ("
    "  seq INTEGER PRIMARY KEY,"
    "  time_ms INTEGER NOT NULL,"
    "  audit_id TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  object TEXT NOT NULL,"
    "  decision TEXT NOT NULL,"
    "  stage TEXT NOT NULL,"
    "  hash TEXT NOT NULL);"
    "CREATE INDEX records_audit_id ON records(audit_id);"
    "CREATE TABLE record_json (seq INTEGER PRIMARY KEY, json TEXT NOT NULL);"
    "CREATE TABLE checkpoints ("
    "  id INTEGER PRIMARY KEY,"
    "  seq INTEGER NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  time_ms INTEGER NOT NULL,"
    "  prev_signature TEXT NOT NULL,"
    "  signature TEXT NOT NULL,"
    "  key_id TEXT NOT NULL);",
};

// A record whose text row is missing reads as an empty text (the verifier
// then reports it as edited) rather than vanishing from the log.
constexpr const char* kRecordSelect =
    "SELECT r.seq, r.time_ms, r.audit_id, r.actor, r.action, r.object, r.decision, r.stage, COALESCE(j.json, ''), "
    "r.hash FROM records r LEFT JOIN record_json j ON j.seq = r.seq";

Status Migrate(SqliteConn& conn) {
  KILN_RETURN_IF_ERROR(
      conn.Exec("CREATE TABLE IF NOT EXISTS audit_schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER)"));
  KILN_ASSIGN_OR_RETURN(int64_t current, conn.QueryInt("SELECT COALESCE(MAX(version), 0) FROM audit_schema_migrations"));
  const int64_t latest = static_cast<int64_t>(std::size(kMigrations));
  if (current > latest) {
    return FailedPrecondition("audit database schema v" + std::to_string(current) + " is newer than this kiln (v" +
                              std::to_string(latest) + ")");
  }
  for (int64_t v = current + 1; v <= latest; ++v) {
    KILN_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
    Status s = conn.Exec(std::string(kMigrations[v - 1]));
    if (s.ok()) {
      s = conn.Exec("INSERT INTO audit_schema_migrations(version, applied_ms) VALUES (" + std::to_string(v) +
                    ", CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))");
    }
    if (s.ok()) s = conn.Exec("COMMIT");
    if (!s.ok()) {
      (void)conn.Exec("ROLLBACK");
      return s;
    }
  }
  return Status::Ok();
}

StoredAuditRecord ReadRecord(const Stmt& st) {
  StoredAuditRecord r;
  r.seq = st.Int(0);
  r.time_ms = st.Int(1);
  r.audit_id = st.Text(2);
  r.actor = st.Text(3);
  r.action = st.Text(4);
  r.object = st.Text(5);
  r.decision = st.Text(6);
  r.stage = st.Text(7);
  r.json = st.Text(8);
  r.hash = st.Text(9);
  return r;
}

StatusOr<std::vector<StoredAuditRecord>> CollectRecords(Stmt& st) {
  std::vector<StoredAuditRecord> out;
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadRecord(st));
  }
  return out;
}

StatusOr<std::unique_ptr<SqliteConn>> OpenConn(const std::string& path, bool query_only, bool create) {
  return SqliteConn::Open(path, query_only, create, kAuditBusyTimeoutMs);
}

// LIKE pattern matching `prefix` literally at the start.
std::string PrefixPattern(std::string_view prefix) {
  std::string out;
  for (char c : prefix) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  out += '%';
  return out;
}

}  // namespace

StatusOr<std::unique_ptr<SqliteAuditStore>> SqliteAuditStore::Create(const std::string& path) {
  auto writer = OpenConn(path, false, true);
  if (!writer.ok()) return Unavailable("audit store " + path + ": " + writer.status().message());
  if (Status s = Migrate(**writer); !s.ok()) {
    if (s.code() == StatusCode::kFailedPrecondition) return s;
    return Unavailable("audit store " + path + ": " + s.message());
  }
  auto reader = OpenConn(path, true, false);
  if (!reader.ok()) return Unavailable("audit store " + path + ": " + reader.status().message());
  return std::unique_ptr<SqliteAuditStore>(new SqliteAuditStore(std::move(*writer), std::move(*reader)));
}

StatusOr<std::unique_ptr<SqliteAuditStore>> SqliteAuditStore::OpenReadOnly(const std::string& path) {
  auto reader = OpenConn(path, true, false);
  if (!reader.ok()) return Unavailable("audit store " + path + ": " + reader.status().message());
  auto has = (*reader)->QueryInt("SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='records'");
  if (!has.ok()) return Unavailable("audit store " + path + ": " + has.status().message());
  if (*has == 0) return NotFound(path + " is not a kiln audit database (no records table)");
  return std::unique_ptr<SqliteAuditStore>(new SqliteAuditStore(nullptr, std::move(*reader)));
}

Status SqliteAuditStore::Append(const std::vector<StoredAuditRecord>& records) {
  if (records.empty()) return Status::Ok();
  for (size_t i = 1; i < records.size(); ++i) {
    if (records[i].seq != records[0].seq + static_cast<int64_t>(i)) {
      return InvalidArgument("audit records to append must have consecutive seq values");
    }
  }
  std::lock_guard<std::mutex> lock(write_mu_);
  if (!writer_) return FailedPrecondition("audit store opened read-only");
  SqliteConn& db = *writer_;
  KILN_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t last, db.QueryInt("SELECT COALESCE(MAX(seq), 0) FROM records"));
    if (records[0].seq != last + 1) {
      return FailedPrecondition("audit append at seq " + std::to_string(records[0].seq) + " but the log ends at " +
                                std::to_string(last));
    }
    KILN_ASSIGN_OR_RETURN(Stmt st, db.Prepare("INSERT INTO records(seq, time_ms, audit_id, actor, action, object, "
                                              "decision, stage, hash) VALUES (?,?,?,?,?,?,?,?,?)"));
    KILN_ASSIGN_OR_RETURN(Stmt text, db.Prepare("INSERT INTO record_json(seq, json) VALUES (?,?)"));
    for (const StoredAuditRecord& r : records) {
      st.Args(r.seq, r.time_ms, r.audit_id, r.actor, r.action, r.object, r.decision, r.stage, r.hash);
      KILN_RETURN_IF_ERROR(st.Run());
      text.Args(r.seq, r.json);
      KILN_RETURN_IF_ERROR(text.Run());
    }
    return db.Exec("COMMIT");
  };
  Status s = body();
  if (!s.ok()) (void)db.Exec("ROLLBACK");
  return s;
}

StatusOr<StoredAuditRecord> SqliteAuditStore::Last() {
  std::lock_guard<std::mutex> lock(read_mu_);
  KILN_ASSIGN_OR_RETURN(Stmt st,
                        reader_->Prepare(std::string(kRecordSelect) + " ORDER BY r.seq DESC LIMIT 1"));
  KILN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return StoredAuditRecord{};
  return ReadRecord(st);
}

StatusOr<std::vector<StoredAuditRecord>> SqliteAuditStore::Query(const AuditQuery& q) {
  std::string sql = std::string(kRecordSelect) + " WHERE r.seq > ?";
  std::vector<SqlArg> args{q.after_seq};
  auto eq = [&](const char* column, const std::string& value) {
    if (value.empty()) return;
    sql += std::string(" AND r.") + column + " = ?";
    args.emplace_back(value);
  };
  eq("actor", q.actor);
  eq("object", q.object);
  eq("decision", q.decision);
  eq("audit_id", q.audit_id);
  if (!q.action_prefix.empty()) {
    sql += " AND r.action LIKE ? ESCAPE '\\'";
    args.emplace_back(PrefixPattern(q.action_prefix));
  }
  if (q.since_ms > 0) {
    sql += " AND r.time_ms >= ?";
    args.emplace_back(q.since_ms);
  }
  if (q.until_ms > 0) {
    sql += " AND r.time_ms <= ?";
    args.emplace_back(q.until_ms);
  }
  sql += " ORDER BY r.seq LIMIT ?";
  args.emplace_back(q.max_results > 0 ? q.max_results : int64_t{100});
  std::lock_guard<std::mutex> lock(read_mu_);
  KILN_ASSIGN_OR_RETURN(Stmt st, reader_->Prepare(sql));
  st.BindAll(args);
  return CollectRecords(st);
}

StatusOr<std::vector<StoredAuditRecord>> SqliteAuditStore::Range(int64_t from_seq, int64_t to_seq) {
  std::lock_guard<std::mutex> lock(read_mu_);
  KILN_ASSIGN_OR_RETURN(Stmt st, reader_->Prepare(std::string(kRecordSelect) +
                                                  " WHERE r.seq BETWEEN ? AND ? ORDER BY r.seq"));
  st.Args(from_seq, to_seq);
  return CollectRecords(st);
}

Status SqliteAuditStore::AppendCheckpoint(const StoredCheckpoint& c) {
  std::lock_guard<std::mutex> lock(write_mu_);
  if (!writer_) return FailedPrecondition("audit store opened read-only");
  KILN_ASSIGN_OR_RETURN(
      Stmt st, writer_->Prepare("INSERT INTO checkpoints(seq, hash, time_ms, prev_signature, signature, key_id) "
                                "VALUES (?,?,?,?,?,?)"));
  st.Args(c.seq, c.hash, c.time_ms, c.prev_signature, c.signature, c.key_id);
  return st.Run();
}

StatusOr<std::vector<StoredCheckpoint>> SqliteAuditStore::Checkpoints() {
  std::lock_guard<std::mutex> lock(read_mu_);
  KILN_ASSIGN_OR_RETURN(Stmt st, reader_->Prepare("SELECT seq, hash, time_ms, prev_signature, signature, key_id "
                                                  "FROM checkpoints ORDER BY id"));
  std::vector<StoredCheckpoint> out;
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    StoredCheckpoint c;
    c.seq = st.Int(0);
    c.hash = st.Text(1);
    c.time_ms = st.Int(2);
    c.prev_signature = st.Text(3);
    c.signature = st.Text(4);
    c.key_id = st.Text(5);
    out.push_back(std::move(c));
  }
  return out;
}

Status SqliteAuditStore::Ping() {
  std::lock_guard<std::mutex> lock(read_mu_);
  return reader_->QueryInt("SELECT 1").status();
}

}  // namespace kiln::storage::sqlite
