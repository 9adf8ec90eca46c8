// Small POSIX I/O helpers shared by every module that writes to a descriptor. Thread-safe.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string_view>

namespace rp {

// Writes all `len` bytes, retrying short writes and EINTR. On failure returns false and
// sets *err to errno.
bool WriteAll(int fd, const void* data, size_t len, int* err);
inline bool WriteAll(int fd, std::string_view data, int* err) { return WriteAll(fd, data.data(), data.size(), err); }

// One read(2), retried on EINTR: the bytes read (0 at the end of the file), or -1 with errno.
ssize_t ReadSome(int fd, void* buf, size_t len);
// The same with pread(2), at `offset`.
ssize_t ReadSomeAt(int fd, void* buf, size_t len, off_t offset);

}  // namespace rp
