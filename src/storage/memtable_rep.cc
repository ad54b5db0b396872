#include "storage/memtable_rep.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <string_view>
#include <thread>
#include <vector>

#include "common/check.h"
#include "common/thread_name.h"
#include "rocksdb/slice.h"

namespace ringdb::storage {
namespace {

// How long a thread that wants a drain lock tries for it before it sleeps (none on one CPU, where
// the holder cannot run while this thread spins). `ringdb stress mixed --rows-per-partition 10`,
// where event loops drain before most reads: 93k-101k op/s against 79k-80k when sleeping at once
// (alternating runs), and a quarter fewer context switches.
const int64_t kSpinMicros = std::thread::hardware_concurrency() > 1 ? 300 : 0;

// Decodes a varint32 of at most 5 bytes; nullptr when it is longer.
const char* decode_varint32(const char* p, uint32_t* value) {
  uint32_t result = 0;
  for (int shift = 0; shift <= 28; shift += 7) {
    const auto byte = static_cast<uint8_t>(*p++);
    result |= static_cast<uint32_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return p;
    }
  }
  return nullptr;
}

uint64_t decode_fixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);  // little-endian, as RocksDB writes it on x86-64 and arm64
  return v;
}

// RocksDB's value type of a Put, the low byte of an internal key's tag (db/dbformat.h).
constexpr uint64_t kTypeValue = 0x1;

// An entry's internal key: the user key, then 8 bytes of (sequence << 8 | value type).
struct InternalKey {
  std::string_view user_key;
  uint64_t tag = 0;
};

InternalKey internal_key_of(const char* entry) {
  uint32_t len = 0;
  const char* p = decode_varint32(entry, &len);
  return {std::string_view(p, len - 8), decode_fixed64(p + len - 8)};
}

// Bytes of an entry: varint32 internal key length, internal key, varint32 value length, value.
size_t entry_length(const char* entry) {
  uint32_t key_len = 0, value_len = 0;
  const char* p = decode_varint32(entry, &key_len) + key_len;
  p = decode_varint32(p, &value_len) + value_len;
  return static_cast<size_t>(p - entry);
}

// Takes `m`. Drains of a few entries hold their locks for microseconds, and an event loop that
// sleeps on one pays a wake-up (and often a context switch on both cores): it tries for up to
// kSpinMicros first.
void lock_spinning(std::mutex& m) {
  if (m.try_lock()) return;
  if (kSpinMicros > 0) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
    do {
      for (int i = 0; i < 64; ++i) {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
        if (m.try_lock()) return;
      }
    } while (std::chrono::steady_clock::now() < until);
  }
  m.lock();
}

constexpr size_t round_up8(size_t n) {
  return (n + 7) & ~size_t{7};
}

uint64_t hash_of(std::string_view user_key) {
  return std::hash<std::string_view>{}(user_key);
}

// rocksdb::LookupKey as dbformat.h lays it out: the length-prefixed internal key to seek to is
// [start, end), the internal key [kstart, end). The class is not part of RocksDB's public headers,
// so lookup_key_of() checks the shape before it trusts it and Get falls back to the skiplist.
struct LookupKeyLayout {
  const char* start;
  const char* kstart;
  const char* end;
};

// The length-prefixed internal key of `k`, or nullptr when its layout is not the expected one.
const char* memtable_key_of(const void* k) {
  const auto* layout = static_cast<const LookupKeyLayout*>(k);
  const ptrdiff_t prefix = layout->kstart - layout->start;
  const ptrdiff_t key_len = layout->end - layout->kstart;
  if (layout->start == nullptr || prefix < 1 || prefix > 5 || key_len < 8) return nullptr;
  uint32_t len = 0;
  const char* p = decode_varint32(layout->start, &len);
  if (p != layout->kstart || len != static_cast<uint64_t>(key_len)) return nullptr;
  return layout->start;
}

}  // namespace

// Kept after each entry, 8-byte aligned.
struct Trailer {
  std::atomic<Trailer*> chain_next;  // the bucket's next (older) entry
  Trailer* pending_next;             // the next entry waiting for the skiplist
  uint32_t hash;                     // low bits of the user key's hash
  uint32_t entry_offset;             // bytes back to the entry

  const char* entry() const { return reinterpret_cast<const char*>(this) - entry_offset; }
};
static_assert(sizeof(Trailer) == 24);

