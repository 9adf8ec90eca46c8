// Internal: what a restore remembers about each entry, and the manifest's lines, sorted by
// path with bounded memory. Rows are kept in one in-memory run of at most `budget` bytes;
// a full run is sorted and appended to an unnamed spill file in the sandbox (O_TMPFILE, gone
// when closed), and reading merges the runs. Memory is the budget plus one read buffer per
// spilled run, whatever the number of entries. Add() may be called from several threads;
// reading starts after the last Add().
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "rp/status.h"

namespace rp::detail {

enum class RowKind : uint8_t { kFile, kDirectory, kSymlink, kManifest };

enum RowFlags : uint8_t {
  kRowDamaged = 1,  // the content is known to be bad (error reported) or was never restored
  kRowRehash = 2,   // hard link: the digest is that of the file on disk at the end of the run
  kRowUnmade = 4,   // a directory a sampled run did not make itself: its mode and times are not set
};

struct Row {
  std::string path;   // normalised member path, raw bytes
  uint64_t seq = 0;   // arrival order (entry number, manifest line): the last of a path wins
  RowKind kind = RowKind::kFile;
  uint8_t flags = 0;
  uint64_t size = 0;
  std::string hex;  // digest, lower-case hex
  uint32_t mode = 0;
  int64_t mtime_sec = 0;
  int64_t mtime_nsec = 0;
};

class RowSorter {
 public:
  static constexpr size_t kDefaultBudget = 8u << 20;

  // Spill files are created in the directory `dir_fd` (not owned; must outlive the sorter).
  RowSorter(int dir_fd, size_t budget = kDefaultBudget);
  ~RowSorter();
  RowSorter(const RowSorter&) = delete;
  RowSorter& operator=(const RowSorter&) = delete;

  void Add(const Row& row);
  // First spill failure (disk full, ...); rows added after it are lost.
  const Status& status() const { return status_; }
  uint64_t rows() const { return rows_; }
  size_t spilled_runs() const { return runs_.size(); }

  // Reading: rows in (path, seq) order. Call Rewind() after the last Add(); calling it again
  // starts the reading over (the in-memory run is sorted only once).
  void Rewind();
  bool Next(Row* row);

 private:
  struct Cursor;
  void SpillLocked();
  bool OpenSpillLocked();

  const int dir_fd_;
  const size_t budget_;
  std::mutex mu_;
  std::string arena_;           // encoded rows of the current run
  std::vector<uint32_t> offs_;  // where each row of the current run starts
  bool sorted_ = false;         // offs_ is in row order (Rewind sorted it, nothing added since)
  int spill_fd_ = -1;
  uint64_t spill_end_ = 0;
  struct Run {
    uint64_t start, bytes;
  };
  std::vector<Run> runs_;
  uint64_t rows_ = 0;
  Status status_;
  std::vector<std::unique_ptr<Cursor>> heap_;
};

// Reads a sorted row stream and returns, for each path, only its last row (highest seq).
class LastPerPath {
 public:
  explicit LastPerPath(RowSorter* src) : src_(src) {}
  bool Next(Row* row);

 private:
  RowSorter* src_;
  Row ahead_;
  bool have_ahead_ = false;
  bool started_ = false;
};

}  // namespace rp::detail
