#include "api/mlflow/graphql_parser.h"

#include <cstdint>
#include <optional>

namespace kiln::api::mlflow::graphql {
namespace {

enum class Tok { kEnd, kPunct, kName, kInt, kFloat, kString, kBlockString };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // punctuator, name, number text or decoded string
  int line = 1;
  int column = 1;
};

bool IsNameStart(char c) { return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {
    if (src_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // byte order mark
  }

  StatusOr<Token> Next() {
    SkipIgnored();
    Token t;
    t.line = line_;
    t.column = Column();
    if (pos_ >= src_.size()) return t;
    char c = src_[pos_];
    if (c == '.') {
      if (src_.substr(pos_, 3) != "...") return Error("unexpected '.'");
      pos_ += 3;
      t.kind = Tok::kPunct;
      t.text = "...";
      return t;
    }
    if (std::string_view("!$&()[]{}:=@|").find(c) != std::string_view::npos) {
      ++pos_;
      t.kind = Tok::kPunct;
      t.text = std::string(1, c);
      return t;
    }
    if (IsNameStart(c)) {
      size_t start = pos_;
      while (pos_ < src_.size() && IsNameChar(src_[pos_])) ++pos_;
      t.kind = Tok::kName;
      t.text = std::string(src_.substr(start, pos_ - start));
      return t;
    }
    if (c == '-' || IsDigit(c)) return Number(t);
    if (c == '"') {
      if (src_.substr(pos_, 3) == "\"\"\"") return BlockString(t);
      return String(t);
    }
    return Error(std::string("unexpected character '") + (static_cast<unsigned char>(c) < 0x20 ? '?' : c) + "'");
  }

  Status Error(const std::string& what) const {
    return InvalidArgument("Syntax Error: " + what + " at line " + std::to_string(line_) + ", column " +
                           std::to_string(Column()) + ".");
  }

 private:
  int Column() const { return static_cast<int>(pos_ - line_start_) + 1; }

  void NewLine() {
    ++line_;
    line_start_ = pos_;
  }

  void SkipIgnored() {
    while (pos_ < src_.size()) {
      char c = src_[pos_];
      if (c == ' ' || c == '\t' || c == ',') {
        ++pos_;
      } else if (c == '\n') {
        ++pos_;
        NewLine();
      } else if (c == '\r') {
        ++pos_;
        if (pos_ < src_.size() && src_[pos_] == '\n') ++pos_;
        NewLine();
      } else if (c == '#') {
        while (pos_ < src_.size() && src_[pos_] != '\n' && src_[pos_] != '\r') ++pos_;
      } else {
        break;
      }
    }
  }

  StatusOr<Token> Number(Token t) {
    size_t start = pos_;
    if (src_[pos_] == '-') ++pos_;
    if (pos_ >= src_.size() || !IsDigit(src_[pos_])) return Error("invalid number");
    if (src_[pos_] == '0' && pos_ + 1 < src_.size() && IsDigit(src_[pos_ + 1])) {
      return Error("invalid number, unexpected digit after 0");
    }
    while (pos_ < src_.size() && IsDigit(src_[pos_])) ++pos_;
    bool is_float = false;
    if (pos_ < src_.size() && src_[pos_] == '.') {
      is_float = true;
      ++pos_;
      if (pos_ >= src_.size() || !IsDigit(src_[pos_])) return Error("invalid number, expected digit after '.'");
      while (pos_ < src_.size() && IsDigit(src_[pos_])) ++pos_;
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      is_float = true;
      ++pos_;
      if (pos_ < src_.size() && (src_[pos_] == '+' || src_[pos_] == '-')) ++pos_;
      if (pos_ >= src_.size() || !IsDigit(src_[pos_])) return Error("invalid number, expected digit in exponent");
      while (pos_ < src_.size() && IsDigit(src_[pos_])) ++pos_;
    }
    if (pos_ < src_.size() && (IsNameStart(src_[pos_]) || src_[pos_] == '.')) {
      return Error("invalid number, unexpected character after number");
    }
    t.kind = is_float ? Tok::kFloat : Tok::kInt;
    t.text = std::string(src_.substr(start, pos_ - start));
    return t;
  }

  std::optional<uint32_t> Hex4(size_t at) const {
    if (at + 4 > src_.size()) return std::nullopt;
    uint32_t v = 0;
    for (size_t i = at; i < at + 4; ++i) {
      char h = src_[i];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= static_cast<uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') v |= static_cast<uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') v |= static_cast<uint32_t>(h - 'A' + 10);
      else return std::nullopt;
    }
    return v;
  }

  StatusOr<Token> String(Token t) {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (pos_ >= src_.size()) return Error("unterminated string");
      char c = src_[pos_];
      if (c == '"') {
        ++pos_;
        break;
      }
      if (c == '\n' || c == '\r') return Error("unterminated string");
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return Error("invalid character in string");
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= src_.size()) return Error("unterminated string");
      char e = src_[pos_ + 1];
      pos_ += 2;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          auto cp = Hex4(pos_);
          if (!cp) return Error("invalid unicode escape in string");
          pos_ += 4;
          if (*cp >= 0xD800 && *cp <= 0xDBFF) {
            // A surrogate pair is two escapes that make one code point.
            std::optional<uint32_t> low;
            if (src_.substr(pos_, 2) == "\\u") low = Hex4(pos_ + 2);
            if (!low || *low < 0xDC00 || *low > 0xDFFF) return Error("invalid unicode surrogate in string");
            pos_ += 6;
            *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
          } else if (*cp >= 0xDC00 && *cp <= 0xDFFF) {
            return Error("invalid unicode surrogate in string");
          }
          AppendUtf8(out, *cp);
          break;
        }
        default:
          return Error(std::string("invalid escape sequence '\\") + e + "' in string");
      }
    }
    t.kind = Tok::kString;
    t.text = std::move(out);
    return t;
  }

  // Block strings keep their raw contents; common indentation is removed as
  // the spec's BlockStringValue() says.
  StatusOr<Token> BlockString(Token t) {
    pos_ += 3;
    std::string raw;
    while (true) {
      if (pos_ >= src_.size()) return Error("unterminated block string");
      if (src_.substr(pos_, 3) == "\"\"\"") {
        pos_ += 3;
        break;
      }
      if (src_.substr(pos_, 4) == "\\\"\"\"") {
        raw += "\"\"\"";
        pos_ += 4;
        continue;
      }
      char c = src_[pos_++];
      if (c == '\n' || c == '\r') {
        if (c == '\r' && pos_ < src_.size() && src_[pos_] == '\n') ++pos_;
        NewLine();
        raw += '\n';
        continue;
      }
      raw += c;
    }
    std::vector<std::string> lines;
    size_t start = 0;
    while (true) {
      size_t nl = raw.find('\n', start);
      lines.push_back(raw.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    std::optional<size_t> common;
    for (size_t i = 1; i < lines.size(); ++i) {
      size_t indent = lines[i].find_first_not_of(" \t");
      if (indent == std::string::npos) continue;
      if (!common || indent < *common) common = indent;
    }
    if (common) {
      for (size_t i = 1; i < lines.size(); ++i) lines[i] = lines[i].size() >= *common ? lines[i].substr(*common) : "";
    }
    auto blank = [](const std::string& l) { return l.find_first_not_of(" \t") == std::string::npos; };
    while (!lines.empty() && blank(lines.front())) lines.erase(lines.begin());
    while (!lines.empty() && blank(lines.back())) lines.pop_back();
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i) out += '\n';
      out += lines[i];
    }
    t.kind = Tok::kBlockString;
    t.text = std::move(out);
    return t;
  }

  std::string_view src_;
  size_t pos_ = 0;
  size_t line_start_ = 0;
  int line_ = 1;
};

