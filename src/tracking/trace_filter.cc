#include "tracking/trace_filter.h"

#include <charconv>
#include <optional>
#include <set>
#include <string>

namespace kiln::tracking {
namespace {

using storage::TraceFieldKind;
using storage::TraceFilterClause;
using storage::TraceOp;
using storage::TraceOrderBy;

enum class Tok { kWord, kString, kNumber, kOp, kLParen, kRParen, kComma };

struct Token {
  Tok kind;
  std::string text;
};

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

std::string Upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

Status Invalid(const std::string& msg) { return InvalidArgument("Invalid filter string: " + msg); }

// Reads a quoted run starting at s[i] (the quote); i ends past the closing quote.
StatusOr<std::string> Quoted(std::string_view s, size_t& i) {
  char q = s[i];
  size_t end = s.find(q, i + 1);
  if (end == std::string_view::npos) return Invalid("unterminated quote in '" + std::string(s) + "'");
  std::string out(s.substr(i + 1, end - i - 1));
  i = end + 1;
  return out;
}

StatusOr<std::vector<Token>> Lex(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
    } else if (c == '(') {
      out.push_back({Tok::kLParen, "("});
      ++i;
    } else if (c == ')') {
      out.push_back({Tok::kRParen, ")"});
      ++i;
    } else if (c == ',') {
      out.push_back({Tok::kComma, ","});
      ++i;
    } else if (c == '\'' || c == '"') {
      KILN_ASSIGN_OR_RETURN(std::string v, Quoted(s, i));
      out.push_back({Tok::kString, std::move(v)});
    } else if (c == '`') {
      // A backticked identifier on its own (e.g. `tag`.`key` is not MLflow's form).
      KILN_ASSIGN_OR_RETURN(std::string v, Quoted(s, i));
      out.push_back({Tok::kWord, std::move(v)});
    } else if (c == '=' || c == '!' || c == '<' || c == '>') {
      std::string op(1, c);
      if (i + 1 < s.size() && (s[i + 1] == '=' || (c == '<' && s[i + 1] == '>'))) op += s[i + 1];
      if (op == "!") return Invalid("unexpected '!'");
      if (op == "<>") op = "!=";
      i += op.size();
      out.push_back({Tok::kOp, op});
    } else if ((c >= '0' && c <= '9') || c == '-') {
      size_t start = i++;
      while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
      out.push_back({Tok::kNumber, std::string(s.substr(start, i - start))});
    } else if (IsWordChar(c)) {
      size_t start = i;
      while (i < s.size() && IsWordChar(s[i])) ++i;
      std::string word(s.substr(start, i - start));
      // prefix.`quoted key` or prefix."quoted key"
      if (!word.empty() && word.back() == '.' && i < s.size() && (s[i] == '`' || s[i] == '"')) {
        KILN_ASSIGN_OR_RETURN(std::string key, Quoted(s, i));
        word += key;
      }
      out.push_back({Tok::kWord, std::move(word)});
    } else {
      return Invalid("unexpected character '" + std::string(1, c) + "'");
    }
  }
  return out;
}

enum class Entity { kAttribute, kTag, kMetadata, kSpan };

struct Ident {
  Entity entity = Entity::kAttribute;
  std::string key;
};

StatusOr<Ident> ResolveIdent(const std::string& word) {
  size_t dot = word.find('.');
  if (dot == std::string::npos) return Ident{Entity::kAttribute, word};
  std::string prefix = word.substr(0, dot);
  std::string key = word.substr(dot + 1);
  if (key.empty()) return Invalid("missing key after '" + prefix + ".'");
  if (prefix == "attribute" || prefix == "attributes" || prefix == "trace") return Ident{Entity::kAttribute, key};
  if (prefix == "tag" || prefix == "tags") return Ident{Entity::kTag, key};
  if (prefix == "request_metadata" || prefix == "metadata") return Ident{Entity::kMetadata, key};
  if (prefix == "span") return Ident{Entity::kSpan, key};
  if (prefix == "feedback" || prefix == "expectation" || prefix == "issue") {
    return InvalidArgument("Filtering traces by " + prefix + " is not supported by kiln");
  }
  return Invalid("invalid entity type '" + prefix +
                 "'. Valid values are ['attribute', 'tag', 'request_metadata', 'span'] and their aliases");
}

