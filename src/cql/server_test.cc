// Bad input over the wire and through the query path: random and mutated frames, random and
// mutated CQL. Every reply must be a well-formed frame (ERROR for garbage) and the node must keep
// serving afterwards.
#include "cql/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <lz4.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "cql/test_util.h"
#include "runtime/rng.h"

namespace ringdb::cql {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr int kIterations =
    10'000;  // the sanitizer build is ~20x slower; the optimised build runs 100k
#else
constexpr int kIterations = 100'000;
#endif

class Node {
 public:
  explicit Node(size_t in_flight_per_connection_max = 1024, size_t loops = 1) : stack_(clock_) {
    loop_ = std::make_unique<EventLoop>(clock_);
    bridge_ = std::make_unique<ThreadPoolBridge>(*loop_, 2, 256);
    ServerOptions server_options;
    server_options.port = 0;
    server_options.frame_bytes_max = 1 << 20;
    server_options.in_flight_per_connection_max = in_flight_per_connection_max;
    std::vector<EventLoop*> connection_loops{loop_.get()};
    for (size_t i = 1; i < loops; ++i) {
      extra_loops_.push_back(std::make_unique<EventLoop>(clock_));
      connection_loops.push_back(extra_loops_.back().get());
    }
    server_ = std::make_unique<CqlServer>(*loop_, connection_loops, *bridge_, stack_.processor(),
                                          server_options);
    EXPECT_TRUE(server_->start().is_ok());
    thread_ = std::thread([this] { loop_->run(); });
    for (auto& l : extra_loops_) extra_threads_.emplace_back([&l] { l->run(); });
  }
  ~Node() {
    if (!drained_) {
      std::promise<void> closed;
      loop_->post([&] { server_->drain(0, [&] { closed.set_value(); }); });
      closed.get_future().wait();
    }
    loop_->post([this] { loop_->stop(); });
    thread_.join();
    for (auto& l : extra_loops_) l->stop();
    for (auto& t : extra_threads_) t.join();
  }
  // Graceful shutdown as on SIGTERM; returns once every connection is closed.
  void drain() {
    std::promise<void> closed;
    loop_->post([&] { server_->drain(5'000'000, [&] { closed.set_value(); }); });
    closed.get_future().wait();
    drained_ = true;
  }
  uint16_t port() const { return server_->port(); }
  QueryProcessor& processor() { return stack_.processor(); }

 private:
  SystemClock clock_;
  testing::ProcessorStack stack_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<ThreadPoolBridge> bridge_;
  std::vector<std::unique_ptr<EventLoop>> extra_loops_;
  std::unique_ptr<CqlServer> server_;
  std::thread thread_;
  std::vector<std::thread> extra_threads_;
  bool drained_ = false;
};

class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Client() { close(fd_); }

