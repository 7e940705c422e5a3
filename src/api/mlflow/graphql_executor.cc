#include "api/mlflow/graphql_executor.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "api/mlflow/graphql_parser.h"

namespace kiln::api::mlflow::graphql {

using nlohmann::json;
using nlohmann::ordered_json;

std::string CamelCase(std::string_view snake) {
  std::string out;
  size_t start = 0;
  bool first = true;
  while (start <= snake.size()) {
    size_t us = snake.find('_', start);
    if (us == std::string_view::npos) us = snake.size();
    std::string_view part = snake.substr(start, us - start);
    if (first) {
      out += part;
      first = false;
    } else if (part.empty()) {
      out += '_';
    } else {
      // Python's str.capitalize(): upper first, lower the rest.
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(part[0])));
      for (char c : part.substr(1)) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    start = us + 1;
  }
  return out;
}

void Schema::AddObject(ObjectType type) {
  auto& index = field_index_[type.name];
  for (size_t i = 0; i < type.fields.size(); ++i) {
    auto& f = type.fields[i];
    if (f.name.empty()) f.name = CamelCase(f.source);
    for (auto& a : f.arguments) {
      if (a.name.empty()) a.name = CamelCase(a.source);
    }
    index[f.name] = i;
  }
  std::string name = type.name;
  objects_[name] = std::move(type);
}

void Schema::AddEnum(EnumType type) {
  std::string name = type.name;
  enums_[name] = std::move(type);
}

void Schema::AddInput(InputType type) {
  for (auto& f : type.fields) {
    if (f.name.empty()) f.name = CamelCase(f.source);
  }
  std::string name = type.name;
  inputs_[name] = std::move(type);
}

void Schema::SetRoots(std::string query, std::string mutation) {
  query_root_ = std::move(query);
  mutation_root_ = std::move(mutation);
}

const ObjectType* Schema::Object(const std::string& name) const {
  auto it = objects_.find(name);
  return it == objects_.end() ? nullptr : &it->second;
}
const EnumType* Schema::Enum(const std::string& name) const {
  auto it = enums_.find(name);
  return it == enums_.end() ? nullptr : &it->second;
}
const InputType* Schema::Input(const std::string& name) const {
  auto it = inputs_.find(name);
  return it == inputs_.end() ? nullptr : &it->second;
}
const FieldDef* Schema::Field(const ObjectType& type, const std::string& name) const {
  auto t = field_index_.find(type.name);
  if (t == field_index_.end()) return nullptr;
  auto f = t->second.find(name);
  return f == t->second.end() ? nullptr : &type.fields[f->second];
}

namespace {

bool IsScalar(const std::string& n) {
  return n == "String" || n == "Int" || n == "Float" || n == "Boolean" || n == "LongString";
}

TypeRef FromUse(const TypeUse& use) {
  TypeRef named;
  named.name = use.name;
  if (!use.list) return named;
  TypeRef list;
  list.item = std::make_shared<TypeRef>(named);
  return list;
}

const TypeRef& Named(const TypeRef& t) { return t.item ? Named(*t.item) : t; }

std::string Short(const json& v) {
  std::string s = v.dump();
  if (s.size() > 200) s = s.substr(0, 200) + "...";
  return s;
}

json Absent() { return json(json::value_t::discarded); }

class Executor {
 public:
  Executor(const Schema& schema, const Limits& limits) : schema_(schema), limits_(limits) {}

