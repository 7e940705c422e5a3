// A small GraphQL executor over a schema declared as data: object types
// whose fields read a snake_case key of their parent's JSON value (the
// protobuf-JSON the REST API already produces) or call a resolver; enums;
// input objects. It validates a document fully against the schema before
// running it (unknown fields, arguments, fragments, directives and wrongly
// typed variables are request errors, as in graphql-core), then executes the
// chosen operation; a resolver's error nulls its field and is reported with
// its path.
//
// Supported: queries and mutations, variables with defaults, aliases, named
// and inline fragments, @include/@skip, __typename, and directives the
// schema declares as accepted (ignored). Not supported (refused with a
// message): subscriptions, introspection (__schema/__type), interfaces and
// unions, custom directives beyond the declared ones.
//
// A Schema is built once and read-only afterwards; Execute is safe to call
// concurrently if the resolvers are.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kiln::api::mlflow::graphql {

// The type of a field or input field: a scalar (String, Int, Float, Boolean,
// LongString), an enum, an object or an input object, optionally a list.
struct TypeUse {
  std::string name;
  bool list = false;
};

// Computes a field's value: the parent's JSON value and the coerced
// arguments (snake_case keys) -> the field's JSON value.
using Resolver = std::function<StatusOr<nlohmann::json>(const nlohmann::json& parent, const nlohmann::json& args)>;

struct InputField {
  std::string source;  // snake_case key handed to resolvers
  TypeUse type;
  std::string name = {};  // GraphQL name; empty: camelCase of source
};

struct FieldDef {
  std::string source;  // snake_case key read from the parent's JSON
  TypeUse type;
  std::string name = {};   // GraphQL name; empty: camelCase of source
  Resolver resolve = {};   // set: computes the value instead of reading source
  // Without a backing value (no resolver and no key in the message, like
  // MLflow's apiError) a field is null; otherwise a missing key reads as
  // protobuf's default ("", "0", 0, false, [] or an empty message).
  bool backed = true;
  bool nan_as_null = false;  // Float: NaN reads as null instead of an error
  std::vector<InputField> arguments = {};
  // Set: a field of the reference schema this server does not answer; a
  // query selecting it is refused with this message.
  std::string unsupported = {};
};

struct ObjectType {
  std::string name;
  std::vector<FieldDef> fields;
};

struct EnumType {
  std::string name;
  std::vector<std::string> values;
  std::string default_value;  // protobuf's default for an unset field
};

struct InputType {
  std::string name;
  std::vector<InputField> fields;
};

// graphene's snake_case -> camelCase ("run_uuid" -> "runUuid").
std::string CamelCase(std::string_view snake);

class Schema {
 public:
  void AddObject(ObjectType type);
  void AddEnum(EnumType type);
  void AddInput(InputType type);
  void SetRoots(std::string query, std::string mutation);
  // Directives allowed on operations and fields and otherwise ignored.
  void AcceptDirective(std::string name) { accepted_directives_.insert(std::move(name)); }

  const ObjectType* Object(const std::string& name) const;
  const EnumType* Enum(const std::string& name) const;
  const InputType* Input(const std::string& name) const;
  const FieldDef* Field(const ObjectType& type, const std::string& name) const;
  const std::string& query_root() const { return query_root_; }
  const std::string& mutation_root() const { return mutation_root_; }
  bool Accepts(const std::string& directive) const { return accepted_directives_.count(directive) > 0; }

 private:
  std::map<std::string, ObjectType> objects_;
  std::map<std::string, std::map<std::string, size_t>> field_index_;  // type -> field name -> index
  std::map<std::string, EnumType> enums_;
  std::map<std::string, InputType> inputs_;
  std::set<std::string> accepted_directives_;
  std::string query_root_;
  std::string mutation_root_;
};

// The bounds MLflow's server applies before executing (graphql_no_batching).
struct Limits {
  int max_depth = 10;
  int max_selections = 1000;
  int max_root_fields = 10;
  int max_aliases = 10;
};

struct Request {
  std::string query;
  nlohmann::json variables = nlohmann::json::object();
  std::string operation_name;
};

// Returns the GraphQL response {"data": ..., "errors": [...]}; "errors" is
// null when there are none, as MLflow's server answers.
nlohmann::ordered_json Execute(const Schema& schema, const Request& request, const Limits& limits = {});

}  // namespace kiln::api::mlflow::graphql
