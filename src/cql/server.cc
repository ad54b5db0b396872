#include "cql/server.h"

#include <lz4.h>

#include <algorithm>
#include <array>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <deque>
#include <mutex>
#include <utility>

#include "common/log.h"
#include "cql/request.h"

namespace ringdb::cql {

using storage::ValueKind;

void encode_type(const schema::CqlType& type, BodyWriter& w) {
  static const std::pair<ValueKind, uint16_t> kIds[] = {
      {ValueKind::kAscii, 0x0001},   {ValueKind::kBigint, 0x0002},
      {ValueKind::kBlob, 0x0003},    {ValueKind::kBoolean, 0x0004},
      {ValueKind::kCounter, 0x0005}, {ValueKind::kDecimal, 0x0006},
      {ValueKind::kDouble, 0x0007},  {ValueKind::kFloat, 0x0008},
      {ValueKind::kInt, 0x0009},     {ValueKind::kTimestamp, 0x000B},
      {ValueKind::kUuid, 0x000C},    {ValueKind::kText, 0x000D},
      {ValueKind::kVarint, 0x000E},  {ValueKind::kTimeuuid, 0x000F},
      {ValueKind::kInet, 0x0010},    {ValueKind::kDate, 0x0011},
      {ValueKind::kTime, 0x0012},    {ValueKind::kSmallint, 0x0013},
      {ValueKind::kTinyint, 0x0014}, {ValueKind::kList, 0x0020},
      {ValueKind::kMap, 0x0021},     {ValueKind::kSet, 0x0022},
      {ValueKind::kTuple, 0x0031}};
  if (type.kind == ValueKind::kDuration) {  // v4 has no id for duration: a custom type
    w.short_(0x0000);
    w.string("org.apache.cassandra.db.marshal.DurationType");
    return;
  }
  if (type.kind == ValueKind::kUdt) {  // [keyspace][name][n]([field name][field type])*
    w.short_(0x0030);
    w.string(type.keyspace);
    w.string(type.name);
    w.short_(static_cast<uint16_t>(type.params.size()));
    for (size_t i = 0; i < type.params.size(); ++i) {
      w.string(type.field_names[i]);
      encode_type(type.params[i], w);
    }
    return;
  }
  for (const auto& [kind, id] : kIds) {
    if (kind != type.kind) continue;
    w.short_(id);
    if (type.kind == ValueKind::kTuple) w.short_(static_cast<uint16_t>(type.params.size()));
    for (const auto& p : type.params) encode_type(p, w);
    return;
  }
  w.short_(0x0003);  // blob, for anything unexpected
}

namespace {

void column_specs(const std::vector<ColumnSpec>& columns, BodyWriter& w, bool global) {
  if (global && !columns.empty()) {
    w.string(columns[0].keyspace);
    w.string(columns[0].table);
  }
  for (const auto& c : columns) {
    if (!global) {
      w.string(c.keyspace);
      w.string(c.table);
    }
    w.string(c.name);
    encode_type(c.type, w);
  }
}

bool same_table(const std::vector<ColumnSpec>& columns) {
  for (const auto& c : columns) {
    if (c.keyspace != columns[0].keyspace || c.table != columns[0].table) return false;
  }
  return true;
}

}  // namespace

Bytes encode_result(const ResultMessage& r, bool skip_metadata) {
  BodyWriter w;
  w.int_(static_cast<int32_t>(r.kind));
  switch (r.kind) {
    case ResultMessage::Kind::kVoid:
      break;
    case ResultMessage::Kind::kSetKeyspace:
      w.string(r.keyspace);
      break;
    case ResultMessage::Kind::kSchemaChange:
      w.string(r.change);
      w.string(r.target);
      w.string(r.change_keyspace);
      if (r.target != "KEYSPACE") w.string(r.change_name);
      break;
    case ResultMessage::Kind::kRows: {
      const bool global = same_table(r.columns);
      int32_t flags = (global && !r.columns.empty() ? 0x0001 : 0) | (r.paging_state ? 0x0002 : 0) |
                      (skip_metadata ? 0x0004 : 0);
      w.int_(flags);
      w.int_(static_cast<int32_t>(r.columns.size()));
      if (r.paging_state) w.bytes(*r.paging_state);
      if (!skip_metadata) column_specs(r.columns, w, global);
      w.int_(static_cast<int32_t>(r.rows.size()));
      for (const auto& row : r.rows) {
        for (const auto& v : row) w.optional_bytes(v);
      }
      break;
    }
    case ResultMessage::Kind::kPrepared: {
      w.short_bytes(r.prepared_id);
      const bool global = !r.bind_columns.empty() && same_table(r.bind_columns);
      w.int_(global ? 0x0001 : 0);
      w.int_(static_cast<int32_t>(r.bind_columns.size()));
      w.int_(static_cast<int32_t>(r.partition_key_indexes.size()));
      for (uint16_t i : r.partition_key_indexes) w.short_(i);
      column_specs(r.bind_columns, w, global);
      const bool result_global = !r.columns.empty() && same_table(r.columns);
      w.int_(r.columns.empty() ? 0x0004 : (result_global ? 0x0001 : 0));
      w.int_(static_cast<int32_t>(r.columns.size()));
      column_specs(r.columns, w, result_global);
      break;
    }
  }
  return w.release();
}

Bytes encode_error(const CqlError& e) {
  BodyWriter w;
  w.int_(static_cast<int32_t>(e.code));
  // A message may quote the client's bytes; the protocol's [string] must be UTF-8 (a driver that
  // cannot decode it drops the connection).
  w.string(utf8_escaped(e.message));
  switch (e.code) {
    case ErrorCode::kUnavailable:
      w.short_(static_cast<uint16_t>(e.consistency));
      w.int_(e.required);
      w.int_(e.alive);
      break;
    case ErrorCode::kWriteTimeout:
      w.short_(static_cast<uint16_t>(e.consistency));
      w.int_(e.alive);
      w.int_(e.required);
      w.string("SIMPLE");
      break;
    case ErrorCode::kReadTimeout:
      w.short_(static_cast<uint16_t>(e.consistency));
      w.int_(e.alive);
      w.int_(e.required);
      w.byte(0);
      break;
    case ErrorCode::kReadFailure:  // v4: <cl><received><blockfor><numfailures><data_present>
      w.short_(static_cast<uint16_t>(e.consistency));
      w.int_(e.alive);
      w.int_(e.required);
      w.int_(e.failures);
      w.byte(0);
      break;
    case ErrorCode::kAlreadyExists:
      w.string(e.keyspace);
      w.string(e.table);
      break;
    case ErrorCode::kUnprepared:
      w.short_bytes(e.unprepared_id);
      break;
    case ErrorCode::kFunctionFailure:
      w.string(e.function_keyspace);
      w.string(e.function_name);
      w.string_list(e.arg_types);
      break;
    default:
      break;
  }
  return w.release();
}

namespace {

CqlError protocol_error(std::string message) {
  CqlError e;
  e.code = ErrorCode::kProtocolError;
  e.message = std::move(message);
  return e;
}

}  // namespace

// The connections of one event loop, touched only on that loop.
struct CqlServer::Shard {
  EventLoop* loop;
  std::set<std::shared_ptr<Connection>> connections;
  bool draining = false;
  bool stopped = false;
  // Prepared writes gathered from this loop's connections during one turn of the loop, written
  // as one storage write by a handler posted behind the turn's other ready handlers.
  QueryProcessor::WriteGroup writes;
  bool writes_posted = false;
};

namespace {

// Writes the loop's gathered writes: here if RocksDB takes them without waiting, else on a
// storage thread. Each request is answered through its own callback once durable.
void apply_shard_writes(CqlServer& server, CqlServer::Shard& shard) {
  shard.writes_posted = false;
  if (shard.writes.waiting.empty()) return;
  QueryProcessor& processor = server.processor();
  if (processor.try_apply_group(shard.writes)) {
    shard.writes = {};
    return;
  }
  auto group = std::make_shared<QueryProcessor::WriteGroup>(std::exchange(shard.writes, {}));
  Status submitted = server.bridge().submit(
      [group, &processor] { processor.apply_group(std::move(*group)); }, nullptr);
  if (!submitted.is_ok()) {
    CqlError e;
    e.code = submitted.code() == StatusCode::kOverloaded ? ErrorCode::kOverloaded
                                                         : ErrorCode::kServerError;
    e.message = submitted.message();
    for (auto& w : group->waiting) w.done(e);
  }
}

}  // namespace

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(CqlServer& server, CqlServer::Shard& shard, asio::ip::tcp::socket socket)
      : server_(server), shard_(shard), socket_(std::move(socket)) {}

