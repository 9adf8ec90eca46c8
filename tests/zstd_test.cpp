// zstd sources, decoded by libzstd on a thread of their own before libarchive sees them
// (workers/src/zstd_source.h, decode_ahead.h): the decoder gives back exactly what zstd(1)
// compressed, whatever its read size, across frames and skippable frames; every kind of damage
// to a frame, its checksum or what follows the archive's end is a finding, not a pass; a range
// lent from its ring is never decoded into; and the decoder thread never outlives or blocks the
// reader that stops early. DecodeAhead's pool of blocks is tested with gzip, which uses it.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <filesystem>
#include <thread>

#include "sources/decode_ahead.h"
#include "engine_support.h"
#include "sample_tar_verify.h"
#include "pipeline/entry_stream.h"
#include "sources/gzip_source.h"
#include "sources/mapped_source.h"
#include "sources/zstd_source.h"

namespace rp::test {
namespace {

using detail::DecodeAhead;
using detail::DecodeOutcome;
using detail::MappedSource;
using detail::ZstdSource;

std::string Zstd(const TempDir& dir, const std::string& name, const std::string& data, const std::string& flags = "") {
  WriteFile(dir / name, data);
  std::string out;
  EXPECT_EQ(RunShell("zstd -q -f " + flags + " " + (dir / name) + " -o " + (dir / (name + ".zst")), &out), 0) << out;
  return ReadFile(dir / (name + ".zst"));
}

// A skippable frame (magic 0x184D2A50..5F, then a 4-byte length) holding `payload`.
std::string Skippable(const std::string& payload) {
  std::string f = "\x5a\x2a\x4d\x18";
  const uint32_t n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) f += static_cast<char>((n >> (8 * i)) & 0xff);
  return f + payload;
}

// Bytes zstd cannot shrink (it stores them as raw blocks), so compressed and decoded offsets
// go alike.
std::string Noise(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (char& c : s) {
    seed = seed * 1664525u + 1013904223u;
    c = static_cast<char>(seed >> 24);
  }
  return s;
}

std::string Pseudorandom(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    s[i] = (i / 4096) % 2 ? static_cast<char>(seed >> 24) : static_cast<char>('a' + (seed >> 28));
  }
  return s;
}

struct Decoded {
  DecodeOutcome outcome;
  std::string bytes;
  std::string error;
  uint64_t compressed = 0;
};

// Read sizes for DecodeAll: kMapped takes the input from the mapped file, 1 MiB windows, as the
// archive reader does for a regular file.
constexpr size_t kMapped = ~size_t{0};

// Decodes the whole file through DecodeAhead, as the archive reader does, reading at most
// `max_read` bytes at a time (0: no cap; kMapped: from the mapped file).
Decoded DecodeAll(const std::string& path, size_t max_read = 0) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0);
  Decoded d;
  {
    std::unique_ptr<ZstdSource> source =
        max_read == kMapped
            ? std::make_unique<ZstdSource>(fd, 0, std::make_unique<MappedSource>(fd, std::filesystem::file_size(path)))
            : std::make_unique<ZstdSource>(fd, max_read);
    DecodeAhead ahead(std::move(source));
    const void* p = nullptr;
    size_t n = 0;
    while ((d.outcome = ahead.Next(&p, &n)) == DecodeOutcome::kData) d.bytes.append(static_cast<const char*>(p), n);
    d.error = ahead.error();
    d.compressed = ahead.compressed_bytes();
  }
  close(fd);
  return d;
}

TEST(ZstdSource, DecodesEveryFrameExactlyWhateverTheReadSize) {
  TempDir dir;
  // The first frame spans three mapped windows.
  const std::string a = Pseudorandom(2500 * 1024, 1), b = Pseudorandom(3000, 2), c = Pseudorandom(70 * 1024, 3);
  // A frame with its checksum, a skippable frame, a frame without a checksum, an empty frame.
  const std::string file = Zstd(dir, "a", a) + Skippable("not data") + Zstd(dir, "b", b, "--no-check") +
                           Zstd(dir, "e", "") + Zstd(dir, "c", c);
  WriteFile(dir / "all.zst", file);
  for (const size_t read_size : {size_t{1}, size_t{7}, size_t{4096}, size_t{0}, kMapped}) {
    const Decoded d = DecodeAll(dir / "all.zst", read_size);
    EXPECT_EQ(d.outcome, DecodeOutcome::kEnd) << "read size " << read_size << ": " << d.error;
    EXPECT_TRUE(d.bytes == a + b + c) << "read size " << read_size << ": " << d.bytes.size() << " bytes";
    EXPECT_EQ(d.compressed, file.size()) << "read size " << read_size;
  }
  // The decoder alone counts the frames it finished (the skippable one included).
  const int fd = open((dir / "all.zst").c_str(), O_RDONLY | O_CLOEXEC);
  ZstdSource z(fd);
  const void* p = nullptr;
  size_t n = 0;
  std::shared_ptr<const void> owner;
  while (z.Lend(&p, &n, &owner) == DecodeOutcome::kData) {
  }
  EXPECT_EQ(z.frames_done(), 5u);
  close(fd);
}