class IndexedMemTableRep final : public rocksdb::MemTableRep {
 public:
  IndexedMemTableRep(IndexedMemTableFactory& factory, uint64_t id, rocksdb::MemTableRep* skiplist,
                     const KeyComparator& cmp, rocksdb::Allocator* allocator)
      : MemTableRep(allocator),
        factory_(factory),
        id_(id),
        skiplist_(skiplist),
        cmp_(cmp),
        mask_(factory.buckets_ - 1),
        buckets_(static_cast<std::atomic<Trailer*>*>(
            std::calloc(factory.buckets_, sizeof(std::atomic<Trailer*>)))) {
    RINGDB_CHECK(buckets_ != nullptr);
  }

  ~IndexedMemTableRep() override {
    // Out of the registry, nobody starts a drain of this memtable; one under way holds
    // drain_mutex_, taken while this memtable was registered.
    factory_.unregister(id_);
    { std::lock_guard lock(drain_mutex_); }
    factory_.pending_.fetch_sub(pending_count_.load(), std::memory_order_relaxed);
    std::free(buckets_);
  }

  rocksdb::KeyHandle Allocate(const size_t len, char** buf) override {
    rocksdb::KeyHandle handle = skiplist_->Allocate(round_up8(len) + sizeof(Trailer), buf);
    // The trailer is found from the handle, 8-byte aligned after the entry.
    RINGDB_CHECK(handle == *buf && reinterpret_cast<uintptr_t>(*buf) % 8 == 0);
    return handle;
  }

  void Insert(rocksdb::KeyHandle handle) override { add(handle); }
  bool InsertKey(rocksdb::KeyHandle handle) override { return add(handle); }
  void InsertWithHint(rocksdb::KeyHandle handle, void**) override { add(handle); }
  bool InsertKeyWithHint(rocksdb::KeyHandle handle, void**) override { return add(handle); }
  void InsertWithHintConcurrently(rocksdb::KeyHandle handle, void**) override { add(handle); }
  bool InsertKeyWithHintConcurrently(rocksdb::KeyHandle handle, void**) override {
    return add(handle);
  }
  void InsertConcurrently(rocksdb::KeyHandle handle) override { add(handle); }
  bool InsertKeyConcurrently(rocksdb::KeyHandle handle) override { return add(handle); }

  bool Contains(const char* key) const override {
    const InternalKey target = internal_key_of(key);
    const uint64_t hash = hash_of(target.user_key);
    for (const Trailer* t = buckets_[hash & mask_].load(std::memory_order_acquire); t != nullptr;
         t = t->chain_next.load(std::memory_order_acquire)) {
      if (t->hash != static_cast<uint32_t>(hash)) continue;
      const InternalKey k = internal_key_of(t->entry());
      if (k.tag == target.tag && k.user_key == target.user_key) return true;
    }
    return false;
  }

  void MarkReadOnly() override { skiplist_->MarkReadOnly(); }
  void MarkFlushed() override { skiplist_->MarkFlushed(); }

  // The entries of the lookup's user key at or below its sequence, newest first: what the
  // skiplist's Seek to the lookup key and Next would pass to `callback` before another key.
  void Get(const rocksdb::LookupKey& k, void* callback_args,
           bool (*callback)(void* arg, const char* entry)) override {
    const char* lookup = memtable_key_of(&k);
    if (lookup == nullptr) {
      factory_.counters_.fallback_gets.fetch_add(1, std::memory_order_relaxed);
      drain();
      skiplist_->Get(k, callback_args, callback);
      return;
    }
    factory_.counters_.indexed_gets.fetch_add(1, std::memory_order_relaxed);
    const InternalKey target = internal_key_of(lookup);
    const uint64_t hash = hash_of(target.user_key);
    struct Found {
      uint64_t tag;
      const char* entry;
    };
    Found inline_found[8];
    std::vector<Found> more;
    size_t n = 0;
    for (const Trailer* t = buckets_[hash & mask_].load(std::memory_order_acquire); t != nullptr;
         t = t->chain_next.load(std::memory_order_acquire)) {
      if (t->hash != static_cast<uint32_t>(hash)) continue;
      const InternalKey key = internal_key_of(t->entry());
      if (key.tag > target.tag || key.user_key != target.user_key) continue;
      if (n < std::size(inline_found)) {
        inline_found[n++] = {key.tag, t->entry()};
      } else {
        if (more.empty()) more.assign(inline_found, inline_found + n);
        more.push_back({key.tag, t->entry()});
      }
      // A plain value ends the walk: the engine writes one (collapsing a row, see
      // row_operand_counts.h) only while no other write of the key is under way, so every entry
      // of the key further down the chain (inserted before it) is older, and the lookup stops
      // at the plain value anyway. Without this a row written thousands of times since the
      // last flush cost a walk over every one of its versions per read.
      if ((key.tag & 0xff) == kTypeValue) break;
    }
    Found* begin = more.empty() ? inline_found : more.data();
    Found* end = more.empty() ? inline_found + n : more.data() + more.size();
    std::sort(begin, end, [](const Found& a, const Found& b) { return a.tag > b.tag; });
    for (Found* f = begin; f != end; ++f) {
      if (!callback(callback_args, f->entry)) return;
    }
  }

