#include "storage/postgres/pg_conn.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "storage/postgres/pg_errors.h"
#include "storage/postgres/pg_placeholders.h"

namespace kiln::storage::postgres {
namespace {

constexpr Oid kInt8Oid = 20;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kTextOid = 25;
constexpr Oid kByteaOid = 17;
constexpr Oid kBoolOid = 16;

char TypeChar(const sql::Arg& a) {
  switch (a.index()) {
    case 0: return 'n';
    case 1: return 'i';
    case 2: return 'd';
    default: return 't';
  }
}

Oid TypeOid(const sql::Arg& a, bool untyped_text) {
  switch (a.index()) {
    case 1: return kInt8Oid;
    case 2: return kFloat8Oid;
    case 3: return untyped_text ? 0 : kTextOid;
    default: return 0;  // NULL: let the server infer from the context
  }
}

// Statements that assign to columns (where a BYTEA target can appear).
bool Assigns(const std::string& text) {
  size_t i = text.find_first_not_of(" \t\r\n(");
  if (i == std::string::npos) return false;
  auto starts = [&](const char* kw) {
    const size_t n = std::strlen(kw);
    if (text.size() - i < n) return false;
    for (size_t k = 0; k < n; ++k) {
      if (std::toupper(static_cast<unsigned char>(text[i + k])) != kw[k]) return false;
    }
    return true;
  };
  return starts("INSERT") || starts("UPDATE") || starts("WITH");
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// bytea's text output (hex format, the default since PostgreSQL 9.0).
std::string DecodeBytea(const char* v, int len) {
  if (len < 2 || v[0] != '\\' || v[1] != 'x') return std::string(v, len);
  std::string out;
  out.reserve((len - 2) / 2);
  for (int i = 2; i + 1 < len; i += 2) {
    const int hi = HexVal(v[i]), lo = HexVal(v[i + 1]);
    if (hi < 0 || lo < 0) break;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

// Internal errors are kiln bugs (SQL the server refuses): name the statement
// (placeholders only, never bound values) so the log says what to fix.
Status NameStatement(Status s, const std::string& sql) {
  if (s.code() != StatusCode::kInternal) return s;
  constexpr size_t kMax = 400;
  return Internal(s.message() + " in: " + (sql.size() > kMax ? sql.substr(0, kMax) + "..." : sql));
}

}  // namespace

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);  // shortest form that reads back exactly
  return std::string(buf, r.ptr);
}

// A statement of a PgConn. Executes on the first Step() and holds the whole
// result, so a store may run other statements on the connection while it
// walks the rows (as SQLite allows).
class PgStmt final : public sql::StmtImpl {
 public:
  PgStmt(PgConn* conn, std::string text, int params, bool cached)
      : conn_(conn), text_(std::move(text)), args_(params), cached_(cached) {}
  ~PgStmt() override { Drop(); }

  void Bind(int idx, sql::Arg value) override {
    if (idx < 1 || idx > static_cast<int>(args_.size())) {
      if (bind_error_.ok()) {
        bind_error_ = Internal("postgresql: bind index " + std::to_string(idx) + " out of range (statement has " +
                               std::to_string(args_.size()) + " parameters): " + text_);
      }
      return;
    }
    Drop();
    args_[idx - 1] = std::move(value);
  }

  StatusOr<bool> Step() override {
    if (!bind_error_.ok()) return bind_error_;
    if (!executed_) {
      KILN_RETURN_IF_ERROR(
          NameStatement(conn_->Execute(text_, args_, cached_, &prepared_, &signature_, &res_), text_));
      executed_ = true;
      row_ = 0;
    } else if (res_ != nullptr && row_ < PQntuples(res_)) {
      ++row_;
    }
    return res_ != nullptr && row_ < PQntuples(res_);
  }

  Status Run() override {
    if (!bind_error_.ok()) return bind_error_;
    PGresult* res = nullptr;
    Status s = NameStatement(conn_->Execute(text_, args_, cached_, &prepared_, &signature_, &res), text_);
    if (res) PQclear(res);
    Drop();
    return s;
  }

  void Reset() override { Drop(); }

  void Clear() override {
    Drop();
    for (auto& a : args_) a = nullptr;
    bind_error_ = Status::Ok();
    in_use = false;
  }