  ordered_json Run(const Request& req) {
    auto parsed = Parse(req.query);
    if (!parsed.ok()) return RequestError(parsed.status().message());
    doc_ = std::move(parsed).value();
    if (Status s = PickOperation(req.operation_name); !s.ok()) return RequestError(s.message());
    for (const auto& f : doc_.fragments) {
      if (!fragments_.emplace(f.name, &f).second) {
        return RequestError("There can be only one fragment named '" + f.name + "'.");
      }
    }
    const ObjectType* root = nullptr;
    if (op_->kind == "query") {
      root = schema_.Object(schema_.query_root());
    } else if (op_->kind == "mutation") {
      root = schema_.Object(schema_.mutation_root());
    } else {
      return RequestError("Subscriptions are not supported by this server.");
    }
    if (!root) return RequestError("Schema is not configured for " + op_->kind + "s.");
    for (const auto& d : op_->directives) {
      if (!schema_.Accepts(d.name)) return RequestError("Unknown directive '@" + d.name + "'.");
    }
    for (const auto& v : op_->variables) declared_[v.name] = &v;
    if (declared_.size() != op_->variables.size()) return RequestError("Variables must have unique names.");

    Validate(*root, op_->selections, 1, {});
    for (const auto& f : doc_.fragments) {
      if (!used_fragments_.count(f.name)) errors_.push_back({{"message", "Fragment '" + f.name + "' is never used."}});
    }
    for (const auto& v : op_->variables) {
      if (!used_variables_.count(v.name)) {
        std::string where = op_->name.empty() ? "." : " in operation '" + op_->name + "'.";
        errors_.push_back({{"message", "Variable '$" + v.name + "' is never used" + where}});
      }
    }
    if (errors_.empty()) CheckLimits();
    if (!errors_.empty()) return Response(nullptr);
    CoerceVariables(req.variables);
    if (!errors_.empty()) return Response(nullptr);

    ordered_json path = ordered_json::array();
    ordered_json data = ExecuteSelections(*root, json::object(), op_->selections, path);
    return Response(std::move(data));
  }

 private:
  struct Collected {
    std::string key;
    std::vector<const Selection*> fields;
  };

  ordered_json RequestError(const std::string& message) {
    errors_.push_back({{"message", message}});
    return Response(nullptr);
  }

  ordered_json Response(ordered_json data) {
    ordered_json out;
    out["data"] = std::move(data);
    out["errors"] = errors_.empty() ? ordered_json(nullptr) : errors_;
    return out;
  }

  Status PickOperation(const std::string& name) {
    if (doc_.operations.empty()) return InvalidArgument("Must provide an operation.");
    if (name.empty()) {
      if (doc_.operations.size() > 1) return InvalidArgument("Must provide operation name if query contains multiple operations.");
      op_ = &doc_.operations[0];
      return Status::Ok();
    }
    for (const auto& op : doc_.operations) {
      if (op.name == name) {
        op_ = &op;
        return Status::Ok();
      }
    }
    return InvalidArgument("Unknown operation named '" + name + "'.");
  }

  // --- validation -----------------------------------------------------------

  void Error(const std::string& message) { errors_.push_back({{"message", message}}); }

  void ValidateDirectives(const std::vector<Directive>& directives) {
    for (const auto& d : directives) {
      if (d.name == "include" || d.name == "skip") {
        if (d.arguments.size() != 1 || d.arguments[0].first != "if") {
          Error("Directive '@" + d.name + "' takes exactly one argument 'if' of type 'Boolean!'.");
          continue;
        }
        TypeRef boolean;
        boolean.name = "Boolean";
        boolean.non_null = true;
        CheckValueShape(d.arguments[0].second, boolean, "@" + d.name + "(if:)");
      } else if (!schema_.Accepts(d.name)) {
        Error("Unknown directive '@" + d.name + "'.");
      }
    }
  }

  // Checks literal types and, for variables, that they are declared with a
  // type that fits the position (variables are coerced later, against their
  // own declarations).
  void CheckValueShape(const Value& v, const TypeRef& expected, const std::string& where) {
    std::string err;
    (void)CoerceLiteral(v, expected, &err, /*check_only=*/true);
    if (!err.empty()) Error("Invalid value for " + where + ": " + err);
  }

  void CheckVariable(const Value& v, const TypeRef& expected) {
    used_variables_.insert(v.text);
    auto it = declared_.find(v.text);
    if (it == declared_.end()) {
      std::string in = op_->name.empty() ? "." : " by operation '" + op_->name + "'.";
      Error("Variable '$" + v.text + "' is not defined" + in);
      return;
    }
    const TypeRef& declared = it->second->type;
    bool ok = Named(declared).name == Named(expected).name && (declared.item != nullptr) == (expected.item != nullptr);
    if (expected.non_null && !declared.non_null && !it->second->has_default) ok = false;
    if (!ok) {
      Error("Variable '$" + v.text + "' of type '" + declared.ToString() + "' used in position expecting type '" +
            expected.ToString() + "'.");
    }
  }