TEST(ZstdSource, EachDamageIsNamed) {
  TempDir dir;
  const std::string data = Pseudorandom(600 * 1024, 7);
  const std::string z = Zstd(dir, "d", data);
  struct Case {
    std::string what;
    std::string bytes;
    DecodeOutcome expect;
    std::string says;
  };
  std::string checksum = z, middle = z, magic = z;
  checksum[checksum.size() - 2] = static_cast<char>(checksum[checksum.size() - 2] ^ 0xFF);
  middle[middle.size() / 2] = static_cast<char>(middle[middle.size() / 2] ^ 0xFF);
  const Case cases[] = {
      {"the content checksum", checksum, DecodeOutcome::kCorrupt, "checksum (XXH64) does not match"},
      {"a byte in the middle", middle, DecodeOutcome::kCorrupt, "zstd frame 1 is corrupt at or before compressed byte"},
      {"bytes after the last frame", z + "trailing junk", DecodeOutcome::kCorrupt, "no zstd frame starts here"},
      {"cut inside the checksum", z.substr(0, z.size() - 2), DecodeOutcome::kTruncated, "truncated"},
      {"cut in the middle", z.substr(0, z.size() / 2), DecodeOutcome::kTruncated, "truncated"},
      {"cut after the magic number", z.substr(0, 4), DecodeOutcome::kTruncated, "truncated"},
      {"second frame cut short", z + z.substr(0, 40), DecodeOutcome::kTruncated, "frame 2"},
  };
  for (const Case& c : cases) {
    for (const size_t read_size : {size_t{1}, size_t{5}, size_t{0}, kMapped}) {
      WriteFile(dir / "x.zst", c.bytes);
      const Decoded d = DecodeAll(dir / "x.zst", read_size);
      EXPECT_EQ(d.outcome, c.expect) << c.what << ", read size " << read_size << ": " << d.error;
      EXPECT_NE(d.error.find(c.says), std::string::npos) << c.what << ": " << d.error;
    }
  }
}

TEST(ZstdSource, AnErrorIsNamedAtTheEndOfTheUnitItLiesIn) {
  // libzstd is given one unit at a time (a frame header, a block header, a block, a checksum),
  // so the offset named ("at or before") is the end of the unit that is damaged, whether the
  // input is read or mapped, and when the unit straddles two windows of the mapping.
  TempDir dir;
  std::string z = Zstd(dir, "d", Pseudorandom(4000 * 1024, 9));
  ASSERT_GT(z.size(), 3u << 20);
  // Walk the frame's blocks (RFC 8878: frame header, then 3-byte block headers) to the first
  // block past 2 MiB + 100 KiB, and make its header name the reserved block type.
  const auto u8 = [&](size_t i) { return static_cast<unsigned char>(z[i]); };
  const unsigned fhd = u8(4);
  const bool single = fhd & 0x20;
  const size_t did[] = {0, 1, 2, 4}, fcs[] = {single ? 1u : 0u, 2, 4, 8};
  size_t at = 4 + 1 + (single ? 0 : 1) + did[fhd & 3] + fcs[fhd >> 6];
  while (at < (2u << 20) + 100 * 1024) {
    const uint32_t h = u8(at) | u8(at + 1) << 8 | u8(at + 2) << 16;
    ASSERT_FALSE(h & 1) << "the last block came too early";
    at += 3 + (((h >> 1) & 3) == 1 ? 1 : h >> 3);
  }
  z[at] = static_cast<char>(z[at] | 0x06);  // block type 3: reserved
  WriteFile(dir / "x.zst", z);
  for (const size_t read_size : {size_t{0}, size_t{1000}, kMapped}) {
    const Decoded d = DecodeAll(dir / "x.zst", read_size);
    ASSERT_EQ(d.outcome, DecodeOutcome::kCorrupt) << d.error;
    const size_t p = d.error.find("compressed byte ");
    ASSERT_NE(p, std::string::npos) << d.error;
    EXPECT_EQ(std::stoull(d.error.substr(p + 16)), at + 3) << "read size " << read_size << ": " << d.error;
    EXPECT_NE(d.error.find("zstd frame 1 is corrupt"), std::string::npos) << d.error;
  }
}

