#include "cql/client.h"

#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <future>

namespace ringdb::cql {
namespace {

Result<schema::CqlType> decode_type(BodyReader& r, int depth) {
  if (depth > 16) return Status::corruption("type nested too deeply");
  uint16_t id;
  if (!r.get_short(&id)) return Status::corruption("truncated type");
  using storage::ValueKind;
  static const std::pair<uint16_t, ValueKind> kIds[] = {
      {0x0001, ValueKind::kAscii},   {0x0002, ValueKind::kBigint},
      {0x0003, ValueKind::kBlob},    {0x0004, ValueKind::kBoolean},
      {0x0005, ValueKind::kCounter}, {0x0006, ValueKind::kDecimal},
      {0x0007, ValueKind::kDouble},  {0x0008, ValueKind::kFloat},
      {0x0009, ValueKind::kInt},     {0x000B, ValueKind::kTimestamp},
      {0x000C, ValueKind::kUuid},    {0x000D, ValueKind::kText},
      {0x000E, ValueKind::kVarint},  {0x000F, ValueKind::kTimeuuid},
      {0x0010, ValueKind::kInet},    {0x0011, ValueKind::kDate},
      {0x0012, ValueKind::kTime},    {0x0013, ValueKind::kSmallint},
      {0x0014, ValueKind::kTinyint}};
  for (const auto& [code, kind] : kIds) {
    if (code == id) return schema::CqlType::of(kind);
  }
  schema::CqlType t;
  switch (id) {
    case 0x0000: {
      std::string name;
      if (!r.get_string(&name)) return Status::corruption("truncated custom type");
      if (name.find("DurationType") != std::string::npos)
        return schema::CqlType::of(ValueKind::kDuration);
      return schema::CqlType::of(ValueKind::kBlob);
    }
    case 0x0020:
    case 0x0022: {
      t.kind = id == 0x0020 ? ValueKind::kList : ValueKind::kSet;
      RINGDB_ASSIGN_OR_RETURN(schema::CqlType e, decode_type(r, depth + 1));
      t.params.push_back(e);
      return t;
    }
    case 0x0021: {
      t.kind = ValueKind::kMap;
      RINGDB_ASSIGN_OR_RETURN(schema::CqlType k, decode_type(r, depth + 1));
      RINGDB_ASSIGN_OR_RETURN(schema::CqlType v, decode_type(r, depth + 1));
      t.params = {k, v};
      return t;
    }
    case 0x0030: {
      uint16_t n;
      if (!r.get_string(&t.keyspace) || !r.get_string(&t.name) || !r.get_short(&n))
        return Status::corruption("truncated user type");
      t.kind = ValueKind::kUdt;
      t.frozen = true;
      for (uint16_t i = 0; i < n; ++i) {
        std::string field;
        if (!r.get_string(&field)) return Status::corruption("truncated user type");
        RINGDB_ASSIGN_OR_RETURN(schema::CqlType e, decode_type(r, depth + 1));
        t.field_names.push_back(std::move(field));
        t.params.push_back(e);
      }
      return t;
    }
    case 0x0031: {
      uint16_t n;
      if (!r.get_short(&n)) return Status::corruption("truncated tuple type");
      t.kind = ValueKind::kTuple;
      t.frozen = true;
      for (uint16_t i = 0; i < n; ++i) {
        RINGDB_ASSIGN_OR_RETURN(schema::CqlType e, decode_type(r, depth + 1));
        t.params.push_back(e);
      }
      return t;
    }
    default:
      return Status::corruption("unknown type id " + std::to_string(id));
  }
}

Status decode_metadata(BodyReader& r, ResultMessage* out, bool with_paging) {
  int32_t flags, count;
  if (!r.get_int(&flags) || !r.get_int(&count) || count < 0)
    return Status::corruption("truncated metadata");
  if (with_paging && (flags & 0x0002)) {
    std::optional<Bytes> state;
    if (!r.get_value(&state)) return Status::corruption("truncated paging state");
    out->paging_state = state;
  }
  if (flags & 0x0004) return Status::ok();  // no metadata
  std::string ks, table;
  const bool global = flags & 0x0001;
  if (global && (!r.get_string(&ks) || !r.get_string(&table)))
    return Status::corruption("truncated table spec");
  for (int32_t i = 0; i < count; ++i) {
    ColumnSpec c;
    if (!global && (!r.get_string(&c.keyspace) || !r.get_string(&c.table)))
      return Status::corruption("truncated column spec");
    if (global) {
      c.keyspace = ks;
      c.table = table;
    }
    if (!r.get_string(&c.name)) return Status::corruption("truncated column name");
    RINGDB_ASSIGN_OR_RETURN(c.type, decode_type(r, 0));
    out->columns.push_back(std::move(c));
  }
  return Status::ok();
}

}  // namespace

Result<Response> decode_response(Opcode opcode, BytesView body) {
  Response out;
  BodyReader r(body);
  if (opcode == Opcode::kError) {
    out.is_error = true;
    int32_t code;
    if (!r.get_int(&code) || !r.get_string(&out.error.message))
      return Status::corruption("truncated ERROR");
    out.error.code = static_cast<ErrorCode>(code);
    if (out.error.code == ErrorCode::kUnprepared) (void)r.get_short_bytes(&out.error.unprepared_id);
    return out;
  }
  if (opcode == Opcode::kReady || opcode == Opcode::kSupported) return out;
  if (opcode != Opcode::kResult) return Status::corruption("unexpected opcode");
  int32_t kind;
  if (!r.get_int(&kind)) return Status::corruption("truncated RESULT");
  out.result.kind = static_cast<ResultMessage::Kind>(kind);
  switch (out.result.kind) {
    case ResultMessage::Kind::kVoid:
      break;
    case ResultMessage::Kind::kSetKeyspace:
      if (!r.get_string(&out.result.keyspace)) return Status::corruption("truncated SetKeyspace");
      break;
    case ResultMessage::Kind::kSchemaChange:
      if (!r.get_string(&out.result.change) || !r.get_string(&out.result.target) ||
          !r.get_string(&out.result.change_keyspace)) {
        return Status::corruption("truncated SchemaChange");
      }
      if (out.result.target != "KEYSPACE") (void)r.get_string(&out.result.change_name);
      break;
    case ResultMessage::Kind::kPrepared: {
      if (!r.get_short_bytes(&out.result.prepared_id))
        return Status::corruption("truncated Prepared");
      int32_t flags, count, pk_count;
      if (!r.get_int(&flags) || !r.get_int(&count) || !r.get_int(&pk_count) || count < 0 ||
          pk_count < 0) {
        return Status::corruption("truncated Prepared metadata");
      }
      for (int32_t i = 0; i < pk_count; ++i) {
        uint16_t index;
        if (!r.get_short(&index)) return Status::corruption("truncated pk index");
        out.result.partition_key_indexes.push_back(index);
      }
      std::string ks, table;
      const bool global = flags & 0x0001;
      if (global && (!r.get_string(&ks) || !r.get_string(&table)))
        return Status::corruption("truncated spec");
      for (int32_t i = 0; i < count; ++i) {
        ColumnSpec c;
        if (!global && (!r.get_string(&c.keyspace) || !r.get_string(&c.table)))
          return Status::corruption("truncated spec");
        if (!r.get_string(&c.name)) return Status::corruption("truncated bind name");
        RINGDB_ASSIGN_OR_RETURN(c.type, decode_type(r, 0));
        out.result.bind_columns.push_back(std::move(c));
      }
      RINGDB_RETURN_IF_ERROR(decode_metadata(r, &out.result, false));
      break;
    }
    case ResultMessage::Kind::kRows: {
      RINGDB_RETURN_IF_ERROR(decode_metadata(r, &out.result, true));
      int32_t rows;
      if (!r.get_int(&rows) || rows < 0) return Status::corruption("truncated rows");
      const size_t columns = out.result.columns.size();
      for (int32_t i = 0; i < rows; ++i) {
        RowValues row;
        for (size_t c = 0; c < columns; ++c) {
          std::optional<Bytes> v;
          if (!r.get_value(&v)) return Status::corruption("truncated row");
          row.push_back(std::move(v));
        }
        out.result.rows.push_back(std::move(row));
      }
      break;
    }
  }
  return out;
}

Bytes encode_query_parameters(const QueryOptions& o) {
  BodyWriter w;
  w.short_(static_cast<uint16_t>(o.consistency));
  uint8_t flags = 0;
  if (!o.values.empty()) flags |= 0x01;
  if (o.skip_metadata) flags |= 0x02;
  if (o.page_size > 0) flags |= 0x04;
  if (o.paging_state) flags |= 0x08;
  if (o.timestamp) flags |= 0x20;
  w.byte(flags);
  if (!o.values.empty()) {
    w.short_(static_cast<uint16_t>(o.values.size()));
    for (const auto& v : o.values) w.optional_bytes(v);
  }
  if (o.page_size > 0) w.int_(o.page_size);
  if (o.paging_state) w.bytes(*o.paging_state);
  if (o.timestamp) w.long_(*o.timestamp);
  return w.release();
}

Result<std::unique_ptr<CqlClient>> CqlClient::connect(const std::string& host, uint16_t port) {
  std::unique_ptr<CqlClient> client(new CqlClient());
  asio::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return Status::invalid_argument("bad address '" + host + "'");
  client->socket_.connect(asio::ip::tcp::endpoint(address, port), ec);
  if (ec)
    return Status::unavailable("cannot connect to " + host + ":" + std::to_string(port) + ": " +
                               ec.message());
  client->socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  client->streams_.resize(kStreamsMax);
  for (int i = static_cast<int>(kStreamsMax) - 1; i >= 0; --i)
    client->free_streams_.push_back(static_cast<int16_t>(i));
  client->read_more();
  std::promise<void> started;
  client->thread_ = std::thread([c = client.get(), &started] {
    c->io_thread_id_ = std::this_thread::get_id();
    started.set_value();
    c->io_.run();
  });
  started.get_future().wait();
  BodyWriter startup;
  startup.short_(1);
  startup.string("CQL_VERSION");
  startup.string("3.4.5");
  Bytes body = startup.release();
  auto ready =
      client->wait([&](Callback cb) { client->send(Opcode::kStartup, body, std::move(cb)); });
  if (!ready.is_ok()) return ready.status();
  if (ready->is_error) return Status::unavailable("STARTUP refused: " + ready->error.message);
  return client;
}

CqlClient::~CqlClient() {
  asio::post(io_, [this] {
    asio::error_code ignored;
    socket_.close(ignored);
  });
  if (thread_.joinable()) thread_.join();
}

void CqlClient::send(Opcode opcode, Bytes body, Callback done) {
  int16_t stream;
  {
    std::lock_guard lock(mutex_);
    if (failed_) {
      done(Status::unavailable("connection closed"));
      return;
    }
    if (free_streams_.empty()) {
      done(Status::overloaded("all " + std::to_string(kStreamsMax) + " streams in flight"));
      return;
    }
    stream = free_streams_.back();
    free_streams_.pop_back();
    streams_[static_cast<size_t>(stream)] = std::move(done);
  }
  FrameHeader h;
  h.version = kProtocolVersion;
  h.stream = stream;
  h.opcode = opcode;
  h.length = static_cast<uint32_t>(body.size());
  Bytes frame;
  frame.reserve(kHeaderBytes + body.size());
  encode_header(h, &frame);
  frame += body;
  // A request sent from an answer (the stress tool's next request) needs no post.
  if (on_io_thread()) return queue_frame(std::move(frame));
  asio::post(io_, [this, frame = std::move(frame)]() mutable { queue_frame(std::move(frame)); });
}

void CqlClient::queue_frame(Bytes frame) {
  outbox_ += frame;
  if (!writing_ && !reading_answers_) write_next();
}

void CqlClient::write_next() {
  if (outbox_.empty()) {
    writing_ = false;
    return;
  }
  writing_ = true;
  // Everything queued so far goes out in one write.
  auto batch = std::make_shared<Bytes>(std::move(outbox_));
  outbox_.clear();
  asio::async_write(socket_, asio::buffer(*batch),
                    [this, batch](const asio::error_code& error, size_t) {
                      if (error)
                        return fail_all(Status::unavailable("write failed: " + error.message()));
                      write_next();
                    });
}

void CqlClient::read_more() {
  socket_.async_read_some(asio::buffer(chunk_), [this](const asio::error_code& error, size_t n) {
    if (error) return fail_all(Status::unavailable("connection closed: " + error.message()));
    inbuf_.append(chunk_.data(), n);
    reading_answers_ = true;
    size_t pos = 0;
    while (inbuf_.size() - pos >= kHeaderBytes) {
      const FrameHeader h = decode_header(reinterpret_cast<const uint8_t*>(inbuf_.data() + pos));
      if (inbuf_.size() - pos - kHeaderBytes < h.length) break;
      BytesView body(inbuf_.data() + pos + kHeaderBytes, h.length);
      pos += kHeaderBytes + h.length;
      Callback cb;
      if (h.stream >= 0) {
        std::lock_guard lock(mutex_);
        Callback& slot = streams_[static_cast<size_t>(h.stream)];
        if (slot) {
          cb = std::move(slot);
          slot = nullptr;
          free_streams_.push_back(h.stream);
        }
      }
      if (cb) cb(decode_response(h.opcode, body));
    }
    inbuf_.erase(0, pos);
    reading_answers_ = false;
    if (!writing_) write_next();
    read_more();
  });
}

void CqlClient::fail_all(const Status& status) {
  std::vector<Callback> pending;
  {
    std::lock_guard lock(mutex_);
    failed_ = true;
    for (size_t i = 0; i < streams_.size(); ++i) {
      if (streams_[i]) {
        pending.push_back(std::move(streams_[i]));
        streams_[i] = nullptr;
        free_streams_.push_back(static_cast<int16_t>(i));
      }
    }
  }
  for (auto& cb : pending) cb(status);
}

Result<Response> CqlClient::wait(const std::function<void(Callback)>& start) {
  auto promise = std::make_shared<std::promise<Result<Response>>>();
  auto future = promise->get_future();
  start([promise](Result<Response> r) { promise->set_value(std::move(r)); });
  return future.get();
}

void CqlClient::query_async(const std::string& cql, const QueryOptions& options, Callback done) {
  BodyWriter w;
  w.long_string(cql);
  w.raw(encode_query_parameters(options));
  send(Opcode::kQuery, w.release(), std::move(done));
}

void CqlClient::execute_async(const Bytes& id, const QueryOptions& options, Callback done) {
  BodyWriter w;
  w.short_bytes(id);
  w.raw(encode_query_parameters(options));
  send(Opcode::kExecute, w.release(), std::move(done));
}

void CqlClient::prepare_async(const std::string& cql, Callback done) {
  BodyWriter w;
  w.long_string(cql);
  send(Opcode::kPrepare, w.release(), std::move(done));
}

Result<Response> CqlClient::query(const std::string& cql, const QueryOptions& options) {
  return wait([&](Callback cb) { query_async(cql, options, std::move(cb)); });
}
Result<Response> CqlClient::execute(const Bytes& id, const QueryOptions& options) {
  return wait([&](Callback cb) { execute_async(id, options, std::move(cb)); });
}
Result<Response> CqlClient::prepare(const std::string& cql) {
  return wait([&](Callback cb) { prepare_async(cql, std::move(cb)); });
}

}  // namespace ringdb::cql