  void Validate(const ObjectType& type, const std::vector<Selection>& selections, int depth,
                std::set<std::string> spreading) {
    for (const auto& s : selections) {
      ValidateDirectives(s.directives);
      if (s.kind == Selection::Kind::kFragmentSpread) {
        used_fragments_.insert(s.name);
        auto it = fragments_.find(s.name);
        if (it == fragments_.end()) {
          Error("Unknown fragment '" + s.name + "'.");
          continue;
        }
        if (spreading.count(s.name)) {
          Error("Cannot spread fragment '" + s.name + "' within itself.");
          continue;
        }
        if (it->second->type_condition != type.name) {
          Error("Fragment '" + s.name + "' cannot be spread here as objects of type '" + type.name +
                "' can never be of type '" + it->second->type_condition + "'.");
          continue;
        }
        ValidateDirectives(it->second->directives);
        auto inner = spreading;
        inner.insert(s.name);
        Validate(type, it->second->selections, depth, std::move(inner));
        continue;
      }
      if (s.kind == Selection::Kind::kInlineFragment) {
        if (!s.type_condition.empty() && s.type_condition != type.name) {
          Error("Fragment cannot be spread here as objects of type '" + type.name + "' can never be of type '" +
                s.type_condition + "'.");
          continue;
        }
        Validate(type, s.selections, depth, spreading);
        continue;
      }
      if (s.name == "__typename") {
        if (!s.arguments.empty()) Error("Unknown argument '" + s.arguments[0].first + "' on field '__typename'.");
        if (!s.selections.empty()) Error("Field '__typename' must not have a selection since type 'String!' has no subfields.");
        continue;
      }
      if (s.name == "__schema" || s.name == "__type") {
        Error("Introspection ('" + s.name + "') is not supported by kiln's GraphQL endpoint.");
        continue;
      }
      const FieldDef* f = schema_.Field(type, s.name);
      if (!f) {
        Error("Cannot query field '" + s.name + "' on type '" + type.name + "'.");
        continue;
      }
      if (!f->unsupported.empty()) {
        Error(f->unsupported);
        continue;
      }
      std::set<std::string> seen_args;
      for (const auto& [arg_name, arg_value] : s.arguments) {
        if (!seen_args.insert(arg_name).second) {
          Error("There can be only one argument named '" + arg_name + "'.");
          continue;
        }
        const InputField* def = nullptr;
        for (const auto& a : f->arguments) {
          if (a.name == arg_name) def = &a;
        }
        if (!def) {
          Error("Unknown argument '" + arg_name + "' on field '" + type.name + "." + s.name + "'.");
          continue;
        }
        CheckValueShape(arg_value, FromUse(def->type), "argument '" + arg_name + "'");
      }
      const ObjectType* child = schema_.Object(f->type.name);
      if (child) {
        if (s.selections.empty()) {
          Error("Field '" + s.name + "' of type '" + TypeName(f->type) + "' must have a selection of subfields.");
          continue;
        }
        Validate(*child, s.selections, depth + 1, spreading);
      } else if (!s.selections.empty()) {
        Error("Field '" + s.name + "' must not have a selection since type '" + TypeName(f->type) +
              "' has no subfields.");
      }
    }
  }

  static std::string TypeName(const TypeUse& t) { return t.list ? "[" + t.name + "!]" : t.name; }

  // MLflow's check_query_safety, counted over the operation with fragments
  // expanded: depth of selection sets, total fields, root fields, aliases per
  // selection set.
  void CheckLimits() {
    int total = 0;
    int root_fields = 0;
    int max_aliases = 0;
    bool stop = false;
    std::function<void(const std::vector<Selection>&, int)> walk = [&](const std::vector<Selection>& sels, int depth) {
      if (stop) return;
      if (depth > limits_.max_depth) {
        Error("Query exceeds maximum depth of " + std::to_string(limits_.max_depth));
        stop = true;
        return;
      }
      std::vector<const Selection*> fields;
      int aliases = 0;
      std::function<void(const std::vector<Selection>&, std::set<std::string>)> flatten =
          [&](const std::vector<Selection>& level, std::set<std::string> visited) {
            for (const auto& s : level) {
              if (s.kind == Selection::Kind::kField) {
                fields.push_back(&s);
                if (!s.alias.empty()) ++aliases;
              } else if (s.kind == Selection::Kind::kInlineFragment) {
                flatten(s.selections, visited);
              } else if (!visited.count(s.name)) {
                auto it = fragments_.find(s.name);
                if (it == fragments_.end()) continue;
                visited.insert(s.name);
                flatten(it->second->selections, visited);
              }
            }
          };
      flatten(sels, {});
      max_aliases = std::max(max_aliases, aliases);
      for (const Selection* f : fields) {
        if (depth == 1) ++root_fields;
        if (++total > limits_.max_selections) {
          Error("Query exceeds maximum total selections of " + std::to_string(limits_.max_selections));
          stop = true;
          return;
        }
        if (!f->selections.empty()) walk(f->selections, depth + 1);
        if (stop) return;
      }
    };
    walk(op_->selections, 1);
    if (stop) return;
    if (root_fields > limits_.max_root_fields) {
      Error("GraphQL queries should have at most " + std::to_string(limits_.max_root_fields) + " root fields, got " +
            std::to_string(root_fields) + " root fields.");
    } else if (max_aliases > limits_.max_aliases) {
      Error("GraphQL queries should have at most " + std::to_string(limits_.max_aliases) + " aliases, got " +
            std::to_string(max_aliases) + " aliases.");
    }
  }

