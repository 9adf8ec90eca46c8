// Internal: the consumer side of a restore. Creates every entry relative to the sandbox's
// directory descriptor, one path component at a time with O_NOFOLLOW, so nothing is ever
// written outside the sandbox or through a symlink; hashes content while writing it.
// Single-threaded: one writer per run, driven by the thread that owns the run.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "entry_stream.h"
#include "rp/hash.h"
#include "rp/report.h"

namespace rp::detail {

struct RestoredContent {
  uint64_t size = 0;
  std::string hex;
};

struct RestoredRecord {
  EntryType type = EntryType::kFile;  // kHardlink entries are recorded as kFile
  std::shared_ptr<RestoredContent> content;  // files only; shared by hard links
  bool damaged = false;  // an error was reported for this entry's content
};

class SandboxWriter {
 public:
  SandboxWriter(int root_fd, HashAlgo algo, const Limits& limits, VerifyReport* report);
  ~SandboxWriter();
  SandboxWriter(const SandboxWriter&) = delete;
  SandboxWriter& operator=(const SandboxWriter&) = delete;

  // Consumes messages until the end of the stream. Cancels the queue when the run must stop
  // (limit hit, sandbox full); returns then.
  void Consume(MessageQueue* queue);
  // Applies directory modes and times, and checks every symlink resolves inside the sandbox.
  void Finalise();

  const std::unordered_map<std::string, RestoredRecord>& records() const { return records_; }
  bool limit_hit() const { return limit_hit_; }
  // Path (relative) of a restored file, opened read-only without following links.
  int OpenForRead(const std::string& rel, std::string* why);

 private:
  struct Current;
  void OnHeader(const EntryHeader& h);
  void OnData(const Message& m);
  void OnEndOfEntry();
  void Refuse(const std::string& path, const std::string& why);
  void StopRun();
  int ParentDir(const std::string& rel, bool create, std::string* leaf, std::string* why);
  bool OpenNewFile(int parent, const std::string& leaf, const std::string& rel, int* fd);
  void CloseCurrentFile();

  const int root_fd_;
  const Limits limits_;
  VerifyReport* report_;
  MessageQueue* queue_ = nullptr;
  Hasher hasher_;
  std::unique_ptr<Current> cur_;
  std::unordered_map<std::string, RestoredRecord> records_;
  struct DirMeta {
    std::string path;
    uint32_t mode;
    int64_t mtime_sec;
    long mtime_nsec;
  };
  std::vector<DirMeta> dirs_;
  std::vector<std::string> symlinks_;
  std::string cached_parent_;
  int cached_parent_fd_ = -1;
  bool limit_hit_ = false;
  bool stop_ = false;
};

}  // namespace rp::detail
