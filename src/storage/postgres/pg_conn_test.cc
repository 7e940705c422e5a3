#include "storage/postgres/pg_conn.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "storage/postgres/pg_test_util.h"

namespace kiln::storage::postgres {
namespace {

using testing::PgTest;

class PgConnTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    conn_ = Connect();
    ASSERT_NE(conn_, nullptr);
    ASSERT_TRUE(conn_
                    ->Exec("CREATE TABLE v (id BIGINT PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, "
                           "t TEXT COLLATE \"C\", b BYTEA)")
                    .ok());
  }
  std::unique_ptr<PgConn> conn_;
};

TEST_F(PgConnTest, Int64RoundTripsThroughColumnsAndParameters) {
  const int64_t values[] = {0, 1, -1, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
  int64_t id = 0;
  for (int64_t v : values) {
    auto ins = conn_->Prepare("INSERT INTO v(id, i) VALUES (?, ?)");
    ASSERT_TRUE(ins.ok());
    ins->Args(++id, v);
    ASSERT_TRUE(ins->Run().ok());
    EXPECT_EQ(conn_->Changes(), 1);
    auto sel = conn_->Prepare("SELECT i, ?1 FROM v WHERE id = ?2");
    ASSERT_TRUE(sel.ok());
    sel->Args(v, id);
    auto row = sel->Step();
    ASSERT_TRUE(row.ok() && *row) << row.status().ToString();
    EXPECT_EQ(sel->Int(0), v);
    EXPECT_EQ(sel->Int(1), v);
    EXPECT_FALSE(sel->IsNull(0));
  }
}

TEST_F(PgConnTest, DoublesRoundTripBitForBit) {
  const double values[] = {0.1,
                           1.0 / 3.0,
                           -0.0,
                           0.0,
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::lowest(),
                           std::numeric_limits<double>::min(),
                           std::numeric_limits<double>::denorm_min(),
                           -std::numeric_limits<double>::denorm_min(),
                           123456789.123456789,
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity()};
  int64_t id = 100;
  for (double v : values) {
    auto ins = conn_->Prepare("INSERT INTO v(id, d) VALUES (?, ?)");
    ASSERT_TRUE(ins.ok());
    ins->Args(++id, v);
    ASSERT_TRUE(ins->Run().ok()) << v;
    auto sel = conn_->Prepare("SELECT d, CAST(?1 AS DOUBLE PRECISION) FROM v WHERE id = ?2");
    ASSERT_TRUE(sel.ok());
    sel->Args(v, id);
    auto row = sel->Step();
    ASSERT_TRUE(row.ok() && *row) << row.status().ToString();
    for (int col = 0; col < 2; ++col) {
      const double got = sel->Double(col);
      EXPECT_EQ(got, v) << "col " << col;
      EXPECT_EQ(std::signbit(got), std::signbit(v)) << v;
    }
  }
  auto nan = conn_->Prepare("INSERT INTO v(id, d) VALUES (?, ?)");
  ASSERT_TRUE(nan.ok());
  nan->Args(int64_t{999}, std::numeric_limits<double>::quiet_NaN());
  ASSERT_TRUE(nan->Run().ok());
  auto sel = conn_->Prepare("SELECT d, CAST('NaN' AS DOUBLE PRECISION), d = d FROM v WHERE id = 999");
  ASSERT_TRUE(sel.ok());
  auto row = sel->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_TRUE(std::isnan(sel->Double(0)));
  EXPECT_TRUE(std::isnan(sel->Double(1)));
  EXPECT_EQ(sel->Int(2), 1);  // PostgreSQL orders NaN equal to itself
}

TEST_F(PgConnTest, TextRoundTripsQuotesBackslashesAndUnicode) {
  const std::string values[] = {"", "it's", "\"quoted\"", "back\\slash", "?", "?1 $1 '?'", "naïve ☃ 日本語 🚀",
                                std::string(100000, 'x')};
  int64_t id = 200;
  for (const auto& v : values) {
    auto ins = conn_->Prepare("INSERT INTO v(id, t) VALUES (?, ?)");
    ASSERT_TRUE(ins.ok());
    ins->Args(++id, v);
    ASSERT_TRUE(ins->Run().ok());
    auto sel = conn_->Prepare("SELECT t, ?1 || '' FROM v WHERE id = ?2");
    ASSERT_TRUE(sel.ok());
    sel->Args(v, id);
    auto row = sel->Step();
    ASSERT_TRUE(row.ok() && *row) << row.status().ToString();
    EXPECT_EQ(sel->Text(0), v);
    EXPECT_EQ(sel->Text(1), v);
  }
}

TEST_F(PgConnTest, NullsBindAndRead) {
  auto ins = conn_->Prepare("INSERT INTO v(id, i, d, t) VALUES (?, ?, ?, ?)");
  ASSERT_TRUE(ins.ok());
  ins->Bind(1, int64_t{1}).BindNull(2).BindNull(3).BindNull(4);
  ASSERT_TRUE(ins->Run().ok());
  auto sel = conn_->Prepare("SELECT i, d, t, ? IS NULL FROM v WHERE id = 1");
  ASSERT_TRUE(sel.ok());
  sel->Bind(1, std::string("x"));
  auto row = sel->Step();
  ASSERT_TRUE(row.ok() && *row) << row.status().ToString();
  EXPECT_TRUE(sel->IsNull(0));
  EXPECT_TRUE(sel->IsNull(1));
  EXPECT_TRUE(sel->IsNull(2));
  EXPECT_EQ(sel->Int(3), 0);
}

// `? IS NULL OR col >= ?` with a NULL: the server cannot type the parameter
// from IS NULL alone; the statement still runs (inside a transaction too).
TEST_F(PgConnTest, OptionalBoundsBoundAsNull) {
  ASSERT_TRUE(conn_->Exec("INSERT INTO v(id, i, t) VALUES (1, 10, 'a'), (2, 20, 'b'), (3, 30, 'c')").ok());
  ASSERT_TRUE(conn_->Exec("BEGIN").ok());
  const std::string sql = "SELECT count(*) FROM v WHERE (?1 IS NULL OR i >= ?1) AND (?2 IS NULL OR t <> ?2)";
  for (int pass = 0; pass < 2; ++pass) {
    auto st = conn_->Prepare(sql);
    ASSERT_TRUE(st.ok());
    st->BindNull(1).BindNull(2);
    auto row = st->Step();
    ASSERT_TRUE(row.ok() && *row) << row.status().ToString();
    EXPECT_EQ(st->Int(0), 3);
  }
  auto st = conn_->Prepare(sql);
  ASSERT_TRUE(st.ok());
  st->Bind(1, 20).Bind(2, "c");
  auto row = st->Step();
  ASSERT_TRUE(row.ok() && *row) << row.status().ToString();
  EXPECT_EQ(st->Int(0), 1);
  auto text_only = conn_->Prepare("SELECT count(*) FROM v WHERE ?1 IS NULL OR t = ?1", false);
  ASSERT_TRUE(text_only.ok());
  text_only->BindNull(1);
  row = text_only->Step();
  ASSERT_TRUE(row.ok() && *row) << row.status().ToString();
  EXPECT_EQ(text_only->Int(0), 3);
  ASSERT_TRUE(conn_->Exec("COMMIT").ok());
}

TEST_F(PgConnTest, BooleansReadAsIntegers) {
  auto sel = conn_->Prepare("SELECT 1 < 2, 2 < 1, ? = 'a'");
  ASSERT_TRUE(sel.ok());
  sel->Bind(1, "a");
  auto row = sel->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(sel->Int(0), 1);
  EXPECT_EQ(sel->Int(1), 0);
  EXPECT_EQ(sel->Int(2), 1);
}

TEST_F(PgConnTest, BinaryTextIntoByteaRoundTrips) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  bytes += std::string("\0\xff\xfe", 3);
  ASSERT_TRUE(conn_->Exec("BEGIN").ok());
  auto ins = conn_->Prepare("INSERT INTO v(id, b) VALUES (?, ?)");
  ASSERT_TRUE(ins.ok());
  ins->Args(int64_t{7}, bytes);
  ASSERT_TRUE(ins->Run().ok()) << ins->Run().ToString();
  auto up = conn_->Prepare("UPDATE v SET b = ? WHERE id = ?");
  ASSERT_TRUE(up.ok());
  up->Args(bytes + "!", int64_t{7});
  ASSERT_TRUE(up->Run().ok());
  EXPECT_EQ(conn_->Changes(), 1);
  ASSERT_TRUE(conn_->Exec("COMMIT").ok());
  auto sel = conn_->Prepare("SELECT b FROM v WHERE id = 7");
  ASSERT_TRUE(sel.ok());
  auto row = sel->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(sel->Text(0), bytes + "!");
}

