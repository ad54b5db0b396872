// The query processor without a server: prepared single-row reads (SingleRowRead) answer
// exactly as the general SELECT path does, whatever the data, the values bound and the schema;
// multi-column relations select what a model of the table selects.
#include "cql/executor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <future>
#include <thread>

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
  // A big-endian 64-bit value, as bigint and timestamp values are serialized.
  static Bytes be32(int32_t v) {
    Bytes out;
    for (int i = 3; i >= 0; --i)
      out.push_back(static_cast<char>(static_cast<uint32_t>(v) >> (8 * i)));
    return out;
  }
  static Bytes be64(int64_t v) {
    Bytes out;
    for (int i = 7; i >= 0; --i)
      out.push_back(static_cast<char>(static_cast<uint64_t>(v) >> (8 * i)));
    return out;
  }
  // Each statement is refused with exactly that message.
  void expect_refused(const std::vector<std::pair<std::string, std::string>>& cases) {
    for (const auto& [cql, message] : cases) {
      auto answer = query(cql);
      ASSERT_TRUE(std::holds_alternative<CqlError>(answer)) << cql;
      EXPECT_EQ(std::get<CqlError>(answer).message, message) << cql;
    }
  }
  // Each row of the answer as the digits of its small int columns [first, last): "011".
  std::vector<std::string> digit_rows(const std::string& cql, size_t first, size_t last) {
    auto answer = query(cql);
    if (!std::holds_alternative<ResultMessage>(answer)) {
      ADD_FAILURE() << cql << ": " << std::get<CqlError>(answer).message;
      return {};
    }
    std::vector<std::string> out;
    for (const auto& row : std::get<ResultMessage>(answer).rows) {
      std::string digits;
      for (size_t i = first; i < last; ++i)
        digits += std::to_string(static_cast<uint8_t>((*row[i])[3]));
      out.push_back(std::move(digits));
    }
    return out;
  }
  // Every row of every page of `cql`, following the paging state (a failure when refused).
  std::vector<RowValues> all_pages(const std::string& cql, QueryOptions o) {
    std::vector<RowValues> out;
    for (int pages = 0; pages < 1000; ++pages) {
      auto answer = query(cql, o);
      if (!std::holds_alternative<ResultMessage>(answer)) {
        ADD_FAILURE() << cql << ": " << std::get<CqlError>(answer).message;
        return out;
      }
      const auto& result = std::get<ResultMessage>(answer);
      out.insert(out.end(), result.rows.begin(), result.rows.end());
      if (!result.paging_state) break;
      o.paging_state = result.paging_state;
    }
    return out;
  }
  // The entries that the index on ks.`table`'s `column` holds for `value` (rows of its storage).
  size_t index_entries(const std::string& table, const std::string& column, const Bytes& value) {
    const auto* t = stack_.schemas().current()->table("ks", table);
    storage::ReadCommand read;
    read.table = t->index_on(column)->storage_id;
    read.partition_key = value;
    auto p = stack_.engine().read(read);
    EXPECT_TRUE(p.is_ok());
    return p.is_ok() ? p->rows.size() : 0;
  }
  // The number of rows a statement answers (a failure when it is refused).
  size_t row_count(const std::string& cql) {
    auto answer = query(cql);
    if (!std::holds_alternative<ResultMessage>(answer)) {
      ADD_FAILURE() << cql << ": " << std::get<CqlError>(answer).message;
      return 0;
    }
    return std::get<ResultMessage>(answer).rows.size();
  }

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

// Multi-column relations ((b, c) = / IN / slices) and IN lists next to slices, on partition reads
// (one slice per IN combination, paged) and on scans (each row checked): the rows a model of the
// table selects, in clustering order for a partition.
TEST_F(ProcessorTest, MultiColumnRelationsSelectWhatAModelSelects) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.m (a int, b int, c int, d int, v int, PRIMARY KEY (a, b, c, d))");
  ok("CREATE TABLE ks.r (a int, b int, c int, d int, v int, PRIMARY KEY (a, b, c, d)) "
     "WITH CLUSTERING ORDER BY (b ASC, c DESC, d ASC)");
  using Key = std::array<int, 4>;  // a, b, c, d
  std::vector<Key> rows;
  SeededRng rng(7);
  for (int a = 0; a < 3; ++a) {
    for (int b = 0; b < 4; ++b) {
      for (int c = 0; c < 4; ++c) {
        for (int d = 0; d < 4; ++d) {
          if (rng.uniform(10) < 4) continue;
          rows.push_back({a, b, c, d});
          for (const char* t : {"m", "r"}) {
            ok("INSERT INTO ks." + std::string(t) + " (a, b, c, d, v) VALUES (" +
               std::to_string(a) + ", " + std::to_string(b) + ", " + std::to_string(c) + ", " +
               std::to_string(d) + ", 1)");
          }
        }
      }
    }
  }
  auto r = [&](int n) { return static_cast<int>(rng.uniform(static_cast<uint64_t>(n))); };
  auto num = [](int v) { return std::to_string(v); };
  auto tuple = [&](std::initializer_list<int> vs) {
    std::string out;
    for (int v : vs) out += (out.empty() ? "(" : ", ") + num(v);
    return out + ")";
  };
  // Reads every page of `cql` (pages of 1 to 4 rows when `page` is set).
  auto select_all = [&](const std::string& cql, bool page) -> std::vector<Key> {
    std::vector<Key> out;
    QueryOptions o;
    if (page) o.page_size = 1 + r(4);
    for (const auto& row : all_pages(cql, o)) {
      Key k{};
      for (size_t i = 0; i < 4; ++i) {
        const Bytes& v = *row[i];  // a 4-byte big-endian int
        k[i] = static_cast<int>((static_cast<uint32_t>(static_cast<uint8_t>(v[0])) << 24) |
                                (static_cast<uint32_t>(static_cast<uint8_t>(v[1])) << 16) |
                                (static_cast<uint32_t>(static_cast<uint8_t>(v[2])) << 8) |
                                static_cast<uint32_t>(static_cast<uint8_t>(v[3])));
      }
      out.push_back(k);
    }
    return out;
  };
  int checked = 0;
  size_t selected = 0;
  for (int i = 0; i < 300; ++i) {
    const bool reversed_c = r(2) == 0;  // ks.r: c DESC
    const std::string table = reversed_c ? "ks.r" : "ks.m";
    const int a = r(3);
    std::string where;
    std::function<bool(const Key&)> keep;
    bool scan = false;
    switch (r(6)) {  // on ks.r, slices over c and d or b, c and d mix ASC and DESC
      case 0: {      // (b, c) IN (...), maybe with d = or d >=
        std::vector<std::pair<int, int>> in;
        for (int n = 1 + r(4); n > 0; --n) in.push_back({r(4), r(4)});
        std::string list;
        for (auto [b, c] : in) list += (list.empty() ? "" : ", ") + tuple({b, c});
        where = "a = " + num(a) + " AND (b, c) IN (" + list + ")";
        const int d = r(4), op = r(3);
        if (op == 1) where += " AND d = " + num(d);
        if (op == 2) where += " AND d >= " + num(d);
        keep = [=](const Key& k) {
          const bool in_list =
              std::find(in.begin(), in.end(), std::make_pair(k[1], k[2])) != in.end();
          return k[0] == a && in_list && (op == 0 || (op == 1 ? k[3] == d : k[3] >= d));
        };
        break;
      }
      case 1: {  // (b) IN ((x), (y)) AND c = z
        const int b1 = r(4), b2 = r(4), c = r(4);
        where = "a = " + num(a) + " AND (b) IN ((" + num(b1) + "), (" + num(b2) +
                ")) AND c = " + num(c);
        keep = [=](const Key& k) { return k[0] == a && (k[1] == b1 || k[1] == b2) && k[2] == c; };
        break;
      }
      case 2: {  // scan: (b, c) IN (...)
        const int b1 = r(4), c1 = r(4), b2 = r(4), c2 = r(4);
        where = "(b, c) IN (" + tuple({b1, c1}) + ", " + tuple({b2, c2}) + ") ALLOW FILTERING";
        keep = [=](const Key& k) {
          return (k[1] == b1 && k[2] == c1) || (k[1] == b2 && k[2] == c2);
        };
        scan = true;
        break;
      }
      case 3: {  // b IN (...) AND (c, d) > (x, y) [AND (c, d) <= (u, w)]
        const int b1 = r(4), b2 = r(4), c = r(4), d = r(4), c2 = r(4), d2 = r(4);
        const bool upper = r(2) == 0;
        where = "a = " + num(a) + " AND b IN (" + num(b1) + ", " + num(b2) + ") AND (c, d) > " +
                tuple({c, d});
        if (upper) where += " AND (c, d) <= " + tuple({c2, d2});
        keep = [=](const Key& k) {
          const auto cd = std::make_pair(k[2], k[3]);
          return k[0] == a && (k[1] == b1 || k[1] == b2) && cd > std::make_pair(c, d) &&
                 (!upper || cd <= std::make_pair(c2, d2));
        };
        break;
      }
      case 4: {  // scan: (b, c) > (x, y)
        const int b = r(4), c = r(4);
        where = "(b, c) > " + tuple({b, c}) + " ALLOW FILTERING";
        keep = [=](const Key& k) { return std::make_pair(k[1], k[2]) > std::make_pair(b, c); };
        scan = true;
        break;
      }
      default: {  // (b, c, d) >= (...) AND (b, c, d) < (...)
        const Key lo{0, r(4), r(4), r(4)}, hi{0, r(4), r(4), r(4)};
        where = "a = " + num(a) + " AND (b, c, d) >= " + tuple({lo[1], lo[2], lo[3]}) +
                " AND (b, c, d) < " + tuple({hi[1], hi[2], hi[3]});
        keep = [=](const Key& k) {
          const Key x{0, k[1], k[2], k[3]};
          return k[0] == a && x >= lo && x < hi;
        };
        break;
      }
    }
    const bool desc = !scan && r(4) == 0;
    const std::string cql =
        "SELECT a, b, c, d FROM " + table + " WHERE " + where + (desc ? " ORDER BY b DESC" : "");
    std::vector<Key> expected;
    for (const auto& k : rows) {
      if (keep(k)) expected.push_back(k);
    }
    // Clustering order: b ascending, c as the table says, d ascending (all reversed by ORDER BY).
    std::sort(expected.begin(), expected.end(), [&](const Key& x, const Key& y) {
      if (x[0] != y[0]) return x[0] < y[0];
      if (x[1] != y[1]) return x[1] < y[1];
      if (x[2] != y[2]) return reversed_c ? x[2] > y[2] : x[2] < y[2];
      return x[3] < y[3];
    });
    if (desc) std::reverse(expected.begin(), expected.end());
    std::vector<Key> got = select_all(cql, r(2) == 0);
    if (scan) std::sort(got.begin(), got.end(), [](const Key& x, const Key& y) { return x < y; });
    if (scan) std::sort(expected.begin(), expected.end());
    ASSERT_EQ(got, expected) << cql;
    ++checked;
    selected += got.size();
  }
  EXPECT_EQ(checked, 300);
  EXPECT_GT(selected, 1000u);
  // Deletes take the same restrictions.
  ok("DELETE FROM ks.m WHERE a = 0 AND (b, c) IN ((1, 1), (2, 2))");
  ok("DELETE FROM ks.m WHERE a = 0 AND b IN (0, 3) AND c > 1");
  std::vector<Key> expected;
  for (const auto& k : rows) {
    const bool gone = (k[1] == 1 && k[2] == 1) || (k[1] == 2 && k[2] == 2) ||
                      ((k[1] == 0 || k[1] == 3) && k[2] > 1);
    if (k[0] == 0 && !gone) expected.push_back(k);
  }
  EXPECT_EQ(select_all("SELECT a, b, c, d FROM ks.m WHERE a = 0", false), expected);
}

// How a WHERE clause may restrict clustering columns, with Cassandra 4's messages: restrictions
// on one column merge or are refused in statement order, and without ALLOW FILTERING nothing
// may follow a slice or leave a gap. The cases are those of Cassandra's
// SelectMultiColumnRelationTest.
TEST_F(ProcessorTest, ClusteringRestrictionsAreCheckedAsCassandraDoes) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.t1 (a int, b int, c int, PRIMARY KEY (a, b))");
  ok("CREATE TABLE ks.t (a int, b int, c int, d int, v int, PRIMARY KEY (a, b, c, d))");
  for (const char* row : {"0, 0, 0", "0, 1, 0", "0, 1, 1", "1, 0, 0", "1, 1, 0", "1, 1, 1"})
    ok(std::string("INSERT INTO ks.t (a, b, c, d) VALUES (0, ") + row + ")");
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"SELECT * FROM ks.t1 WHERE a = 0 AND (b) = (0) AND (b) > (0)",
       "b cannot be restricted by more than one relation if it includes an Equal"},
      {"SELECT * FROM ks.t1 WHERE a = 0 AND (b) > (0) AND (b) > (1)",
       "More than one restriction was found for the start bound on b"},
      {"SELECT * FROM ks.t1 WHERE a = 0 AND (b) > (0) AND b > 1",
       "More than one restriction was found for the start bound on b"},
      {"SELECT * FROM ks.t1 WHERE a = 0 AND b IN (1, 2) AND b > 1",
       "b cannot be restricted by more than one relation if it includes a IN"},
      // An IN with one value is an EQ.
      {"SELECT * FROM ks.t1 WHERE a = 0 AND b IN (1) AND b > 1",
       "b cannot be restricted by more than one relation if it includes an Equal"},
      {"SELECT * FROM ks.t1 WHERE a = 0 AND b IS NOT NULL",
       "Unsupported restriction: b IS NOT NULL"},
      {"SELECT * FROM ks.t1 WHERE a = 0 AND c LIKE 'x%' ALLOW FILTERING",
       "LIKE restriction is only supported on properly indexed columns. c LIKE 'x%' is not valid."},
      {"SELECT * FROM ks.t1 WHERE token(a) IN (1, 2)", "IN cannot be used with the token function"},
      {"SELECT * FROM ks.t1 WHERE a = 0 AND b > 1 AND b = 1",
       "Column \"b\" cannot be restricted by both an equality and an inequality relation"},
      {"SELECT * FROM ks.t1 WHERE (a, b) = (0, 0)",
       "Multi-column relations can only be applied to clustering columns but was applied to: a"},
      {"SELECT * FROM ks.t1 WHERE a = 0 AND (b) != (0)", "Unsupported \"!=\" relation: (b) != (0)"},
      {"SELECT * FROM ks.t1 WHERE a = 0 AND c != 'x' ALLOW FILTERING",
       "Unsupported \"!=\" relation: c != 'x'"},
      {"SELECT * FROM ks.t WHERE a = 0 AND (b, c) > (1, 2, 3)",
       "Expected 2 elements in value tuple, but got 3: (1, 2, 3)"},
      {"SELECT * FROM ks.t WHERE a = 0 AND (b, c) > (1, null)",
       "Invalid null value in condition for column c"},
      {"SELECT * FROM ks.t WHERE a = 0 AND (d, c, b) = (0, 0, 0)",
       "Clustering columns must appear in the PRIMARY KEY order in multi-column relations: "
       "(d, c, b) = (0, 0, 0)"},
      {"SELECT * FROM ks.t WHERE a = 0 AND (b, b) = (0, 0)",
       "Column \"b\" appeared twice in a relation: (b, b) = (0, 0)"},
      {"SELECT * FROM ks.t WHERE a = 0 AND (b, c, d) IN ((0, 1))",
       "Expected 3 elements in value tuple, but got 2: (0, 1)"},
      {"SELECT * FROM ks.t WHERE a = 0 AND (c, d) = (0, 0)",
       "PRIMARY KEY column \"c\" cannot be restricted as preceding column \"b\" is not restricted"},
      {"SELECT * FROM ks.t WHERE a = 0 AND (c, d) > (0, 0)",
       "PRIMARY KEY column \"c\" cannot be restricted as preceding column \"b\" is not restricted"},
      {"SELECT * FROM ks.t WHERE a = 0 AND c = 0",
       "PRIMARY KEY column \"c\" cannot be restricted as preceding column \"b\" is not restricted"},
      {"SELECT * FROM ks.t WHERE a = 0 AND (b, c, d) = (1, 2, null)",
       "Invalid null value for column d"},
      {"SELECT * FROM ks.t WHERE a = 0 AND (b, c, d) IN ((1, 2, null))",
       "Invalid null value for column d"},
      {"SELECT * FROM ks.t WHERE a = 0 AND (b, c, d) IN ((1, 2, null), (2, 1, 4))",
       "Invalid null value in condition for columns: [b, c, d]"},
      {"SELECT * FROM ks.t WHERE a = 0 AND (b, c, d) > (0, 1, 0) AND c < 1",
       "Column \"c\" cannot be restricted by two inequalities not starting with the same column"},
      {"SELECT * FROM ks.t WHERE a = 0 AND c > 1 AND (b, c, d) < (1, 1, 0)",
       "Column \"c\" cannot be restricted by two inequalities not starting with the same column"},
      {"SELECT * FROM ks.t WHERE (c, d) IN ((0, 1))",
       "PRIMARY KEY column \"c\" cannot be restricted as preceding column \"b\" is not restricted"},
      {"SELECT * FROM ks.t WHERE a = 0 AND b > 0 AND (c, d) IN ((0, 0))",
       "Clustering column \"c\" cannot be restricted (preceding column \"b\" is restricted by a "
       "non-EQ relation)"},
      {"SELECT * FROM ks.t WHERE a = 0 AND b > 0 AND (c, d) > (0, 0)",
       "Clustering column \"c\" cannot be restricted (preceding column \"b\" is restricted by a "
       "non-EQ relation)"},
      {"SELECT * FROM ks.t WHERE a = 0 AND (c, d) > (0, 0) AND b > 0",
       "PRIMARY KEY column \"c\" cannot be restricted (preceding column \"b\" is restricted by a "
       "non-EQ relation)"},
      {"SELECT * FROM ks.t WHERE a = 0 AND (b, c) > (0, 0) AND (b) < (0) AND (c) < (0)",
       "Column \"c\" cannot be restricted by two inequalities not starting with the same column"},
      {"SELECT * FROM ks.t WHERE a = 0 AND (c) < (0) AND (b, c) > (0, 0) AND (b) < (0)",
       "Column \"c\" cannot be restricted by two inequalities not starting with the same column"},
      {"SELECT * FROM ks.t WHERE a = 0 AND (b) < (0) AND c < 0 AND (b, c) > (0, 0)",
       "Clustering column \"c\" cannot be restricted (preceding column \"b\" is restricted by a "
       "non-EQ relation)"},
      // With ALLOW FILTERING, Cassandra cannot check multi-column slices and IN row by row.
      {"SELECT * FROM ks.t WHERE a = 0 AND (c, d) > (0, 0) ALLOW FILTERING",
       "Multi-column slice restrictions cannot be used for filtering."},
      {"SELECT * FROM ks.t WHERE a = 0 AND (c, d) IN ((0, 0), (1, 1)) ALLOW FILTERING",
       "Multicolumn IN filters are not supported"},
      // Writes.
      {"UPDATE ks.t SET v = 1 WHERE a = 0 AND b = 0 AND c > 0",
       "Slice restrictions are not supported on the clustering columns in UPDATE statements"},
      {"UPDATE ks.t SET v = 1 WHERE a = 0 AND b = 0", "Some clustering keys are missing: c, d"},
      {"UPDATE ks.t SET v = 1 WHERE a = 0 AND c = 0 AND d = 0",
       "Some clustering keys are missing: b"},
      {"DELETE FROM ks.t WHERE a = 0 AND c = 0",
       "PRIMARY KEY column \"c\" cannot be restricted as preceding column \"b\" is not restricted"},
      {"DELETE v FROM ks.t WHERE a = 0 AND b = 0",
       "Range deletions are not supported for specific columns"},
  };
  for (const auto& [cql, message] : refused) {
    auto answer = query(cql);
    ASSERT_TRUE(std::holds_alternative<CqlError>(answer)) << cql;
    EXPECT_EQ(std::get<CqlError>(answer).message, message) << cql;
    EXPECT_EQ(std::get<CqlError>(answer).code, ErrorCode::kInvalid) << cql;
  }
  auto syntax = query("SELECT * FROM ks.t WHERE a = 0 AND (b, c) > ()");
  ASSERT_TRUE(std::holds_alternative<CqlError>(syntax));
  EXPECT_EQ(std::get<CqlError>(syntax).code, ErrorCode::kSyntaxError);
  // What Cassandra accepts: a tuple and a single-column slice starting at the same column merge,
  // single-column restrictions may come in any order, and filtering checks what is not a prefix.
  auto rows = [&](const std::string& cql) { return digit_rows(cql, 1, 4); };
  using Rows = std::vector<std::string>;
  EXPECT_EQ(rows("SELECT * FROM ks.t WHERE a = 0 AND (b, c, d) > (0, 1, 0) AND b < 1"),
            Rows{"011"});
  EXPECT_EQ(rows("SELECT * FROM ks.t WHERE a = 0 AND (b, c, d) > (0, 1, 0) AND (b) < (1)"),
            Rows{"011"});
  EXPECT_EQ(rows("SELECT * FROM ks.t WHERE a = 0 AND c > 0 AND b = 1"), (Rows{"110", "111"}));
  EXPECT_EQ(rows("SELECT * FROM ks.t WHERE a = 0 AND d < 1 AND (b, c) = (0, 1) AND d >= 0"),
            Rows{"010"});
  EXPECT_EQ(rows("SELECT * FROM ks.t WHERE a = 0 AND b > 0 AND d = 1 ALLOW FILTERING"),
            Rows{"111"});
  EXPECT_EQ(rows("SELECT * FROM ks.t WHERE a = 0 AND b > 0 AND c > 0 ALLOW FILTERING"),
            (Rows{"110", "111"}));
  EXPECT_EQ(rows("SELECT * FROM ks.t WHERE a = 0 AND (c, d) = (1, 1) ALLOW FILTERING"),
            (Rows{"011", "111"}));
  EXPECT_EQ(rows("SELECT * FROM ks.t WHERE a = 0 AND (b, c, d) IN ()"), Rows{});
  // PER PARTITION LIMIT counts the rows that pass the filter, not the rows read.
  ok("UPDATE ks.t SET v = 1 WHERE a = 0 AND b = 0 AND c = 1 AND d = 1");
  ok("UPDATE ks.t SET v = 1 WHERE a = 0 AND b = 1 AND c = 1 AND d = 1");
  EXPECT_EQ(rows("SELECT * FROM ks.t WHERE a = 0 AND v = 1 PER PARTITION LIMIT 1 ALLOW FILTERING"),
            Rows{"011"});
  EXPECT_EQ(rows("SELECT * FROM ks.t WHERE v = 1 PER PARTITION LIMIT 1 ALLOW FILTERING"),
            Rows{"011"});
}