  bool IsNull(int col) const override { return !Valid(col) || PQgetisnull(res_, row_, col); }

  int64_t Int(int col) const override {
    if (IsNull(col)) return 0;
    const char* v = PQgetvalue(res_, row_, col);
    const int len = PQgetlength(res_, row_, col);
    if (PQftype(res_, col) == kBoolOid) return v[0] == 't' ? 1 : 0;
    int64_t out = 0;
    auto r = std::from_chars(v, v + len, out);
    if (r.ec == std::errc() && r.ptr == v + len) return out;
    // numeric or floating text (AVG, SUM over decimals): truncate like SQLite.
    const double d = Double(col);
    if (std::isnan(d)) return 0;
    if (d >= 9.2233720368547758e18) return std::numeric_limits<int64_t>::max();
    if (d <= -9.2233720368547758e18) return std::numeric_limits<int64_t>::min();
    return static_cast<int64_t>(d);
  }

  double Double(int col) const override {
    if (IsNull(col)) return 0;
    const char* v = PQgetvalue(res_, row_, col);
    const int len = PQgetlength(res_, row_, col);
    if (PQftype(res_, col) == kBoolOid) return v[0] == 't' ? 1 : 0;
    const std::string_view s(v, len);
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    double out = 0;
    std::from_chars(v, v + len, out);
    return out;
  }

  std::string Text(int col) const override {
    if (IsNull(col)) return "";
    const char* v = PQgetvalue(res_, row_, col);
    const int len = PQgetlength(res_, row_, col);
    if (PQftype(res_, col) == kByteaOid) return DecodeBytea(v, len);
    return std::string(v, len);
  }

  bool in_use = false;  // a cached statement currently lent to a Stmt

 private:
  bool Valid(int col) const {
    return res_ != nullptr && row_ >= 0 && row_ < PQntuples(res_) && col >= 0 && col < PQnfields(res_);
  }
  void Drop() {
    if (res_) PQclear(res_);
    res_ = nullptr;
    executed_ = false;
    row_ = -1;
  }