  void start() { read_more(); }
  void close() {
    if (closed_) return;
    closed_ = true;
    asio::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
  bool registered_for_schema() const { return schema_events_; }
  // Stops reading new requests; what is in flight still completes.
  void stop_reading() { draining_ = true; }
  bool idle() const { return closed_ || (in_flight_ == 0 && outbuf_.empty() && !writing_); }

  void send_event(const Bytes& body) {
    send(-1, Opcode::kEvent, body);
    flush();
  }

 private:
  struct Pending {
    int16_t stream;
    std::shared_ptr<Request> request;
  };

  // Reads whatever the socket has into inbuf_ and handles every complete frame in it: prepared
  // statements that need no disk wait run here (their writes as one storage write), the others
  // go to the storage bridge as one job. Reading pauses while the connection has its maximum of
  // requests in flight, which bounds inbuf_ too.
  void read_more() {
    if (closed_ || reading_ || draining_ || paused_) return;
    reading_ = true;
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(chunk_),
                            [this, self](const asio::error_code& error, size_t n) {
                              reading_ = false;
                              if (error) return fail();
                              inbuf_.append(chunk_.data(), n);
                              process_input();
                            });
  }

  void process_input() {
    for (;;) {
      completions_->hold();  // answers that arrive meanwhile go out below, without a post
      size_t pos = 0;
      while (!closed_ && !draining_) {
        if (in_flight_ >= server_.options().in_flight_per_connection_max) {
          paused_ = true;
          break;
        }
        if (inbuf_.size() - pos < kHeaderBytes) break;
        const FrameHeader h = decode_header(reinterpret_cast<const uint8_t*>(inbuf_.data() + pos));
        if (h.length > server_.options().frame_bytes_max) {
          respond_error(h.stream,
                        protocol_error("Request is too big: length " + std::to_string(h.length) +
                                       " exceeds maximum allowed length " +
                                       std::to_string(server_.options().frame_bytes_max)));
          close_after_writes_ = true;
          inbuf_.clear();
          pos = 0;
          break;
        }
        if (inbuf_.size() - pos - kHeaderBytes < h.length) break;
        const BytesView body = BytesView(inbuf_).substr(pos + kHeaderBytes, h.length);
        pos += kHeaderBytes + h.length;
        handle(h, body);  // inbuf_ stays as it is until the loop ends
      }
      inbuf_.erase(0, pos);
      apply_inline_writes();
      submit_batch();
      respond_completed();
      // Answers taken just now may have made room under the in-flight limit.
      if (!paused_ || in_flight_ >= server_.options().in_flight_per_connection_max) break;
      paused_ = false;
    }
    flush();
    if (!close_after_writes_) read_more();
  }