  // --- coercion ---------------------------------------------------------------

  // Input values as resolvers see them: input objects keyed by the fields'
  // snake_case sources; Absent() for a value that was not given.
  json CoerceNamedJson(const json& v, const std::string& type, std::string* err) {
    if (type == "String") {
      if (v.is_string()) return v;
      *err = "String cannot represent a non string value: " + Short(v);
    } else if (type == "Int") {
      if (v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>())) {
        double d = v.get<double>();
        if (d >= std::numeric_limits<int32_t>::min() && d <= std::numeric_limits<int32_t>::max()) {
          return static_cast<int64_t>(d);
        }
        *err = "Int cannot represent non 32-bit signed integer value: " + Short(v);
      } else {
        *err = "Int cannot represent non-integer value: " + Short(v);
      }
    } else if (type == "Float") {
      if (v.is_number()) return v.get<double>();
      *err = "Float cannot represent non numeric value: " + Short(v);
    } else if (type == "Boolean") {
      if (v.is_boolean()) return v;
      *err = "Boolean cannot represent a non boolean value: " + Short(v);
    } else if (type == "LongString") {
      // MLflow's LongString.parse_value is Python's int(value).
      if (v.is_number_integer()) return v.get<int64_t>();
      if (v.is_string()) {
        const std::string& s = v.get_ref<const std::string&>();
        size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
        bool digits = i < s.size();
        for (size_t k = i; k < s.size(); ++k) digits = digits && std::isdigit(static_cast<unsigned char>(s[k]));
        if (digits && s.size() <= 19) return std::stoll(s);
      }
      *err = "LongString cannot represent value: " + Short(v);
    } else if (const EnumType* e = schema_.Enum(type)) {
      if (v.is_string()) {
        for (const auto& name : e->values) {
          if (name == v.get_ref<const std::string&>()) return v;
        }
      }
      *err = "Value " + Short(v) + " does not exist in '" + type + "' enum.";
    } else if (const InputType* in = schema_.Input(type)) {
      if (!v.is_object()) {
        *err = "Expected type '" + type + "' to be an object.";
        return Absent();
      }
      json out = json::object();
      for (const auto& [key, value] : v.items()) {
        const InputField* def = nullptr;
        for (const auto& f : in->fields) {
          if (f.name == key) def = &f;
        }
        if (!def) {
          *err = "Field '" + key + "' is not defined by type '" + type + "'.";
          return Absent();
        }
        json coerced = CoerceJson(value, FromUse(def->type), err);
        if (!err->empty()) {
          *err = "At '" + key + "': " + *err;
          return Absent();
        }
        out[def->source] = std::move(coerced);
      }
      return out;
    } else {
      *err = "Unknown type '" + type + "'.";
    }
    return Absent();
  }

  json CoerceJson(const json& v, const TypeRef& t, std::string* err) {
    if (v.is_null()) {
      if (t.non_null) *err = "Expected non-nullable type '" + t.ToString() + "' not to be null.";
      return nullptr;
    }
    if (t.item) {
      json out = json::array();
      if (!v.is_array()) {
        out.push_back(CoerceJson(v, *t.item, err));
        return out;
      }
      for (const auto& item : v) {
        out.push_back(CoerceJson(item, *t.item, err));
        if (!err->empty()) return Absent();
      }
      return out;
    }
    return CoerceNamedJson(v, t.name, err);
  }