const std::set<std::string>& NumericAttributes() {
  static const std::set<std::string> s = {"timestamp",      "timestamp_ms", "execution_time",
                                          "execution_time_ms", "end_time",  "end_time_ms"};
  return s;
}

std::string CanonicalNumeric(const std::string& key) {
  if (key == "timestamp" || key == "timestamp_ms") return "request_time";
  if (key == "execution_time" || key == "execution_time_ms") return "execution_duration";
  return "end_time";
}

struct RawClause {
  std::string ident;
  std::string op;  // "=", "!=", ..., "LIKE", "ILIKE", "RLIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"
  std::optional<Token> value;
  std::vector<std::string> list;
};

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : toks_(std::move(toks)) {}

  StatusOr<std::vector<RawClause>> Run() {
    std::vector<RawClause> out;
    while (true) {
      KILN_ASSIGN_OR_RETURN(RawClause c, Clause());
      out.push_back(std::move(c));
      if (pos_ == toks_.size()) break;
      const Token& t = toks_[pos_];
      std::string kw = t.kind == Tok::kWord ? Upper(t.text) : "";
      if (kw == "OR") return InvalidArgument("Invalid filter string: OR is not supported; use AND");
      if (kw != "AND") return Invalid("expected AND, found '" + t.text + "'");
      ++pos_;
    }
    return out;
  }

 private:
  const Token* Peek() const { return pos_ < toks_.size() ? &toks_[pos_] : nullptr; }
  bool PeekWord(const char* kw) const {
    const Token* t = Peek();
    return t && t->kind == Tok::kWord && Upper(t->text) == kw;
  }

  StatusOr<RawClause> Clause() {
    RawClause c;
    const Token* id = Peek();
    if (!id || id->kind != Tok::kWord) return Invalid("expected an identifier");
    c.ident = id->text;
    ++pos_;
    const Token* t = Peek();
    if (!t) return Invalid("missing comparator after '" + c.ident + "'");
    if (t->kind == Tok::kOp) {
      c.op = t->text;
      ++pos_;
      return WithValue(std::move(c));
    }
    if (t->kind != Tok::kWord) return Invalid("invalid comparator '" + t->text + "'");
    std::string kw = Upper(t->text);
    ++pos_;
    if (kw == "LIKE" || kw == "ILIKE" || kw == "RLIKE") {
      c.op = kw;
      return WithValue(std::move(c));
    }
    if (kw == "IN") {
      c.op = "IN";
      return WithList(std::move(c));
    }
    if (kw == "NOT") {
      if (!PeekWord("IN")) return Invalid("expected IN after NOT");
      ++pos_;
      c.op = "NOT IN";
      return WithList(std::move(c));
    }
    if (kw == "IS") {
      bool negated = false;
      if (PeekWord("NOT")) {
        negated = true;
        ++pos_;
      }
      if (!PeekWord("NULL")) return Invalid("expected NULL after IS");
      ++pos_;
      c.op = negated ? "IS NOT NULL" : "IS NULL";
      return c;
    }
    return Invalid("invalid comparator '" + t->text + "'");
  }

  StatusOr<RawClause> WithValue(RawClause c) {
    const Token* v = Peek();
    if (!v || (v->kind != Tok::kString && v->kind != Tok::kNumber)) {
      return Invalid("expected a quoted string or a number after '" + c.ident + " " + c.op + "'");
    }
    c.value = *v;
    ++pos_;
    return c;
  }

  StatusOr<RawClause> WithList(RawClause c) {
    const Token* t = Peek();
    if (!t || t->kind != Tok::kLParen) return Invalid("expected '(' after " + c.op);
    ++pos_;
    while (true) {
      const Token* v = Peek();
      if (!v) return Invalid("unterminated list");
      if (v->kind == Tok::kRParen && !c.list.empty()) {
        ++pos_;
        break;
      }
      if (v->kind != Tok::kString) return Invalid("lists hold quoted strings");
      c.list.push_back(v->text);
      ++pos_;
      const Token* sep = Peek();
      if (sep && sep->kind == Tok::kComma) {
        ++pos_;
      } else if (!sep || sep->kind != Tok::kRParen) {
        return Invalid("expected ',' or ')' in list");
      }
    }
    return c;
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
};

