#include "storage/sql/sql_audit_store.h"

#include <string_view>

namespace kiln::storage {

using sql::Stmt;
namespace {

// A record whose text row is missing reads as an empty text (the verifier
// then reports it as edited) rather than vanishing from the log.
constexpr const char* kRecordSelect =
    "SELECT r.seq, r.time_ms, r.audit_id, r.actor, r.action, r.object, r.decision, r.stage, COALESCE(j.json, ''), "
    "r.hash FROM records r LEFT JOIN record_json j ON j.seq = r.seq";

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

Status SqlAuditStore::Append(const std::vector<StoredAuditRecord>& records) {
  if (records.empty()) return Status::Ok();
  for (size_t i = 1; i < records.size(); ++i) {
    if (records[i].seq != records[0].seq + static_cast<int64_t>(i)) {
      return InvalidArgument("audit records to append must have consecutive seq values");
    }
  }
  auto moved = [&](int64_t last) {
    return FailedPrecondition("audit append at seq " + std::to_string(records[0].seq) + " but the log ends at " +
                              std::to_string(last));
  };
  int64_t last_seen = 0;
  Status s = db_.Write([&](sql::Conn& db) -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t last, db.QueryInt("SELECT COALESCE(MAX(seq), 0) FROM records"));
    last_seen = last;
    if (records[0].seq != last + 1) return moved(last);
    KILN_ASSIGN_OR_RETURN(Stmt st, db.Prepare("INSERT INTO records(seq, time_ms, audit_id, actor, action, object, "
                                              "decision, stage, hash) VALUES (?,?,?,?,?,?,?,?,?)"));
    KILN_ASSIGN_OR_RETURN(Stmt text, db.Prepare("INSERT INTO record_json(seq, json) VALUES (?,?)"));
    for (const StoredAuditRecord& r : records) {
      st.Args(r.seq, r.time_ms, r.audit_id, r.actor, r.action, r.object, r.decision, r.stage, r.hash);
      KILN_RETURN_IF_ERROR(st.Run());
      text.Args(r.seq, r.json);
      KILN_RETURN_IF_ERROR(text.Run());
    }
    return Status::Ok();
  });
  // Another writer appended the same seq first (its commit raced ours).
  if (s.code() == StatusCode::kAlreadyExists) return moved(last_seen);
  return s;
}

StatusOr<StoredAuditRecord> SqlAuditStore::Last() {
  StoredAuditRecord out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    out = StoredAuditRecord{};
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(std::string(kRecordSelect) + " ORDER BY r.seq DESC LIMIT 1"));
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) out = ReadRecord(st);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<StoredAuditRecord>> SqlAuditStore::Query(const AuditQuery& q) {
  std::string sql = std::string(kRecordSelect) + " WHERE r.seq > ?";
  std::vector<sql::Arg> args{q.after_seq};
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
  if (q.newest_first && q.before_seq > 0) {
    sql += " AND r.seq < ?";
    args.emplace_back(q.before_seq);
  }
  sql += q.newest_first ? " ORDER BY r.seq DESC LIMIT ?" : " ORDER BY r.seq LIMIT ?";
  args.emplace_back(q.max_results > 0 ? q.max_results : int64_t{100});
  std::vector<StoredAuditRecord> out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(sql));
    st.BindAll(args);
    KILN_ASSIGN_OR_RETURN(out, CollectRecords(st));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<StoredAuditRecord>> SqlAuditStore::Range(int64_t from_seq, int64_t to_seq) {
  std::vector<StoredAuditRecord> out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st,
                          c.Prepare(std::string(kRecordSelect) + " WHERE r.seq BETWEEN ? AND ? ORDER BY r.seq"));
    st.Args(from_seq, to_seq);
    KILN_ASSIGN_OR_RETURN(out, CollectRecords(st));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Status SqlAuditStore::AppendCheckpoint(const StoredCheckpoint& c) {
  return db_.Write([&](sql::Conn& db) -> Status {
    // Checkpoints chain by signature: one signed on a stale view of the
    // chain (another replica checkpointed since) is refused, not forked.
    KILN_ASSIGN_OR_RETURN(Stmt last, db.Prepare("SELECT seq, signature FROM checkpoints ORDER BY id DESC LIMIT 1"));
    KILN_ASSIGN_OR_RETURN(bool any, last.Step());
    const int64_t last_seq = any ? last.Int(0) : 0;
    const std::string last_signature = any ? last.Text(1) : "";
    if (c.seq <= last_seq || c.prev_signature != last_signature) {
      return FailedPrecondition("audit checkpoint at seq " + std::to_string(c.seq) +
                                " does not follow the last checkpoint (seq " + std::to_string(last_seq) + ")");
    }
    KILN_ASSIGN_OR_RETURN(
        Stmt st, db.Prepare("INSERT INTO checkpoints(seq, hash, time_ms, prev_signature, signature, key_id) "
                            "VALUES (?,?,?,?,?,?)"));
    st.Args(c.seq, c.hash, c.time_ms, c.prev_signature, c.signature, c.key_id);
    return st.Run();
  });
}

StatusOr<std::vector<StoredCheckpoint>> SqlAuditStore::Checkpoints() {
  std::vector<StoredCheckpoint> out;
  Status s = db_.Read([&](sql::Conn& db) -> Status {
  out.clear();
  KILN_ASSIGN_OR_RETURN(Stmt st, db.Prepare("SELECT seq, hash, time_ms, prev_signature, signature, key_id "
                                            "FROM checkpoints ORDER BY id"));
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
  return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Status SqlAuditStore::Ping() {
  return db_.Ping();
}

}  // namespace kiln::storage
