// Streaming hashes (rp/hash.h) against the real command-line tools: xxhsum 0.8.1 (-H0 XXH32,
// -H1 XXH64, -H2 XXH128, -H3 XXH3-64 printed as a BSD tag line), sha256sum, sha512sum, b2sum.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "rp/hash.h"
#include "testkit.h"

namespace rp {
namespace {

using test::Run;
using test::TempDir;

constexpr HashAlgo kAllAlgos[] = {HashAlgo::kXxh128, HashAlgo::kXxh3_64, HashAlgo::kXxh64, HashAlgo::kXxh32,
                                  HashAlgo::kSha256, HashAlgo::kSha512, HashAlgo::kBlake2b};

// The command that prints this algorithm's digest of a file, and whether it prints a BSD tag
// line ("TAG (name) = HEX", digest last) instead of a GNU line ("HEX  name", digest first).
struct ToolCommand {
  std::string cmd;
  bool tag_line;
};

ToolCommand ToolFor(HashAlgo algo) {
  switch (algo) {
    case HashAlgo::kXxh32: return {"xxhsum -H0", false};
    case HashAlgo::kXxh64: return {"xxhsum -H1", false};
    case HashAlgo::kXxh128: return {"xxhsum -H2", false};
    case HashAlgo::kXxh3_64: return {"xxhsum -H3", true};
    case HashAlgo::kSha256: return {"sha256sum", false};
    case HashAlgo::kSha512: return {"sha512sum", false};
    case HashAlgo::kBlake2b: return {"b2sum", false};
  }
  return {"false", false};
}

std::string ToolDigest(HashAlgo algo, const std::string& file) {
  const ToolCommand t = ToolFor(algo);
  std::string out;
  // stderr dropped: xxhsum writes progress there.
  const int rc = Run("{ " + t.cmd + " '" + file + "' 2>/dev/null; }", &out);
  EXPECT_EQ(rc, 0) << t.cmd << ": " << out;
  if (t.tag_line) {
    const size_t eq = out.rfind("= ");
    if (eq == std::string::npos) return "tool printed: " + out;
    std::string hex = out.substr(eq + 2);
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
    return hex;
  }
  return out.substr(0, out.find(' '));
}

std::string SeededBytes(uint64_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t v = rng();
    for (size_t k = 0; k < 8 && i + k < n; ++k) s[i + k] = static_cast<char>((v >> (8 * k)) & 0xFF);
  }
  return s;
}

// Feeds data in uneven chunks (1, 7, 4096, 65537, 13, 1 MiB + 3, ... repeated).
std::string HashInUnevenChunks(HashAlgo algo, const std::string& data) {
  static constexpr size_t kChunks[] = {1, 7, 4096, 65537, 13, (1u << 20) + 3, 0, 31, 255, 100000};
  Hasher h(algo);
  size_t pos = 0;
  size_t k = 0;
  while (pos < data.size()) {
    const size_t n = std::min(kChunks[k++ % std::size(kChunks)], data.size() - pos);
    h.Update(data.data() + pos, n);
    pos += n;
  }
  return h.FinishHex();
}

struct Sample {
  std::string name;
  std::string data;
};

std::vector<Sample> Samples() {
  return {
      {"empty", ""},
      {"one-byte", "x"},
      {"text", "The quick brown fox jumps over the lazy dog\n"},
      {"block-edge-64", SeededBytes(1, 64)},
      {"block-edge-128", SeededBytes(2, 128)},
      {"xxh3-midsize-240", SeededBytes(3, 240)},
      {"xxh3-stripe-1025", SeededBytes(4, 1025)},
      {"zeros-70000", std::string(70000, '\0')},
      {"random-5MiB-plus-17", SeededBytes(5, (5u << 20) + 17)},
  };
}

class hash_tools : public ::testing::TestWithParam<HashAlgo> {};

TEST_P(hash_tools, DigestsEqualTheRealToolForEmptySmallAndMultiMegabyteFiles) {
  const HashAlgo algo = GetParam();
  TempDir dir;
  for (const Sample& s : Samples()) {
    const std::string file = dir / s.name;
    test::WriteFile(file, s.data);
    const std::string expected = ToolDigest(algo, file);
    EXPECT_EQ(expected.size(), HashHexLength(algo)) << s.name;
    EXPECT_EQ(HashBytesHex(algo, s.data), expected) << s.name;
    EXPECT_EQ(HashInUnevenChunks(algo, s.data), expected) << s.name << " fed in uneven chunks";
  }
}

TEST_P(hash_tools, FinishHexResetsForTheNextStream) {
  const HashAlgo algo = GetParam();
  const std::string a = SeededBytes(11, 5000);
  const std::string b = SeededBytes(12, 300);
  Hasher h(algo);
  h.Update(a.data(), a.size());
  EXPECT_EQ(h.FinishHex(), HashBytesHex(algo, a));
  h.Update(b.data(), b.size());
  EXPECT_EQ(h.FinishHex(), HashBytesHex(algo, b));
  EXPECT_EQ(h.FinishHex(), HashBytesHex(algo, ""));
}

TEST_P(hash_tools, UpdateZerosEqualsFeedingZeroBytes) {
  const HashAlgo algo = GetParam();
  const std::string head = SeededBytes(21, 1000);
  for (const unsigned long long n : {0ull, 1ull, 63ull, 65535ull, 65536ull, 65537ull, 200003ull}) {
    Hasher h(algo);
    h.Update(head.data(), head.size());
    h.UpdateZeros(n);
    h.Update(head.data(), 17);
    const std::string expected =
        HashBytesHex(algo, head + std::string(static_cast<size_t>(n), '\0') + head.substr(0, 17));
    EXPECT_EQ(h.FinishHex(), expected) << n << " zeros";
  }
}

TEST_P(hash_tools, MovedHasherKeepsItsState) {
  const HashAlgo algo = GetParam();
  const std::string data = SeededBytes(31, 3000);
  Hasher a(algo);
  a.Update(data.data(), 1000);
  Hasher b(std::move(a));
  b.Update(data.data() + 1000, 2000);
  EXPECT_EQ(b.algo(), algo);
  EXPECT_EQ(b.FinishHex(), HashBytesHex(algo, data));
}

TEST_P(hash_tools, NameAndTagRoundTrip) {
  const HashAlgo algo = GetParam();
  EXPECT_EQ(ParseHashAlgo(HashAlgoName(algo)), algo);
  EXPECT_EQ(HashAlgoFromTag(HashAlgoTag(algo)), algo);
}

INSTANTIATE_TEST_SUITE_P(algos, hash_tools, ::testing::ValuesIn(kAllAlgos),
                         [](const ::testing::TestParamInfo<HashAlgo>& param_info) {
                           return std::string(HashAlgoName(param_info.param));
                         });

TEST(hash_names, CommandLineNamesAndTagsAreTheDocumentedOnes) {
  EXPECT_EQ(ParseHashAlgo("xxh128"), HashAlgo::kXxh128);
  EXPECT_EQ(ParseHashAlgo("sha256"), HashAlgo::kSha256);
  EXPECT_EQ(ParseHashAlgo("blake2b"), HashAlgo::kBlake2b);
  EXPECT_FALSE(ParseHashAlgo("md5").has_value());
  EXPECT_FALSE(ParseHashAlgo("").has_value());
  EXPECT_EQ(HashAlgoFromTag("XXH128"), HashAlgo::kXxh128);
  EXPECT_EQ(HashAlgoFromTag("XXH3"), HashAlgo::kXxh3_64);
  EXPECT_EQ(HashAlgoFromTag("SHA256"), HashAlgo::kSha256);
  EXPECT_EQ(HashAlgoFromTag("BLAKE2b"), HashAlgo::kBlake2b);
  EXPECT_FALSE(HashAlgoFromTag("MD5").has_value());
  EXPECT_EQ(HashHexLength(HashAlgo::kXxh32), 8u);
  EXPECT_EQ(HashHexLength(HashAlgo::kXxh64), 16u);
  EXPECT_EQ(HashHexLength(HashAlgo::kXxh3_64), 16u);
  EXPECT_EQ(HashHexLength(HashAlgo::kXxh128), 32u);
  EXPECT_EQ(HashHexLength(HashAlgo::kSha256), 64u);
  EXPECT_EQ(HashHexLength(HashAlgo::kSha512), 128u);
  EXPECT_EQ(HashHexLength(HashAlgo::kBlake2b), 128u);
}

TEST(hash_digests, AreLowerCaseHex) {
  for (const HashAlgo algo : kAllAlgos) {
    const std::string hex = HashBytesHex(algo, "abc");
    EXPECT_TRUE(std::all_of(hex.begin(), hex.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))
        << HashAlgoName(algo) << ": " << hex;
  }
}

}  // namespace
}  // namespace rp