TEST(ZstdSource, AUnitAcrossTwoWindowsIsDecodedWhole) {
  // Incompressible data: raw blocks of 128 KiB, so some block lies across every window's end
  // (1 MiB) of the mapping; the decoder takes those in one piece.
  TempDir dir;
  const std::string noise = Noise(5 << 20, 5);
  WriteFile(dir / "n.zst", Zstd(dir, "n", noise, "-1"));
  const Decoded d = DecodeAll(dir / "n.zst", kMapped);
  EXPECT_EQ(d.outcome, DecodeOutcome::kEnd) << d.error;
  EXPECT_TRUE(d.bytes == noise) << d.bytes.size() << " bytes";
}

TEST(ZstdSource, AnErrorIsFinalAndEveryByteBeforeItComesFirst) {
  TempDir dir;
  const std::string data = Pseudorandom(2 << 20, 13);
  std::string z = Zstd(dir, "d", data);
  z[z.size() - 1] = static_cast<char>(z[z.size() - 1] ^ 0xFF);  // the frame's checksum
  WriteFile(dir / "x.zst", z);
  const int fd = open((dir / "x.zst").c_str(), O_RDONLY | O_CLOEXEC);
  DecodeAhead ahead(std::make_unique<ZstdSource>(fd));
  const void* p = nullptr;
  size_t n = 0;
  std::string out;
  DecodeOutcome o;
  while ((o = ahead.Next(&p, &n)) == DecodeOutcome::kData) out.append(static_cast<const char*>(p), n);
  EXPECT_EQ(o, DecodeOutcome::kCorrupt) << ahead.error();
  EXPECT_NE(ahead.error().find("checksum"), std::string::npos) << ahead.error();
  // Every block was decoded before the checksum that follows them was read.
  EXPECT_TRUE(out == data) << out.size() << " of " << data.size() << " bytes";
  for (int again = 0; again < 3; ++again) EXPECT_EQ(ahead.Next(&p, &n), DecodeOutcome::kCorrupt);
  EXPECT_EQ(ahead.compressed_bytes(), z.size()) << "the error is at or before the end of what was read";
  close(fd);
}

TEST(ZstdSource, ALentRangeIsNeverDecodedIntoTheDecoderWaitsForIt) {
  // The first bytes handed out are kept while the rest is read: the ring comes round to them
  // after ring_bytes(), and the decoder waits there until they are given back, never
  // decoding into them; the memory it holds is its ring, whatever the stream's length.
  TempDir dir;
  const std::string data = Pseudorandom(40 << 20, 21);
  WriteFile(dir / "d.zst", Zstd(dir, "d", data, "-1"));
  const int fd = open((dir / "d.zst").c_str(), O_RDONLY | O_CLOEXEC);
  auto source = std::make_unique<ZstdSource>(fd);
  const ZstdSource* z = source.get();
  DecodeAhead ahead(std::move(source));
  const void* p = nullptr;
  size_t n = 0;
  std::shared_ptr<const void> kept;
  ASSERT_EQ(ahead.Next(&p, &n, &kept), DecodeOutcome::kData);
  const char* kept_at = static_cast<const char*>(p);
  const std::string kept_copy(kept_at, n);
  std::string out(kept_copy);
  std::atomic<size_t> got{out.size()};
  DecodeOutcome last = DecodeOutcome::kData;
  std::thread reader([&] {
    const void* q = nullptr;
    size_t m = 0;
    while ((last = ahead.Next(&q, &m)) == DecodeOutcome::kData) {
      out.append(static_cast<const char*>(q), m);
      got = out.size();
    }
  });
  // Wait until the reader stops getting bytes.
  size_t seen = 0;
  for (int i = 0; i < 400; ++i) {
    usleep(20 * 1000);
    if (got == seen && seen > 0) break;
    seen = got;
  }
  const size_t stuck_at = got;
  EXPECT_LT(stuck_at, data.size()) << "the decoder went on past a range that is lent";
  EXPECT_LE(stuck_at, z->ring_bytes()) << "it decoded more than its ring holds";
  EXPECT_GE(stuck_at + (1u << 20), z->ring_bytes()) << "it stopped short of the ring's end";
  EXPECT_LE(z->ring_bytes(), ZstdSource::kLendBytes + (2u << 20)) << "the window of zstd -1 is at most 1 MiB";
  EXPECT_TRUE(std::string(kept_at, kept_copy.size()) == kept_copy) << "a lent range was decoded into";
  kept.reset();
  reader.join();
  EXPECT_EQ(last, DecodeOutcome::kEnd) << ahead.error();
  EXPECT_TRUE(out == data) << out.size() << " bytes";
  close(fd);
}