// Relations on partition keys, collections and map entries, and SELECT DISTINCT, with Cassandra's
// messages.
TEST_F(ProcessorTest, RelationsOnKeysAndCollectionsAreCheckedAsCassandraDoes) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.pk2 (a text, b int, c int, d int, s int static, PRIMARY KEY ((a, b), c))");
  ok("CREATE TABLE ks.coll (a int PRIMARY KEY, b set<int>, c list<int>, d map<int, int>, "
     "e frozen<map<int, int>>)");
  ok("INSERT INTO ks.coll (a, b, d, e) VALUES (1, {1}, {0: 5, 1: 6}, {1: 6})");
  ok("INSERT INTO ks.coll (a, b, d) VALUES (2, {2}, {1: 5})");
  ok("INSERT INTO ks.pk2 (a, b, c, s) VALUES ('x', 1, 1, 7)");
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"SELECT * FROM ks.pk2 WHERE a = 'x' AND b IN (2, 2) AND b = 3",
       "b cannot be restricted by more than one relation if it includes a IN"},
      {"SELECT * FROM ks.pk2 WHERE a = 'x' AND b = 2 AND b IN (2, 3)",
       "b cannot be restricted by more than one relation if it includes an Equal"},
      {"SELECT * FROM ks.coll WHERE b = {0} ALLOW FILTERING",
       "Collection column 'b' (set<int>) cannot be restricted by a '=' relation"},
      {"SELECT * FROM ks.coll WHERE d > {0: 0} ALLOW FILTERING",
       "Collection column 'd' (map<int, int>) cannot be restricted by a '>' relation"},
      {"SELECT * FROM ks.coll WHERE c IN ([0]) ALLOW FILTERING",
       "Collection column 'c' (list<int>) cannot be restricted by a 'IN' relation"},
      {"SELECT * FROM ks.coll WHERE d[1] > 5 ALLOW FILTERING",
       "Only EQ relations are supported on map entries"},
      {"SELECT * FROM ks.coll WHERE c[1] = 5 ALLOW FILTERING",
       "Indexes on list entries (c[index] = value) are not currently supported."},
      {"SELECT * FROM ks.coll WHERE a[1] = 5 ALLOW FILTERING", "Column a cannot be used as a map"},
      {"SELECT * FROM ks.coll WHERE e[1] = 5 ALLOW FILTERING",
       "Map-entry equality predicates on frozen map column e are not supported"},
      {"SELECT * FROM ks.coll WHERE b CONTAINS KEY 1 ALLOW FILTERING",
       "Cannot use CONTAINS KEY on non-map column b"},
      {"SELECT * FROM ks.coll WHERE a CONTAINS 1 ALLOW FILTERING",
       "Cannot use CONTAINS on non-collection column a"},
      {"SELECT DISTINCT * FROM ks.coll",
       "SELECT DISTINCT queries must only request partition key columns and/or static columns "
       "(not b)"},
      {"SELECT DISTINCT a FROM ks.coll PER PARTITION LIMIT 2",
       "PER PARTITION LIMIT is not allowed with SELECT DISTINCT queries"},
      {"SELECT DISTINCT a FROM ks.pk2",
       "SELECT DISTINCT queries must request all the partition key columns (missing b)"},
      {"SELECT DISTINCT a, b FROM ks.pk2 WHERE c = 1 ALLOW FILTERING",
       "SELECT DISTINCT with WHERE clause only supports restriction by partition key and/or static "
       "columns."},
      {"DELETE FROM ks.pk2 WHERE c = 1", "Some partition key parts are missing: a, b"},
      {"UPDATE ks.pk2 SET d = 1 WHERE a = 'x' AND c = 1",
       "Some partition key parts are missing: b"},
  };
  expect_refused(refused);
  EXPECT_EQ(row_count("SELECT * FROM ks.coll WHERE d[1] = 6 ALLOW FILTERING"), 1u);
  EXPECT_EQ(row_count("SELECT * FROM ks.coll WHERE d[1] = 5 ALLOW FILTERING"), 1u);
  EXPECT_EQ(row_count("SELECT * FROM ks.coll WHERE d[0] = 5 AND d[1] = 6 ALLOW FILTERING"), 1u);
  EXPECT_EQ(row_count("SELECT * FROM ks.coll WHERE e = {1: 6} ALLOW FILTERING"), 1u);
  EXPECT_EQ(row_count("SELECT * FROM ks.coll WHERE a IN ()"), 0u);
  EXPECT_EQ(row_count("SELECT * FROM ks.pk2 WHERE a = 'x' AND b IN ()"), 0u);
  EXPECT_EQ(row_count("SELECT DISTINCT a, b, s FROM ks.pk2 WHERE s = 7 ALLOW FILTERING"), 1u);
  // token() next to key restrictions filters the selected keys by token.
  for (int a = 0; a < 20; ++a) ok("INSERT INTO ks.coll (a) VALUES (" + std::to_string(a) + ")");
  std::string in;
  for (int a = 0; a < 20; ++a) in += (a ? ", " : "") + std::to_string(a);
  const size_t above = row_count("SELECT a FROM ks.coll WHERE token(a) > 0");
  EXPECT_EQ(row_count("SELECT a FROM ks.coll WHERE a IN (" + in + ") AND token(a) > 0"), above);
  EXPECT_EQ(row_count("SELECT a FROM ks.coll WHERE a IN (" + in + ") AND token(a) <= 0") + above,
            20u);
  EXPECT_EQ(row_count("SELECT a FROM ks.coll WHERE a = 1 AND token(a) = token(1)"), 1u);
  EXPECT_EQ(row_count("SELECT a FROM ks.coll WHERE a = 1 AND token(a) > token(1)"), 0u);
  auto partial = query("SELECT * FROM ks.pk2 WHERE token(a, b) > 0 AND a = 'x'");
  ASSERT_TRUE(std::holds_alternative<CqlError>(partial));
  EXPECT_EQ(std::get<CqlError>(partial).message,
            "Partition key parts: b must be restricted as other parts are");
}

// UPDATE and DELETE restrict the primary key as Cassandra's UpdateTest expects, key errors first.
TEST_F(ProcessorTest, WritesRestrictTheKeyAsCassandraDoes) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.u (partitionkey int, clustering_1 int, value int, values set<int>, "
     "m map<int, int>, PRIMARY KEY (partitionkey, clustering_1))");
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"UPDATE ks.u SET value = 7 WHERE clustering_1 = 1",
       "Some partition key parts are missing: partitionkey"},
      {"UPDATE ks.u SET value = 7 WHERE partitionkey = 0",
       "Some clustering keys are missing: clustering_1"},
      {"UPDATE ks.u SET value = 7 WHERE token(partitionkey) = token(0) AND clustering_1 = 1",
       "The token function cannot be used in WHERE clauses for UPDATE statements"},
      {"DELETE FROM ks.u WHERE token(partitionkey) = token(0) AND clustering_1 = 1",
       "The token function cannot be used in WHERE clauses for DELETE statements"},
      {"UPDATE ks.u SET value = 7 WHERE partitionkey > 0 AND clustering_1 = 1",
       "Only EQ and IN relation are supported on the partition key (unless you use the token() "
       "function)"},
      {"UPDATE ks.u SET value = 7 WHERE partitionkey = 0 AND clustering_1 = 1 AND value = 3",
       "Non PRIMARY KEY columns found in where clause: value"},
      {"UPDATE ks.u SET values = {6} WHERE partitionkey = 0 AND value = 3",
       "Some clustering keys are missing: clustering_1"},
      {"UPDATE ks.u SET values = {6} WHERE value = 3",
       "Some partition key parts are missing: partitionkey"},
      {"DELETE FROM ks.u WHERE partitionkey = 0 AND value = 3 AND values CONTAINS 1",
       "Non PRIMARY KEY columns found in where clause: value, values"},
  };
  expect_refused(refused);
  auto twice =
      query("UPDATE ks.u SET value = 7, value = 8 WHERE partitionkey = 0 AND clustering_1 = 1");
  ASSERT_TRUE(std::holds_alternative<CqlError>(twice));
  EXPECT_EQ(std::get<CqlError>(twice).code, ErrorCode::kSyntaxError);
  EXPECT_EQ(std::get<CqlError>(twice).message, "Multiple incompatible setting of column value");
  // Operations that compose are fine.
  ok("UPDATE ks.u SET values = values + {1}, values = values - {2}, m[1] = 2, m[2] = 3 "
     "WHERE partitionkey = 0 AND clustering_1 = 1");
}

// Lightweight transactions refuse what Cassandra refuses (InsertUpdateIfConditionTest): unset
// condition values, IN on the key (even empty), conditional deletes of regular columns without the
// whole key; CONTAINS (KEY) conditions check collections.
TEST_F(ProcessorTest, ConditionsAreCheckedAsCassandraDoes) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.t (k int PRIMARY KEY, v1 int, v2 text, s set<text>, m map<text, int>)");
  ok("CREATE TABLE ks.st (k text, s text static, i int, v text, PRIMARY KEY (k, i))");
  auto error_of = [&](const std::string& cql, const QueryOptions& o = {}) {
    auto answer =
        o.values.empty() ? query(cql) : stack_.processor().execute(prepare(cql), o, session_);
    EXPECT_TRUE(std::holds_alternative<CqlError>(answer)) << cql;
    return std::holds_alternative<CqlError>(answer) ? std::get<CqlError>(answer).message
                                                    : std::string();
  };
  auto applied = [&](const std::string& cql) {
    auto answer = query(cql);
    if (!std::holds_alternative<ResultMessage>(answer)) {
      ADD_FAILURE() << cql << ": " << std::get<CqlError>(answer).message;
      return false;
    }
    const auto& rows = std::get<ResultMessage>(answer).rows;
    return !rows.empty() && rows[0][0] == Bytes(1, '\x01');
  };
  QueryOptions unset;
  unset.values = {std::nullopt};
  unset.unset = {true};
  EXPECT_EQ(error_of("UPDATE ks.t SET v1 = 3 WHERE k = 0 IF v1 = ?", unset),
            "Invalid 'unset' value in condition");
  EXPECT_EQ(error_of("UPDATE ks.t SET v1 = 3 WHERE k = 0 IF v1 < ?", unset),
            "Invalid 'unset' value in condition");
  // Nothing was written.
  EXPECT_TRUE(std::get<ResultMessage>(query("SELECT * FROM ks.t WHERE k = 0")).rows.empty());
  EXPECT_EQ(error_of("UPDATE ks.t SET v1 = 3 WHERE k = 0 IF v1 < null"),
            "Invalid comparison with null for operator \"<\"");
  EXPECT_EQ(error_of("UPDATE ks.t SET v1 = 3 WHERE k IN (0, 1) IF EXISTS"),
            "IN on the partition key is not supported with conditional updates");
  EXPECT_FALSE(applied("UPDATE ks.t SET v1 = 3 WHERE k IN (0) IF EXISTS"));  // IN (v) is k = v
  EXPECT_EQ(error_of("DELETE FROM ks.st WHERE k = 'k' AND i IN () IF EXISTS"),
            "IN on the clustering key columns is not supported with conditional deletions");
  EXPECT_EQ(error_of("DELETE FROM ks.st WHERE k = 'k' IF EXISTS"),
            "DELETE statements must restrict all PRIMARY KEY columns with equality relations in "
            "order to delete non static columns");
  EXPECT_EQ(error_of("DELETE s FROM ks.st WHERE k = 'k' IF v = 'x'"),
            "DELETE statements must restrict all PRIMARY KEY columns with equality relations in "
            "order to use IF condition on non static columns");
  EXPECT_EQ(error_of("UPDATE ks.t SET v2 = 'b' WHERE k = 0 IF v2 CONTAINS 'a'"),
            "Cannot use CONTAINS on non-collection column v2");
  EXPECT_EQ(error_of("UPDATE ks.t SET v2 = 'b' WHERE k = 0 IF s CONTAINS KEY 'a'"),
            "Cannot use CONTAINS KEY on non-map column s");
  ok("INSERT INTO ks.st (k, s, i, v) VALUES ('k', 's', 0, 'v')");
  EXPECT_TRUE(applied("DELETE s FROM ks.st WHERE k = 'k' IF s = 's'"));
  ok("INSERT INTO ks.t (k, s, m) VALUES (1, {'a'}, {'x': 1})");
  EXPECT_TRUE(
      applied("UPDATE ks.t SET v1 = 1 WHERE k = 1 IF s CONTAINS 'a' AND m CONTAINS KEY "
              "'x' AND m CONTAINS 1"));
  EXPECT_FALSE(applied("UPDATE ks.t SET v1 = 2 WHERE k = 1 IF s CONTAINS 'b'"));
  EXPECT_FALSE(applied("UPDATE ks.t SET v1 = 2 WHERE k = 1 IF m CONTAINS KEY 'y'"));
  EXPECT_FALSE(applied("UPDATE ks.t SET v1 = 2 WHERE k = 1 IF m CONTAINS 2"));
  EXPECT_FALSE(applied("UPDATE ks.t SET v1 = 2 WHERE k = 2 IF s CONTAINS 'a'"));
}

// GROUP BY follows the primary key, skipping columns restricted by = (Cassandra 4's rules).
// Cases from Cassandra 4's SelectOrderByTest: ORDER BY may skip clustering columns restricted to
// one value (CASSANDRA-10271), and a partition's static-only row sorts first ASC, last DESC.
TEST_F(ProcessorTest, OrderBySkipsColumnsRestrictedToOneValue) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.o (a int, b int, c int, d int, PRIMARY KEY (a, b, c))");
  for (int b = 0; b < 2; ++b) {
    for (int c = 0; c < 3; ++c) {
      ok("INSERT INTO ks.o (a, b, c, d) VALUES (0, " + std::to_string(b) + ", " +
         std::to_string(c) + ", " + std::to_string(b * 3 + c) + ")");
    }
  }
  auto rows = [&](const std::string& where) {
    return digit_rows("SELECT * FROM ks.o WHERE " + where, 1, 4);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(rows("a = 0 AND b = 0 ORDER BY c"), (V{"000", "011", "022"}));
  EXPECT_EQ(rows("a = 0 AND b = 0 ORDER BY c DESC"), (V{"022", "011", "000"}));
  EXPECT_EQ(rows("a = 0 AND b = 0 AND c >= 1 ORDER BY c DESC"), (V{"022", "011"}));
  EXPECT_EQ(rows("a = 0 AND b IN (1) ORDER BY c DESC"), (V{"125", "114", "103"}));
  EXPECT_EQ(rows("a = 0 AND (b, c) = (0, 0) ORDER BY c DESC"), (V{"000"}));
  EXPECT_EQ(rows("a = 0 AND (b, c) IN ((1, 1)) ORDER BY c DESC"), (V{"114"}));
  EXPECT_EQ(rows("a IN (0, 1) AND b = 0 ORDER BY c DESC LIMIT 10"), (V{"022", "011", "000"}));
  const std::string order =
      "Order by currently only supports the ordering of columns following their declared order in "
      "the PRIMARY KEY";
  expect_refused({
      {"SELECT * FROM ks.o WHERE a = 0 ORDER BY c", order},
      {"SELECT * FROM ks.o WHERE a = 0 AND b < 1 ORDER BY c DESC", order},
      {"SELECT * FROM ks.o WHERE a = 0 AND (b, c) > (0, 0) ORDER BY c", order},
      {"SELECT * FROM ks.o WHERE a = 0 AND b IN (1, 3) ORDER BY c", order},
      {"SELECT * FROM ks.o WHERE a = 0 AND (b, c) IN ((0, 0), (0, 1)) ORDER BY c", order},
      {"SELECT * FROM ks.o WHERE a = 0 AND b = 0 ORDER BY c, b", order},
      {"SELECT * FROM ks.o WHERE a = 0 ORDER BY b, c, d",
       "Order by is currently only supported on the clustered columns of the PRIMARY KEY, got d"},
  });
  // With an IN on the partition key, a partition holding only a static row sorts as the smallest.
  ok("CREATE TABLE ks.st (a int, b int, s int static, PRIMARY KEY (a, b))");
  ok("INSERT INTO ks.st (a, b) VALUES (1, 1)");
  ok("INSERT INTO ks.st (a, b) VALUES (2, 2)");
  ok("UPDATE ks.st SET s = 3 WHERE a = 3");
  auto first_column = [&](const std::string& order_by) {
    std::string out;
    for (const auto& r : digit_rows("SELECT a FROM ks.st WHERE a IN (1, 2, 3) " + order_by, 0, 1))
      out += r;
    return out;
  };
  EXPECT_EQ(first_column("ORDER BY b ASC LIMIT 10"), "312");
  EXPECT_EQ(first_column("ORDER BY b DESC LIMIT 10"), "213");
}

// Cases from Cassandra 4's TTLTest: TTL bounds, the 2038 expiry limit (REJECT policy, for
// a statement's TTL and a table's default), and table option errors with their codes.
TEST_F(ProcessorTest, TtlLimitsAreCassandras) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.t (k int PRIMARY KEY, i int)");
  ok("INSERT INTO ks.t (k, i) VALUES (1, 1) USING TTL 10");
  const std::string expiry =
      " seconds exceeds maximum supported expiration date of 2038-01-19T03:14:06+00:00. In order "
      "to avoid this use a lower TTL, change the expiration date overflow policy or upgrade to a "
      "version where this limitation is fixed. See CASSANDRA-14092 for more details.";
  expect_refused({
      {"INSERT INTO ks.t (k, i) VALUES (1, 1) USING TTL 630720001",
       "ttl is too large. requested (630720001) maximum (630720000)"},
      {"UPDATE ks.t USING TTL -1 SET i = 1 WHERE k = 2",
       "A TTL must be greater or equal to 0, but was -1"},
      {"INSERT INTO ks.t (k, i) VALUES (1, 1) USING TTL 630720000",
       "Request on table ks.t with ttl of 630720000" + expiry},
  });
  ok("CREATE TABLE ks.d (k int PRIMARY KEY, i int) WITH default_time_to_live = 630720000");
  expect_refused({{"INSERT INTO ks.d (k, i) VALUES (1, 1)",
                   "Request on table ks.d with default ttl of 630720000" + expiry}});
  ok("INSERT INTO ks.d (k, i) VALUES (1, 1) USING TTL 0");  // no expiry at all
  struct Refused {
    std::string cql, message;
    ErrorCode code;
  };
  for (const auto& r : std::vector<Refused>{
           {"CREATE TABLE ks.x (k int PRIMARY KEY) WITH default_time_to_live = -1",
            "default_time_to_live must be greater than or equal to 0 (got -1)",
            ErrorCode::kConfigError},
           {"CREATE TABLE ks.x (k int PRIMARY KEY) WITH default_time_to_live = 630720001",
            "default_time_to_live must be less than or equal to 630720000 (got 630720001)",
            ErrorCode::kConfigError},
           {"ALTER TABLE ks.t WITH gc_grace_seconds = -1",
            "gc_grace_seconds must be greater than or equal to 0 (got -1)",
            ErrorCode::kConfigError},
           {"ALTER TABLE ks.t WITH gc_grace_seconds = 'abc'",
            "Invalid integer value abc for 'gc_grace_seconds'", ErrorCode::kSyntaxError},
       }) {
    auto answer = query(r.cql);
    ASSERT_TRUE(std::holds_alternative<CqlError>(answer)) << r.cql;
    EXPECT_EQ(std::get<CqlError>(answer).message, r.message) << r.cql;
    EXPECT_EQ(std::get<CqlError>(answer).code, r.code) << r.cql;
  }
}

// Cases from Cassandra 4's AggregationTest: an aggregate inside a scalar function aggregates
// (toUnixTimestamp(max(b)) is the latest time, not the first row's), an aggregate of an aggregate
// is refused, and COUNT takes only * or 1.
TEST_F(ProcessorTest, AggregatesInsideFunctionsAggregate) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.a (a int PRIMARY KEY, b timestamp, c double)");
  ok("INSERT INTO ks.a (a, b, c) VALUES (1, 1000, 1.5)");
  ok("INSERT INTO ks.a (a, b, c) VALUES (2, 3000, 2.5)");
  ok("INSERT INTO ks.a (a, b, c) VALUES (3, 2000, 3.5)");
  auto one = [&](const std::string& cql) -> std::optional<Bytes> {
    auto answer = query(cql);
    if (!std::holds_alternative<ResultMessage>(answer)) {
      ADD_FAILURE() << cql << ": " << std::get<CqlError>(answer).message;
      return std::nullopt;
    }
    const auto& rows = std::get<ResultMessage>(answer).rows;
    EXPECT_EQ(rows.size(), 1u) << cql;
    return rows.empty() ? std::nullopt : rows[0][0];
  };
  EXPECT_EQ(one("SELECT toUnixTimestamp(max(b)) FROM ks.a"), be64(3000));
  EXPECT_EQ(one("SELECT toUnixTimestamp(min(b)), a FROM ks.a"), be64(1000));
  EXPECT_EQ(one("SELECT blobAsBigint(bigintAsBlob(count(*))) FROM ks.a"), be64(3));
  // Over no rows: the aggregate's own answer through the function (null for max, 0 for count).
  EXPECT_EQ(one("SELECT toUnixTimestamp(max(b)) FROM ks.a WHERE a = 9"), std::nullopt);
  EXPECT_EQ(one("SELECT blobAsBigint(bigintAsBlob(count(*))) FROM ks.a WHERE a = 9"), be64(0));
  expect_refused({
      {"SELECT max(sum(c)) FROM ks.a",
       "aggregate functions cannot be used as arguments of aggregate functions"},
      {"SELECT count(a, c) FROM ks.a",
       "Invalid number of arguments in call to function system.count: 1 required but 2 provided"},
  });
  auto count2 = query("SELECT COUNT(2) FROM ks.a");
  ASSERT_TRUE(std::holds_alternative<CqlError>(count2));
  EXPECT_EQ(std::get<CqlError>(count2).code, ErrorCode::kSyntaxError);
}

