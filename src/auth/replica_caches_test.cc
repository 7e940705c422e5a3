// Two replicas' Authenticators and Authorizers over one identity store,
// joined by an in-process change feed: a change made through one is seen by
// the other at once, not after its cache ages out.
#include <gtest/gtest.h>

#include "auth/authenticator.h"
#include "auth/authorizer.h"
#include "auth/identity_test_util.h"
#include "core/change_feed_test_util.h"

namespace kiln::auth {
namespace {

class ReplicaCachesTest : public testing::IdentityTest {
 protected:
  void SetUp() override {
    IdentityTest::SetUp();
    feed_a_ = hub_.NewReplica();
    feed_b_ = hub_.NewReplica();
  }
  kiln::testing::ChangeFeedHub hub_;
  std::unique_ptr<ChangeFeed> feed_a_, feed_b_;
};

TEST_F(ReplicaCachesTest, APasswordChangeOnOneReplicaEndsTheOldPasswordOnTheOther) {
  AddUser("alice", "old-password-1");
  auto a = Authenticator::Create(*ids_, *secret_, nullptr, clock_, {});
  auto b = Authenticator::Create(*ids_, *secret_, nullptr, clock_, {});
  auto unfollowing = Authenticator::Create(*ids_, *secret_, nullptr, clock_, {});
  a->Follow(*feed_a_);
  b->Follow(*feed_b_);
  const std::string old_header = BasicHeader("alice", "old-password-1");
  ASSERT_TRUE(b->Authenticate(old_header, "10.0.0.1:1").ok());
  ASSERT_TRUE(unfollowing->Authenticate(old_header, "10.0.0.1:1").ok());

  // Replica A changes the password (as the user routes do: store, then Invalidate).
  ASSERT_TRUE(service_->SetPassword("alice", "new-password-2").ok());
  a->Invalidate("alice");

  EXPECT_EQ(b->Authenticate(old_header, "10.0.0.1:1").status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(b->Authenticate(BasicHeader("alice", "new-password-2"), "10.0.0.1:1").ok());
  // What a replica without the feed does: trusts its cache until the TTL.
  EXPECT_TRUE(unfollowing->Authenticate(old_header, "10.0.0.1:1").ok());
}

TEST_F(ReplicaCachesTest, AGrantOnOneReplicaIsDecidedOnTheOther) {
  auto a = Authorizer::Create(*ids_, {});
  auto b = Authorizer::Create(*ids_, {});
  ASSERT_TRUE(a.ok() && b.ok());
  (*a)->Follow(*feed_a_);
  (*b)->Follow(*feed_b_);
  auto bob = std::make_shared<Principal>();
  bob->name = "bob";
  const ObjectRef exp{ObjectKind::kExperiment, "7"};
  EXPECT_FALSE((*b)->Decide(*(*b)->Scope(bob), {exp}, Role::kEditor).allowed);

  storage::GrantRecord g;
  g.subject_kind = "user";
  g.subject = "bob";
  g.object_kind = ObjectKindName(ObjectKind::kExperiment);
  g.object_id = "7";
  g.role = "editor";
  g.created_by = "admin";
  auto granted = (*a)->Grant(g);
  ASSERT_TRUE(granted.ok()) << granted.status().ToString();
  EXPECT_TRUE((*b)->Decide(*(*b)->Scope(bob), {exp}, Role::kEditor).allowed);

  ASSERT_TRUE((*b)->Revoke(granted->id).ok());
  EXPECT_FALSE((*a)->Decide(*(*a)->Scope(bob), {exp}, Role::kEditor).allowed);
}

}  // namespace
}  // namespace kiln::auth
