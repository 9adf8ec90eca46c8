#include "pipeline/sandbox_writer.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "rp/path_text.h"

namespace rp::detail {
namespace {

std::string Errno(int e) { return std::strerror(e); }

size_t Depth(const std::string& rel) {
  return rel.empty() ? 0 : static_cast<size_t>(std::count(rel.begin(), rel.end(), '/')) + 1;
}

std::string ParentOf(const std::string& rel) {
  const size_t slash = rel.rfind('/');
  return slash == std::string::npos ? std::string() : rel.substr(0, slash);
}

// Lexically resolves `target` relative to the directory `dir` (relative to the sandbox root).
// False when it climbs above the root.
bool TargetStaysInside(const std::string& dir, const std::string& target) {
  long depth = static_cast<long>(Depth(dir));
  size_t pos = 0;
  while (pos <= target.size()) {
    size_t next = target.find('/', pos);
    if (next == std::string::npos) next = target.size();
    const std::string_view comp(target.data() + pos, next - pos);
    pos = next + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      if (--depth < 0) return false;
    } else {
      ++depth;
    }
  }
  return true;
}

}  // namespace

struct SandboxWriter::Current {
  std::string path;      // normalised
  bool skip = false;     // refused or not restorable: ignore its data
  bool writing = false;  // the content writer holds this entry's file
  uint64_t seq = 0;      // the entry's number
};

SandboxWriter::SandboxWriter(int root_fd, HashAlgo algo, const Limits& limits, RowSorter* rows,
                             VerifyReport* report, LiveProgress* progress)
    : root_fd_(root_fd), limits_(limits), report_(report), algo_(algo), rows_(rows), progress_(progress) {}

SandboxWriter::~SandboxWriter() {
  if (content_) content_->Finish();
  for (const auto& d : open_dirs_) close(d.second);
}

void SandboxWriter::set_sample(const SampleSpec* spec) {
  sample_ = spec;
}

// Hands the open file of the current entry to the content writer (once), or ends it.
void SandboxWriter::EndCurrentFile() {
  if (cur_ && cur_->writing) {
    content_->End();
    cur_->writing = false;
  }
}

void SandboxWriter::StopRun() {
  stop_ = true;
  if (queue_) queue_->Cancel();
}

void SandboxWriter::Refuse(const std::string& path, const std::string& why) {
  report_->Add(Finding{FindingKind::kUnsafeEntry, path, "refused: " + why, -1});
  if (cur_) cur_->skip = true;
}

void SandboxWriter::Consume(MessageQueue* queue) {
  queue_ = queue;
  // A sampled run's writer mostly waits for the reader, which passes over most entries.
  content_ = std::make_unique<ContentWriter>(algo_, queue, rows_, progress_ ? &progress_->bytes : nullptr, capped_bytes_,
                                             /*own_thread=*/sample_ == nullptr);
  std::deque<Message> batch;
  bool done = false;
  while (!stop_ && !done && queue->PopAll(&batch)) {
    for (auto& m : batch) {
      if (stop_) break;
      if (content_->failed()) {
        StopRun();
        break;
      }
      if (m.header) OnHeader(*m.header);
      if (m.size() > 0 || m.data_offset > 0) OnData(m);
      // The content writer records the damage in the file's row.
      if (m.entry_damaged && cur_ && cur_->writing) content_->MarkDamaged();
      if (m.finding) {
        if (m.finding->kind == FindingKind::kLimitExceeded) limit_hit_ = true;
        report_->Add(std::move(*m.finding));
      }
      if (m.end_of_entry) EndCurrentFile();
      queue->ReturnBuffer(std::move(m.data));
      if (m.end_of_stream) {
        done = true;
        break;
      }
    }
    batch.clear();
  }
  EndCurrentFile();
  content_->Finish();
  for (auto& f : content_->findings) report_->Add(std::move(f));
  content_->findings.clear();
  report_->bytes += content_->bytes;
  if (content_->limit_hit) limit_hit_ = true;
  if (content_->abort) {
    report_->status = RunStatus::kAborted;
    report_->abort_status = *content_->abort;
  }
}