  PgConn* conn_;
  const std::string text_;
  std::vector<sql::Arg> args_;
  const bool cached_;
  Status bind_error_;
  PGresult* res_ = nullptr;
  bool executed_ = false;
  int row_ = -1;
  const PgConn::Prepared* prepared_ = nullptr;  // for signature_
  std::string signature_;
};

StatusOr<std::unique_ptr<PgConn>> PgConn::Connect(const PgConnParams& p) {
  const std::string timeout = std::to_string(p.connect_timeout_s);
  // Keywords are applied in order, later ones overriding: our defaults come
  // before the URI (so it may change them), what kiln relies on after it.
  std::vector<const char*> keys = {"application_name", "connect_timeout", "keepalives", "keepalives_idle",
                                   "keepalives_interval", "keepalives_count", "dbname", "client_encoding"};
  std::vector<const char*> vals = {p.application_name.c_str(), timeout.c_str(), "1", "30", "10", "3",
                                   p.uri.c_str(), "UTF8"};
  if (!p.password.empty()) {
    keys.push_back("password");
    vals.push_back(p.password.c_str());
  }
  keys.push_back(nullptr);
  vals.push_back(nullptr);
  PGconn* raw = PQconnectdbParams(keys.data(), vals.data(), /*expand_dbname=*/1);
  if (Status s = ConnectStatus(raw); !s.ok()) {
    if (raw) PQfinish(raw);
    return s;
  }
  // Server notices ("relation already exists, skipping") are not errors and
  // must not reach stderr.
  PQsetNoticeProcessor(raw, [](void*, const char*) {}, nullptr);
  std::unique_ptr<PgConn> conn(new PgConn(raw));
  // Shortest exact float output (PostgreSQL >= 12 for any value > 0).
  KILN_RETURN_IF_ERROR(conn->Exec("SET extra_float_digits = 3"));
  return conn;
}

PgConn::PgConn(PGconn* conn) : conn_(conn) {}

PgConn::~PgConn() {
  stmts_.clear();
  PQfinish(conn_);
}

bool PgConn::broken() const { return PQstatus(conn_) == CONNECTION_BAD; }

bool PgConn::in_transaction() const {
  if (!pending_begin_.empty()) return true;
  const PGTransactionStatusType t = PQtransactionStatus(conn_);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
}

Status PgConn::Track(Status s) {
  if (s.code() == StatusCode::kAborted) saw_conflict_ = true;
  if (s.code() == StatusCode::kUnavailable && broken()) saw_lost_ = true;
  return s;
}

PGresult* PgConn::Run(const char* sql) {
  CollectPending();
  return PQexec(conn_, sql);
}

Status PgConn::SendCommitNoWait() {
  if (!pending_begin_.empty()) {
    pending_begin_.clear();  // BEGIN never went out: there is nothing to end
    return Status::Ok();
  }
  CollectPending();
  if (PQsendQuery(conn_, "COMMIT") != 1) return Track(ResultStatus(nullptr, conn_));
  pending_commit_ = true;
  return Status::Ok();
}

void PgConn::CollectPending() {
  if (!pending_commit_) return;
  pending_commit_ = false;
  // COMMIT's result, then NULL; a dead connection yields NULL at once.
  while (PGresult* r = PQgetResult(conn_)) PQclear(r);
}

Status PgConn::Exec(const std::string& sql) {
  if (!pending_begin_.empty()) {
    std::string begin = std::move(pending_begin_);
    pending_begin_.clear();
    if (sql == "COMMIT" || sql == "ROLLBACK") return Status::Ok();  // nothing ran
    return Exec(begin + "; " + sql);
  }
  PGresult* res = Run(sql.c_str());
  Status s = Track(ResultStatus(res, conn_));
  if (res) PQclear(res);
  return NameStatement(std::move(s), sql);
}

Status PgConn::FlushBegin() {
  if (pending_begin_.empty()) return Status::Ok();
  std::string begin = std::move(pending_begin_);
  pending_begin_.clear();
  return Exec(begin);
}

PGresult* PgConn::BeginAndExecPrepared(const std::string& name, int n, const char* const* values, const int* lengths,
                                       const int* formats, Status* status) {
  std::string begin = std::move(pending_begin_);
  pending_begin_.clear();
  if (PQenterPipelineMode(conn_) != 1) {
    *status = Exec(begin);
    if (!status->ok()) return nullptr;
    PGresult* res = PQexecPrepared(conn_, name.c_str(), n, values, lengths, formats, 0);
    *status = Track(ResultStatus(res, conn_));
    return res;
  }
  const bool sent = PQsendQueryParams(conn_, begin.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1 &&
                    PQsendQueryPrepared(conn_, name.c_str(), n, values, lengths, formats, 0) == 1 &&
                    PQpipelineSync(conn_) == 1;
  // Results arrive as: BEGIN's, NULL, the statement's, NULL, PIPELINE_SYNC.
  std::vector<PGresult*> got;
  int nulls = 0;
  while (sent) {
    PGresult* r = PQgetResult(conn_);
    if (r == nullptr) {
      if (broken() || ++nulls > 3) break;
      continue;
    }
    nulls = 0;
    if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      break;
    }
    got.push_back(r);
  }
  (void)PQexitPipelineMode(conn_);
  PGresult* res = nullptr;
  if (!sent || got.size() < 2) {
    *status = Track(ResultStatus(got.empty() ? nullptr : got.back(), conn_));
    if (status->ok()) *status = Track(Unavailable("postgresql: pipeline ended early"));
  } else if (Status b = ResultStatus(got[0], conn_); !b.ok()) {
    *status = Track(b);
  } else {
    *status = Track(ResultStatus(got[1], conn_));
    res = got[1];
    got[1] = nullptr;
  }
  for (PGresult* r : got) {
    if (r) PQclear(r);
  }
  return res;
}

StatusOr<sql::Stmt> PgConn::Prepare(const std::string& sql, bool cache) {
  if (cache) {
    auto it = stmts_.find(sql);
    if (it != stmts_.end() && !it->second->in_use) {
      it->second->in_use = true;
      return sql::Stmt(it->second.get(), false);
    }
    if (it == stmts_.end()) {
      KILN_ASSIGN_OR_RETURN(RewrittenSql r, RewritePlaceholders(sql));
      auto st = std::make_unique<PgStmt>(this, std::move(r.text), r.params, true);
      st->in_use = true;
      PgStmt* raw = st.get();
      stmts_.emplace(sql, std::move(st));
      return sql::Stmt(raw, false);
    }
    // The cached one is lent out (a store nested the same statement): a
    // private copy shares the server-side preparation.
  }
  KILN_ASSIGN_OR_RETURN(RewrittenSql r, RewritePlaceholders(sql));
  return sql::Stmt(new PgStmt(this, std::move(r.text), r.params, cache), true);
}

Status PgConn::PrepareTyped(const std::string& name, const std::string& text, const std::vector<sql::Arg>& args,
                            bool untyped_text, const std::vector<Oid>& null_types, Prepared& p) {
  std::vector<Oid> types(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    types[i] = args[i].index() == 0 && i < null_types.size() ? null_types[i] : TypeOid(args[i], untyped_text);
  }
  PGresult* res = PQprepare(conn_, name.c_str(), text.c_str(), static_cast<int>(args.size()), types.data());
  Status s = Track(ResultStatus(res, conn_));
  if (res) PQclear(res);
  p.name = name;
  p.formats.assign(args.size(), 0);
  p.types = types;
  if (!s.ok() || !untyped_text) return s;
  res = PQdescribePrepared(conn_, name.c_str());
  s = Track(ResultStatus(res, conn_));
  if (s.ok()) {
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i].index() == 3 && PQparamtype(res, static_cast<int>(i)) == kByteaOid) p.formats[i] = 1;
    }
  }
  if (res) PQclear(res);
  return s;
}

