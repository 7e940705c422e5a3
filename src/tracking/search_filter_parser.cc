#include "tracking/search_filter_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

namespace kiln::tracking {
namespace {

using storage::CompareOp;
using storage::FilterClause;
using storage::OrderBy;
using storage::SearchEntity;

// ---------------------------------------------------------------- helpers

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
// SQL-ish word characters; non-ASCII bytes count as letters (MLflow's \w is Unicode-aware).
bool IsWordChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || IsDigit(c) || c == '_' || u >= 0x80;
}
char ToUpper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToUpper(c);
  return out;
}
bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return ToUpper(x) == ToUpper(y); });
}
bool Contains(const std::vector<std::string_view>& set, std::string_view s) {
  return std::find(set.begin(), set.end(), s) != set.end();
}
// Renders a set like Python's repr of a list: ['a', 'b'].
std::string ListRepr(const std::vector<std::string_view>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += "'";
    out += items[i];
    out += "'";
  }
  return out + "]";
}
Status Invalid(std::string msg) { return InvalidArgument(std::move(msg)); }

// Parses a SQL-ish numeric literal (int, float, scientific, signed). Overflow
// saturates to +-inf like Python's float(); never throws.
std::optional<double> ParseNumber(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (ptr != s.data() + s.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    size_t e = s.find_first_of("eE");
    bool tiny = e != std::string_view::npos && e + 1 < s.size() && s[e + 1] == '-';
    v = tiny ? 0.0 : std::numeric_limits<double>::infinity();
  } else if (ec != std::errc()) {
    return std::nullopt;
  }
  return negative ? -v : v;
}

// ---------------------------------------------------------------- lexer

enum class Tok { kWord, kNumber, kSingle, kDouble, kBacktick, kDot, kOp, kLParen, kRParen, kComma, kEnd };

struct Token {
  Tok kind = Tok::kEnd;
  std::string_view text;   // as written, quotes included
  std::string_view inner;  // quotes removed (== text for unquoted tokens)
  bool adjacent = false;   // no whitespace between this token and the previous one
};

bool IsQuoted(Tok k) { return k == Tok::kSingle || k == Tok::kDouble || k == Tok::kBacktick; }

std::string InvalidClauses(std::string_view text) {
  return "Invalid clause(s) in filter string: '" + std::string(text) + "'";
}