TEST_F(PgConnTest, StepWalksRowsAndOtherStatementsMayRunMeanwhile) {
  for (int64_t i = 1; i <= 3; ++i) {
    auto ins = conn_->Prepare("INSERT INTO v(id, i) VALUES (?, ?)");
    ASSERT_TRUE(ins.ok());
    ins->Args(i, i * 10);
    ASSERT_TRUE(ins->Run().ok());
  }
  auto outer = conn_->Prepare("SELECT id FROM v ORDER BY id");
  ASSERT_TRUE(outer.ok());
  int64_t sum = 0;
  while (true) {
    auto row = outer->Step();
    ASSERT_TRUE(row.ok());
    if (!*row) break;
    auto inner = conn_->Prepare("UPDATE v SET i = i + 1 WHERE id = ?");
    ASSERT_TRUE(inner.ok());
    inner->Bind(1, outer->Int(0));
    ASSERT_TRUE(inner->Run().ok());
    sum += outer->Int(0);
  }
  EXPECT_EQ(sum, 6);
  auto total = conn_->QueryInt("SELECT sum(i) FROM v");
  ASSERT_TRUE(total.ok());
  EXPECT_EQ(*total, 63);
  auto changed = conn_->Prepare("UPDATE v SET i = 0 WHERE id >= ?");
  ASSERT_TRUE(changed.ok());
  changed->Bind(1, 2);
  ASSERT_TRUE(changed->Run().ok());
  EXPECT_EQ(conn_->Changes(), 2);
}

