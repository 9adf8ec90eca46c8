// Producer: walks a directory tree (a directory snapshot) without following symlinks and
// streams it into the message queue exactly like an archive.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "pipeline/entry_stream.h"
#include "rp/posix_io.h"

namespace rp::detail {
namespace {

class DirReader {
 public:
  DirReader(const std::string& root, ReaderContext* ctx) : root_(root), ctx_(ctx) {}

  void Run() {
    ctx_->format = "directory";
    const int fd = open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      ctx_->abort = Status::Environment("cannot open source directory " + root_ + ": " + std::strerror(errno));
    } else {
      Walk(fd, "", 0);
    }
    ctx_->source_bytes = bytes_read_;
    Message end;
    end.end_of_stream = true;
    ctx_->queue->Push(std::move(end));
  }

 private:
  void Push(Message&& m) {
    if (!ctx_->queue->Push(std::move(m))) stopped_ = true;
  }
  void Report(FindingKind kind, const std::string& path, const std::string& msg,
              std::optional<LimitKind> limit = std::nullopt) {
    Message m;
    m.finding = Finding{kind, path, msg, -1, limit};
    Push(std::move(m));
  }
  bool OverLimits(const std::string& path) {
    const Limits& lim = *ctx_->limits;
    std::string why;
    LimitKind which = LimitKind::kWallTime;
    if (entries_ > lim.max_entries) {
      why = "more than " + std::to_string(lim.max_entries) + " entries";
      which = LimitKind::kEntries;
    } else if (bytes_read_ > lim.max_total_bytes) {
      why = "more than " + std::to_string(lim.max_total_bytes) + " bytes restored";
      which = LimitKind::kTotalBytes;
    } else if (MonotonicSeconds() > ctx_->deadline_monotonic_s) {
      why = "wall time";
    }
    if (why.empty()) return false;
    Report(FindingKind::kLimitExceeded, path, "limit exceeded: " + why, which);
    stopped_ = true;
    return true;
  }

