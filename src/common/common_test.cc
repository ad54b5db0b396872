#include <gtest/gtest.h>
#include <pthread.h>

#include <limits>
#include <string>
#include <thread>

#include "common/bignum.h"
#include "common/bytes.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/murmur3.h"
#include "common/status.h"
#include "common/thread_name.h"
#include "common/uuid.h"

namespace ringdb {
namespace {

Bytes be_int32(int32_t v) {
  BufferWriter w;
  w.put_i32(v);
  return w.release();
}

TEST(Murmur3, MatchesCassandraTokens) {
  // Expected values computed by Cassandra's partitioner as exposed by the Python driver.
  EXPECT_EQ(murmur3_token(be_int32(1)), -4069959284402364209);
  // Tail bytes >= 0x80 exercise Java's sign extension.
  EXPECT_EQ(murmur3_token(Bytes("\x80\xff\x01", 3)), -7090167600805946407);
  EXPECT_EQ(murmur3_token("hello world, this is a longer key!"), 5689014290686341403);
  Bytes fifteen;
  for (int b = 0xf0; b < 0xff; ++b) fifteen.push_back(static_cast<char>(b));
  EXPECT_EQ(murmur3_token(fifteen), -7737243313669454511);
  EXPECT_EQ(murmur3_token(""), std::numeric_limits<int64_t>::min());
}

TEST(Bytes, RoundTripAndTruncation) {
  BufferWriter w;
  w.put_u8(7);
  w.put_i16(-2);
  w.put_i32(-3);
  w.put_i64(std::numeric_limits<int64_t>::min());
  w.put_length_prefixed("abc");
  Bytes data = w.release();
  BufferReader r(data);
  uint8_t a;
  int16_t b;
  int32_t c;
  int64_t d;
  BytesView e;
  ASSERT_TRUE(r.get_u8(&a) && r.get_i16(&b) && r.get_i32(&c) && r.get_i64(&d) &&
              r.get_length_prefixed(&e));
  EXPECT_EQ(a, 7);
  EXPECT_EQ(b, -2);
  EXPECT_EQ(c, -3);
  EXPECT_EQ(d, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(e, "abc");
  EXPECT_TRUE(r.at_end());
  EXPECT_FALSE(r.get_u8(&a));
  BufferReader truncated(BytesView(data).substr(0, data.size() - 1));
  ASSERT_TRUE(truncated.skip(15));
  EXPECT_FALSE(truncated.get_length_prefixed(&e));
}

TEST(Status, ResultCarriesValueOrError) {
  Result<int> good = 5;
  ASSERT_TRUE(good.is_ok());
  EXPECT_EQ(*good, 5);
  Result<int> bad = Status::invalid_argument("nope");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().to_string(), "InvalidArgument: nope");
}

TEST(Config, YamlThenOverrides) {
  NodeConfig config;
  ASSERT_TRUE(config
                  .apply_yaml("cluster_name: 'Prod'\n"
                              "num_tokens: 8\n"
                              "native_transport_port: 9043\n"
                              "commitlog_sync: periodic\n"
                              "data_file_directories:\n  - /tmp/x\n"
                              "seed_provider:\n"
                              "  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n"
                              "    parameters:\n      - seeds: \"127.0.0.1, 127.0.0.2\"\n")
                  .is_ok());
  EXPECT_EQ(config.cluster_name, "Prod");
  EXPECT_EQ(config.num_tokens, 8);
  EXPECT_EQ(config.native_transport_port, 9043);
  EXPECT_EQ(config.commitlog_sync, CommitLogSync::kPeriodic);
  EXPECT_EQ(config.data_directory(), "/tmp/x");
  EXPECT_EQ(config.seeds, (std::vector<std::string>{"127.0.0.1", "127.0.0.2"}));
  ASSERT_TRUE(config.apply_override("native_transport_port", "9044").is_ok());
  EXPECT_EQ(config.native_transport_port, 9044);
}

TEST(Config, RejectsBadInput) {
  NodeConfig config;
  EXPECT_EQ(config.apply_yaml("no_such_key: 1").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.apply_yaml("native_transport_port: 99999").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.apply_yaml("commitlog_sync: sometimes").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.apply_yaml("[unclosed").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.apply_override("num_tokens", "12abc").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.apply_yaml("range_request_timeout_in_ms: 0").code(),
            StatusCode::kInvalidArgument);
}

TEST(Config, RangeRequestTimeout) {
  NodeConfig config;
  EXPECT_EQ(config.range_request_timeout_in_ms, 10000);  // cassandra.yaml's default
  ASSERT_TRUE(config.apply_yaml("range_request_timeout_in_ms: 2500").is_ok());
  EXPECT_EQ(config.range_request_timeout_in_ms, 2500);
}

TEST(Metrics, HistogramPercentilesAreBucketBounded) {
  Histogram h;
  for (int i = 1; i <= 1000; ++i) h.record(i);
  EXPECT_EQ(h.count(), 1000);
  EXPECT_EQ(h.max(), 1000);
  // Buckets are within 25% of the true value.
  EXPECT_GE(h.percentile(0.5), 500);
  EXPECT_LE(h.percentile(0.5), 640);
  EXPECT_GE(h.percentile(0.99), 990);
  EXPECT_LE(h.percentile(0.99), 1000);
  for (int64_t v : {1, 2, 3, 5, 100, 12345, 1 << 30}) {
    int b = Histogram::bucket_of(v);
    EXPECT_LE(v, Histogram::bucket_upper_bound(b)) << v;
    EXPECT_GT(v, Histogram::bucket_upper_bound(b - 1)) << v;
  }
  MetricsRegistry registry;
  registry.counter("writes").add(3);
  EXPECT_EQ(&registry.counter("writes"), &registry.counter("writes"));
  EXPECT_NE(registry.dump_text().find("writes 3"), std::string::npos);
}

}  // namespace
}  // namespace ringdb

