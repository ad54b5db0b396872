// CqlServer: the CQL native protocol v4 endpoint.
//
// Accepts TCP connections on the node's event loop, decodes frames (header, optional LZ4 body
// compression), negotiates the protocol version the way the DataStax drivers expect, and runs
// each request's QueryProcessor call on the StorageBridge so the loop never blocks. Responses go
// back on the request's stream id, in completion order; SCHEMA_CHANGE events go to connections
// that REGISTERed for them. Bounded everywhere: frame size, connections, in-flight requests per
// connection (reading pauses at the limit), the bridge's queue (CQL Overloaded when full).
//
// Threading: a connection's frames, and the QueryProcessor calls that never block (prepared
// statements answered from memory, writes RocksDB takes without waiting), run on the
// connection's loop; other calls run on the storage bridge. With several loops (one per core)
// each connection stays on one loop, so connection state needs no locks.
#pragma once

#include <asio/ip/tcp.hpp>
#include <atomic>
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
  // One event loop serves everything.
  CqlServer(EventLoop& loop, StorageBridge& bridge, QueryProcessor& processor,
            ServerOptions options);
  // `loop` accepts connections and runs drain(); each connection then lives on one of
  // `connection_loops` (in turn), which may include `loop`. Each loop runs on its own thread.
  CqlServer(EventLoop& loop, const std::vector<EventLoop*>& connection_loops, StorageBridge& bridge,
            QueryProcessor& processor, ServerOptions options);
  ~CqlServer();

  [[nodiscard]] Status start();
  // Closes the listener and every connection at once. Call it on `loop` when it is the only
  // loop, or once the connection loops have stopped (as the destructor does).
  void stop();
  // Graceful shutdown, on `loop`: stops accepting and reading, lets in-flight requests finish and
  // their responses go out (for at most `timeout_micros`), closes every connection on its own
  // loop, then calls `done` on `loop`.
  void drain(int64_t timeout_micros, Task done);
  uint16_t port() const { return bound_port_; }

  struct Shard;
  // Called by connections, on their own loop.
  void on_closed(Shard& shard, Connection* connection);
  // Thread-safe: the event goes to every REGISTERed connection on its own loop.
  void broadcast_schema_change(const ResultMessage& change);
  StorageBridge& bridge() { return bridge_; }
  QueryProcessor& processor() { return processor_; }
  const ServerOptions& options() const { return options_; }

 private:
  void accept_next();
  void poll_drained(int64_t deadline_micros, Task done);
  void close_connections(Task done);
  void close_shard(Shard& shard);

  EventLoop& loop_;
  StorageBridge& bridge_;
  QueryProcessor& processor_;
  ServerOptions options_;
  asio::ip::tcp::acceptor acceptor_;
  uint16_t bound_port_ = 0;
  std::vector<std::unique_ptr<Shard>> shards_;
  size_t next_shard_ = 0;
  std::atomic<size_t> open_connections_{0};
  bool stopped_ = false;
  bool draining_ = false;
};

// Encoders shared by the server and its tests.
Bytes encode_result(const ResultMessage& result, bool skip_metadata);
Bytes encode_error(const CqlError& error);
void encode_type(const schema::CqlType& type, BodyWriter& w);

}  // namespace ringdb::cql
