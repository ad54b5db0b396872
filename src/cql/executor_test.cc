// The query processor without a server: prepared single-row reads (SingleRowRead) answer
// exactly as the general SELECT path does, whatever the data, the values bound and the schema.
#include "cql/executor.h"

#include <gtest/gtest.h>

#include "cql/test_util.h"
#include "runtime/rng.h"

namespace ringdb::cql {
namespace {

class ProcessorTest : public ::testing::Test {
 protected:
  QueryProcessor::Outcome query(const std::string& cql, const QueryOptions& options = {}) {
    return stack_.processor().query(cql, options, session_);
  }
  void ok(const std::string& cql) {
    auto r = query(cql);
    ASSERT_TRUE(std::holds_alternative<ResultMessage>(r))
        << cql << ": " << std::get<CqlError>(r).message;
  }
  Bytes prepare(const std::string& cql) {
    auto r = stack_.processor().prepare(cql, session_);
    EXPECT_TRUE(std::holds_alternative<ResultMessage>(r)) << cql;
    return std::holds_alternative<ResultMessage>(r) ? std::get<ResultMessage>(r).prepared_id
                                                    : Bytes();
  }
  // The same statement and values, prepared (SingleRowRead when it applies) and as text (the
  // general path): the answers must be identical, errors included.
  void expect_same(const std::string& cql, const QueryOptions& options) {
    const Bytes id = prepare(cql);
    last_id_ = id;
    auto prepared = stack_.processor().execute(id, options, session_);
    auto text = query(cql, options);
    ASSERT_EQ(prepared.index(), text.index()) << cql;
    if (auto* e = std::get_if<CqlError>(&text)) {
      EXPECT_EQ(std::get<CqlError>(prepared).code, e->code) << cql;
      EXPECT_EQ(std::get<CqlError>(prepared).message, e->message) << cql;
      return;
    }
    const auto& a = std::get<ResultMessage>(prepared);
    const auto& b = std::get<ResultMessage>(text);
    EXPECT_EQ(a.kind, b.kind) << cql;
    ASSERT_EQ(a.columns.size(), b.columns.size()) << cql;
    for (size_t i = 0; i < a.columns.size(); ++i) {
      EXPECT_EQ(a.columns[i].keyspace, b.columns[i].keyspace) << cql;
      EXPECT_EQ(a.columns[i].table, b.columns[i].table) << cql;
      EXPECT_EQ(a.columns[i].name, b.columns[i].name) << cql;
      EXPECT_EQ(a.columns[i].type, b.columns[i].type) << cql;
    }
    EXPECT_EQ(a.rows, b.rows) << cql;
    EXPECT_EQ(a.paging_state, b.paging_state) << cql;
    compared_ += 1;
    rows_seen_ += a.rows.size();
  }
  static std::optional<Bytes> int32(int32_t v) { return storage::testing::int32_value(v); }