TEST(ZstdSource, AReaderThatStopsEarlyStopsTheDecoderToo) {
  // The reader goes away with ranges still lent (as queued messages keep them): the destructor
  // neither waits for them nor frees the ring under them.
  TempDir dir;
  const std::string noise = Noise(24 << 20, 31);
  WriteFile(dir / "r.zst", Zstd(dir, "r", noise, "-1"));
  for (const size_t keep_bytes : {size_t{0}, size_t{1}, size_t{1} << 20, size_t{7} << 20}) {
    const int fd = open((dir / "r.zst").c_str(), O_RDONLY | O_CLOEXEC);
    std::vector<std::shared_ptr<const void>> kept;
    std::string first;
    const char* first_at = nullptr;
    {
      DecodeAhead ahead(std::make_unique<ZstdSource>(fd));
      const void* p = nullptr;
      size_t n = 0, handed = 0;
      while (handed < keep_bytes) {
        kept.emplace_back();
        ASSERT_EQ(ahead.Next(&p, &n, &kept.back()), DecodeOutcome::kData);
        if (handed == 0) first.assign(first_at = static_cast<const char*>(p), n);
        handed += n;
      }
      usleep(50 * 1000);  // the decoder fills what it may and waits
      // zstd -1 on noise stores raw blocks: what went in is what came out, to a block.
      EXPECT_LE(ahead.compressed_bytes(), handed + (128 << 10) + 4096) << "what was handed out, not decoded ahead";
    }
    close(fd);
    if (first_at) {
      EXPECT_TRUE(std::string(first_at, first.size()) == first) << "a lent range outlives its decoder";
    }
    EXPECT_TRUE(first.empty() || first == noise.substr(0, first.size()));
  }
}