// Cases from Cassandra 4's CountersTest: `c = c -2` adds -2 (the lexer reads -2 as one integer),
// an unset increment changes nothing, a null one is refused.
TEST_F(ProcessorTest, CounterIncrementsAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.c (k int PRIMARY KEY, c counter)");
  auto value = [&]() -> int64_t {
    auto r = query("SELECT c FROM ks.c WHERE k = 1");
    if (!std::holds_alternative<ResultMessage>(r)) return INT64_MIN;
    const auto& rows = std::get<ResultMessage>(r).rows;
    if (rows.empty() || !rows[0][0] || rows[0][0]->size() != 8) return INT64_MIN;
    uint64_t v = 0;
    for (char b : *rows[0][0]) v = v << 8 | static_cast<uint8_t>(b);
    return static_cast<int64_t>(v);
  };
  ok("UPDATE ks.c SET c = c + 1 WHERE k = 1");
  ok("UPDATE ks.c SET c = c -4 WHERE k = 1");
  EXPECT_EQ(value(), -3);
  ok("UPDATE ks.c SET c = c- 2 WHERE k = 1");
  EXPECT_EQ(value(), -5);
  const Bytes add = prepare("UPDATE ks.c SET c = c + ? WHERE k = 1");
  QueryOptions unset;
  unset.values = {std::nullopt};
  unset.unset = {true};
  ASSERT_TRUE(
      std::holds_alternative<ResultMessage>(stack_.processor().execute(add, unset, session_)));
  EXPECT_EQ(value(), -5);
  expect_refused({
      {"UPDATE ks.c SET c = c + null WHERE k = 1", "Invalid null value for counter increment"},
      {"UPDATE ks.c SET c = c - -9223372036854775808 WHERE k = 1",
       "The negation of -9223372036854775808 overflows supported counter precision (signed 8 "
       "bytes integer)"},
  });
}

// Cassandra's BatchTest: prepends in one batch share its timestamp yet each goes before the
// earlier ones ([3, 2, 1]); they used to take the same list position, leaving only [3].
TEST_F(ProcessorTest, PrependsInOneBatchKeepTheirOrder) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.l (k int PRIMARY KEY, l list<int>)");
  ok("BEGIN BATCH UPDATE ks.l SET l = l + [1] WHERE k = 0; UPDATE ks.l SET l = l + [2] WHERE k = "
     "0; "
     "UPDATE ks.l SET l = l + [3] WHERE k = 0; APPLY BATCH");
  ok("BEGIN BATCH UPDATE ks.l SET l = [1] + l WHERE k = 1; UPDATE ks.l SET l = [2] + l WHERE k = "
     "1; "
     "UPDATE ks.l SET l = [3, 4] + l WHERE k = 1; APPLY BATCH");
  ok("UPDATE ks.l SET l = [0] + l WHERE k = 1");
  auto list = [&](int k) {
    auto r = query("SELECT toJson(l) FROM ks.l WHERE k = " + std::to_string(k));
    if (!std::holds_alternative<ResultMessage>(r)) return std::string("refused");
    const auto& rows = std::get<ResultMessage>(r).rows;
    return rows.empty() || !rows[0][0] ? std::string("none") : std::string(*rows[0][0]);
  };
  EXPECT_EQ(list(0), "[1, 2, 3]");
  EXPECT_EQ(list(1), "[0, 3, 4, 2, 1]");
}

// Cases from Cassandra 4's FrozenCollectionsTest and UpdateTest: collection operations on the
// wrong kind of column, worded as Cassandra words them (with the operation as written).
TEST_F(ProcessorTest, CollectionOperationsOnWrongColumnsAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.f (k int PRIMARY KEY, fl frozen<list<int>>, fs frozen<set<int>>, "
     "fm frozen<map<int, int>>, i int, s set<int>)");
  expect_refused({
      {"UPDATE ks.f SET fl[0] = 0 WHERE k = 0",
       "Invalid operation (fl[0] = 0) for frozen collection column fl"},
      {"UPDATE ks.f SET fl = [0] + fl WHERE k = 0",
       "Invalid operation (fl = [0] + fl) for frozen list column fl"},
      {"UPDATE ks.f SET fl = fl + [4] WHERE k = 0",
       "Invalid operation (fl = fl + [4]) for frozen collection column fl"},
      {"UPDATE ks.f SET fs = fs - {3} WHERE k = 0",
       "Invalid operation (fs = fs - {3}) for frozen collection column fs"},
      {"UPDATE ks.f SET fm = fm + {4: 4} WHERE k = 0",
       "Invalid operation (fm = fm + {4: 4}) for frozen collection column fm"},
      {"DELETE fl[0] FROM ks.f WHERE k = 0",
       "Invalid deletion operation for frozen collection column fl"},
      {"DELETE fm[0] FROM ks.f WHERE k = 0",
       "Invalid deletion operation for frozen collection column fm"},
      {"DELETE i[0] FROM ks.f WHERE k = 0",
       "Invalid deletion operation for non collection column i"},
      {"UPDATE ks.f SET i = i + 1 WHERE k = 0",
       "Invalid operation (i = i + 1) for non counter column i"},
      {"UPDATE ks.f SET i['a'] = 1 WHERE k = 0",
       "Invalid operation (i['a'] = 1) for non collection column i"},
      {"UPDATE ks.f SET s[0] = 1 WHERE k = 0", "Invalid operation (s[0] = 1) for set column s"},
      {"UPDATE ks.f SET s = {1} + s WHERE k = 0",
       "Invalid operation (s = {1} + s) for non list column s"},
  });
}

// Bound values of the wrong size are refused in Cassandra's serializers' words (CreateTest):
// tinyint, smallint, date and time take no empty value, the others do. blobAsX() checks its bytes
// the same way, also in the selection (it used to send a 1-byte int to the driver).
TEST_F(ProcessorTest, BoundValuesAreCheckedAsCassandraChecksThem) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.v (k int PRIMARY KEY, s smallint, t tinyint, i int, d date, u timeuuid, "
     "b blob)");
  struct Case {
    std::string column;
    Bytes value;
    std::string message;  // empty: accepted
  };
  const std::vector<Case> cases = {
      {"s", Bytes(4, '\0'), "Expected 2 bytes for a smallint (4)"},
      {"s", Bytes(), "Expected 2 bytes for a smallint (0)"},
      {"t", Bytes(2, '\0'), "Expected 1 byte for a tinyint (2)"},
      {"i", Bytes(2, '\0'), "Expected 4 or 0 byte int (2)"},
      {"i", Bytes(), ""},
      {"d", Bytes(), "Expected 4 byte long for date (0)"},
      {"u", Bytes(16, '\0'), "Invalid version for TimeUUID type."},
      {"u", Bytes(3, '\0'), "UUID should be 16 or 0 bytes (3)"},
  };
  for (const auto& c : cases) {
    const Bytes id = prepare("INSERT INTO ks.v (k, " + c.column + ") VALUES (1, ?)");
    QueryOptions o;
    o.values = {c.value};
    auto answer = stack_.processor().execute(id, o, session_);
    if (c.message.empty()) {
      EXPECT_TRUE(std::holds_alternative<ResultMessage>(answer)) << c.column;
      continue;
    }
    ASSERT_TRUE(std::holds_alternative<CqlError>(answer)) << c.column;
    EXPECT_EQ(std::get<CqlError>(answer).message, c.message) << c.column;
  }
  ok("INSERT INTO ks.v (k, b) VALUES (2, 0x01)");
  expect_refused({
      {"SELECT blobAsInt(b) FROM ks.v WHERE k = 2",
       "In call to function system.blobasint, value 0x01 is not a valid binary representation "
       "for type int"},
      {"INSERT INTO ks.v (k, s) VALUES (3, blobAsSmallint(0x01))",
       "In call to function system.blobassmallint, value 0x01 is not a valid binary "
       "representation for type smallint"},
  });
}

// Cases from Cassandra 4's InsertUpdateIfConditionStaticsTest: a write of static columns only is
// about the static row (IF NOT EXISTS asks whether it has data), unless a condition names a
// regular column: then it is about the row its WHERE names, which it must name whole.
TEST_F(ProcessorTest, ConditionalWritesOfStaticColumnsAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.s (pk int, ck int, st int static, v int, PRIMARY KEY (pk, ck))");
  ok("INSERT INTO ks.s (pk, ck, v) VALUES (1, 1, 2)");
  ok("INSERT INTO ks.s (pk, ck, v) VALUES (1, 5, 6)");
  // [applied] and what follows it, as digits of the int columns (n for null).
  auto answer = [&](const std::string& cql) {
    auto r = query(cql);
    if (!std::holds_alternative<ResultMessage>(r)) return "error: " + std::get<CqlError>(r).message;
    std::string out;
    for (const auto& row : std::get<ResultMessage>(r).rows) {
      out += out.empty() ? "" : " ";
      out += (*row[0])[0] ? "T" : "F";
      for (size_t i = 1; i < row.size(); ++i)
        out += row[i] ? std::to_string(static_cast<uint8_t>((*row[i])[3])) : "n";
    }
    return out;
  };
  // A failed static condition shows the partition's first row (st null) when the partition
  // exists, nothing when it does not.
  EXPECT_EQ(answer("UPDATE ks.s SET st = 1 WHERE pk = 1 IF st = 5"), "Fn");
  EXPECT_EQ(answer("UPDATE ks.s SET st = 1 WHERE pk = 9 IF st = 5"), "F");
  // The partition has rows but no static value yet: the static-only insert applies.
  EXPECT_EQ(answer("INSERT INTO ks.s (pk, st) VALUES (1, 1) IF NOT EXISTS"), "T");
  EXPECT_EQ(answer("INSERT INTO ks.s (pk, st) VALUES (1, 2) IF NOT EXISTS"), "F1112");
  // A static write with a condition on a regular column: the row the WHERE names.
  EXPECT_EQ(answer("UPDATE ks.s SET st = 3 WHERE pk = 1 AND ck = 5 IF v = 10"), "F6");
  EXPECT_EQ(answer("UPDATE ks.s SET st = 3 WHERE pk = 1 AND ck = 5 IF v = 6"), "T");
  EXPECT_EQ(answer("DELETE st FROM ks.s WHERE pk = 1 AND ck = 5 IF v = 6"), "T");
  auto st = query("SELECT st FROM ks.s WHERE pk = 1 AND ck = 1");
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(st));
  EXPECT_FALSE(std::get<ResultMessage>(st).rows.at(0)[0].has_value());  // deleted
  expect_refused({
      {"UPDATE ks.s SET st = 3 WHERE pk = 1 IF v = 4 AND st = 2",
       "Some clustering keys are missing: ck"},
      {"UPDATE ks.s SET st = 3 WHERE pk = 1 AND ck = 1 IF st = 1",
       "Invalid restrictions on clustering columns since the UPDATE statement modifies only "
       "static columns"},
  });
  // A batch whose static condition and row condition both fail shows the first row once.
  ok("UPDATE ks.s SET st = 3 WHERE pk = 1");
  EXPECT_EQ(answer("BEGIN BATCH UPDATE ks.s SET st = 4 WHERE pk = 1 IF st = 9; "
                   "UPDATE ks.s SET v = 7 WHERE pk = 1 AND ck = 1 IF v = 9; APPLY BATCH"),
            "F1132");
}

// Cases from Cassandra 4's InsertUpdateIfConditionCollectionsTest: a non-frozen collection is
// never null, only empty (l = [] and l < ['a'] hold on a null list), element access checks its
// key, CONTAINS of an unset value does not hold, and an element takes no CONTAINS.
TEST_F(ProcessorTest, CollectionConditionsAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.c (k int PRIMARY KEY, l list<text>, fl frozen<list<text>>)");
  ok("INSERT INTO ks.c (k, l, fl) VALUES (0, null, null)");
  auto applied = [&](const std::string& condition, const QueryOptions& o = {}) {
    auto r = query("UPDATE ks.c SET l = null WHERE k = 0 IF " + condition, o);
    if (!std::holds_alternative<ResultMessage>(r)) return "error: " + std::get<CqlError>(r).message;
    return std::string((*std::get<ResultMessage>(r).rows.at(0)[0])[0] ? "T" : "F");
  };
  EXPECT_EQ(applied("l = []"), "T");
  EXPECT_EQ(applied("l = null"), "T");
  EXPECT_EQ(applied("l < ['a']"), "T");
  EXPECT_EQ(applied("l IN (['b'], [])"), "T");
  EXPECT_EQ(applied("l >= ['a']"), "F");
  EXPECT_EQ(applied("fl = []"), "F");  // a frozen list is null, not empty
  EXPECT_EQ(applied("fl < ['a']"), "F");
  EXPECT_EQ(applied("l < null"), "error: Invalid comparison with null for operator \"<\"");
  QueryOptions unset;
  unset.values = {std::nullopt};
  unset.unset = {true};
  EXPECT_EQ(applied("l CONTAINS ?", unset), "F");
  ok("INSERT INTO ks.c (k, l) VALUES (0, ['foo', 'bar'])");
  EXPECT_EQ(applied("l[-2] = 'x'"), "error: Invalid negative list index -2");
  EXPECT_EQ(applied("l[null] = 'x'"), "error: Invalid null value for list element access");
  auto contains = query("UPDATE ks.c SET l = null WHERE k = 0 IF l[1] CONTAINS 'x'");
  ASSERT_TRUE(std::holds_alternative<CqlError>(contains));
  EXPECT_EQ(std::get<CqlError>(contains).code, ErrorCode::kSyntaxError);
  // A failed condition on a table without clustering columns shows the row's value.
  auto failed = query("DELETE FROM ks.c WHERE k = 0 IF l[1] = 'x'");
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(failed));
  const auto& row = std::get<ResultMessage>(failed).rows.at(0);
  ASSERT_EQ(row.size(), 2u);
  EXPECT_TRUE(row[1].has_value());
}

// AlterTest: compaction options are stored as Cassandra stores them (full class name, threshold
// defaults), and DROP ... USING TIMESTAMP says plainly that it is not supported yet.
TEST_F(ProcessorTest, TableOptionsAsCassandraStoresThem) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.c (a int PRIMARY KEY, b int) WITH compaction = {'class': "
     "'SizeTieredCompactionStrategy', 'min_threshold': 7}");
  auto r = query(
      "SELECT compaction FROM system_schema.tables WHERE keyspace_name = 'ks' AND table_name = "
      "'c'");
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(r));
  const auto& rows = std::get<ResultMessage>(r).rows;
  ASSERT_EQ(rows.size(), 1u);
  const Bytes map = *rows[0][0];
  for (const char* part : {"org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy",
                           "max_threshold", "32", "min_threshold", "7"}) {
    EXPECT_NE(map.find(part), Bytes::npos) << part;
  }
  auto drop = query("ALTER TABLE ks.c DROP b USING TIMESTAMP 20000");
  ASSERT_TRUE(std::holds_alternative<CqlError>(drop));
  EXPECT_EQ(std::get<CqlError>(drop).code, ErrorCode::kInvalid);
  EXPECT_EQ(std::get<CqlError>(drop).message,
            "ALTER TABLE ... DROP ... USING TIMESTAMP is not supported yet");
}

// Table option values are checked as Cassandra 4's TableParams, CachingParams,
// CompressionParams and SpeculativeRetryPolicy check them, and stored as Cassandra stores them.
TEST_F(ProcessorTest, TableOptionValuesAreCheckedAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.o (a int PRIMARY KEY, b int)");
  expect_refused({
      {"ALTER TABLE ks.o WITH bloom_filter_fp_chance = 0",
       "bloom_filter_fp_chance must be larger than 6.71E-5 and less than or equal to 1.0 (got "
       "0.0)"},
      {"ALTER TABLE ks.o WITH bloom_filter_fp_chance = 'x'",
       "Invalid double value x for 'bloom_filter_fp_chance'"},
      {"ALTER TABLE ks.o WITH crc_check_chance = 2",
       "crc_check_chance must be larger than or equal to 0 and smaller than or equal to 1.0 (got "
       "2.0)"},
      {"ALTER TABLE ks.o WITH speculative_retry = 'sometimes'",
       "Invalid value sometimes for option 'speculative_retry'"},
      {"ALTER TABLE ks.o WITH compression = {'class': 'Foo'}",
       "Could not create Compression for type org.apache.cassandra.io.compress.Foo"},
      {"ALTER TABLE ks.o WITH compression = {'class': 'LZ4Compressor', 'chunk_length_in_kb': 3}",
       "chunk_length_in_kb must be a power of 2"},
      {"ALTER TABLE ks.o WITH caching = {'keys': 'SOME'}",
       "Invalid value 'SOME' for caching sub-option 'keys': only 'ALL' and 'NONE' are accepted"},
      {"ALTER TABLE ks.o WITH caching = {'foo': 'x'}",
       "Invalid caching sub-options foo: only \"keys\" and \"rows_per_partition\" are allowed"},
  });
  // Stored as Cassandra prints the policy.
  for (const auto& [retry, stored] :
       std::vector<std::pair<const char*, const char*>>{{"99PERCENTILE", "99p"},
                                                        {"99.5percentile", "99.5p"},
                                                        {"50ms", "50ms"},
                                                        {"none", "NONE"},
                                                        {"ALWAYS", "ALWAYS"},
                                                        {"min(50ms, 99p)", "MIN(99p,50ms)"}}) {
    ok(std::string("ALTER TABLE ks.o WITH speculative_retry = '") + retry + "'");
    auto policy = query(
        "SELECT speculative_retry FROM system_schema.tables WHERE keyspace_name = 'ks' AND "
        "table_name = 'o'");
    ASSERT_TRUE(std::holds_alternative<ResultMessage>(policy));
    EXPECT_EQ(*std::get<ResultMessage>(policy).rows.at(0)[0], stored) << retry;
  }
  ok("ALTER TABLE ks.o WITH bloom_filter_fp_chance = 0.01 AND crc_check_chance = 0.5 AND "
     "caching = {'rows_per_partition': '10'} AND compression = {'class': 'ZstdCompressor'}");
  auto r = query(
      "SELECT caching, compression FROM system_schema.tables WHERE keyspace_name = 'ks' AND "
      "table_name = 'o'");
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(r));
  const auto& row = std::get<ResultMessage>(r).rows.at(0);
  for (const char* part : {"keys", "ALL", "rows_per_partition", "10"})
    EXPECT_NE(row[0]->find(part), Bytes::npos) << part;
  for (const char* part : {"org.apache.cassandra.io.compress.ZstdCompressor", "16"})
    EXPECT_NE(row[1]->find(part), Bytes::npos) << part;
}

// Cases from Cassandra 4's SelectTest: aliases are refused in WHERE and ORDER BY in Cassandra's
// words, an unknown ORDER BY column is named as such, and a filter on a regular column asks for
// ALLOW FILTERING before its value is looked at (Cassandra checks one when it prepares, the other
// when it binds).
TEST_F(ProcessorTest, SelectRefusalsInCassandrasOrder) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.a (id int PRIMARY KEY, name text, c int)");
  const std::string filtering =
      "Cannot execute this query as it might involve data filtering and thus may have "
      "unpredictable performance. If you want to execute this query despite the performance "
      "unpredictability, use ALLOW FILTERING";
  expect_refused({
      {"SELECT id AS user_id, name AS user_name FROM ks.a WHERE user_id = 0",
       "Aliases aren't allowed in the where clause ('user_id = 0')"},
      {"SELECT id AS user_id, name AS user_name FROM ks.a WHERE id IN (0) ORDER BY user_name",
       "Aliases are not allowed in order by clause ('user_name')"},
      {"SELECT * FROM ks.a WHERE id IN (0) ORDER BY nope", "Order by on unknown column nope"},
      {"SELECT * FROM ks.a WHERE c = null", filtering},
      {"SELECT * FROM ks.a WHERE c = null ALLOW FILTERING", "Unsupported null value for column c"},
  });
}

// Cases from Cassandra 4's AlterTest: a dropped column is remembered (system_schema.
// dropped_columns) and may come back only with a type that reads its values and the same kind.
TEST_F(ProcessorTest, DroppedColumnsComeBackAsCassandraAllows) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.t (a int, b int, m map<int, int>, f frozen<list<int>>, s int static, "
     "PRIMARY KEY (a, b))");
  ok("INSERT INTO ks.t (a, b, m) VALUES (1, 1, {1: 1})");
  ok("ALTER TABLE ks.t DROP m");
  ok("ALTER TABLE ks.t DROP f");
  ok("ALTER TABLE ks.t DROP s");
  expect_refused({
      {"ALTER TABLE ks.t ADD m blob",
       "Cannot re-add previously dropped column 'm' of type blob, incompatible with previous type "
       "map<int, int>"},
      {"ALTER TABLE ks.t ADD m map<text, int>",
       "Cannot re-add previously dropped column 'm' of type map<text, int>, incompatible with "
       "previous type map<int, int>"},
      {"ALTER TABLE ks.t ADD s int",
       "Cannot re-add previously dropped column 's' of kind REGULAR, incompatible with previous "
       "kind STATIC"},
  });
  ok("ALTER TABLE ks.t ADD f blob");  // a frozen value reads as a blob
  ok("ALTER TABLE ks.t ADD m map<int, int>");
  auto m = query("SELECT m FROM ks.t WHERE a = 1");  // the dropped column's cells stay gone
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(m));
  EXPECT_FALSE(std::get<ResultMessage>(m).rows.at(0)[0].has_value());
  auto dropped = query(
      "SELECT column_name, kind, type FROM system_schema.dropped_columns WHERE keyspace_name = "
      "'ks' AND table_name = 't'");
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(dropped));
  std::vector<std::string> names;
  for (const auto& row : std::get<ResultMessage>(dropped).rows)
    names.push_back(*row[0] + "/" + *row[1] + "/" + *row[2]);
  EXPECT_EQ(names, (std::vector<std::string>{"f/regular/frozen<list<int>>",
                                             "m/regular/map<int, int>", "s/static/int"}));
}

