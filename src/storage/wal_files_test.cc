#include "storage/wal_files.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "storage/test_util.h"

namespace ringdb::storage {
namespace {

using testing::TempDir;

TEST(WalFiles, RecognisesRocksDbLogFileNamesOnly) {
  EXPECT_TRUE(is_wal_file_name("/data/db/000012.log"));
  EXPECT_TRUE(is_wal_file_name("000004.log"));
  EXPECT_FALSE(is_wal_file_name("/data/db/LOG"));
  EXPECT_FALSE(is_wal_file_name("/data/db/LOG.old.1700000000"));
  EXPECT_FALSE(is_wal_file_name("/data/db/000012.sst"));
  EXPECT_FALSE(is_wal_file_name("/data/db/.log"));
  EXPECT_FALSE(is_wal_file_name("/data/db/MANIFEST-000005"));
  EXPECT_FALSE(is_wal_file_name("/data/db/x1.log"));
}

struct Db {
  std::unique_ptr<rocksdb::Env> env;
  std::unique_ptr<rocksdb::DB> db;
};

// `ahead_bytes` 0 opens with RocksDB's own file system.
Db open_db(const std::string& dir, uint64_t ahead_bytes) {
  Db d;
  rocksdb::Options o;
  o.create_if_missing = true;
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  if (ahead_bytes > 0) {
    d.env = rocksdb::NewCompositeEnv(
        new_zero_ahead_wal_file_system(rocksdb::FileSystem::Default(), ahead_bytes));
    o.env = d.env.get();
  }
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, dir, &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  d.db.reset(db);
  return d;
}

std::string key_of(int i) { return "key" + std::to_string(100000 + i); }
std::string value_of(int i) { return std::string(500, static_cast<char>('a' + i % 26)); }

std::string only_wal_file(const std::string& dir) {
  std::string found;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (is_wal_file_name(entry.path().string())) {
      EXPECT_TRUE(found.empty()) << "more than one WAL file in " << dir;
      found = entry.path().string();
    }
  }
  EXPECT_FALSE(found.empty()) << "no WAL file in " << dir;
  return found;
}

std::string contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void expect_all_keys(rocksdb::DB* db, int count) {
  for (int i = 0; i < count; ++i) {
    std::string value;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), key_of(i), &value);
    ASSERT_TRUE(s.ok()) << key_of(i) << ": " << s.ToString();
    ASSERT_EQ(value, value_of(i)) << key_of(i);
  }
}

// About 2.2 MB of writes through 64 KB of zeros kept ahead: the helper refills 32 KB at a time
// while the writer chases it and, in bursts, overtakes it. A copy of the directory taken while
// the database is open is what a crash leaves: the zero tail in place, nothing trimmed. Stock
// RocksDB recovers every write from it.
TEST(WalFiles, SyncedWritesSurviveACrashWithTheZeroTailInPlace) {
  TempDir dir;
  const std::string live = dir.path() + "/live";
  const std::string crashed = dir.path() + "/crashed";
  constexpr int kWrites = 4000;
  {
    Db d = open_db(live, 64 << 10);
    for (int i = 0; i < kWrites; ++i) {
      // A thousand synced writes chase the helper; then bursts of unsynced ones outrun it (the
      // writer appends past the zeros and the helper must start after what it wrote).
      rocksdb::WriteOptions wo;
      wo.sync = i < 1000 || i % 500 == 499 || i == kWrites - 1;
      ASSERT_TRUE(d.db->Put(wo, key_of(i), value_of(i)).ok());
    }
    std::filesystem::copy(live, crashed, std::filesystem::copy_options::recursive);
  }
  const std::string tail = contents(only_wal_file(crashed));
  ASSERT_GT(tail.size(), size_t{kWrites} * 500);
  EXPECT_LT(tail.find_last_not_of('\0'), tail.size() - 4096) << "no zero tail in the copy";

  Db recovered = open_db(crashed, 0);
  expect_all_keys(recovered.db.get(), kWrites);
}

// A clean close trims the zeros: the WAL ends with the last record, and reopens whole.
TEST(WalFiles, CloseTrimsTheZerosAndTheLogReopens) {
  TempDir dir;
  constexpr int kWrites = 300;
  {
    Db d = open_db(dir.path(), 1 << 20);
    for (int i = 0; i < kWrites; ++i) {
      ASSERT_TRUE(d.db->Put(rocksdb::WriteOptions(), key_of(i), value_of(i)).ok());
    }
    ASSERT_TRUE(d.db->Close().ok());
  }
  const std::string wal = contents(only_wal_file(dir.path()));
  ASSERT_FALSE(wal.empty());
  EXPECT_NE(wal.back(), '\0');
  EXPECT_LT(wal.size(), size_t{1} << 20);

  Db reopened = open_db(dir.path(), 1 << 20);
  expect_all_keys(reopened.db.get(), kWrites);
}

}  // namespace
}  // namespace ringdb::storage
