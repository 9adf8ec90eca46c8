// A decoder of one compressed source file (gzip by ISA-L, zstd by libzstd), decoded by us
// before libarchive sees the bytes, so libarchive reads the archive inside as if uncompressed.
// DecodeAhead (decode_ahead.h) runs one on a thread of its own.
//
// Two kinds: a StreamDecoder decodes into blocks it is given (gzip); a LendingDecoder decodes
// into memory of its own and lends it out (zstd, whose frames are decoded in place in a ring
// that also serves as their window, so no byte is copied out of it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace rp::detail {

enum class DecodeOutcome {
  kData,       // bytes were decoded
  kEnd,        // the whole stream is decoded and checked
  kCorrupt,    // error() says what and where; the stream cannot go on
  kTruncated,  // the file ends inside the stream
  kReadError,  // reading the file failed; read_errno() says why
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual const std::string& error() const = 0;
  virtual int read_errno() const = 0;
  // Bytes of the file taken in so far: the compressed offset of an error.
  virtual uint64_t compressed_bytes() const = 0;
};

class StreamDecoder : public Decoder {
 public:
  // Decodes into out[0, cap): kData with *n > 0 bytes, or a final outcome with *n == 0. The end
  // and every error are final: later calls return the same outcome. Bytes decoded before an
  // error come first, with kData; the error comes on the next call.
  virtual DecodeOutcome Decode(uint8_t* out, size_t cap, size_t* n) = 0;
};

class LendingDecoder : public Decoder {
 public:
  // The next decoded bytes, at *data, lent: they stay as they are for as long as a copy of
  // *owner lives (owners may outlive the decoder), and the decoder waits for their memory
  // when it needs it back. Outcomes as StreamDecoder::Decode's.
  virtual DecodeOutcome Lend(const void** data, size_t* n, std::shared_ptr<const void>* owner) = 0;
  // From another thread: a Lend() waiting for lent memory returns at once (kData, *n == 0),
  // and so does every later call. For a reader that stops early while owners are still held.
  virtual void Stop() = 0;
};

}  // namespace rp::detail
