#include "rp/posix_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

namespace rp {

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

bool WriteToExistingFile(const std::string& path, std::string_view text) {
  const UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return false;
  int err = 0;
  if (WriteAll(fd.get(), text, &err)) return true;
  errno = err;
  return false;
}

bool MakePipe(UniqueFd* read_end, UniqueFd* write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end->Reset(fds[0]);
  write_end->Reset(fds[1]);
  return true;
}

bool WriteAll(int fd, const void* data, size_t len, int* err) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    const ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

bool CopyFileTo(const std::string& path, int fd, int* err) {
  UniqueFd in(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) {
    *err = errno;
    return false;
  }
  std::vector<char> buf(1u << 16);
  for (;;) {
    const ssize_t n = ReadSome(in.get(), buf.data(), buf.size());
    if (n < 0) {
      *err = errno;
      return false;
    }
    if (n == 0) return true;
    if (!WriteAll(fd, buf.data(), static_cast<size_t>(n), err)) return false;
  }
}

ssize_t ReadSome(int fd, void* buf, size_t len) {
  ssize_t n;
  do {
    n = read(fd, buf, len);
  } while (n < 0 && errno == EINTR);
  return n;
}

ssize_t ReadSomeAt(int fd, void* buf, size_t len, off_t offset) {
  ssize_t n;
  do {
    n = pread(fd, buf, len, offset);
  } while (n < 0 && errno == EINTR);
  return n;
}

namespace {

std::string Errno(int e) { return std::strerror(e); }

}  // namespace

Status AtomicFile::Create(const std::string& path, AtomicFile* out) {
  std::string tmp = path + ".tmp-XXXXXX";
  const int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return Status::Environment("cannot create a file beside " + path + ": " + Errno(errno));
  AtomicFile f;
  f.fd_.Reset(fd);
  f.path_ = path;
  f.tmp_ = std::move(tmp);
  *out = std::move(f);
  return Status::Ok();
}

AtomicFile::~AtomicFile() { Discard(); }

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : fd_(std::move(other.fd_)), path_(std::move(other.path_)), tmp_(std::exchange(other.tmp_, {})) {}

AtomicFile& AtomicFile::operator=(AtomicFile&& other) noexcept {
  if (this != &other) {
    Discard();
    fd_ = std::move(other.fd_);
    path_ = std::move(other.path_);
    tmp_ = std::exchange(other.tmp_, {});
  }
  return *this;
}

Status AtomicFile::Write(std::string_view data) {
  int err = 0;
  if (!WriteAll(fd_.get(), data, &err)) return Status::Environment("cannot write " + path_ + ": " + Errno(err));
  return Status::Ok();
}

Status AtomicFile::Commit(mode_t mode) {
  if (!fd_) return Status::Environment("cannot write " + path_ + ": nothing to commit");
  if (fchmod(fd_.get(), mode) != 0 || fsync(fd_.get()) != 0 || rename(tmp_.c_str(), path_.c_str()) != 0) {
    const Status s = Status::Environment("cannot write " + path_ + ": " + Errno(errno));
    Discard();
    return s;
  }
  tmp_.clear();
  fd_.Reset();
  // The rename itself is durable only once the directory is.
  const size_t slash = path_.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path_.substr(0, slash);
  UniqueFd d(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d || fsync(d.get()) != 0) return Status::Environment("cannot sync the directory of " + path_ + ": " + Errno(errno));
  return Status::Ok();
}

void AtomicFile::Discard() {
  if (!tmp_.empty()) unlink(tmp_.c_str());
  tmp_.clear();
  fd_.Reset();
}

Status WriteFileAtomically(const std::string& path, std::string_view text, mode_t mode) {
  AtomicFile f;
  if (Status s = AtomicFile::Create(path, &f); !s.ok()) return s;
  if (Status s = f.Write(text); !s.ok()) return s;
  return f.Commit(mode);
}

std::string TempDirectory() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp && tmp[0] == '/' ? tmp : "/tmp";
}

Status MakeDirectories(const std::string& path, mode_t mode) {
  if (path.empty()) return Status::Usage("an empty directory path");
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') continue;
    const std::string part = path.substr(0, i);
    if (mkdir(part.c_str(), mode) != 0 && errno != EEXIST)
      return Status::Environment("cannot create directory " + part + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status::Environment(path + " exists and is not a directory");
  return Status::Ok();
}

bool ReadDirNames(int fd, std::vector<DirName>* out) {
  alignas(8) char buf[32768];
  for (;;) {
    const ssize_t n = getdents64(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    for (ssize_t at = 0; at < n;) {
      const auto* d = reinterpret_cast<const dirent64*>(buf + at);
      at += d->d_reclen;
      const char* name = d->d_name;
      if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
      out->push_back(DirName{name, d->d_type, static_cast<ino_t>(d->d_ino)});
    }
  }
}

}  // namespace rp