// The node's own keyspaces (system, system_schema) take no schema change and no write: Cassandra
// answers Unauthorized, in these words. Reading them stays open.
TEST_F(ProcessorTest, SystemKeyspacesAreNotUserModifiable) {
  for (const char* cql :
       {"CREATE TABLE system.foo (k int PRIMARY KEY)", "DROP KEYSPACE system",
        "ALTER KEYSPACE system WITH durable_writes = false", "DROP TABLE system_schema.tables",
        "INSERT INTO system.local (key) VALUES ('x')", "TRUNCATE system.local",
        "DELETE FROM system.local WHERE key = 'local'"}) {
    auto answer = query(cql);
    ASSERT_TRUE(std::holds_alternative<CqlError>(answer)) << cql;
    const auto& e = std::get<CqlError>(answer);
    EXPECT_EQ(e.code, ErrorCode::kUnauthorized) << cql;
    const std::string ks =
        std::string(cql).find("system_schema") != std::string::npos ? "system_schema" : "system";
    EXPECT_EQ(e.message, ks + " keyspace is not user-modifiable.") << cql;
  }
  EXPECT_TRUE(std::holds_alternative<ResultMessage>(query("SELECT key FROM system.local")));
}

// Cassandra 4's DropTypeStatement: a missing type, in a keyspace or not, "doesn't exist", and
// IF EXISTS does nothing.
TEST_F(ProcessorTest, DropTypeOfNoType) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  expect_refused({{"DROP TYPE ks.nope", "Type 'ks.nope' doesn't exist"},
                  {"DROP TYPE nokeyspace.nope", "Type 'nokeyspace.nope' doesn't exist"}});
  ok("DROP TYPE IF EXISTS ks.nope");
  ok("DROP TYPE IF EXISTS nokeyspace.nope");
}

TEST_F(ProcessorTest, GroupBySkipsColumnsRestrictedByEquality) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.g (a int, b int, c int, d int, e int, PRIMARY KEY (a, b, c, d))");
  ok("CREATE TABLE ks.g2 (a int, b int, c int, v int, PRIMARY KEY ((a, b), c))");
  for (const char* row : {"1, 2, 1, 3, 6", "1, 2, 2, 6, 12", "1, 3, 2, 12, 24", "2, 2, 3, 3, 6"})
    ok(std::string("INSERT INTO ks.g (a, b, c, d, e) VALUES (") + row + ")");
  EXPECT_EQ(row_count("SELECT b, c, count(*) FROM ks.g WHERE a = 1 GROUP BY b, c"), 3u);
  EXPECT_EQ(row_count("SELECT b, count(*) FROM ks.g WHERE a = 1 GROUP BY b"), 2u);
  EXPECT_EQ(row_count("SELECT c, count(*) FROM ks.g WHERE a = 1 AND b = 2 GROUP BY c"), 2u);
  EXPECT_EQ(row_count("SELECT a, count(*) FROM ks.g GROUP BY a"), 2u);
  const std::string order =
      "Group by currently only support groups of columns following their declared order in the "
      "PRIMARY KEY";
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"SELECT count(*) FROM ks.g WHERE a = 1 GROUP BY c", order},
      {"SELECT count(*) FROM ks.g GROUP BY b", order},
      {"SELECT count(*) FROM ks.g WHERE a = 1 GROUP BY b, b", order},
      {"SELECT count(*) FROM ks.g WHERE a = 1 GROUP BY b, e",
       "Group by is currently only supported on the columns of the PRIMARY KEY, got e"},
      {"SELECT count(*) FROM ks.g2 GROUP BY a",
       "Group by is not supported on only a part of the partition key"},
      {"SELECT DISTINCT a, count(a) FROM ks.g GROUP BY a, b",
       "Grouping on clustering columns is not allowed for SELECT DISTINCT queries"},
  };
  expect_refused(refused);
}

// CREATE TABLE refuses what Cassandra 4's CreateTableStatement refuses, in its words and order
// (an existing table is reported before its new definition is checked).
TEST_F(ProcessorTest, CreateTableRefusalsAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.t (k int PRIMARY KEY)");
  expect_refused({
      {"CREATE TABLE nokeyspace.t (k int PRIMARY KEY)", "Keyspace 'nokeyspace' doesn't exist"},
      {"CREATE TABLE ks.t (k int, v int)",
       "No PRIMARY KEY specifed for table 'ks.t' (exactly one "
       "required)"},
      {"CREATE TABLE ks.x (k int PRIMARY KEY, k int)",
       "Duplicate column 'k' declaration for table 'ks.x'"},
      {"CREATE TABLE ks.x (k int PRIMARY KEY, v int, PRIMARY KEY (k))",
       "Multiple PRIMARY KEY specified for table 'ks.x' (exactly one required)"},
      {"CREATE TABLE ks.x (k int, v int, PRIMARY KEY (k, nope))",
       "Unknown column 'nope' referenced in PRIMARY KEY for table 'x'"},
      {"CREATE TABLE ks.x (k int, v int, PRIMARY KEY (k, k))",
       "Duplicate column 'k' in PRIMARY KEY clause for table 'x'"},
      {"CREATE TABLE ks.x (k int, c list<int>, PRIMARY KEY (k, c))",
       "Invalid non-frozen collection type list<int> for PRIMARY KEY column 'c'"},
      {"CREATE TABLE ks.x (k int, s int static, c int, PRIMARY KEY (k, s))",
       "Static column 's' cannot be part of the PRIMARY KEY"},
      {"CREATE TABLE ks.x (k int, c int, d int, PRIMARY KEY (k, c, d)) "
       "WITH CLUSTERING ORDER BY (c DESC)",
       "Clustering key columns must exactly match columns in CLUSTERING ORDER BY directive"},
      {"CREATE TABLE ks.x (k int, c int, d int, PRIMARY KEY (k, c, d)) "
       "WITH CLUSTERING ORDER BY (d DESC, c ASC)",
       "Clustering key columns must exactly match columns in CLUSTERING ORDER BY directive"},
      {"CREATE TABLE ks.x (k int, c int, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC, "
       "c ASC)",
       "Duplicate column 'c' in CLUSTERING ORDER BY clause for table 'ks.x'"},
      {"ALTER KEYSPACE nokeyspace WITH durable_writes = true",
       "Keyspace 'nokeyspace' doesn't exist"},
      {"DROP TABLE nokeyspace.t", "Table 'nokeyspace.t' doesn't exist"},
  });
  auto exists = query("CREATE TABLE ks.t (k int, v int, PRIMARY KEY (k, nope))");
  ASSERT_TRUE(std::holds_alternative<CqlError>(exists));
  EXPECT_EQ(std::get<CqlError>(exists).code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(std::get<CqlError>(exists).message,
            "Cannot add already existing table \"t\" to keyspace \"ks\"");
  auto keyspace = query(
      "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ASSERT_TRUE(std::holds_alternative<CqlError>(keyspace));
  EXPECT_EQ(std::get<CqlError>(keyspace).message, "Cannot add existing keyspace \"ks\"");
  ok("CREATE TABLE IF NOT EXISTS ks.t (k int, v int, PRIMARY KEY (k, nope))");
  ok("DROP TABLE IF EXISTS nokeyspace.t");
}

// system_auth, system_distributed and system_traces exist with Cassandra's tables (and table
// ids); operators may ALTER their replication, not change their tables.
TEST_F(ProcessorTest, ReplicatedSystemKeyspacesAsCassandra) {
  auto ids = query(
      "SELECT table_name, id FROM system_schema.tables WHERE keyspace_name = 'system_traces'");
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(ids));
  const auto& rows = std::get<ResultMessage>(ids).rows;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(*rows[0][0], "events");
  EXPECT_EQ(to_hex(*rows[0][1]), "8826e8e9e16a372887533bc1fc713c25");  // Cassandra's own
  for (const char* table : {"system_auth.roles", "system_auth.role_members",
                            "system_auth.role_permissions", "system_distributed.repair_history",
                            "system_distributed.parent_repair_history", "system_traces.sessions"}) {
    EXPECT_EQ(row_count(std::string("SELECT * FROM ") + table), 0u) << table;
  }
  ok("ALTER KEYSPACE system_auth WITH replication = {'class': 'SimpleStrategy', "
     "'replication_factor': 3}");
  expect_refused({
      {"DROP KEYSPACE system_auth", "Cannot DROP <keyspace system_auth>"},
      {"CREATE TABLE system_auth.x (k int PRIMARY KEY)", "Cannot CREATE <keyspace system_auth>"},
      {"ALTER TABLE system_auth.roles ADD x int", "Cannot ALTER <table system_auth.roles>"},
      {"DROP TABLE system_traces.events", "Cannot DROP <table system_traces.events>"},
  });
  EXPECT_EQ(std::get<CqlError>(query("DROP KEYSPACE system_traces")).code,
            ErrorCode::kUnauthorized);
  auto exists = query(
      "CREATE KEYSPACE system_auth WITH replication = {'class': 'SimpleStrategy', "
      "'replication_factor': 1}");
  ASSERT_TRUE(std::holds_alternative<CqlError>(exists));
  EXPECT_EQ(std::get<CqlError>(exists).code, ErrorCode::kAlreadyExists);
}

// Keyspace properties as Cassandra 4's KeyspaceAttributes reads them.
TEST_F(ProcessorTest, KeyspacePropertiesAsCassandra) {
  expect_refused({
      {"CREATE KEYSPACE k1 WITH foo = 1", "Unknown property 'foo'"},
      {"CREATE KEYSPACE k1 WITH durable_writes = false", "Missing mandatory option 'replication'"},
      {"CREATE KEYSPACE k1 WITH replication = 'x'",
       "Invalid value for property 'replication'. It should be a map."},
      {"CREATE KEYSPACE k1 WITH replication = {'class': 'SimpleStrategy', "
       "'replication_factor': 1} AND durable_writes = 'maybe'",
       "Invalid boolean value maybe for 'durable_writes'. Valid values are 'true' or 'false'."},
  });
  ok("CREATE KEYSPACE k1 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1} "
     "AND durable_writes = 'no'");
  auto durable =
      query("SELECT durable_writes FROM system_schema.keyspaces WHERE keyspace_name = 'k1'");
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(durable));
  ASSERT_EQ(std::get<ResultMessage>(durable).rows.size(), 1u);
  EXPECT_EQ(std::get<ResultMessage>(durable).rows[0][0], Bytes(1, '\0'));
}

// ALTER TABLE refuses what Cassandra 4's AlterTableStatement refuses, in its words; a counter
// table stays one when its counters are dropped.
TEST_F(ProcessorTest, AlterTableRefusalsAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.t (k int, c int, v int, PRIMARY KEY (k, c))");
  ok("CREATE TABLE ks.p (k int PRIMARY KEY, v int)");
  ok("CREATE TABLE ks.n (k int PRIMARY KEY, n counter)");
  expect_refused({
      {"ALTER TABLE ks.t ADD v text", "Column with name 'v' already exists"},
      {"ALTER TABLE ks.t ADD (x int, x text)", "Column with name 'x' already exists"},
      {"ALTER TABLE ks.t DROP nope", "Column nope was not found in table 'ks.t'"},
      {"ALTER TABLE ks.t DROP c", "Cannot drop PRIMARY KEY column c"},
      {"ALTER TABLE ks.t RENAME nope TO x", "Column nope was not found in table ks.t"},
      {"ALTER TABLE ks.t RENAME v TO x", "Cannot rename non PRIMARY KEY column v"},
      {"ALTER TABLE ks.t RENAME c TO v",
       "Cannot rename column c to v in table 'ks.t'; another column with that name already "
       "exists"},
      {"ALTER TABLE ks.nope ADD x int", "Table 'ks.nope' doesn't exist"},
      {"ALTER TABLE nokeyspace.nope ADD x int", "Table 'nokeyspace.nope' doesn't exist"},
      {"ALTER TABLE ks.p ADD s int static",
       "Static columns are only useful (and thus allowed) if the table has at least one "
       "clustering column"},
      {"ALTER TABLE ks.n WITH default_time_to_live = 10",
       "Cannot set default_time_to_live on a table with counters"},
      {"ALTER TABLE ks.p ADD x counter",
       "Cannot have a counter column (\"x\") in a non counter table"},
      {"ALTER TABLE ks.n ADD x int", "Cannot have a non counter column (\"x\") in a counter table"},
  });
  EXPECT_EQ(std::get<CqlError>(query("ALTER TABLE ks.p ADD x counter")).code,
            ErrorCode::kConfigError);
  ok("CREATE TABLE ks.\"Mixed\" (k int PRIMARY KEY)");
  expect_refused({{"ALTER TABLE ks.\"Mixed\" DROP nope",
                   "Column nope was not found in table 'ks.\"Mixed\"'"}});
  ok("ALTER TABLE ks.t DROP (v, v)");  // a column named twice is dropped once
  ok("ALTER TABLE ks.n DROP n");
  expect_refused(
      {{"ALTER TABLE ks.n ADD n counter", "Cannot re-add previously dropped counter column n"},
       {"ALTER TABLE ks.n ADD x int",
        "Cannot have a non counter column (\"x\") in a counter table"}});
  ok("ALTER TABLE ks.n ADD x counter");
}

// A token-range read that runs past range_request_timeout_in_ms answers ReadTimeout, as
// Cassandra's coordinator does (a budget below zero makes the first page late); reads of named
// partitions are not range reads, and have read_request_timeout_in_ms.
TEST_F(ProcessorTest, RangeReadsTimeOutAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.r (k int PRIMARY KEY, v int)");
  ok("INSERT INTO ks.r (k, v) VALUES (1, 1)");
  stack_.processor().set_range_request_timeout_micros(-1);
  for (const char* cql : {"SELECT * FROM ks.r", "SELECT count(*) FROM ks.r",
                          "SELECT * FROM ks.r WHERE v = 1 ALLOW FILTERING"}) {
    auto answer = query(cql);
    ASSERT_TRUE(std::holds_alternative<CqlError>(answer)) << cql;
    const auto& e = std::get<CqlError>(answer);
    EXPECT_EQ(e.code, ErrorCode::kReadTimeout) << cql;
    EXPECT_EQ(e.message, "Operation timed out - received only 0 responses.");
    EXPECT_EQ(e.required, 1);
    EXPECT_EQ(e.alive, 0);
  }
  EXPECT_EQ(row_count("SELECT * FROM ks.r WHERE k = 1"), 1u);
  stack_.processor().set_range_request_timeout_micros(10'000'000);
  EXPECT_EQ(row_count("SELECT * FROM ks.r"), 1u);
  // Named partitions have read_request_timeout_in_ms.
  stack_.processor().set_read_request_timeout_micros(-1);
  for (const char* cql : {"SELECT * FROM ks.r WHERE k = 1", "SELECT * FROM ks.r WHERE k IN (1, 2)",
                          "SELECT count(*) FROM ks.r WHERE k = 1 AND v = 1 ALLOW FILTERING"}) {
    auto answer = query(cql);
    ASSERT_TRUE(std::holds_alternative<CqlError>(answer)) << cql;
    EXPECT_EQ(std::get<CqlError>(answer).code, ErrorCode::kReadTimeout) << cql;
  }
  EXPECT_EQ(row_count("SELECT * FROM ks.r"), 1u);  // a range read is not
  stack_.processor().set_read_request_timeout_micros(5'000'000);
  EXPECT_EQ(row_count("SELECT * FROM ks.r WHERE k IN (1, 2)"), 1u);
}

// A prepared BATCH routes by the first markers of its key columns when all its statements name
// one table, as Cassandra's BatchStatement does, and not at all otherwise.
TEST_F(ProcessorTest, PreparedBatchesRouteAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.a (k int, c int, v int, PRIMARY KEY (k, c))");
  ok("CREATE TABLE ks.b (k int PRIMARY KEY, v int)");
  auto routing = [&](const std::string& cql) {
    auto r = stack_.processor().prepare(cql, session_);
    EXPECT_TRUE(std::holds_alternative<ResultMessage>(r)) << cql;
    return std::holds_alternative<ResultMessage>(r)
               ? std::get<ResultMessage>(r).partition_key_indexes
               : std::vector<uint16_t>{};
  };
  EXPECT_EQ(routing("BEGIN BATCH USING TIMESTAMP ? INSERT INTO ks.a (k, c, v) VALUES (?, ?, ?); "
                    "DELETE FROM ks.a WHERE k = ? AND c = ? APPLY BATCH"),
            (std::vector<uint16_t>{1}));
  EXPECT_TRUE(routing("BEGIN BATCH INSERT INTO ks.a (k, c, v) VALUES (?, ?, ?); "
                      "INSERT INTO ks.b (k, v) VALUES (?, ?) APPLY BATCH")
                  .empty());
}

// Paging over a table with static columns returns what one unpaged query returns, at every page
// size: each row with its partition's static values, and a partition of static data only as one
// row. (A page that ended right after a static row used to hide its partition's rows, and rows
// after a resumed page lost their static values.)
TEST_F(ProcessorTest, PagesOverStaticColumnsMatchOneRead) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.s (a int, b int, s int static, c int, PRIMARY KEY (a, b))");
  SeededRng rng(11);
  for (int a = 0; a < 12; ++a) {
    const int kind = static_cast<int>(rng.uniform(4));  // static only, rows only, both, nothing
    if (kind == 0 || kind == 2)
      ok("UPDATE ks.s SET s = " + std::to_string(a) + " WHERE a = " + std::to_string(a));
    if (kind == 1 || kind == 2) {
      for (int b = 0, n = 1 + static_cast<int>(rng.uniform(4)); b < n; ++b) {
        ok("INSERT INTO ks.s (a, b, c) VALUES (" + std::to_string(a) + ", " + std::to_string(b) +
           ", " + std::to_string(b % 2) + ")");
      }
    }
  }
  // Every row of every page, as text.
  auto read_all = [&](const std::string& cql, int32_t page_size) {
    QueryOptions o;
    o.page_size = page_size;
    std::vector<std::string> out;
    for (const auto& row : all_pages(cql, o)) {
      std::string text;
      for (const auto& v : row) text += (v ? to_hex(*v) : std::string("null")) + " ";
      out.push_back(text);
    }
    return out;
  };
  for (const char* cql :
       {"SELECT * FROM ks.s", "SELECT a, b, s FROM ks.s WHERE s >= 1 ALLOW FILTERING",
        "SELECT * FROM ks.s WHERE c = 1 ALLOW FILTERING", "SELECT a, s FROM ks.s",
        "SELECT * FROM ks.s WHERE s >= 1 LIMIT 5 ALLOW FILTERING"}) {
    const auto whole = read_all(cql, 0);
    EXPECT_FALSE(whole.empty()) << cql;
    for (int32_t page_size = 1; page_size <= 6; ++page_size)
      EXPECT_EQ(read_all(cql, page_size), whole) << cql << " in pages of " << page_size;
  }
}

// Cases from Cassandra 4's SelectSingleColumnRelationTest and SelectMultiColumnRelationTest:
// unset values in relations are refused in Cassandra's words (a tuple's field by its number, a
// whole tuple as "tuple (i,j)"), an unset LIMIT is no limit, and an IN may list 10,000 values.
TEST_F(ProcessorTest, UnsetValuesInRelationsAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.t (k int, i int, j int, s text, PRIMARY KEY (k, i, j))");
  ok("INSERT INTO ks.t (k, i, j) VALUES (1, 0, 0)");
  ok("INSERT INTO ks.t (k, i, j) VALUES (2, 0, 0)");
  // Values for the statement's markers: "u" unset, "n" null, digits an int.
  auto values = [&](const std::string& spec) {
    QueryOptions o;
    for (char c : spec) {
      o.values.push_back(c == 'u' || c == 'n' ? std::nullopt : std::optional<Bytes>(be32(c - '0')));
      o.unset.push_back(c == 'u');
    }
    return o;
  };
  auto error_of = [&](const std::string& cql, const std::string& spec) {
    auto answer = stack_.processor().execute(prepare(cql), values(spec), session_);
    EXPECT_TRUE(std::holds_alternative<CqlError>(answer)) << cql;
    return std::holds_alternative<CqlError>(answer) ? std::get<CqlError>(answer).message
                                                    : std::string();
  };
  struct Case {
    const char* cql;
    const char* values;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {"SELECT * FROM ks.t WHERE k = ?", "u", "Invalid unset value for column k"},
           {"SELECT * FROM ks.t WHERE k IN (?, ?)", "1u", "Invalid unset value for column k"},
           {"SELECT * FROM ks.t WHERE k = 1 AND i > ?", "u", "Invalid unset value for column i"},
           {"SELECT * FROM ks.t WHERE (i, j) = (?, ?) ALLOW FILTERING", "u1",
            "Invalid unset value for tuple field number 0"},
           {"SELECT * FROM ks.t WHERE (i, j) IN ((?, ?)) ALLOW FILTERING", "u1",
            "Invalid unset value for tuple field number 0"},
           {"SELECT * FROM ks.t WHERE (i, j) > (1, ?) ALLOW FILTERING", "u",
            "Invalid unset value for tuple field number 1"},
           {"SELECT * FROM ks.t WHERE (i, j) = ? ALLOW FILTERING", "u",
            "Invalid unset value for tuple (i,j)"},
           {"SELECT * FROM ks.t WHERE i = ? AND (j) > ? ALLOW FILTERING", "1u",
            "Invalid unset value for tuple (j)"},
           {"SELECT * FROM ks.t WHERE (i, j) IN ? ALLOW FILTERING", "u",
            "Invalid unset value for in(i,j)"},
           {"SELECT * FROM ks.t WHERE token(k) >= token(?)", "u",
            "Invalid unset value for argument in call to function token"},
           {"SELECT * FROM ks.t LIMIT ?", "n", "Invalid null value of limit"},
       }) {
    EXPECT_EQ(error_of(c.cql, c.values), c.message) << c.cql;
  }
  // An unset LIMIT (or PER PARTITION LIMIT) is no limit.
  EXPECT_EQ(
      std::get<ResultMessage>(
          stack_.processor().execute(prepare("SELECT k FROM ks.t LIMIT ?"), values("u"), session_))
          .rows.size(),
      2u);
  EXPECT_EQ(std::get<ResultMessage>(
                stack_.processor().execute(prepare("SELECT k FROM ks.t PER PARTITION LIMIT ?"),
                                           values("u"), session_))
                .rows.size(),
            2u);
  // An IN of 10,000 clustering values.
  std::string in;
  for (int v = 0; v < 10'000; ++v) in += (v ? ", " : "") + std::to_string(v);
  EXPECT_EQ(row_count("SELECT * FROM ks.t WHERE k = 1 AND i = 0 AND j IN (" + in + ")"), 1u);
  expect_refused({{"SELECT * FROM ks.t WHERE k = 1 AND i IS NOT NULL",
                   "Unsupported restriction: i IS NOT NULL"}});
}