  void fail() {
    close();
    server_.on_closed(shard_, this);
  }

  void handle(const FrameHeader& h, BytesView body) {
    const uint8_t version = h.version & 0x7f;
    if ((h.version & 0x80) != 0) {
      respond_error(h.stream,
                    protocol_error("Invalid message direction: a response was sent to the server"));
      return;
    }
    if (version != kProtocolVersion) {
      // The drivers match this wording (see CQL-COMPAT.md) and step down to v4.
      respond_error(h.stream,
                    protocol_error("Invalid or unsupported protocol version (" +
                                   std::to_string(version) + "); supported versions are (4/v4)"));
      return;
    }
    std::optional<Bytes> plain;  // the decompressed body, which `body` then views
    if (h.flags & kFlagCompression) {
      if (!lz4_) {
        respond_error(h.stream, protocol_error(
                                    "Compressed frame received but no compression was negotiated"));
        return;
      }
      plain = decompress(body);
      if (!plain) {
        respond_error(h.stream, protocol_error("Invalid LZ4 compressed body"));
        return;
      }
      body = *plain;
    }
    BodyReader r(body);
    switch (h.opcode) {
      case Opcode::kOptions:
        send(h.stream, Opcode::kSupported, supported());
        return;
      case Opcode::kStartup:
        return startup(h, r);
      case Opcode::kRegister:
        return register_events(h, r);
      case Opcode::kQuery:
      case Opcode::kPrepare:
      case Opcode::kExecute:
      case Opcode::kBatch:
        if (!ready_) {
          respond_error(h.stream,
                        protocol_error("Unexpected message, expecting STARTUP or OPTIONS"));
          return;
        }
        return dispatch(h, body);
      default:
        respond_error(h.stream, protocol_error("Unexpected opcode " +
                                               std::to_string(static_cast<int>(h.opcode))));
        return;
    }
  }

