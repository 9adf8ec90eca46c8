// Producer: streams an archive through libarchive into the message queue.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "sources/decode_ahead.h"
#include "pipeline/entry_stream.h"
#include "sources/gzip_source.h"
#include "sources/index_scan.h"
#include "sources/mapped_source.h"
#include "sources/name_locale.h"
#include "sources/rar5_scan.h"
#include "sources/sevenzip_names.h"
#include "sources/tar_name_tap.h"
#include "sources/zstd_source.h"
#include "rp/path_text.h"
#include "rp/posix_io.h"

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

// `outside`: the compression we decoded ourselves before libarchive ("gzip", "zstd"), or null.
std::string FormatDescription(archive* a, const char* outside) {
  std::string out = archive_format_name(a) ? archive_format_name(a) : "unknown format";
  if (outside) out += std::string(", ") + outside;
  const int n = archive_filter_count(a);
  for (int i = 0; i < n; ++i) {
    const char* f = archive_filter_name(a, i);
    if (f && std::strcmp(f, "none") != 0) out += std::string(", ") + f;
  }
  return out;
}

constexpr size_t kReadBytes = 256 * 1024;

// True when the regular file at `fd` starts with a POSIX or GNU tar header ("ustar" at byte
// 257; read with pread, the offset is left alone). Other formats keep libarchive's own
// reading, with the seeks that zip, 7z and ISO 9660 need.
bool LooksLikeTar(int fd) {
  char magic[5];
  return pread(fd, magic, sizeof magic, 257) == 5 && std::memcmp(magic, "ustar", 5) == 0;
}

// The source file as libarchive reads it, through our own callbacks so we know how far it
// was read and whether the end of the file was reached (a failure there is a truncation).
struct SourceFile {
  int fd = -1;
  bool seekable = false;
  bool at_eof = false;  // the last sequential read hit the end of the file
  int read_errno = 0;
  uint64_t position = 0;
  std::vector<char> buf;
  // Set: libarchive reads what this decodes, gzip or zstd (named by `decoded_from`).
  std::unique_ptr<DecodeAhead> decoded;
  const char* decoded_from = nullptr;
  // Set: a plain tar, which libarchive reads from windows of the mapped file.
  std::unique_ptr<MappedSource> mapped;
  // The block libarchive reads now, lent by `decoded` or `mapped`: content libarchive hands
  // out inside it goes to the writers as a slice of it, not as a copy.
  std::shared_ptr<const void> block;
  uintptr_t block_begin = 0;
  size_t block_size = 0;

  bool Lends(const void* p, size_t n) const {
    const auto at = reinterpret_cast<uintptr_t>(p);
    return block && at >= block_begin && n <= block_size && at - block_begin <= block_size - n;
  }
  // Follows a tar stream as libarchive is handed it, for the raw bytes of pax names.
  TarNameTap tap;
  // Bytes read or skipped so far, only ever growing, published for the stall watchdog.
  uint64_t worked = 0;
  std::atomic<uint64_t>* live = nullptr;

  void Worked(uint64_t total) {
    worked = total;
    if (live) live->store(total, std::memory_order_relaxed);
  }

  static la_ssize_t ReadMapped(archive* a, SourceFile* s, const void** out) {
    size_t n = 0;
    s->block.reset();
    bool lend = false;
    const DecodeOutcome outcome = s->mapped->Next(out, &n, &s->block, &lend);
    // A window that may not be lent is still kept mapped while libarchive reads it; its
    // content is copied out.
    s->block_begin = outcome == DecodeOutcome::kData && lend ? reinterpret_cast<uintptr_t>(*out) : 0;
    s->block_size = lend ? n : 0;
    s->position = s->mapped->position();
    s->Worked(s->position);
    if (outcome == DecodeOutcome::kData) {
      s->tap.Feed(static_cast<const char*>(*out), n);
      return static_cast<la_ssize_t>(n);
    }
    if (outcome == DecodeOutcome::kEnd) {
      s->at_eof = true;
      return 0;
    }
    s->read_errno = s->mapped->read_errno();
    archive_set_error(a, s->read_errno, "%s", s->mapped->error().c_str());
    return -1;
  }

