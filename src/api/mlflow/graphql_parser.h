// A strict parser for the executable part of GraphQL (operations and
// fragments, no type-system definitions): enough for the queries MLflow's
// web UI sends to /graphql. Anything it does not recognise is a syntax error
// naming the line and column, never a guess.
//
// Pure functions over value types; safe to call concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace kiln::api::mlflow::graphql {

struct Value {
  enum class Kind { kNull, kInt, kFloat, kString, kBoolean, kEnum, kList, kObject, kVariable };
  Kind kind = Kind::kNull;
  std::string text;  // Int/Float literal text, String contents, Enum/Variable name, "true"/"false"
  std::vector<Value> items;                         // kList
  std::vector<std::pair<std::string, Value>> fields;  // kObject, in source order
};

using Arguments = std::vector<std::pair<std::string, Value>>;

struct Directive {
  std::string name;
  Arguments arguments;
};

// A type in a variable definition: `Name`, `[Type]`, either followed by `!`.
struct TypeRef {
  std::string name;                 // empty for a list type
  std::shared_ptr<TypeRef> item;    // the list's item type
  bool non_null = false;
  std::string ToString() const;
};

struct Selection {
  enum class Kind { kField, kFragmentSpread, kInlineFragment };
  Kind kind = Kind::kField;
  std::string alias;           // kField: empty when not aliased
  std::string name;            // kField: field name; kFragmentSpread: fragment name
  std::string type_condition;  // kInlineFragment: may be empty
  Arguments arguments;
  std::vector<Directive> directives;
  std::vector<Selection> selections;
  const std::string& ResponseKey() const { return alias.empty() ? name : alias; }
};

struct VariableDefinition {
  std::string name;  // without '$'
  TypeRef type;
  bool has_default = false;
  Value default_value;
};

struct Operation {
  std::string kind = "query";  // query | mutation | subscription
  std::string name;            // empty for an anonymous operation
  std::vector<VariableDefinition> variables;
  std::vector<Directive> directives;
  std::vector<Selection> selections;
};

struct Fragment {
  std::string name;
  std::string type_condition;
  std::vector<Directive> directives;
  std::vector<Selection> selections;
};

struct Document {
  std::vector<Operation> operations;
  std::vector<Fragment> fragments;
};

// Parses a whole document. Selection sets and values may nest at most
// max_nesting deep (the parser recurses; this bounds its stack).
StatusOr<Document> Parse(std::string_view source, int max_nesting = 64);

}  // namespace kiln::api::mlflow::graphql
