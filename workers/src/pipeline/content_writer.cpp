#include "pipeline/content_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "rp/path_text.h"
#include "rp/posix_io.h"

namespace rp::detail {
namespace {

constexpr size_t kMaxQueuedBytes = 4 * 1024 * 1024;
constexpr size_t kMaxQueuedOps = 4096;

}  // namespace

ContentWriter::ContentWriter(HashAlgo algo, MessageQueue* buffers, RowSorter* rows,
                             std::atomic<uint64_t>* live_bytes, uint64_t capped_bytes, bool own_thread)
    : buffers_(buffers), rows_(rows), live_bytes_(live_bytes), capped_bytes_(capped_bytes), hasher_(algo),
      inline_(!own_thread) {
  if (own_thread) thread_ = std::thread([this] { Run(); });
}

ContentWriter::~ContentWriter() { Finish(); }

void ContentWriter::Enqueue(Op&& op) {
  if (inline_) return Apply(op);
  std::unique_lock lock(mu_);
  const size_t sz = op.data.capacity() + op.slice.n;
  auto room = [&] { return q_.empty() || (queued_bytes_ + sz <= kMaxQueuedBytes && q_.size() < kMaxQueuedOps); };
  if (!room()) {
    producer_waiting_ = true;
    cv_.wait(lock, room);
    producer_waiting_ = false;
  }
  queued_bytes_ += sz;
  q_.push_back(std::move(op));
  if (consumer_waiting_) cv_.notify_all();
}

void ContentWriter::Begin(FileStart file) {
  Op op{Op::Kind::kBegin, std::make_unique<FileStart>(std::move(file)), {}, 0, {}};
  Enqueue(std::move(op));
}
void ContentWriter::Data(std::vector<char>&& chunk, Slice&& slice, uint64_t offset) {
  Enqueue(Op{Op::Kind::kData, nullptr, std::move(chunk), offset, std::move(slice)});
}
void ContentWriter::MarkDamaged() { Enqueue(Op{Op::Kind::kDamaged, nullptr, {}, 0, {}}); }
void ContentWriter::End() { Enqueue(Op{Op::Kind::kEnd, nullptr, {}, 0, {}}); }

void ContentWriter::Finish() {
  {
    std::lock_guard lock(mu_);
    finishing_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  Close();
}

void ContentWriter::Run() {
  std::deque<Op> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (q_.empty() && !finishing_) {
        consumer_waiting_ = true;
        cv_.wait(lock, [&] { return finishing_ || !q_.empty(); });
        consumer_waiting_ = false;
      }
      if (q_.empty()) return;  // finishing and drained
      batch.swap(q_);
      queued_bytes_ = 0;
      if (producer_waiting_) cv_.notify_all();
    }
    for (auto& op : batch) Apply(op);
    batch.clear();
  }
}

void ContentWriter::Apply(Op& op) {
  switch (op.kind) {
    case Op::Kind::kBegin:
      Close();
      cur_ = std::move(op.start);
      pos_ = 0;
      written_ = 0;
      damaged_ = false;
      return;
    case Op::Kind::kData:
      if (cur_ && !failed()) {
        if (op.slice.owner) Write(op.slice.p, op.slice.n, op.offset);
        else Write(op.data.data(), op.data.size(), op.offset);
      }
      op.slice = Slice{};  // the source's block goes back as soon as it is written
      buffers_->ReturnBuffer(std::move(op.data));
      return;
    case Op::Kind::kDamaged:
      damaged_ = true;
      return;
    case Op::Kind::kEnd:
      Close();
      return;
  }
}

void ContentWriter::Write(const char* data, size_t size, uint64_t offset) {
  if (offset > pos_) {  // a hole: zeros in the content
    hasher_.UpdateZeros(offset - pos_);
    if (lseek(cur_->fd, static_cast<off_t>(offset), SEEK_SET) < 0) damaged_ = true;
    pos_ = offset;
  }
  if (size == 0) return;
  int err = 0;
  if (!WriteAll(cur_->fd, data, size, &err)) {
    damaged_ = true;
    findings.push_back(Finding{FindingKind::kIoError, cur_->path, std::string("write to sandbox failed: ") + std::strerror(err), -1});
    if ((err == ENOSPC || err == EDQUOT) && capped_bytes_ > 0) {
      limit_hit = true;
      findings.push_back(Finding{FindingKind::kLimitExceeded, cur_->path,
                                 "limit exceeded: the tmpfs sandbox's size cap of " + std::to_string(capped_bytes_) +
                                     " bytes is full",
                                 -1, LimitKind::kSandboxSize});
    } else if (err == ENOSPC || err == EDQUOT) {
      abort = Status::Environment("sandbox file system full while restoring " + EscapePath(cur_->path));
    } else if (err == EFBIG) {
      limit_hit = true;
      findings.push_back(Finding{FindingKind::kLimitExceeded, cur_->path, "limit exceeded: file size limit of the sandbox",
                                 -1, LimitKind::kFileSize});
    }
    failed_.store(true, std::memory_order_relaxed);
    return;
  }
  hasher_.Update(data, size);
  pos_ += size;
  written_ += size;
  bytes += size;
  if (live_bytes_) live_bytes_->fetch_add(size, std::memory_order_relaxed);
}

void ContentWriter::Close() {
  if (!cur_) return;
  FileStart& f = *cur_;
  if (f.sparse && f.size && *f.size > pos_ && !damaged_) {
    hasher_.UpdateZeros(*f.size - pos_);
    pos_ = *f.size;
  }
  // Only a file that ends in a hole needs its length set; an extra inode update per file
  // costs real time on ext4.
  if (pos_ > written_ && ftruncate(f.fd, static_cast<off_t>(pos_)) != 0) damaged_ = true;
  // New files are created with this mode; an fstat is much cheaper than an fchmod, which
  // journals an inode update on ext4 (about 3% of a run of small files).
  const mode_t want = static_cast<mode_t>((f.mode & 0777) | 0600);
  struct stat st {};
  if (fstat(f.fd, &st) != 0 || (st.st_mode & 07777) != want) fchmod(f.fd, want);
  const timespec times[2] = {{f.mtime_sec, f.mtime_nsec}, {f.mtime_sec, f.mtime_nsec}};
  futimens(f.fd, times);
  close(f.fd);
  Row row;
  row.path = std::move(f.path);
  row.seq = f.seq;
  row.kind = RowKind::kFile;
  row.size = pos_;
  row.mtime_sec = f.mtime_sec;
  row.mtime_nsec = f.mtime_nsec;
  row.hex = hasher_.FinishHex();
  if (!damaged_ && f.size && *f.size != pos_) {
    findings.push_back(Finding{FindingKind::kSizeMismatch, row.path,
                               "source declared " + std::to_string(*f.size) + " bytes, restored " + std::to_string(pos_), -1});
    damaged_ = true;
  }
  if (damaged_) row.flags |= kRowDamaged;
  rows_->Add(row);
  cur_.reset();
}

}  // namespace rp::detail