  Bytes supported() const {
    BodyWriter w;
    w.string_multimap({{"CQL_VERSION", {server_.processor().node().cql_version}},
                       {"COMPRESSION", {"lz4"}},
                       {"PROTOCOL_VERSIONS", {"4/v4"}}});
    return w.release();
  }

  void startup(const FrameHeader& h, BodyReader& r) {
    std::map<std::string, std::string> options;
    if (!r.get_string_map(&options) || !r.at_end()) {
      respond_error(h.stream, protocol_error("Malformed STARTUP body"));
      return;
    }
    auto cql = options.find("CQL_VERSION");
    if (cql == options.end()) {
      respond_error(h.stream, protocol_error("CQL_VERSION is mandatory"));
      return;
    }
    if (cql->second.empty() || cql->second[0] != '3') {
      respond_error(h.stream, protocol_error("Invalid or unsupported CQL version " + cql->second));
      return;
    }
    auto compression = options.find("COMPRESSION");
    bool use_lz4 = false;
    if (compression != options.end()) {
      if (compression->second != "lz4") {
        respond_error(h.stream,
                      protocol_error("Unknown compression algorithm: " + compression->second));
        return;
      }
      use_lz4 = true;
    }
    ready_ = true;
    send(h.stream, Opcode::kReady, "");
    lz4_ = use_lz4;  // everything after READY is compressed
  }

  void register_events(const FrameHeader& h, BodyReader& r) {
    std::vector<std::string> events;
    if (!r.get_string_list(&events) || !r.at_end()) {
      respond_error(h.stream, protocol_error("Malformed REGISTER body"));
      return;
    }
    for (const auto& e : events) {
      if (e != "TOPOLOGY_CHANGE" && e != "STATUS_CHANGE" && e != "SCHEMA_CHANGE") {
        respond_error(h.stream, protocol_error("Invalid value '" + e + "' for Type"));
        return;
      }
      if (e == "SCHEMA_CHANGE") schema_events_ = true;
    }
    send(h.stream, Opcode::kReady, "");
  }

  // Decodes the request on the loop (cheap); runs it here if it can (see try_execute_inline),
  // else queues it for the storage bridge. Answers always leave from the loop.
  void dispatch(const FrameHeader& h, BytesView body) {
    auto decoded = decode_request(h.opcode, body);
    if (!decoded.is_ok()) {
      respond_error(h.stream, protocol_error(decoded.status().message()));
      return;
    }
    ++in_flight_;
    Pending job{h.stream, std::make_shared<Request>(std::move(decoded).value())};
    if (h.opcode == Opcode::kExecute) {
      // Prepared reads that memory can answer and prepared writes run here, without a thread
      // hop; the writes of this read of the socket go to storage together at its end.
      QueryProcessor::Outcome answer;
      switch (server_.processor().try_execute_inline(job.request->id, job.request->options,
                                                     session_, inline_writes_, &answer,
                                                     [&] { return answer_for(job); })) {
        case QueryProcessor::Inline::kAnswered:
          respond(job.stream, *job.request, answer);
          return;
        case QueryProcessor::Inline::kJoinedGroup:
          return;
        case QueryProcessor::Inline::kNo:
          break;
      }
    }
    batch_.push_back(std::move(job));
  }

  // The callback that answers `job`: callable from any thread; the answer is sent on the loop.
  QueryProcessor::Done answer_for(const Pending& job) {
    return [completions = completions_, self = shared_from_this(), &loop = *shard_.loop,
            job](QueryProcessor::Outcome outcome) {
      if (completions->add(job, std::move(outcome))) {
        loop.post([self] { self->drain_completions(); });
      }
    };
  }

  // Hands the prepared writes of this read of the socket to the loop's write group, which goes
  // to storage once the loop has handled the other sockets that were ready (one WAL append and one
  // commit-log wait for all of them). When this read also sends requests to a storage thread, the
  // group goes first, so those requests see the writes sent before them.
  void apply_inline_writes() {
    if (inline_writes_.waiting.empty()) return;
    shard_.writes.append(std::move(inline_writes_));  // leaves inline_writes_ empty
    if (!batch_.empty()) {
      apply_shard_writes(server_, shard_);
      return;
    }
    if (!shard_.writes_posted) {
      shard_.writes_posted = true;
      shard_.loop->post(
          [&server = server_, &shard = shard_] { apply_shard_writes(server, shard); });
    }
  }