// A NULL the server cannot type from its context (`? IS NULL OR x >= ?`):
// the error names the parameter; give it the first of int8, text, float8
// that the statement accepts (a NULL of any type behaves alike), one
// parameter at a time.
Status PgConn::TypeNulls(const std::string& name, const std::string& text, const std::vector<sql::Arg>& args,
                         const Status& first, const std::function<Status()>& undo, Prepared& p) {
  static constexpr Oid kCandidates[] = {kInt8Oid, kTextOid, kFloat8Oid};
  std::vector<Oid> types(args.size(), 0);
  std::vector<int> tried(args.size(), 0);
  int last = -1;
  Status s = first;
  for (size_t round = 0; round < 3 * args.size() + 1; ++round) {
    const std::string& m = s.message();
    const bool undetermined = m.find("SQLSTATE 42P08") != std::string::npos ||
                              m.find("SQLSTATE 42P18") != std::string::npos;
    int k = -1;
    if (size_t at = m.find("parameter $"); undetermined && at != std::string::npos) {
      k = std::atoi(m.c_str() + at + 11) - 1;
    }
    if (undetermined && k >= 0 && k < static_cast<int>(args.size()) && args[k].index() == 0 && k != last) {
      last = k;
      types[k] = kCandidates[0];
      tried[k] = 1;
    } else if (!undetermined && last >= 0 && tried[last] < 3) {
      types[last] = kCandidates[tried[last]++];  // the last choice did not fit
    } else {
      break;
    }
    KILN_RETURN_IF_ERROR(undo());
    s = PrepareTyped(name, text, args, false, types, p);
    if (s.ok() || broken()) return s;
  }
  return first;
}

