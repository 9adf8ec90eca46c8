#include "rp/posix_io.h"

#include <unistd.h>

#include <cerrno>

namespace rp {

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

}  // namespace rp