// Cases from Cassandra 4's SelectGroupByTest: with GROUP BY, LIMIT and PER PARTITION LIMIT count
// groups, not rows, and ORDER BY over several partitions orders the groups by their first rows.
TEST_F(ProcessorTest, GroupByLimitsCountGroupsAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.g (a int, b int, c int, d int, e int, PRIMARY KEY (a, b, c, d))");
  for (const char* row :
       {"1, 2, 1, 3, 6", "1, 2, 2, 6, 12", "1, 3, 2, 12, 24", "1, 4, 2, 12, 24", "1, 4, 2, 6, 12",
        "2, 2, 3, 3, 6", "2, 4, 3, 6, 12", "3, 3, 2, 12, 24", "4, 8, 2, 12, 24"})
    ok(std::string("INSERT INTO ks.g (a, b, c, d, e) VALUES (") + row + ")");
  ok("DELETE FROM ks.g WHERE a = 1 AND b = 3 AND c = 2 AND d = 12");
  ok("DELETE FROM ks.g WHERE a = 3");
  // Each row as a, b, then max(e) or c.
  auto rows = [&](const std::string& cql) { return digit_rows(cql, 0, 3); };
  using V = std::vector<std::string>;
  // Token order of the partitions: 1, 2, 4.
  EXPECT_EQ(rows("SELECT a, b, max(e) FROM ks.g GROUP BY a, b PER PARTITION LIMIT 1"),
            (V{"1212", "226", "4824"}));
  EXPECT_EQ(rows("SELECT a, b, max(e) FROM ks.g GROUP BY a PER PARTITION LIMIT 2"),
            (V{"1224", "2212", "4824"}));
  EXPECT_EQ(rows("SELECT a, b, max(e) FROM ks.g GROUP BY a, b PER PARTITION LIMIT 1 LIMIT 2"),
            (V{"1212", "226"}));
  EXPECT_EQ(rows("SELECT a, b, c FROM ks.g WHERE a = 1 GROUP BY a, b PER PARTITION LIMIT 2"),
            (V{"121", "142"}));
  EXPECT_EQ(rows("SELECT a, b, max(e) FROM ks.g WHERE a IN (1, 2, 4) GROUP BY a, b, c "
                 "PER PARTITION LIMIT 2"),
            (V{"126", "1212", "226", "2412", "4824"}));
  // Reversed, the first row of group (1, 4, 2) is (1, 4, 2, 12, 24): max(e) of both rows.
  EXPECT_EQ(rows("SELECT a, b, max(e) FROM ks.g WHERE a = 1 GROUP BY a, b, c "
                 "ORDER BY b DESC, c DESC PER PARTITION LIMIT 1"),
            (V{"1424"}));
  EXPECT_EQ(rows("SELECT a, b, c FROM ks.g WHERE a IN (1, 2, 4) GROUP BY a, b "
                 "ORDER BY b DESC, c DESC"),
            (V{"482", "243", "142", "223", "122"}));
  EXPECT_EQ(rows("SELECT a, b, c FROM ks.g WHERE a IN (1, 2, 4) GROUP BY a, b, c "
                 "ORDER BY b DESC, c DESC LIMIT 3"),
            (V{"482", "243", "142"}));
  // DISTINCT still reads one row per partition.
  EXPECT_EQ(row_count("SELECT DISTINCT a, count(a) FROM ks.g GROUP BY a"), 3u);
}

// CAST converts as Cassandra's cast functions do, and refuses the casts Cassandra has none for
// when the statement is prepared, not row by row.
// Cases from Cassandra 4's JsonTest: fromJson() reads each type as Cassandra reads it, and a
// value it cannot read is a FunctionFailure with Cassandra's message.
TEST_F(ProcessorTest, FromJsonReadsValuesAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.j (k int PRIMARY KEY, a ascii, b bigint, bl blob, bo boolean, d date, "
     "de decimal, db double, f float, i inet, n int, t text, tm time, ts timestamp, tu timeuuid, "
     "u uuid, v varint, s smallint, ti tinyint, l list<int>, st set<int>, m map<ascii, int>, "
     "tp frozen<tuple<int, ascii, uuid>>)");
  struct Case {
    std::string column, json, want;  // `want`: toJson() of what was stored, or the error
    bool fails;
  };
  const std::string failed = "execution of 'system.fromjson[text]' failed: ";
  const std::vector<Case> cases = {
      {"a", R"("ascii \" text")", R"("ascii \" text")", false},
      {"a", "123", "Expected an ascii string, but got a Integer: 123", true},
      {"b", "123123123123", "123123123123", false},
      {"b", R"("123123123123")", "123123123123", false},
      {"b", "9223372036854775808",
       "Expected a bigint value, but got a BigInteger: 9223372036854775808", true},
      {"b", "-123456789012345678901234567890",
       "Expected a bigint value, but got a BigInteger: -123456789012345678901234567890", true},
      // Integers beyond 64 bits are read exactly, as Java's BigInteger reads them.
      {"v", "123456789012345678901234567890", "123456789012345678901234567890", false},
      {"v", "-123456789012345678901234567890", "-123456789012345678901234567890", false},
      {"v", "[123456789012345678901234567890]",
       "Value '[123456789012345678901234567890]' is not a valid representation of a varint value",
       true},
      {"db", "123456789012345678901234567890", "1.2345678901234568E29", false},
      {"b", "123.456", "Expected a bigint value, but got a Double: 123.456", true},
      {"b", R"("abc")", "Unable to make long from 'abc'", true},
      {"b", R"(["abc"])", "Expected a bigint value, but got a ArrayList: [abc]", true},
      {"bl", R"("0x00000001")", R"("0x00000001")", false},
      {"bl", R"("123")",
       "Value '123' is not a valid blob representation: String representation of blob is missing "
       "0x prefix: 123",
       true},
      {"bl", R"("0x123")",
       "Value '0x123' is not a valid blob representation: cannot parse '123' as hex bytes", true},
      {"bo", R"("false")", "false", false},
      {"bo", R"("abc")", "Unable to make boolean from 'abc'", true},
      {"bo", "123", "Expected a boolean value, but got a Integer: 123", true},
      {"d", R"("1987-03-23")", R"("1987-03-23")", false},
      {"d", "123", "Expected a string representation of a date value, but got a Integer: 123",
       true},
      {"d", R"("xyz")", "Unable to coerce 'xyz' to a formatted date (long)", true},
      {"de", "123123.123123", "123123.123123", false},
      {"de", R"("-1.23E-12")", "-1.23E-12", false},
      {"de", "true", "Value 'true' is not a valid representation of a decimal value", true},
      {"db", "123123", "123123.0", false},
      {"db", R"("xyzz")", "Unable to make double from 'xyzz'", true},
      {"db", "true", "Expected a double value, but got a Boolean: true", true},
      {"f", "123123.123123", "123123.125", false},
      {"f", "true", "Expected a float value, but got a Boolean: true", true},
      {"i", R"("::1")", R"("::1")", false},
      {"i", R"("xyzz")", "Unable to make inet address from 'xyzz'", true},
      {"i", "123", "Expected a string representation of an inet value, but got a Integer: 123",
       true},
      {"n", R"("123123")", "123123", false},
      {"n", "2147483648", "Expected an int value, but got a Long: 2147483648", true},
      {"n", R"("xyzz")", "Unable to make int from 'xyzz'", true},
      {"t", R"("\u2013")", "\"\u2013\"", false},
      {"t", "123", "Expected a UTF-8 string, but got a Integer: 123", true},
      {"tm", R"("07:35:07.000111222")", R"("07:35:07.000111222")", false},
      {"tm", "123456",
       "Expected a string representation of a time value, but got a Integer: 123456", true},
      {"ts", "123123123123", R"("1973-11-26 00:52:03.123Z")", false},
      {"ts", "123.456",
       "Expected a long or a datestring representation of a timestamp value, but got a Double: "
       "123.456",
       true},
      {"ts", R"("abcd")", "Unable to coerce 'abcd' to a formatted date (long)", true},
      {"tu", R"("6BDDC89A-5644-11E4-97FC-56847AFE9799")",
       R"("6bddc89a-5644-11e4-97fc-56847afe9799")", false},
      {"tu", R"("00000000-0000-0000-0000-000000000000")", "TimeUUID supports only version 1 UUIDs",
       true},
      {"u", "123", "Expected a string representation of a uuid, but got a Integer: 123", true},
      {"v", R"("1234567890123456789012345678901234567890")",
       "1234567890123456789012345678901234567890", false},
      {"v", "123123.123", "Value '123123.123' is not a valid representation of a varint value",
       true},
      {"v", R"("")", "Value '' is not a valid representation of a varint value", true},
      {"s", "40000", "Unable to make short from '40000'", true},
      {"ti", "true", "Expected a byte value, but got a Boolean: true", true},
      {"l", "[1, 2, 3]", "[1, 2, 3]", false},
      {"l", "[]", "null", false},
      {"l", "123", "Expected a list, but got a Integer: 123", true},
      {"l", "[null]", "Invalid null element in list", true},
      {"st", "[3, 1, 3]", "[1, 3]", false},
      {"st", "123", "Expected a list (representing a set), but got a Integer: 123", true},
      {"st", "[null]", "Invalid null element in set", true},
      {"m", R"({"b": 2, "a": 1})", R"({"a": 1, "b": 2})", false},
      {"m", "123", "Expected a map, but got a Integer: 123", true},
      {"m", R"({"a": null})", "Invalid null value in map", true},
      {"tp", R"([1, null, "6bddc89a-5644-11e4-97fc-56847afe9799"])",
       R"([1, null, "6bddc89a-5644-11e4-97fc-56847afe9799"])", false},
      {"tp", R"([1, "foobar"])", "Tuple is missing items (expected 3)", true},
      {"tp", R"([1, "a", "6bddc89a-5644-11e4-97fc-56847afe9799", 1])",
       "Tuple contains extra items (expected 3)", true},
      {"a", "not json", "Could not decode JSON string 'not json'", true},
  };
  auto quoted = [](const std::string& text) {
    std::string out = "'";
    for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
  };
  for (const auto& c : cases) {
    const std::string insert =
        "INSERT INTO ks.j (k, " + c.column + ") VALUES (0, fromJson(" + quoted(c.json) + "))";
    auto answer = query(insert);
    if (c.fails) {
      ASSERT_TRUE(std::holds_alternative<CqlError>(answer)) << insert;
      const auto& e = std::get<CqlError>(answer);
      EXPECT_EQ(e.code, ErrorCode::kFunctionFailure) << insert;
      EXPECT_EQ(e.message, failed + c.want) << insert;
      EXPECT_EQ(e.function_keyspace, "system");
      EXPECT_EQ(e.function_name, "fromjson");
      EXPECT_EQ(e.arg_types, std::vector<std::string>{"text"});
      continue;
    }
    ASSERT_TRUE(std::holds_alternative<ResultMessage>(answer))
        << insert << ": " << std::get<CqlError>(answer).message;
    auto read = query("SELECT toJson(" + c.column + ") FROM ks.j WHERE k = 0");
    ASSERT_TRUE(std::holds_alternative<ResultMessage>(read)) << c.column;
    EXPECT_EQ(*std::get<ResultMessage>(read).rows.at(0)[0], c.want) << insert;
  }
  // fromJson(null) is null; INSERT JSON words the same errors as a column's.
  ok("INSERT INTO ks.j (k, n) VALUES (1, 5)");
  ok("INSERT INTO ks.j (k, n) VALUES (1, fromJson(null))");
  auto read = query("SELECT n FROM ks.j WHERE k = 1");
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(read));
  EXPECT_FALSE(std::get<ResultMessage>(read).rows.at(0)[0].has_value());
  expect_refused({{R"(INSERT INTO ks.j JSON '{"k": 0, "n": "notanint"}')",
                   "Error decoding JSON value for n: Unable to make int from 'notanint'"},
                  {"INSERT INTO ks.j (k, n) VALUES (0, toJson(1))",
                   "toJson() may only be used within the selection clause"},
                  {"DELETE FROM ks.j WHERE k = fromJson(toJson(0))",
                   "toJson() may only be used within the selection clause"},
                  {"SELECT fromJson(t) FROM ks.j",
                   "fromJson() cannot be used in the selection clause of a SELECT statement"}});
  // SELECT JSON quotes a name only when it has capitals, as Cassandra does.
  ok("CREATE TABLE ks.q (k int PRIMARY KEY, \"Foo\" int)");
  ok("INSERT INTO ks.q (k, \"Foo\") VALUES (0, 1)");
  auto json = query("SELECT JSON k, \"Foo\", ttl(\"Foo\") AS t, \"Foo\" AS \"B\"\"ar\" FROM ks.q");
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(json));
  EXPECT_EQ(*std::get<ResultMessage>(json).rows.at(0)[0],
            R"({"k": 0, "\"Foo\"": 1, "t": null, "\"B\"ar\"": 1})");
}

TEST_F(ProcessorTest, CastsAreCassandrasCasts) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.tm (k int PRIMARY KEY, u timeuuid, ts timestamp, d date, e int)");
  ok("INSERT INTO ks.tm (k, u, ts, d, e) VALUES (1, 50554d6e-29bb-11e5-b345-feff819cdc9f, "
     "'2015-05-21 11:03:02+0000', '2015-05-21', 7)");
  auto answer = query(
      "SELECT cast(u as timestamp), cast(u as date), cast(ts as date), cast(d as timestamp), "
      "cast(e as double), cast(e as int) FROM ks.tm");
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(answer));
  const auto& row = std::get<ResultMessage>(answer).rows.at(0);
  EXPECT_EQ(*row[0], be64(1436832018805));                             // 2015-07-14 00:00:18.805
  EXPECT_EQ(*row[1], be32(static_cast<int32_t>((1u << 31) + 16630)));  // 2015-07-14
  EXPECT_EQ(*row[2], be32(static_cast<int32_t>((1u << 31) + 16576)));  // 2015-05-21
  EXPECT_EQ(*row[3], be64(int64_t{16576} * 86'400'000));               // midnight
  EXPECT_EQ(*row[4], be64(0x401c000000000000));                        // 7.0
  EXPECT_EQ(*row[5], int32(7));
  ok("TRUNCATE ks.tm");  // no rows: the refusal does not depend on them
  for (const auto& [cql, message] : std::vector<std::pair<std::string, std::string>>{
           {"SELECT cast(e as blob) FROM ks.tm", "e cannot be cast to blob"},
           {"SELECT cast(ts as int) FROM ks.tm", "ts cannot be cast to int"},
           {"SELECT cast(e as counter) FROM ks.tm", "e cannot be cast to counter"}}) {
    auto refused = query(cql);
    ASSERT_TRUE(std::holds_alternative<CqlError>(refused)) << cql;
    EXPECT_EQ(std::get<CqlError>(refused).message, message) << cql;
  }
}

// Casts to and from decimal and varint, as Java's Number conversions behind Cassandra's casts:
// integer targets take the low bits of the whole part, decimal keeps a double's shortest digits.
TEST_F(ProcessorTest, DecimalAndVarintCastsAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.n (k int PRIMARY KEY, d decimal, v varint, i int, f float, db double)");
  ok("INSERT INTO ks.n (k, d, v, i, f, db) VALUES (1, -12.75, 123456789012345678901234567890, "
     "-7, 1.1, 0.0025)");
  auto text = [&](const std::string& expression) {
    auto r = query("SELECT cast(" + expression + " as text) FROM ks.n WHERE k = 1");
    if (!std::holds_alternative<ResultMessage>(r)) return "error: " + std::get<CqlError>(r).message;
    return std::string(*std::get<ResultMessage>(r).rows.at(0)[0]);
  };
  // Through text, as each value prints.
  EXPECT_EQ(text("cast(d as int)"), "-12");
  EXPECT_EQ(text("cast(d as varint)"), "-12");
  EXPECT_EQ(text("cast(d as double)"), "-12.75");
  EXPECT_EQ(text("cast(v as int)"), "1312754386");  // the low 32 bits
  EXPECT_EQ(text("cast(v as bigint)"), "-4362896299872285998");
  EXPECT_EQ(text("cast(v as tinyint)"), "-46");
  EXPECT_EQ(text("cast(v as decimal)"), "123456789012345678901234567890");
  EXPECT_EQ(text("cast(v as double)"), "1.2345678901234568E29");
  EXPECT_EQ(text("cast(i as decimal)"), "-7");
  EXPECT_EQ(text("cast(i as varint)"), "-7");
  EXPECT_EQ(text("cast(f as decimal)"), "1.100000023841858");  // BigDecimal.valueOf(double)
  EXPECT_EQ(text("cast(db as decimal)"), "0.0025");
  EXPECT_EQ(text("cast(db as varint)"), "0");
}

// Cases from Cassandra 4's TypeTest: function results go where their values read as the
// receiver's type (now() into a uuid, toUnixTimestamp() into a timestamp, toTimestamp() into a
// bigint or varint), and the time conversions take any function of a time type.
TEST_F(ProcessorTest, FunctionResultsAssignAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.u (a int, b uuid, PRIMARY KEY (a, b))");
  ok("INSERT INTO ks.u (a, b) VALUES (0, now())");
  EXPECT_EQ(row_count("SELECT * FROM ks.u WHERE a = 0 AND b < now()"), 1u);
  ok("CREATE TABLE ks.d (a int, b timestamp, c bigint, d varint, PRIMARY KEY (a, b, c, d))");
  ok("INSERT INTO ks.d (a, b, c, d) VALUES (0, toUnixTimestamp(now()), toTimestamp(now()), "
     "toTimestamp(now()))");
  ok("INSERT INTO ks.d (a, b, c, d) VALUES (1, unixTimestampOf(now()), dateOf(now()), "
     "dateOf(now()))");
  EXPECT_EQ(row_count("SELECT * FROM ks.d WHERE a = 1 AND b <= toUnixTimestamp(now())"), 1u);
  ok("INSERT INTO ks.d (a, b, c, d) VALUES (2, toTimestamp(50554d6e-29bb-11e5-b345-feff819cdc9f), "
     "toUnixTimestamp(toDate(50554d6e-29bb-11e5-b345-feff819cdc9f)), 0)");
  auto r = query("SELECT b, c FROM ks.d WHERE a = 2");
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(r));
  const auto& row = std::get<ResultMessage>(r).rows.at(0);
  EXPECT_EQ(*row[0], be64(1436832018805));                // 2015-07-14 00:00:18.805
  EXPECT_EQ(*row[1], be64(int64_t{16630} * 86'400'000));  // that day at midnight
  ok("CREATE TABLE ks.t (k int PRIMARY KEY, u timeuuid)");
  expect_refused({
      {"INSERT INTO ks.t (k, u) VALUES (1, uuid())",
       "Type error: cannot assign result of function uuid (type uuid) to u (type timeuuid)"},
  });
}