  static la_ssize_t ReadDecoded(archive* a, SourceFile* s, const void** out) {
    size_t n = 0;
    s->block.reset();
    const DecodeOutcome outcome = s->decoded->Next(out, &n, &s->block);
    s->block_begin = outcome == DecodeOutcome::kData ? reinterpret_cast<uintptr_t>(*out) : 0;
    s->block_size = n;
    s->Worked(s->decoded->compressed_bytes());
    switch (outcome) {
      case DecodeOutcome::kData:
        s->tap.Feed(static_cast<const char*>(*out), n);
        return static_cast<la_ssize_t>(n);
      case DecodeOutcome::kEnd: s->at_eof = true; return 0;
      case DecodeOutcome::kTruncated:
        s->at_eof = true;  // a failure with the whole source consumed: a truncation
        archive_set_error(a, EILSEQ, "%s", s->decoded->error().c_str());
        return -1;
      case DecodeOutcome::kCorrupt:
        archive_set_error(a, EILSEQ, "%s", s->decoded->error().c_str());
        return -1;
      case DecodeOutcome::kReadError:
        s->read_errno = s->decoded->read_errno();
        archive_set_error(a, s->read_errno, "%s", s->decoded->error().c_str());
        return -1;
    }
    return -1;
  }

  // A regular file compressed with gzip or zstd is decoded by us, on a thread of its own; a
  // plain tar is mapped, and its content lent from the mapping.
  void DetectSource(uint64_t size) {
    if (!seekable) return;
    if (GzipSource::Detect(fd)) {
      decoded = std::make_unique<DecodeAhead>(std::make_unique<GzipSource>(fd));
      decoded_from = "gzip";
    } else if (ZstdSource::Detect(fd)) {
      // The decoder takes its input from the mapped file, on the decoder thread.
      auto input = std::make_unique<MappedSource>(fd, size);
      shrank = input->shrank();
      decoded = std::make_unique<DecodeAhead>(std::make_unique<ZstdSource>(fd, 0, std::move(input)));
      decoded_from = "zstd";
    } else if (LooksLikeTar(fd)) {
      mapped = std::make_unique<MappedSource>(fd, size);
      shrank = mapped->shrank();
    }
  }
  // Set when the source is mapped (a plain tar, or zstd's input).
  std::shared_ptr<const std::atomic<bool>> shrank;
  bool decoded_gzip() const { return decoded && decoded_from && std::strcmp(decoded_from, "gzip") == 0; }

  ~SourceFile() {
    decoded.reset();  // its thread reads fd: stopped before fd is closed (and its number reused)
    mapped.reset();  // windows still lent out stay mapped: a mapping outlives its descriptor
    if (fd >= 0) close(fd);
  }

  static la_ssize_t Read(archive* a, void* self, const void** out) {
    auto* s = static_cast<SourceFile*>(self);
    if (s->decoded) return ReadDecoded(a, s, out);
    if (s->mapped) return ReadMapped(a, s, out);
    const ssize_t n = ReadSome(s->fd, s->buf.data(), s->buf.size());
    if (n < 0) {
      s->read_errno = errno;
      archive_set_error(a, errno, "read error at byte %llu: %s", static_cast<unsigned long long>(s->position),
                        std::strerror(errno));
      return -1;
    }
    s->at_eof = n == 0;
    s->position += static_cast<uint64_t>(n);
    s->Worked(s->worked + static_cast<uint64_t>(n));
    *out = s->buf.data();
    s->tap.Feed(s->buf.data(), static_cast<size_t>(n));
    return n;
  }

  static la_int64_t Skip(archive*, void* self, la_int64_t request) {
    auto* s = static_cast<SourceFile*>(self);
    if (!s->seekable || s->decoded || s->mapped || request <= 0) return 0;  // libarchive then reads and discards
    const off_t to = lseek(s->fd, static_cast<off_t>(request), SEEK_CUR);
    if (to < 0) return 0;
    s->position = static_cast<uint64_t>(to);
    s->Worked(s->worked + static_cast<uint64_t>(request));
    s->tap.Skip(static_cast<uint64_t>(request));
    return request;
  }

  static la_int64_t Seek(archive*, void* self, la_int64_t offset, int whence) {
    auto* s = static_cast<SourceFile*>(self);
    const off_t to = lseek(s->fd, static_cast<off_t>(offset), whence);
    if (to < 0) return ARCHIVE_FATAL;
    s->position = static_cast<uint64_t>(to);
    s->at_eof = false;
    s->tap.Disable();  // read out of order: the tap cannot follow (zip, 7z: not tar anyway)
    return to;
  }
};

class ArchiveReader {
 public:
  ArchiveReader(const std::string& path, ReaderContext* ctx) : path_(path), ctx_(ctx) {}

