// Internal: the consumer side of a restore. Creates every entry relative to the sandbox's
// directory descriptor, one path component at a time with O_NOFOLLOW, so nothing is ever
// written outside the sandbox or through a symlink; a ContentWriter thread writes and hashes
// the files' bytes. Driven by the thread that owns the run; records() is valid after Consume.
#pragma once

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "pipeline/content_writer.h"
#include "pipeline/entry_stream.h"
#include "rp/hash.h"
#include "rp/report.h"
#include "pipeline/restore_job.h"
#include "pipeline/row_sorter.h"

namespace rp::detail {

class SandboxWriter {
 public:
  // What was restored goes to *rows, one row per entry (files from the content writer).
  SandboxWriter(int root_fd, HashAlgo algo, const Limits& limits, RowSorter* rows, VerifyReport* report,
                LiveProgress* progress = nullptr);
  ~SandboxWriter();
  SandboxWriter(const SandboxWriter&) = delete;
  SandboxWriter& operator=(const SandboxWriter&) = delete;

  // Consumes messages until the end of the stream. Cancels the queue when the run must stop
  // (limit hit, sandbox full); returns then.
  void Consume(MessageQueue* queue);
  // After Consume, for each final row: a directory's mode and times.
  void ApplyDirectory(const Row& dir);
  // After Consume: resolves a symlink in the kernel, confined beneath the sandbox root (the
  // lexical check at creation cannot see links chained through other links). An escaping
  // link is removed and reported; returns false then.
  bool CheckSymlink(const Row& link);
  // Records in the report whether CheckSymlink could use openat2.
  void NoteSymlinkCheck();

  bool limit_hit() const { return limit_hit_; }
  // A sampled run (the reader counts the figures and keeps the files outside the slice from
  // the writer): directories are made only as the slice's entries need them, and a hard link
  // to a file outside the slice is not restored.
  void set_sample(const SampleSpec* spec);
  // A sampled run: paths in the slice that were not restored because their content lives
  // outside it (a hard link to a file of another slice); the final pass does not miss them.
  bool SampleExcluded(const std::string& path) const { return sample_excluded_.count(path) > 0; }
  // The sandbox is a tmpfs of this size: running out of space is a limit hit.
  void set_capped_bytes(uint64_t bytes) { capped_bytes_ = bytes; }
  // Path (relative) of a restored file, opened read-only without following links.
  int OpenForRead(const std::string& rel, std::string* why);

 private:
  struct Current;
  void OnHeader(const EntryHeader& h);
  void OnData(Message& m);
  void Refuse(const std::string& path, const std::string& why);
  void StopRun();
  int ParentDir(const std::string& rel, bool create, std::string* leaf, std::string* why);
  bool OpenNewFile(int parent, const std::string& leaf, const std::string& rel, uint32_t mode, int* fd);
  void EndCurrentFile();
  void StartContent(int fd, const EntryHeader& h);

  const int root_fd_;
  const Limits limits_;
  VerifyReport* report_;
  MessageQueue* queue_ = nullptr;
  const HashAlgo algo_;
  std::unique_ptr<ContentWriter> content_;
  std::unique_ptr<Current> cur_;
  RowSorter* rows_;
  LiveProgress* progress_;
  uint64_t capped_bytes_ = 0;
  bool have_openat2_ = true;
  // The directories open from the root down to the last parent ParentDir returned: each
  // component's name and descriptor. A path sharing a prefix with it opens only the rest.
  std::vector<std::pair<std::string, int>> open_dirs_;
  bool limit_hit_ = false;
  bool stop_ = false;
  const SampleSpec* sample_ = nullptr;
  std::unordered_set<std::string> sample_excluded_;
};

}  // namespace rp::detail
