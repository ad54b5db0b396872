#include "cql/parser.h"

#include <gtest/gtest.h>

namespace ringdb::cql {
namespace {

TEST(Parser, AcceptsTheStatementsDriversAndUsersSend) {
  const char* statements[] = {
      "SELECT * FROM system.local WHERE key='local'",
      "select schema_version from system.local",
      "SELECT peer, host_id, rpc_address, schema_version FROM system.peers",
      "USE \"MyKeyspace\"",
      "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', "
      "'replication_factor': 1} AND durable_writes = true",
      "CREATE TABLE ks.t (a int, b text, c frozen<map<text, list<int>>>, s text static, PRIMARY "
      "KEY ((a, b), c)) "
      "WITH CLUSTERING ORDER BY (c DESC) AND default_time_to_live = 10 AND compaction = {'class': "
      "'LeveledCompactionStrategy'}",
      "CREATE TABLE t (id uuid PRIMARY KEY, v varint)",
      "CREATE TABLE t (k int PRIMARY KEY, v int,)",  // Cassandra's grammar takes a trailing comma
      "ALTER TABLE t ADD (x int, y set<text>)",
      "ALTER TABLE t DROP x",
      "INSERT INTO t (a, b) VALUES (1, 'x''y') IF NOT EXISTS USING TTL 10 AND TIMESTAMP 123",
      "INSERT INTO t JSON '{\"a\": 1}' DEFAULT UNSET",
      "UPDATE t USING TTL ? SET l = l + [1, 2], m['k'] = 3, s = s - {'a'}, c = c + 1, l = [0] + l "
      "WHERE a = ? AND b IN (1, 2) IF x = 1 AND y > 2",
      "DELETE m['k'], v FROM t USING TIMESTAMP 5 WHERE a = :a AND (b, c) > (1, 2) IF EXISTS",
      "BEGIN UNLOGGED BATCH INSERT INTO t (a) VALUES (1); DELETE FROM t WHERE a = 2; APPLY BATCH;",
      "SELECT DISTINCT a, token(a), writetime(v), ttl(v), count(*), cast(v as text) AS vt, now(), "
      "toTimestamp(now()) "
      "FROM t WHERE token(a) > -100 AND token(a) <= 100 GROUP BY a ORDER BY c DESC PER PARTITION "
      "LIMIT 2 LIMIT 10 ALLOW FILTERING",
      "SELECT JSON * FROM t WHERE id = 550e8400-e29b-41d4-a716-446655440000 AND d = 1h30m AND b = "
      "0xCAFE AND f = -1.5e3",
      "TRUNCATE TABLE ks.t",
      "DROP KEYSPACE IF EXISTS ks",
      "-- a comment\nSELECT a /* inline */ FROM t;",
  };
  for (const char* text : statements) {
    auto parsed = parse_statement(text);
    EXPECT_TRUE(parsed.is_ok()) << text << "\n  " << parsed.status().to_string();
  }
}

TEST(Parser, CountsBindMarkersInOrder) {
  auto parsed = parse_statement("UPDATE t USING TTL ? SET v = :val WHERE a = ? AND b IN ?");
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(parsed->bind_count, 4);
  EXPECT_EQ(parsed->bind_names, (std::vector<std::string>{"", "val", "", ""}));
}

TEST(Parser, RejectsGarbageWithSyntaxErrors) {
  const char* bad[] = {"",
                       "SELEC * FROM t",
                       "SELECT * FROM",
                       "INSERT INTO t (a) VALUES (1",
                       "SELECT * FROM t WHERE a = 'unterminated",
                       "CREATE TABLE t (a int)",
                       "CREATE TABLE t ()",
                       "CREATE TABLE t (,)",
                       "SELECT * FROM t LIMIT",
                       "UPDATE t SET a = 1",
                       "\x01\x02",
                       "SELECT (((((((((",
                       "BEGIN BATCH SELECT * FROM t APPLY BATCH"};
  for (const char* text : bad) {
    auto parsed = parse_statement(text);
    ASSERT_FALSE(parsed.is_ok()) << text;
    EXPECT_TRUE(parsed.status().code() == StatusCode::kSyntaxError ||
                parsed.status().code() == StatusCode::kInvalidArgument)
        << text << " -> " << parsed.status().to_string();
  }
  auto compact = parse_statement("CREATE TABLE t (k int PRIMARY KEY, v int) WITH COMPACT STORAGE");
  ASSERT_FALSE(compact.is_ok());
  EXPECT_EQ(compact.status().code(), StatusCode::kSyntaxError);
  EXPECT_EQ(compact.status().message(),
            "COMPACT STORAGE tables are not allowed starting with version 4.0");
  std::string deep = "SELECT * FROM t WHERE a = " + std::string(100, '[') + std::string(100, ']');
  EXPECT_FALSE(parse_statement(deep).is_ok());
}

}  // namespace
}  // namespace ringdb::cql
