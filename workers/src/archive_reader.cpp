// Producer: streams an archive through libarchive into the message queue.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "entry_stream.h"
#include "rp/path_text.h"

namespace rp::detail {

double MonotonicSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

std::string FormatDescription(archive* a) {
  std::string out = archive_format_name(a) ? archive_format_name(a) : "unknown format";
  const int n = archive_filter_count(a);
  for (int i = 0; i < n; ++i) {
    const char* f = archive_filter_name(a, i);
    if (f && std::strcmp(f, "none") != 0) out += std::string(", ") + f;
  }
  return out;
}

class ArchiveReader {
 public:
  ArchiveReader(const std::string& path, ReaderContext* ctx) : path_(path), ctx_(ctx) {}

  void Run() {
    struct stat st {};
    if (stat(path_.c_str(), &st) == 0) file_size_ = static_cast<uint64_t>(st.st_size);
    a_.reset(archive_read_new());
    archive_read_support_filter_all(a_.get());
    archive_read_support_format_all(a_.get());
    // No passphrase callback is installed: encrypted entries fail instead of prompting.
    if (archive_read_open_filename(a_.get(), path_.c_str(), 64 * 1024) != ARCHIVE_OK) {
      const int e = archive_errno(a_.get());
      const std::string msg = ErrorString();
      if (e == ENOENT || e == EACCES || e == EISDIR || e == ENOTDIR || e == ELOOP || e == EIO) {
        ctx_->abort = Status::Environment("cannot read source " + path_ + ": " + msg);
      } else {
        Fail(FindingKind::kCorrupt, "", "not a readable archive: " + msg);
      }
      Finish();
      return;
    }
    Loop();
    Finish();
  }

 private:
  std::string ErrorString() {
    const char* s = archive_error_string(a_.get());
    return s ? s : "unknown error";
  }

  uint64_t CompressedBytes() {
    const la_int64_t n = archive_filter_bytes(a_.get(), -1);
    return n > 0 ? static_cast<uint64_t>(n) : 0;
  }

  // A failure is a truncation when it happens with the whole source consumed.
  FindingKind ClassifyFailure() {
    if (archive_read_has_encrypted_entries(a_.get()) > 0) return FindingKind::kEncrypted;
    if (file_size_ > 0 && CompressedBytes() >= file_size_) return FindingKind::kTruncated;
    return FindingKind::kCorrupt;
  }

  void Push(Message&& m) {
    if (!ctx_->queue->Push(std::move(m))) stopped_ = true;
  }

  void Fail(FindingKind kind, const std::string& path, const std::string& message,
            bool damaged = false) {
    Message m;
    Finding f{kind, path, message, -1};
    const la_int64_t pos = archive_read_header_position(a_.get());
    if (kind == FindingKind::kCorrupt || kind == FindingKind::kTruncated) {
      f.offset = static_cast<int64_t>(CompressedBytes());
      if (pos >= 0 && !path.empty())
        f.message += " (entry header at uncompressed offset " + std::to_string(pos) + ")";
    }
    m.finding = std::move(f);
    m.entry_damaged = damaged;
    Push(std::move(m));
  }

  // Returns false when a limit stops the run.
  bool CheckLimits(const std::string& path) {
    const Limits& lim = *ctx_->limits;
    if (total_bytes_ > lim.max_total_bytes) {
      Fail(FindingKind::kLimitExceeded, path,
           "limit exceeded: more than " + std::to_string(lim.max_total_bytes) + " bytes restored");
      return false;
    }
    if (entry_bytes_ > lim.max_file_bytes) {
      Fail(FindingKind::kLimitExceeded, path,
           "limit exceeded: file larger than " + std::to_string(lim.max_file_bytes) + " bytes");
      return false;
    }
    if (total_bytes_ > lim.ratio_floor_bytes) {
      const uint64_t in = CompressedBytes();
      const double ratio = static_cast<double>(total_bytes_) / static_cast<double>(in > 0 ? in : 1);
      if (ratio > lim.max_ratio) {
        Fail(FindingKind::kLimitExceeded, path,
             "limit exceeded: compression ratio above " + std::to_string(static_cast<long>(lim.max_ratio)) +
                 " (" + std::to_string(total_bytes_) + " bytes from " + std::to_string(in) + ")");
        return false;
      }
    }
    if (MonotonicSeconds() > ctx_->deadline_monotonic_s) {
      Fail(FindingKind::kLimitExceeded, path, "limit exceeded: wall time");
      return false;
    }
    return true;
  }