  // Runs the requests of one read as one storage job. Answers are collected in completions_ and
  // handed back to the loop in as few posts as possible (one per drain).
  void submit_batch() {
    if (batch_.empty()) return;
    auto jobs = std::make_shared<std::vector<Pending>>(std::move(batch_));
    batch_.clear();
    auto session = std::make_shared<Session>(session_);
    QueryProcessor& processor = server_.processor();
    auto self = shared_from_this();
    Status submitted = server_.bridge().submit(
        [jobs, session, &processor, self] {
          // The writes of all requests in this job go to storage as one write.
          QueryProcessor::WriteGroup writes;
          for (const auto& job : *jobs) {
            QueryProcessor::Done answer = self->answer_for(job);
            const Request& request = *job.request;
            if (request.opcode == Opcode::kQuery || request.opcode == Opcode::kPrepare) {
              // Statements sent as text may be schema changes: earlier writes go first.
              processor.apply_group(std::exchange(writes, {}));
            }
            switch (request.opcode) {
              case Opcode::kQuery:
                processor.query_async(request.query, request.options, *session, answer, &writes);
                break;
              case Opcode::kPrepare:
                answer(processor.prepare(request.query, *session));
                break;
              case Opcode::kExecute:
                processor.execute_async(request.id, request.options, *session, answer, &writes);
                break;
              default:
                processor.batch_async(request.batch_type, request.entries, request.options,
                                      *session, answer, &writes);
                break;
            }
          }
          processor.apply_group(std::move(writes));
        },
        nullptr);
    if (!submitted.is_ok()) {
      CqlError e;
      e.code = submitted.code() == StatusCode::kOverloaded ? ErrorCode::kOverloaded
                                                           : ErrorCode::kServerError;
      e.message = submitted.message();
      for (const auto& job : *jobs) {
        --in_flight_;
        respond_error(job.stream, e);
      }
    }
  }

  void respond_completed() {
    for (auto& [job, outcome] : completions_->take()) respond(job.stream, *job.request, outcome);
  }

  void drain_completions() {
    respond_completed();
    flush();
    if (paused_ && in_flight_ < server_.options().in_flight_per_connection_max) {
      paused_ = false;
      process_input();
    }
  }

  void respond(int16_t stream, const Request& request, const QueryProcessor::Outcome& outcome) {
    --in_flight_;
    if (closed_) return;
    if (auto* error = std::get_if<CqlError>(&outcome)) {
      send(stream, Opcode::kError, encode_error(*error));
    } else {
      const auto& message = std::get<ResultMessage>(outcome);
      if (message.kind == ResultMessage::Kind::kSetKeyspace) session_.keyspace = message.keyspace;
      const bool skip = request.options.skip_metadata && message.kind == ResultMessage::Kind::kRows;
      send(stream, Opcode::kResult, encode_result(message, skip));
      if (message.kind == ResultMessage::Kind::kSchemaChange)
        server_.broadcast_schema_change(message);
    }
  }

  void respond_error(int16_t stream, const CqlError& e) {
    send(stream, Opcode::kError, encode_error(e));
  }

  std::optional<Bytes> decompress(BytesView body) const {
    BufferReader r(body);
    uint32_t length;
    if (!r.get_u32(&length) || length > server_.options().frame_bytes_max) return std::nullopt;
    Bytes out(length, '\0');
    BytesView rest = r.rest();
    if (length == 0) return out;
    int n = LZ4_decompress_safe(rest.data(), out.data(), static_cast<int>(rest.size()),
                                static_cast<int>(length));
    if (n != static_cast<int>(length)) return std::nullopt;
    return out;
  }

