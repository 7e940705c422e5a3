#include "api/feast/registry_listing.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <string>

namespace kiln::api::feast {

namespace pb = google::protobuf;

namespace {

// Feast's sort key: (text, present, number); a missing value is ("", 0),
// text is lower-cased, numbers and times order by value.
struct SortKey {
  std::string text;
  int present = 0;
  double number = 0;
  bool operator<(const SortKey& o) const {
    if (text != o.text) return text < o.text;
    if (present != o.present) return present < o.present;
    return number < o.number;
  }
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool KeyAt(const pb::Message& root, const std::vector<std::string>& path, SortKey* key) {
  const pb::Message* m = &root;
  for (size_t i = 0; i < path.size(); ++i) {
    const pb::FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(path[i]);
    if (f == nullptr || f->is_repeated()) return false;
    const pb::Reflection* r = m->GetReflection();
    const bool last = i + 1 == path.size();
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (!r->HasField(*m, f)) return last;  // unset: Feast's None
      const pb::Message& sub = r->GetMessage(*m, f);
      const std::string& type = sub.GetDescriptor()->full_name();
      if (last) {
        if (type != "google.protobuf.Timestamp" && type != "google.protobuf.Duration") return false;
        const pb::Reflection* sr = sub.GetReflection();
        key->present = 1;
        key->number = static_cast<double>(sr->GetInt64(sub, sub.GetDescriptor()->FindFieldByName("seconds"))) +
                      sr->GetInt32(sub, sub.GetDescriptor()->FindFieldByName("nanos")) / 1e9;
        return true;
      }
      m = &sub;
      continue;
    }
    if (!last) return false;
    key->present = 1;
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING: key->text = Lower(r->GetString(*m, f)); break;
      case pb::FieldDescriptor::CPPTYPE_INT32: key->number = r->GetInt32(*m, f); break;
      case pb::FieldDescriptor::CPPTYPE_INT64: key->number = static_cast<double>(r->GetInt64(*m, f)); break;
      case pb::FieldDescriptor::CPPTYPE_UINT32: key->number = r->GetUInt32(*m, f); break;
      case pb::FieldDescriptor::CPPTYPE_UINT64: key->number = static_cast<double>(r->GetUInt64(*m, f)); break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE: key->number = r->GetDouble(*m, f); break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT: key->number = r->GetFloat(*m, f); break;
      case pb::FieldDescriptor::CPPTYPE_BOOL: key->number = r->GetBool(*m, f) ? 1 : 0; break;
      case pb::FieldDescriptor::CPPTYPE_ENUM: key->text = Lower(r->GetEnum(*m, f)->name()); break;
      default: return false;
    }
    return true;
  }
  return false;
}

SortKey KeyOf(const pb::Message& m, const std::vector<std::string>& path) {
  for (const char* prefix : {"", "spec", "meta"}) {
    std::vector<std::string> p;
    if (*prefix != '\0') p.push_back(prefix);
    p.insert(p.end(), path.begin(), path.end());
    SortKey key;
    if (KeyAt(m, p, &key)) return key;
  }
  return {};
}

}  // namespace

::feast::registry::PaginationMetadata PaginateAndSort(std::vector<const pb::Message*>& items,
                                                      const ::feast::registry::PaginationParams& pagination,
                                                      const ::feast::registry::SortingParams& sorting) {
  ::feast::registry::PaginationMetadata meta;
  if (items.empty()) return meta;  // Feast: all zero, total_pages 0
  std::string sort_by = sorting.sort_by();
  sort_by.erase(0, sort_by.find_first_not_of(" \t\r\n"));
  if (!sort_by.empty()) {
    std::vector<std::string> path;
    std::stringstream ss(sorting.sort_by());
    for (std::string part; std::getline(ss, part, '.');) path.push_back(part);
    std::vector<std::pair<SortKey, const pb::Message*>> keyed;
    keyed.reserve(items.size());
    for (const pb::Message* m : items) keyed.emplace_back(KeyOf(*m, path), m);
    const bool desc = Lower(sorting.sort_order()) == "desc";
    // Python's sorted(reverse=True) keeps equal elements in their original order.
    std::stable_sort(keyed.begin(), keyed.end(), [desc](const auto& a, const auto& b) {
      return desc ? b.first < a.first : a.first < b.first;
    });
    for (size_t i = 0; i < items.size(); ++i) items[i] = keyed[i].second;
  }
  const int64_t total = static_cast<int64_t>(items.size());
  meta.set_total_count(static_cast<int32_t>(total));
  if (pagination.page() > 0 && pagination.limit() > 0) {
    const int64_t page = pagination.page(), limit = pagination.limit();
    const int64_t start = std::min<int64_t>((page - 1) * limit, total);
    const int64_t end = std::min<int64_t>(start + limit, total);
    items = std::vector<const pb::Message*>(items.begin() + start, items.begin() + end);
    const int64_t pages = (total + limit - 1) / limit;
    meta.set_page(static_cast<int32_t>(page));
    meta.set_limit(static_cast<int32_t>(limit));
    meta.set_total_pages(static_cast<int32_t>(pages));
    meta.set_has_next(page < pages);
    meta.set_has_previous(page > 1);
  } else {
    meta.set_total_pages(1);
  }
  return meta;
}

}  // namespace kiln::api::feast