  uint64_t ApproximateNumEntries(const rocksdb::Slice& start_ikey,
                                 const rocksdb::Slice& end_ikey) override {
    return skiplist_->ApproximateNumEntries(start_ikey, end_ikey);
  }

  size_t ApproximateMemoryUsage() override {
    return skiplist_->ApproximateMemoryUsage() + (mask_ + 1) * sizeof(std::atomic<Trailer*>);
  }

  Iterator* GetIterator(rocksdb::Arena* arena) override {
    drain();
    return skiplist_->GetIterator(arena);
  }
  Iterator* GetDynamicPrefixIterator(rocksdb::Arena* arena) override {
    drain();
    return skiplist_->GetDynamicPrefixIterator(arena);
  }

  // Inserts every entry pending when it starts. Returns once they are all in the skiplist,
  // also when another thread was inserting them.
  void drain() {
    if (pending_count_.load(std::memory_order_acquire) == 0) return;
    lock_spinning(drain_mutex_);
    std::lock_guard lock(drain_mutex_, std::adopt_lock);
    drain_locked();
  }

  size_t pending_count() const { return pending_count_.load(std::memory_order_acquire); }

 private:
  friend class IndexedMemTableFactory;

  bool add(rocksdb::KeyHandle handle) {
    char* entry = static_cast<char*>(handle);
    const size_t offset = round_up8(entry_length(entry));
    auto* t = reinterpret_cast<Trailer*>(entry + offset);
    const uint64_t hash = hash_of(internal_key_of(entry).user_key);
    t->hash = static_cast<uint32_t>(hash);
    t->entry_offset = static_cast<uint32_t>(offset);
    if (!splice_ready_.load(std::memory_order_acquire) && insert_first(t)) return true;
    // Counted before it can be drained, so a count of zero means nothing added is missing from
    // the skiplist.
    factory_.pending_.fetch_add(1, std::memory_order_relaxed);
    const size_t pending = pending_count_.fetch_add(1, std::memory_order_relaxed) + 1;
    Trailer* head = pending_.load(std::memory_order_relaxed);
    do {
      t->pending_next = head;
    } while (!pending_.compare_exchange_weak(head, t, std::memory_order_release,
                                             std::memory_order_relaxed));
    link(t);
    if (pending == factory_.drain_batch_) factory_.wake_helper();
    return true;
  }

  // The skiplist allocates its splice hint from the memtable's arena on first use. That must
  // happen while the memtable still takes writes: RocksDB accounts an immutable memtable's
  // memory once. So the first entry goes to the skiplist at once, and brings the hint.
  bool insert_first(Trailer* t) {
    std::lock_guard lock(drain_mutex_);
    if (splice_ready_.load(std::memory_order_relaxed)) return false;
    link(t);
    skiplist_->InsertKeyWithHint(const_cast<char*>(t->entry()), &hint_);
    splice_ready_.store(true, std::memory_order_release);
    return true;
  }

  // Links `t` into its hash bucket.
  void link(Trailer* t) {
    std::atomic<Trailer*>& bucket = buckets_[t->hash & mask_];
    Trailer* next = bucket.load(std::memory_order_relaxed);
    do {
      t->chain_next.store(next, std::memory_order_relaxed);
    } while (!bucket.compare_exchange_weak(next, t, std::memory_order_release,
                                           std::memory_order_relaxed));
  }