StatusOr<std::vector<Token>> Lex(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  bool adjacent = false;
  auto push = [&](Tok kind, size_t begin, size_t end, size_t inner_begin, size_t inner_end) {
    out.push_back({kind, s.substr(begin, end - begin), s.substr(inner_begin, inner_end - inner_begin), adjacent});
    adjacent = true;
  };
  auto after_dot = [&] { return adjacent && !out.empty() && out.back().kind == Tok::kDot; };
  auto after_name = [&] {
    return adjacent && !out.empty() &&
           (out.back().kind == Tok::kWord || IsQuoted(out.back().kind) || out.back().kind == Tok::kNumber);
  };
  while (i < s.size()) {
    char c = s[i];
    if (IsSpace(c)) {
      ++i;
      adjacent = false;
      continue;
    }
    size_t begin = i;
    if (c == '\'' || c == '"') {
      // SQL string: a doubled quote or a backslash escape does not terminate it.
      size_t j = i + 1;
      for (; j < s.size(); ++j) {
        if (s[j] == '\\' && j + 1 < s.size()) {
          ++j;
        } else if (s[j] == c) {
          if (j + 1 < s.size() && s[j + 1] == c) {
            ++j;
          } else {
            break;
          }
        }
      }
      if (j >= s.size()) return Invalid(InvalidClauses(s.substr(begin)));
      push(c == '\'' ? Tok::kSingle : Tok::kDouble, begin, j + 1, begin + 1, j);
      i = j + 1;
      continue;
    }
    if (c == '`') {
      size_t j = s.find('`', i + 1);
      if (j == std::string_view::npos) return Invalid(InvalidClauses(s.substr(begin)));
      push(Tok::kBacktick, begin, j + 1, begin + 1, j);
      i = j + 1;
      continue;
    }
    if (c == '(' || c == ')' || c == ',') {
      push(c == '(' ? Tok::kLParen : c == ')' ? Tok::kRParen : Tok::kComma, i, i + 1, i, i + 1);
      ++i;
      continue;
    }
    if (c == '<' || c == '>' || c == '=' || c == '!' || c == '~') {
      size_t j = i;
      while (j < s.size() && (s[j] == '<' || s[j] == '>' || s[j] == '=' || s[j] == '!' || s[j] == '~')) ++j;
      push(Tok::kOp, i, j, i, j);
      i = j;
      continue;
    }
    if (after_dot() && IsWordChar(c)) {
      // Key part after "prefix.": a word even if it starts with a digit.
      size_t j = i;
      while (j < s.size() && IsWordChar(s[j])) ++j;
      push(Tok::kWord, i, j, i, j);
      i = j;
      continue;
    }
    bool number_start = IsDigit(c) ||
                        ((c == '-' || c == '+') && i + 1 < s.size() &&
                         (IsDigit(s[i + 1]) || (s[i + 1] == '.' && i + 2 < s.size() && IsDigit(s[i + 2])))) ||
                        (c == '.' && !after_name() && i + 1 < s.size() && IsDigit(s[i + 1]));
    if (number_start) {
      size_t j = i;
      if (s[j] == '-' || s[j] == '+') ++j;
      while (j < s.size() && IsDigit(s[j])) ++j;
      if (j < s.size() && s[j] == '.') {
        ++j;
        while (j < s.size() && IsDigit(s[j])) ++j;
      }
      if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
        size_t k = j + 1;
        if (k < s.size() && (s[k] == '-' || s[k] == '+')) ++k;
        if (k < s.size() && IsDigit(s[k])) {
          while (k < s.size() && IsDigit(s[k])) ++k;
          j = k;
        }
      }
      if (j < s.size() && IsWordChar(s[j])) {  // e.g. 1abc: a word, not a number
        while (j < s.size() && IsWordChar(s[j])) ++j;
        push(Tok::kWord, i, j, i, j);
      } else {
        push(Tok::kNumber, i, j, i, j);
      }
      i = j;
      continue;
    }
    if (c == '.') {
      push(Tok::kDot, i, i + 1, i, i + 1);
      ++i;
      continue;
    }
    if (IsWordChar(c)) {
      size_t j = i;
      while (j < s.size() && IsWordChar(s[j])) ++j;
      push(Tok::kWord, i, j, i, j);
      i = j;
      continue;
    }
    return Invalid(InvalidClauses(s.substr(begin)));
  }
  out.push_back({Tok::kEnd, s.substr(s.size()), s.substr(s.size()), adjacent});
  return out;
}

// ---------------------------------------------------------------- syntax

struct RawValue {
  enum Kind { kNumber, kString, kBareWord, kList, kNone } kind = kString;  // kNone: IS [NOT] NULL
  std::string_view raw;  // as written
  std::string text;      // number text or string contents
  std::vector<std::string> list;
  bool list_ok = true;        // false: a non-string item was present
  std::string list_error;     // set for an empty or ill-formed list
};

struct RawClause {
  std::optional<std::string> entity;  // as written (backticks trimmed)
  std::string key;
  std::string comparator;  // upper-cased for keyword comparators
  RawValue value;
};

// Unescapes a quoted list item the way Python's literal_eval would for the
// common escapes (\\, \', \", \n, \t).
std::string UnescapeListItem(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char n = s[++i];
      switch (n) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case '\\': case '\'': case '"': out += n; break;
        default: out += '\\'; out += n;
      }
    } else {
      out += s[i];
    }
  }
  return out;
}

class Parser {
 public:
  Parser(std::string_view src, std::vector<Token> toks) : src_(src), toks_(std::move(toks)) {}

  StatusOr<std::vector<RawClause>> ParseFilter() {
    std::vector<RawClause> clauses;
    while (true) {
      KILN_ASSIGN_OR_RETURN(RawClause clause, ParseClause());
      clauses.push_back(std::move(clause));
      if (Peek().kind == Tok::kEnd) break;
      if (IsWord(Peek(), "AND")) {
        ++pos_;
        continue;
      }
      return Invalid(InvalidClauses(Rest()));
    }
    return clauses;
  }

