// Streaming content hashes for verification: XXH3-128 (default), the other xxHash
// variants xxhsum prints, and SHA-256/SHA-512/BLAKE2b through OpenSSL. A Hasher is
// single-threaded; create one per stream. Digests are lower-case hex in the byte order the
// matching command-line tool prints (xxhsum, sha256sum, b2sum).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace rp {

enum class HashAlgo { kXxh128, kXxh3_64, kXxh64, kXxh32, kSha256, kSha512, kBlake2b };

// "xxh128", "sha256", ...: the names used on the command line and in JSON.
std::string_view HashAlgoName(HashAlgo algo);
std::optional<HashAlgo> ParseHashAlgo(std::string_view name);
// The tag BSD-style lines carry: "XXH128", "SHA256", "BLAKE2b", ...
std::string_view HashAlgoTag(HashAlgo algo);
std::optional<HashAlgo> HashAlgoFromTag(std::string_view tag);
// Number of hex digits in a digest of this algorithm.
size_t HashHexLength(HashAlgo algo);

class Hasher {
 public:
  explicit Hasher(HashAlgo algo);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  HashAlgo algo() const { return algo_; }
  void Update(const void* data, size_t len);
  void UpdateZeros(unsigned long long count);  // for holes in sparse files
  // Returns the hex digest and resets the hasher for the next stream.
  std::string FinishHex();

 private:
  struct State;
  void Reset();
  HashAlgo algo_;
  std::unique_ptr<State> state_;
};

std::string HashBytesHex(HashAlgo algo, std::string_view data);

}  // namespace rp