// Function calls resolve as Cassandra's FunctionResolver: an argument of the parameter's type, or
// of a type whose values the parameter reads as they are (a bigint as a timestamp, anything as a
// blob); otherwise its errors, listing the signatures for overloaded functions. These were
// accepted (intAsBlob(text) returned the text's bytes) or refused with other words.
TEST_F(ProcessorTest, FunctionCallsResolveAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.f (k int PRIMARY KEY, a int, b bigint, t text, ts timestamp, d date)");
  ok("INSERT INTO ks.f (k, a, b, t, ts, d) VALUES (1, 2, 1436832018805, 'x', 0, '1970-01-02')");
  auto row = [&](const std::string& selection) {
    auto r = query("SELECT " + selection + " FROM ks.f WHERE k = 1");
    if (!std::holds_alternative<ResultMessage>(r)) {
      ADD_FAILURE() << selection << ": " << std::get<CqlError>(r).message;
      return std::vector<std::optional<Bytes>>();
    }
    return std::get<ResultMessage>(r).rows.at(0);
  };
  EXPECT_EQ(*row("blobAsInt(a)")[0], be32(2));  // a blob reads any value
  EXPECT_EQ(*row("bigintAsBlob(ts)")[0], be64(0));
  EXPECT_EQ(*row("varintAsBlob(a)")[0], be32(2));
  EXPECT_EQ(*row("toUnixTimestamp(b)")[0], be64(1436832018805));  // a bigint read as a timestamp
  EXPECT_EQ(*row("toDate(b)")[0], be32(static_cast<int32_t>(0x80000000u + 16630)));
  EXPECT_EQ(*row("toTimestamp(d)")[0], be64(86'400'000));
  EXPECT_EQ(*row("sum(a)")[0], be32(2));
  const std::string sums =
      "system.sum : (tinyint) -> tinyint, system.sum : (smallint) -> smallint, "
      "system.sum : (int) -> int, system.sum : (bigint) -> bigint, system.sum : (float) -> float, "
      "system.sum : (double) -> double, system.sum : (decimal) -> decimal, "
      "system.sum : (varint) -> varint, system.sum : (counter) -> bigint";
  expect_refused({
      {"SELECT intAsBlob(t) FROM ks.f",
       "Type error: t cannot be passed as argument 0 of function system.intasblob of type int"},
      {"SELECT textAsBlob(a) FROM ks.f",
       "Type error: a cannot be passed as argument 0 of function system.textasblob of type text"},
      {"SELECT intAsBlob(a, a) FROM ks.f",
       "Invalid number of arguments in call to function system.intasblob: 1 required but 2 "
       "provided"},
      {"SELECT fooAsBlob(a) FROM ks.f", "Unknown function 'fooasblob'"},
      {"SELECT dateOf(ts) FROM ks.f",
       "Type error: ts cannot be passed as argument 0 of function system.dateof of type timeuuid"},
      {"SELECT toTimestamp(b) FROM ks.f",
       "Invalid call to function totimestamp, none of its type signatures match (known type "
       "signatures: system.totimestamp : (timeuuid) -> timestamp, system.totimestamp : (date) -> "
       "timestamp)"},
      {"SELECT toUnixTimestamp(a) FROM ks.f",
       "Invalid call to function tounixtimestamp, none of its type signatures match (known type "
       "signatures: system.tounixtimestamp : (timeuuid) -> bigint, system.tounixtimestamp : "
       "(timestamp) -> bigint, system.tounixtimestamp : (date) -> bigint)"},
      {"SELECT sum(t) FROM ks.f",
       "Invalid call to function sum, none of its type signatures match (known type signatures: " +
           sums + ")"},
      {"SELECT sum(a, b) FROM ks.f",
       "Invalid call to function sum, none of its type signatures match (known type signatures: " +
           sums + ")"},
      {"SELECT sum(ts) FROM ks.f",
       "Ambiguous call to function sum (can be matched by following signatures: system.sum : "
       "(bigint) -> bigint, system.sum : (varint) -> varint): use type casts to disambiguate"},
      {"INSERT INTO ks.f (k, ts) VALUES (2, dateOf(toDate(now())))",
       "Type error: todate(now()) cannot be passed as argument 0 of function system.dateof of type "
       "timeuuid"},
  });
  // A value without a type hint takes the parameter's type of a function with one signature.
  EXPECT_EQ(*row("intAsBlob(7)")[0], be32(7));
  EXPECT_EQ(*row("blobAsInt(0x00000007)")[0], be32(7));
  expect_refused({
      {"SELECT intAsBlob('x') FROM ks.f",
       "Invalid STRING constant (x) for \"arg0(system.intasblob)\" of type int"},
      {"SELECT intAsBlob(1, 2) FROM ks.f",
       "Invalid number of arguments in call to function system.intasblob: 1 required but 2 "
       "provided"},
  });
  // An untyped value given to an overloaded function picks the overload it assigns to exactly,
  // else the one it assigns to at all (Cassandra's FunctionResolver): a string reads as a
  // timestamp for toDate, as a date for toTimestamp; an integer as an int for sum.
  EXPECT_EQ(*row("toDate('1970-01-03')")[0], be32(static_cast<int32_t>(0x80000000u + 2)));
  EXPECT_EQ(*row("toTimestamp('1970-01-02')")[0], be64(86'400'000));
  EXPECT_EQ(*row("toDate(86400000)")[0], be32(static_cast<int32_t>(0x80000000u + 1)));
  EXPECT_EQ(*row("sum(3)")[0], be32(3));
  EXPECT_EQ(*row("max(3)")[0], be32(3));
  EXPECT_EQ(*row("min('x')")[0], "x");
  // A marker fits every overload: Cassandra refuses such a call when it is prepared. A function
  // of one signature gives its marker the parameter's type.
  auto prepared =
      stack_.processor().prepare("INSERT INTO ks.f (k, d) VALUES (?, toDate(?))", session_);
  ASSERT_TRUE(std::holds_alternative<CqlError>(prepared));
  EXPECT_EQ(std::get<CqlError>(prepared).message,
            "Ambiguous call to function todate (can be matched by following signatures: "
            "system.todate : (timeuuid) -> date, system.todate : (timestamp) -> date): use type "
            "casts to disambiguate");
  auto typed =
      stack_.processor().prepare("INSERT INTO ks.f (k, ts) VALUES (?, dateOf(?))", session_);
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(typed));
  EXPECT_EQ(std::get<ResultMessage>(typed).bind_columns.at(1).type.to_cql(), "timeuuid");
  // So it does where a value is assigned.
  ok("INSERT INTO ks.f (k, d, ts) VALUES (5, toDate('1970-01-03'), toTimestamp('1970-01-02'))");
  EXPECT_EQ(row_count("SELECT * FROM ks.f WHERE k = 5 AND d = toDate(172800000) ALLOW FILTERING"),
            1u);
  expect_refused({
      {"SELECT toUnixTimestamp('2020-01-01') FROM ks.f",
       "Ambiguous call to function tounixtimestamp (can be matched by following signatures: "
       "system.tounixtimestamp : (timestamp) -> bigint, system.tounixtimestamp : (date) -> "
       "bigint): use type casts to disambiguate"},
      {"SELECT toDate(true) FROM ks.f",
       "Invalid call to function todate, none of its type signatures match (known type "
       "signatures: system.todate : (timeuuid) -> date, system.todate : (timestamp) -> date)"},
  });
  // Refused on an empty table too: the call is resolved before any row is read.
  ok("CREATE TABLE ks.e (k int PRIMARY KEY, t text)");
  expect_refused({{"SELECT intAsBlob(t) FROM ks.e",
                   "Type error: t cannot be passed as argument 0 of function system.intasblob of "
                   "type int"}});
}

// Cases from Cassandra 4's SelectSingleColumnRelationTest and TokenRestriction: token() takes the
// partition key in its order, and its relations merge as Cassandra merges them (an EQ alone, one
// bound on each side). Two start bounds used to be intersected, an EQ and a slice too.
TEST_F(ProcessorTest, TokenRestrictionsAreCheckedAsCassandraDoes) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.tk (a int, b text, c int, PRIMARY KEY ((a, b), c))");
  for (const char* b : {"a", "b", "c"})
    ok(std::string("INSERT INTO ks.tk (a, b, c) VALUES (0, '") + b + "', 1)");
  // Murmur3 puts (0, 'c') first, then (0, 'b'), then (0, 'a').
  EXPECT_EQ(row_count("SELECT * FROM ks.tk WHERE token(a, b) > token(0, 'c')"), 2u);
  EXPECT_EQ(row_count("SELECT * FROM ks.tk WHERE token(a, b) >= token(0, 'c') AND "
                      "token(a, b) < token(0, 'a')"),
            2u);
  EXPECT_EQ(row_count("SELECT * FROM ks.tk WHERE token(a, b) = token(0, 'b')"), 1u);
  const std::string all_or_none =
      "The token() function must be applied to all partition key components or none of them";
  expect_refused({
      {"SELECT * FROM ks.tk WHERE token(a) > token(0) AND token(b) > token('a')", all_or_none},
      {"SELECT * FROM ks.tk WHERE token(a, a) > 0", all_or_none},
      {"SELECT * FROM ks.tk WHERE token(b, a) > token(0, 'c')",
       "The token function arguments must be in the partition key order: a, b"},
      {"SELECT * FROM ks.tk WHERE token(a, b, c) > 0",
       "The token() function must contains only partition key components"},
      {"SELECT * FROM ks.tk WHERE token(a, b, b) > 0",
       "The token() function contains duplicate partition key components"},
      {"SELECT * FROM ks.tk WHERE token(a, x) > 0", "Undefined column name x"},
      {"SELECT * FROM ks.tk WHERE token(a, b) > 0 AND token(a, b) >= 1",
       "More than one restriction was found for the start bound on a, b"},
      {"SELECT * FROM ks.tk WHERE token(a, b) < 0 AND token(a, b) <= 1",
       "More than one restriction was found for the end bound on a, b"},
      {"SELECT * FROM ks.tk WHERE token(a, b) = 0 AND token(a, b) > 1",
       "a, b cannot be restricted by more than one relation if it includes an Equal"},
      {"SELECT * FROM ks.tk WHERE token(a, b) = 0 AND token(a, b) = 0",
       "a, b cannot be restricted by more than one relation if it includes an Equal"},
      {"SELECT * FROM ks.tk WHERE token(a, b) < 0 AND token(a, b) = 1",
       "Columns \"a, b\" cannot be restricted by both an equality and an inequality relation"},
  });
}

// A DELETE over a multi-column slice of mixed ASC/DESC columns removes exactly the rows a SELECT
// with the same slice reads (the ranges it is made of; it was "not supported yet"), and not a row
// more: checked on a 3x3x3 grid for slices of every shape, each in its own partition.
TEST_F(ProcessorTest, DeletesOverMixedOrderSlicesRemoveWhatSelectsRead) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.g (k int, a int, b int, c int, v int, PRIMARY KEY (k, a, b, c)) WITH "
     "CLUSTERING ORDER BY (a ASC, b DESC, c ASC)");
  const std::vector<std::string> slices = {
      "(a, b) > (1, 1)",
      "(a, b) >= (1, 1)",
      "(a, b) < (1, 1)",
      "(a, b) <= (1, 1)",
      "(a, b, c) > (1, 1, 1)",
      "(a, b, c) <= (1, 1, 1)",
      "(a, b, c) >= (0, 2, 1) AND (a, b, c) < (2, 0, 1)",
      "(a, b) > (0, 0) AND (a, b) < (2, 2)",
      "(a, b) > (1, 2) AND (a, b) < (1, 0)",
      "(a, b) > (2, 0) AND (a, b) < (0, 2)",  // nothing
      "a = 1 AND (b, c) > (1, 0)",
      "a = 1 AND (b, c) >= (0, 2) AND (b, c) <= (2, 0)",
      "a IN (0, 2) AND (b, c) < (1, 1)",
  };
  auto all_rows = [&](int k) {
    return digit_rows("SELECT k, a, b, c FROM ks.g WHERE k = " + std::to_string(k), 1, 4);
  };
  for (size_t i = 0; i < slices.size(); ++i) {
    const std::string k = std::to_string(i);
    for (int a = 0; a < 3; ++a) {
      for (int b = 0; b < 3; ++b) {
        for (int c = 0; c < 3; ++c) {
          ok("INSERT INTO ks.g (k, a, b, c, v) VALUES (" + k + ", " + std::to_string(a) + ", " +
             std::to_string(b) + ", " + std::to_string(c) + ", 0)");
        }
      }
    }
    const std::string where = "k = " + k + " AND " + slices[i];
    const auto selected = digit_rows("SELECT k, a, b, c FROM ks.g WHERE " + where, 1, 4);
    std::vector<std::string> expected;
    for (const auto& row : all_rows(static_cast<int>(i))) {
      if (std::find(selected.begin(), selected.end(), row) == selected.end())
        expected.push_back(row);
    }
    ok("DELETE FROM ks.g WHERE " + where);
    EXPECT_EQ(all_rows(static_cast<int>(i)), expected) << slices[i];
    EXPECT_EQ(expected.size() + selected.size(), 27u) << slices[i];
  }
}

// Collection elements, null and unset values, as Cassandra's CollectionsTest expects.
TEST_F(ProcessorTest, CollectionElementsNullAndUnsetAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.c (k int PRIMARY KEY, l list<text>, m map<text, text>, s set<text>, "
     "t tuple<int, text>)");
  ok("INSERT INTO ks.c (k) VALUES (0)");
  ok("INSERT INTO ks.c (k, l, m, s) VALUES (10, ['foo', 'foo'], {'k': 'v'}, {'a'})");
  const std::optional<Bytes> unset_value;
  auto run = [&](const std::string& cql, std::vector<std::optional<Bytes>> values,
                 std::vector<bool> unset) {
    QueryOptions o;
    o.values = std::move(values);
    o.unset = std::move(unset);
    return stack_.processor().execute(prepare(cql), o, session_);
  };
  auto message = [](const QueryProcessor::Outcome& answer) {
    return std::holds_alternative<CqlError>(answer) ? std::get<CqlError>(answer).message
                                                    : std::string("(no error)");
  };
  expect_refused({
      {"DELETE l[0] FROM ks.c WHERE k = 0",
       "Attempted to delete an element from a list which is null"},
      {"UPDATE ks.c SET l[0] = 'x' WHERE k = 0",
       "Attempted to set an element on a list which is null"},
      {"UPDATE ks.c SET m[null] = 'x' WHERE k = 10", "Invalid null map key"},
      {"UPDATE ks.c SET l[null] = 'x' WHERE k = 10", "Invalid null value for list index"},
      {"INSERT INTO ks.c (k, s) VALUES (11, {'a', null})",
       "null is not supported inside collections"},
      {"UPDATE ks.c SET l = l + {'a'} WHERE k = 0", "Invalid set literal for l of type list<text>"},
      {"UPDATE ks.c SET m = m - ['a'] WHERE k = 0", "Invalid list literal for m of type set<text>"},
      {"UPDATE ks.c SET t = (1, 'a', 2) WHERE k = 0",
       "Invalid tuple literal for t: too many elements. Type frozen<tuple<int, text>> expects 2 "
       "but "
       "got 3"},
  });
  EXPECT_EQ(message(run("UPDATE ks.c SET m[?] = 'foo' WHERE k = 10", {unset_value}, {true})),
            "Invalid unset map key");
  EXPECT_EQ(message(run("DELETE m[?] FROM ks.c WHERE k = 10", {unset_value}, {true})),
            "Invalid unset map key");
  EXPECT_EQ(message(run("UPDATE ks.c SET l[?] = 'foo' WHERE k = 10", {unset_value}, {true})),
            "Invalid unset value for list index");
  EXPECT_EQ(
      message(run("UPDATE ks.c USING TTL ? SET s = {'x'} WHERE k = 10", {std::nullopt}, {false})),
      "Invalid null value of TTL");
  EXPECT_EQ(message(run("UPDATE ks.c USING TIMESTAMP ? SET s = {'x'} WHERE k = 10", {std::nullopt},
                        {false})),
            "Invalid null value of timestamp");
  EXPECT_EQ(message(run("SELECT * FROM ks.c WHERE k IN ?", {unset_value}, {true})),
            "Invalid unset value for column k");
  EXPECT_EQ(message(run("SELECT * FROM ks.c WHERE k = blobAsInt(?)", {unset_value}, {true})),
            "Invalid unset value for argument in call to function blobasint");
  EXPECT_EQ(message(run("UPDATE ks.c SET s = s + {'x'} WHERE k = ?", {unset_value}, {true})),
            "Invalid unset value for column k");
  EXPECT_EQ(message(run("SELECT * FROM ks.c WHERE k = ?", {std::nullopt}, {false})),
            "Invalid null value for partition key part k");
  EXPECT_EQ(message(run("SELECT * FROM ks.c WHERE k = 10 AND s CONTAINS ? ALLOW FILTERING",
                        {std::nullopt}, {false})),
            "Unsupported null value for column s");
  // Unset values leave things as they are: element writes and deletions, and a list literal
  // holding an unset element (the whole list is unset).
  for (const char* cql :
       {"UPDATE ks.c SET m['k'] = ? WHERE k = 10", "UPDATE ks.c SET l[1] = ? WHERE k = 10",
        "DELETE l[?] FROM ks.c WHERE k = 10", "UPDATE ks.c SET s = s - ? WHERE k = 10",
        "INSERT INTO ks.c (k, l) VALUES (10, ?)"}) {
    EXPECT_EQ(message(run(cql, {unset_value}, {true})), "(no error)") << cql;
  }
  EXPECT_EQ(message(run("INSERT INTO ks.c (k, l) VALUES (10, [?, ?])", {Bytes("a"), unset_value},
                        {false, true})),
            "(no error)");
  auto row = query("SELECT l, m, s FROM ks.c WHERE k = 10");
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(row));
  const auto& values = std::get<ResultMessage>(row).rows.at(0);
  EXPECT_EQ(*values[0], schema::serialize_list({Bytes("foo"), Bytes("foo")}));
  EXPECT_EQ(*values[1], schema::serialize_map({{Bytes("k"), Bytes("v")}}));
  EXPECT_EQ(*values[2], schema::serialize_list({Bytes("a")}));
}

// Tuple slices over columns of mixed clustering order select by tuple comparison and answer in
// clustering order (Cassandra's testMixedOrderColumns3).
TEST_F(ProcessorTest, TupleSlicesOverMixedOrderColumns) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.t (a int, b int, c int, PRIMARY KEY (a, b, c)) "
     "WITH CLUSTERING ORDER BY (b DESC, c ASC)");
  for (const char* row : {"2, 3", "2, 4", "4, 4", "3, 4", "4, 5", "4, 6"})
    ok(std::string("INSERT INTO ks.t (a, b, c) VALUES (0, ") + row + ")");
  auto rows = [&](const std::string& cql) { return digit_rows(cql, 1, 3); };
  using Rows = std::vector<std::string>;
  EXPECT_EQ(rows("SELECT * FROM ks.t WHERE a = 0 AND (b, c) >= (2, 3) AND (b, c) < (4, 5)"),
            (Rows{"44", "34", "23", "24"}));
  EXPECT_EQ(rows("SELECT * FROM ks.t WHERE a = 0 AND (b, c) >= (2, 3) AND (b, c) <= (4, 5)"),
            (Rows{"44", "45", "34", "23", "24"}));
  EXPECT_EQ(rows("SELECT * FROM ks.t WHERE a = 0 AND (b, c) < (4, 5)"),
            (Rows{"44", "34", "23", "24"}));
  EXPECT_EQ(rows("SELECT * FROM ks.t WHERE a = 0 AND (b, c) > (4, 5)"), Rows{"46"});
  EXPECT_EQ(rows("SELECT * FROM ks.t WHERE a = 0 AND (b) < (4) AND (b) > (2)"), Rows{"34"});
  EXPECT_EQ(rows("SELECT * FROM ks.t WHERE a = 0 AND (b, c) > (2, 3) ORDER BY b ASC, c DESC"),
            (Rows{"24", "34", "46", "45", "44"}));
  // DELETE removes what that SELECT read (DeletesOverMixedOrderSlicesRemoveWhatSelectsRead tests
  // more shapes).
  ok("DELETE FROM ks.t WHERE a = 0 AND (b, c) > (2, 3)");
  EXPECT_EQ(row_count("SELECT * FROM ks.t WHERE a = 0 AND (b, c) > (2, 3)"), 0u);
  EXPECT_EQ(rows("SELECT * FROM ks.t WHERE a = 0 AND (b, c) <= (2, 3)"), Rows{"23"});
}

// A BATCH with conditions applies all of its writes or none, under one partition's lock; when a
// condition fails it answers with the rows the conditions read, in clustering order.
TEST_F(ProcessorTest, ConditionalBatchesApplyAllOrNothing) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.o (id int, item int, qty int, s int static, PRIMARY KEY (id, item))");
  ok("CREATE TABLE ks.other (id int PRIMARY KEY, v int)");
  auto rows_of = [&](const std::string& cql) {
    auto r = query(cql);
    EXPECT_TRUE(std::holds_alternative<ResultMessage>(r)) << cql;
    return std::holds_alternative<ResultMessage>(r) ? std::get<ResultMessage>(r) : ResultMessage{};
  };
  auto error_of = [&](const std::string& cql) {
    auto r = query(cql);
    EXPECT_TRUE(std::holds_alternative<CqlError>(r)) << cql;
    return std::holds_alternative<CqlError>(r) ? std::get<CqlError>(r).message : std::string();
  };
  const Bytes f(1, '\x00'), t(1, '\x01');
  auto applied = rows_of(
      "BEGIN BATCH INSERT INTO ks.o (id, item, qty) VALUES (1, 2, 20) IF NOT EXISTS; "
      "INSERT INTO ks.o (id, item, qty) VALUES (1, 1, 10) IF NOT EXISTS; "
      "UPDATE ks.o SET s = 5 WHERE id = 1; APPLY BATCH");
  ASSERT_EQ(applied.rows.size(), 1u);
  EXPECT_EQ(applied.rows[0], RowValues{t});
  EXPECT_EQ(rows_of("SELECT * FROM ks.o WHERE id = 1").rows.size(), 2u);
  // Item 3 does not exist, item 1 has qty 10: nothing applies, and the failure shows key and
  // condition columns of the rows that exist (item 2 then 1 in the batch; 1 then 2 in the answer).
  auto failed = rows_of(
      "BEGIN BATCH UPDATE ks.o SET qty = 0 WHERE id = 1 AND item = 2 IF qty = 20; "
      "UPDATE ks.o SET qty = 0 WHERE id = 1 AND item = 1 IF qty = 11; "
      "UPDATE ks.o SET qty = 0 WHERE id = 1 AND item = 3 IF qty = 1; "
      "INSERT INTO ks.o (id, item, qty) VALUES (1, 4, 40); APPLY BATCH");
  ASSERT_EQ(failed.columns.size(), 4u);  // [applied], id, item, qty
  EXPECT_EQ(failed.columns[3].name, "qty");
  ASSERT_EQ(failed.rows.size(), 2u);
  EXPECT_EQ(failed.rows[0], (RowValues{f, int32(1), int32(1), int32(10)}));
  EXPECT_EQ(failed.rows[1], (RowValues{f, int32(1), int32(2), int32(20)}));
  EXPECT_EQ(rows_of("SELECT * FROM ks.o WHERE id = 1").rows.size(), 2u);  // no item 4
  // A failed condition on a row that does not exist shows [applied] alone.
  auto alone = rows_of(
      "BEGIN BATCH UPDATE ks.o SET qty = 0 WHERE id = 1 AND item = 9 IF qty = 1; APPLY BATCH");
  EXPECT_EQ(alone.columns.size(), 1u);
  EXPECT_EQ(alone.rows, std::vector<RowValues>{RowValues{f}});
  EXPECT_EQ(error_of("BEGIN BATCH UPDATE ks.o SET qty = 0 WHERE id = 1 AND item = 1 IF qty = 10; "
                     "INSERT INTO ks.o (id, item) VALUES (2, 1); APPLY BATCH"),
            "Batch with conditions cannot span multiple partitions");
  EXPECT_EQ(error_of("BEGIN BATCH UPDATE ks.o SET qty = 0 WHERE id = 1 AND item = 1 IF qty = 10; "
                     "INSERT INTO ks.other (id) VALUES (1); APPLY BATCH"),
            "Batch with conditions cannot span multiple tables");
  EXPECT_EQ(error_of("BEGIN BATCH USING TIMESTAMP 5 UPDATE ks.o SET qty = 0 WHERE id = 1 AND "
                     "item = 1 IF qty = 10; APPLY BATCH"),
            "Cannot provide custom timestamp for conditional BATCH");
  EXPECT_EQ(rows_of("SELECT qty FROM ks.o WHERE id = 1 AND item = 1").rows[0][0], int32(10));
}