 private:
  const Token& Peek(size_t ahead = 0) const { return toks_[std::min(pos_ + ahead, toks_.size() - 1)]; }
  static bool IsWord(const Token& t, std::string_view w) { return t.kind == Tok::kWord && IEquals(t.text, w); }
  std::string_view Rest() const {
    size_t off = static_cast<size_t>(Peek().text.data() - src_.data());
    return src_.substr(off);
  }

  StatusOr<RawClause> ParseClause() {
    size_t start = pos_;
    RawClause clause;
    const Token& first = Peek();
    if (first.kind != Tok::kWord && first.kind != Tok::kBacktick && first.kind != Tok::kDouble) {
      return Invalid(InvalidClauses(Rest()));
    }
    std::vector<Token> parts{first};
    ++pos_;
    while (Peek().kind == Tok::kDot) {
      const Token& next = Peek(1);
      if (next.kind != Tok::kWord && !IsQuoted(next.kind)) return Invalid(InvalidClauses(Rest()));
      parts.push_back(next);
      pos_ += 2;
    }
    if (parts.size() == 1) {
      clause.key = std::string(parts[0].inner);
    } else {
      clause.entity = std::string(parts[0].inner);
      if (parts.size() == 2) {
        clause.key = std::string(parts[1].inner);
      } else {
        for (size_t i = 1; i < parts.size(); ++i) {
          if (parts[i].kind != Tok::kWord) {
            return Invalid("Invalid identifier '" + std::string(IdentText(start)) +
                           "'. Columns should be specified as 'attribute.<key>', 'metric.<key>', "
                           "'tag.<key>', 'dataset.<key>', or 'param.'.");
          }
          if (i > 1) clause.key += '.';
          clause.key += parts[i].text;
        }
      }
    }

    const Token& op = Peek();
    if (op.kind == Tok::kOp) {
      clause.comparator = std::string(op.text);
      ++pos_;
    } else if (IsWord(op, "LIKE") || IsWord(op, "ILIKE")) {
      clause.comparator = Upper(op.text);
      ++pos_;
    } else if (IsWord(op, "IN")) {
      clause.comparator = "IN";
      ++pos_;
    } else if (IsWord(op, "NOT") && IsWord(Peek(1), "IN")) {
      clause.comparator = "NOT IN";
      pos_ += 2;
    } else if (IsWord(op, "IS") && IsWord(Peek(1), "NULL")) {
      clause.comparator = "IS NULL";
      clause.value.kind = RawValue::kNone;
      pos_ += 2;
      return clause;
    } else if (IsWord(op, "IS") && IsWord(Peek(1), "NOT") && IsWord(Peek(2), "NULL")) {
      clause.comparator = "IS NOT NULL";
      clause.value.kind = RawValue::kNone;
      pos_ += 3;
      return clause;
    } else {
      return Invalid(InvalidClauses(ClauseText(start)));
    }
    bool wants_list = clause.comparator == "IN" || clause.comparator == "NOT IN";

    const Token& v = Peek();
    if (wants_list != (v.kind == Tok::kLParen)) return Invalid(InvalidClauses(ClauseText(start)));
    switch (v.kind) {
      case Tok::kNumber:
        clause.value.kind = RawValue::kNumber;
        clause.value.text = std::string(v.text);
        break;
      case Tok::kSingle:
      case Tok::kDouble:
        clause.value.kind = RawValue::kString;
        clause.value.text = std::string(v.inner);
        break;
      case Tok::kWord:
      case Tok::kBacktick:
        clause.value.kind = RawValue::kBareWord;
        clause.value.text = std::string(v.text);
        break;
      case Tok::kLParen:
        return ParseList(start, std::move(clause));
      default:
        return Invalid(InvalidClauses(ClauseText(start)));
    }
    clause.value.raw = v.text;
    ++pos_;
    return clause;
  }

