#include "net/router.h"

#include <gtest/gtest.h>

namespace kiln::net {
namespace {

HttpResponse Ok(HttpRequest&) { return HttpResponse::Text(200, "ok"); }

TEST(RouterTest, VerbSuffixSharesTheSegmentWithTheParameter) {
  Router r;
  r.Add("GET", "/e/{name}", Ok);
  r.Add("POST", "/e/{name}:rollback", Ok);
  r.Add("POST", "/e/{name}:promote", Ok);

  RouteMatch m = r.Match("POST", "/e/fraud:rollback");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/e/{name}:rollback");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "name");
  EXPECT_EQ(m.params[0].second, "fraud");

  m = r.Match("POST", "/e/fraud:promote");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/e/{name}:promote");

  // No value before the verb, another verb, or no verb: no POST route.
  EXPECT_EQ(r.Match("POST", "/e/:rollback").route, nullptr);
  EXPECT_EQ(r.Match("POST", "/e/fraud:delete").route, nullptr);
  m = r.Match("POST", "/e/fraud");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_known);  // GET /e/{name} knows the path
  // The plain parameter still takes the whole segment.
  m = r.Match("GET", "/e/fraud:rollback");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params[0].second, "fraud:rollback");
}

TEST(RouterTest, ListsRoutesInRegistrationOrder) {
  Router r;
  r.Add("GET", "/a", Ok);
  r.Add("POST", "/b/{id}", Ok);
  auto routes = r.routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0]->method, "GET");
  EXPECT_EQ(routes[0]->pattern, "/a");
  EXPECT_EQ(routes[1]->method, "POST");
  EXPECT_EQ(routes[1]->pattern, "/b/{id}");
}

}  // namespace
}  // namespace kiln::net