TEST_F(PgConnTest, SameStatementNestedGetsAPrivateCopy) {
  ASSERT_TRUE(conn_->Exec("INSERT INTO v(id, i) VALUES (1, 5), (2, 6)").ok());
  auto a = conn_->Prepare("SELECT i FROM v WHERE id = ?");
  auto b = conn_->Prepare("SELECT i FROM v WHERE id = ?");
  ASSERT_TRUE(a.ok() && b.ok());
  a->Bind(1, 1);
  b->Bind(1, 2);
  ASSERT_TRUE(*a->Step());
  ASSERT_TRUE(*b->Step());
  EXPECT_EQ(a->Int(0), 5);
  EXPECT_EQ(b->Int(0), 6);
}

TEST_F(PgConnTest, ResetReExecutesWithKeptBindings) {
  ASSERT_TRUE(conn_->Exec("INSERT INTO v(id, i) VALUES (1, 5)").ok());
  auto st = conn_->Prepare("SELECT i FROM v WHERE id = ?");
  ASSERT_TRUE(st.ok());
  st->Bind(1, 1);
  ASSERT_TRUE(*st->Step());
  ASSERT_TRUE(conn_->Exec("UPDATE v SET i = 9").ok());
  st->Reset();
  ASSERT_TRUE(*st->Step());
  EXPECT_EQ(st->Int(0), 9);
  EXPECT_FALSE(*st->Step());
}

TEST_F(PgConnTest, UncachedStatementsAndTypeChangesOfOneText) {
  auto one = conn_->Prepare("SELECT ? + 1", /*cache=*/false);
  ASSERT_TRUE(one.ok());
  one->Bind(1, int64_t{41});
  ASSERT_TRUE(*one->Step());
  EXPECT_EQ(one->Int(0), 42);
  // The same SQL bound with a double is another server-side statement.
  auto again = conn_->Prepare("SELECT ? + 1");
  ASSERT_TRUE(again.ok());
  again->Bind(1, 0.5);
  ASSERT_TRUE(*again->Step());
  EXPECT_EQ(again->Double(0), 1.5);
}

TEST_F(PgConnTest, ErrorsMapToTheSeamsClasses) {
  ASSERT_TRUE(conn_->Exec("INSERT INTO v(id) VALUES (1)").ok());
  auto dup = conn_->Prepare("INSERT INTO v(id) VALUES (?)");
  ASSERT_TRUE(dup.ok());
  dup->Bind(1, 1);
  Status s = dup->Run();
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
  EXPECT_NE(s.message().find("v_pkey"), std::string::npos) << s.message();

  s = conn_->Exec("SELEC 1");
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("syntax error"), std::string::npos) << s.message();

  auto bad = conn_->Prepare("SELECT nope FROM v WHERE id = ?");
  ASSERT_TRUE(bad.ok());
  bad->Bind(1, 1);
  EXPECT_EQ(bad->Step().status().code(), StatusCode::kInternal);
  bad->Bind(2, 1);
  EXPECT_EQ(bad->Step().status().code(), StatusCode::kInternal);  // bind out of range

  EXPECT_EQ(conn_->Prepare("SELECT ?, ?1").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(PgConnTest, APrepareFailureInsideATransactionDoesNotAbortIt) {
  ASSERT_TRUE(conn_->Exec("BEGIN").ok());
  ASSERT_TRUE(conn_->Exec("INSERT INTO v(id) VALUES (1)").ok());
  auto bad = conn_->Prepare("INSERT INTO v(id, nope) VALUES (?, ?)");
  ASSERT_TRUE(bad.ok());
  bad->Args(2, "x");
  EXPECT_EQ(bad->Run().code(), StatusCode::kInternal);
  ASSERT_TRUE(conn_->Exec("COMMIT").ok());
  EXPECT_EQ(*conn_->QueryInt("SELECT count(*) FROM v"), 1);
}

}  // namespace
}  // namespace kiln::storage::postgres