  StatusOr<RawClause> ParseList(size_t start, RawClause clause) {
    RawValue& value = clause.value;
    value.kind = RawValue::kList;
    size_t open = pos_++;
    bool expect_item = true;
    while (true) {
      const Token& t = Peek();
      if (t.kind == Tok::kRParen) break;
      if (t.kind == Tok::kEnd) return Invalid(InvalidClauses(ClauseText(start)));
      if (expect_item) {
        if (t.kind == Tok::kSingle || t.kind == Tok::kDouble) {
          value.list.push_back(UnescapeListItem(t.inner));
        } else if (t.kind == Tok::kNumber || t.kind == Tok::kWord) {
          value.list_ok = false;
        } else {
          value.list_error = "ill-formed";
        }
        expect_item = false;
      } else if (t.kind == Tok::kComma) {
        expect_item = true;
      } else {
        value.list_error = "ill-formed";
      }
      ++pos_;
    }
    const Token& open_tok = toks_[open];
    const Token& close_tok = Peek();
    size_t b = static_cast<size_t>(open_tok.text.data() - src_.data());
    size_t e = static_cast<size_t>(close_tok.text.data() - src_.data()) + 1;
    value.raw = src_.substr(b, e - b);
    if (value.list_error.empty() && value.list.empty() && value.list_ok) value.list_error = "empty";
    ++pos_;
    return clause;
  }

  std::string_view IdentText(size_t start) const {
    size_t b = static_cast<size_t>(toks_[start].text.data() - src_.data());
    const Token& last = toks_[std::max(start, pos_ - 1)];
    size_t e = static_cast<size_t>(last.text.data() - src_.data()) + last.text.size();
    return src_.substr(b, e - b);
  }
  std::string_view ClauseText(size_t start) const {
    size_t b = static_cast<size_t>(toks_[start].text.data() - src_.data());
    const Token& t = Peek();
    size_t e = static_cast<size_t>(t.text.data() - src_.data()) + t.text.size();
    return src_.substr(b, e - b);
  }

