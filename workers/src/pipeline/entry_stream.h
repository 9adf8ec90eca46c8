// Internal: the messages a source reader (producer thread) hands the sandbox writer
// (consumer thread), and the bounded queue between them. The queue is bounded in bytes and
// messages so memory stays flat whatever the archive size; buffers are recycled.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sources/mapped_source.h"
#include "rp/path_text.h"
#include "rp/report.h"
#include "rp/sample.h"

namespace rp::detail {

enum class EntryType { kFile, kDirectory, kSymlink, kHardlink, kOther };

struct EntryHeader {
  std::string path;         // raw member name as the source spells it
  EntryType type = EntryType::kFile;
  std::string other_kind;   // for kOther: "character device", "FIFO", ...
  std::string link_target;  // symlink target or hardlink target (raw)
  uint32_t mode = 0644;
  int64_t mtime_sec = 0;
  long mtime_nsec = 0;
  std::optional<uint64_t> size;  // declared size of the content
  bool encrypted = false;
  bool sparse = false;           // content has holes: bytes not delivered are zeros
  bool name_unreadable = false;  // the source gave no usable name
  int64_t offset = -1;  // where in the (uncompressed) source the header starts
  // A sampled run (ReaderContext::sample), regular files only: the slice the normalised path
  // falls in, and whether it is outside the sample (then the reader counts it, MarkSample,
  // and neither reads its content nor hands it to the writer). -1: not sampled.
  int64_t sample_slice = -1;
  bool out_of_sample = false;
};

// Content bytes lent in place by the source (a block of a DecodeAhead's, in which libarchive
// handed out a tar member's content): kept alive by `owner`, never copied.
struct Slice {
  std::shared_ptr<const void> owner;
  const char* p = nullptr;
  size_t n = 0;
};

struct Message {
  std::optional<EntryHeader> header;  // starts a new entry
  // Content bytes of the current entry: a buffer of our own or a slice, never both.
  std::vector<char> data;
  Slice slice;
  uint64_t data_offset = 0;           // offset of the content within the entry (sparse files)
  bool end_of_entry = false;
  std::optional<Finding> finding;  // found by the reader; concerns the current entry if any
  bool entry_damaged = false;      // the current entry's content is known to be bad
  bool end_of_stream = false;

  const char* bytes() const { return slice.owner ? slice.p : data.data(); }
  size_t size() const { return slice.owner ? slice.n : data.size(); }
  // Memory the message holds on to, as the queue counts it.
  size_t footprint() const { return data.capacity() + slice.n; }
};

constexpr size_t kChunkBytes = 256 * 1024;

class MessageQueue {
 public:
  static constexpr size_t kRecycledBytes = kChunkBytes;

  MessageQueue(size_t max_bytes, size_t max_messages)
      : max_bytes_(max_bytes), max_messages_(max_messages) {}

  // Blocks while full. Returns false if the queue was cancelled. Memory is counted by
  // buffer capacity, so small entries with big buffers cannot balloon the resident size.
  // Wake-ups happen only when the other side is really waiting: with tens of thousands of
  // small files, a notify per message costs more than the files' content.
  bool Push(Message&& m) {
    std::unique_lock lock(mu_);
    const size_t sz = m.footprint();
    auto has_room = [&] {
      return cancelled_ || q_.empty() || (bytes_ + sz <= max_bytes_ && q_.size() < max_messages_);
    };
    if (!has_room()) {
      producer_waiting_ = true;
      not_full_.wait(lock, has_room);
      producer_waiting_ = false;
    }
    if (cancelled_) return false;
    bytes_ += sz;
    q_.push_back(std::move(m));
    if (consumer_waiting_) not_empty_.notify_one();
    return true;
  }

  // Blocks while empty, then moves every queued message into *out (which must be empty).
  // Returns false if cancelled and nothing is left.
  bool PopAll(std::deque<Message>* out) {
    std::unique_lock lock(mu_);
    if (!cancelled_ && q_.empty()) {
      consumer_waiting_ = true;
      not_empty_.wait(lock, [&] { return cancelled_ || !q_.empty(); });
      consumer_waiting_ = false;
    }
    if (q_.empty()) return false;
    out->swap(q_);
    bytes_ = 0;
    if (producer_waiting_) not_full_.notify_one();
    return true;
  }

  // Stops both sides. What is still queued is dropped at once: its slices pin the decoder's
  // blocks, and a reader waiting for a block would otherwise wait for ever.
  void Cancel() {
    std::deque<Message> dropped;
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      dropped.swap(q_);
      bytes_ = 0;
      not_full_.notify_all();
      not_empty_.notify_all();
    }
  }
  bool cancelled() const {
    std::lock_guard lock(mu_);
    return cancelled_;
  }

