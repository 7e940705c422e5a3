// Reflection over Feast's registry messages for what every kind shares:
// its name and project (in `spec` or at the top level), its meta timestamps,
// its tags. Feast keeps these in the same places under the same field names
// for every kind, so one implementation serves all of them without a switch
// per kind. Pure functions; thread-safe on distinct messages.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <google/protobuf/message.h>

namespace kiln::features {

std::string MessageName(const google::protobuf::Message& m);
// Sets spec.project / project when the kind has one (projects do not).
void SetMessageProject(google::protobuf::Message& m, const std::string& project);

// meta.created_timestamp / meta.last_updated_timestamp in µs; 0 when unset or
// the kind has no meta.
int64_t MetaTimestampUs(const google::protobuf::Message& m, const char* field);
void SetMetaTimestampUs(google::protobuf::Message& m, const char* field, int64_t us);
inline constexpr const char* kCreated = "created_timestamp";
inline constexpr const char* kLastUpdated = "last_updated_timestamp";

std::map<std::string, std::string> MessageTags(const google::protobuf::Message& m);
// Feast's utils.has_all_tags: every wanted key present with the same value.
bool HasAllTags(const google::protobuf::Message& m, const std::map<std::string, std::string>& wanted);

// The message without its meta, deterministically serialized: equal when
// Feast would consider a re-apply a no-op.
std::string DefinitionBytes(const google::protobuf::Message& m);

// The sub-message at `path` ("spec", "meta"); nullptr when absent from the type.
const google::protobuf::Message* SubMessage(const google::protobuf::Message& m, const char* field);

}  // namespace kiln::features