  static Bytes frame(uint8_t version, uint8_t flags, int16_t stream, uint8_t opcode,
                     BytesView body) {
    FrameHeader h;
    h.version = version;
    h.flags = flags;
    h.stream = stream;
    h.opcode = static_cast<Opcode>(opcode);
    h.length = static_cast<uint32_t>(body.size());
    Bytes out;
    encode_header(h, &out);
    out += body;
    return out;
  }
  bool send_all(BytesView bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  bool read_exact(size_t n, Bytes* out) {
    out->resize(n);
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::recv(fd_, out->data() + got, n - got, 0);
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  }
  // Reads one response frame; false if the connection closed or timed out.
  bool read_frame(FrameHeader* h, Bytes* body) {
    Bytes header;
    if (!read_exact(kHeaderBytes, &header)) return false;
    *h = decode_header(reinterpret_cast<const uint8_t*>(header.data()));
    return read_exact(h->length, body);
  }
  // STARTUP with these options; true when the node answers READY.
  bool startup(const std::map<std::string, std::string>& options = {{"CQL_VERSION", "3.0.0"}}) {
    BodyWriter w;
    w.short_(static_cast<uint16_t>(options.size()));
    for (const auto& [k, v] : options) {
      w.string(k);
      w.string(v);
    }
    FrameHeader h;
    Bytes body;
    return send_all(frame(4, 0, 1, 0x01, w.release())) && read_frame(&h, &body) &&
           h.opcode == Opcode::kReady && (h.flags & kFlagCompression) == 0;
  }
  Bytes query_body(const std::string& cql) {
    BodyWriter w;
    w.long_string(cql);
    w.short_(1);
    w.byte(0);
    return w.release();
  }

 private:
  int fd_;
};

// A well-formed ERROR body: [int code][string message] with a known code and a UTF-8 message (a
// driver drops the connection on one it cannot decode), and nothing after the code's own fields.
bool well_formed_error(BytesView body, int32_t* code) {
  BodyReader r(body);
  std::string message;
  if (!r.get_int(code) || !r.get_string(&message)) return false;
  if (utf8_escaped(message) != message) return false;  // only ill-formed bytes get escaped
  static const int32_t kKnown[] = {0x0000, 0x000A, 0x0100, 0x1000, 0x1001, 0x1002,
                                   0x1003, 0x1100, 0x1200, 0x1300, 0x1400, 0x1500,
                                   0x2000, 0x2100, 0x2200, 0x2300, 0x2400, 0x2500};
  return std::find(std::begin(kKnown), std::end(kKnown), *code) != std::end(kKnown);
}

Bytes random_bytes(Rng& rng, size_t n) {
  Bytes b(n, '\0');
  for (auto& c : b) c = static_cast<char>(rng.uniform(256));
  return b;
}

Bytes mutate(Rng& rng, Bytes b) {
  const int edits = 1 + static_cast<int>(rng.uniform(4));
  for (int i = 0; i < edits; ++i) {
    switch (rng.uniform(4)) {
      case 0:
        if (!b.empty()) b[rng.uniform(b.size())] = static_cast<char>(rng.uniform(256));
        break;
      case 1:
        if (!b.empty()) b.resize(rng.uniform(b.size()));
        break;
      case 2:
        b += random_bytes(rng, rng.uniform(8));
        break;
      default:
        if (b.size() > 2) b.insert(rng.uniform(b.size()), random_bytes(rng, 1 + rng.uniform(3)));
    }
  }
  return b;
}

TEST(BadInput, RandomAndMutatedFramesGetWellFormedReplies) {
  Node node;
  Client client(node.port());
  FrameHeader h;
  Bytes body;
  ASSERT_TRUE(client.startup());
  for (const char* setup : {"CREATE KEYSPACE fz WITH replication = {'class': 'SimpleStrategy', "
                            "'replication_factor': 1}",
                            "CREATE TABLE fz.t (k int, c text, v blob, PRIMARY KEY (k, c))",
                            "INSERT INTO fz.t (k, c, v) VALUES (1, 'a', 0x01)"}) {
    ASSERT_TRUE(client.send_all(Client::frame(4, 0, 2, 0x07, client.query_body(setup))));
    ASSERT_TRUE(client.read_frame(&h, &body));
    ASSERT_EQ(h.opcode, Opcode::kResult) << setup;
  }
  // A statement with bytes that are not UTF-8 reads them as U+FFFD (as Cassandra's Java does), so
  // the column name sent back in the metadata is UTF-8 too.
  ASSERT_TRUE(client.send_all(Client::frame(
      4, 0, 3, 0x07, client.query_body("SELECT k AS \"a\xff\" FROM fz.t WHERE k = 1"))));
  ASSERT_TRUE(client.read_frame(&h, &body));
  ASSERT_EQ(h.opcode, Opcode::kResult);
  EXPECT_NE(body.find("a\xef\xbf\xbd"), Bytes::npos);
  EXPECT_EQ(body.find("a\xff"), Bytes::npos);
  // Valid bodies to mutate: QUERY, PREPARE, EXECUTE, BATCH, REGISTER, OPTIONS.
  std::vector<std::pair<uint8_t, Bytes>> seeds;
  seeds.emplace_back(0x07, client.query_body("SELECT * FROM fz.t WHERE k = 1 AND c > 'a' LIMIT 5"));
  seeds.emplace_back(
      0x07, client.query_body("INSERT INTO fz.t (k, c, v) VALUES (2, 'b', 0xff) USING TTL 10"));
  BodyWriter prepare;
  prepare.long_string("SELECT v FROM fz.t WHERE k = ?");
  seeds.emplace_back(0x09, prepare.release());
  BodyWriter execute;
  execute.short_bytes(Bytes(16, '\x07'));
  execute.short_(1);
  execute.byte(0x05);
  execute.short_(1);
  execute.bytes(Bytes("\0\0\0\x01", 4));
  execute.int_(100);
  seeds.emplace_back(0x0A, execute.release());
  BodyWriter batch;
  batch.byte(1);
  batch.short_(1);
  batch.byte(0);
  batch.long_string("INSERT INTO fz.t (k, c) VALUES (3, 'x')");
  batch.short_(0);
  batch.short_(1);
  batch.byte(0);
  seeds.emplace_back(0x0D, batch.release());
  BodyWriter reg;
  reg.string_list({"SCHEMA_CHANGE"});
  seeds.emplace_back(0x0B, reg.release());
  seeds.emplace_back(0x05, Bytes());

  SeededRng rng(20261122);
  int errors = 0, results = 0;
  for (int i = 0; i < kIterations; ++i) {
    const auto stream = static_cast<int16_t>(rng.uniform(32768));
    Bytes frame;
    const bool garbage = rng.chance(0.5);
    if (garbage) {
      uint8_t opcode;
      do {
        opcode = static_cast<uint8_t>(rng.uniform(20));
      } while (opcode == 0x01 || opcode == 0x05 ||
               opcode == 0x0B);  // those can legitimately answer READY/SUPPORTED
      const uint8_t version = rng.chance(0.9) ? 4 : static_cast<uint8_t>(rng.uniform(256));
      frame = Client::frame(version, static_cast<uint8_t>(rng.uniform(256)) & ~kFlagCompression,
                            stream, opcode, random_bytes(rng, rng.uniform(64)));
    } else {
      const auto& seed = seeds[rng.uniform(seeds.size())];
      frame = Client::frame(4, 0, stream, seed.first, mutate(rng, seed.second));
    }
    ASSERT_TRUE(client.send_all(frame)) << "iteration " << i;
    ASSERT_TRUE(client.read_frame(&h, &body))
        << "no reply at iteration " << i << ": " << to_hex(frame);
    ASSERT_EQ(h.version, 0x84);
    ASSERT_EQ(h.stream, stream);
    if (h.opcode == Opcode::kError) {
      int32_t code;
      ASSERT_TRUE(well_formed_error(body, &code)) << to_hex(body);
      ASSERT_NE(code, 0x0000) << "server error for input " << to_hex(frame);
      ++errors;
    } else {
      ASSERT_FALSE(garbage) << "garbage frame got opcode " << static_cast<int>(h.opcode) << ": "
                            << to_hex(frame);
      ASSERT_TRUE(h.opcode == Opcode::kResult || h.opcode == Opcode::kReady ||
                  h.opcode == Opcode::kSupported);
      ++results;
    }
  }
  EXPECT_GT(errors, kIterations / 2);
  // An oversized frame gets a protocol error and the connection closes; the node still serves.
  ASSERT_TRUE(client.send_all(Client::frame(4, 0, 9, 0x07, Bytes()).substr(0, 5) +
                              Bytes("\x7f\xff\xff\xff", 4)));
  ASSERT_TRUE(client.read_frame(&h, &body));
  EXPECT_EQ(h.opcode, Opcode::kError);
  Client fresh(node.port());
  ASSERT_TRUE(fresh.startup({{"CQL_VERSION", "3.4.5"}}));
  ASSERT_TRUE(fresh.send_all(
      Client::frame(4, 0, 5, 0x07, fresh.query_body("SELECT v FROM fz.t WHERE k = 1"))));
  ASSERT_TRUE(fresh.read_frame(&h, &body));
  EXPECT_EQ(h.opcode, Opcode::kResult);
  std::printf("%d frames: %d ERROR replies, %d other well-formed replies; node still serving\n",
              kIterations, errors, results);
}

// Regression: when the in-flight limit paused reading, a response could restart reading while a
// frame body was still being read, and the stream came apart ("malformed body" errors).
TEST(Server, PipelinedRequestsBeyondTheInFlightLimitAllSucceed) {
  Node node(/*in_flight_per_connection_max=*/2);
  Client client(node.port());
  ASSERT_TRUE(client.startup());
  FrameHeader h;
  Bytes body;
  // Large bodies take several reads each, which leaves room for the race.
  const std::string query = "SELECT key FROM system.local /*" + std::string(60000, 'x') + "*/";
  constexpr int kRequests = 300;
  std::thread sender([&] {
    for (int i = 0; i < kRequests; ++i) {
      ASSERT_TRUE(client.send_all(
          Client::frame(4, 0, static_cast<int16_t>(i), 0x07, client.query_body(query))));
    }
  });
  int results = 0;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(client.read_frame(&h, &body)) << i;
    if (h.opcode == Opcode::kResult) ++results;
  }
  sender.join();
  EXPECT_EQ(results, kRequests);
}

