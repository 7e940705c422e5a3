#include "auth/password_hash.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "auth/server_secret.h"

namespace kiln::auth {
namespace {

ScryptParams Fast() { return ScryptParams{10, 8, 1}; }

TEST(PasswordHashTest, RoundTripAndWrongPassword) {
  auto h = HashPassword("correct horse battery", Fast());
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->rfind("$scrypt$ln=10,r=8,p=1$", 0), 0u) << *h;
  EXPECT_TRUE(*VerifyPassword("correct horse battery", *h));
  EXPECT_FALSE(*VerifyPassword("correct horse batterz", *h));
  EXPECT_FALSE(*VerifyPassword("", *h));
}

TEST(PasswordHashTest, SaltMakesEveryHashDifferent) {
  auto a = HashPassword("same password!", Fast());
  auto b = HashPassword("same password!", Fast());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(*VerifyPassword("same password!", *b));
}

TEST(PasswordHashTest, DefaultIsMemoryHard) {
  ScryptParams d;
  // 128 * r * N bytes of scratch memory per hash.
  EXPECT_GE(128ull * d.r * (1ull << d.log2_n), 16ull << 20);
  auto h = HashPassword("a default-cost password");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->rfind("$scrypt$ln=15,r=8,p=1$", 0), 0u);
  EXPECT_TRUE(*VerifyPassword("a default-cost password", *h));
}

TEST(PasswordHashTest, ParametersComeFromTheStoredString) {
  auto h = HashPassword("older parameters", ScryptParams{11, 4, 2});
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(*VerifyPassword("older parameters", *h));
}

TEST(PasswordHashTest, MalformedOrOutOfBoundsHashesAreErrorsNotMismatches) {
  for (const char* bad : {"", "plain", "$scrypt$", "$scrypt$ln=10,r=8$AAAA$AAAA", "$bcrypt$ln=10,r=8,p=1$AA$AA",
                          "$scrypt$ln=30,r=8,p=1$c2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                          "$scrypt$ln=10,r=8,p=1$c2FsdA==$c2hvcnQ=", "$scrypt$ln=10,ln=11,r=8,p=1$c2FsdA==$c2FsdA=="}) {
    EXPECT_EQ(VerifyPassword("x", bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(HashPassword("x", ScryptParams{25, 8, 1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HashPassword("x", ScryptParams{10, 0, 1}).status().code(), StatusCode::kInvalidArgument);
}

TEST(ServerSecretTest, HmacIsKeyedAndHex) {
  auto a = ServerSecret::FromBytes(std::string(32, 'a'));
  auto b = ServerSecret::FromBytes(std::string(32, 'b'));
  std::string ha = a->HmacHex("kiln_token");
  EXPECT_EQ(ha.size(), 64u);
  EXPECT_EQ(ha, a->HmacHex("kiln_token"));
  EXPECT_NE(ha, b->HmacHex("kiln_token"));
  EXPECT_NE(ha, a->HmacHex("kiln_tokem"));
  // RFC 4231 test case 2.
  auto jefe = ServerSecret::FromBytes("Jefe");
  EXPECT_EQ(jefe->HmacHex("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(ServerSecretTest, RandomHexAndConstantTimeEqual) {
  EXPECT_EQ(RandomHex(16).size(), 32u);
  EXPECT_NE(RandomHex(16), RandomHex(16));
  EXPECT_TRUE(ConstantTimeEqual("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEqual("", ""));
}

TEST(ServerSecretTest, CreatedOnceWithMode0600ThenLoaded) {
  std::string dir = "/tmp/kiln_secret_test_" + RandomHex(4);
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  std::string path = dir + "/secret.key";
  EXPECT_EQ(ServerSecret::LoadOrCreate(path, false).status().code(), StatusCode::kNotFound);
  auto first = ServerSecret::LoadOrCreate(path, true);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = ServerSecret::LoadOrCreate(path, true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*first)->bytes(), (*again)->bytes());
  EXPECT_EQ((*first)->bytes().size(), 32u);

  std::string short_path = dir + "/short.key";
  FILE* f = std::fopen(short_path.c_str(), "w");
  std::fputs("too short", f);
  std::fclose(f);
  EXPECT_EQ(ServerSecret::LoadOrCreate(short_path, true).status().code(), StatusCode::kInvalidArgument);
  std::remove(short_path.c_str());
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace kiln::auth