  std::string_view src_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------- semantics

const std::vector<std::string_view> kNumericComparators = {">", ">=", "!=", "=", "<", "<="};
const std::vector<std::string_view> kParamTagComparators = {"!=", "=", "LIKE", "ILIKE"};
const std::vector<std::string_view> kStringAttrComparators = {"!=", "=", "LIKE", "ILIKE", "IN", "NOT IN"};
const std::vector<std::string_view> kDatasetKeys = {"name", "digest", "context"};
const std::vector<std::string_view> kRunIdentifiers = {"metric", "parameter", "tag", "attribute", "dataset"};

enum class Domain { kRuns, kExperiments, kLoggedModels, kRegisteredModels, kModelVersions };

struct Alias {
  std::string_view from;
  std::string_view to;
};

// Everything that differs between the three searches.
struct Rules {
  Domain domain;
  std::vector<std::string_view> search_keys;   // valid attribute keys in filters (incl. aliases)
  std::vector<std::string_view> order_keys;    // valid attribute keys in order_by (incl. aliases)
  std::vector<std::string_view> numeric_keys;  // numeric attributes (incl. aliases)
  std::vector<Alias> aliases;                  // alias -> canonical attribute key
};

const Rules& RunRules() {
  static const Rules r{Domain::kRuns,
                       {"artifact_uri", "end_time", "run_id", "run_name", "start_time", "status", "user_id",
                        "created", "Created", "run name", "Run name", "Run Name"},
                       {"artifact_uri", "end_time", "run_id", "run_name", "start_time", "status", "user_id",
                        "created", "Created"},
                       {"start_time", "end_time", "created", "Created"},
                       {{"created", "start_time"},
                        {"Created", "start_time"},
                        {"run name", "run_name"},
                        {"Run name", "run_name"},
                        {"Run Name", "run_name"}}};
  return r;
}

const Rules& ExperimentRules() {
  static const Rules r{Domain::kExperiments,
                       {"name", "creation_time", "last_update_time"},
                       {"name", "experiment_id", "creation_time", "last_update_time"},
                       {"creation_time", "last_update_time"},
                       {}};
  return r;
}

const Rules& LoggedModelRules() {
  static const Rules r{Domain::kLoggedModels,
                       {"name", "model_id", "model_type", "status", "source_run_id", "creation_timestamp",
                        "creation_time", "last_updated_timestamp", "last_updated_time"},
                       {"name", "model_id", "model_type", "status", "source_run_id", "creation_timestamp",
                        "creation_time", "last_updated_timestamp", "last_updated_time"},
                       {"creation_timestamp", "creation_time", "last_updated_timestamp", "last_updated_time"},
                       {{"creation_time", "creation_timestamp"}, {"last_updated_time", "last_updated_timestamp"}}};
  return r;
}

const Rules& RegisteredModelRules() {
  static const Rules r{Domain::kRegisteredModels,
                       {"name"},
                       {"name", "last_updated_timestamp", "timestamp"},
                       {},
                       {{"timestamp", "last_updated_timestamp"}}};
  return r;
}

const Rules& ModelVersionRules() {
  static const Rules r{Domain::kModelVersions,
                       {"name", "version_number", "run_id", "source_path"},
                       {"name", "version_number", "creation_timestamp", "last_updated_timestamp", "timestamp"},
                       {"version_number"},
                       {{"timestamp", "creation_timestamp"}}};
  return r;
}

bool IsRegistry(const Rules& rules) {
  return rules.domain == Domain::kRegisteredModels || rules.domain == Domain::kModelVersions;
}

std::string Canonical(const Rules& rules, std::string_view key) {
  for (const Alias& a : rules.aliases) {
    if (a.from == key) return std::string(a.to);
  }
  return std::string(key);
}

StatusOr<SearchEntity> ResolveEntity(const Rules& rules, std::string_view entity) {
  if (IsRegistry(rules)) {
    if (entity == "attribute") return SearchEntity::kAttribute;
    if (entity == "tag" || entity == "tags") return SearchEntity::kTag;
    return Invalid("Invalid entity type '" + std::string(entity) +
                   "'. Valid entity types are ('attribute', 'tag', 'tags')");
  }
  if (rules.domain == Domain::kExperiments) {
    if (entity == "attribute") return SearchEntity::kAttribute;
    if (entity == "tag" || entity == "tags") return SearchEntity::kTag;
    return Invalid("Invalid entity type '" + std::string(entity) +
                   "'. Valid entity types are ('attribute', 'tag', 'tags')");
  }
  if (entity == "metric" || entity == "metrics") return SearchEntity::kMetric;
  if (entity == "parameter" || entity == "parameters" || entity == "param" || entity == "params") {
    return SearchEntity::kParam;
  }
  if (entity == "tag" || entity == "tags") return SearchEntity::kTag;
  if (entity == "attribute" || entity == "attributes" || entity == "attr" || entity == "run") {
    return SearchEntity::kAttribute;
  }
  if (rules.domain == Domain::kRuns && (entity == "dataset" || entity == "datasets")) {
    return SearchEntity::kDataset;
  }
  std::vector<std::string_view> valid = kRunIdentifiers;
  if (rules.domain != Domain::kRuns) valid.pop_back();
  return Invalid("Invalid entity type '" + std::string(entity) + "'. Valid values are " + ListRepr(valid));
}

// Resolves entity + key, validating attribute/dataset keys against `valid_keys`.
StatusOr<std::pair<SearchEntity, std::string>> ResolveIdentifier(const Rules& rules,
                                                                  const std::optional<std::string>& entity,
                                                                  const std::string& key,
                                                                  const std::vector<std::string_view>& valid_keys) {
  SearchEntity kind = SearchEntity::kAttribute;
  if (entity) {
    KILN_ASSIGN_OR_RETURN(kind, ResolveEntity(rules, *entity));
  }
  if (kind == SearchEntity::kAttribute && !Contains(valid_keys, key)) {
    return Invalid("Invalid attribute key '" + key + "' specified. Valid keys are '" + ListRepr(valid_keys) + "'");
  }
  if (kind == SearchEntity::kDataset && !Contains(kDatasetKeys, key)) {
    return Invalid("Invalid dataset key '" + key + "' specified. Valid keys are '" + ListRepr(kDatasetKeys) + "'");
  }
  return std::make_pair(kind, key);
}

std::string NotQuoted(std::string_view raw) {
  return "Parameter value is either not quoted or unidentified quote types used for string value " +
         std::string(raw) + ". Use either single or double quotes.";
}

// Python's str.islower(): at least one cased character and none upper-case
// (non-ASCII bytes are treated as lower-case letters).
bool PyIsLower(std::string_view s) {
  bool cased = false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 'A' && u <= 'Z') return false;
    if ((u >= 'a' && u <= 'z') || u >= 0x80) cased = true;
  }
  return cased;
}

