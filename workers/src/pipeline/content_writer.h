// Internal: the second stage of the sandbox writer. The dispatcher (SandboxWriter) creates
// every file in archive order; this stage writes and hashes the content of those files on its
// own thread, so the kernel work of creating the next files overlaps with writing this one's
// bytes. One producer (the dispatcher) and one consumer (this thread); the queue between them
// is bounded in bytes. Results are read after Finish().
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/entry_stream.h"
#include "rp/hash.h"
#include "rp/report.h"
#include "pipeline/row_sorter.h"

namespace rp::detail {

struct FileStart {
  int fd = -1;  // owned from Begin() on
  uint64_t seq = 0;  // the entry's number: the row recorded for it
  std::string path;
  uint32_t mode = 0644;
  int64_t mtime_sec = 0;
  long mtime_nsec = 0;
  std::optional<uint64_t> size;
  bool sparse = false;
};

class ContentWriter {
 public:
  // Each file's row (size, digest, damage) goes to *rows when the file is closed.
  // Bytes written are also added to *live_bytes (if given) as they are written. A sandbox of
  // capped_bytes (a tmpfs; 0: not capped) that fills up is a limit hit, not an environment error.
  // Without own_thread, each step is done at once on the caller's thread: for a dispatcher
  // that mostly waits for its reader (a sampled run), where the hand-offs would cost more
  // than the overlap gives.
  ContentWriter(HashAlgo algo, MessageQueue* buffers, RowSorter* rows, std::atomic<uint64_t>* live_bytes = nullptr,
                uint64_t capped_bytes = 0, bool own_thread = true);
  ~ContentWriter();
  ContentWriter(const ContentWriter&) = delete;
  ContentWriter& operator=(const ContentWriter&) = delete;

  void Begin(FileStart file);
  // The bytes are in `chunk` or, lent in place, in `slice`.
  void Data(std::vector<char>&& chunk, Slice&& slice, uint64_t offset);
  void MarkDamaged();
  void End();
  // Drains the queue and stops the thread. Afterwards the fields below are final.
  void Finish();
  // Set (from the writer thread) when the run must stop: sandbox full, write error.
  bool failed() const { return failed_.load(std::memory_order_relaxed); }

  std::vector<Finding> findings;
  uint64_t bytes = 0;
  bool limit_hit = false;
  std::optional<Status> abort;

 private:
  struct Op {
    enum class Kind { kBegin, kData, kDamaged, kEnd } kind;
    std::unique_ptr<FileStart> start;
    std::vector<char> data;
    uint64_t offset = 0;
    Slice slice;
  };
  void Enqueue(Op&& op);
  void Run();
  void Apply(Op& op);
  void Write(const char* data, size_t size, uint64_t offset);
  void Close();

  MessageQueue* buffers_;
  RowSorter* rows_;
  std::atomic<uint64_t>* live_bytes_;
  const uint64_t capped_bytes_;
  Hasher hasher_;
  const bool inline_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> q_;
  size_t queued_bytes_ = 0;
  bool finishing_ = false;
  bool producer_waiting_ = false;
  bool consumer_waiting_ = false;
  std::atomic<bool> failed_{false};
  // Writer-thread state: the file being written.
  std::unique_ptr<FileStart> cur_;
  uint64_t pos_ = 0;
  uint64_t written_ = 0;
  bool damaged_ = false;
  std::thread thread_;
};

}  // namespace rp::detail
