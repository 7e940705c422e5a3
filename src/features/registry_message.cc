#include "features/registry_message.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/timestamp.pb.h>

#include <vector>

namespace kiln::features {

namespace pb = google::protobuf;

namespace {

const pb::FieldDescriptor* Field(const pb::Message& m, const char* name, pb::FieldDescriptor::CppType type) {
  const pb::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr || f->cpp_type() != type || f->is_repeated() != false) return nullptr;
  return f;
}

const pb::FieldDescriptor* StringField(const pb::Message& m, const char* name) {
  return Field(m, name, pb::FieldDescriptor::CPPTYPE_STRING);
}

const pb::FieldDescriptor* MessageField(const pb::Message& m, const char* name) {
  return Field(m, name, pb::FieldDescriptor::CPPTYPE_MESSAGE);
}

pb::Message* MutableSub(pb::Message& m, const char* name) {
  const pb::FieldDescriptor* f = MessageField(m, name);
  return f == nullptr ? nullptr : m.GetReflection()->MutableMessage(&m, f);
}

}  // namespace

const pb::Message* SubMessage(const pb::Message& m, const char* field) {
  const pb::FieldDescriptor* f = MessageField(m, field);
  return f == nullptr ? nullptr : &m.GetReflection()->GetMessage(m, f);
}

std::string MessageName(const pb::Message& m) {
  if (const pb::Message* spec = SubMessage(m, "spec")) {
    if (const pb::FieldDescriptor* f = StringField(*spec, "name")) return spec->GetReflection()->GetString(*spec, f);
  }
  if (const pb::FieldDescriptor* f = StringField(m, "name")) return m.GetReflection()->GetString(m, f);
  return "";
}

void SetMessageProject(pb::Message& m, const std::string& project) {
  if (MessageField(m, "spec") != nullptr) {
    pb::Message* spec = MutableSub(m, "spec");
    if (const pb::FieldDescriptor* f = StringField(*spec, "project")) spec->GetReflection()->SetString(spec, f, project);
    return;
  }
  if (const pb::FieldDescriptor* f = StringField(m, "project")) m.GetReflection()->SetString(&m, f, project);
}

int64_t MetaTimestampUs(const pb::Message& m, const char* field) {
  const pb::Message* meta = SubMessage(m, "meta");
  if (meta == nullptr) return 0;
  const pb::FieldDescriptor* f = MessageField(*meta, field);
  if (f == nullptr || !meta->GetReflection()->HasField(*meta, f)) return 0;
  const pb::Message& ts = meta->GetReflection()->GetMessage(*meta, f);
  const pb::Reflection* r = ts.GetReflection();
  const pb::Descriptor* d = ts.GetDescriptor();
  return r->GetInt64(ts, d->FindFieldByName("seconds")) * 1000000 +
         r->GetInt32(ts, d->FindFieldByName("nanos")) / 1000;
}

void SetMetaTimestampUs(pb::Message& m, const char* field, int64_t us) {
  pb::Message* meta = MutableSub(m, "meta");
  if (meta == nullptr) return;
  const pb::FieldDescriptor* f = MessageField(*meta, field);
  if (f == nullptr) return;
  pb::Message* ts = meta->GetReflection()->MutableMessage(meta, f);
  const pb::Reflection* r = ts->GetReflection();
  const pb::Descriptor* d = ts->GetDescriptor();
  int64_t secs = us / 1000000;
  int64_t rem = us % 1000000;
  if (rem < 0) {
    rem += 1000000;
    secs -= 1;
  }
  r->SetInt64(ts, d->FindFieldByName("seconds"), secs);
  r->SetInt32(ts, d->FindFieldByName("nanos"), static_cast<int32_t>(rem * 1000));
}

std::map<std::string, std::string> MessageTags(const pb::Message& m) {
  const pb::Message* holder = &m;
  if (const pb::Message* spec = SubMessage(m, "spec")) holder = spec;
  std::map<std::string, std::string> out;
  const pb::FieldDescriptor* f = holder->GetDescriptor()->FindFieldByName("tags");
  if (f == nullptr || !f->is_map()) return out;
  const pb::Reflection* r = holder->GetReflection();
  for (int i = 0; i < r->FieldSize(*holder, f); ++i) {
    const pb::Message& entry = r->GetRepeatedMessage(*holder, f, i);
    const pb::Reflection* er = entry.GetReflection();
    const pb::Descriptor* ed = entry.GetDescriptor();
    out[er->GetString(entry, ed->field(0))] = er->GetString(entry, ed->field(1));
  }
  return out;
}

bool HasAllTags(const pb::Message& m, const std::map<std::string, std::string>& wanted) {
  if (wanted.empty()) return true;
  std::map<std::string, std::string> tags = MessageTags(m);
  for (const auto& [k, v] : wanted) {
    auto it = tags.find(k);
    if (it == tags.end() || it->second != v) return false;
  }
  return true;
}

namespace {

// The SDK stamps a data source's meta when it builds the object, so every
// copy embedded in a view or service differs between two applies of the same
// definition; Feast's object equality ignores it, and so does this.
void ClearSourceMeta(pb::Message* m) {
  const pb::Reflection* r = m->GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(*m, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->message_type()->full_name() == "feast.core.DataSource.SourceMeta") {
      r->ClearField(m, f);
    } else if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(*m, f); ++i) ClearSourceMeta(r->MutableRepeatedMessage(m, f, i));
    } else {
      ClearSourceMeta(r->MutableMessage(m, f));
    }
  }
}

}  // namespace

std::string DefinitionBytes(const pb::Message& m) {
  std::unique_ptr<pb::Message> copy(m.New());
  copy->CopyFrom(m);
  if (const pb::FieldDescriptor* f = MessageField(*copy, "meta")) copy->GetReflection()->ClearField(copy.get(), f);
  ClearSourceMeta(copy.get());
  std::string out;
  {
    pb::io::StringOutputStream stream(&out);
    pb::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    copy->SerializeToCodedStream(&coded);
  }
  return out;
}

}  // namespace kiln::features