int SandboxWriter::ParentDir(const std::string& rel, bool create, std::string* leaf, std::string* why) {
  const std::string parent = ParentOf(rel);
  *leaf = parent.empty() ? rel : rel.substr(parent.size() + 1);
  if (parent.empty()) return root_fd_;
  // What is already open of the path stays open; the rest of the old chain is closed.
  size_t pos = 0, depth = 0;
  while (pos < parent.size() && depth < open_dirs_.size()) {
    size_t next = parent.find('/', pos);
    if (next == std::string::npos) next = parent.size();
    if (parent.compare(pos, next - pos, open_dirs_[depth].first) != 0) break;
    pos = next + 1;
    ++depth;
  }
  while (open_dirs_.size() > depth) {
    close(open_dirs_.back().second);
    open_dirs_.pop_back();
  }
  int fd = open_dirs_.empty() ? root_fd_ : open_dirs_.back().second;
  while (pos < parent.size()) {
    size_t next = parent.find('/', pos);
    if (next == std::string::npos) next = parent.size();
    std::string comp = parent.substr(pos, next - pos);
    pos = next + 1;
    if (create && mkdirat(fd, comp.c_str(), 0700) == 0) report_->directories++;
    const int sub = openat(fd, comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
      const int e = errno;
      const std::string where = parent.substr(0, next);
      if (e == ELOOP || e == ENOTDIR)
        *why = "'" + EscapePath(where) + "' is a symlink or not a directory; writing through it is refused";
      else
        *why = "cannot open directory '" + EscapePath(where) + "': " + Errno(e);
      return -1;
    }
    open_dirs_.emplace_back(std::move(comp), sub);
    fd = sub;
  }
  return fd;
}