namespace ringdb {
namespace {

TEST(BigNum, Int128ToVarint) {
  EXPECT_EQ(to_hex(varint_from_int128(0)), "00");
  EXPECT_EQ(to_hex(varint_from_int128(127)), "7f");
  EXPECT_EQ(to_hex(varint_from_int128(128)), "0080");
  EXPECT_EQ(to_hex(varint_from_int128(-1)), "ff");
  EXPECT_EQ(to_hex(varint_from_int128(-128)), "80");
  EXPECT_EQ(to_hex(varint_from_int128(-129)), "ff7f");
  const __int128 big = static_cast<__int128>(1) << 100;
  EXPECT_EQ(to_hex(varint_from_int128(big)), "10000000000000000000000000");
  EXPECT_EQ(to_hex(varint_from_int128(-big)), "f0000000000000000000000000");
}

TEST(Uuid, VersionsAndTimes) {
  Bytes v4 = uuid_v4(~uint64_t{0}, 0);
  EXPECT_EQ(static_cast<uint8_t>(v4[6]) >> 4, 4);
  EXPECT_EQ(static_cast<uint8_t>(v4[8]) >> 6, 2);
  const int64_t millis = 1'700'000'000'123;
  Bytes v1 = uuid_v1(millis * 10'000 + kUuidEpochOffset, 0x1234);
  EXPECT_EQ(v1.size(), 16u);
  EXPECT_EQ(static_cast<uint8_t>(v1[6]) >> 4, 1);
  EXPECT_EQ(uuid_v1_unix_millis(v1), millis);
  // Python's uuid.uuid1 layout for the same time field: time_low first.
  EXPECT_EQ(to_hex(uuid_v1(0x0123456789abcdefLL, 0)).substr(0, 16), "89abcdef45671123");
}

}  // namespace
}  // namespace ringdb

namespace ringdb {
namespace {

TEST(Utf8Escaped, KeepsWellFormedTextAndEscapesTheRest) {
  EXPECT_EQ(utf8_escaped("plain"), "plain");
  EXPECT_EQ(utf8_escaped("3\xc2\xb5s \xe2\x80\x93 \xf0\x9f\x98\x80"),
            "3\xc2\xb5s \xe2\x80\x93 \xf0\x9f\x98\x80");
  EXPECT_EQ(utf8_escaped(std::string("a\xc2", 2)), "a\\xc2");  // cut short
  EXPECT_EQ(utf8_escaped("\xff\xfe"), "\\xff\\xfe");           // never UTF-8
  EXPECT_EQ(utf8_escaped("\xc2\x41"), "\\xc2A");               // bad continuation
  EXPECT_EQ(utf8_escaped("\xc0\xaf"), "\\xc0\\xaf");           // overlong
  EXPECT_EQ(utf8_escaped("\\x41"), "\\x41");                   // text stays text
  // As Java decodes: each ill-formed byte becomes U+FFFD.
  EXPECT_EQ(utf8_replaced("a\xff"
                          "b\xc2"),
            "a\xef\xbf\xbd"
            "b\xef\xbf\xbd");
  EXPECT_EQ(utf8_replaced("3\xc2\xb5s"), "3\xc2\xb5s");
}

}  // namespace
}  // namespace ringdb

TEST(ThreadNameTest, NamesTheCallingThreadAndCutsLongNames) {
  std::string seen;
  std::thread([&] {
    ringdb::set_thread_name("commitlog-sync-and-more");
    char name[32] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    seen = name;
  }).join();
  EXPECT_EQ(seen, "commitlog-sync-");  // 15 characters, the kernel's limit
}