// A loop gathers the prepared writes of several connections into one group (WriteGroup::append)
// and writes them at once. When one request's mutation is refused, every request must still get its
// own answer: the refused one an error, the others success, each row written or not accordingly.
TEST_F(ProcessorTest, GatheredWriteGroupsKeepEachRequestsAnswer) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
  ok("CREATE TABLE ks.gone (k int PRIMARY KEY, v int)");
  const Bytes insert = prepare("INSERT INTO ks.t (k, v) VALUES (?, ?) USING TTL ?");
  const Bytes insert_gone = prepare("INSERT INTO ks.gone (k, v) VALUES (?, ?) USING TTL ?");
  std::map<int32_t, QueryProcessor::Outcome> answers;
  auto join = [&](QueryProcessor::WriteGroup& group, int32_t key, const Bytes& statement) {
    QueryOptions o;
    o.values = {int32(key), int32(key * 10), int32(60)};
    QueryProcessor::Outcome answer;
    const auto joined = stack_.processor().try_execute_inline(
        statement, o, session_, group, &answer, [&answers, key] {
          return [&answers, key](QueryProcessor::Outcome outcome) { answers[key] = outcome; };
        });
    ASSERT_EQ(joined, QueryProcessor::Inline::kJoinedGroup) << key;
  };
  QueryProcessor::WriteGroup first, second, third;
  join(first, 1, insert);
  join(first, 2, insert);
  join(second, 3, insert_gone);
  join(second, 4, insert);
  join(third, 5, insert);
  first.append(std::move(second));
  first.append(std::move(third));
  EXPECT_TRUE(second.waiting.empty() && second.mutations.empty());
  ASSERT_EQ(first.waiting.size(), 5u);
  // The table of request 3 is dropped while its write waits in the group: the engine refuses
  // that mutation (an unknown table), and with it the group's single write.
  ok("DROP TABLE ks.gone");
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

// Frozen user-defined types as Cassandra 4 has them (its UserTypesTest and CreateTypeStatement):
// creating and dropping types, literals, keys and clustering order, field selection, JSON, and
// the refusals in Cassandra's words.
TEST_F(ProcessorTest, UserTypesAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE KEYSPACE other WITH replication = {'class': 'SimpleStrategy', "
     "'replication_factor': 1}");
  ok("CREATE TYPE ks.address (street text, zip int)");
  ok("CREATE TYPE IF NOT EXISTS ks.address (a int)");  // no change
  ok("CREATE TYPE ks.person (name text, addr frozen<address>, tags set<text>)");
  ok("CREATE TYPE other.elsewhere (a int)");
  expect_refused({
      {"CREATE TYPE ks.address (a int)", "A user type with name 'address' already exists"},
      {"CREATE TYPE ks.dup (a int, a text)", "Duplicate field name 'a' in type 'dup'"},
      {"CREATE TYPE ks.c (a counter)", "A user type cannot contain counters"},
      {"CREATE TYPE ks.nf (a address)", "A user type cannot contain non-frozen UDTs"},
      {"CREATE TYPE ks.int (a int)", "'int' is a reserved type name"},
      {"CREATE TYPE ks.self (a frozen<self>)", "Unknown type ks.self"},
      {"CREATE TYPE ks.x (a frozen<other.elsewhere>)",
       "Statement on keyspace ks cannot refer to a user type in keyspace other; user types can "
       "only be used in the keyspace they are defined in"},
      {"CREATE TABLE ks.w (k address PRIMARY KEY, v int)",
       "Invalid non-frozen user-defined type address for PRIMARY KEY column 'k'"},
      {"CREATE TABLE ks.w (k int, c address, PRIMARY KEY (k, c))",
       "Invalid non-frozen user-defined type address for PRIMARY KEY column 'c'"},
      {"CREATE TABLE ks.w (k int PRIMARY KEY, v list<address>)",
       "Non-frozen UDTs are not allowed inside collections: list<address>"},
  });
  ok("CREATE TABLE ks.t (k int PRIMARY KEY, p frozen<person>, l list<frozen<address>>)");
  ok("CREATE TABLE ks.o (k int, c frozen<address>, v int, PRIMARY KEY (k, c)) "
     "WITH CLUSTERING ORDER BY (c DESC)");
  ok("CREATE TABLE ks.m (k frozen<address> PRIMARY KEY, v int)");
  auto json_rows = [&](const std::string& cql) {
    std::vector<std::string> out;
    auto answer = query(cql);
    if (!std::holds_alternative<ResultMessage>(answer)) {
      ADD_FAILURE() << cql << ": " << std::get<CqlError>(answer).message;
      return out;
    }
    for (const auto& row : std::get<ResultMessage>(answer).rows)
      out.push_back(row.at(0) ? std::string(*row[0]) : "null");
    return out;
  };
  // Fields in any order, those left out null; a tuple literal fills the fields in order.
  ok("INSERT INTO ks.t (k, p, l) VALUES (1, {addr: {zip: 1, street: 'main'}, name: 'ann', "
     "tags: {'a'}}, [{street: 'x'}])");
  ok("INSERT INTO ks.t (k, p) VALUES (2, {name: 'bob'})");
  ok("INSERT INTO ks.t (k, p) VALUES (3, ('cy', {street: 's', zip: 3}))");
  EXPECT_EQ(
      json_rows("SELECT JSON k, p, l FROM ks.t WHERE k IN (1, 2, 3)"),
      (std::vector<std::string>{
          R"({"k": 1, "p": {"name": "ann", "addr": {"street": "main", "zip": 1}, "tags": ["a"]}, "l": [{"street": "x", "zip": null}]})",
          R"({"k": 2, "p": {"name": "bob", "addr": null, "tags": null}, "l": null})",
          R"({"k": 3, "p": {"name": "cy", "addr": {"street": "s", "zip": 3}, "tags": null}, "l": null})"}));
  // Field selection, nested too; a missing field or an absent value is null.
  EXPECT_EQ(json_rows("SELECT toJson(p.addr.zip) FROM ks.t WHERE k IN (1, 2)"),
            (std::vector<std::string>{"1", "null"}));
  EXPECT_EQ(json_rows("SELECT toJson(p.name) FROM ks.t WHERE k = 3"),
            (std::vector<std::string>{"\"cy\""}));
  // INSERT JSON and fromJson take objects by field name.
  ok(R"(INSERT INTO ks.t JSON '{"k": 4, "p": {"name": "dee", "addr": {"zip": 5}}}')");
  ok(R"(INSERT INTO ks.t (k, p) VALUES (5, fromJson('{"name": "eve"}')))");
  EXPECT_EQ(json_rows("SELECT toJson(p) FROM ks.t WHERE k IN (4, 5)"),
            (std::vector<std::string>{
                R"({"name": "dee", "addr": {"street": null, "zip": 5}, "tags": null})",
                R"({"name": "eve", "addr": null, "tags": null})"}));
  // A frozen UDT orders field by field (DESC here), a missing trailing field first.
  ok("INSERT INTO ks.o (k, c, v) VALUES (0, {street: 'a', zip: 1}, 1)");
  ok("INSERT INTO ks.o (k, c, v) VALUES (0, {street: 'a', zip: 2}, 2)");
  ok("INSERT INTO ks.o (k, c, v) VALUES (0, {street: 'b'}, 3)");
  ok("INSERT INTO ks.o (k, c, v) VALUES (0, {street: 'a'}, 4)");
  EXPECT_EQ(digit_rows("SELECT v FROM ks.o WHERE k = 0", 0, 1),
            (std::vector<std::string>{"3", "2", "1", "4"}));
  EXPECT_EQ(digit_rows("SELECT v FROM ks.o WHERE k = 0 AND c > {street: 'a', zip: 1}", 0, 1),
            (std::vector<std::string>{"3", "2"}));
  EXPECT_EQ(digit_rows("SELECT v FROM ks.o WHERE k = 0 AND c = {street: 'a'}", 0, 1),
            (std::vector<std::string>{"4"}));
  // As a partition key.
  ok("INSERT INTO ks.m (k, v) VALUES ({street: 's', zip: 9}, 7)");
  EXPECT_EQ(digit_rows("SELECT v FROM ks.m WHERE k = {zip: 9, street: 's'}", 0, 1),
            (std::vector<std::string>{"7"}));
  // Bound values: the field values serialized in order, as a tuple's.
  Bytes street = "tw", zip = be32(12);
  Bytes bound;
  for (const Bytes& field : {street, zip}) {
    bound += be32(static_cast<int32_t>(field.size()));
    bound += field;
  }
  auto unbound =
      stack_.processor().execute(prepare("INSERT INTO ks.m (k, v) VALUES (?, 0)"), {}, session_);
  ASSERT_TRUE(std::holds_alternative<CqlError>(unbound));
  EXPECT_EQ(std::get<CqlError>(unbound).message,
            "There were 1 markers(?) in CQL but 0 bound variables");
  auto inserted = stack_.processor().execute(
      prepare("UPDATE ks.t SET l = [?] WHERE k = 6"),
      [&] {
        QueryOptions only;
        only.values = {bound};
        return only;
      }(),
      session_);
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(inserted))
      << std::get<CqlError>(inserted).message;
  EXPECT_EQ(json_rows("SELECT toJson(l) FROM ks.t WHERE k = 6"),
            (std::vector<std::string>{R"([{"street": "tw", "zip": 12}])"}));
  QueryOptions unset;
  unset.values = {std::nullopt};
  unset.unset = {true};
  auto unset_field = stack_.processor().execute(
      prepare("INSERT INTO ks.t (k, p) VALUES (7, {name: ?})"), unset, session_);
  ASSERT_TRUE(std::holds_alternative<CqlError>(unset_field));
  EXPECT_EQ(std::get<CqlError>(unset_field).message,
            "Invalid unset value for field 'name' of user defined type person");
  expect_refused({
      {"INSERT INTO ks.t (k, p) VALUES (9, {nope: 'x'})",
       "Unknown field 'nope' in value of user defined type person"},
      {"INSERT INTO ks.t (k, p) VALUES (9, {nope: 1, name: 3})",
       "Invalid user type literal for p: field name is not of type text"},
      {"INSERT INTO ks.t (k, p) VALUES (9, {addr: {zip: 'x'}})",
       "Invalid user type literal for p: field addr is not of type frozen<address>"},
      {"INSERT INTO ks.t (k, p) VALUES (9, (1, 2))",
       "Invalid tuple literal for p: component 0 is not of type text"},
      {"INSERT INTO ks.t (k, p) VALUES (9, 'a')",
       "Invalid STRING constant (a) for \"p\" of type frozen<person>"},
      {"INSERT INTO ks.t (k, l) VALUES (9, [1])",
       "Invalid list literal for l: value 1 is not of type frozen<address>"},
      {"INSERT INTO ks.t (k, l) VALUES (9, {street: 'x'})",
       "Invalid user type literal for l of type list<frozen<address>>"},
      {R"(INSERT INTO ks.t JSON '{"k": 9, "p": {"nm": "x"}}')",
       "Error decoding JSON value for p: Unknown field 'nm' in value of user defined type person"},
      {"SELECT p.nope FROM ks.t", "p of type frozen<person> has no field nope"},
      {"SELECT k.a FROM ks.t", "Invalid field selection: k of type int is not a user type"},
      {"SELECT l.street FROM ks.t",
       "Invalid field selection: l of type list<frozen<address>> is not a user type"},
      {"UPDATE ks.t SET p.name = 'x' WHERE k = 1",
       "Invalid operation (p.name = 'x') for frozen UDT column p"},
      {"UPDATE ks.t SET l.x = 1 WHERE k = 1", "Invalid operation (l.x = 1) for non-UDT column l"},
      {"DELETE p.name FROM ks.t WHERE k = 1",
       "Frozen UDT column p does not support field deletion"},
      {"DELETE l.x FROM ks.t WHERE k = 1", "Invalid field deletion operation for non-UDT column l"},
      // A type still in use cannot be dropped.
      {"DROP TYPE ks.address",
       "Cannot drop user type 'ks.address' as it is still used by user types person"},
      {"DROP TYPE ks.person", "Cannot drop user type 'ks.person' as it is still used by tables t"},
      {"DROP TYPE ks.nope", "Type 'ks.nope' doesn't exist"},
  });
  ok("DROP TYPE IF EXISTS ks.nope");
  // ALTER TYPE: values written before a field was added read it as null; renames apply to every
  // table and type using the type.
  expect_refused({
      {"ALTER TYPE ks.address ADD zip int",
       "Cannot add field zip to type ks.address: a field with name zip already exists"},
      {"ALTER TYPE ks.address ADD me frozen<person>",
       "Cannot add new field me of type frozen<person> to user type ks.address as it would create "
       "a circular reference"},
      {"ALTER TYPE ks.address ADD city text",
       "Cannot add new field city of type text to user type ks.address as the type is being used "
       "in partition key by the following tables: ks.m"},
      {"ALTER TYPE ks.address ALTER zip TYPE bigint",
       "Altering field types is no longer supported"},
      {"ALTER TYPE ks.nope ADD a int", "Type ks.nope doesn't exist"},
      {"ALTER TYPE ks.address RENAME nope TO a", "Unkown field nope in user type ks.address"},
      {"ALTER TYPE ks.address RENAME street TO zip", "Duplicate field name zip in type ks"},
  });
  ok("DROP TABLE ks.m");
  expect_refused({{"ALTER TYPE ks.address ADD city text",
                   "ALTER TYPE ... ADD on a type used as a key (by clustering column c of ks.o) is "
                   "not supported yet"}});
  ok("DROP TABLE ks.o");
  ok("ALTER TYPE ks.address ADD city text");
  ok("ALTER TYPE ks.address RENAME street TO road AND zip TO postcode");
  ok("INSERT INTO ks.t (k, l) VALUES (8, [{road: 'r', city: 'c'}])");
  EXPECT_EQ(json_rows("SELECT toJson(p.addr) FROM ks.t WHERE k = 1"),
            (std::vector<std::string>{R"({"road": "main", "postcode": 1, "city": null})"}));
  EXPECT_EQ(json_rows("SELECT toJson(l) FROM ks.t WHERE k IN (6, 8)"),
            (std::vector<std::string>{R"([{"road": "tw", "postcode": 12, "city": null}])",
                                      R"([{"road": "r", "postcode": null, "city": "c"}])"}));
  EXPECT_EQ(json_rows("SELECT toJson(p.addr.road) FROM ks.t WHERE k = 1"),
            (std::vector<std::string>{"\"main\""}));
  ok("DROP TABLE ks.t");
  ok("DROP TYPE ks.person");
  ok("DROP TYPE ks.address");
  ok("CREATE TYPE ks.address (a int)");  // the name is free again
}

// Non-frozen user types (Cassandra 3.6+): a cell per field, so fields are set and deleted one by
// one; a whole value overwrites all of them; no fields left reads as null.
TEST_F(ProcessorTest, NonFrozenUserTypesAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TYPE ks.address (street text, zip int)");
  ok("CREATE TABLE ks.t (k int, c int, a address, s address static, PRIMARY KEY (k, c))");
  auto json = [&](const std::string& cql) {
    auto answer = query(cql);
    if (!std::holds_alternative<ResultMessage>(answer)) {
      ADD_FAILURE() << cql << ": " << std::get<CqlError>(answer).message;
      return std::string();
    }
    const auto& rows = std::get<ResultMessage>(answer).rows;
    std::string out;
    for (const auto& row : rows) out += (out.empty() ? "" : "\n") + std::string(*row.at(0));
    return out;
  };
  ok("INSERT INTO ks.t (k, c, a) VALUES (1, 1, {street: 'main', zip: 1})");
  ok("UPDATE ks.t SET a.zip = 2 WHERE k = 1 AND c = 1");
  ok("UPDATE ks.t SET a.street = 'elm' WHERE k = 1 AND c = 2");
  ok("UPDATE ks.t SET s.zip = 9 WHERE k = 1");
  EXPECT_EQ(json("SELECT JSON c, a, s FROM ks.t WHERE k = 1"),
            R"({"c": 1, "a": {"street": "main", "zip": 2}, "s": {"street": null, "zip": 9}})"
            "\n"
            R"({"c": 2, "a": {"street": "elm", "zip": null}, "s": {"street": null, "zip": 9}})");
  // Deleting every field leaves no value; a whole value replaces all the fields.
  ok("DELETE a.street FROM ks.t WHERE k = 1 AND c = 1");
  EXPECT_EQ(json("SELECT toJson(a) FROM ks.t WHERE k = 1 AND c = 1"),
            R"({"street": null, "zip": 2})");
  ok("DELETE a.zip FROM ks.t WHERE k = 1 AND c = 1");
  EXPECT_EQ(json("SELECT toJson(a) FROM ks.t WHERE k = 1 AND c = 1"), "null");
  ok("UPDATE ks.t SET a = {zip: 3} WHERE k = 1 AND c = 2");
  EXPECT_EQ(json("SELECT toJson(a) FROM ks.t WHERE k = 1 AND c = 2"),
            R"({"street": null, "zip": 3})");
  ok("UPDATE ks.t SET a.zip = null WHERE k = 1 AND c = 2");
  // UPDATE wrote no row marker: with its only cells gone the row is gone.
  EXPECT_EQ(json("SELECT toJson(a) FROM ks.t WHERE k = 1 AND c = 2"), "");
  // Conditions on the value and on one field.
  ok("UPDATE ks.t SET a = {street: 'x', zip: 4} WHERE k = 1 AND c = 2");
  EXPECT_EQ(json("UPDATE ks.t SET a.zip = 5 WHERE k = 1 AND c = 2 IF a.street = 'x'"),
            std::string(1, '\x01'));
  EXPECT_EQ(json("UPDATE ks.t SET a.zip = 6 WHERE k = 1 AND c = 2 IF a = {street: 'x', zip: 4}"),
            std::string(1, '\x00'));
  EXPECT_EQ(json("SELECT toJson(a.zip) FROM ks.t WHERE k = 1 AND c = 2"), "5");
  // ALTER TYPE ADD: a new field gets its own cell.
  ok("ALTER TYPE ks.address ADD city text");
  ok("UPDATE ks.t SET a.city = 'paris' WHERE k = 1 AND c = 2");
  EXPECT_EQ(json("SELECT toJson(a) FROM ks.t WHERE k = 1 AND c = 2"),
            R"({"street": "x", "zip": 5, "city": "paris"})");
  ok("DELETE a FROM ks.t WHERE k = 1 AND c = 2");
  EXPECT_EQ(json("SELECT toJson(a) FROM ks.t WHERE k = 1 AND c = 2"), "");
  expect_refused({
      {"UPDATE ks.t SET a.nope = 1 WHERE k = 1 AND c = 1",
       "UDT column a does not have a field named nope"},
      {"DELETE a.nope FROM ks.t WHERE k = 1 AND c = 1",
       "UDT column a does not have a field named nope"},
      {"UPDATE ks.t SET a.zip = 1 WHERE k = 1 AND c = 1 IF a.nope = 1",
       "Unknown field nope for column a"},
      {"UPDATE ks.t SET a.zip = 1 WHERE k = 1 AND c = 1 IF a.zip = 'x'",
       "Invalid STRING constant (x) for \"a.zip\" of type int"},
      {"SELECT writetime(a) FROM ks.t",
       "Cannot use selection function writeTime on non-frozen "
       "user type a"},
      {"SELECT * FROM ks.t WHERE a = {zip: 1} ALLOW FILTERING",
       "Non-frozen UDT column 'a' (address) cannot be restricted by any relation"},
      {"CREATE TABLE ks.w (k address PRIMARY KEY)",
       "Invalid non-frozen user-defined type address for PRIMARY KEY column 'k'"},
  });
}