StatusOr<TraceOp> OpOf(const std::string& op) {
  if (op == "=") return TraceOp::kEq;
  if (op == "!=") return TraceOp::kNe;
  if (op == "<") return TraceOp::kLt;
  if (op == "<=") return TraceOp::kLe;
  if (op == ">") return TraceOp::kGt;
  if (op == ">=") return TraceOp::kGe;
  if (op == "LIKE") return TraceOp::kLike;
  if (op == "ILIKE") return TraceOp::kILike;
  if (op == "IN") return TraceOp::kIn;
  if (op == "NOT IN") return TraceOp::kNotIn;
  if (op == "IS NULL") return TraceOp::kIsNull;
  if (op == "IS NOT NULL") return TraceOp::kIsNotNull;
  if (op == "RLIKE") return InvalidArgument("RLIKE (regular expression) trace filters are not supported by kiln");
  return Invalid("invalid comparator '" + op + "'");
}

Status CheckOp(const std::string& op, const std::set<std::string>& allowed, const std::string& what) {
  if (op == "RLIKE") return OpOf(op).status();
  if (allowed.count(op)) return Status::Ok();
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  return Invalid("invalid comparator '" + op + "' for " + what + "; valid comparators: " + list);
}

StatusOr<std::string> StringValue(const RawClause& c) {
  if (!c.value || c.value->kind != Tok::kString) {
    return Invalid("expected a quoted string value for '" + c.ident + "'");
  }
  return c.value->text;
}

StatusOr<TraceFilterClause> ToClause(const RawClause& raw) {
  KILN_ASSIGN_OR_RETURN(Ident id, ResolveIdent(raw.ident));
  TraceFilterClause out;
  static const std::set<std::string> kString = {"=", "!=", "IN", "NOT IN", "LIKE", "ILIKE"};
  static const std::set<std::string> kKeyed = {"=", "!=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"};
  static const std::set<std::string> kNumeric = {"=", "!=", "<", "<=", ">", ">="};
  if (id.entity == Entity::kAttribute) {
    const std::string& key = id.key;
    if (key == "text" || key == "prompt") {
      return InvalidArgument("Filtering traces by '" + key + "' is not supported by kiln");
    }
    if (NumericAttributes().count(key)) {
      KILN_RETURN_IF_ERROR(CheckOp(raw.op, kNumeric, "numeric attribute '" + key + "'"));
      if (!raw.value || raw.value->kind != Tok::kNumber) {
        return Invalid("expected a number for numeric attribute '" + key + "'");
      }
      int64_t v = 0;
      const std::string& text = raw.value->text;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || p != text.data() + text.size()) {
        return Invalid("expected an integer for '" + key + "', got '" + text + "'");
      }
      out.kind = TraceFieldKind::kAttribute;
      out.key = CanonicalNumeric(key);
      out.value = v;
    } else if (key == "name" || key == "run_id") {
      // They map to a tag / metadata entry, which take no IN list (as MLflow).
      static const std::set<std::string> kMapped = {"=", "!=", "LIKE", "ILIKE"};
      KILN_RETURN_IF_ERROR(CheckOp(raw.op, kMapped, "attribute '" + key + "'"));
      out.kind = key == "name" ? TraceFieldKind::kTag : TraceFieldKind::kMetadata;
      out.key = key == "name" ? "mlflow.traceName" : "mlflow.sourceRun";
    } else if (key == "request_id" || key == "status" || key == "client_request_id") {
      KILN_RETURN_IF_ERROR(CheckOp(raw.op, kString, "attribute '" + key + "'"));
      out.kind = TraceFieldKind::kAttribute;
      out.key = key == "request_id" ? "trace_id" : key == "status" ? "state" : key;
    } else {
      return Invalid("invalid attribute key '" + key +
                     "'. Valid keys: request_id, timestamp, timestamp_ms, execution_time, execution_time_ms, "
                     "end_time, end_time_ms, status, client_request_id, name, run_id");
    }
  } else if (id.entity == Entity::kTag || id.entity == Entity::kMetadata) {
    KILN_RETURN_IF_ERROR(CheckOp(raw.op, kKeyed, id.entity == Entity::kTag ? "tags" : "request metadata"));
    out.kind = id.entity == Entity::kTag ? TraceFieldKind::kTag : TraceFieldKind::kMetadata;
    out.key = id.key;
  } else {
    if (id.key != "name" && id.key != "type" && id.key != "status") {
      return InvalidArgument("Filtering traces by span '" + id.key +
                             "' is not supported by kiln; span filters: name, type, status");
    }
    KILN_RETURN_IF_ERROR(CheckOp(raw.op, kString, "span '" + id.key + "'"));
    out.kind = TraceFieldKind::kSpan;
    out.key = id.key == "type" ? "span_type" : id.key == "status" ? "status_code" : "name";
  }
  KILN_ASSIGN_OR_RETURN(out.op, OpOf(raw.op));
  if (std::holds_alternative<std::monostate>(out.value)) {
    if (out.op == TraceOp::kIn || out.op == TraceOp::kNotIn) {
      out.value = raw.list;
    } else if (out.op != TraceOp::kIsNull && out.op != TraceOp::kIsNotNull) {
      KILN_ASSIGN_OR_RETURN(std::string v, StringValue(raw));
      out.value = std::move(v);
    }
  }
  return out;
}

}  // namespace