  EntryHeader MakeHeader(archive_entry* e) {
    EntryHeader h;
    const char* p = archive_entry_pathname(e);
    if (!p) p = archive_entry_pathname_utf8(e);
    h.path = p ? p : "";
    h.offset = archive_read_header_position(a_.get());
    h.mode = static_cast<uint32_t>(archive_entry_perm(e)) | (archive_entry_mode(e) & 07000);
    h.mtime_sec = archive_entry_mtime(e);
    h.mtime_nsec = archive_entry_mtime_nsec(e);
    if (archive_entry_size_is_set(e) && archive_entry_size(e) >= 0)
      h.size = static_cast<uint64_t>(archive_entry_size(e));
    h.encrypted = archive_entry_is_encrypted(e) != 0;
    h.sparse = archive_entry_sparse_count(e) > 0;
    const char* hl = archive_entry_hardlink(e);
    if (!hl) hl = archive_entry_hardlink_utf8(e);
    if (hl && *hl) {
      h.type = EntryType::kHardlink;
      h.link_target = hl;
      return h;
    }
    switch (archive_entry_filetype(e)) {
      case AE_IFREG: h.type = EntryType::kFile; break;
      case AE_IFDIR: h.type = EntryType::kDirectory; break;
      case AE_IFLNK: {
        h.type = EntryType::kSymlink;
        const char* t = archive_entry_symlink(e);
        if (!t) t = archive_entry_symlink_utf8(e);
        h.link_target = t ? t : "";
        break;
      }
      case AE_IFCHR: h.type = EntryType::kOther; h.other_kind = "character device"; break;
      case AE_IFBLK: h.type = EntryType::kOther; h.other_kind = "block device"; break;
      case AE_IFIFO: h.type = EntryType::kOther; h.other_kind = "FIFO"; break;
      case AE_IFSOCK: h.type = EntryType::kOther; h.other_kind = "socket"; break;
      default: h.type = EntryType::kOther; h.other_kind = "entry of unknown type"; break;
    }
    return h;
  }

  void Loop() {
    archive_entry* e = nullptr;
    int consecutive_retries = 0;
    while (!stopped_) {
      const int r = archive_read_next_header(a_.get(), &e);
      if (ctx_->format.empty() || r == ARCHIVE_OK) ctx_->format = FormatDescription(a_.get());
      if (r == ARCHIVE_EOF) break;
      if (r == ARCHIVE_RETRY) {
        // The reader skipped damaged bytes and will try to resynchronise.
        Fail(ClassifyFailure(), "", "damaged archive header: " + ErrorString());
        if (++consecutive_retries > 100) break;
        continue;
      }
      consecutive_retries = 0;
      if (r == ARCHIVE_FATAL) {
        Fail(ClassifyFailure(), last_path_, "archive unreadable after this entry: " + ErrorString());
        break;
      }
      if (r == ARCHIVE_FAILED) {
        const char* p = e ? archive_entry_pathname(e) : nullptr;
        Fail(ClassifyFailure(), p ? p : "", "entry header unreadable: " + ErrorString());
        continue;
      }
      // ARCHIVE_OK or ARCHIVE_WARN (e.g. a name that cannot be converted): the header is usable.
      ++entries_;
      if (entries_ > ctx_->limits->max_entries) {
        Fail(FindingKind::kLimitExceeded, "",
             "limit exceeded: more than " + std::to_string(ctx_->limits->max_entries) + " entries");
        stopped_ = true;
        break;
      }
      EntryHeader h = MakeHeader(e);
      last_path_ = h.path;
      if (!Entry(std::move(h))) break;
    }
  }