  ManualClock clock_{1'700'000'000'000'000};
  testing::ProcessorStack stack_{clock_, 1 << 20};
  Session session_;
  Bytes last_id_;  // of the statement expect_same ran last (preparing again resets its plan)
  int compared_ = 0;
  size_t rows_seen_ = 0;
};

TEST_F(ProcessorTest, SingleRowReadsAnswerAsTheGeneralPath) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.t (k int PRIMARY KEY, v int, s text, l list<int>, m map<text, int>, "
     "f frozen<set<int>>)");
  ok("CREATE TABLE ks.c (a int, b text, v bigint, PRIMARY KEY ((a, b)))");
  ok("CREATE TABLE ks.w (k int, ck int, v int, PRIMARY KEY (k, ck))");
  SeededRng rng(42);
  for (int i = 0; i < 300; ++i) {
    const int k = static_cast<int>(rng.uniform(40));
    const std::string key = std::to_string(k);
    switch (rng.uniform(7)) {
      case 0:
        ok("INSERT INTO ks.t (k, v, s) VALUES (" + key + ", " + std::to_string(i) + ", 'x" +
           std::to_string(i) + "')");
        break;
      case 1:
        ok("UPDATE ks.t SET l = l + [" + std::to_string(i) + "], m['" + std::to_string(i % 3) +
           "'] = " + std::to_string(i) + " WHERE k = " + key);
        break;
      case 2:
        ok("UPDATE ks.t USING TTL 100 SET v = " + std::to_string(i) + " WHERE k = " + key);
        break;
      case 3:
        ok("DELETE v, s FROM ks.t WHERE k = " + key);
        break;
      case 4:
        ok("DELETE FROM ks.t WHERE k = " + key);
        break;
      case 5:
        ok("INSERT INTO ks.t (k, f) VALUES (" + key + ", {1, " + std::to_string(i) + "})");
        break;
      default:
        ok("INSERT INTO ks.c (a, b, v) VALUES (" + key + ", 'b" + std::to_string(k % 3) + "', " +
           std::to_string(i) + ")");
        ok("INSERT INTO ks.w (k, ck, v) VALUES (" + key + ", " + std::to_string(i % 4) + ", 1)");
        break;
    }
    if (i % 50 == 49) clock_.advance_seconds(30);  // some TTLs run out
  }
  const std::vector<std::string> statements = {
      "SELECT * FROM ks.t WHERE k = ?",
      "SELECT v, l AS items, m FROM ks.t WHERE k = ?",
      "SELECT k, v, v FROM ks.t WHERE k = ?",
      "SELECT f, s FROM ks.t WHERE k = ?",
  };
  for (const auto& cql : statements) {
    for (int k = 0; k < 42; ++k) {
      QueryOptions o;
      o.values = {int32(k)};
      expect_same(cql, o);
      o.skip_metadata = true;
      o.page_size = 5000;
      expect_same(cql, o);
    }
    EXPECT_TRUE(stack_.processor().has_single_row_plan(last_id_)) << cql;
  }
  for (int a = 0; a < 42; ++a) {
    QueryOptions o;
    o.values = {int32(a), Bytes("b" + std::to_string(a % 3))};
    expect_same("SELECT * FROM ks.c WHERE a = ? AND b = ?", o);
    std::swap(o.values[0], o.values[1]);
    expect_same("SELECT v, a FROM ks.c WHERE b = ? AND a = ?", o);
  }
  EXPECT_TRUE(stack_.processor().has_single_row_plan(last_id_));  // the last one: b = ? AND a = ?
  // Values the general path rejects, and executions it must take: the same answer either way.
  QueryOptions bad;
  bad.values = {Bytes("abc")};  // not a 4-byte int
  expect_same("SELECT * FROM ks.t WHERE k = ?", bad);
  bad.values = {std::nullopt};
  expect_same("SELECT * FROM ks.t WHERE k = ?", bad);
  QueryOptions one_row_pages;
  one_row_pages.values = {int32(1)};
  one_row_pages.page_size = 1;
  expect_same("SELECT * FROM ks.t WHERE k = ?", one_row_pages);
  // Statements it does not plan.
  for (const char* cql :
       {"SELECT * FROM ks.w WHERE k = ?", "SELECT writetime(v) FROM ks.t WHERE k = ?",
        "SELECT count(*) FROM ks.t WHERE k = ?", "SELECT JSON * FROM ks.t WHERE k = ?",
        "SELECT * FROM ks.t WHERE k = ? LIMIT 1"}) {
    QueryOptions o;
    o.values = {int32(3)};
    expect_same(cql, o);
    EXPECT_FALSE(stack_.processor().has_single_row_plan(last_id_)) << cql;
  }
  // A schema change plans again: the new column shows up, and a dropped table is an error.
  ok("ALTER TABLE ks.t ADD z int");
  ok("INSERT INTO ks.t (k, z) VALUES (1, 9)");
  QueryOptions o;
  o.values = {int32(1)};
  expect_same("SELECT * FROM ks.t WHERE k = ?", o);
  EXPECT_TRUE(stack_.processor().has_single_row_plan(last_id_));
  const Bytes id = prepare("SELECT * FROM ks.c WHERE a = ? AND b = ?");
  ok("DROP TABLE ks.c");
  QueryOptions c;
  c.values = {int32(1), Bytes("b1")};
  auto dropped = stack_.processor().execute(id, c, session_);
  ASSERT_TRUE(std::holds_alternative<CqlError>(dropped));
  EXPECT_EQ(std::get<CqlError>(dropped).code, ErrorCode::kInvalid);
  EXPECT_GT(compared_, 400);
  EXPECT_GT(rows_seen_, 100u);  // most keys have a row
}

// A loop gathers the prepared writes of several connections into one group (WriteGroup::append)
// and writes them at once. When one request's mutation is refused, every request must still get its
// own answer: the refused one an error, the others success, each row written or not accordingly.
TEST_F(ProcessorTest, GatheredWriteGroupsKeepEachRequestsAnswer) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
  const Bytes insert = prepare("INSERT INTO ks.t (k, v) VALUES (?, ?) USING TTL ?");
  std::map<int32_t, QueryProcessor::Outcome> answers;
  auto join = [&](QueryProcessor::WriteGroup& group, int32_t key, int32_t ttl) {
    QueryOptions o;
    o.values = {int32(key), int32(key * 10), int32(ttl)};
    QueryProcessor::Outcome answer;
    const auto joined =
        stack_.processor().try_execute_inline(insert, o, session_, group, &answer, [&answers, key] {
          return [&answers, key](QueryProcessor::Outcome outcome) { answers[key] = outcome; };
        });
    ASSERT_EQ(joined, QueryProcessor::Inline::kJoinedGroup) << key;
  };
  QueryProcessor::WriteGroup first, second, third;
  join(first, 1, 60);
  join(first, 2, 60);
  join(second, 3, 600'000'000);  // its expiry would pass 2038: the engine refuses the mutation
  join(second, 4, 60);
  join(third, 5, 60);
  first.append(std::move(second));
  first.append(std::move(third));
  EXPECT_TRUE(second.waiting.empty() && second.mutations.empty());
  ASSERT_EQ(first.waiting.size(), 5u);
  stack_.processor().apply_group(std::move(first));  // periodic commit log: answered at once
  ASSERT_EQ(answers.size(), 5u);
  for (int32_t key : {1, 2, 4, 5}) {
    EXPECT_TRUE(std::holds_alternative<ResultMessage>(answers[key])) << key;
    auto r = query("SELECT v FROM ks.t WHERE k = " + std::to_string(key));
    ASSERT_TRUE(std::holds_alternative<ResultMessage>(r));
    ASSERT_EQ(std::get<ResultMessage>(r).rows.size(), 1u) << key;
  }
  ASSERT_TRUE(std::holds_alternative<CqlError>(answers[3]));
  EXPECT_EQ(std::get<CqlError>(answers[3]).code, ErrorCode::kInvalid);
  auto r = query("SELECT v FROM ks.t WHERE k = 3");
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(r));
  EXPECT_TRUE(std::get<ResultMessage>(r).rows.empty());
}

}  // namespace
}  // namespace ringdb::cql