StatusOr<std::vector<TraceFilterClause>> ParseTraceFilter(std::string_view filter) {
  KILN_ASSIGN_OR_RETURN(auto toks, Lex(filter));
  if (toks.empty()) return std::vector<TraceFilterClause>{};
  KILN_ASSIGN_OR_RETURN(auto raws, Parser(std::move(toks)).Run());
  std::vector<TraceFilterClause> out;
  for (const auto& raw : raws) {
    KILN_ASSIGN_OR_RETURN(auto c, ToClause(raw));
    out.push_back(std::move(c));
  }
  return out;
}

StatusOr<std::vector<TraceOrderBy>> ParseTraceOrderBy(const std::vector<std::string>& order_by) {
  std::vector<TraceOrderBy> out;
  std::set<std::pair<int, std::string>> seen;
  for (const auto& entry : order_by) {
    KILN_ASSIGN_OR_RETURN(auto toks, Lex(entry));
    if (toks.empty() || toks.size() > 2 || toks[0].kind != Tok::kWord) {
      return InvalidArgument("Invalid order_by clause '" + entry + "'");
    }
    TraceOrderBy o;
    if (toks.size() == 2) {
      std::string dir = toks[1].kind == Tok::kWord ? Upper(toks[1].text) : "";
      if (dir != "ASC" && dir != "DESC") return InvalidArgument("Invalid order_by clause '" + entry + "'");
      o.ascending = dir == "ASC";
    }
    KILN_ASSIGN_OR_RETURN(Ident id, ResolveIdent(toks[0].text));
    if (id.entity == Entity::kSpan) return InvalidArgument("Invalid order_by clause '" + entry + "'");
    if (id.entity == Entity::kTag) {
      o.kind = TraceFieldKind::kTag;
      o.key = id.key;
    } else if (id.entity == Entity::kMetadata) {
      o.kind = TraceFieldKind::kMetadata;
      o.key = id.key;
    } else if (NumericAttributes().count(id.key)) {
      o.key = CanonicalNumeric(id.key);
    } else if (id.key == "name") {
      o.kind = TraceFieldKind::kTag;
      o.key = "mlflow.traceName";
    } else if (id.key == "run_id") {
      o.kind = TraceFieldKind::kMetadata;
      o.key = "mlflow.sourceRun";
    } else if (id.key == "experiment_id" || id.key == "status" || id.key == "request_id") {
      o.key = id.key == "status" ? "state" : id.key == "request_id" ? "trace_id" : id.key;
    } else {
      return InvalidArgument("Invalid order_by entity: '" + id.key + "' in '" + entry + "'");
    }
    if (!seen.insert({static_cast<int>(o.kind), o.key}).second) {
      return InvalidArgument("`order_by` contains duplicate fields: '" + entry + "'");
    }
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace kiln::tracking
