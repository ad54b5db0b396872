// Kills a durable writer with SIGKILL at random points, 20 times, and checks after each restart
// that every write it acknowledged is there (the commit log's durability promise).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "runtime/rng.h"
#include "storage/test_util.h"

#ifndef RINGDB_CRASH_WRITER
#error "RINGDB_CRASH_WRITER must name the helper binary"
#endif

namespace ringdb::storage {
namespace {

struct Child {
  pid_t pid;
  int out;
};

Child spawn_writer(const std::string& dir, int64_t first_id) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    const std::string first = std::to_string(first_id);
    execl(RINGDB_CRASH_WRITER, "crash_writer", dir.c_str(), "8", first.c_str(), nullptr);
    _exit(127);
  }
  close(fds[1]);
  return {pid, fds[0]};
}

std::vector<int64_t> drain(int fd) {
  std::vector<int64_t> ids;
  std::string buffer;
  char chunk[4096];
  ssize_t n;
  while ((n = read(fd, chunk, sizeof chunk)) > 0) buffer.append(chunk, static_cast<size_t>(n));
  for (size_t i = 0; i + 8 <= buffer.size(); i += 8)
    ids.push_back(testing::as_int64(BytesView(buffer).substr(i, 8)));
  return ids;
}

TEST(StorageCrash, AcknowledgedWritesSurviveSigkill) {
  testing::TempDir dir;
  SeededRng rng(20261122);
  SystemClock clock;
  size_t total_acknowledged = 0;
  for (int round = 0; round < 20; ++round) {
    Child child = spawn_writer(dir.path(), int64_t{round} * 100'000'000);
    // A random point: between 20 and 300 ms after start (opening the database included).
    std::this_thread::sleep_for(std::chrono::milliseconds(rng.uniform_range(20, 300)));
    ASSERT_EQ(kill(child.pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child.pid, &status, 0), child.pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "writer exited on its own: " << status;
    const std::vector<int64_t> acknowledged = drain(child.out);
    close(child.out);
    total_acknowledged += acknowledged.size();

    MetricsRegistry metrics;
    EngineOptions options;
    options.data_directory = dir.path();
    auto engine = Engine::open(options, clock, metrics);
    ASSERT_TRUE(engine.is_ok()) << "round " << round << ": " << engine.status().to_string();
    TableDescriptor table;
    table.id = 1;
    table.columns = {{2, ValueType::of(ValueKind::kBigint), false, false}};
    ASSERT_TRUE((*engine)->register_table(table).is_ok());
    size_t missing = 0;
    for (int64_t id : acknowledged) {
      ReadCommand read;
      read.table = 1;
      read.partition_key = testing::int64_value(id);
      auto p = (*engine)->read(read);
      ASSERT_TRUE(p.is_ok());
      if (p->rows.empty() || p->rows[0].cells.empty() ||
          testing::as_int64(p->rows[0].cells[0].value) != id)
        ++missing;
    }
    EXPECT_EQ(missing, 0u) << "round " << round << " lost acknowledged writes";
    std::printf("round %d: %zu acknowledged writes, all present after restart\n", round,
                acknowledged.size());
  }
  EXPECT_GT(total_acknowledged, 0u);
}

}  // namespace
}  // namespace ringdb::storage
