#include "schema/schema.h"

#include <gtest/gtest.h>

#include "schema/values.h"
#include "storage/test_util.h"

namespace ringdb::schema {
namespace {

TEST(CqlType, ParsesAndPrintsLikeCassandra) {
  for (const char* text : {"int", "text", "frozen<list<int>>", "map<text, frozen<set<uuid>>>",
                           "frozen<tuple<int, text>>", "set<timeuuid>", "frozen<map<int, text>>",
                           "list<frozen<tuple<int, int>>>"}) {
    auto t = CqlType::parse(text);
    ASSERT_TRUE(t.is_ok()) << text << ": " << t.status().to_string();
    EXPECT_EQ(t->to_cql(), text);
  }
  EXPECT_EQ(CqlType::parse("VARCHAR")->to_cql(), "text");
  // Tuples are always frozen; Cassandra prints them so, at any depth.
  EXPECT_EQ(CqlType::parse("tuple<int, text>")->to_cql(), "frozen<tuple<int, text>>");
  EXPECT_EQ(CqlType::parse("tuple<int, tuple<text, double>>")->to_cql(),
            "frozen<tuple<int, frozen<tuple<text, double>>>>");
  EXPECT_TRUE(CqlType::parse("list<int>")->is_multi_cell());
  EXPECT_FALSE(CqlType::parse("frozen<list<int>>")->is_multi_cell());
  for (const char* bad :
       {"", "lst<int>", "list<int", "map<int>", "list<list<int>>", "frozen<int>", "set<counter>"}) {
    EXPECT_FALSE(CqlType::parse(bad).is_ok()) << bad;
  }
  // Cassandra's words for what collections and tuples may not hold.
  for (const auto& [text, message] : std::vector<std::pair<const char*, const char*>>{
           {"map<int, set<int>>",
            "Non-frozen collections are not allowed inside collections: "
            "map<int, set<int>>"},
           {"list<counter>", "Counters are not allowed inside collections: list<counter>"},
           {"tuple<int, counter>", "Counters are not allowed inside tuples"},
           {"set<duration>", "Durations are not allowed inside sets: set<duration>"},
           {"map<duration, int>", "Durations are not allowed as map keys: map<duration, int>"},
           {"frozen<int>",
            "frozen<> is only allowed on collections, tuples, and user-defined types (got int)"}}) {
    auto t = CqlType::parse(text);
    ASSERT_FALSE(t.is_ok()) << text;
    EXPECT_EQ(t.status().message(), message) << text;
  }
  // A tuple freezes the collections it holds; durations may be list elements and map values.
  EXPECT_EQ(CqlType::parse("tuple<int, list<int>>")->to_cql(),
            "frozen<tuple<int, frozen<list<int>>>>");
  // So does frozen<>, all the way down (Cassandra's JsonTest declares such maps).
  EXPECT_EQ(CqlType::parse("frozen<map<set<int>, boolean>>")->to_cql(),
            "frozen<map<frozen<set<int>>, boolean>>");
  EXPECT_EQ(CqlType::parse("map<frozen<map<set<text>, text>>, boolean>")->to_cql(),
            "map<frozen<map<frozen<set<text>>, text>>, boolean>");
  EXPECT_FALSE(CqlType::parse("map<frozen<list<int>>, set<int>>").is_ok());
  EXPECT_TRUE(CqlType::parse("map<int, duration>").is_ok());
  EXPECT_TRUE(CqlType::parse("list<duration>").is_ok());
}

Bytes literal(const char* type, LiteralKind kind, const char* text) {
  auto v = value_from_literal(*CqlType::parse(type), kind, text);
  EXPECT_TRUE(v.is_ok()) << type << " " << text << ": " << v.status().to_string();
  return v.is_ok() ? *v : Bytes();
}

TEST(Values, LiteralsRoundTripThroughFormatting) {
  struct Case {
    const char* type;
    LiteralKind kind;
    const char* text;
    const char* printed;
  } cases[] = {
      {"int", LiteralKind::kInteger, "-42", "-42"},
      {"bigint", LiteralKind::kInteger, "9223372036854775807", "9223372036854775807"},
      {"varint", LiteralKind::kInteger, "-123456789012345678901234567890",
       "-123456789012345678901234567890"},
      {"decimal", LiteralKind::kFloat, "-12.050", "-12.050"},
      // Decimals, doubles and floats print as Java's BigDecimal and Double print them, as
      // Cassandra's toJson and casts to text do.
      {"decimal", LiteralKind::kFloat, "1.5e3", "1.5E+3"},
      {"decimal", LiteralKind::kFloat, "1500", "1500"},
      {"decimal", LiteralKind::kFloat, "-1.23E-12", "-1.23E-12"},
      {"decimal", LiteralKind::kFloat, "0.000001", "0.000001"},
      {"decimal", LiteralKind::kFloat, "0.0000001", "1E-7"},
      {"decimal", LiteralKind::kFloat, "0.00", "0.00"},
      {"double", LiteralKind::kFloat, "0.1", "0.1"},
      {"double", LiteralKind::kFloat, "1e20", "1.0E20"},
      {"double", LiteralKind::kFloat, "9999999.5", "9999999.5"},
      {"double", LiteralKind::kFloat, "10000000", "1.0E7"},
      {"double", LiteralKind::kFloat, "0.001", "0.001"},
      {"double", LiteralKind::kFloat, "0.0001", "1.0E-4"},
      {"double", LiteralKind::kFloat, "-123.456e-10", "-1.23456E-8"},
      {"double", LiteralKind::kFloat, "123123.123123", "123123.123123"},
      {"float", LiteralKind::kFloat, "123123.123123", "123123.125"},
      {"float", LiteralKind::kFloat, "1e-5", "1.0E-5"},
      {"float", LiteralKind::kInteger, "3", "3.0"},
      {"boolean", LiteralKind::kBoolean, "true", "true"},
      {"text", LiteralKind::kString, "it's", "'it''s'"},
      {"blob", LiteralKind::kHex, "0xcafe", "0xcafe"},
      {"uuid", LiteralKind::kUuid, "550e8400-e29b-41d4-a716-446655440000",
       "550e8400-e29b-41d4-a716-446655440000"},
      {"timestamp", LiteralKind::kString, "2024-02-29 13:45:01.250+0000",
       "'2024-02-29 13:45:01.250+0000'"},
      {"timestamp", LiteralKind::kString, "2024-02-29T14:45:01+0100",
       "'2024-02-29 13:45:01.000+0000'"},
      {"timestamp", LiteralKind::kInteger, "0", "'1970-01-01 00:00:00.000+0000'"},
      {"date", LiteralKind::kString, "1969-12-31", "'1969-12-31'"},
      {"time", LiteralKind::kString, "08:30:00.5", "'08:30:00.500000000'"},
      {"inet", LiteralKind::kString, "10.0.0.1", "'10.0.0.1'"},
      {"inet", LiteralKind::kString, "::1", "'::1'"},
      {"duration", LiteralKind::kDuration, "1y2mo3d4h5m6s7ms", "1y2mo3d4h5m6s7ms"},
  };
  for (const auto& c : cases) {
    Bytes v = literal(c.type, c.kind, c.text);
    EXPECT_EQ(format_value(*CqlType::parse(c.type), v), c.printed) << c.type << " " << c.text;
    EXPECT_TRUE(validate_value(*CqlType::parse(c.type), v).is_ok()) << c.type;
  }
}

// Durations are three zig-zag vints (months, days, nanoseconds). Every width of the nanosecond
// part must encode as Cassandra's VIntCoding does: checked against a plain statement of it.
TEST(Values, DurationLiteralsEncodeEveryWidthAsCassandra) {
  auto vint = [](uint64_t u) {
    int size = 1;  // bytes in all: the first holds (8 - size) value bits, the rest 8 each
    while (size < 9 && u >= (uint64_t{1} << (7 * size))) ++size;
    Bytes out;
    if (size == 9) {
      out.push_back('\xff');
      for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(u >> (8 * i)));
      return out;
    }
    const int extra = size - 1;
    out.push_back(static_cast<char>(((0xff00 >> extra) & 0xff) | (u >> (8 * extra))));
    for (int i = extra - 1; i >= 0; --i) out.push_back(static_cast<char>(u >> (8 * i)));
    return out;
  };
  for (int bits = 0; bits < 62; ++bits) {
    const int64_t nanos = int64_t{1} << bits;
    auto encoded = value_from_literal(*CqlType::parse("duration"), LiteralKind::kDuration,
                                      std::to_string(nanos) + "ns");
    ASSERT_TRUE(encoded.is_ok()) << nanos;
    Bytes expected = {'\0', '\0'};  // no months, no days
    expected += vint(static_cast<uint64_t>(nanos) << 1);
    EXPECT_EQ(*encoded, expected) << nanos << "ns";
  }
  // 1h30m (5.4e12 ns, 44 bits zig-zagged) was cut to 16m41s953ms488us896ns before.
  auto hour_and_half =
      value_from_literal(*CqlType::parse("duration"), LiteralKind::kDuration, "1h30m");
  ASSERT_TRUE(hour_and_half.is_ok());
  EXPECT_EQ(format_value(*CqlType::parse("duration"), *hour_and_half), "1h30m");
}

// ISO 8601 durations, as Cassandra's Duration.from reads them.
TEST(Values, IsoDurations) {
  const CqlType duration = *CqlType::parse("duration");
  for (const auto& [text, shown] :
       std::vector<std::pair<const char*, const char*>>{{"P1Y2M3DT4H5M6S", "1y2mo3d4h5m6s"},
                                                        {"p1y2m3dt4h5m6s", "1y2mo3d4h5m6s"},
                                                        {"P2W", "14d"},
                                                        {"PT90M", "1h30m"},
                                                        {"P0001-02-03T04:05:06", "1y2mo3d4h5m6s"},
                                                        {"-P1D", "-1d"}}) {
    auto v = value_from_literal(duration, LiteralKind::kString, text);
    ASSERT_TRUE(v.is_ok()) << text << ": " << v.status().to_string();
    EXPECT_EQ(format_value(duration, *v), shown) << text;
  }
  // Microseconds may be written us or µs (the micro sign; the Greek mu too).
  for (const char* micros : {"3us", "3\xc2\xb5s", "3\xce\xbcs", "3US"}) {
    auto v = value_from_literal(duration, LiteralKind::kString, micros);
    ASSERT_TRUE(v.is_ok()) << micros << ": " << v.status().to_string();
    EXPECT_EQ(format_value(duration, *v), "3us") << micros;
  }
  // Every part is optional in Cassandra's pattern, so these are durations too.
  for (const char* zero_or_days : {"P", "PT", "P1DT"})
    EXPECT_TRUE(value_from_literal(duration, LiteralKind::kString, zero_or_days).is_ok());
  // Too large for Cassandra's duration (32-bit months and days, 64-bit nanoseconds): refused, not
  // wrapped.
  for (const char* huge : {"9223372036854775807h", "3000000000d", "P999999999999999999Y",
                           "P999999999999999999W", "1000000000y"}) {
    EXPECT_FALSE(value_from_literal(duration, LiteralKind::kString, huge).is_ok()) << huge;
  }
  for (const char* bad : {"P1H", "P1D2Y", "P1W2D", "PT1S1M", "PX", "P1DT1D"}) {
    EXPECT_FALSE(value_from_literal(duration, LiteralKind::kString, bad).is_ok()) << bad;
  }
}

// JSON timestamps are Cassandra's JSON date format, in UTC with a Z.
TEST(Values, JsonTimestampsAreCassandrasJsonDates) {
  auto epoch = value_from_literal(*CqlType::parse("timestamp"), LiteralKind::kInteger, "0");
  ASSERT_TRUE(epoch.is_ok());
  EXPECT_EQ(format_json(*CqlType::parse("timestamp"), *epoch), "\"1970-01-01 00:00:00.000Z\"");
}

// Dates and times also take Cassandra's raw forms, as strings or integers: a date's day number
// as sent (unsigned, the epoch at 2^31), a time's nanoseconds since midnight.
TEST(Values, RawDatesAndTimesAsCassandra) {
  EXPECT_EQ(literal("date", LiteralKind::kString, "2147483648"),
            literal("date", LiteralKind::kString, "1970-01-01"));
  EXPECT_EQ(literal("date", LiteralKind::kInteger, "2147483649"),
            literal("date", LiteralKind::kString, "1970-01-02"));
  EXPECT_EQ(literal("date", LiteralKind::kInteger, "0"), Bytes("\0\0\0\0", 4));
  EXPECT_EQ(literal("date", LiteralKind::kInteger, "4294967295"), Bytes("\xff\xff\xff\xff", 4));
  EXPECT_EQ(literal("time", LiteralKind::kString, "1000000000"),
            literal("time", LiteralKind::kString, "00:00:01"));
  EXPECT_EQ(literal("time", LiteralKind::kInteger, "1000000000"),
            literal("time", LiteralKind::kString, "00:00:01"));
  auto message = [](const char* type, LiteralKind kind, const char* text) {
    return value_from_literal(*CqlType::parse(type), kind, text).status().message();
  };
  EXPECT_EQ(message("date", LiteralKind::kString, "-5"),
            "Unable to make unsigned int (for date) from: '-5'");
  EXPECT_EQ(message("date", LiteralKind::kInteger, "4294967296"),
            "Unable to make unsigned int (for date) from: '4294967296'");
  EXPECT_EQ(message("time", LiteralKind::kInteger, "86400000000000"),
            "Unable to make long (for time) from: '86400000000000'");
  EXPECT_EQ(message("time", LiteralKind::kString, "-1"),
            "Unable to make long (for time) from: '-1'");
  EXPECT_EQ(message("duration", LiteralKind::kInteger, "18000"),
            "Unable to convert '18000' to a duration");
}

TEST(Values, RejectsMismatchesAndOverflow) {
  auto int_type = *CqlType::parse("int");
  EXPECT_EQ(value_from_literal(int_type, LiteralKind::kString, "1").status().message(),
            "Invalid STRING constant (1) for type int");
  EXPECT_FALSE(value_from_literal(int_type, LiteralKind::kInteger, "2147483648").is_ok());
  EXPECT_FALSE(
      value_from_literal(*CqlType::parse("tinyint"), LiteralKind::kInteger, "128").is_ok());
  EXPECT_FALSE(
      value_from_literal(*CqlType::parse("date"), LiteralKind::kString, "2023-02-29").is_ok());
  EXPECT_FALSE(value_from_literal(*CqlType::parse("timeuuid"), LiteralKind::kUuid,
                                  "550e8400-e29b-41d4-a716-446655440000")
                   .is_ok());
  EXPECT_FALSE(
      value_from_literal(*CqlType::parse("text"), LiteralKind::kString, "\xff\xfe").is_ok());
  EXPECT_FALSE(validate_value(int_type, "abc").is_ok());
  EXPECT_FALSE(validate_value(*CqlType::parse("list<int>"), Bytes("\0\0\0\x05", 4)).is_ok());
  EXPECT_TRUE(validate_value(int_type, "").is_ok());  // empty values are legal
}

TEST(SchemaManager, PersistsAcrossRestartAndVersionsEveryChange) {
  storage::testing::TempDir dir;
  ManualClock clock;
  MetricsRegistry metrics;
  SeededRng rng(1);
  Bytes version_before, version_after;
  {
    storage::EngineOptions options;
    options.data_directory = dir.path();
    auto engine = storage::Engine::open(options, clock, metrics);
    ASSERT_TRUE(engine.is_ok());
    SchemaManager schemas(**engine, rng, clock);
    ASSERT_TRUE(schemas.load().is_ok());
    version_before = schemas.current()->version;
    KeyspaceMetadata ks;
    ks.name = "shop";
    ks.replication = {{"class", "SimpleStrategy"}, {"replication_factor", "1"}};
    ASSERT_TRUE(schemas.create_keyspace(ks).is_ok());
    EXPECT_EQ(schemas.create_keyspace(ks).code(), StatusCode::kAlreadyExists);
    EXPECT_NE(schemas.current()->version, version_before);
    TableMetadata t;
    t.keyspace = "shop";
    t.name = "orders";
    t.columns = {{"id", *CqlType::parse("int"), ColumnKind::kPartitionKey, 0},
                 {"line", *CqlType::parse("int"), ColumnKind::kClustering, 0, true},
                 {"item", *CqlType::parse("text"), ColumnKind::kRegular}};
    ASSERT_TRUE(schemas.create_table(t).is_ok());
    version_after = schemas.current()->version;
    KeyspaceMetadata bad;
    bad.name = "bad";
    bad.replication = {{"class", "SimpleStrategy"}};
    // Cassandra answers ConfigError for a replication it cannot configure.
    EXPECT_EQ(schemas.create_keyspace(bad).code(), StatusCode::kConfigError);
  }
  storage::EngineOptions options;
  options.data_directory = dir.path();
  auto engine = storage::Engine::open(options, clock, metrics);
  ASSERT_TRUE(engine.is_ok());
  SchemaManager schemas(**engine, rng, clock);
  ASSERT_TRUE(schemas.load().is_ok());
  auto schema = schemas.current();
  EXPECT_EQ(schema->version, version_after);
  const TableMetadata* t = schema->table("shop", "orders");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(schema->keyspace("shop")->replication.at("class"),
            "org.apache.cassandra.locator.SimpleStrategy");
  EXPECT_TRUE(t->column("line")->descending);
  EXPECT_GE(t->column("item")->id, storage::kFirstUserColumn);
  EXPECT_NE((*engine)->table(t->storage_id), nullptr);  // re-registered with storage
}

// Dropped columns persist (format version 2), indexes too (version 4), and schemas written before
// them (versions 1 to 3) still read.
TEST(SchemaSerialization, DroppedColumnsRoundTripAndVersionOneStillReads) {
  Schema schema;
  schema.next_storage_id = 7;
  KeyspaceMetadata ks;
  ks.name = "shop";
  ks.replication = {{"class", "org.apache.cassandra.locator.SimpleStrategy"},
                    {"replication_factor", "1"}};
  TableMetadata t;
  t.keyspace = "shop";
  t.name = "orders";
  t.id = Bytes(16, '\x01');
  t.storage_id = 6;
  t.columns = {{"id", *CqlType::parse("int"), ColumnKind::kPartitionKey, 0}};
  Schema keyspace_only;
  keyspace_only.next_storage_id = schema.next_storage_id;
  keyspace_only.keyspaces.emplace(ks.name, ks);
  // It ends with the keyspace's type count (version 3 on) and table count, both 0.
  const size_t type_count_at = serialize_schema(keyspace_only).size() - 8;
  ks.tables.emplace(t.name, t);
  schema.keyspaces.emplace(ks.name, ks);
  const Bytes without_dropped = serialize_schema(schema);
  schema.keyspaces["shop"].tables["orders"].dropped_columns = {
      {"gone", *CqlType::parse("map<int, text>"), ColumnKind::kStatic, 1234567}};
  schema.keyspaces["shop"].tables["orders"].indexes = {{"by_gone", "gone", 9}};
  Schema back;
  ASSERT_TRUE(deserialize_schema(serialize_schema(schema), &back).is_ok());
  const auto& dropped = back.table("shop", "orders")->dropped_columns;
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].name, "gone");
  EXPECT_EQ(dropped[0].type.to_cql(), "map<int, text>");
  EXPECT_EQ(dropped[0].kind, ColumnKind::kStatic);
  EXPECT_EQ(dropped[0].dropped_time_micros, 1234567);
  const auto& indexes = back.table("shop", "orders")->indexes;
  ASSERT_EQ(indexes.size(), 1u);
  EXPECT_EQ(indexes[0].name, "by_gone");
  EXPECT_EQ(indexes[0].column, "gone");
  EXPECT_EQ(indexes[0].storage_id, 9u);
  // Version 3: the same bytes without the (last, empty) index count; version 2 also without the
  // (empty) type count; version 1 also without the (last, empty) dropped-column count.
  Bytes v3 = without_dropped.substr(0, without_dropped.size() - 4);
  v3[3] = '\x03';
  Bytes v2 = v3;
  ASSERT_EQ(v2.substr(type_count_at, 4), Bytes(4, '\0'));
  v2.erase(type_count_at, 4);
  v2[3] = '\x02';
  Bytes v1 = v2.substr(0, v2.size() - 4);
  v1[3] = '\x01';
  for (const Bytes& old_bytes : {v1, v2, v3}) {
    Schema old;
    ASSERT_TRUE(deserialize_schema(old_bytes, &old).is_ok());
    ASSERT_NE(old.table("shop", "orders"), nullptr);
    EXPECT_TRUE(old.table("shop", "orders")->dropped_columns.empty());
  }
  Schema old;
  Bytes v5 = without_dropped;
  v5[3] = '\x05';  // a version this build does not know
  EXPECT_FALSE(deserialize_schema(v5, &old).is_ok());
}

}  // namespace
}  // namespace ringdb::schema