// Secondary indexes as Cassandra 4 has them: CREATE INDEX (named or not) fills the index from the
// rows already there, SELECT on the indexed column needs no partition key, overwritten and
// deleted rows drop out, and the refusals are Cassandra's.
TEST_F(ProcessorTest, SecondaryIndexesAsCassandra) {
  const std::string kRequiresAllowFilteringText =
      "Cannot execute this query as it might involve data filtering and thus may have "
      "unpredictable performance. If you want to execute this query despite the performance "
      "unpredictability, use ALLOW FILTERING";
  auto load_be32 = [](const Bytes& b) {
    uint32_t v = 0;
    for (unsigned char c : b) v = (v << 8) | c;
    return v;
  };
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.u (id int, seq int, email text, city text, region text static, "
     "tags set<text>, fl frozen<list<int>>, PRIMARY KEY (id, seq))");
  for (int id = 0; id < 30; ++id) {
    ok("INSERT INTO ks.u (id, seq, email, city, region) VALUES (" + std::to_string(id) + ", 1, 'e" +
       std::to_string(id) + "', '" + (id % 3 == 0 ? "paris" : "rome") + "', 'r" +
       std::to_string(id % 2) + "')");
  }
  expect_refused({{"SELECT id FROM ks.u WHERE city = 'paris'", kRequiresAllowFilteringText}});
  ok("CREATE INDEX ON ks.u (city)");  // u_city_idx
  ok("CREATE INDEX IF NOT EXISTS ON ks.u (city)");
  ok("CREATE INDEX ks.by_region ON ks.u (region)");
  ok("CREATE INDEX ON ks.u (full(fl))");
  auto ids = [&](const std::string& cql) {
    std::vector<int> out;
    for (const auto& row : all_pages(cql, [] {
           QueryOptions o;
           o.page_size = 4;
           return o;
         }())) {
      out.push_back(static_cast<int>(load_be32(*row[0])));
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(ids("SELECT id FROM ks.u WHERE city = 'paris'"),
            (std::vector<int>{0, 3, 6, 9, 12, 15, 18, 21, 24, 27}));
  // An overwrite removes the entry of the value it replaces (read before the write); a row
  // deleted whole leaves its entry, which reads skip.
  auto entries = [&](const std::string& value, const std::string& column = "city") {
    return index_entries("u", column, value);
  };
  EXPECT_EQ(entries("paris"), 10u);
  EXPECT_EQ(entries("rome"), 20u);
  ok("UPDATE ks.u SET city = 'rome' WHERE id = 0 AND seq = 1");
  EXPECT_EQ(entries("paris"), 9u);
  EXPECT_EQ(entries("rome"), 21u);
  ok("UPDATE ks.u USING TIMESTAMP 1 SET city = 'lyon' WHERE id = 0 AND seq = 1");  // loses
  EXPECT_EQ(entries("rome"), 21u);
  ok("DELETE FROM ks.u WHERE id = 3");
  EXPECT_EQ(entries("paris"), 9u);
  ok("INSERT INTO ks.u (id, seq, city) VALUES (1, 2, 'paris')");
  // Entries are per row: moving one row of a partition off a value (later, so its purge deletes
  // at a timestamp past the other row's entry) leaves the other row's entry.
  ok("INSERT INTO ks.u (id, seq, city) VALUES (6, 2, 'paris')");
  ok("UPDATE ks.u SET city = 'rome' WHERE id = 6 AND seq = 2");
  EXPECT_EQ(ids("SELECT id FROM ks.u WHERE city = 'paris' AND seq = 1 ALLOW FILTERING"),
            (std::vector<int>{6, 9, 12, 15, 18, 21, 24, 27}));
  EXPECT_EQ(entries("paris"), 10u);  // row 3's entry, stale, is still there
  EXPECT_EQ(ids("SELECT id FROM ks.u WHERE city = 'paris'"),
            (std::vector<int>{1, 6, 9, 12, 15, 18, 21, 24, 27}));
  // That read (whole partitions) removed it, as Cassandra's index reads remove stale entries.
  EXPECT_EQ(entries("paris"), 9u);
  EXPECT_EQ(ids("SELECT id FROM ks.u WHERE city = 'paris' AND seq = 2"), (std::vector<int>{1}));
  EXPECT_EQ(ids("SELECT id FROM ks.u WHERE city = 'paris' AND email = 'e9' ALLOW FILTERING"),
            (std::vector<int>{9}));
  // A static column: the rows of partitions with odd ids (3 is gone, 1 has two rows).
  EXPECT_EQ(entries("r1", "region"), 15u);  // partition 3's static row is gone
  EXPECT_EQ(row_count("SELECT id FROM ks.u WHERE region = 'r1'"), 15u);
  EXPECT_EQ(entries("r1", "region"), 14u);
  // A read restricted to some rows does not judge the entries of the others.
  ok("DELETE FROM ks.u WHERE id = 5");
  EXPECT_EQ(row_count("SELECT id FROM ks.u WHERE region = 'r1' AND seq = 1"), 13u);
  EXPECT_EQ(entries("r1", "region"), 14u);
  // Written again before a read removed it, the entry is current again and stays.
  ok("INSERT INTO ks.u (id, seq, region, city) VALUES (5, 1, 'r1', 'rome')");
  EXPECT_EQ(row_count("SELECT id FROM ks.u WHERE region = 'r1'"), 15u);
  EXPECT_EQ(entries("r1", "region"), 14u);
  EXPECT_EQ(row_count("SELECT id FROM ks.u WHERE city = 'nowhere'"), 0u);
  ok("UPDATE ks.u SET fl = [1, 2] WHERE id = 5 AND seq = 1");
  EXPECT_EQ(ids("SELECT id FROM ks.u WHERE fl = [1, 2]"), (std::vector<int>{5}));
  // Prepared, with the value bound.
  auto prepared = stack_.processor().execute(
      prepare("SELECT id FROM ks.u WHERE city = ?"),
      [] {
        QueryOptions o;
        o.values = {Bytes("rome")};
        return o;
      }(),
      session_);
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(prepared));
  EXPECT_EQ(std::get<ResultMessage>(prepared).rows.size(), 22u);  // 20, and (0, 1), (6, 2)
  expect_refused({
      {"CREATE INDEX ON ks.u (city)",
       "Index u_city_idx_1 is a duplicate of existing index "
       "u_city_idx"},
      {"CREATE INDEX by_region ON ks.u (email)", "Index 'by_region' already exists"},
      {"CREATE INDEX ON ks.u (nope)", "Column 'nope' doesn't exist"},
      {"CREATE INDEX ON ks.u (id)",
       "Cannot create secondary index on the only partition key "
       "column id"},
      {"CREATE INDEX ON ks.u (fl)",
       "Cannot create values() index on frozen column fl. Frozen collections are immutable and "
       "must be fully indexed by using the 'full(fl)' modifier"},
      {"CREATE INDEX ON ks.u (full(city))",
       "full() indexes can only be created on frozen "
       "collections"},
      {"CREATE INDEX ON ks.u (keys(city))",
       "Cannot create keys() index on city. Non-collection columns only support simple indexes"},
      {"CREATE CUSTOM INDEX ON ks.u (email) USING 'org.apache.cassandra.index.sasi.SASIIndex'",
       "CREATE CUSTOM INDEX is not supported yet"},
      {"SELECT id FROM ks.u WHERE city = 'rome' ORDER BY seq",
       "ORDER BY with 2ndary indexes is not supported."},
      {"SELECT id FROM ks.u WHERE city = 'rome' AND email = 'e1'", kRequiresAllowFilteringText},
      {"ALTER TABLE ks.u DROP city",
       "Cannot drop column city because it has dependent secondary indexes (u_city_idx)"},
      {"DROP INDEX ks.nope", "Index 'ks.nope' doesn't exist'"},
  });
  // Paging resumes after the partition the last page ended in, though entries were added before
  // it in between: no row twice, none missed.
  {
    QueryOptions o;
    o.page_size = 4;
    auto first = query("SELECT id FROM ks.u WHERE city = 'rome'", o);
    ASSERT_TRUE(std::holds_alternative<ResultMessage>(first));
    const auto& page = std::get<ResultMessage>(first);
    ASSERT_EQ(page.rows.size(), 4u);
    ASSERT_TRUE(page.paging_state.has_value());
    std::vector<int> seen;
    for (const auto& row : page.rows) seen.push_back(static_cast<int>(load_be32(*row[0])));
    for (int id = 200; id < 260; ++id)
      ok("INSERT INTO ks.u (id, seq, city) VALUES (" + std::to_string(id) + ", 1, 'rome')");
    o.paging_state = page.paging_state;
    for (const auto& row : all_pages("SELECT id FROM ks.u WHERE city = 'rome'", o))
      seen.push_back(static_cast<int>(load_be32(*row[0])));
    std::sort(seen.begin(), seen.end());
    EXPECT_TRUE(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
    std::vector<int> before;  // every row that was there before the first page
    for (int id = 0; id < 30; ++id) {
      if (id != 3 && (id % 3 != 0 || id == 0)) before.push_back(id);
    }
    EXPECT_TRUE(std::includes(seen.begin(), seen.end(), before.begin(), before.end()));
  }
  // TRUNCATE empties the index too; DROP INDEX makes the column a filtered one again.
  ok("TRUNCATE ks.u");
  ok("INSERT INTO ks.u (id, seq, city) VALUES (100, 1, 'paris')");
  EXPECT_EQ(ids("SELECT id FROM ks.u WHERE city = 'paris'"), (std::vector<int>{100}));
  ok("DROP INDEX ks.u_city_idx");
  ok("DROP INDEX IF EXISTS ks.u_city_idx");
  expect_refused({{"SELECT id FROM ks.u WHERE city = 'paris'", kRequiresAllowFilteringText}});
  ok("ALTER TABLE ks.u DROP city");
  ok("DROP TABLE ks.u");  // and its indexes
  ok("CREATE TABLE ks.u (id int PRIMARY KEY, region text)");
  ok("CREATE INDEX by_region ON ks.u (region)");  // the name is free again
}

// CREATE INDEX fills the index from the rows in storage. A write planned before the index
// existed and applied after it was created gets the index's entries when it applies, so it is
// not missing from the index whether or not the fill scan saw it.
TEST_F(ProcessorTest, WritesPlannedBeforeCreateIndexAreIndexed) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.r (k int PRIMARY KEY, v text)");
  ok("INSERT INTO ks.r (k, v) VALUES (0, 'x')");
  QueryProcessor::WriteGroup planned;
  std::promise<QueryProcessor::Outcome> answered;
  stack_.processor().query_async(
      "INSERT INTO ks.r (k, v) VALUES (1, 'x')", {}, session_,
      [&answered](QueryProcessor::Outcome o) { answered.set_value(std::move(o)); }, &planned);
  ASSERT_EQ(planned.waiting.size(), 1u);  // planned, not applied
  ok("CREATE INDEX ON ks.r (v)");
  stack_.processor().apply_group(std::move(planned));
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(answered.get_future().get()));
  auto found = digit_rows("SELECT k FROM ks.r WHERE v = 'x'", 0, 1);
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, (std::vector<std::string>{"0", "1"}));

  // Writes that run while CREATE INDEX does: every one is found through the index after it.
  ok("CREATE TABLE ks.w (k int PRIMARY KEY, v text)");
  constexpr int kWrites = 400;
  std::atomic<bool> failed{false};
  std::thread writer([&] {
    Session session;
    for (int k = 0; k < kWrites; ++k) {
      auto o = stack_.processor().query(
          "INSERT INTO ks.w (k, v) VALUES (" + std::to_string(k) + ", 'y')", {}, session);
      if (!std::holds_alternative<ResultMessage>(o)) failed = true;
    }
  });
  ok("CREATE INDEX ON ks.w (v)");
  writer.join();
  EXPECT_FALSE(failed);
  EXPECT_EQ(row_count("SELECT k FROM ks.w WHERE v = 'y'"), static_cast<size_t>(kWrites));
}

// Statements for what is not there yet name themselves, whole, in the typed error.
TEST_F(ProcessorTest, UnsupportedStatementsNameThemselves) {
  expect_refused({
      {"CREATE MATERIALIZED VIEW ks.v AS SELECT * FROM ks.t WHERE k IS NOT NULL PRIMARY KEY (k)",
       "CREATE MATERIALIZED VIEW is not supported yet"},
      {"ALTER MATERIALIZED VIEW ks.v WITH comment = 'x'",
       "ALTER MATERIALIZED VIEW is not supported yet"},
      {"DROP MATERIALIZED VIEW ks.v", "DROP MATERIALIZED VIEW is not supported yet"},
      {"CREATE ROLE r", "CREATE ROLE is not supported yet"},
      {"drop function ks.f", "DROP FUNCTION is not supported yet"},
      {"LIST ROLES", "LIST statements are not supported yet"},
  });
}

// While CREATE INDEX fills the index, reads it would serve fail with ReadFailure (Cassandra's
// IndexNotAvailableException) instead of answering from a partial index.
TEST_F(ProcessorTest, ReadsOfAnIndexBeingBuiltFail) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.b (k int PRIMARY KEY, v text)");
  constexpr size_t kRows = 3000;
  for (size_t k = 0; k < kRows; ++k)
    ok("INSERT INTO ks.b (k, v) VALUES (" + std::to_string(k) + ", 'z')");
  std::atomic<bool> created{false};
  std::thread ddl([&] {
    Session session;
    auto o = stack_.processor().query("CREATE INDEX by_v ON ks.b (v)", {}, session);
    EXPECT_TRUE(std::holds_alternative<ResultMessage>(o));
    created = true;
  });
  size_t partial = 0, failures = 0, complete = 0;
  while (!created) {
    auto o = query("SELECT k FROM ks.b WHERE v = 'z'");
    if (auto* e = std::get_if<CqlError>(&o)) {
      if (e->code == ErrorCode::kReadFailure) {
        ++failures;
        EXPECT_NE(e->message.find("INDEX_NOT_AVAILABLE"), std::string::npos) << e->message;
      } else {
        EXPECT_EQ(e->code, ErrorCode::kInvalid) << e->message;  // not published yet
      }
    } else {
      ++(std::get<ResultMessage>(o).rows.size() == kRows ? complete : partial);
    }
  }
  ddl.join();
  EXPECT_EQ(partial, 0u) << failures << " failures, " << complete << " complete";
  EXPECT_EQ(row_count("SELECT k FROM ks.b WHERE v = 'z'"), kRows);
}

// An index is used only once its build has finished and been recorded: a build that a crash
// cut short (here: the marker deleted and the entries truncated, as if the crash came right
// after CREATE INDEX published the schema) leaves reads failing with INDEX_NOT_AVAILABLE after
// the restart, never answering from what the index holds, until rebuild_indexes builds it.
TEST_F(ProcessorTest, AnIndexWhoseBuildWasCutShortIsBuiltAgainAtStart) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.b (k int PRIMARY KEY, v text)");
  constexpr size_t kRows = 40;
  for (size_t k = 0; k < kRows; ++k)
    ok("INSERT INTO ks.b (k, v) VALUES (" + std::to_string(k) + ", '" + (k % 2 ? "z" : "y") + "')");
  ok("CREATE INDEX by_v ON ks.b (v)");
  EXPECT_EQ(row_count("SELECT k FROM ks.b WHERE v = 'z'"), kRows / 2);
  const storage::TableId index_id =
      stack_.schemas().current()->table("ks", "b")->index_on("v")->storage_id;
  const std::string marker = "index_built/" + std::to_string(index_id);
  ASSERT_TRUE(stack_.engine().get_local(marker).value().has_value());

  // Built and recorded: a restart uses it at once.
  stack_.restart();
  EXPECT_EQ(row_count("SELECT k FROM ks.b WHERE v = 'z'"), kRows / 2);

  ASSERT_TRUE(stack_.engine().truncate_table(index_id).is_ok());
  ASSERT_TRUE(stack_.engine().delete_local(marker).is_ok());
  stack_.restart();
  auto answer = query("SELECT k FROM ks.b WHERE v = 'z'");
  ASSERT_TRUE(std::holds_alternative<CqlError>(answer));
  EXPECT_EQ(std::get<CqlError>(answer).code, ErrorCode::kReadFailure);
  EXPECT_NE(std::get<CqlError>(answer).message.find("INDEX_NOT_AVAILABLE"), std::string::npos);

  ASSERT_TRUE(stack_.processor().rebuild_indexes().is_ok());
  EXPECT_EQ(row_count("SELECT k FROM ks.b WHERE v = 'z'"), kRows / 2);
  EXPECT_EQ(row_count("SELECT k FROM ks.b WHERE v = 'y'"), kRows / 2);
  stack_.restart();
  EXPECT_EQ(row_count("SELECT k FROM ks.b WHERE v = 'z'"), kRows / 2);

  // DROP INDEX forgets the record, so nothing is left under the index's id.
  ok("DROP INDEX ks.by_v");
  EXPECT_FALSE(stack_.engine().get_local(marker).value().has_value());
}

// A CREATE INDEX whose build fails answers the error and leaves no index behind, so no read
// is served from the entries it wrote before failing; the same statement succeeds later.
TEST_F(ProcessorTest, ACreateIndexThatFailsLeavesNoIndex) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.b (k int PRIMARY KEY, v text)");
  for (int k = 0; k < 10; ++k)
    ok("INSERT INTO ks.b (k, v) VALUES (" + std::to_string(k) + ", 'z')");
  stack_.processor().set_index_build_fault([] { return Status::io_error("disk on fire"); });
  auto failed = query("CREATE INDEX by_v ON ks.b (v)");
  ASSERT_TRUE(std::holds_alternative<CqlError>(failed));
  EXPECT_NE(std::get<CqlError>(failed).message.find("disk on fire"), std::string::npos);
  EXPECT_EQ(stack_.schemas().current()->table("ks", "b")->index_on("v"), nullptr);
  auto unindexed = query("SELECT k FROM ks.b WHERE v = 'z'");
  ASSERT_TRUE(std::holds_alternative<CqlError>(unindexed));
  EXPECT_EQ(std::get<CqlError>(unindexed).code, ErrorCode::kInvalid);  // needs ALLOW FILTERING

  stack_.processor().set_index_build_fault(nullptr);
  ok("CREATE INDEX by_v ON ks.b (v)");
  EXPECT_EQ(row_count("SELECT k FROM ks.b WHERE v = 'z'"), 10u);
}

// Indexes on the elements of non-frozen collections: values (set elements, list and map values)
// serve CONTAINS, keys(m) serves CONTAINS KEY; removing a set element or a map key removes its
// entry.
TEST_F(ProcessorTest, CollectionIndexesAsCassandra) {
  ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  ok("CREATE TABLE ks.t (k int, c int, tags set<text>, l list<int>, m map<text, int>, "
     "e map<text, int>, PRIMARY KEY (k, c))");
  ok("INSERT INTO ks.t (k, c, tags, l, m) VALUES (1, 1, {'a', 'b'}, [1, 2], {'x': 1})");
  ok("INSERT INTO ks.t (k, c, tags, l, m) VALUES (2, 1, {'b'}, [2, 2], {'y': 2})");
  ok("CREATE INDEX ON ks.t (tags)");
  ok("CREATE INDEX ON ks.t (l)");
  ok("CREATE INDEX ON ks.t (keys(m))");
  auto keys = [&](const std::string& cql) {  // in key order (results come in token order)
    auto rows = digit_rows(cql, 0, 1);
    std::sort(rows.begin(), rows.end());
    return rows;
  };
  EXPECT_EQ(keys("SELECT k FROM ks.t WHERE tags CONTAINS 'b'"),
            (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(keys("SELECT k FROM ks.t WHERE l CONTAINS 2"), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(keys("SELECT k FROM ks.t WHERE m CONTAINS KEY 'y'"), (std::vector<std::string>{"2"}));
  auto entries = [&](const std::string& column, const Bytes& value) {
    return index_entries("t", column, value);
  };
  ok("UPDATE ks.t SET tags = tags - {'a'} WHERE k = 1 AND c = 1");
  EXPECT_EQ(entries("tags", "a"), 0u);
  EXPECT_TRUE(keys("SELECT k FROM ks.t WHERE tags CONTAINS 'a'").empty());
  ok("UPDATE ks.t SET tags = {'z'} WHERE k = 2 AND c = 1");  // an overwrite removes 'b' of row 2
  EXPECT_EQ(entries("tags", "b"), 1u);
  EXPECT_EQ(keys("SELECT k FROM ks.t WHERE tags CONTAINS 'b'"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(keys("SELECT k FROM ks.t WHERE tags CONTAINS 'z'"), (std::vector<std::string>{"2"}));
  ok("DELETE m['y'] FROM ks.t WHERE k = 2 AND c = 1");
  EXPECT_EQ(entries("m", "y"), 0u);
  // A list can hold a value twice: removing one 2 keeps the row found by the other.
  ok("DELETE l[0] FROM ks.t WHERE k = 2 AND c = 1");
  EXPECT_EQ(keys("SELECT k FROM ks.t WHERE l CONTAINS 2"), (std::vector<std::string>{"1", "2"}));
  ok("UPDATE ks.t SET l = [7] WHERE k = 2 AND c = 1");  // left to the reads' check
  const Bytes two("\0\0\0\2", 4);
  EXPECT_EQ(entries("l", two), 2u);
  EXPECT_EQ(keys("SELECT k FROM ks.t WHERE l CONTAINS 2"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(entries("l", two), 1u);  // which removed row 2's entry
  // So does a read after a whole-partition delete, on a map's keys too.
  ok("DELETE FROM ks.t WHERE k = 1");
  EXPECT_EQ(entries("m", "x"), 1u);
  EXPECT_TRUE(keys("SELECT k FROM ks.t WHERE m CONTAINS KEY 'x'").empty());
  EXPECT_EQ(entries("m", "x"), 0u);
  expect_refused({
      {"CREATE INDEX ON ks.t (values(m))",
       "A second index on column m (another target) is not supported yet"},
      {"CREATE INDEX ON ks.t (entries(tags))",
       "Cannot create index on entries of column tags with non-map type"},
      {"SELECT k FROM ks.t WHERE m['x'] = 1",
       "Cannot execute this query as it might involve data filtering and thus may have "
       "unpredictable performance. If you want to execute this query despite the performance "
       "unpredictability, use ALLOW FILTERING"},
      {"SELECT k FROM ks.t WHERE m CONTAINS 1",
       "Cannot execute this query as it might involve data filtering and thus may have "
       "unpredictable performance. If you want to execute this query despite the performance "
       "unpredictability, use ALLOW FILTERING"},
  });
  auto targets = query(
      "SELECT options FROM system_schema.indexes WHERE keyspace_name = 'ks' AND table_name = 't'");
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(targets));
  std::vector<std::string> seen;
  for (const auto& row : std::get<ResultMessage>(targets).rows) {
    std::vector<Bytes> parts;
    ASSERT_TRUE(schema::split_collection(*row[0], true, &parts).is_ok());
    seen.push_back(parts.at(1));
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"keys(m)", "values(l)", "values(tags)"}));

  // entries(e) serves e[key] = value; overwriting or deleting a key removes its entry.
  ok("INSERT INTO ks.t (k, c, e) VALUES (3, 1, {'a': 1, 'b': 2})");
  ok("INSERT INTO ks.t (k, c, e) VALUES (4, 1, {'a': 1})");
  ok("INSERT INTO ks.t (k, c, e) VALUES (4, 2, {'a': 2})");
  ok("CREATE INDEX ON ks.t (entries(e))");
  EXPECT_EQ(keys("SELECT k FROM ks.t WHERE e['a'] = 1"), (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(digit_rows("SELECT k, c FROM ks.t WHERE e['a'] = 2", 0, 2),
            (std::vector<std::string>{"42"}));
  ok("UPDATE ks.t SET e['a'] = 5 WHERE k = 3 AND c = 1");
  ok("INSERT INTO ks.t (k, c, e) VALUES (5, 1, {'a': 1})");
  auto one_a = schema::serialize_tuple({Bytes("a"), Bytes("\0\0\0\1", 4)});
  EXPECT_EQ(entries("e", one_a), 2u);  // (3, 1)'s went with the overwrite
  EXPECT_EQ(keys("SELECT k FROM ks.t WHERE e['a'] = 1"), (std::vector<std::string>{"4", "5"}));
  EXPECT_EQ(keys("SELECT k FROM ks.t WHERE e['a'] = 5"), (std::vector<std::string>{"3"}));
  EXPECT_EQ(keys("SELECT k FROM ks.t WHERE e['a'] = 1 AND c = 1"),
            (std::vector<std::string>{"4", "5"}));
  ok("DELETE e['a'] FROM ks.t WHERE k = 5 AND c = 1");
  EXPECT_EQ(entries("e", one_a), 1u);
  ok("DELETE FROM ks.t WHERE k = 4");  // left to the next read, which removes it
  EXPECT_TRUE(keys("SELECT k FROM ks.t WHERE e['a'] = 1").empty());
  EXPECT_EQ(entries("e", one_a), 0u);
  expect_refused({
      {"SELECT k FROM ks.t WHERE e CONTAINS 1",
       "Cannot execute this query as it might involve data filtering and thus may have "
       "unpredictable performance. If you want to execute this query despite the performance "
       "unpredictability, use ALLOW FILTERING"},
  });
  auto described = query(
      "SELECT options FROM system_schema.indexes WHERE keyspace_name = 'ks' AND table_name = 't' "
      "AND index_name = 't_e_idx'");
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(described));
  ASSERT_EQ(std::get<ResultMessage>(described).rows.size(), 1u);
  std::vector<Bytes> parts;
  ASSERT_TRUE(schema::split_collection(*std::get<ResultMessage>(described).rows[0][0], true, &parts)
                  .is_ok());
  EXPECT_EQ(parts.at(1), "entries(e)");
}

}  // namespace
}  // namespace ringdb::cql
