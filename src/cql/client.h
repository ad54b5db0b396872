// CqlClient: a native protocol v4 client for RingDB's own tools (shell, demo, stress).
//
// One TCP connection with many requests in flight (one stream id each). Requests may be issued
// from any thread; callbacks run on the client's I/O thread, which it owns. The synchronous
// helpers wait on the callback. In-flight requests are bounded by the stream ids (32768);
// past that, a request fails at once with Overloaded.
#pragma once

#include <array>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cql/messages.h"
#include "cql/protocol.h"

namespace ringdb::cql {

struct Response {
  bool is_error = false;
  CqlError error;
  ResultMessage result;
};

// Decodes a RESULT or ERROR body (the client's half of the codec).
[[nodiscard]] Result<Response> decode_response(Opcode opcode, BytesView body);

class CqlClient {
 public:
  using Callback = std::function<void(Result<Response>)>;
  static constexpr size_t kStreamsMax = 32768;

  // Connects and completes STARTUP.
  [[nodiscard]] static Result<std::unique_ptr<CqlClient>> connect(const std::string& host,
                                                                  uint16_t port);
  ~CqlClient();

  void query_async(const std::string& cql, const QueryOptions& options, Callback done);
  void execute_async(const Bytes& id, const QueryOptions& options, Callback done);
  void prepare_async(const std::string& cql, Callback done);

  [[nodiscard]] Result<Response> query(const std::string& cql, const QueryOptions& options = {});
  [[nodiscard]] Result<Response> execute(const Bytes& id, const QueryOptions& options);
  [[nodiscard]] Result<Response> prepare(const std::string& cql);

 private:
  CqlClient() : socket_(io_) {}
  void send(Opcode opcode, Bytes body, Callback done);
  void read_more();
  void write_next();
  void fail_all(const Status& status);
  Result<Response> wait(const std::function<void(Callback)>& start);

  bool on_io_thread() const { return std::this_thread::get_id() == io_thread_id_; }
  void queue_frame(Bytes frame);  // on the I/O thread

  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  std::thread thread_;
  std::thread::id io_thread_id_;
  std::mutex mutex_;               // guards streams_, free_streams_ and failed_
  std::vector<Callback> streams_;  // by stream id; empty when the stream is free
  std::vector<int16_t> free_streams_;
  // I/O thread only. Frames queued while a read's answers run are written once, after them.
  Bytes outbox_;
  bool reading_answers_ = false;
  bool writing_ = false;
  bool failed_ = false;
  std::array<char, 64 * 1024> chunk_;
  Bytes inbuf_;
};

Bytes encode_query_parameters(const QueryOptions& options);

}  // namespace ringdb::cql