// Creates keyspace `keyspace` with table `t (k int PRIMARY KEY, v int)` and prepares `insert`;
// returns the prepared id, or nothing (after a test failure) when a step is not answered as
// expected.
std::optional<Bytes> create_table_and_prepare(Client& client, const std::string& keyspace,
                                              const std::string& insert) {
  FrameHeader h;
  Bytes body;
  for (const std::string& setup :
       {"CREATE KEYSPACE " + keyspace +
            " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE TABLE " + keyspace + ".t (k int PRIMARY KEY, v int)"}) {
    EXPECT_TRUE(client.send_all(Client::frame(4, 0, 2, 0x07, client.query_body(setup))));
    EXPECT_TRUE(client.read_frame(&h, &body));
    EXPECT_EQ(h.opcode, Opcode::kResult) << setup;
    if (h.opcode != Opcode::kResult) return std::nullopt;
  }
  BodyWriter prepare;
  prepare.long_string(insert);
  EXPECT_TRUE(client.send_all(Client::frame(4, 0, 3, 0x09, prepare.release())));
  EXPECT_TRUE(client.read_frame(&h, &body));
  EXPECT_EQ(h.opcode, Opcode::kResult) << insert;
  BodyReader r(body);
  int32_t kind;
  Bytes id;
  if (h.opcode != Opcode::kResult || !r.get_int(&kind) || !r.get_short_bytes(&id)) {
    ADD_FAILURE() << "no prepared id for " << insert;
    return std::nullopt;
  }
  return id;
}

