// Runs a StreamDecoder on a thread of its own, a few blocks ahead of libarchive.
//
// The reader thread parses the archive and copies every entry's bytes out; with the decoding
// on the same thread, that thread alone was the critical path of a compressed source. Here
// the decoder fills fixed blocks (kBlocks x kBlockBytes, allocated once) that the reader
// takes in order; a block goes back to the decoder when the reader asks for the next one, so
// what Next() hands out stays valid until then, as libarchive's read callback requires.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "stream_decoder.h"

namespace rp::detail {

class DecodeAhead {
 public:
  static constexpr size_t kBlockBytes = 256 * 1024;
  static constexpr size_t kBlocks = 4;

  // Starts the decoder thread; without one (the process may not create threads) it decodes on
  // the caller's thread, in Next().
  explicit DecodeAhead(std::unique_ptr<StreamDecoder> decoder);
  ~DecodeAhead();  // stops the decoder thread after the block it is decoding
  DecodeAhead(const DecodeAhead&) = delete;
  DecodeAhead& operator=(const DecodeAhead&) = delete;

  // The next decoded bytes (kData, valid until the next call), or the stream's final outcome,
  // which every later call returns again. Bytes decoded before an error come first.
  DecodeOutcome Next(const void** data, size_t* size);

  // Valid once Next() has returned a final outcome.
  const std::string& error() const { return error_; }
  int read_errno() const { return read_errno_; }
  // Compressed bytes behind what Next() has handed out so far.
  uint64_t compressed_bytes() const { return compressed_; }
  // The first bytes handed out (up to 4): what the decoded stream starts with.
  const std::string& head() const { return head_; }

 private:
  struct Block {
    std::vector<uint8_t> bytes;
    size_t size = 0;
    DecodeOutcome outcome = DecodeOutcome::kData;
    uint64_t compressed = 0;  // the decoder's compressed_bytes() after this block
  };
  void Fill(Block* b);  // decodes one block (and, at a final outcome, notes the error)
  void Run();           // the decoder thread

  std::unique_ptr<StreamDecoder> decoder_;
  std::vector<Block> blocks_;
  std::mutex mu_;
  std::condition_variable to_decoder_, to_reader_;
  std::deque<size_t> free_, ready_;
  std::optional<size_t> held_;  // the block the reader was handed last
  bool stop_ = false;
  std::thread thread_;
  // Reader side.
  std::optional<DecodeOutcome> final_;
  uint64_t compressed_ = 0;
  std::string head_;
  // Written by the decoder before it queues the final block; read after it is taken.
  std::string error_;
  int read_errno_ = 0;
};

}  // namespace rp::detail