  void send(int16_t stream, Opcode opcode, BytesView body) {
    if (closed_) return;
    FrameHeader h;
    h.version = 0x80 | kProtocolVersion;
    h.stream = stream;
    h.opcode = opcode;
    if (lz4_ && !body.empty()) {
      Bytes compressed(4 + static_cast<size_t>(LZ4_compressBound(static_cast<int>(body.size()))),
                       '\0');
      compressed[0] = static_cast<char>(body.size() >> 24);
      compressed[1] = static_cast<char>(body.size() >> 16);
      compressed[2] = static_cast<char>(body.size() >> 8);
      compressed[3] = static_cast<char>(body.size());
      int n =
          LZ4_compress_default(body.data(), compressed.data() + 4, static_cast<int>(body.size()),
                               static_cast<int>(compressed.size() - 4));
      compressed.resize(4 + static_cast<size_t>(n));
      h.flags |= kFlagCompression;
      h.length = static_cast<uint32_t>(compressed.size());
      encode_header(h, &outbuf_);
      outbuf_ += compressed;
      return;
    }
    h.length = static_cast<uint32_t>(body.size());
    encode_header(h, &outbuf_);
    outbuf_.append(body.data(), body.size());
  }

  // Writes everything queued so far in one system call (and whatever queues up meanwhile next).
  void flush() {
    if (writing_ || closed_) return;
    if (outbuf_.empty()) {
      if (close_after_writes_) fail();
      return;
    }
    writing_ = true;
    writebuf_.swap(outbuf_);
    outbuf_.clear();
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(writebuf_),
                      [this, self](const asio::error_code& error, size_t) {
                        writing_ = false;
                        writebuf_.clear();
                        if (error) return fail();
                        flush();
                      });
  }

  CqlServer& server_;
  CqlServer::Shard& shard_;
  asio::ip::tcp::socket socket_;
  // Answers coming back from storage and commit-log threads, picked up on the loop.
  class Completions {
   public:
    // True when the caller must post a drain (the queue was empty and no drain is pending).
    bool add(const Pending& job, QueryProcessor::Outcome outcome) {
      std::lock_guard lock(mutex_);
      items_.emplace_back(job, std::move(outcome));
      if (posted_) return false;
      posted_ = true;
      return true;
    }
    // Until the next take(), add() asks for no post: the loop is about to take anyway.
    void hold() {
      std::lock_guard lock(mutex_);
      posted_ = true;
    }
    std::vector<std::pair<Pending, QueryProcessor::Outcome>> take() {
      std::lock_guard lock(mutex_);
      posted_ = false;
      return std::move(items_);
    }

   private:
    std::mutex mutex_;
    std::vector<std::pair<Pending, QueryProcessor::Outcome>> items_;
    bool posted_ = false;
  };

  std::array<char, 64 * 1024> chunk_;
  Bytes inbuf_;
  Bytes outbuf_;
  Bytes writebuf_;
  std::vector<Pending> batch_;
  QueryProcessor::WriteGroup inline_writes_;
  std::shared_ptr<Completions> completions_ = std::make_shared<Completions>();
  bool paused_ = false;
  Session session_;
  size_t in_flight_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool ready_ = false;
  bool lz4_ = false;
  bool schema_events_ = false;
  bool closed_ = false;
  bool close_after_writes_ = false;
  bool draining_ = false;
};

CqlServer::CqlServer(EventLoop& loop, StorageBridge& bridge, QueryProcessor& processor,
                     ServerOptions options)
    : CqlServer(loop, {&loop}, bridge, processor, std::move(options)) {}

CqlServer::CqlServer(EventLoop& loop, const std::vector<EventLoop*>& connection_loops,
                     StorageBridge& bridge, QueryProcessor& processor, ServerOptions options)
    : loop_(loop),
      bridge_(bridge),
      processor_(processor),
      options_(std::move(options)),
      acceptor_(loop.io_context()) {
  for (EventLoop* l : connection_loops) {
    auto shard = std::make_unique<Shard>();
    shard->loop = l;
    shards_.push_back(std::move(shard));
  }
}

CqlServer::~CqlServer() {
  stop();
}

Status CqlServer::start() {
  asio::error_code ec;
  auto address = asio::ip::make_address(options_.address, ec);
  if (ec)
    return Status::invalid_argument("bad listen address '" + options_.address +
                                    "': " + ec.message());
  asio::ip::tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Status::io_error("cannot listen on " + options_.address + ":" +
                            std::to_string(options_.port) + ": " + ec.message());
  bound_port_ = acceptor_.local_endpoint().port();
  accept_next();
  return Status::ok();
}