  // Takes ownership of dfd.
  void Walk(int dfd, const std::string& prefix, unsigned depth) {
    const UniqueFd dir(dfd);
    std::vector<DirName> names;
    if (!ReadDirNames(dfd, &names)) {
      Report(FindingKind::kIoError, prefix, std::string("cannot list directory: ") + std::strerror(errno));
      return;
    }
    std::sort(names.begin(), names.end(), [](const DirName& a, const DirName& b) { return a.name < b.name; });
    for (const auto& entry : names) {
      const std::string& name = entry.name;
      if (stopped_) break;
      const std::string path = prefix.empty() ? name : prefix + "/" + name;
      struct stat st {};
      // A directory (as the listing says) is opened first and its status read from the
      // descriptor: one lookup of its name instead of two.
      UniqueFd sub;
      if (entry.type == DT_DIR) {
        sub.Reset(openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (sub && (fstat(sub.get(), &st) != 0 || !S_ISDIR(st.st_mode))) sub.Reset();
      }
      if (!sub && fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        Report(FindingKind::kIoError, path, std::string("cannot stat: ") + std::strerror(errno));
        continue;
      }
      ++entries_;
      if (OverLimits(path)) break;
      EntryHeader h;
      h.path = path;
      h.mode = st.st_mode & 07777;
      h.mtime_sec = st.st_mtim.tv_sec;
      h.mtime_nsec = st.st_mtim.tv_nsec;
      if (S_ISDIR(st.st_mode)) {
        h.type = EntryType::kDirectory;
        Message m;
        m.header = std::move(h);
        m.end_of_entry = true;
        Push(std::move(m));
        if (!sub) sub.Reset(openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) {
          Report(FindingKind::kIoError, path, std::string("cannot open directory: ") + std::strerror(errno));
          continue;
        }
        Walk(sub.Release(), path, depth + 1);
      } else if (S_ISLNK(st.st_mode)) {
        h.type = EntryType::kSymlink;
        std::vector<char> buf(static_cast<size_t>(st.st_size > 0 ? st.st_size : 255) + 1);
        const ssize_t n = readlinkat(dfd, name.c_str(), buf.data(), buf.size());
        if (n < 0) {
          Report(FindingKind::kIoError, path, std::string("cannot read link: ") + std::strerror(errno));
          continue;
        }
        h.link_target.assign(buf.data(), static_cast<size_t>(n));
        Message m;
        m.header = std::move(h);
        m.end_of_entry = true;
        Push(std::move(m));
      } else if (S_ISREG(st.st_mode)) {
        // A file with more links is restored as a hard link to its first path, as an archive
        // would carry it. Memory stays bounded: an inode is forgotten once all its links
        // have been seen, and beyond kMaxRememberedLinks inodes (a snapshot tree whose files
        // are linked to other snapshots, as rsnapshot makes them) further paths are restored
        // as copies of their own: the same content, more space in the sandbox.
        if (st.st_nlink > 1 && ctx_->detect_hardlinks) {
          auto it = links_.find({st.st_dev, st.st_ino});
          if (it != links_.end()) {
            h.type = EntryType::kHardlink;
            h.link_target = it->second.first_path;
            if (--it->second.links_left == 0) links_.erase(it);
            Message m;
            m.header = std::move(h);
            m.end_of_entry = true;
            Push(std::move(m));
            continue;
          }
          if (links_.size() < kMaxRememberedLinks)
            links_.emplace(std::make_pair(st.st_dev, st.st_ino), SeenLink{path, st.st_nlink - 1});
        }
        h.type = EntryType::kFile;
        h.size = static_cast<uint64_t>(st.st_size);
        if (ctx_->sample) MarkSample(ctx_, &h, /*normalised=*/true);
        if (h.out_of_sample) {  // a sampled run: outside the slice, never opened
          ctx_->passed_over++;
          continue;
        }
        File(dfd, name, std::move(h));
      } else {
        h.type = EntryType::kOther;
        h.other_kind = S_ISCHR(st.st_mode)   ? "character device"
                       : S_ISBLK(st.st_mode) ? "block device"
                       : S_ISFIFO(st.st_mode) ? "FIFO"
                       : S_ISSOCK(st.st_mode) ? "socket"
                                              : "unknown-type";
        Message m;
        m.header = std::move(h);
        m.end_of_entry = true;
        Push(std::move(m));
      }
    }
  }

  void File(int dfd, const std::string& name, EntryHeader h) {
    const std::string path = h.path;
    if (h.size && *h.size > ctx_->limits->max_file_bytes) {
      Report(FindingKind::kLimitExceeded, path,
             "limit exceeded: file larger than " + std::to_string(ctx_->limits->max_file_bytes) + " bytes",
             LimitKind::kFileSize);
      stopped_ = true;
      return;
    }
    Message m;
    m.header = std::move(h);
    const UniqueFd fd(openat(dfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
      m.end_of_entry = true;
      m.entry_damaged = true;
      Push(std::move(m));
      Report(FindingKind::kIoError, path, std::string("cannot open: ") + std::strerror(errno));
      return;
    }
    posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    const uint64_t size = m.header->size.value_or(0);
    // One byte more than the file should hold, so a file that grew is noticed in one read.
    auto want = [&](uint64_t at) { return BufferFor(size >= at ? size - at + 1 : 1); };
    m.data = ctx_->queue->TakeBuffer(want(0));
    uint64_t offset = 0;
    for (;;) {
      m.data.resize(m.data.capacity());
      const ssize_t n = ReadSome(fd.get(), m.data.data(), m.data.size());
      if (n < 0) {
        m.data.clear();
        m.end_of_entry = true;
        m.entry_damaged = true;
        Push(std::move(m));
        Report(FindingKind::kIoError, path, std::string("read error: ") + std::strerror(errno));
        break;
      }
      m.data.resize(static_cast<size_t>(n));
      bytes_read_ += static_cast<uint64_t>(n);
      if (ctx_->live_source_bytes) ctx_->live_source_bytes->store(bytes_read_, std::memory_order_relaxed);
      if (n == 0) {
        m.end_of_entry = true;
        Push(std::move(m));
        break;
      }
      offset += static_cast<uint64_t>(n);
      Push(std::move(m));
      m = Message{};
      m.data = ctx_->queue->TakeBuffer(want(offset));
      m.data_offset = offset;
      if (OverLimits(path) || stopped_) {
        m.end_of_entry = true;
        m.entry_damaged = true;
        Push(std::move(m));
        break;
      }
    }
  }

  const std::string root_;
  ReaderContext* ctx_;
  struct SeenLink {
    std::string first_path;
    nlink_t links_left;  // links of the inode not met yet
  };
  static constexpr size_t kMaxRememberedLinks = 65536;
  std::map<std::pair<dev_t, ino_t>, SeenLink> links_;
  uint64_t entries_ = 0;
  uint64_t bytes_read_ = 0;
  bool stopped_ = false;
};

}  // namespace

void ReadDirectory(const std::string& path, ReaderContext* ctx) { DirReader(path, ctx).Run(); }

}  // namespace rp::detail