TEST(ZstdSource, ADecoderWaitingForLentRoomIsStoppedByTheReaderGoing) {
  // The first range is kept and the rest read on until the ring's room is nearly used up: the
  // decoder comes round to the kept range, with fewer than kAhead blocks queued, and waits in
  // the ring. Destroying the reader's side must wake it (a stop that did not would hang here).
  TempDir dir;
  const std::string noise = Noise(24 << 20, 37);
  WriteFile(dir / "r.zst", Zstd(dir, "r", noise, "-1"));
  const int fd = open((dir / "r.zst").c_str(), O_RDONLY | O_CLOEXEC);
  std::shared_ptr<const void> kept;
  std::string first;
  const char* first_at = nullptr;
  const auto start = std::chrono::steady_clock::now();
  {
    auto source = std::make_unique<ZstdSource>(fd);
    const ZstdSource* z = source.get();
    DecodeAhead ahead(std::move(source));
    const void* p = nullptr;
    size_t n = 0, handed = 0;
    ASSERT_EQ(ahead.Next(&p, &n, &kept), DecodeOutcome::kData);
    first.assign(first_at = static_cast<const char*>(p), n);
    handed = n;
    // Safe to ask for: the decoder gets within a block of the ring's end before it waits.
    while (handed + (640 << 10) < z->ring_bytes()) {
      ASSERT_EQ(ahead.Next(&p, &n), DecodeOutcome::kData);
      handed += n;
    }
    usleep(200 * 1000);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  close(fd);
  EXPECT_TRUE(std::string(first_at, first.size()) == first) << "a lent range outlives its decoder";
  EXPECT_TRUE(first == noise.substr(0, first.size()));
}

TEST(ZstdSource, FramesThatStartMidRingAndWrapDecodeExactly) {
  // Twelve frames of 3.5 MiB, 42 MiB in all: frames begin anywhere in the ring, and wrap in it
  // while their own earlier bytes and the previous frame's are still there.
  TempDir dir;
  std::string file, want;
  for (uint32_t i = 0; i < 12; ++i) {
    const std::string part = Pseudorandom((3 << 20) + (512 << 10) + i * 1000, 40 + i);
    file += Zstd(dir, "f" + std::to_string(i), part, i % 2 ? "-1" : "-3");
    want += part;
  }
  WriteFile(dir / "all.zst", file);
  for (const size_t read_size : {size_t{0}, kMapped}) {
    const Decoded d = DecodeAll(dir / "all.zst", read_size);
    EXPECT_EQ(d.outcome, DecodeOutcome::kEnd) << d.error;
    EXPECT_TRUE(d.bytes == want) << d.bytes.size() << " of " << want.size() << " bytes";
  }
}

TEST(ZstdSource, SmallFramesAreHandedOutTogether) {
  // 3,000 frames of 1,000 bytes (a file written frame by frame): they are handed out in ranges
  // of up to kLendOnce, not one per frame, so the writers and the ring's bookkeeping see few.
  TempDir dir;
  std::string file, want;
  const std::string one = Zstd(dir, "one", Pseudorandom(1000, 50));
  const std::string one_data = Pseudorandom(1000, 50);
  for (int i = 0; i < 3000; ++i) {
    file += one;
    want += one_data;
  }
  WriteFile(dir / "many.zst", file);
  const int fd = open((dir / "many.zst").c_str(), O_RDONLY | O_CLOEXEC);
  DecodeAhead ahead(std::make_unique<ZstdSource>(fd));
  const void* p = nullptr;
  size_t n = 0, ranges = 0;
  std::string out;
  DecodeOutcome o;
  while ((o = ahead.Next(&p, &n)) == DecodeOutcome::kData) {
    out.append(static_cast<const char*>(p), n);
    ++ranges;
  }
  close(fd);
  EXPECT_EQ(o, DecodeOutcome::kEnd) << ahead.error();
  EXPECT_TRUE(out == want);
  EXPECT_LE(ranges, want.size() / ZstdSource::kLendOnce + 2) << "one range per frame";
}

// --- DecodeAhead's pool of blocks, which a gzip source decodes into -------------------------

std::string Gzip(const TempDir& dir, const std::string& name, const std::string& data) {
  WriteFile(dir / name, data);
  std::string out;
  EXPECT_EQ(RunShell("gzip -1 -n -c " + (dir / name) + " > " + (dir / (name + ".gz")), &out), 0) << out;
  return ReadFile(dir / (name + ".gz"));
}

TEST(DecodeAhead, AReaderThatStopsEarlyStopsTheDecoderToo) {
  // Far more blocks than the decoder may run ahead. It is waiting when the reader goes away,
  // with some blocks still lent (as queued messages keep them, up to all there may be), and
  // must neither keep the destructor waiting nor be freed under the owners.
  TempDir dir;
  const std::string noise = Noise(8 << 20, 31);
  WriteFile(dir / "r.gz", Gzip(dir, "r", noise));
  for (const size_t taken : {size_t{0}, size_t{1}, size_t{3}, DecodeAhead::kMaxBlocks - DecodeAhead::kAhead - 1}) {
    const int fd = open((dir / "r.gz").c_str(), O_RDONLY | O_CLOEXEC);
    std::vector<std::shared_ptr<const void>> kept;
    std::string first;
    {
      DecodeAhead ahead(std::make_unique<detail::GzipSource>(fd));
      const void* p = nullptr;
      size_t n = 0;
      for (size_t i = 0; i < taken; ++i) {
        kept.emplace_back();
        ASSERT_EQ(ahead.Next(&p, &n, &kept.back()), DecodeOutcome::kData);
        ASSERT_EQ(n, DecodeAhead::kBlockBytes);
        if (i == 0) first.assign(static_cast<const char*>(p), n);
      }
      usleep(50 * 1000);  // the decoder fills what it may and waits
      // gzip -1 stores noise: what went in is what came out, give or take one input buffer
      // (256 KiB); a decoder that had counted its 4 blocks ahead would be 1 MiB further.
      const size_t bound = taken == 0 ? 0 : taken * DecodeAhead::kBlockBytes + (256 << 10) + 4096;
      EXPECT_LE(ahead.compressed_bytes(), bound) << "what was handed out, not what was decoded ahead";
    }
    close(fd);
    if (taken > 0) {
      EXPECT_TRUE(first == noise.substr(0, DecodeAhead::kBlockBytes)) << "a lent block outlives its decoder";
    }
  }
}

TEST(DecodeAhead, ALentBlockStaysIntactUntilItsLastOwnerGoesAndThenIsReused) {
  // 24 MiB of varied data: many more blocks than may exist at once, so blocks are reused.
  TempDir dir;
  const std::string data = Pseudorandom(24 << 20, 21);
  WriteFile(dir / "d.gz", Gzip(dir, "d", data));
  const int fd = open((dir / "d.gz").c_str(), O_RDONLY | O_CLOEXEC);
  std::shared_ptr<const void> kept;
  std::string kept_copy;
  const char* kept_at = nullptr;
  std::string out;
  {
    DecodeAhead ahead(std::make_unique<detail::GzipSource>(fd));
    const void* p = nullptr;
    size_t n = 0;
    std::shared_ptr<const void> owner;
    while (ahead.Next(&p, &n, &owner) == DecodeOutcome::kData) {
      out.append(static_cast<const char*>(p), n);
      if (!kept) {  // the first block is kept to the end, and beyond the decoder's life
        kept = owner;
        kept_at = static_cast<const char*>(p);
        kept_copy.assign(kept_at, n);
      }
      owner.reset();
    }
    // kAhead decoded ahead, the one handed out last and the one kept: the rest came back.
    EXPECT_LE(ahead.blocks_allocated(), DecodeAhead::kAhead + 2) << "blocks went back and were reused";
  }
  close(fd);
  EXPECT_TRUE(out == data);
  ASSERT_TRUE(kept);
  EXPECT_TRUE(std::string(kept_at, kept_copy.size()) == kept_copy) << "no later block was decoded into it";
}

TEST(DecodeAhead, OwnersHeldByTheWritersBoundTheMemoryNotTheDecoder) {
  // Owners kept (as queued messages keep them) until kMaxBlocks - kAhead - 1 blocks are lent:
  // the decoder may still fill its kAhead blocks and the one just handed out, never more.
  TempDir dir;
  const std::string data = Pseudorandom(16 << 20, 22);
  WriteFile(dir / "d.gz", Gzip(dir, "d", data));
  const int fd = open((dir / "d.gz").c_str(), O_RDONLY | O_CLOEXEC);
  DecodeAhead ahead(std::make_unique<detail::GzipSource>(fd));
  std::vector<std::shared_ptr<const void>> held;
  const void* p = nullptr;
  size_t n = 0;
  std::string out;
  for (size_t i = 0; i + DecodeAhead::kAhead + 1 < DecodeAhead::kMaxBlocks; ++i) {
    held.emplace_back();
    ASSERT_EQ(ahead.Next(&p, &n, &held.back()), DecodeOutcome::kData);
    out.append(static_cast<const char*>(p), n);
  }
  // The decoder fills its kAhead blocks; then every block is out, and it waits.
  for (int i = 0; i < 2000 && ahead.blocks_allocated() < DecodeAhead::kMaxBlocks - 1; ++i) usleep(10 * 1000);
  usleep(50 * 1000);
  EXPECT_EQ(ahead.blocks_allocated(), DecodeAhead::kMaxBlocks - 1) << "the lent ones plus kAhead";
  held.clear();  // the writers are done with them
  DecodeOutcome o;
  while ((o = ahead.Next(&p, &n)) == DecodeOutcome::kData) out.append(static_cast<const char*>(p), n);
  EXPECT_EQ(o, DecodeOutcome::kEnd) << ahead.error();
  EXPECT_TRUE(out == data);
  EXPECT_EQ(ahead.blocks_allocated(), DecodeAhead::kMaxBlocks - 1) << "none more once they came back";
  close(fd);
}

// In a fresh child: decodes `path` under an address-space limit 64 MiB above what the process
// maps now. 0 if the outcome is a read error for want of memory.
int DecodeWithLittleAddressSpace(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ZstdSource z(fd);
  if (!LimitAddressSpaceTo(64 * 1024)) return 3;
  const void* p = nullptr;
  size_t n = 0;
  std::shared_ptr<const void> owner;
  DecodeOutcome o;
  while ((o = z.Lend(&p, &n, &owner)) == DecodeOutcome::kData) {
  }
  std::fprintf(stderr, "outcome %d: %s", static_cast<int>(o), z.error().c_str());
  return o == DecodeOutcome::kReadError && z.read_errno() == ENOMEM ? 0 : 4;
}

TEST(ZstdSourceDeathTest, NoMemoryForTheWindowIsAReadErrorNotDamage) {
  // A frame with a 128 MiB window (zstd --long=27 from a pipe: its size unknown, the window
  // stays whole) needs a ring of 136 MiB. When the process may not have it, that is the
  // machine's fault: a read error (the run aborts) rather than "corrupt" (it blames the backup).
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempDir dir;
  std::string out;
  ASSERT_EQ(RunShell("head -c 300000 /dev/urandom | zstd -q --long=27 > " + (dir / "w.zst"), &out), 0) << out;
  EXPECT_EXIT(_exit(DecodeWithLittleAddressSpace(dir / "w.zst")), testing::ExitedWithCode(0), "out of memory");
  // Without the limit the same file decodes.
  EXPECT_EQ(DecodeAll(dir / "w.zst").bytes.size(), 300000u);
}

TEST(ZstdSource, OnlyAFileStartingWithAFrameIsDetected) {
  TempDir dir;
  WriteFile(dir / "z", Zstd(dir, "z0", "x"));
  WriteFile(dir / "s", Skippable("x") + Zstd(dir, "z1", "x"));  // left to libarchive's reader
  WriteFile(dir / "short", "\x28\xb5\x2f");
  for (const auto& [name, want] : {std::pair{"z", true}, std::pair{"s", false}, std::pair{"short", false}}) {
    const int fd = open((dir / name).c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_EQ(ZstdSource::Detect(fd), want) << name;
    close(fd);
  }
}

// --- through verify: the findings a user sees --------------------------------------------------

class ZstdVerify : public SampleTarVerify {
 protected:
  ZstdVerify() : SampleTarVerify(6, "s.tar.zst") {}
};

TEST_F(ZstdVerify, ATarSplitAcrossFramesVerifies) {
  const size_t cut = tar_.size() / 3;
  const std::string z = Zstd(dir_, "p1", tar_.substr(0, cut)) + Zstd(dir_, "p2", tar_.substr(cut));
  const VerifyReport r = Verify(z);
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  EXPECT_NE(r.format.find(", zstd"), std::string::npos) << r.format;
  EXPECT_EQ(r.source_bytes, z.size()) << "the compressed bytes read";
}

TEST_F(ZstdVerify, ADamagedChecksumAfterTheArchivesEndIsCorrupt) {
  // libarchive stops reading at the tar's end marker; with the records' padding after it the
  // frame's checksum lies well past that point and is only checked because the reader decodes
  // the rest of the stream.
  std::string z = Zstd(dir_, "t", tar_ + std::string(1 << 20, '\0'));
  z[z.size() - 3] = static_cast<char>(z[z.size() - 3] ^ 0xFF);
  ExpectOnlyCorruptAfterTheEnd(Verify(z), "checksum (XXH64)");
}

TEST_F(ZstdVerify, DamageInsideTheArchiveNamesTheCompressedOffset) {
  ExpectMiddleDamageNamesItsOffset(Zstd(dir_, "t", tar_));
}

TEST_F(ZstdVerify, AFrameCutShortIsTruncated) {
  const std::string z = Zstd(dir_, "t", tar_ + std::string(1 << 20, '\0'));
  for (const size_t keep : {z.size() - 2, z.size() / 2}) {
    const VerifyReport r = Verify(z.substr(0, keep));
    EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
    EXPECT_FALSE(PathsOf(r, FindingKind::kTruncated).empty()) << "kept " << keep << Describe(r);
  }
}

TEST_F(ZstdVerify, ABombHiddenAfterTheArchivesEndStopsAtTheLimit) {
  std::string out;
  ASSERT_EQ(RunShell("head -c 67108864 /dev/zero | zstd -q -1 > " + (dir_ / "zeros.zst"), &out), 0) << out;
  Limits limits;
  limits.max_total_bytes = 16u << 20;
  const VerifyReport r = Verify(Zstd(dir_, "t", tar_) + ReadFile(dir_ / "zeros.zst"), &limits);
  EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
  ASSERT_EQ(PathsOf(r, FindingKind::kLimitExceeded).size(), 1u) << Describe(r);
  for (const auto& f : r.findings)
    if (f.kind == FindingKind::kLimitExceeded) {
      EXPECT_NE(f.message.find("after the archive's end"), std::string::npos) << f.message;
    }
}

TEST_F(ZstdVerify, AStreamLongerThanTheRingAfterTheArchivesEndIsDrained) {
  // 24 MiB decoded after the tar's end, more than the decoder's ring: the reader must let go
  // of the last block libarchive read before it drains the rest, or the decoder waits for it
  // for ever when the ring comes round (the stall limit turns that into a finding here).
  const std::string after = Pseudorandom(24 << 20, 61);
  const std::string z = Zstd(dir_, "t", tar_ + after);
  Limits limits;
  limits.max_stall_seconds = 10;
  const auto start = std::chrono::steady_clock::now();
  const VerifyReport r = Verify(z, &limits);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10)) << Describe(r);
  for (const auto& f : r.findings) {
    EXPECT_EQ(f.message.find("no progress"), std::string::npos) << Describe(r);
    EXPECT_NE(f.kind, FindingKind::kCorrupt) << Describe(r);
  }
}