// An EXECUTE frame on `stream` for prepared statement `id` with these int values bound.
Bytes execute_ints(const Bytes& id, int16_t stream, std::initializer_list<int32_t> values) {
  BodyWriter w;
  w.short_bytes(id);
  w.short_(1);
  w.byte(0x01);
  w.short_(static_cast<uint16_t>(values.size()));
  for (int32_t v : values) {
    BufferWriter value;
    value.put_i32(v);
    w.bytes(value.data());
  }
  return Client::frame(4, 0, stream, 0x0A, w.release());
}

// A node, a client past STARTUP, and table `keyspace.t (k int PRIMARY KEY, v int)` with `insert`
// prepared (`id` empty after a test failure).
struct PreparedInsert {
  PreparedInsert(const std::string& keyspace, const std::string& insert) {
    EXPECT_TRUE(client.startup());
    id = create_table_and_prepare(client, keyspace, insert);
  }
  Node node;
  Client client{node.port()};
  std::optional<Bytes> id;
};

// Requests of one read are written as one group; a refused mutation must fail only its own request.
TEST(Server, OneBadWriteInAGroupFailsAlone) {
  // Prepared, so both run in the same storage job; the second one's expiry would pass 2038.
  PreparedInsert t("g", "INSERT INTO g.t (k, v) VALUES (?, ?) USING TTL ?");
  ASSERT_TRUE(t.id.has_value());
  const Bytes& id = *t.id;
  Client& client = t.client;
  FrameHeader h;
  Bytes body;
  auto execute = [&](int16_t stream, int32_t key, int32_t ttl) {
    return execute_ints(id, stream, {key, key, ttl});
  };
  ASSERT_TRUE(
      client.send_all(execute(10, 1, 60) + execute(11, 2, 600'000'000) + execute(12, 3, 60)));
  std::map<int16_t, Opcode> replies;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.read_frame(&h, &body));
    replies[h.stream] = h.opcode;
  }
  EXPECT_EQ(replies[10], Opcode::kResult);
  EXPECT_EQ(replies[11], Opcode::kError);
  EXPECT_EQ(replies[12], Opcode::kResult);
}

