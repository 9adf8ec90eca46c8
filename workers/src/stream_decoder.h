// A decoder of one compressed source file (gzip by ISA-L, zstd by libzstd), decoded by us
// before libarchive sees the bytes, so libarchive reads the archive inside as if uncompressed.
// DecodeAhead (decode_ahead.h) runs one on a thread of its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rp::detail {

enum class DecodeOutcome {
  kData,       // bytes were decoded
  kEnd,        // the whole stream is decoded and checked
  kCorrupt,    // error() says what and where; the stream cannot go on
  kTruncated,  // the file ends inside the stream
  kReadError,  // reading the file failed; read_errno() says why
};

class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // Decodes into out[0, cap): kData with *n > 0 bytes, or a final outcome with *n == 0. The end
  // and every error are final: later calls return the same outcome. Bytes decoded before an
  // error come first, with kData; the error comes on the next call.
  virtual DecodeOutcome Decode(uint8_t* out, size_t cap, size_t* n) = 0;
  virtual const std::string& error() const = 0;
  virtual int read_errno() const = 0;
  // Bytes of the file taken in so far: the compressed offset of an error.
  virtual uint64_t compressed_bytes() const = 0;
};

}  // namespace rp::detail
