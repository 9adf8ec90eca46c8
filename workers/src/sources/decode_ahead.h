// Runs a decoder on a thread of its own, a few blocks ahead of libarchive.
//
// The reader thread parses the archive and copies every entry's bytes out; with the decoding
// on the same thread, that thread alone was the critical path of a compressed source. Here
// the decoder runs ahead of the reader, which takes the decoded blocks in order, at most
// kAhead of them waiting.
//
// Blocks are lent, not copied: each block Next() hands out comes with an owner, and its memory
// goes back to the decoder once every copy of its owner is gone. The archive reader keeps
// copies in the messages whose bytes lie in the block (libarchive hands out a tar's content in
// place), so those bytes reach the sandbox writer without a copy.
//  - A StreamDecoder (gzip) decodes into blocks of kBlockBytes from a pool: at most kMaxBlocks
//    exist, allocated as needed; when all are lent the decoder waits for one to come back.
//  - A LendingDecoder (zstd) decodes into memory of its own, which bounds itself and waits the
//    same way; its blocks are what it lends.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "sources/stream_decoder.h"

namespace rp::detail {

class DecodeAhead {
 public:
  static constexpr size_t kBlockBytes = 256 * 1024;
  static constexpr size_t kAhead = 4;
  static constexpr size_t kMaxBlocks = 32;

  // Starts the decoder thread; without one (the process may not create threads) it decodes on
  // the caller's thread, in Next().
  explicit DecodeAhead(std::unique_ptr<StreamDecoder> decoder);
  explicit DecodeAhead(std::unique_ptr<LendingDecoder> decoder);
  ~DecodeAhead();  // stops the decoder thread after the block it is decoding
  DecodeAhead(const DecodeAhead&) = delete;
  DecodeAhead& operator=(const DecodeAhead&) = delete;

  // The next decoded bytes (kData), or the stream's final outcome, which every later call
  // returns again. Bytes decoded before an error come first. The bytes stay valid until the
  // next call, and beyond it for as long as a copy of *owner (if asked for) lives; owners may
  // outlive this object.
  DecodeOutcome Next(const void** data, size_t* size, std::shared_ptr<const void>* owner = nullptr);

  // Set once Next() has returned a final outcome (empty and 0 before: the decoder may still be
  // writing its own).
  const std::string& error() const { return error_; }
  int read_errno() const { return read_errno_; }
  // Compressed bytes behind what Next() has handed out so far.
  uint64_t compressed_bytes() const { return compressed_; }
  // The first bytes handed out (up to 4): what the decoded stream starts with.
  const std::string& head() const { return head_; }
  // Pool blocks allocated so far (for tests: the bound holds; 0 for a LendingDecoder).
  size_t blocks_allocated() const;

 private:
  struct Shared;  // the decoder, its thread, the pool and the queue of decoded blocks
  void Start();
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<const void> held_;  // the block handed out last
  std::optional<DecodeOutcome> final_;
  uint64_t compressed_ = 0;
  std::string head_;
  std::string error_;
  int read_errno_ = 0;
};

}  // namespace rp::detail