TEST(LentBlocks, ACancelledQueueGivesItsBlocksBackAtOnce) {
  // The queue counts a slice by its length, not by the 256 KiB block it pins, so queued
  // messages can pin every block while the reader waits for one. When the writer stops and
  // cancels, what is queued must let go of its blocks then, not when the queue is destroyed
  // after the reader has been joined (which would be never).
  detail::MessageQueue q(1 << 20, 16);
  auto block = std::make_shared<std::vector<char>>(DecodeAhead::kBlockBytes);
  std::weak_ptr<const void> watch = block;
  detail::Message m;
  m.slice = detail::Slice{block, block->data(), 100};
  block.reset();
  ASSERT_TRUE(q.Push(std::move(m)));
  EXPECT_FALSE(watch.expired());
  q.Cancel();
  EXPECT_TRUE(watch.expired()) << "the queued slice still pins its block after the cancel";
}

TEST(LentBlocks, AWriterThatStopsFarIntoAnArchiveOfSmallFilesStopsPromptly) {
  // Thousands of small files with pax headers (1 KiB of stream each besides their content):
  // the reader runs ahead of the writers with every block lent, and the writer stops (a path
  // deeper than the limit) far into the archive. The run ends with that finding at once.
  TempDir dir;
  std::vector<TreeEntry> entries;
  for (int i = 0; i < 6000; ++i) {
    TreeEntry e;
    // Names past ustar's 100 bytes: each member gets a pax extended header, 1 KiB of stream
    // besides its content, which the queue does not count.
    e.path = "d" + std::to_string(i % 40) + "/" + std::string(110, 'n') + std::to_string(i);
    e.size = 800 + static_cast<uint64_t>(i % 400);
    e.seed = static_cast<uint64_t>(i);
    entries.push_back(e);
    if (i == 3000) {
      TreeEntry deep;
      deep.path = "a/b/c/d/e/f/g/h/i/j/deep";
      deep.size = 10;
      entries.push_back(deep);
    }
  }
  ASSERT_TRUE(WriteArchive(dir / "small.tar", {"pax", {}}, entries).ok());
  {
    auto o = Options(dir, dir / "small.tar");
    o.limits.max_depth = 6;
    o.limits.max_stall_seconds = 30;
    const auto start = std::chrono::steady_clock::now();
    const VerifyReport r = RunVerifyIsolated(o);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20)) << Describe(r);
    EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
    bool depth = false, stall = false;
    for (const auto& f : r.findings) {
      depth |= f.kind == FindingKind::kLimitExceeded && f.message.find("deeper than 6") != std::string::npos;
      stall |= f.message.find("no progress") != std::string::npos;
    }
    EXPECT_TRUE(depth) << Describe(r);
    EXPECT_FALSE(stall) << Describe(r);
  }
}

}  // namespace
}  // namespace rp::test