bool SandboxWriter::OpenNewFile(int parent, const std::string& leaf, const std::string& rel, uint32_t mode,
                                int* fd) {
  // Created with its final mode (always writable by us, so later checks can read it back):
  // the content writer then changes the mode only if the umask took something away.
  const mode_t create_mode = static_cast<mode_t>((mode & 0777) | 0600);
  for (int attempt = 0; attempt < 2; ++attempt) {
    *fd = openat(parent, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, create_mode);
    if (*fd >= 0) return true;
    if (errno != EEXIST) break;
    struct stat st {};
    if (fstatat(parent, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
      Refuse(rel, "a file would replace a directory of the same name");
      return false;
    }
    // A later entry of the same name replaces the earlier one, as tar does; a symlink is
    // removed, never followed.
    if (unlinkat(parent, leaf.c_str(), 0) != 0) break;
  }
  const int e = errno;
  report_->Add(Finding{FindingKind::kIoError, rel, "cannot create file in sandbox: " + Errno(e), -1});
  if ((e == ENOSPC || e == EDQUOT) && capped_bytes_ > 0) {
    report_->Add(Finding{FindingKind::kLimitExceeded, rel,
                         "limit exceeded: the tmpfs sandbox's size cap of " + std::to_string(capped_bytes_) +
                             " bytes is full",
                         -1, LimitKind::kSandboxSize});
    limit_hit_ = true;
    StopRun();
  } else if (e == ENOSPC || e == EDQUOT) {
    report_->status = RunStatus::kAborted;
    report_->abort_status = Status::Environment("sandbox file system full while restoring " + EscapePath(rel));
    StopRun();
  }
  return false;
}

void SandboxWriter::OnHeader(const EntryHeader& h) {
  EndCurrentFile();
  cur_ = std::make_unique<Current>();
  report_->entries++;
  cur_->seq = report_->entries;
  if (progress_) {
    progress_->entries.store(report_->entries, std::memory_order_relaxed);
    progress_->files.store(report_->files, std::memory_order_relaxed);
    std::lock_guard lock(progress_->mu);
    progress_->current = h.path;
  }
  auto add_row = [&](const std::string& path, RowKind kind, uint8_t flags) {
    Row r;
    r.path = path;
    r.seq = cur_->seq;
    r.kind = kind;
    r.flags = flags;
    if (kind == RowKind::kDirectory) {
      r.mode = h.mode;
      r.mtime_sec = h.mtime_sec;
      r.mtime_nsec = h.mtime_nsec;
    }
    rows_->Add(r);
  };

  std::string why;
  if (h.name_unreadable) {
    report_->Add(Finding{FindingKind::kCorrupt, h.path, "entry without a readable name skipped", h.offset});
    cur_->skip = true;
    return;
  }
  auto norm = NormaliseMemberPath(h.path, &why);
  if (!norm) {
    cur_->path = h.path;
    Refuse(h.path, why);
    return;
  }
  cur_->path = *norm;
  const std::string& rel = cur_->path;
  if (rel.empty()) {  // the archive's own root ("./")
    cur_->skip = true;
    return;
  }
  if (Depth(rel) > limits_.max_depth) {
    report_->Add(Finding{FindingKind::kLimitExceeded, rel,
                         "limit exceeded: path deeper than " + std::to_string(limits_.max_depth) + " levels", -1,
                         LimitKind::kDepth});
    limit_hit_ = true;
    cur_->skip = true;
    StopRun();
    return;
  }
  if (h.encrypted) {
    report_->Add(Finding{FindingKind::kEncrypted, rel, "encrypted, no passphrase configured", -1});
    cur_->skip = true;
    if (h.type == EntryType::kFile) add_row(rel, RowKind::kFile, kRowDamaged);
    return;
  }
  if (h.mode & 07000) {
    report_->Add(Finding{FindingKind::kModeCleared, rel, "setuid/setgid/sticky bits cleared", -1});
  }
  if (h.type == EntryType::kOther) {
    Refuse(rel, h.other_kind + " entries are never restored");
    return;
  }

  // A sampled run makes a directory only when an entry it restores needs it (ParentDir, mode
  // 0700), and leaves its mode and times alone: it restores the slice's files, not the tree.
  // The row stays, for the comparison with the manifest and the content checks.
  if (sample_ && h.type == EntryType::kDirectory) {
    add_row(rel, RowKind::kDirectory, kRowUnmade);
    cur_->skip = true;
    return;
  }
  std::string leaf;
  const int parent = ParentDir(rel, true, &leaf, &why);
  if (parent < 0) {
    Refuse(rel, why);
    return;
  }

  switch (h.type) {
    case EntryType::kDirectory: {
      if (mkdirat(parent, leaf.c_str(), 0700) == 0) {
        report_->directories++;
      } else {
        struct stat st {};
        if (errno != EEXIST || fstatat(parent, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISDIR(st.st_mode)) {
          Refuse(rel, "cannot create directory (a file or symlink of that name exists)");
          return;
        }
      }
      add_row(rel, RowKind::kDirectory, 0);
      cur_->skip = true;
      return;
    }
    case EntryType::kSymlink: {
      const std::string& target = h.link_target;
      if (target.empty()) return Refuse(rel, "symlink with an empty target");
      if (target.front() == '/') return Refuse(rel, "symlink to absolute path '" + EscapePath(target) + "' leaves the sandbox");
      if (!TargetStaysInside(ParentOf(rel), target))
        return Refuse(rel, "symlink target '" + EscapePath(target) + "' leaves the sandbox");
      for (int attempt = 0; attempt < 2; ++attempt) {
        if (symlinkat(target.c_str(), parent, leaf.c_str()) == 0) break;
        struct stat st {};
        if (errno != EEXIST || attempt == 1 ||
            (fstatat(parent, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) ||
            unlinkat(parent, leaf.c_str(), 0) != 0)
          return Refuse(rel, "cannot create symlink: " + Errno(errno));
      }
      report_->symlinks++;
      add_row(rel, RowKind::kSymlink, 0);
      cur_->skip = true;
      return;
    }
    case EntryType::kHardlink: {
      std::string twhy;
      auto target = NormaliseMemberPath(h.link_target, &twhy);
      if (!target || target->empty())
        return Refuse(rel, "hard link to '" + EscapePath(h.link_target) + "' outside the sandbox (" + twhy + ")");
      if (*target == rel) {  // a link to itself: nothing to do, and unlinking first would lose the file
        cur_->skip = true;
        return;
      }
      // A sampled run: the content is the target's; outside the slice, it was not restored.
      if (sample_ && !InSample(*sample_, *target)) {
        if (InSample(*sample_, rel)) sample_excluded_.insert(rel);
        cur_->skip = true;
        return;
      }
      // The sandbox started empty and only this run writes into it, so a regular file at the
      // target's path (reached without following links) was restored from this source.
      std::string tleaf;
      const int tcached = ParentDir(*target, false, &tleaf, &twhy);
      struct stat tst {};
      if (tcached < 0 || fstatat(tcached, tleaf.c_str(), &tst, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(tst.st_mode))
        return Refuse(rel, "hard link to '" + EscapePath(*target) + "', which is not a file restored from this source");
      // The target's directory, held open while ParentDir's cache moves to the link's own.
      const int tparent = tcached == root_fd_ ? root_fd_ : dup(tcached);
      const int lparent = ParentDir(rel, false, &leaf, &why);
      bool ok = lparent >= 0;
      for (int attempt = 0; ok && attempt < 2; ++attempt) {
        if (linkat(tparent, tleaf.c_str(), lparent, leaf.c_str(), 0) == 0) break;
        if (errno != EEXIST || attempt == 1 || unlinkat(lparent, leaf.c_str(), 0) != 0) ok = false;
      }
      const int e = errno;
      if (tparent != root_fd_) close(tparent);
      if (!ok) return Refuse(rel, "cannot create hard link: " + (lparent < 0 ? why : Errno(e)));
      report_->hardlinks++;
      report_->files++;
      if (h.size.value_or(0) > 0) {
        // Hard link carrying the content (cpio, some pax writers): rewrite it through the link.
        // The link's row comes from the content writer; the target's, and any earlier link's,
        // are taken from the file on disk at the end.
        const int fd = openat(lparent, leaf.c_str(), O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) return Refuse(rel, "cannot open hard link for its content: " + Errno(errno));
        add_row(*target, RowKind::kFile, kRowRehash);
        StartContent(fd, h);
      } else {
        // Shares the target's inode: its digest is the file's as it stands at the end.
        add_row(rel, RowKind::kFile, kRowRehash);
        cur_->skip = true;
      }
      return;
    }
    case EntryType::kFile: {
      int fd = -1;
      if (!OpenNewFile(parent, leaf, rel, h.mode, &fd)) {
        cur_->skip = true;
        return;
      }
      report_->files++;
      StartContent(fd, h);
      return;
    }
    case EntryType::kOther: return;
  }
}

void SandboxWriter::StartContent(int fd, const EntryHeader& h) {
  content_->Begin(FileStart{fd, cur_->seq, cur_->path, h.mode, h.mtime_sec, h.mtime_nsec, h.size, h.sparse});
  cur_->writing = true;
}

void SandboxWriter::OnData(Message& m) {
  if (!cur_ || cur_->skip || !cur_->writing) return;
  content_->Data(std::move(m.data), std::move(m.slice), m.data_offset);
}


void SandboxWriter::ApplyDirectory(const Row& d) {
  if (d.flags & kRowUnmade) return;
  // Order does not matter: setting a directory's mode or times does not touch its parent's.
  std::string leaf, why;
  const int parent = ParentDir(d.path, false, &leaf, &why);
  if (parent < 0) return;
  fchmodat(parent, leaf.c_str(), static_cast<mode_t>((d.mode & 0777) | 0700), 0);
  const timespec times[2] = {{d.mtime_sec, static_cast<long>(d.mtime_nsec)},
                             {d.mtime_sec, static_cast<long>(d.mtime_nsec)}};
  utimensat(parent, leaf.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

bool SandboxWriter::CheckSymlink(const Row& link) {
  if (!have_openat2_) return true;
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  // With ".." in the path, the kernel answers EAGAIN when a rename or mount anywhere on the
  // machine raced the walk: try again, and refuse what still cannot be checked.
  long fd = -1;
  for (int attempt = 0; attempt < 100; ++attempt) {
    fd = syscall(SYS_openat2, root_fd_, link.path.c_str(), &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN) break;
  }
  if (fd >= 0) {
    close(static_cast<int>(fd));
    return true;
  }
  if (errno == ENOSYS) {
    have_openat2_ = false;
    return true;
  }
  std::string reason;
  if (errno == EXDEV) reason = "refused: symlink chain resolves outside the sandbox (link removed)";
  else if (errno == EAGAIN)
    reason = "refused: the kernel could not finish resolving the symlink chain (EAGAIN, 100 times), so it "
             "cannot be shown to stay inside the sandbox (link removed)";
  else return true;  // dangling inside the sandbox: harmless
  std::string leaf, why;
  const int parent = ParentDir(link.path, false, &leaf, &why);
  if (parent >= 0) unlinkat(parent, leaf.c_str(), 0);
  report_->Add(Finding{FindingKind::kUnsafeEntry, link.path, reason, -1});
  return false;
}

void SandboxWriter::NoteSymlinkCheck() {
  if (have_openat2_)
    report_->isolation.Set(IsolationLayer::kSymlinkResolutionCheck, LayerState::kEnforced,
                           "every restored symlink resolved beneath the sandbox (openat2 RESOLVE_BENEATH)");
  else
    report_->isolation.Set(IsolationLayer::kSymlinkResolutionCheck, LayerState::kUnavailable,
                           "openat2 not supported by this kernel (lexical check only)");
}

int SandboxWriter::OpenForRead(const std::string& rel, std::string* why) {
  std::string leaf;
  const int parent = ParentDir(rel, false, &leaf, why);
  if (parent < 0) return -1;
  const int fd = openat(parent, leaf.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) *why = Errno(errno);
  return fd;
}

}  // namespace rp::detail
