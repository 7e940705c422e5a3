// Fixture for the identity tests of auth/: a real SQLite metadata database in
// a temporary directory, its SqlIdentityStore behind a counting decorator
// (so tests can prove a cached credential does not read the store), a
// settable clock and cheap scrypt parameters. Test-only; not synchronised.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "auth/identity_service.h"
#include "auth/server_secret.h"
#include "core/base64.h"
#include "storage/sql/sql_identity_store.h"
#include "storage/sql/sql_test_util.h"

namespace kiln::auth::testing {

class SettableTestClock final : public Clock {
 public:
  int64_t NowMillis() const override { return now.load(); }
  std::atomic<int64_t> now{1'700'000'000'000};
};

// Forwards to the real store, counting the reads the authenticator makes.
class CountingIdentityStore final : public storage::IdentityStore {
 public:
  explicit CountingIdentityStore(storage::IdentityStore& inner) : inner_(inner) {}
  std::atomic<int> user_reads{0};
  std::atomic<int> token_reads{0};

  StatusOr<storage::UserRecord> CreateUser(const storage::UserRecord& u) override { return inner_.CreateUser(u); }
  StatusOr<storage::UserRecord> GetUser(const std::string& n) override {
    ++user_reads;
    return inner_.GetUser(n);
  }
  StatusOr<std::vector<storage::UserRecord>> ListUsers() override { return inner_.ListUsers(); }
  Status UpdateUser(const storage::UserRecord& u) override { return inner_.UpdateUser(u); }
  Status DeleteUser(const std::string& n) override { return inner_.DeleteUser(n); }
  StatusOr<int64_t> CountUsers() override { return inner_.CountUsers(); }
  Status CreateToken(const storage::TokenRecord& t) override { return inner_.CreateToken(t); }
  StatusOr<storage::TokenRecord> FindTokenByHash(const std::string& h) override {
    ++token_reads;
    return inner_.FindTokenByHash(h);
  }
  StatusOr<std::vector<storage::TokenRecord>> ListTokens(const std::string& u) override { return inner_.ListTokens(u); }
  StatusOr<storage::TokenRecord> GetToken(const std::string& id) override { return inner_.GetToken(id); }
  Status RevokeToken(const std::string& id, int64_t ms) override { return inner_.RevokeToken(id, ms); }
  Status TouchToken(const std::string& id, int64_t ms) override { return inner_.TouchToken(id, ms); }
  StatusOr<storage::GrantRecord> CreateGrant(const storage::GrantRecord& g) override { return inner_.CreateGrant(g); }
  Status UpdateGrantRole(int64_t id, const std::string& r) override { return inner_.UpdateGrantRole(id, r); }
  StatusOr<storage::GrantRecord> GetGrant(int64_t id) override { return inner_.GetGrant(id); }
  StatusOr<std::vector<storage::GrantRecord>> ListGrants(const storage::GrantQuery& q) override {
    return inner_.ListGrants(q);
  }
  Status DeleteGrant(int64_t id) override { return inner_.DeleteGrant(id); }
  Status DeleteGrantsOn(const std::string& k, const std::string& id) override { return inner_.DeleteGrantsOn(k, id); }
  StatusOr<std::vector<storage::GrantRecord>> AllGrants() override { return inner_.AllGrants(); }

 private:
  storage::IdentityStore& inner_;
};

class IdentityTest : public storage::testing::SqlStoreTest {
 protected:
  void SetUp() override {
    SqlStoreTest::SetUp();
    sqlite_ids_ = std::make_unique<storage::SqlIdentityStore>(store_->database());
    ids_ = std::make_unique<CountingIdentityStore>(*sqlite_ids_);
    secret_ = ServerSecret::FromBytes(std::string(32, 'k'));
    service_ = IdentityService::Create(*ids_, *secret_, clock_, ScryptParams{10, 8, 1});
  }
  void TearDown() override {
    service_.reset();
    ids_.reset();
    sqlite_ids_.reset();
    SqlStoreTest::TearDown();
  }

  storage::UserRecord AddUser(const std::string& name, const std::string& password, bool admin = false) {
    NewUser u;
    u.name = name;
    u.password = password;
    u.admin = admin;
    auto r = service_->CreateUser(u);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : storage::UserRecord{};
  }

  static std::string BasicHeader(const std::string& user, const std::string& password) {
    return "Basic " + Base64Encode(user + ":" + password);
  }

  SettableTestClock clock_;
  std::unique_ptr<storage::SqlIdentityStore> sqlite_ids_;
  std::unique_ptr<CountingIdentityStore> ids_;
  std::unique_ptr<ServerSecret> secret_;
  std::unique_ptr<IdentityService> service_;
};

}  // namespace kiln::auth::testing