  void drain_locked() {
    Trailer* t = pending_.exchange(nullptr, std::memory_order_acquire);
    batch_.clear();
    for (; t != nullptr; t = t->pending_next) batch_.push_back(t->entry());
    if (batch_.empty()) return;
    std::sort(batch_.begin(), batch_.end(),
              [this](const char* a, const char* b) { return cmp_(a, b) < 0; });
    for (const char* entry : batch_) {
      // Single writer (drain_mutex_): the skiplist's plain insert, safe beside its readers.
      skiplist_->InsertKeyWithHint(const_cast<char*>(entry), &hint_);
    }
    factory_.counters_.drains.fetch_add(1, std::memory_order_relaxed);
    factory_.counters_.drained_entries.fetch_add(batch_.size(), std::memory_order_relaxed);
    factory_.pending_.fetch_sub(batch_.size(), std::memory_order_release);
    pending_count_.fetch_sub(batch_.size(), std::memory_order_release);
  }

  IndexedMemTableFactory& factory_;
  const uint64_t id_;
  const std::unique_ptr<rocksdb::MemTableRep> skiplist_;
  const KeyComparator& cmp_;
  const size_t mask_;
  std::atomic<Trailer*>* const buckets_;
  std::atomic<Trailer*> pending_{nullptr};
  // Entries added and not yet in the skiplist; drops only once they are.
  std::atomic<size_t> pending_count_{0};
  std::mutex drain_mutex_;
  std::vector<const char*> batch_;  // guarded by drain_mutex_
  void* hint_ = nullptr;            // the skiplist's splice, guarded by drain_mutex_
  std::atomic<bool> splice_ready_{false};
};

namespace {
size_t bucket_count(size_t write_buffer_bytes) {
  size_t n = 1024;
  while (n < write_buffer_bytes / 128) n <<= 1;
  return n;
}
}  // namespace

IndexedMemTableFactory::IndexedMemTableFactory(size_t write_buffer_bytes, size_t drain_batch)
    : buckets_(bucket_count(write_buffer_bytes)),
      drain_batch_(std::max<size_t>(drain_batch, 1)),
      skiplists_(std::make_unique<rocksdb::SkipListFactory>()),
      helper_([this] { helper_loop(); }) {}

IndexedMemTableFactory::~IndexedMemTableFactory() {
  {
    std::lock_guard lock(helper_mutex_);
    stopping_ = true;
  }
  helper_wake_.notify_one();
  helper_.join();
}

rocksdb::MemTableRep* IndexedMemTableFactory::CreateMemTableRep(
    const rocksdb::MemTableRep::KeyComparator& cmp, rocksdb::Allocator* allocator,
    const rocksdb::SliceTransform* transform, rocksdb::Logger* logger) {
  rocksdb::MemTableRep* skiplist = skiplists_->CreateMemTableRep(cmp, allocator, transform, logger);
  std::lock_guard lock(registry_mutex_);
  const uint64_t id = ++next_id_;
  auto* rep = new IndexedMemTableRep(*this, id, skiplist, cmp, allocator);
  reps_.emplace(id, rep);
  return rep;
}

void IndexedMemTableFactory::unregister(uint64_t id) {
  std::lock_guard lock(registry_mutex_);
  reps_.erase(id);
}

bool IndexedMemTableFactory::drain_each(size_t min_pending) {
  bool drained = false;
  uint64_t after = 0;
  for (;;) {
    lock_spinning(registry_mutex_);
    std::unique_lock registry(registry_mutex_, std::adopt_lock);
    auto it = reps_.upper_bound(after);
    while (it != reps_.end() && it->second->pending_count() < min_pending) ++it;
    if (it == reps_.end()) return drained;
    after = it->first;
    IndexedMemTableRep* rep = it->second;
    // Locked before the registry is let go: the memtable cannot be freed under the drain.
    lock_spinning(rep->drain_mutex_);
    std::unique_lock lock(rep->drain_mutex_, std::adopt_lock);
    registry.unlock();
    rep->drain_locked();
    drained = true;
  }
}

void IndexedMemTableFactory::drain() {
  if (pending_.load(std::memory_order_acquire) == 0) return;
  drain_each(1);
}

void IndexedMemTableFactory::wake_helper() {
  {
    std::lock_guard lock(helper_mutex_);
    helper_woken_ = true;
  }
  helper_wake_.notify_one();
}

void IndexedMemTableFactory::helper_loop() {
  set_thread_name("memtable-sort");
  std::unique_lock lock(helper_mutex_);
  for (;;) {
    helper_wake_.wait(lock, [this] { return helper_woken_ || stopping_; });
    if (stopping_) return;
    helper_woken_ = false;
    lock.unlock();
    // Batches that filled up while the previous one was inserted are taken in the same turn.
    while (drain_each(drain_batch_)) {
    }
    lock.lock();
  }
}

}  // namespace ringdb::storage