StatusOr<std::vector<std::string>> ListValue(const RawValue& v) {
  if (v.list_error == "ill-formed") {
    return Invalid(
        "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.");
  }
  if (!v.list_ok) {
    return Invalid(
        "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different "
        "type in list: " +
        std::string(v.raw));
  }
  if (v.list_error == "empty") {
    return Invalid("While parsing a list in the query, expected a non-empty list of string values, but got empty list");
  }
  return v.list;
}

StatusOr<CompareOp> CheckComparator(std::string_view comparator, const std::vector<std::string_view>& allowed) {
  if (!Contains(allowed, comparator)) {
    return Invalid("Invalid comparator '" + std::string(comparator) + "' not one of '" + ListRepr(allowed) + "'");
  }
  if (comparator == "=") return CompareOp::kEq;
  if (comparator == "!=") return CompareOp::kNe;
  if (comparator == "<") return CompareOp::kLt;
  if (comparator == "<=") return CompareOp::kLe;
  if (comparator == ">") return CompareOp::kGt;
  if (comparator == ">=") return CompareOp::kGe;
  if (comparator == "LIKE") return CompareOp::kLike;
  if (comparator == "ILIKE") return CompareOp::kILike;
  if (comparator == "IN") return CompareOp::kIn;
  return CompareOp::kNotIn;
}

StatusOr<FilterClause> ToClause(const Rules& rules, const RawClause& raw) {
  KILN_ASSIGN_OR_RETURN(auto ident, ResolveIdentifier(rules, raw.entity, raw.key, rules.search_keys));
  FilterClause out;
  out.entity = ident.first;
  out.key = ident.second;
  const RawValue& v = raw.value;
  if (v.kind == RawValue::kNone) {
    // MLflow: runs take IS [NOT] NULL on tags and params, experiments on tags.
    bool runs = rules.domain == Domain::kRuns &&
                (out.entity == SearchEntity::kTag || out.entity == SearchEntity::kParam);
    bool experiments = rules.domain == Domain::kExperiments && out.entity == SearchEntity::kTag;
    if (!runs && !experiments) {
      if (rules.domain == Domain::kRuns) {
        return Invalid("IS NULL / IS NOT NULL is only supported for tags and params, not for '" +
                       std::string(out.entity == SearchEntity::kMetric      ? "metric"
                                   : out.entity == SearchEntity::kDataset ? "dataset"
                                                                          : "attribute") +
                       "' '" + out.key + "'");
      }
      if (rules.domain == Domain::kExperiments) {
        return Invalid("IS NULL / IS NOT NULL is only supported for tags, not for attribute '" + out.key + "'");
      }
      return Invalid("Invalid comparator '" + raw.comparator + "' not one of '" + ListRepr(kStringAttrComparators) +
                     "'");
    }
    out.op = raw.comparator == "IS NULL" ? CompareOp::kIsNull : CompareOp::kIsNotNull;
    out.value = std::string();
    return out;
  }
  const std::vector<std::string_view>* comparators = &kStringAttrComparators;

  auto numeric = [&](std::string message) -> Status {
    if (v.kind != RawValue::kNumber) return Invalid(std::move(message));
    std::optional<double> d = ParseNumber(v.text);
    if (!d) return Invalid(std::move(message));
    out.value = *d;
    comparators = &kNumericComparators;
    return Status::Ok();
  };
  auto quoted = [&](std::string other_message) -> Status {
    if (v.kind == RawValue::kString) {
      out.value = v.text;
      return Status::Ok();
    }
    if (v.kind == RawValue::kBareWord) return Invalid(NotQuoted(v.raw));
    return Invalid(std::move(other_message));
  };

  switch (out.entity) {
    case SearchEntity::kMetric:
      KILN_RETURN_IF_ERROR(numeric("Expected numeric value type for metric. Found " + std::string(v.raw)));
      break;
    case SearchEntity::kParam:
    case SearchEntity::kTag: {
      std::string family = out.entity == SearchEntity::kParam ? "parameter" : "tag";
      KILN_RETURN_IF_ERROR(quoted("Expected a quoted string value for " + family + " (e.g. 'my-value'). Got value " +
                                  std::string(v.raw)));
      comparators = &kParamTagComparators;
      break;
    }
    case SearchEntity::kAttribute:
      if (Contains(rules.numeric_keys, out.key)) {
        KILN_RETURN_IF_ERROR(numeric("Expected numeric value type for numeric attribute: " + out.key + ". Found " +
                                     std::string(v.raw)));
        if (rules.domain == Domain::kModelVersions && std::get<double>(out.value) != std::floor(std::get<double>(out.value))) {
          return Invalid("Expected an integer value for version_number. Found " + std::string(v.raw));
        }
      } else if (v.kind == RawValue::kList) {
        bool list_ok = rules.domain == Domain::kLoggedModels ||
                       (rules.domain == Domain::kRuns && out.key == "run_id") ||
                       (rules.domain == Domain::kRegisteredModels && out.key == "name") ||
                       (rules.domain == Domain::kModelVersions && (out.key == "name" || out.key == "run_id"));
        if (!list_ok && IsRegistry(rules)) {
          return Invalid("Only the 'name' and 'run_id' attributes support comparison with a list of quoted "
                         "string values.");
        }
        if (!list_ok) {
          return Invalid("Only the 'run_id' attribute supports comparison with a list of quoted string values.");
        }
        KILN_ASSIGN_OR_RETURN(std::vector<std::string> items, ListValue(v));
        if (rules.domain == Domain::kRuns) {
          // MLflow drops run IDs that are not lower-case (MySQL's IN is case-insensitive).
          std::erase_if(items, [](const std::string& id) { return !PyIsLower(id); });
        }
        out.value = std::move(items);
      } else {
        KILN_RETURN_IF_ERROR(
            quoted("Expected a quoted string value for attributes. Got value " + std::string(v.raw)));
      }
      out.key = Canonical(rules, out.key);
      break;
    case SearchEntity::kDataset:
      if (v.kind == RawValue::kList) {
        KILN_ASSIGN_OR_RETURN(out.value, ListValue(v));
      } else {
        KILN_RETURN_IF_ERROR(
            quoted("Expected a quoted string value for dataset attributes. Got value " + std::string(v.raw)));
      }
      break;
  }
  KILN_ASSIGN_OR_RETURN(out.op, CheckComparator(raw.comparator, *comparators));
  return out;
}