  // Streams one entry. Returns false when the run must stop.
  bool Entry(EntryHeader h) {
    const std::string path = h.path;
    entry_bytes_ = 0;
    if (h.size && *h.size > ctx_->limits->max_file_bytes &&
        (h.type == EntryType::kFile || h.type == EntryType::kHardlink)) {
      Fail(FindingKind::kLimitExceeded, path,
           "limit exceeded: declared size " + std::to_string(*h.size) + " above the file limit of " +
               std::to_string(ctx_->limits->max_file_bytes) + " bytes");
      stopped_ = true;
      return false;
    }
    const bool has_data = (h.type == EntryType::kFile || h.type == EntryType::kHardlink) && !h.encrypted;
    Message m;
    m.header = std::move(h);
    if (!has_data) {
      m.end_of_entry = true;
      Push(std::move(m));
      return !stopped_;
    }
    m.data = ctx_->queue->TakeBuffer(kChunkBytes);
    uint64_t next_offset = 0;
    for (;;) {
      const void* buf = nullptr;
      size_t len = 0;
      la_int64_t off = 0;
      const int r = archive_read_data_block(a_.get(), &buf, &len, &off);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
        m.end_of_entry = true;
        m.entry_damaged = true;
        Push(std::move(m));
        const FindingKind kind = ClassifyFailure();
        Fail(kind, path, (kind == FindingKind::kEncrypted ? "encrypted, no passphrase configured: "
                                                           : "content unreadable: ") + ErrorString(),
             true);
        return r != ARCHIVE_FATAL && !stopped_;
      }
      if (r == ARCHIVE_WARN) {
        // For content, libarchive warns about checksum (CRC) mismatches.
        m.entry_damaged = true;
        Message w;
        w.finding = Finding{FindingKind::kCorrupt, path, "content integrity warning: " + ErrorString(),
                            static_cast<int64_t>(CompressedBytes())};
        w.entry_damaged = true;
        // Deliver content first so the finding attaches after the bytes it concerns.
        Push(std::move(m));
        Push(std::move(w));
        m = Message{};
        m.data = ctx_->queue->TakeBuffer(kChunkBytes);
      }
      const auto uoff = off >= 0 ? static_cast<uint64_t>(off) : next_offset;
      if (uoff != next_offset) {
        // A hole (sparse file): ship what we have and start a new message at the new offset.
        if (!m.data.empty() || m.header) Push(std::move(m));
        m = Message{};
        m.data = ctx_->queue->TakeBuffer(kChunkBytes);
      }
      if (m.data.empty()) m.data_offset = uoff;
      next_offset = uoff + len;
      entry_bytes_ = next_offset;
      total_bytes_ += len;
      const char* p = static_cast<const char*>(buf);
      while (len > 0) {
        const size_t room = kChunkBytes - m.data.size();
        const size_t n = len < room ? len : room;
        m.data.insert(m.data.end(), p, p + n);
        p += n;
        len -= n;
        if (m.data.size() == kChunkBytes) {
          const uint64_t at = m.data_offset + m.data.size();
          Push(std::move(m));
          m = Message{};
          m.data = ctx_->queue->TakeBuffer(kChunkBytes);
          m.data_offset = at;
        }
      }
      if (!CheckLimits(path)) {
        m.end_of_entry = true;
        m.entry_damaged = true;
        Push(std::move(m));
        stopped_ = true;
        return false;
      }
      if (stopped_) return false;
    }
    m.end_of_entry = true;
    Push(std::move(m));
    return !stopped_;
  }

  void Finish() {
    if (a_) {
      ctx_->source_bytes = CompressedBytes();
      if (ctx_->format.empty()) ctx_->format = FormatDescription(a_.get());
    }
    Message end;
    end.end_of_stream = true;
    ctx_->queue->Push(std::move(end));
  }

  const std::string path_;
  ReaderContext* ctx_;
  std::unique_ptr<archive, ArchiveDeleter> a_;
  uint64_t file_size_ = 0;
  uint64_t entries_ = 0;
  uint64_t total_bytes_ = 0;
  uint64_t entry_bytes_ = 0;
  std::string last_path_;
  bool stopped_ = false;
};

}  // namespace

void ReadArchive(const std::string& path, ReaderContext* ctx) { ArchiveReader(path, ctx).Run(); }

}  // namespace rp::detail