class Parser {
 public:
  Parser(std::string_view src, int max_nesting) : lexer_(src), max_nesting_(max_nesting) {}

  StatusOr<Document> Run() {
    KILN_RETURN_IF_ERROR(Advance());
    Document doc;
    if (tok_.kind == Tok::kEnd) return Fail("Unexpected <EOF>");
    while (tok_.kind != Tok::kEnd) {
      if (IsPunct("{")) {
        Operation op;
        KILN_ASSIGN_OR_RETURN(op.selections, SelectionSet(0));
        doc.operations.push_back(std::move(op));
      } else if (tok_.kind == Tok::kName && (tok_.text == "query" || tok_.text == "mutation" ||
                                              tok_.text == "subscription")) {
        KILN_ASSIGN_OR_RETURN(auto op, OperationDefinition());
        doc.operations.push_back(std::move(op));
      } else if (tok_.kind == Tok::kName && tok_.text == "fragment") {
        KILN_ASSIGN_OR_RETURN(auto frag, FragmentDefinition());
        doc.fragments.push_back(std::move(frag));
      } else if (tok_.kind == Tok::kName) {
        // Type-system definitions (schema, type, extend, ...) are not
        // executable; a server never accepts them in a request.
        return Fail("Unexpected Name \"" + tok_.text + "\"");
      } else {
        return Fail("Unexpected " + Describe(tok_));
      }
    }
    return doc;
  }

