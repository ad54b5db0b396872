#include "storage/wal_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "common/thread_name.h"

namespace ringdb::storage {
namespace {

using rocksdb::FileOptions;
using rocksdb::FSWritableFile;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

constexpr uint64_t kPage = 4096;

IOStatus io_error(const std::string& what, const std::string& path, int error) {
  return IOStatus::IOError(what + " " + path + ": " + std::strerror(error));
}

// Writes all of [data, data + n) at `offset`, through short writes and EINTR.
int pwrite_all(int fd, const char* data, size_t n, uint64_t offset) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return 0;
}

class ZeroAheadWalFile final : public FSWritableFile {
 public:
  ZeroAheadWalFile(int fd, std::string path, uint64_t ahead_bytes, const FileOptions& options)
      : FSWritableFile(options),
        fd_(fd),
        path_(std::move(path)),
        ahead_(ahead_bytes),
        step_(std::max<uint64_t>(kPage, ahead_bytes / 2 / kPage * kPage)),
        helper_([this] { helper_main(); }) {}

  ~ZeroAheadWalFile() override {
    if (fd_ >= 0) (void)close_file();
  }

  IOStatus Append(const Slice& data, const IOOptions&, IODebugContext*) override {
    if (fd_ < 0) return IOStatus::IOError("append to closed file " + path_);
    std::unique_lock lock(mutex_);
    const uint64_t end = size_ + data.size();
    // The helper's step lies past the write position as it was when the step began; a write
    // that reaches into it waits, or the helper's zeros would land on top of it.
    cv_.wait(lock, [&] { return !filling_ || end <= fill_begin_; });
    if (const int e = pwrite_all(fd_, data.data(), data.size(), size_); e != 0) {
      return io_error("write", path_, e);
    }
    size_ = end;
    if (!filling_ && size_ + ahead_ > zeroed_end_) cv_.notify_all();
    return IOStatus::OK();
  }

  IOStatus Append(const Slice& data, const IOOptions& options,
                  const rocksdb::DataVerificationInfo&, IODebugContext* dbg) override {
    return Append(data, options, dbg);
  }

  IOStatus Truncate(uint64_t size, const IOOptions&, IODebugContext*) override {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !filling_; });
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return io_error("truncate", path_, errno);
    size_ = size;
    zeroed_end_ = std::min(zeroed_end_, size);
    return IOStatus::OK();
  }

  IOStatus Close(const IOOptions&, IODebugContext*) override { return close_file(); }
  IOStatus Flush(const IOOptions&, IODebugContext*) override { return IOStatus::OK(); }

  IOStatus Sync(const IOOptions&, IODebugContext*) override {
    if (::fdatasync(fd_) != 0) return io_error("fdatasync", path_, errno);
    return IOStatus::OK();
  }

  IOStatus Fsync(const IOOptions&, IODebugContext*) override {
    if (::fsync(fd_) != 0) return io_error("fsync", path_, errno);
    return IOStatus::OK();
  }

  bool IsSyncThreadSafe() const override { return true; }

  uint64_t GetFileSize(const IOOptions&, IODebugContext*) override {
    std::lock_guard lock(mutex_);
    return size_;
  }

 private:
  // Stops the helper, trims the zeros past what was written and closes the descriptor.
  IOStatus close_file() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (helper_.joinable()) helper_.join();
    IOStatus s;
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) s = io_error("truncate", path_, errno);
    if (::close(fd_) != 0 && s.ok()) s = io_error("close", path_, errno);
    fd_ = -1;
    return s;
  }

  void helper_main() {
    set_thread_name("wal-prealloc");
    // Through the page cache on purpose: the zeros stay cached, clean once synced, so the
    // writer's partial-page writes need not read the page from the disk first. With O_DIRECT
    // zeros (and a readahead after them) durable writes were slower than without zeros at all.
    static const std::string zeros(1 << 20, '\0');
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || size_ + ahead_ > zeroed_end_; });
      if (stopping_) return;
      // Start at the page after everything written so far: the writer only moves forward.
      const uint64_t begin = std::max(zeroed_end_, (size_ + kPage - 1) / kPage * kPage);
      const uint64_t end = begin + step_;
      filling_ = true;
      fill_begin_ = begin;
      lock.unlock();
      int error = 0;
      for (uint64_t at = begin; at < end && error == 0; at += zeros.size()) {
        error = pwrite_all(fd_, zeros.data(), std::min<uint64_t>(zeros.size(), end - at), at);
      }
      // Makes the new size and blocks durable, so the writer's fdatasyncs need not.
      if (error == 0 && ::fdatasync(fd_) != 0) error = errno;
      lock.lock();
      filling_ = false;
      // On an error the writer simply keeps appending (the slow path); the helper stops.
      if (error == 0) zeroed_end_ = end;
      cv_.notify_all();
      if (error != 0) return;
    }
  }

  int fd_;
  const std::string path_;
  const uint64_t ahead_;
  const uint64_t step_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  uint64_t size_ = 0;        // bytes written by the WAL writer
  uint64_t zeroed_end_ = 0;  // [size_, zeroed_end_) holds synced zeros
  bool filling_ = false;     // the helper is writing zeros from fill_begin_
  uint64_t fill_begin_ = 0;
  bool stopping_ = false;
  std::thread helper_;  // last: starts once the fields above are set
};

class ZeroAheadWalFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  ZeroAheadWalFileSystem(std::shared_ptr<rocksdb::FileSystem> base, uint64_t ahead_bytes)
      : FileSystemWrapper(std::move(base)), ahead_(ahead_bytes) {}

  const char* Name() const override { return "ZeroAheadWalFileSystem"; }

  IOStatus NewWritableFile(const std::string& path, const FileOptions& options,
                           std::unique_ptr<FSWritableFile>* result,
                           IODebugContext* dbg) override {
    if (!is_wal_file_name(path) || options.use_direct_writes || options.use_mmap_writes) {
      return target()->NewWritableFile(path, options, result, dbg);
    }
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return io_error("open", path, errno);
    *result = std::make_unique<ZeroAheadWalFile>(fd, path, ahead_, options);
    return IOStatus::OK();
  }

 private:
  const uint64_t ahead_;
};

}  // namespace

bool is_wal_file_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  constexpr std::string_view kSuffix = ".log";
  if (name.size() <= kSuffix.size() || !name.ends_with(kSuffix)) return false;
  for (size_t i = 0; i < name.size() - kSuffix.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  return true;
}

std::shared_ptr<rocksdb::FileSystem> new_zero_ahead_wal_file_system(
    std::shared_ptr<rocksdb::FileSystem> base, uint64_t ahead_bytes) {
  return std::make_shared<ZeroAheadWalFileSystem>(std::move(base), ahead_bytes);
}

}  // namespace ringdb::storage
