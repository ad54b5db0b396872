// `ringdb stress`: a load generator in the manner of cassandra-stress. Write, read or mixed
// workloads over prepared statements, on N connections with a fixed number of requests in
// flight, for a number of operations or a duration; prints throughput and latency percentiles.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "common/metrics.h"
#include "cql/client.h"
#include "main/tools.h"
#include "runtime/clock.h"
#include "runtime/rng.h"

namespace ringdb::tools {
namespace {

Bytes be64(int64_t v) {
  BufferWriter w;
  w.put_i64(v);
  return w.release();
}

Bytes be32(int32_t v) {
  BufferWriter w;
  w.put_i32(v);
  return w.release();
}

bool check(const Result<cql::Response>& r, const char* what) {
  if (!r.is_ok()) {
    std::fprintf(stderr, "%s: %s\n", what, r.status().message().c_str());
    return false;
  }
  if (r->is_error) {
    std::fprintf(stderr, "%s: %s\n", what, r->error.message.c_str());
    return false;
  }
  return true;
}

}  // namespace

int run_stress(const StressOptions& o) {
  if (o.workload != "write" && o.workload != "read" && o.workload != "mixed") {
    std::fprintf(stderr, "unknown workload '%s' (write, read or mixed)\n", o.workload.c_str());
    return 2;
  }
  if (o.connections < 1 || o.in_flight < o.connections || o.keys < 1 || o.rows_per_partition < 1 ||
      o.rows_per_partition > INT32_MAX) {
    std::fprintf(stderr,
                 "need connections >= 1, in-flight >= connections, keys >= 1 and "
                 "rows-per-partition from 1 to 2^31-1\n");
    return 2;
  }
  // One row per key in `kv`; with rows per partition, key k is row k % R of partition k / R.
  const bool clustered = o.rows_per_partition > 1;
  const std::string table = o.keyspace + (clustered ? ".clustered" : ".kv");
  const std::string create =
      clustered ? "CREATE TABLE IF NOT EXISTS " + table +
                      " (key bigint, row int, value blob, PRIMARY KEY (key, row))"
                : "CREATE TABLE IF NOT EXISTS " + table + " (key bigint PRIMARY KEY, value blob)";
  const std::string insert_cql =
      clustered ? "INSERT INTO " + table + " (key, row, value) VALUES (?, ?, ?)"
                : "INSERT INTO " + table + " (key, value) VALUES (?, ?)";
  const std::string select_cql =
      "SELECT value FROM " + table + " WHERE key = ?" + (clustered ? " AND row = ?" : "");
  std::vector<std::unique_ptr<cql::CqlClient>> clients;
  for (int i = 0; i < o.connections; ++i) {
    auto c = cql::CqlClient::connect(o.host, o.port);
    if (!c.is_ok()) {
      std::fprintf(stderr, "%s\n", c.status().message().c_str());
      return 1;
    }
    clients.push_back(std::move(c).value());
  }
  auto& admin = *clients[0];
  if (!check(
          admin.query("CREATE KEYSPACE IF NOT EXISTS " + o.keyspace +
                      " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"),
          "create keyspace") ||
      !check(admin.query(create), "create table")) {
    return 1;
  }
  auto insert = admin.prepare(insert_cql);
  auto select = admin.prepare(select_cql);
  if (!check(insert, "prepare insert") || !check(select, "prepare select")) return 1;
  const Bytes insert_id = insert->result.prepared_id;
  const Bytes select_id = select->result.prepared_id;
  // Other connections must know the statements too (the server keeps one cache, so this is cheap).
  for (size_t i = 1; i < clients.size(); ++i) {
    (void)clients[i]->prepare(insert_cql);
    (void)clients[i]->prepare(select_cql);
  }

  SystemClock clock;
  std::mutex done_mutex;
  std::string first_error;  // guarded by done_mutex
  std::condition_variable done_cv;
  int active_slots = o.in_flight;
  const int64_t start = clock.monotonic_micros();
  const int64_t deadline =
      o.seconds > 0 ? start + static_cast<int64_t>(o.seconds * 1e6) : INT64_MAX;
  Bytes value(static_cast<size_t>(o.value_bytes), '\0');
  for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>('a' + i % 26);

  // Figures per connection, touched only by its I/O thread (so no line is shared between the
  // client's threads) and summed at the end. The operation budget is split between them.
  struct alignas(64) Connection {
    cql::CqlClient* client = nullptr;
    int64_t budget = 0;
    int64_t completed = 0, errors = 0, reads = 0, reads_found = 0;
    Histogram latency_micros;
  };
  std::vector<Connection> connections(clients.size());
  for (size_t i = 0; i < clients.size(); ++i) {
    connections[i].client = clients[i].get();
    connections[i].budget =
        o.seconds > 0
            ? INT64_MAX
            : o.operations / static_cast<int64_t>(clients.size()) +
                  (static_cast<int64_t>(i) < o.operations % static_cast<int64_t>(clients.size())
                       ? 1
                       : 0);
  }

  // Each slot is one request in flight; when it completes, the slot issues the next one.
  struct Slot {
    Connection* connection;
    SeededRng rng;
    int64_t sent_at = 0;
  };
  std::vector<std::unique_ptr<Slot>> slots;
  for (int i = 0; i < o.in_flight; ++i) {
    slots.push_back(
        std::make_unique<Slot>(Slot{&connections[static_cast<size_t>(i) % connections.size()],
                                    SeededRng(o.seed * 1000003 + static_cast<uint64_t>(i))}));
  }
  const bool reads_only = o.workload == "read", mixed = o.workload == "mixed";
  std::function<void(Slot*)> issue;
  // Sends the slot's next request; its budget was already taken.
  auto send = [&](Slot* slot, int64_t now) {
    Connection& c = *slot->connection;
    const int64_t key = static_cast<int64_t>(slot->rng.uniform(static_cast<uint64_t>(o.keys)));
    const bool is_read = reads_only || (mixed && slot->rng.chance(o.read_ratio));
    cql::QueryOptions q;
    if (clustered) {
      q.values.push_back(be64(key / o.rows_per_partition));
      q.values.push_back(be32(static_cast<int32_t>(key % o.rows_per_partition)));
    } else {
      q.values.push_back(be64(key));
    }
    if (!is_read) q.values.push_back(value);
    q.skip_metadata = is_read;
    slot->sent_at = now;
    auto on_done = [&, slot, is_read](Result<cql::Response> r) {
      Connection& c = *slot->connection;
      c.latency_micros.record(clock.monotonic_micros() - slot->sent_at);
      ++c.completed;
      if (!r.is_ok()) {  // the connection is gone: this slot stops
        ++c.errors;
        std::lock_guard lock(done_mutex);
        if (--active_slots == 0) done_cv.notify_all();
        return;
      }
      if (r->is_error) {
        if (c.errors++ == 0) {
          std::lock_guard lock(done_mutex);
          if (first_error.empty()) first_error = r->error.message;
        }
      } else if (is_read) {
        ++c.reads;
        if (!r->result.rows.empty()) ++c.reads_found;
      }
      issue(slot);
    };
    c.client->execute_async(is_read ? select_id : insert_id, q, on_done);
  };
  // On the connection's I/O thread, after an answer: the slot's next request, if any is left.
  issue = [&](Slot* slot) {
    Connection& c = *slot->connection;
    const int64_t now = clock.monotonic_micros();
    if (c.budget <= 0 || now >= deadline) {
      std::lock_guard lock(done_mutex);
      if (--active_slots == 0) done_cv.notify_all();
      return;
    }
    --c.budget;
    send(slot, now);
  };
  // The first requests' budget is taken here, before any answer can run on an I/O thread; from
  // then on a connection's figures are touched by its I/O thread only.
  std::vector<Slot*> starting;
  for (auto& slot : slots) {
    Connection& c = *slot->connection;
    if (c.budget > 0) {
      --c.budget;
      starting.push_back(slot.get());
    } else {
      --active_slots;
    }
  }
  for (Slot* slot : starting) send(slot, clock.monotonic_micros());
  {
    std::unique_lock lock(done_mutex);
    done_cv.wait(lock, [&] { return active_slots == 0; });
  }
  Histogram latency_micros;
  int64_t ops = 0, errors = 0, reads = 0, reads_found = 0;
  for (const auto& c : connections) {
    latency_micros.merge_from(c.latency_micros);
    ops += c.completed;
    errors += c.errors;
    reads += c.reads;
    reads_found += c.reads_found;
  }
  const double seconds = static_cast<double>(clock.monotonic_micros() - start) / 1e6;
  auto ms = [&](double q) { return static_cast<double>(latency_micros.percentile(q)) / 1000.0; };
  std::printf("workload %s: %d connections, %d in flight, %d-byte values, %lld keys",
              o.workload.c_str(), o.connections, o.in_flight, o.value_bytes,
              static_cast<long long>(o.keys));
  if (clustered) {
    std::printf(" (%lld rows per partition)", static_cast<long long>(o.rows_per_partition));
  }
  std::printf("\n");
  std::printf("op rate      : %.0f op/s\n", static_cast<double>(ops) / seconds);
  std::printf("operations   : %lld in %.2f s, %lld errors\n", static_cast<long long>(ops), seconds,
              static_cast<long long>(errors));
  if (!first_error.empty()) std::printf("first error  : %s\n", first_error.c_str());
  if (reads > 0) {
    std::printf("reads found  : %lld of %lld\n", static_cast<long long>(reads_found),
                static_cast<long long>(reads));
  }
  std::printf(
      "latency p50  : %.3f ms\nlatency p95  : %.3f ms\nlatency p99  : %.3f ms\nlatency p99.9: %.3f "
      "ms\n",
      ms(0.50), ms(0.95), ms(0.99), ms(0.999));
  std::printf("latency max  : %.3f ms\n", static_cast<double>(latency_micros.max()) / 1000.0);
  std::printf("RESULT workload=%s ops_per_second=%.0f errors=%lld p50_ms=%.3f p99_ms=%.3f\n",
              o.workload.c_str(), static_cast<double>(ops) / seconds,
              static_cast<long long>(errors), ms(0.5), ms(0.99));
  return errors == 0 ? 0 : 3;
}

}  // namespace ringdb::tools