  // Data buffers sized to what the entry needs; full-size chunks are recycled, so streaming a
  // large file does no allocation in steady state.
  std::vector<char> TakeBuffer(size_t capacity) {
    std::lock_guard lock(mu_);
    if (capacity >= kRecycledBytes && !free_.empty()) {
      std::vector<char> b = std::move(free_.back());
      free_.pop_back();
      b.clear();
      return b;
    }
    std::vector<char> b;
    b.reserve(capacity);
    return b;
  }
  void ReturnBuffer(std::vector<char>&& b) {
    if (b.capacity() < kRecycledBytes) return;
    std::lock_guard lock(mu_);
    if (free_.size() < 8) free_.push_back(std::move(b));
  }

 private:
  const size_t max_bytes_;
  const size_t max_messages_;
  mutable std::mutex mu_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<Message> q_;
  std::vector<std::vector<char>> free_;
  size_t bytes_ = 0;
  bool cancelled_ = false;
  bool producer_waiting_ = false;
  bool consumer_waiting_ = false;
};

// What a source reader needs from the run: the queue, limits, and where to note totals.
struct ReaderContext {
  MessageQueue* queue;
  const Limits* limits;
  double deadline_monotonic_s;  // CLOCK_MONOTONIC seconds at which the run must stop
  // Written by the reader thread, read by the consumer after the reader has finished.
  std::string format;
  uint64_t source_bytes = 0;
  std::optional<Status> abort;  // environment/usage failure opening the source
  // Set: the reader stores how many bytes of the source it has read, as it reads them (a
  // watchdog's measure of progress that does not depend on libarchive returning).
  std::atomic<uint64_t>* live_source_bytes = nullptr;
  // Directory sources: a file's further links become hard-link entries. Off for manifest
  // create, which hashes every path on its own and so remembers nothing per inode.
  bool detect_hardlinks = true;
  // Set by the reader for a regular-file source, before anything is pushed: a duplicate of its
  // descriptor (owned by the consumer, which closes it) and the file's size and modification
  // time at open, compared after the writers are done (they touch a mapped source last); and,
  // when the source is mapped, the flag the SIGBUS guard sets when a page of it vanished.
  int source_fd = -1;
  SourceStamp source_stamp{};
  std::shared_ptr<const std::atomic<bool>> source_shrank = nullptr;
  // A sampled run: the reader counts every regular file in the point's figures (MarkSample),
  // and never hands those outside the slice to the writer (passed_over of them). Read by the
  // consumer after the reader has finished.
  const SampleSpec* sample = nullptr;
  SampleFigures figures{};  // NoFigures(*sample), set up by the run
  uint64_t passed_over = 0;
};

// A sampled run: marks a regular file's header with its slice (by the path the writer will
// restore it under) and counts it in the point's figures, by its declared size. A name the
// writer refuses is left unmarked and uncounted: it is refused whole. `normalised`: h->path is
// known to be what NormaliseMemberPath makes of it (a directory walk's paths: names from the
// listing, without '.' and '..', joined by '/'). Reader thread only.
inline void MarkSample(ReaderContext* ctx, EntryHeader* h, bool normalised = false) {
  if (!ctx->sample || h->type != EntryType::kFile || h->name_unreadable) return;
  std::optional<std::string> norm;
  if (!normalised) {
    std::string why;
    norm = NormaliseMemberPath(h->path, &why);
    if (!norm || norm->empty()) return;
  }
  const uint32_t slice = SliceOf(ctx->sample->seed, ctx->sample->slices, norm ? *norm : h->path);
  h->sample_slice = slice;
  h->out_of_sample = slice != ctx->sample->slice;
  CountFile(&ctx->figures, slice, h->size.value_or(0));
}

// Capacity for the next buffer of an entry with `remaining` bytes still to come (unknown: a
// full chunk).
inline size_t BufferFor(std::optional<uint64_t> remaining) {
  if (!remaining || *remaining >= kChunkBytes) return kChunkBytes;
  return *remaining < 512 ? 512 : static_cast<size_t>(*remaining);
}

// Bounds of the queue between a reader and its consumer.
constexpr size_t kQueueBytes = 4 * 1024 * 1024;
constexpr size_t kQueueMessages = 4096;

// Each reader runs on its own thread, pushes messages and always ends with end_of_stream.
void ReadArchive(const std::string& path, ReaderContext* ctx);
void ReadDirectory(const std::string& path, ReaderContext* ctx);
// Starts the right reader for `source` (a directory, else an archive) on *thread. Fails
// (environment) when the source cannot be inspected at all.
Status StartReader(const std::string& source, ReaderContext* ctx, std::thread* thread);

double MonotonicSeconds();

}  // namespace rp::detail
