// Small POSIX I/O pieces every module shares: an owning descriptor, writes that finish,
// reads retried on EINTR, a file published atomically, and the one temporary directory.
// Thread-safe (a UniqueFd or AtomicFile belongs to one thread at a time).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "rp/status.h"

namespace rp {

// Owns a file descriptor and closes it when it goes: no manual close() on any path.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(other.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  // Gives the descriptor up without closing it.
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes the descriptor held (if any) and holds `fd` instead.
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Writes `text` into the existing file at `path` (a /proc or cgroup control file): opened
// write-only, never created or truncated. False with errno set.
bool WriteToExistingFile(const std::string& path, std::string_view text);

// A pipe, both ends close-on-exec. False with errno set.
bool MakePipe(UniqueFd* read_end, UniqueFd* write_end);

// Writes all `len` bytes, retrying short writes and EINTR. On failure returns false and
// sets *err to errno.
bool WriteAll(int fd, const void* data, size_t len, int* err);
inline bool WriteAll(int fd, std::string_view data, int* err) { return WriteAll(fd, data.data(), data.size(), err); }

// Copies the whole file at `path` to `fd`. On failure returns false and sets *err to errno.
bool CopyFileTo(const std::string& path, int fd, int* err);

// One read(2), retried on EINTR: the bytes read (0 at the end of the file), or -1 with errno.
ssize_t ReadSome(int fd, void* buf, size_t len);
// The same with pread(2), at `offset`.
ssize_t ReadSomeAt(int fd, void* buf, size_t len, off_t offset);

// One entry of a directory listing.
struct DirName {
  std::string name;
  unsigned char type;  // DT_* (DT_UNKNOWN where the file system does not say)
  ino_t ino;
};
// Every entry of the directory open at `fd` except . and .., in listing order, read with
// getdents64 from the descriptor's current position: no DIR stream, whose set-up costs two
// more system calls per directory. False with errno set when a read fails (*out then holds
// what was read before).
bool ReadDirNames(int fd, std::vector<DirName>* out);

// A file written beside its final name and published whole: Commit() gives it its mode,
// fsyncs it, renames it into place and fsyncs the directory, so a reader sees the old file or
// the new one, never half of one, and after a crash the new one is there or the old one is.
// Dropped without Commit() (or when Commit fails), the temporary file is removed.
class AtomicFile {
 public:
  // Creates "<path>.tmp-XXXXXX" beside `path`.
  static Status Create(const std::string& path, AtomicFile* out);
  AtomicFile() = default;
  ~AtomicFile();
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&& other) noexcept;

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  Status Write(std::string_view data);
  Status Commit(mode_t mode = 0644);
  void Discard();

 private:
  UniqueFd fd_;
  std::string path_, tmp_;
};

// Writes `text` to `path` through an AtomicFile.
Status WriteFileAtomically(const std::string& path, std::string_view text, mode_t mode = 0644);

// mkdir -p: creates `path` and its missing parents with `mode`; an existing directory is fine.
Status MakeDirectories(const std::string& path, mode_t mode);

// The directory for temporary files: $TMPDIR when set and absolute, else /tmp.
std::string TempDirectory();

}  // namespace rp
