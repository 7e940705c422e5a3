#include "api/feast/registry_listing.h"

#include <gtest/gtest.h>

#include "feast/core/Entity.pb.h"

namespace kiln::api::feast {
namespace {

namespace fc = ::feast::core;
namespace fr = ::feast::registry;

fc::Entity E(const std::string& name, int64_t created_s, const std::string& desc = "") {
  fc::Entity e;
  e.mutable_spec()->set_name(name);
  e.mutable_spec()->set_description(desc);
  if (created_s > 0) e.mutable_meta()->mutable_created_timestamp()->set_seconds(created_s);
  return e;
}

std::vector<std::string> Names(const std::vector<const google::protobuf::Message*>& items) {
  std::vector<std::string> out;
  for (const auto* m : items) out.push_back(static_cast<const fc::Entity*>(m)->spec().name());
  return out;
}

fr::SortingParams Sort(const std::string& by, const std::string& order) {
  fr::SortingParams s;
  s.set_sort_by(by);
  s.set_sort_order(order);
  return s;
}

fr::PaginationParams Page(int page, int limit) {
  fr::PaginationParams p;
  p.set_page(page);
  p.set_limit(limit);
  return p;
}

TEST(RegistryListingTest, EmptyListHasAllZeroMetadata) {
  std::vector<const google::protobuf::Message*> items;
  fr::PaginationMetadata m = PaginateAndSort(items, Page(1, 10), {});
  EXPECT_EQ(m.total_pages(), 0);
  EXPECT_EQ(m.page(), 0);
  EXPECT_EQ(m.total_count(), 0);
}

TEST(RegistryListingTest, UnpagedIsOnePage) {
  fc::Entity a = E("b", 1), b = E("a", 2);
  std::vector<const google::protobuf::Message*> items{&a, &b};
  fr::PaginationMetadata m = PaginateAndSort(items, Page(0, 10), {});
  EXPECT_EQ(Names(items), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(m.total_pages(), 1);
  EXPECT_EQ(m.limit(), 0);
  EXPECT_EQ(m.total_count(), 2);
}

TEST(RegistryListingTest, SortsCaseInsensitivelyUnderSpecAndPages) {
  fc::Entity a = E("beta", 3), b = E("Alpha", 1), c = E("gamma", 2);
  std::vector<const google::protobuf::Message*> items{&a, &b, &c};
  fr::PaginationMetadata m = PaginateAndSort(items, Page(2, 2), Sort("name", "asc"));
  EXPECT_EQ(Names(items), std::vector<std::string>{"gamma"});
  EXPECT_EQ(m.total_pages(), 2);
  EXPECT_TRUE(m.has_previous());
  EXPECT_FALSE(m.has_next());

  items = {&a, &b, &c};
  PaginateAndSort(items, {}, Sort("created_timestamp", "DESC"));
  EXPECT_EQ(Names(items), (std::vector<std::string>{"beta", "gamma", "Alpha"}));
}

TEST(RegistryListingTest, MissingValuesFirstAndTiesKeepOrder) {
  fc::Entity a = E("a", 5), b = E("b", 0), c = E("c", 0), d = E("d", 1);
  std::vector<const google::protobuf::Message*> items{&a, &b, &c, &d};
  PaginateAndSort(items, {}, Sort("meta.created_timestamp", "asc"));
  EXPECT_EQ(Names(items), (std::vector<std::string>{"b", "c", "d", "a"}));
  items = {&a, &b, &c, &d};
  PaginateAndSort(items, {}, Sort("no_such_field", "desc"));
  EXPECT_EQ(Names(items), (std::vector<std::string>{"a", "b", "c", "d"}));
}

}  // namespace
}  // namespace kiln::api::feast