  // With check_only, variables are not looked up (validation runs before
  // variables are coerced) and the result is meaningless.
  json CoerceLiteral(const Value& v, const TypeRef& t, std::string* err, bool check_only = false) {
    if (v.kind == Value::Kind::kVariable) {
      if (check_only) {
        CheckVariable(v, t);
        return Absent();
      }
      auto it = variables_.find(v.text);
      return it == variables_.end() ? Absent() : it->second;
    }
    if (v.kind == Value::Kind::kNull) {
      if (t.non_null) *err = "Expected value of type '" + t.ToString() + "', found null.";
      return nullptr;
    }
    if (t.item) {
      json out = json::array();
      if (v.kind != Value::Kind::kList) {
        out.push_back(CoerceLiteral(v, *t.item, err, check_only));
        return out;
      }
      for (const auto& item : v.items) {
        json c = CoerceLiteral(item, *t.item, err, check_only);
        if (!err->empty()) return Absent();
        if (!c.is_discarded()) out.push_back(std::move(c));
      }
      return out;
    }
    const std::string& type = t.name;
    auto mismatch = [&](const char* what) {
      *err = std::string(what) + " cannot represent value: " + LiteralText(v);
      return Absent();
    };
    if (type == "String") {
      if (v.kind != Value::Kind::kString) return mismatch("String");
      return v.text;
    }
    if (type == "Int" || type == "LongString") {
      if (v.kind != Value::Kind::kInt) return mismatch(type.c_str());
      errno = 0;
      long long n = std::strtoll(v.text.c_str(), nullptr, 10);
      if (errno == ERANGE || (type == "Int" && (n < std::numeric_limits<int32_t>::min() ||
                                                n > std::numeric_limits<int32_t>::max()))) {
        return mismatch(type.c_str());
      }
      return static_cast<int64_t>(n);
    }
    if (type == "Float") {
      if (v.kind != Value::Kind::kInt && v.kind != Value::Kind::kFloat) return mismatch("Float");
      return std::strtod(v.text.c_str(), nullptr);
    }
    if (type == "Boolean") {
      if (v.kind != Value::Kind::kBoolean) return mismatch("Boolean");
      return v.text == "true";
    }
    if (const EnumType* e = schema_.Enum(type)) {
      if (v.kind == Value::Kind::kEnum) {
        for (const auto& name : e->values) {
          if (name == v.text) return v.text;
        }
      }
      *err = "Value '" + LiteralText(v) + "' does not exist in '" + type + "' enum.";
      return Absent();
    }
    if (const InputType* in = schema_.Input(type)) {
      if (v.kind != Value::Kind::kObject) {
        *err = "Expected value of type '" + type + "', found " + LiteralText(v) + ".";
        return Absent();
      }
      json out = json::object();
      for (const auto& [key, value] : v.fields) {
        const InputField* def = nullptr;
        for (const auto& f : in->fields) {
          if (f.name == key) def = &f;
        }
        if (!def) {
          *err = "Field '" + key + "' is not defined by type '" + type + "'.";
          return Absent();
        }
        json c = CoerceLiteral(value, FromUse(def->type), err, check_only);
        if (!err->empty()) return Absent();
        if (!c.is_discarded()) out[def->source] = std::move(c);
      }
      return out;
    }
    *err = "Unknown type '" + type + "'.";
    return Absent();
  }

  static std::string LiteralText(const Value& v) {
    switch (v.kind) {
      case Value::Kind::kString: return json(v.text).dump();
      case Value::Kind::kList: return "[...]";
      case Value::Kind::kObject: return "{...}";
      case Value::Kind::kVariable: return "$" + v.text;
      default: return v.text.empty() ? "null" : v.text;
    }
  }

  bool IsInputType(const std::string& name) const {
    return IsScalar(name) || schema_.Enum(name) || schema_.Input(name);
  }