 private:
  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case Tok::kEnd: return "<EOF>";
      case Tok::kPunct: return "\"" + t.text + "\"";
      case Tok::kName: return "Name \"" + t.text + "\"";
      case Tok::kInt: return "Int \"" + t.text + "\"";
      case Tok::kFloat: return "Float \"" + t.text + "\"";
      default: return "String";
    }
  }

  Status Fail(const std::string& what) const {
    return InvalidArgument("Syntax Error: " + what + " at line " + std::to_string(tok_.line) + ", column " +
                           std::to_string(tok_.column) + ".");
  }

  Status Advance() {
    KILN_ASSIGN_OR_RETURN(tok_, lexer_.Next());
    return Status::Ok();
  }

  bool IsPunct(const char* p) const { return tok_.kind == Tok::kPunct && tok_.text == p; }

  Status Expect(const char* p) {
    if (!IsPunct(p)) return Fail(std::string("Expected \"") + p + "\", found " + Describe(tok_));
    return Advance();
  }

  StatusOr<std::string> Name() {
    if (tok_.kind != Tok::kName) return Fail("Expected Name, found " + Describe(tok_));
    std::string n = tok_.text;
    KILN_RETURN_IF_ERROR(Advance());
    return n;
  }

  Status Deeper(int depth) const {
    if (depth >= max_nesting_) return Fail("Document nests deeper than " + std::to_string(max_nesting_) + " levels");
    return Status::Ok();
  }

  StatusOr<Operation> OperationDefinition() {
    Operation op;
    op.kind = tok_.text;
    KILN_RETURN_IF_ERROR(Advance());
    if (tok_.kind == Tok::kName) {
      KILN_ASSIGN_OR_RETURN(op.name, Name());
    }
    if (IsPunct("(")) {
      KILN_RETURN_IF_ERROR(Advance());
      if (IsPunct(")")) return Fail("Expected \"$\", found \")\"");
      while (!IsPunct(")")) {
        VariableDefinition def;
        KILN_RETURN_IF_ERROR(Expect("$"));
        KILN_ASSIGN_OR_RETURN(def.name, Name());
        KILN_RETURN_IF_ERROR(Expect(":"));
        KILN_ASSIGN_OR_RETURN(def.type, Type(0));
        if (IsPunct("=")) {
          KILN_RETURN_IF_ERROR(Advance());
          def.has_default = true;
          KILN_ASSIGN_OR_RETURN(def.default_value, ParseValue(true, 0));
        }
        // Directives on variable definitions are legal syntax.
        std::vector<Directive> ignored;
        KILN_ASSIGN_OR_RETURN(ignored, Directives(true));
        op.variables.push_back(std::move(def));
      }
      KILN_RETURN_IF_ERROR(Advance());
    }
    KILN_ASSIGN_OR_RETURN(op.directives, Directives(false));
    KILN_ASSIGN_OR_RETURN(op.selections, SelectionSet(0));
    return op;
  }

  StatusOr<Fragment> FragmentDefinition() {
    KILN_RETURN_IF_ERROR(Advance());  // "fragment"
    Fragment f;
    if (tok_.kind == Tok::kName && tok_.text == "on") return Fail("Unexpected Name \"on\"");
    KILN_ASSIGN_OR_RETURN(f.name, Name());
    if (tok_.kind != Tok::kName || tok_.text != "on") return Fail("Expected \"on\", found " + Describe(tok_));
    KILN_RETURN_IF_ERROR(Advance());
    KILN_ASSIGN_OR_RETURN(f.type_condition, Name());
    KILN_ASSIGN_OR_RETURN(f.directives, Directives(false));
    KILN_ASSIGN_OR_RETURN(f.selections, SelectionSet(0));
    return f;
  }

  StatusOr<TypeRef> Type(int depth) {
    KILN_RETURN_IF_ERROR(Deeper(depth));
    TypeRef t;
    if (IsPunct("[")) {
      KILN_RETURN_IF_ERROR(Advance());
      KILN_ASSIGN_OR_RETURN(auto item, Type(depth + 1));
      t.item = std::make_shared<TypeRef>(std::move(item));
      KILN_RETURN_IF_ERROR(Expect("]"));
    } else {
      KILN_ASSIGN_OR_RETURN(t.name, Name());
    }
    if (IsPunct("!")) {
      t.non_null = true;
      KILN_RETURN_IF_ERROR(Advance());
    }
    return t;
  }

  StatusOr<std::vector<Directive>> Directives(bool is_const) {
    std::vector<Directive> out;
    while (IsPunct("@")) {
      KILN_RETURN_IF_ERROR(Advance());
      Directive d;
      KILN_ASSIGN_OR_RETURN(d.name, Name());
      if (IsPunct("(")) {
        KILN_ASSIGN_OR_RETURN(d.arguments, ArgumentList(is_const));
      }
      out.push_back(std::move(d));
    }
    return out;
  }

  StatusOr<Arguments> ArgumentList(bool is_const) {
    KILN_RETURN_IF_ERROR(Advance());  // "("
    if (IsPunct(")")) return Fail("Expected Name, found \")\"");
    Arguments args;
    while (!IsPunct(")")) {
      KILN_ASSIGN_OR_RETURN(auto name, Name());
      KILN_RETURN_IF_ERROR(Expect(":"));
      KILN_ASSIGN_OR_RETURN(auto value, ParseValue(is_const, 0));
      args.emplace_back(std::move(name), std::move(value));
    }
    KILN_RETURN_IF_ERROR(Advance());
    return args;
  }

  StatusOr<std::vector<Selection>> SelectionSet(int depth) {
    KILN_RETURN_IF_ERROR(Deeper(depth));
    KILN_RETURN_IF_ERROR(Expect("{"));
    if (IsPunct("}")) return Fail("Expected Name, found \"}\"");
    std::vector<Selection> out;
    while (!IsPunct("}")) {
      KILN_ASSIGN_OR_RETURN(auto sel, ParseSelection(depth));
      out.push_back(std::move(sel));
    }
    KILN_RETURN_IF_ERROR(Advance());
    return out;
  }

  StatusOr<Selection> ParseSelection(int depth) {
    Selection s;
    if (IsPunct("...")) {
      KILN_RETURN_IF_ERROR(Advance());
      if (tok_.kind == Tok::kName && tok_.text != "on") {
        s.kind = Selection::Kind::kFragmentSpread;
        KILN_ASSIGN_OR_RETURN(s.name, Name());
        KILN_ASSIGN_OR_RETURN(s.directives, Directives(false));
        return s;
      }
      s.kind = Selection::Kind::kInlineFragment;
      if (tok_.kind == Tok::kName) {  // "on"
        KILN_RETURN_IF_ERROR(Advance());
        KILN_ASSIGN_OR_RETURN(s.type_condition, Name());
      }
      KILN_ASSIGN_OR_RETURN(s.directives, Directives(false));
      KILN_ASSIGN_OR_RETURN(s.selections, SelectionSet(depth + 1));
      return s;
    }
    KILN_ASSIGN_OR_RETURN(auto first, Name());
    if (IsPunct(":")) {
      KILN_RETURN_IF_ERROR(Advance());
      s.alias = std::move(first);
      KILN_ASSIGN_OR_RETURN(s.name, Name());
    } else {
      s.name = std::move(first);
    }
    if (IsPunct("(")) {
      KILN_ASSIGN_OR_RETURN(s.arguments, ArgumentList(false));
    }
    KILN_ASSIGN_OR_RETURN(s.directives, Directives(false));
    if (IsPunct("{")) {
      KILN_ASSIGN_OR_RETURN(s.selections, SelectionSet(depth + 1));
    }
    return s;
  }

  StatusOr<Value> ParseValue(bool is_const, int depth) {
    KILN_RETURN_IF_ERROR(Deeper(depth));
    Value v;
    switch (tok_.kind) {
      case Tok::kInt: v.kind = Value::Kind::kInt; v.text = tok_.text; break;
      case Tok::kFloat: v.kind = Value::Kind::kFloat; v.text = tok_.text; break;
      case Tok::kString:
      case Tok::kBlockString: v.kind = Value::Kind::kString; v.text = tok_.text; break;
      case Tok::kName:
        if (tok_.text == "true" || tok_.text == "false") {
          v.kind = Value::Kind::kBoolean;
        } else if (tok_.text == "null") {
          v.kind = Value::Kind::kNull;
        } else {
          v.kind = Value::Kind::kEnum;
        }
        v.text = tok_.text;
        break;
      case Tok::kPunct:
        if (tok_.text == "$" && !is_const) {
          KILN_RETURN_IF_ERROR(Advance());
          v.kind = Value::Kind::kVariable;
          KILN_ASSIGN_OR_RETURN(v.text, Name());
          return v;
        }
        if (tok_.text == "[") {
          KILN_RETURN_IF_ERROR(Advance());
          v.kind = Value::Kind::kList;
          while (!IsPunct("]")) {
            if (tok_.kind == Tok::kEnd) return Fail("Expected \"]\", found <EOF>");
            KILN_ASSIGN_OR_RETURN(auto item, ParseValue(is_const, depth + 1));
            v.items.push_back(std::move(item));
          }
          KILN_RETURN_IF_ERROR(Advance());
          return v;
        }
        if (tok_.text == "{") {
          KILN_RETURN_IF_ERROR(Advance());
          v.kind = Value::Kind::kObject;
          while (!IsPunct("}")) {
            KILN_ASSIGN_OR_RETURN(auto name, Name());
            KILN_RETURN_IF_ERROR(Expect(":"));
            KILN_ASSIGN_OR_RETURN(auto field, ParseValue(is_const, depth + 1));
            v.fields.emplace_back(std::move(name), std::move(field));
          }
          KILN_RETURN_IF_ERROR(Advance());
          return v;
        }
        return Fail("Unexpected " + Describe(tok_));
      case Tok::kEnd:
        return Fail("Unexpected <EOF>");
    }
    KILN_RETURN_IF_ERROR(Advance());
    return v;
  }

  Lexer lexer_;
  int max_nesting_;
  Token tok_;
};

}  // namespace

std::string TypeRef::ToString() const {
  std::string s = item ? "[" + item->ToString() + "]" : name;
  if (non_null) s += "!";
  return s;
}

StatusOr<Document> Parse(std::string_view source, int max_nesting) {
  Parser p(source, max_nesting);
  return p.Run();
}

}  // namespace kiln::api::mlflow::graphql