StatusOr<std::vector<FilterClause>> ParseFilter(const Rules& rules, std::string_view filter) {
  std::vector<FilterClause> out;
  if (std::all_of(filter.begin(), filter.end(), IsSpace)) return out;
  KILN_ASSIGN_OR_RETURN(std::vector<Token> toks, Lex(filter));
  Parser parser(filter, std::move(toks));
  KILN_ASSIGN_OR_RETURN(std::vector<RawClause> raw, parser.ParseFilter());
  for (const RawClause& c : raw) {
    KILN_ASSIGN_OR_RETURN(FilterClause clause, ToClause(rules, c));
    out.push_back(std::move(clause));
  }
  return out;
}

// Splits like Python's shlex.split (POSIX mode) after MLflow's backtick -> double
// quote substitution: whitespace separates words, quotes group and are removed.
std::optional<std::vector<std::string>> ShlexSplit(std::string_view s) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i] == '`' ? '"' : s[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (quote == '"' && c == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\')) {
        cur += s[++i];
      } else {
        cur += s[i];
      }
    } else if (IsSpace(c)) {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < s.size()) {
      cur += s[++i];
      in_word = true;
    } else {
      cur += s[i];
      in_word = true;
    }
  }
  if (quote) return std::nullopt;
  if (in_word) words.push_back(std::move(cur));
  return words;
}

StatusOr<OrderBy> ParseOrderByEntry(const Rules& rules, std::string_view entry) {
  std::string unparsable = "Invalid order_by clause '" + std::string(entry) + "'. Could not be parsed.";
  std::optional<std::vector<std::string>> words = ShlexSplit(entry);
  if (!words || words->empty() || words->size() > 2) return Invalid(unparsable);
  OrderBy out;
  if (words->size() == 2) {
    const std::string& dir = (*words)[1];
    if (!IEquals(dir, "asc") && !IEquals(dir, "desc")) {
      return Invalid("Invalid ordering key in order_by clause '" + std::string(entry) + "'.");
    }
    out.ascending = IEquals(dir, "asc");
  }
  const std::string& ident = (*words)[0];
  std::optional<std::string> entity;
  std::string key = ident;
  if (size_t dot = ident.find('.'); dot != std::string::npos) {
    entity = ident.substr(0, dot);
    key = ident.substr(dot + 1);
  }
  if (key.empty()) return Invalid(unparsable);
  KILN_ASSIGN_OR_RETURN(auto resolved, ResolveIdentifier(rules, entity, key, rules.order_keys));
  out.entity = resolved.first;
  out.key = resolved.second;
  if (out.entity == SearchEntity::kAttribute) out.key = Canonical(rules, out.key);
  if ((rules.domain == Domain::kExperiments || IsRegistry(rules)) && out.entity != SearchEntity::kAttribute) {
    return Invalid("Invalid order_by entity: tag");
  }
  if (out.entity == SearchEntity::kDataset) return Invalid("Invalid identifier type 'dataset'");
  return out;
}