  void CoerceVariables(const json& given) {
    if (!given.is_null() && !given.is_object()) {
      Error("Variables must be provided as an object.");
      return;
    }
    for (const auto& def : op_->variables) {
      const std::string& base = Named(def.type).name;
      if (!IsInputType(base)) {
        Error("Variable '$" + def.name + "' cannot be non-input type '" + def.type.ToString() + "'.");
        continue;
      }
      std::string err;
      bool provided = given.is_object() && given.contains(def.name);
      if (!provided) {
        if (def.has_default) {
          json c = CoerceLiteral(def.default_value, def.type, &err);
          if (!err.empty()) {
            Error("Variable '$" + def.name + "' has an invalid default value: " + err);
          } else {
            variables_[def.name] = std::move(c);
          }
        } else if (def.type.non_null) {
          Error("Variable '$" + def.name + "' of required type '" + def.type.ToString() + "' was not provided.");
        }
        continue;
      }
      const json& value = given[def.name];
      if (value.is_null() && def.type.non_null) {
        Error("Variable '$" + def.name + "' of non-null type '" + def.type.ToString() + "' must not be null.");
        continue;
      }
      json c = CoerceJson(value, def.type, &err);
      if (!err.empty()) {
        Error("Variable '$" + def.name + "' got invalid value " + Short(value) + "; " + err);
        continue;
      }
      variables_[def.name] = std::move(c);
    }
  }

  // --- execution --------------------------------------------------------------

  bool Included(const std::vector<Directive>& directives) {
    for (const auto& d : directives) {
      if (d.name != "include" && d.name != "skip") continue;
      TypeRef boolean;
      boolean.name = "Boolean";
      std::string err;
      json v = CoerceLiteral(d.arguments[0].second, boolean, &err);
      bool flag = v.is_boolean() && v.get<bool>();
      if (d.name == "include" && !flag) return false;
      if (d.name == "skip" && flag) return false;
    }
    return true;
  }

  void Collect(const ObjectType& type, const std::vector<Selection>& selections, std::vector<Collected>& out,
               std::set<std::string>& visited) {
    for (const auto& s : selections) {
      if (!Included(s.directives)) continue;
      if (s.kind == Selection::Kind::kField) {
        const std::string& key = s.ResponseKey();
        auto it = std::find_if(out.begin(), out.end(), [&](const Collected& c) { return c.key == key; });
        if (it == out.end()) {
          out.push_back({key, {&s}});
        } else {
          it->fields.push_back(&s);
        }
      } else if (s.kind == Selection::Kind::kInlineFragment) {
        Collect(type, s.selections, out, visited);
      } else if (visited.insert(s.name).second) {
        const Fragment* f = fragments_.at(s.name);
        if (Included(f->directives)) Collect(type, f->selections, out, visited);
      }
    }
  }

  void FieldError(const std::string& message, const ordered_json& path) {
    errors_.push_back({{"message", message}, {"path", path}});
  }

  ordered_json ExecuteSelections(const ObjectType& type, const json& source, const std::vector<Selection>& selections,
                                 ordered_json& path) {
    std::vector<Collected> collected;
    std::set<std::string> visited;
    Collect(type, selections, collected, visited);
    ordered_json out = ordered_json::object();
    for (const auto& c : collected) {
      const Selection& first = *c.fields.front();
      path.push_back(c.key);
      if (first.name == "__typename") {
        out[c.key] = type.name;
        path.erase(path.size() - 1);
        continue;
      }
      const FieldDef& f = *schema_.Field(type, first.name);
      std::vector<Selection> sub;
      for (const Selection* s : c.fields) sub.insert(sub.end(), s->selections.begin(), s->selections.end());
      out[c.key] = ResolveField(f, first, source, sub, path);
      path.erase(path.size() - 1);
    }
    return out;
  }

  ordered_json ResolveField(const FieldDef& f, const Selection& sel, const json& source,
                            const std::vector<Selection>& sub, ordered_json& path) {
    json args = json::object();
    for (const auto& [name, value] : sel.arguments) {
      for (const auto& a : f.arguments) {
        if (a.name != name) continue;
        std::string err;
        json c = CoerceLiteral(value, FromUse(a.type), &err);
        if (!err.empty()) {
          FieldError("Argument '" + name + "': " + err, path);
          return nullptr;
        }
        if (!c.is_discarded()) args[a.source] = std::move(c);
      }
    }
    if (f.resolve) {
      StatusOr<json> value = f.resolve(source, args);
      if (!value.ok()) {
        FieldError(value.status().message(), path);
        return nullptr;
      }
      return Complete(f, &*value, sub, path);
    }
    if (!f.backed) {
      if (source.is_object() && source.contains(f.source)) return Complete(f, &source[f.source], sub, path);
      return nullptr;
    }
    const json* value = (source.is_object() && source.contains(f.source)) ? &source[f.source] : nullptr;
    return Complete(f, value, sub, path);
  }