// A prepared write runs on the loop and waits, with the writes of the loop's other connections,
// for the end of the loop's turn; a QUERY sent after it in the same read runs on a storage thread.
// The write must be applied first, so the SELECT sees it.
TEST(Server, AQueryPipelinedAfterAPreparedWriteSeesIt) {
  PreparedInsert t("o", "INSERT INTO o.t (k, v) VALUES (?, ?)");
  ASSERT_TRUE(t.id.has_value());
  const Bytes& id = *t.id;
  Client& client = t.client;
  FrameHeader h;
  Bytes body;
  constexpr int32_t kValue = 0x5EED1234;
  BufferWriter encoded;  // the value as a row carries it: [int length 4][4 bytes]
  encoded.put_i32(4);
  encoded.put_i32(kValue);
  for (int32_t key = 0; key < 20; ++key) {
    const std::string select = "SELECT v FROM o.t WHERE k = " + std::to_string(key);
    ASSERT_TRUE(client.send_all(execute_ints(id, 10, {key, kValue}) +
                                Client::frame(4, 0, 11, 0x07, client.query_body(select))));
    std::map<int16_t, Bytes> replies;
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(client.read_frame(&h, &body));
      ASSERT_EQ(h.opcode, Opcode::kResult) << key;
      replies[h.stream] = body;
    }
    EXPECT_NE(replies[11].find(encoded.data()), std::string::npos) << "key " << key;
  }
}