StatusOr<std::vector<OrderBy>> ParseOrderBy(const Rules& rules, const std::vector<std::string>& order_by) {
  std::vector<OrderBy> out;
  for (const std::string& entry : order_by) {
    KILN_ASSIGN_OR_RETURN(OrderBy o, ParseOrderByEntry(rules, entry));
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

StatusOr<std::vector<FilterClause>> ParseRunFilter(std::string_view filter) { return ParseFilter(RunRules(), filter); }

StatusOr<std::vector<OrderBy>> ParseRunOrderBy(const std::vector<std::string>& order_by) {
  return ParseOrderBy(RunRules(), order_by);
}

StatusOr<std::vector<FilterClause>> ParseExperimentFilter(std::string_view filter) {
  return ParseFilter(ExperimentRules(), filter);
}

StatusOr<std::vector<OrderBy>> ParseExperimentOrderBy(const std::vector<std::string>& order_by) {
  return ParseOrderBy(ExperimentRules(), order_by);
}

StatusOr<std::vector<FilterClause>> ParseLoggedModelFilter(std::string_view filter) {
  return ParseFilter(LoggedModelRules(), filter);
}

StatusOr<std::vector<OrderBy>> ParseLoggedModelOrderBy(const std::vector<LoggedModelOrderField>& order_by) {
  const Rules& rules = LoggedModelRules();
  std::vector<OrderBy> out;
  for (const LoggedModelOrderField& f : order_by) {
    if (f.field_name.empty()) {
      return Invalid("`field_name` in the `order_by` clause must be specified.");
    }
    if (!f.dataset_digest.empty() && f.dataset_name.empty()) {
      return Invalid("`dataset_digest` can only be specified if `dataset_name` is also specified.");
    }
    OrderBy o;
    o.ascending = f.ascending;
    if (size_t dot = f.field_name.find('.'); dot != std::string::npos) {
      std::string entity = f.field_name.substr(0, dot);
      if (entity != "metrics") {
        return Invalid("Invalid order by field name: " + entity + ", only `metrics.<name>` is allowed.");
      }
      o.entity = SearchEntity::kMetric;
      o.key = f.field_name.substr(dot + 1);
      o.dataset_name = f.dataset_name;
      o.dataset_digest = f.dataset_digest;
    } else {
      std::string_view name = f.field_name;
      while (!name.empty() && IsSpace(name.front())) name.remove_prefix(1);
      while (!name.empty() && IsSpace(name.back())) name.remove_suffix(1);
      if (!Contains(rules.order_keys, name)) {
        return Invalid("Invalid order by field name: " + std::string(name) + ".");
      }
      o.entity = SearchEntity::kAttribute;
      o.key = Canonical(rules, name);
    }
    out.push_back(std::move(o));
  }
  return out;
}

StatusOr<std::vector<FilterClause>> ParseRegisteredModelFilter(std::string_view filter) {
  return ParseFilter(RegisteredModelRules(), filter);
}

StatusOr<std::vector<OrderBy>> ParseRegisteredModelOrderBy(const std::vector<std::string>& order_by) {
  return ParseOrderBy(RegisteredModelRules(), order_by);
}

StatusOr<std::vector<FilterClause>> ParseModelVersionFilter(std::string_view filter) {
  return ParseFilter(ModelVersionRules(), filter);
}

StatusOr<std::vector<OrderBy>> ParseModelVersionOrderBy(const std::vector<std::string>& order_by) {
  return ParseOrderBy(ModelVersionRules(), order_by);
}

}  // namespace kiln::tracking
