// Internal: the consumer side of a restore. Creates every entry relative to the sandbox's
// directory descriptor, one path component at a time with O_NOFOLLOW, so nothing is ever
// written outside the sandbox or through a symlink; a ContentWriter thread writes and hashes
// the files' bytes. Driven by the thread that owns the run; records() is valid after Consume.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "content_writer.h"
#include "entry_stream.h"
#include "rp/hash.h"
#include "rp/report.h"

namespace rp::detail {

struct RestoredRecord {
  EntryType type = EntryType::kFile;  // kHardlink entries are recorded as kFile
  std::shared_ptr<RestoredContent> content;  // files only; shared by hard links
  bool damaged = false;  // an error was reported for this entry's content

  bool content_damaged() const { return damaged || !content || content->damaged; }
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
  void OnData(Message& m);
  void Refuse(const std::string& path, const std::string& why);
  void StopRun();
  int ParentDir(const std::string& rel, bool create, std::string* leaf, std::string* why);
  bool OpenNewFile(int parent, const std::string& leaf, const std::string& rel, int* fd);
  void EndCurrentFile();
  void StartContent(int fd, const EntryHeader& h);

  const int root_fd_;
  const Limits limits_;
  VerifyReport* report_;
  MessageQueue* queue_ = nullptr;
  const HashAlgo algo_;
  std::unique_ptr<ContentWriter> content_;
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