// Connections spread over several event loops: each is served on its own loop, schema events
// cross loops, prepared writes and reads (run on the loops) see each other, and a drain closes
// every connection on every loop.
TEST(Server, ConnectionsOnSeveralLoops) {
  Node node(/*in_flight_per_connection_max=*/1024, /*loops=*/2);
  FrameHeader h;
  Bytes body;
  auto run = [&](Client& c, int16_t stream, uint8_t opcode, const Bytes& request) {
    EXPECT_TRUE(c.send_all(Client::frame(4, 0, stream, opcode, request)));
    EXPECT_TRUE(c.read_frame(&h, &body));
    EXPECT_EQ(h.stream, stream);
    return h.opcode;
  };
  Client listener(node.port());  // the loops take connections in turn: listener is on loop 0
  ASSERT_TRUE(listener.startup());
  BodyWriter reg;
  reg.string_list({"SCHEMA_CHANGE"});
  ASSERT_EQ(run(listener, 2, 0x0B, reg.release()), Opcode::kReady);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<Client>(node.port()));
    ASSERT_TRUE(clients.back()->startup());
  }
  Client& ddl = *clients[0];  // on loop 1
  ASSERT_EQ(run(ddl, 3, 0x07,
                ddl.query_body("CREATE KEYSPACE ml WITH replication = "
                               "{'class': 'SimpleStrategy', 'replication_factor': 1}")),
            Opcode::kResult);
  ASSERT_TRUE(listener.read_frame(&h, &body));
  EXPECT_EQ(h.opcode, Opcode::kEvent);
  EXPECT_EQ(h.stream, -1);
  ASSERT_EQ(run(ddl, 4, 0x07, ddl.query_body("CREATE TABLE ml.t (k int PRIMARY KEY, v int)")),
            Opcode::kResult);
  ASSERT_TRUE(listener.read_frame(&h, &body));
  EXPECT_EQ(h.opcode, Opcode::kEvent);

  auto prepare = [&](Client& c, const std::string& cql) {
    BodyWriter w;
    w.long_string(cql);
    EXPECT_EQ(run(c, 5, 0x09, w.release()), Opcode::kResult);
    BodyReader r(body);
    int32_t kind = 0;
    Bytes id;
    EXPECT_TRUE(r.get_int(&kind) && kind == 4 && r.get_short_bytes(&id));
    return id;
  };
  auto execute_body = [](const Bytes& id, std::vector<int32_t> values) {
    BodyWriter w;
    w.short_bytes(id);
    w.short_(1);   // ONE
    w.byte(0x01);  // values
    w.short_(static_cast<uint16_t>(values.size()));
    for (int32_t v : values) {
      BufferWriter b;
      b.put_i32(v);
      w.bytes(b.release());
    }
    return w.release();
  };
  for (size_t i = 0; i < clients.size(); ++i) {
    Client& c = *clients[i];
    const Bytes insert = prepare(c, "INSERT INTO ml.t (k, v) VALUES (?, ?)");
    ASSERT_EQ(run(c, 6, 0x0A,
                  execute_body(insert, {static_cast<int32_t>(i), static_cast<int32_t>(i * 10)})),
              Opcode::kResult);
  }
  // Every connection reads every row, whichever loop wrote it.
  for (auto& client : clients) {
    Client& c = *client;
    const Bytes select = prepare(c, "SELECT v FROM ml.t WHERE k = ?");
    for (int32_t k = 0; k < 4; ++k) {
      ASSERT_EQ(run(c, 7, 0x0A, execute_body(select, {k})), Opcode::kResult);
      BodyReader r(body);
      int32_t kind = 0, flags = 0, columns = 0, rows = 0;
      ASSERT_TRUE(r.get_int(&kind) && kind == 2 && r.get_int(&flags) && r.get_int(&columns));
      ASSERT_EQ(flags & 0x0001, 0x0001);  // global table spec
      std::string ks, table, name;
      uint16_t type = 0;
      ASSERT_TRUE(r.get_string(&ks) && r.get_string(&table) && r.get_string(&name) &&
                  r.get_short(&type) && r.get_int(&rows));
      ASSERT_EQ(rows, 1) << "k=" << k;
      std::optional<Bytes> v;
      ASSERT_TRUE(r.get_value(&v) && v.has_value());
      BufferReader vr(*v);
      int32_t got = 0;
      ASSERT_TRUE(vr.get_i32(&got));
      EXPECT_EQ(got, k * 10);
    }
  }
  // A drain closes every connection, on both loops.
  node.drain();
  for (auto& c : clients) EXPECT_FALSE(c->read_frame(&h, &body));
  EXPECT_FALSE(listener.read_frame(&h, &body));
}