  // value == nullptr: the message does not set the field (protobuf default).
  ordered_json Complete(const FieldDef& f, const json* value, const std::vector<Selection>& sub, ordered_json& path) {
    if (f.type.list) {
      ordered_json out = ordered_json::array();
      if (!value) return out;
      if (value->is_null()) return nullptr;
      if (!value->is_array()) {
        FieldError("Expected a list for field '" + f.name + "'.", path);
        return nullptr;
      }
      for (size_t i = 0; i < value->size(); ++i) {
        path.push_back(i);
        out.push_back(CompleteItem(f, &(*value)[i], sub, path));
        path.erase(path.size() - 1);
      }
      return out;
    }
    return CompleteItem(f, value, sub, path);
  }

  ordered_json CompleteItem(const FieldDef& f, const json* value, const std::vector<Selection>& sub,
                            ordered_json& path) {
    if (value && value->is_null()) return nullptr;
    if (const ObjectType* obj = schema_.Object(f.type.name)) {
      static const json kEmpty = json::object();
      return ExecuteSelections(*obj, value ? *value : kEmpty, sub, path);
    }
    std::string err;
    ordered_json out = Serialize(f, value, &err);
    if (!err.empty()) {
      FieldError(err, path);
      return nullptr;
    }
    return out;
  }

  ordered_json Serialize(const FieldDef& f, const json* value, std::string* err) {
    const std::string& type = f.type.name;
    if (type == "String") {
      if (!value) return "";
      if (value->is_string()) return value->get<std::string>();
      if (value->is_boolean()) return value->get<bool>() ? "True" : "False";
      return value->dump();
    }
    if (type == "LongString") {
      if (!value) return "0";
      if (value->is_number_integer()) return std::to_string(value->get<int64_t>());
      if (value->is_string()) return value->get<std::string>();
      *err = "LongString cannot represent value: " + Short(*value);
      return nullptr;
    }
    if (type == "Int") {
      if (!value) return 0;
      if (value->is_number_integer()) return value->get<int64_t>();
      *err = "Int cannot represent non-integer value: " + Short(*value);
      return nullptr;
    }
    if (type == "Float") {
      if (!value) return 0.0;
      if (value->is_number()) return value->get<double>();
      // protobuf-JSON writes non-finite doubles as strings.
      std::string s = value->is_string() ? value->get<std::string>() : value->dump();
      if (s == "NaN" && f.nan_as_null) return nullptr;
      std::string py = s == "NaN" ? "nan" : s == "Infinity" ? "inf" : s == "-Infinity" ? "-inf" : s;
      *err = "Float cannot represent non numeric value: " + py;
      return nullptr;
    }
    if (type == "Boolean") {
      if (!value) return false;
      if (value->is_boolean()) return value->get<bool>();
      *err = "Boolean cannot represent a non boolean value: " + Short(*value);
      return nullptr;
    }
    if (const EnumType* e = schema_.Enum(type)) {
      if (!value) return e->default_value.empty() ? ordered_json(nullptr) : ordered_json(e->default_value);
      if (value->is_string()) {
        for (const auto& name : e->values) {
          if (name == value->get_ref<const std::string&>()) return name;
        }
      }
      *err = "Enum '" + type + "' cannot represent value: " + Short(*value);
      return nullptr;
    }
    *err = "Unknown output type '" + type + "'.";
    return nullptr;
  }

  const Schema& schema_;
  const Limits& limits_;
  Document doc_;
  const Operation* op_ = nullptr;
  std::map<std::string, const Fragment*> fragments_;
  std::map<std::string, const VariableDefinition*> declared_;
  std::map<std::string, json> variables_;
  std::set<std::string> used_fragments_;
  std::set<std::string> used_variables_;
  ordered_json errors_ = ordered_json::array();
};

}  // namespace

ordered_json Execute(const Schema& schema, const Request& request, const Limits& limits) {
  Executor ex(schema, limits);
  return ex.Run(request);
}

}  // namespace kiln::api::mlflow::graphql
