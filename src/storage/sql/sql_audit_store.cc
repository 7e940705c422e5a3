#include "storage/sql/sql_audit_store.h"

#include <algorithm>
#include <string_view>

#include "storage/sql/sql_util.h"

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

// PostgreSQL: a whole batch in one statement (no BEGIN/COMMIT, one round
// trip). ?1 is the first seq (the others follow it: ordinality), ?2 the
// times and ?3..?10 the text columns as array literals. `batch` is empty
// unless the log ends just before ?1, so either every record is inserted
// (both tables) or none is; a concurrent appender that committed seq ?1
// after this statement's snapshot makes the INSERT fail on the primary key.
// Returns how many records it inserted and the log's end it compared with.
constexpr const char* kPgAppend =
    "WITH end_seq AS (SELECT COALESCE(MAX(seq), 0) AS seq FROM records), "
    "batch AS (SELECT CAST(?1 AS BIGINT) + b.ord - 1 AS seq, b.time_ms, b.audit_id, b.actor, b.action, b.object, "
    "b.decision, b.stage, b.hash, b.json "
    "FROM end_seq, unnest(CAST(?2 AS BIGINT[]), CAST(?3 AS TEXT[]), CAST(?4 AS TEXT[]), CAST(?5 AS TEXT[]), "
    "CAST(?6 AS TEXT[]), CAST(?7 AS TEXT[]), CAST(?8 AS TEXT[]), CAST(?9 AS TEXT[]), CAST(?10 AS TEXT[])) "
    "WITH ORDINALITY AS b(time_ms, audit_id, actor, action, object, decision, stage, hash, json, ord) "
    "WHERE end_seq.seq = CAST(?1 AS BIGINT) - 1), "
    "ins AS (INSERT INTO records(seq, time_ms, audit_id, actor, action, object, decision, stage, hash) "
    "SELECT seq, time_ms, audit_id, actor, action, object, decision, stage, hash FROM batch RETURNING seq), "
    "txt AS (INSERT INTO record_json(seq, json) SELECT seq, json FROM batch) "
    "SELECT (SELECT COUNT(*) FROM ins), (SELECT seq FROM end_seq)";

Status MovedError(int64_t first_seq, int64_t last) {
  return FailedPrecondition("audit append at seq " + std::to_string(first_seq) + " but the log ends at " +
                            std::to_string(last));
}

}  // namespace

Status SqlAuditStore::AppendPostgres(const std::vector<StoredAuditRecord>& records) {
  std::vector<int64_t> times;
  std::vector<std::string_view> audit_ids, actors, actions, objects, decisions, stages, hashes, jsons;
  for (const StoredAuditRecord& r : records) {
    times.push_back(r.time_ms);
    audit_ids.push_back(r.audit_id);
    actors.push_back(r.actor);
    actions.push_back(r.action);
    objects.push_back(r.object);
    decisions.push_back(r.decision);
    stages.push_back(r.stage);
    hashes.push_back(r.hash);
    jsons.push_back(r.json);
  }
  const std::vector<std::string> arrays = {
      sql::PgIntArray(times),    sql::PgTextArray(audit_ids), sql::PgTextArray(actors),
      sql::PgTextArray(actions), sql::PgTextArray(objects),   sql::PgTextArray(decisions),
      sql::PgTextArray(stages),  sql::PgTextArray(hashes),    sql::PgTextArray(jsons)};
  const int64_t first = records.front().seq;
  const int64_t last = records.back().seq;
  // runs counts the statement's executions: WriteOneStatement runs fn again
  // on a fresh connection when the first one was lost with the statement
  // sent, and that first run may have committed.
  int runs = 0;
  int64_t inserted = 0;
  int64_t log_end = 0;
  Status s = db_.WriteOneStatement([&](sql::Conn& c) -> Status {
    ++runs;
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(kPgAppend));
    st.Bind(1, first);
    for (size_t i = 0; i < arrays.size(); ++i) st.Bind(static_cast<int>(i + 2), arrays[i]);
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Internal("audit append returned no row");
    inserted = st.Int(0);
    log_end = st.Int(1);
    st.Reset();
    return Status::Ok();
  });
  if (s.ok() && inserted == static_cast<int64_t>(records.size())) return Status::Ok();
  if (s.ok() && inserted != 0) {
    return Internal("audit append inserted " + std::to_string(inserted) + " of " + std::to_string(records.size()) +
                    " records");
  }
  // AlreadyExists: another writer appended the same seq first (it committed
  // after this statement's snapshot).
  if (!s.ok() && s.code() != StatusCode::kAlreadyExists) return s;
  if (s.ok() && runs == 1) return MovedError(first, log_end);
  // Whether a run before the last one wrote the batch: the record at our
  // last seq carries our hash only if it is ours (the hash covers its text,
  // which names the previous hash, so the whole chain up to it). The log
  // may already have grown past it (another writer appended after ours
  // committed); refusing then would make the caller append the batch again.
  int64_t end = 0;
  bool ours = false;
  KILN_RETURN_IF_ERROR(db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(
        Stmt st, c.Prepare("SELECT COALESCE(MAX(seq), 0), (SELECT hash FROM records WHERE seq = ?1) FROM records"));
    st.Bind(1, last);
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Internal("audit log end: no row");
    end = st.Int(0);
    ours = !st.IsNull(1) && st.Text(1) == records.back().hash;
    st.Reset();
    return Status::Ok();
  }));
  if (runs > 1 && ours) return Status::Ok();
  return MovedError(first, end);
}

Status SqlAuditStore::Append(const std::vector<StoredAuditRecord>& records) {
  if (records.empty()) return Status::Ok();
  for (size_t i = 1; i < records.size(); ++i) {
    if (records[i].seq != records[0].seq + static_cast<int64_t>(i)) {
      return InvalidArgument("audit records to append must have consecutive seq values");
    }
  }
  // A NUL byte (a request field can carry one; PostgreSQL text cannot) would
  // cut the one statement's array literal short: such a batch takes the
  // per-row path below, which binds each field on its own.
  auto has_nul = [](const StoredAuditRecord& r) {
    for (const std::string* f :
         {&r.audit_id, &r.actor, &r.action, &r.object, &r.decision, &r.stage, &r.hash, &r.json}) {
      if (f->find('\0') != std::string::npos) return true;
    }
    return false;
  };
  if (db_.dialect() == sql::Dialect::kPostgres && std::none_of(records.begin(), records.end(), has_nul)) {
    return AppendPostgres(records);
  }
  auto moved = [&](int64_t last) { return MovedError(records[0].seq, last); };
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
    KILN_ASSIGN_OR_RETURN(Stmt st,
                          db.Prepare("INSERT INTO checkpoints(seq, hash, time_ms, prev_signature, signature, key_id) "
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

Status SqlAuditStore::Ping() { return db_.Ping(); }

}  // namespace kiln::storage