TEST(Server, Lz4CompressedFramesBothWays) {
  Node node;
  Client client(node.port());
  // READY itself goes out uncompressed (startup() checks it); everything after is compressed.
  ASSERT_TRUE(client.startup({{"COMPRESSION", "lz4"}, {"CQL_VERSION", "3.0.0"}}));
  FrameHeader h;
  Bytes body;
  const Bytes plain = client.query_body("SELECT key, cluster_name FROM system.local");
  Bytes compressed;  // v4 LZ4 body: [uncompressed length u32][LZ4 block]
  BufferWriter(&compressed).put_u32(static_cast<uint32_t>(plain.size()));
  compressed.resize(4 + static_cast<size_t>(LZ4_compressBound(static_cast<int>(plain.size()))));
  const int n =
      LZ4_compress_default(plain.data(), compressed.data() + 4, static_cast<int>(plain.size()),
                           static_cast<int>(compressed.size() - 4));
  compressed.resize(4 + static_cast<size_t>(n));
  ASSERT_TRUE(client.send_all(Client::frame(4, kFlagCompression, 7, 0x07, compressed)));
  ASSERT_TRUE(client.read_frame(&h, &body));
  ASSERT_EQ(h.opcode, Opcode::kResult);
  ASSERT_NE(h.flags & kFlagCompression, 0);
  BufferReader r(body);
  uint32_t length;
  ASSERT_TRUE(r.get_u32(&length));
  Bytes out(length, '\0');
  ASSERT_EQ(LZ4_decompress_safe(r.rest().data(), out.data(), static_cast<int>(r.rest().size()),
                                static_cast<int>(length)),
            static_cast<int>(length));
  EXPECT_NE(out.find("Test Cluster"), std::string::npos);
  // A corrupt compressed body is a protocol error, and the connection keeps working.
  ASSERT_TRUE(
      client.send_all(Client::frame(4, kFlagCompression, 8, 0x07, Bytes("\0\0\0\x10garbage", 11))));
  ASSERT_TRUE(client.read_frame(&h, &body));
  EXPECT_EQ(h.opcode, Opcode::kError);
}

// ReadFailure in protocol v4: <cl><received><blockfor><numfailures><data_present>.
TEST(Server, ReadFailureCarriesItsV4Fields) {
  CqlError e = to_cql_error(Status::read_failure("Operation failed"));
  ASSERT_EQ(e.code, ErrorCode::kReadFailure);
  const Bytes body = encode_error(e);
  BodyReader r(body);
  int32_t code = 0, received = -1, blockfor = -1, failures = -1;
  uint16_t cl = 0xffff;
  uint8_t data_present = 0xff;
  std::string message;
  ASSERT_TRUE(r.get_int(&code) && r.get_string(&message) && r.get_short(&cl) &&
              r.get_int(&received) && r.get_int(&blockfor) && r.get_int(&failures) &&
              r.get_byte(&data_present));
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(code, 0x1300);
  EXPECT_EQ(message, "Operation failed");
  EXPECT_EQ(cl, static_cast<uint16_t>(Consistency::kOne));
  EXPECT_EQ(received, 0);
  EXPECT_EQ(blockfor, 1);
  EXPECT_EQ(failures, 1);
  EXPECT_EQ(data_present, 0);
}

TEST(BadInput, UnsupportedVersionsGetTheErrorTheDriversExpect) {
  Node node;
  Client client(node.port());
  for (uint8_t version : {0x42, 0x41, 0x05, 0x03}) {
    ASSERT_TRUE(client.send_all(Client::frame(version, 0, 3, 0x05, Bytes())));
    FrameHeader h;
    Bytes body;
    ASSERT_TRUE(client.read_frame(&h, &body));
    EXPECT_EQ(h.version, 0x84);
    EXPECT_EQ(h.stream, 3);
    BodyReader r(body);
    int32_t code;
    std::string message;
    ASSERT_TRUE(r.get_int(&code) && r.get_string(&message));
    EXPECT_EQ(code, 0x000A);
    EXPECT_EQ(message, "Invalid or unsupported protocol version (" + std::to_string(version) +
                           "); supported versions are (4/v4)");
  }
}

