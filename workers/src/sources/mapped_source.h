// A regular source file read by mapping it, window by window, instead of copying it out with
// read().
//
// A plain tar's content is then hashed and written to the sandbox straight from the page
// cache: the archive reader lends each window to the writers as it lent DecodeAhead's blocks
// (a window stays mapped while an owner of it lives). On the benchmark's 1 GiB tar the read()
// copy was about a tenth of the run's CPU time, on a run that keeps both cores busy.
//
// A mapped file that shrinks while it is mapped raises SIGBUS on the next touch of a page past
// its new end. A process-wide handler (installed with the first window) puts a page of zeros
// there instead, so the touching thread goes on, and marks the source as changed: the run
// then ends aborted with "the source changed while it was read" (verify.cpp), whatever the
// zeros did to the hashes; a change the guard cannot see is caught when the run compares the
// file's size and modification time with those it began with (DescribeSourceChange). SIGBUS
// at any other address goes to the handler that was there before, or kills the process as it
// would have.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "sources/stream_decoder.h"

namespace rp::detail {

class MappedSource {
 public:
  static constexpr size_t kWindowBytes = 1024 * 1024;
  // Windows of one source that may be lent out at once. Each pins a megabyte of page cache in
  // the process (it counts in its RSS); the queue's byte cap does not bound them, since one
  // byte lent pins a whole window. Beyond this, content is copied as for other formats. At 12,
  // 152 of the benchmark tar's 1,014 windows were copied (the two queues hold up to 8 MiB of
  // slices, the writer's current file more); at 20, none, with the same peak RSS.
  static constexpr size_t kMaxLent = 20;

  // Maps `fd` (not owned; a regular file of `size` bytes when the run began) from offset 0.
  MappedSource(int fd, uint64_t size);
  MappedSource(const MappedSource&) = delete;
  MappedSource& operator=(const MappedSource&) = delete;

  // The next window: kData with its bytes and an owner that keeps it mapped (windows may
  // outlive this object); kEnd after `size` bytes; kReadError when mapping failed or the file
  // no longer has the bytes (shrank() then says so), with error() saying what and where.
  // *lend says whether the window may be lent out: false while kMaxLent other windows of this
  // source are still alive.
  DecodeOutcome Next(const void** data, size_t* n, std::shared_ptr<const void>* owner, bool* lend);

  // Set once a page of this source was found missing: the file shrank while it was read.
  // Shared, so it outlives the reader: a writer may touch a window after the reader is done.
  const std::shared_ptr<std::atomic<bool>>& shrank() const { return shrank_; }
  const std::string& error() const { return error_; }
  int read_errno() const { return read_errno_; }
  uint64_t position() const { return position_; }
  uint64_t size() const { return size_; }

  // Windows mapped now, by every MappedSource of the process (for tests: windows go away).
  static size_t windows_mapped();

 private:
  int fd_;
  uint64_t size_;
  uint64_t position_ = 0;
  bool final_ = false;
  std::shared_ptr<std::atomic<bool>> shrank_;
  std::shared_ptr<std::atomic<size_t>> alive_;  // windows of this source not yet unmapped
  std::string error_;
  int read_errno_ = 0;
};

// What a run saw of its source file when it opened it.
struct SourceStamp {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};
SourceStamp StampOf(const struct stat& st);

// After the writers are done: empty if the file open at `fd` is as `start` saw it and no
// page of a mapping of it vanished; else what changed, as words for the abort message (with
// `fd` -1, no descriptor was kept: only a vanished page counts). The
// SIGBUS guard alone does not catch everything: a write() from a vanished page fails with
// EFAULT and no signal, and a file cut within its last page loses no page at all.
std::string DescribeSourceChange(int fd, const SourceStamp& start, bool page_vanished);

}  // namespace rp::detail