  void Run() {
    a_.reset(archive_read_new());
    // Every archive format libarchive reads, except two: mtree, whose entries name files on
    // the local disk that the reader would then open (a manifest that reads /etc/shadow into
    // the sandbox), and raw, which would take any byte stream for a one-file archive.
    archive* a = a_.get();
    archive_read_support_format_7zip(a);
    archive_read_support_format_ar(a);
    archive_read_support_format_cab(a);
    archive_read_support_format_cpio(a);
    archive_read_support_format_empty(a);
    archive_read_support_format_iso9660(a);
    archive_read_support_format_lha(a);
    archive_read_support_format_rar(a);
    archive_read_support_format_rar5(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_warc(a);
    archive_read_support_format_xar(a);
    archive_read_support_format_zip(a);
    // No passphrase callback is installed: encrypted entries fail instead of prompting.
    src_.live = ctx_->live_source_bytes;
    src_.fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (src_.fd < 0) {
      ctx_->abort = Status::Environment("cannot read source " + path_ + ": " + std::strerror(errno));
      Finish();
      return;
    }
    struct stat fst {};
    if (fstat(src_.fd, &fst) == 0 && S_ISREG(fst.st_mode)) {
      src_.seekable = true;
      posix_fadvise(src_.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    src_.DetectSource(static_cast<uint64_t>(fst.st_size));
    if (src_.seekable) {
      ctx_->source_fd = fcntl(src_.fd, F_DUPFD_CLOEXEC, 0);
      if (ctx_->source_fd < 0) {
        ctx_->abort = Status::Environment("cannot keep a descriptor of the source " + path_ +
                                          " to check it for changes after the run: " + std::strerror(errno));
        Finish();
        return;
      }
      ctx_->source_stamp = StampOf(fst);
      ctx_->source_shrank = src_.shrank;
    }
    if (!src_.decoded && !src_.mapped) src_.buf.resize(kReadBytes);
    if (src_.seekable && !src_.decoded && !src_.mapped) {
      rar5_ = ScanRar5Encryption(
          SourceReadAt(),
          std::max<uint64_t>(ctx_->limits->max_entries, ctx_->limits->max_entries + 1));
      if (!CheckIndex(static_cast<uint64_t>(fst.st_size))) {
        Finish();
        return;
      }
      // 7z names as stored, where libarchive's conversion would change them (NFC).
      SevenZipNameLimits name_limits;
      name_limits.max_files = ctx_->limits->max_entries;
      sevenzip_names_ = ReadSevenZipNames(
          SourceReadAt(),
          static_cast<uint64_t>(fst.st_size), name_limits);
      if (!sevenzip_names_->available()) sevenzip_names_.reset();
    }
    // Every filter libarchive has, except its gzip reader for regular files: gzip there is
    // decoded above, and libarchive's own gzip filter, stacked on itself, spins for minutes on
    // a few hundred hostile bytes (gzip members that decode to gzip members; fuzz_verify found
    // it, bsdtar hangs on it too). So gzip inside gzip, or inside rpm or uu, is not read from a
    // regular file. A pipe (restic and borg dumps) still gets libarchive's gzip reader.
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_compress(a);
    archive_read_support_filter_grzip(a);
    archive_read_support_filter_lrzip(a);
    archive_read_support_filter_lz4(a);
    archive_read_support_filter_lzip(a);
    archive_read_support_filter_lzma(a);
    archive_read_support_filter_lzop(a);
    archive_read_support_filter_rpm(a);
    archive_read_support_filter_uu(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_zstd(a);
    if (!src_.seekable) archive_read_support_filter_gzip(a);
    archive_read_set_callback_data(a_.get(), &src_);
    archive_read_set_read_callback(a_.get(), &SourceFile::Read);
    archive_read_set_skip_callback(a_.get(), &SourceFile::Skip);
    if (src_.seekable && !src_.decoded && !src_.mapped) archive_read_set_seek_callback(a_.get(), &SourceFile::Seek);
    if (archive_read_open1(a_.get()) != ARCHIVE_OK) {
      const int e = archive_errno(a_.get());
      std::string msg = ErrorString();
      const bool gzip_in_gzip = src_.decoded_gzip() && GzipSource::StartsMember(src_.decoded->head());
      if (src_.decoded) {
        // libarchive may give up on the bytes decoded so far before it reads the error.
        if (!src_.decoded->error().empty() && msg.find(src_.decoded->error()) == std::string::npos)
          msg = src_.decoded->error() + " (" + msg + ")";
        else if (gzip_in_gzip)
          msg += ": the gzip stream decodes to another gzip stream; gzip inside gzip is not read";
      }
      if (src_.read_errno != 0 || e == EIO) {
        ctx_->abort = Status::Environment("cannot read source " + path_ + ": " + msg);
      } else {
        const FindingKind kind = gzip_in_gzip ? FindingKind::kCorrupt : ClassifyFailure();
        Fail(kind, "", (kind == FindingKind::kTruncated ? "source ends early, cannot be read as an archive: "
                                                         : "not a readable archive: ") + msg);
      }
      Finish();
      return;
    }
    opened_ = true;
    if (rar5_ && rar5_->headers_encrypted) {
      // libarchive would say only "Encryption is not supported", at the first header.
      Fail(FindingKind::kEncrypted, "",
           "encrypted, no passphrase configured: the RAR5 archive's headers, file names included, are encrypted");
    } else {
      Loop();
    }
    Finish();
  }

 private:
  // The source file read at offsets, for the scans that look at a seekable archive before
  // libarchive does (RAR5 encryption, the index, 7z names); what they read counts as progress
  // for the stall watchdog.
  ReadAt SourceReadAt() {
    return [this](uint64_t offset, size_t n, char* out) -> size_t {
      size_t got = 0;
      while (got < n) {
        const ssize_t r = ReadSomeAt(src_.fd, out + got, n - got, static_cast<off_t>(offset + got));
        if (r <= 0) break;
        got += static_cast<size_t>(r);
      }
      src_.Worked(src_.worked + got);
      return got;
    };
  }

  // A header libarchive failed on may or may not count as an entry: the 7z and zip names,
  // matched by their place, are not used from here on (libarchive's own names are).
  void ForgetStoredNames() {
    sevenzip_names_.reset();
    stored_names_.clear();
  }

  // The archive's own index (zip central directory, 7z header, xar TOC, ISO 9660 volume size,
  // cab size) against the file, before libarchive reads it (sources/index_scan.h): every
  // disagreement is a finding. False: libarchive must not read this archive (it would never
  // return), and the findings say why.
  bool CheckIndex(uint64_t size) {
    const std::optional<IndexScan> scan = ScanArchiveIndex(SourceReadAt(), size, ctx_->limits->max_entries);
    if (!scan) return true;
    for (const IndexFinding& f : scan->findings) {
      Message m;
      m.finding = Finding{f.problem == IndexProblem::kTruncated ? FindingKind::kTruncated : FindingKind::kCorrupt,
                          f.path, f.message, static_cast<int64_t>(std::min<uint64_t>(f.offset, INT64_MAX))};
      Push(std::move(m));
    }
    if (scan->unreadable) ctx_->format = scan->format;
    if (!scan->stored_names.empty()) stored_names_ = std::move(scan->stored_names);
    return !scan->unreadable;
  }

  std::string ErrorString() {
    const char* s = archive_error_string(a_.get());
    return s ? s : "libarchive gave no reason";
  }

  uint64_t CompressedBytes() {
    if (src_.decoded) return src_.decoded->compressed_bytes();
    const la_int64_t n = archive_filter_bytes(a_.get(), -1);
    return n > 0 ? static_cast<uint64_t>(n) : 0;
  }

  // A failure is a truncation when it happens with the whole source consumed.
  FindingKind ClassifyFailure() {
    // After a failed open libarchive has no format selected; asking it about encryption
    // then crashes (libarchive 3.6.2), so ask only once the archive is open.
    if (opened_ && archive_read_has_encrypted_entries(a_.get()) > 0) return FindingKind::kEncrypted;
    if (src_.at_eof) return FindingKind::kTruncated;
    return FindingKind::kCorrupt;
  }

  void Push(Message&& m) {
    if (!ctx_->queue->Push(std::move(m))) stopped_ = true;
  }

  void Fail(FindingKind kind, const std::string& path, const std::string& message, bool damaged = false,
            std::optional<LimitKind> limit = std::nullopt) {
    Message m;
    Finding f{kind, path, message, -1, limit};
    const la_int64_t pos = archive_read_header_position(a_.get());
    // libarchive could not allocate: the worker's memory limit (the address-space rlimit where
    // there is no memory cgroup), not damage. Nothing more is read.
    if ((kind == FindingKind::kCorrupt || kind == FindingKind::kTruncated) && a_ && archive_errno(a_.get()) == ENOMEM) {
      f.kind = FindingKind::kLimitExceeded;
      f.limit = LimitKind::kMemory;
      f.message = "limit exceeded: memory limit of " + std::to_string(ctx_->limits->max_memory_bytes) +
                  " bytes reached (" + message + ")";
      stopped_ = true;
    }
    if (f.kind == FindingKind::kCorrupt || f.kind == FindingKind::kTruncated) {
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
    // Bytes a gzip or zstd stream decodes after the archive's end are not restored, but they are
    // decoded: they count against the byte and ratio limits too (DrainDecoded).
    const uint64_t decoded = total_bytes_ + after_end_bytes_;
    const std::string after_end =
        after_end_bytes_ ? ", " + std::to_string(after_end_bytes_) + " of them decoded after the archive's end" : "";
    if (decoded > lim.max_total_bytes) {
      Fail(FindingKind::kLimitExceeded, path,
           "limit exceeded: more than " + std::to_string(lim.max_total_bytes) + " bytes restored" + after_end, false,
           LimitKind::kTotalBytes);
      return false;
    }
    if (entry_bytes_ > lim.max_file_bytes) {
      Fail(FindingKind::kLimitExceeded, path,
           "limit exceeded: file larger than " + std::to_string(lim.max_file_bytes) + " bytes", false,
           LimitKind::kFileSize);
      return false;
    }
    if (decoded > lim.ratio_floor_bytes) {
      const uint64_t in = CompressedBytes();
      const double ratio = static_cast<double>(decoded) / static_cast<double>(in > 0 ? in : 1);
      if (ratio > lim.max_ratio) {
        Fail(FindingKind::kLimitExceeded, path,
             "limit exceeded: compression ratio above " + std::to_string(static_cast<long>(lim.max_ratio)) +
                 " (" + std::to_string(decoded) + " bytes from " + std::to_string(in) + after_end + ")",
             false, LimitKind::kRatio);
        return false;
      }
    }
    if (MonotonicSeconds() > ctx_->deadline_monotonic_s) {
      Fail(FindingKind::kLimitExceeded, path, "limit exceeded: wall time", false, LimitKind::kWallTime);
      return false;
    }
    return true;
  }

  // *warning_explained: libarchive's warning for this header, if any, is only about names that
  // are not valid UTF-8, which are restored as stored.
  EntryHeader MakeHeader(archive_entry* e, bool* warning_explained) {
    EntryHeader h;
    h.offset = archive_read_header_position(a_.get());
    // A pax name libarchive would change (NFC, invalid UTF-8) as it is stored (tar_name_tap.h).
    const std::optional<RawTarNames> raw = src_.tap.active() ? src_.tap.Take(h.offset) : std::nullopt;
    *warning_explained = raw && raw->warning_explained;
    const char* p = archive_entry_pathname(e);
    if (!p) p = archive_entry_pathname_utf8(e);
    h.path = raw && raw->path ? *raw->path : p ? p : "";
    h.name_unreadable = h.path.empty();
    h.mode = static_cast<uint32_t>(archive_entry_perm(e)) | (archive_entry_mode(e) & 07000);
    h.mtime_sec = archive_entry_mtime(e);
    h.mtime_nsec = archive_entry_mtime_nsec(e);
    if (archive_entry_size_is_set(e) && archive_entry_size(e) >= 0)
      h.size = static_cast<uint64_t>(archive_entry_size(e));
    // RAR5 (rar5_): libarchive returns one entry per file header, in order.
    const bool rar5_encrypted = rar5_ && rar5_->Encrypted(rar5_entries_++, h.path);
    // 7z: libarchive returns the header's files in order; where it changed a name, the stored one.
    if (sevenzip_names_) {
      std::string_view stored;
      if (sevenzip_names_->Lookup(sevenzip_entries_++, &stored) == SevenZipNames::Name::kStored) {
        h.path = stored;
        h.name_unreadable = h.path.empty();
      }
    }
    // zip: the same with the names its central directory stores under the UTF-8 flag. One that
    // is not valid UTF-8 is what libarchive's warning (and its missing name) was about.
    if (!stored_names_.empty()) {
      const uint64_t index = zip_entries_++;
      const auto it = std::lower_bound(stored_names_.begin(), stored_names_.end(), index,
                                       [](const StoredName& n, uint64_t i) { return n.index < i; });
      if (it != stored_names_.end() && it->index == index) {
        h.path = it->name;
        h.name_unreadable = h.path.empty();
        *warning_explained = *warning_explained || !IsValidUtf8(it->name);
      }
    }
    h.encrypted = archive_entry_is_encrypted(e) != 0 || rar5_encrypted;
    h.sparse = archive_entry_sparse_count(e) > 0;
    const char* hl = archive_entry_hardlink(e);
    if (!hl) hl = archive_entry_hardlink_utf8(e);
    if (hl && *hl) {
      h.type = EntryType::kHardlink;
      h.link_target = raw && raw->linkpath ? *raw->linkpath : hl;
      return h;
    }
    switch (archive_entry_filetype(e)) {
      case AE_IFREG: h.type = EntryType::kFile; break;
      case AE_IFDIR: h.type = EntryType::kDirectory; break;
      case AE_IFLNK: {
        h.type = EntryType::kSymlink;
        const char* t = archive_entry_symlink(e);
        if (!t) t = archive_entry_symlink_utf8(e);
        h.link_target = raw && raw->linkpath ? *raw->linkpath : t ? t : "";
        break;
      }
      case AE_IFCHR: h.type = EntryType::kOther; h.other_kind = "character device"; break;
      case AE_IFBLK: h.type = EntryType::kOther; h.other_kind = "block device"; break;
      case AE_IFIFO: h.type = EntryType::kOther; h.other_kind = "FIFO"; break;
      case AE_IFSOCK: h.type = EntryType::kOther; h.other_kind = "socket"; break;
      default: h.type = EntryType::kOther; h.other_kind = "unknown-type"; break;
    }
    return h;
  }

  static constexpr int kMaxStalledHeaderFailures = 3;
  static constexpr int kMaxConsecutiveHeaderFailures = 1000;

  void Loop() {
    archive_entry* e = nullptr;
    int consecutive_retries = 0;
    int consecutive_failures = 0, stalled_failures = 0;
    uint64_t last_failed_at = UINT64_MAX;
    while (!stopped_) {
      if (MonotonicSeconds() > ctx_->deadline_monotonic_s) {  // also between failing headers
        Fail(FindingKind::kLimitExceeded, "", "limit exceeded: wall time", false, LimitKind::kWallTime);
        stopped_ = true;
        break;
      }
      const int r = archive_read_next_header(a_.get(), &e);
      if (ctx_->format.empty() || r == ARCHIVE_OK) ctx_->format = FormatDescription(a_.get(), src_.decoded_from);
      if (r == ARCHIVE_EOF) {
        CheckEndOfArchiveMarker();
        if (rar5_ && rar5_->cut_short)
          Fail(FindingKind::kTruncated, last_path_,
               "the RAR5 archive ends without its end-of-archive header: it was probably cut short after this entry");
        DrainDecoded();
        DrainStream();
        break;
      }
      if (r == ARCHIVE_RETRY) {
        // The reader skipped damaged bytes and will try to resynchronise.
        Fail(ClassifyFailure(), "", "damaged archive header: " + ErrorString());
        ForgetStoredNames();
        if (++consecutive_retries > 100) break;
        continue;
      }
      consecutive_retries = 0;
      if (r == ARCHIVE_FATAL) {
        if (last_rar5_encrypted_ && rar5_->solid) {
          // To move past an entry of a solid archive libarchive decompresses it, and an
          // encrypted one does not decompress: the rest cannot be read without the passphrase.
          Fail(FindingKind::kEncrypted, last_path_,
               "encrypted, no passphrase configured: the entries after it in this solid RAR5 archive cannot be "
               "read without it (" + ErrorString() + ")");
          break;
        }
        Fail(ClassifyFailure(), last_path_, "archive unreadable after this entry: " + ErrorString());
        break;
      }
      if (r == ARCHIVE_FAILED) {
        const char* p = e ? archive_entry_pathname(e) : nullptr;
        Fail(ClassifyFailure(), p ? p : "", "entry header unreadable: " + ErrorString());
        ForgetStoredNames();
        // Some readers (RAR among them) return the same failed header again and again
        // without consuming a byte: that would loop until the wall-time limit and bury the
        // report in identical findings. A reader that makes no progress, or fails header
        // after header, is done.
        const uint64_t at = UncompressedPosition();
        stalled_failures = (at == last_failed_at) ? stalled_failures + 1 : 0;
        last_failed_at = at;
        if (stalled_failures >= kMaxStalledHeaderFailures) {
          Fail(FindingKind::kCorrupt, "",
               "reading stopped: the archive reader failed on the same entry header " +
                   std::to_string(stalled_failures + 1) + " times without moving past uncompressed offset " +
                   std::to_string(at));
          break;
        }
        if (++consecutive_failures > kMaxConsecutiveHeaderFailures) {
          Fail(FindingKind::kCorrupt, "",
               "reading stopped: more than " + std::to_string(kMaxConsecutiveHeaderFailures) +
                   " unreadable entry headers in a row");
          break;
        }
        continue;
      }
      consecutive_failures = 0;
      stalled_failures = 0;
      // ARCHIVE_WARN: the header is usable but libarchive found something wrong with it
      // (a directory beyond the end of the medium, a bad extended header, a name it could
      // not convert): an integrity finding, and the entry is still restored.
      bool warning_explained = false;  // it concerned names the tap has as stored
      EntryHeader h = MakeHeader(e, &warning_explained);
      if (r == ARCHIVE_WARN && !warning_explained)
        Fail(FindingKind::kCorrupt, h.path, "archive warning: " + ErrorString());
      ++entries_;
      if (entries_ > ctx_->limits->max_entries) {
        Fail(FindingKind::kLimitExceeded, "",
             "limit exceeded: more than " + std::to_string(ctx_->limits->max_entries) + " entries", false,
             LimitKind::kEntries);
        stopped_ = true;
        break;
      }
      last_path_ = h.path;
      last_rar5_encrypted_ = h.encrypted && rar5_.has_value();
      if (!Entry(std::move(h))) break;
    }
  }

  // A plain archive from a pipe (restic's and borg's dumps through a FIFO) is read to its end
  // too: the tar writer pads its last record after the end marker, and a reader that stopped
  // there and went away would fail that write (EPIPE: borg then exits with an error, and the
  // stream looks cut short). Under the byte and time limits; nothing of it is restored.
  void DrainStream() {
    if (src_.seekable || src_.decoded || src_.mapped || src_.at_eof) return;
    for (;;) {
      const ssize_t n = ReadSome(src_.fd, src_.buf.data(), src_.buf.size());
      if (n <= 0) return;  // the end, or a read error after the archive's end: nothing to restore
      src_.position += static_cast<uint64_t>(n);
      src_.Worked(src_.worked + static_cast<uint64_t>(n));
      after_end_bytes_ += static_cast<uint64_t>(n);
      if (!CheckLimits("")) {
        stopped_ = true;
        return;
      }
    }
  }

  // libarchive stops reading at the archive's end marker, so the last bytes of a gzip or zstd
  // stream (the final member's trailer with its CRC-32, the frame's checksum) would go unread
  // and unchecked. The rest of the stream is decoded here, under the same byte, ratio and time
  // limits, and anything wrong with it is a finding. Decoded bytes after the end are not
  // restored.
  void DrainDecoded() {
    if (!src_.decoded || !src_.decoded_from) return;  // a plain tar has nothing left to check
    // libarchive is done with the block it read last. Held, it would stop a zstd decoder when
    // its ring comes round to it, and the rest of the stream may be longer than the ring.
    src_.block.reset();
    src_.block_begin = src_.block_size = 0;
    for (;;) {
      const void* data = nullptr;
      size_t n = 0;
      const DecodeOutcome outcome = src_.decoded->Next(&data, &n);
      src_.Worked(src_.decoded->compressed_bytes());
      switch (outcome) {
        case DecodeOutcome::kData: break;
        case DecodeOutcome::kEnd: return;
        case DecodeOutcome::kTruncated:
          Fail(FindingKind::kTruncated, "", "after the archive's end: " + src_.decoded->error());
          return;
        case DecodeOutcome::kCorrupt:
        case DecodeOutcome::kReadError:
          Fail(FindingKind::kCorrupt, "", "after the archive's end: " + src_.decoded->error());
          return;
      }
      after_end_bytes_ += n;
      if (!CheckLimits("")) {
        stopped_ = true;
        return;
      }
    }
  }

  uint64_t UncompressedPosition() {
    const la_int64_t n = archive_filter_bytes(a_.get(), 0);
    return n > 0 ? static_cast<uint64_t>(n) : 0;
  }

  // libarchive accepts a tar stream that simply stops after an entry, so a tar cut exactly at
  // an entry boundary would pass. A complete tar ends with zero blocks after the last entry's
  // padded content; libarchive consumes them before reporting the end.
  void CheckEndOfArchiveMarker() {
    if ((archive_format(a_.get()) & ARCHIVE_FORMAT_BASE_MASK) != ARCHIVE_FORMAT_TAR || entries_ == 0) return;
    const uint64_t padded_end = (last_entry_end_ + 511) / 512 * 512;
    if (UncompressedPosition() < padded_end + 512) {
      Fail(FindingKind::kTruncated, "",
           "tar archive ends after entry '" + EscapePath(last_path_) +
               "' without its end-of-archive blocks: it was probably cut short at an entry boundary");
    }
  }

  // Streams one entry. Returns false when the run must stop.
  bool Entry(EntryHeader h) {
    struct EndMark {
      ArchiveReader* r;
      ~EndMark() { r->last_entry_end_ = r->UncompressedPosition(); }
    } end_mark{this};
    const std::string path = h.path;
    entry_bytes_ = 0;
    if (h.size && *h.size > ctx_->limits->max_file_bytes &&
        (h.type == EntryType::kFile || h.type == EntryType::kHardlink)) {
      Fail(FindingKind::kLimitExceeded, path,
           "limit exceeded: declared size " + std::to_string(*h.size) + " above the file limit of " +
               std::to_string(ctx_->limits->max_file_bytes) + " bytes",
           false, LimitKind::kFileSize);
      stopped_ = true;
      return false;
    }
    if (ctx_->sample) MarkSample(ctx_, &h);
    // Outside a sampled run's slice: counted, never handed to the writer; libarchive skips the
    // content when the next header is read (seeks past it in a zip or 7z where it can, reads
    // through a stream).
    if (h.out_of_sample) {
      ctx_->passed_over++;
      return !stopped_;
    }
    const bool has_data = (h.type == EntryType::kFile || h.type == EntryType::kHardlink) && !h.encrypted;
    Message m;
    m.header = std::move(h);
    if (!has_data) {
      m.end_of_entry = true;
      Push(std::move(m));
      return !stopped_;
    }
    const std::optional<uint64_t> declared = m.header->size;
    auto remaining = [&](uint64_t at) -> std::optional<uint64_t> {
      if (!declared) return std::nullopt;
      return *declared > at ? *declared - at : 0;
    };
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
      }
      const auto uoff = off >= 0 ? static_cast<uint64_t>(off) : next_offset;
      if (uoff != next_offset) {
        // A hole (sparse file): ship what we have and start a new message at the new offset.
        if (m.size() > 0 || m.header) Push(std::move(m));
        m = Message{};
      }
      next_offset = uoff + len;
      entry_bytes_ = next_offset;
      total_bytes_ += len;
      const char* p = static_cast<const char*>(buf);
      if (src_.Lends(p, len)) {
        // In place in a block the source lends: the writers get a slice of it, no copy.
        if (m.slice.owner != src_.block || m.slice.p + m.slice.n != p) {
          if (m.size() > 0) {
            Push(std::move(m));
            m = Message{};
          }
          ctx_->queue->ReturnBuffer(std::move(m.data));
          m.data = {};
          m.slice = Slice{src_.block, p, 0};
          m.data_offset = uoff;
        }
        m.slice.n += len;
        len = 0;
      } else if (m.slice.owner) {
        Push(std::move(m));
        m = Message{};
      }
      if (m.size() == 0) m.data_offset = uoff;  // also for an empty block at a new offset
      if (len > 0 && m.data.capacity() == 0) m.data = ctx_->queue->TakeBuffer(BufferFor(remaining(uoff)));
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
          m.data = ctx_->queue->TakeBuffer(BufferFor(remaining(at)));
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
      if (ctx_->format.empty()) ctx_->format = FormatDescription(a_.get(), src_.decoded_from);
    }
    Message end;
    end.end_of_stream = true;
    ctx_->queue->Push(std::move(end));
  }

  const std::string path_;
  ReaderContext* ctx_;
  SourceFile src_;
  std::unique_ptr<archive, ArchiveDeleter> a_;  // declared after src_: freed first
  bool opened_ = false;
  uint64_t entries_ = 0;
  uint64_t total_bytes_ = 0;
  uint64_t entry_bytes_ = 0;
  uint64_t after_end_bytes_ = 0;  // decoded by DrainDecoded or read by DrainStream, not restored
  std::string last_path_;
  uint64_t last_entry_end_ = 0;  // uncompressed offset after the last entry's content
  bool stopped_ = false;
  std::optional<Rar5Encryption> rar5_;  // a RAR5 source: what is encrypted in it
  bool last_rar5_encrypted_ = false;    // the last entry read is an encrypted RAR5 member
  uint64_t rar5_entries_ = 0;           // entries of a RAR5 source read so far
  std::optional<SevenZipNames> sevenzip_names_;  // a 7z source: names libarchive changes
  uint64_t sevenzip_entries_ = 0;                // entries of a 7z source read so far
  std::vector<StoredName> stored_names_;         // a zip source: names libarchive changes
  uint64_t zip_entries_ = 0;                     // entries of a zip source read so far
};

}  // namespace

Status StartReader(const std::string& source, ReaderContext* ctx, std::thread* thread) {
  struct stat st {};
  if (stat(source.c_str(), &st) != 0)
    return Status::Environment("cannot read source " + source + ": " + std::strerror(errno));
  const bool is_dir = S_ISDIR(st.st_mode);
  *thread = std::thread([source, ctx, is_dir] {
    if (is_dir) ReadDirectory(source, ctx);
    else ReadArchive(source, ctx);
  });
  return Status::Ok();
}

void ReadArchive(const std::string& path, ReaderContext* ctx) {
  // libarchive converts names between the archive's charset and this thread's locale: a UTF-8
  // one, whatever the process's own (docs/verify.md, "Names").
  const locale_t utf8 = Utf8NameLocale();
  const locale_t previous = utf8 ? uselocale(utf8) : static_cast<locale_t>(nullptr);
  ArchiveReader(path, ctx).Run();
  if (utf8) uselocale(previous);
}

}  // namespace rp::detail