TEST(BadInput, RandomAndMutatedCqlGetTypedErrors) {
  Node node;
  QueryProcessor& qp = node.processor();
  Session session;
  QueryOptions options;
  for (const char* setup :
       {"CREATE KEYSPACE fz WITH replication = {'class': 'SimpleStrategy', 'replication_factor': "
        "1}",
        "CREATE TYPE fz.addr (s text, z int)",
        "CREATE TABLE fz.t (k int, c text, v list<int>, m map<text, int>, a frozen<addr>, "
        "PRIMARY KEY (k, c))"}) {
    ASSERT_TRUE(std::holds_alternative<ResultMessage>(qp.query(setup, options, session)));
  }
  session.keyspace = "fz";
  const std::vector<std::string> seeds = {
      "SELECT * FROM t WHERE k = 1 AND c >= 'a' ORDER BY c DESC LIMIT 3",
      "INSERT INTO t (k, c, v, m) VALUES (1, 'a', [1, 2], {'x': 1}) USING TTL 100",
      "UPDATE t SET v = v + [3], m['y'] = 2 WHERE k = 1 AND c = 'a'",
      "DELETE m['x'] FROM t WHERE k = 1 AND c = 'a'",
      "BEGIN BATCH INSERT INTO t (k, c) VALUES (2, 'b'); DELETE FROM t WHERE k = 3; APPLY BATCH",
      "SELECT k, count(*), max(k) FROM t WHERE token(k) > 0 GROUP BY k ALLOW FILTERING",
      "SELECT JSON DISTINCT k FROM t WHERE k IN (1, 2, 3)",
      "INSERT INTO t (k, c, a) VALUES (1, 'a', {s: 'x', z: 1})",
      "SELECT a.s, toJson(a) FROM t WHERE k = 1 AND a = (null, 2) ALLOW FILTERING",
      "UPDATE t SET a = {z: 3}, a.s = 'q' WHERE k = 1 AND c = 'a'",
      "CREATE TYPE IF NOT EXISTS addr (s frozen<list<int>>, z tuple<int, frozen<addr>>)",
      "CREATE INDEX IF NOT EXISTS ON t (a)",
      "SELECT k, c FROM t WHERE a = {s: 'x', z: 1} AND c > 'a'",
  };
  const std::vector<std::string> vocabulary = {
      "SELECT",    "INSERT", "UPDATE",   "DELETE",   "FROM",  "WHERE", "AND",    "INTO",
      "VALUES",    "SET",    "(",        ")",        ",",     "=",     "<",      ">",
      "?",         "*",      "t",        "k",        "c",     "v",     "m",      "1",
      "'x'",       "0x00",   "[",        "]",        "{",     "}",     ":",      "IN",
      "LIMIT",     "token",  "TTL",      "USING",    "BATCH", "APPLY", ";",      "-1",
      "1.5e10",    "null",   "now()",    "CONTAINS", "KEY",   "\"q\"", "$$",     "--",
      "IF",        "EXISTS", "DISTINCT", "JSON",     "ORDER", "BY",    "GROUP",  "ALLOW",
      "FILTERING", "TABLE",  "TRUNCATE", "TYPE",     "a",     ".",     "frozen", "addr"};
  SeededRng rng(99);
  int errors = 0, results = 0;
  for (int i = 0; i < kIterations; ++i) {
    std::string text;
    if (rng.chance(0.5)) {
      const int n = static_cast<int>(rng.uniform(14));
      for (int w = 0; w < n; ++w) text += vocabulary[rng.uniform(vocabulary.size())] + " ";
    } else {
      text = mutate(rng, seeds[rng.uniform(seeds.size())]);
    }
    // TRUNCATE and DROP are fine inputs; keep the table so later statements stay interesting.
    if (text.find("TRUNCATE") != std::string::npos) continue;
    QueryOptions values;
    auto outcome = qp.query(text, values, session);
    if (auto* e = std::get_if<CqlError>(&outcome)) {
      ASSERT_TRUE(e->code == ErrorCode::kSyntaxError || e->code == ErrorCode::kInvalid ||
                  e->code == ErrorCode::kAlreadyExists)
          << "code " << static_cast<int>(e->code) << " for: " << text << " -> " << e->message;
      ++errors;
    } else {
      ++results;
    }
  }
  EXPECT_GT(errors, kIterations / 2);
  auto outcome = qp.query("SELECT * FROM t WHERE k = 1", options, session);
  ASSERT_TRUE(std::holds_alternative<ResultMessage>(outcome));
  std::printf("%d statements: %d typed errors, %d results\n", kIterations, errors, results);
}

}  // namespace
}  // namespace ringdb::cql