Status PgConn::PrepareOnServer(const std::string& name, const std::string& text, const std::vector<sql::Arg>& args,
                               Prepared& p) {
  bool has_text = false;
  bool has_null = false;
  for (const auto& a : args) {
    has_text = has_text || a.index() == 3;
    has_null = has_null || a.index() == 0;
  }
  const bool bytea_risk = has_text && Assigns(text);
  if (!bytea_risk && !has_null) return PrepareTyped(name, text, args, false, {}, p);
  const bool guarded = PQtransactionStatus(conn_) == PQTRANS_INTRANS;
  if (guarded) KILN_RETURN_IF_ERROR(Exec("SAVEPOINT kiln_prepare"));
  Status s = PrepareTyped(name, text, args, false, {}, p);
  const Status first = s;
  auto undo = [&]() -> Status {
    return guarded && !broken() ? Exec("ROLLBACK TO SAVEPOINT kiln_prepare") : Status::Ok();
  };
  auto state_is = [&](const char* code) {
    return first.message().find(std::string("SQLSTATE ") + code) != std::string::npos;
  };
  if (!s.ok() && !broken()) {
    KILN_RETURN_IF_ERROR(undo());
    if (bytea_risk && state_is("42804")) {
      s = PrepareTyped(name, text, args, true, {}, p);
    } else if (has_null && (state_is("42P08") || state_is("42P18"))) {
      s = TypeNulls(name, text, args, first, undo, p);
    }
  }
  if (guarded && !broken()) {
    // A failed retry leaves the savepoint aborted: undo it so the caller's
    // transaction continues, as a statement that fails to prepare on SQLite.
    if (!s.ok()) KILN_RETURN_IF_ERROR(undo());
    KILN_RETURN_IF_ERROR(Exec("RELEASE SAVEPOINT kiln_prepare"));
    if (s.ok() && name.empty()) {
      // Any simple query (the RELEASE) drops the unnamed statement: prepare
      // it again, now known to be accepted.
      PGresult* res = PQprepare(conn_, "", text.c_str(), static_cast<int>(p.types.size()), p.types.data());
      s = Track(ResultStatus(res, conn_));
      if (res) PQclear(res);
    }
  }
  return s;
}

Status PgConn::Execute(const std::string& text, const std::vector<sql::Arg>& args, bool cache,
                       const Prepared** prepared, std::string* signature, PGresult** out) {
  *out = nullptr;
  CollectPending();
  Prepared oneoff;
  const Prepared* p = nullptr;
  if (cache) {
    std::string sig(args.size(), 'n');
    for (size_t i = 0; i < args.size(); ++i) sig[i] = TypeChar(args[i]);
    if (*prepared != nullptr && sig == *signature) {
      p = *prepared;
    } else {
      KILN_RETURN_IF_ERROR(FlushBegin());
      std::string key = text;
      key += '\x01';
      key += sig;
      auto it = prepared_.find(key);
      if (it == prepared_.end()) {
        Prepared fresh;
        KILN_RETURN_IF_ERROR(PrepareOnServer("k" + std::to_string(++next_name_), text, args, fresh));
        it = prepared_.emplace(std::move(key), std::move(fresh)).first;
      }
      p = &it->second;
      *prepared = p;
      *signature = std::move(sig);
    }
  } else {
    KILN_RETURN_IF_ERROR(FlushBegin());
    KILN_RETURN_IF_ERROR(PrepareOnServer("", text, args, oneoff));
    p = &oneoff;
  }

  const int n = static_cast<int>(args.size());
  std::vector<std::string> owned(n);
  std::vector<const char*> values(n, nullptr);
  std::vector<int> lengths(n, 0);
  for (int i = 0; i < n; ++i) {
    const sql::Arg& a = args[i];
    if (a.index() == 1) {
      owned[i] = std::to_string(std::get<int64_t>(a));
    } else if (a.index() == 2) {
      owned[i] = FormatDouble(std::get<double>(a));
    }
    if (a.index() == 1 || a.index() == 2) {
      values[i] = owned[i].c_str();
      lengths[i] = static_cast<int>(owned[i].size());
    } else if (a.index() == 3) {
      const std::string& s = std::get<std::string>(a);
      values[i] = s.c_str();
      lengths[i] = static_cast<int>(s.size());
    }
  }
  PGresult* res = nullptr;
  Status s;
  if (!pending_begin_.empty()) {
    res = BeginAndExecPrepared(p->name, n, values.data(), lengths.data(), p->formats.data(), &s);
  } else {
    res = PQexecPrepared(conn_, p->name.c_str(), n, values.data(), lengths.data(), p->formats.data(), 0);
    s = Track(ResultStatus(res, conn_));
  }
  if (!s.ok()) {
    if (res) PQclear(res);
    return s;
  }
  const char* cmd = PQcmdStatus(res);
  if (std::strncmp(cmd, "INSERT", 6) == 0 || std::strncmp(cmd, "UPDATE", 6) == 0 ||
      std::strncmp(cmd, "DELETE", 6) == 0 || std::strncmp(cmd, "MERGE", 5) == 0) {
    changes_ = std::atoll(PQcmdTuples(res));
  }
  *out = res;
  return Status::Ok();
}

}  // namespace kiln::storage::postgres