void CqlServer::accept_next() {
  // Connections go to the loops in turn; the socket is created on its loop's io_context.
  Shard* shard = shards_[next_shard_++ % shards_.size()].get();
  acceptor_.async_accept(shard->loop->io_context(), [this, shard](const asio::error_code& error,
                                                                  asio::ip::tcp::socket socket) {
    if (stopped_) return;
    if (!error) {
      if (open_connections_.load() >= options_.connections_max) {
        RINGDB_LOG_WARN("refusing a CQL connection: {} connections open (limit)",
                        open_connections_.load());
        asio::error_code ignored;
        socket.close(ignored);
      } else {
        asio::error_code ignored;
        socket.set_option(asio::ip::tcp::no_delay(true), ignored);
        open_connections_.fetch_add(1);
        auto moved = std::make_shared<asio::ip::tcp::socket>(std::move(socket));
        shard->loop->post([this, shard, moved] {
          auto connection = std::make_shared<Connection>(*this, *shard, std::move(*moved));
          if (shard->stopped) {
            connection->close();
            open_connections_.fetch_sub(1);
            return;
          }
          shard->connections.insert(connection);
          if (shard->draining) connection->stop_reading();
          connection->start();
        });
      }
    }
    accept_next();
  });
}

void CqlServer::on_closed(Shard& shard, Connection* connection) {
  for (auto it = shard.connections.begin(); it != shard.connections.end(); ++it) {
    if (it->get() == connection) {
      shard.connections.erase(it);
      open_connections_.fetch_sub(1);
      return;
    }
  }
}

void CqlServer::broadcast_schema_change(const ResultMessage& change) {
  BodyWriter w;
  w.string("SCHEMA_CHANGE");
  w.string(change.change);
  w.string(change.target);
  w.string(change.change_keyspace);
  if (change.target != "KEYSPACE") w.string(change.change_name);
  auto body = std::make_shared<const Bytes>(w.release());
  for (const auto& shard : shards_) {
    Shard* s = shard.get();
    s->loop->post([s, body] {
      for (const auto& c : s->connections) {
        if (c->registered_for_schema()) c->send_event(*body);
      }
    });
  }
}

void CqlServer::drain(int64_t timeout_micros, Task done) {
  draining_ = true;
  asio::error_code ignored;
  acceptor_.close(ignored);
  for (const auto& shard : shards_) {
    Shard* s = shard.get();
    s->loop->post([s] {
      s->draining = true;
      for (const auto& c : s->connections) c->stop_reading();
    });
  }
  poll_drained(loop_.clock().monotonic_micros() + timeout_micros, std::move(done));
}

void CqlServer::poll_drained(int64_t deadline_micros, Task done) {
  // Each loop checks its own connections; the answers are read on the next poll.
  auto idle_shards = std::make_shared<std::atomic<size_t>>(0);
  for (const auto& shard : shards_) {
    Shard* s = shard.get();
    s->loop->post([s, idle_shards] {
      if (std::all_of(s->connections.begin(), s->connections.end(),
                      [](const auto& c) { return c->idle(); })) {
        idle_shards->fetch_add(1);
      }
    });
  }
  loop_.schedule_after(10'000,
                       [this, deadline_micros, idle_shards, done = std::move(done)]() mutable {
                         const bool idle = idle_shards->load() == shards_.size();
                         if (idle || loop_.clock().monotonic_micros() >= deadline_micros) {
                           if (!idle)
                             RINGDB_LOG_WARN("drain timed out with requests still in flight");
                           close_connections(std::move(done));
                           return;
                         }
                         poll_drained(deadline_micros, std::move(done));
                       });
}

void CqlServer::close_connections(Task done) {
  stopped_ = true;
  asio::error_code ignored;
  acceptor_.close(ignored);
  auto remaining = std::make_shared<std::atomic<size_t>>(shards_.size());
  auto finished = std::make_shared<Task>(std::move(done));
  for (const auto& shard : shards_) {
    Shard* s = shard.get();
    s->loop->post([this, s, remaining, finished] {
      close_shard(*s);
      if (remaining->fetch_sub(1) == 1) loop_.post(std::move(*finished));
    });
  }
}

void CqlServer::close_shard(Shard& shard) {
  shard.stopped = true;
  auto open = shard.connections;
  for (const auto& c : open) c->close();
  open_connections_.fetch_sub(shard.connections.size());
  shard.connections.clear();
}

void CqlServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  asio::error_code ignored;
  acceptor_.close(ignored);
  for (const auto& shard : shards_) close_shard(*shard);
}

}  // namespace ringdb::cql
