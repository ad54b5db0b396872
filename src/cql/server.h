// CqlServer: the CQL native protocol v4 endpoint.
//
// Accepts TCP connections on the node's event loop, decodes frames (header, optional LZ4 body
// compression), negotiates the protocol version the way the DataStax drivers expect, and runs
// each request's QueryProcessor call on the StorageBridge so the loop never blocks. Responses go
// back on the request's stream id, in completion order; SCHEMA_CHANGE events go to connections
// that REGISTERed for them. Bounded everywhere: frame size, connections, in-flight requests per
// connection (reading pauses at the limit), the bridge's queue (CQL Overloaded when full).
//
// Threading: everything but the QueryProcessor call runs on the loop thread.
#pragma once

#include <asio/ip/tcp.hpp>
#include <memory>
#include <set>
#include <string>

#include "cql/executor.h"
#include "runtime/event_loop.h"
#include "runtime/storage_bridge.h"

namespace ringdb::cql {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 9042;
  uint32_t frame_bytes_max = 16u << 20;  // native_transport_max_frame_size_in_mb: 16
  size_t connections_max = 1024;
  size_t in_flight_per_connection_max = 1024;
};

class Connection;

class CqlServer {
 public:
  CqlServer(EventLoop& loop, StorageBridge& bridge, QueryProcessor& processor,
            ServerOptions options);
  ~CqlServer();

  [[nodiscard]] Status start();
  void stop();  // closes the listener and every connection
  // Graceful shutdown: stops accepting and reading, lets in-flight requests finish and their
  // responses go out (for at most `timeout_micros`), then stops and calls `done` on the loop.
  void drain(int64_t timeout_micros, Task done);
  uint16_t port() const { return bound_port_; }

  // Called by connections (loop thread).
  void on_closed(Connection* connection);
  void broadcast_schema_change(const ResultMessage& change);
  EventLoop& loop() { return loop_; }
  StorageBridge& bridge() { return bridge_; }
  QueryProcessor& processor() { return processor_; }
  const ServerOptions& options() const { return options_; }

 private:
  void accept_next();
  void poll_drained(int64_t deadline_micros, Task done);

  EventLoop& loop_;
  StorageBridge& bridge_;
  QueryProcessor& processor_;
  ServerOptions options_;
  asio::ip::tcp::acceptor acceptor_;
  uint16_t bound_port_ = 0;
  std::set<std::shared_ptr<Connection>> connections_;
  bool stopped_ = false;
  bool draining_ = false;
};

// Encoders shared by the server and its tests.
Bytes encode_result(const ResultMessage& result, bool skip_metadata);
Bytes encode_error(const CqlError& error);
void encode_type(const schema::CqlType& type, BodyWriter& w);

}  // namespace ringdb::cql
