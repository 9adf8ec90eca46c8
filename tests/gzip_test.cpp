// gzip sources, decoded by ISA-L before libarchive sees them (workers/src/gzip_source.h):
// the decoder gives back exactly what gzip(1) compressed, whatever its read size and however
// many members the file has, and every kind of damage to a member, its trailer or what follows
// the archive's end is a finding, not a pass.
#include <fcntl.h>
#include <unistd.h>

#include <fstream>

#include "engine_support.h"
#include "sample_tar_verify.h"
#include "sources/gzip_source.h"

namespace rp::test {
namespace {

using detail::GzipSource;

std::string Gzip(const TempDir& dir, const std::string& name, const std::string& data, const std::string& flags = "-n") {
  WriteFile(dir / name, data);
  std::string out;
  EXPECT_EQ(RunShell("gzip -f " + flags + " " + (dir / name), &out), 0) << out;
  return ReadFile(dir / (name + ".gz"));
}

std::string Pseudorandom(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    // Half text-like runs, half noise: both kinds of deflate blocks.
    s[i] = (i / 4096) % 2 ? static_cast<char>(seed >> 24) : static_cast<char>('a' + (seed >> 28));
  }
  return s;
}

// Decodes the whole file, reading at most `max_read` bytes at a time (0: no cap) into a buffer
// of `buffer_bytes` (0: the default).
GzipSource::Outcome DecodeAll(const std::string& path, size_t max_read, std::string* out, std::string* error,
                              uint64_t* members = nullptr, size_t buffer_bytes = 0) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0);
  GzipSource gz(fd, buffer_bytes, max_read);
  GzipSource::Outcome o;
  std::vector<uint8_t> buf(64 * 1024);
  size_t n = 0;
  while ((o = gz.Decode(buf.data(), buf.size(), &n)) == GzipSource::Outcome::kData)
    out->append(reinterpret_cast<const char*>(buf.data()), n);
  *error = gz.error();
  if (members) *members = gz.members();
  close(fd);
  return o;
}

TEST(GzipSource, DecodesEveryMemberExactlyWhateverTheReadSize) {
  TempDir dir;
  const std::string a = Pseudorandom(700 * 1024, 1), b = Pseudorandom(3000, 2), c = Pseudorandom(90 * 1024, 3);
  // Four members, the second with its file name stored (gzip -N), the last empty: what
  // `cat a.gz b.gz c.gz e.gz` gives.
  const std::string joined = Gzip(dir, "a", a) + Gzip(dir, "b", b, "-N") + Gzip(dir, "c", c) + Gzip(dir, "e", "");
  WriteFile(dir / "all.gz", joined);
  for (size_t in_bytes : {size_t{1}, size_t{2}, size_t{3}, size_t{5}, size_t{13}, size_t{64}, size_t{4093}, size_t{0}}) {
    std::string out, error;
    uint64_t members = 0;
    EXPECT_EQ(DecodeAll(dir / "all.gz", in_bytes, &out, &error, &members), GzipSource::Outcome::kEnd)
        << "read size " << in_bytes << ": " << error;
    EXPECT_EQ(members, 4u);
    EXPECT_TRUE(out == a + b + c) << "read size " << in_bytes << ": " << out.size() << " bytes";
  }
}

uint32_t Crc32(const std::string& s) {
  uint32_t c = 0xffffffffu;
  for (const char ch : s) {
    const auto b = static_cast<unsigned char>(ch);
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// A gzip(1) member rewritten with every optional header field (RFC 1952): FEXTRA, FNAME,
// FCOMMENT and the header CRC, none of which gzip itself writes (bgzip writes FEXTRA).
std::string WithFullHeader(const std::string& gz, size_t extra_bytes, bool good_header_crc = true) {
  std::string h = gz.substr(0, 10);
  h[3] = 0x04 | 0x08 | 0x10 | 0x02;
  const std::string extra(extra_bytes, 'x');
  h += static_cast<char>(extra_bytes & 0xff);
  h += static_cast<char>(extra_bytes >> 8);
  h += extra;
  h += std::string("name-of-the-file") + '\0';
  h += std::string("a comment") + '\0';
  uint32_t crc = Crc32(h);
  if (!good_header_crc) crc ^= 1;
  h += static_cast<char>(crc & 0xff);
  h += static_cast<char>((crc >> 8) & 0xff);
  return h + gz.substr(10);
}

TEST(GzipSource, EveryOptionalHeaderFieldIsReadWhereverTheReadsSplitIt) {
  TempDir dir;
  const std::string a = Pseudorandom(200 * 1024, 11), b = Pseudorandom(5000, 12);
  WriteFile(dir / "full.gz", WithFullHeader(Gzip(dir, "a", a), 300) + WithFullHeader(Gzip(dir, "b", b), 65535));
  for (size_t in_bytes : {size_t{1}, size_t{3}, size_t{11}, size_t{13}, size_t{64}, size_t{4093}, size_t{0}}) {
    std::string out, error;
    EXPECT_EQ(DecodeAll(dir / "full.gz", in_bytes, &out, &error), GzipSource::Outcome::kEnd)
        << "read size " << in_bytes << ": " << error;
    EXPECT_TRUE(out == a + b) << "read size " << in_bytes;
  }
  // A wrong header CRC is corrupt; a header longer than the read buffer is refused by name.
  WriteFile(dir / "badhcrc.gz", WithFullHeader(Gzip(dir, "a", a), 10, false));
  std::string out, error;
  EXPECT_EQ(DecodeAll(dir / "badhcrc.gz", 7, &out, &error), GzipSource::Outcome::kCorrupt);
  EXPECT_NE(error.find("header CRC"), std::string::npos) << error;
  out.clear();
  EXPECT_EQ(DecodeAll(dir / "full.gz", 0, &out, &error, nullptr, 4096), GzipSource::Outcome::kCorrupt)
      << "the second member's 64 KiB extra field does not fit 4 KiB";
  EXPECT_NE(error.find("header longer than 4096 bytes"), std::string::npos) << error;
  EXPECT_TRUE(out == a) << "the first member still came out whole";
}

TEST(GzipSource, AnErrorIsFinalAndTheBytesBeforeItComeFirst) {
  TempDir dir;
  const std::string data = Pseudorandom(100 * 1024, 13);
  std::string gz = Gzip(dir, "d", data);
  gz[gz.size() - 8] = static_cast<char>(gz[gz.size() - 8] ^ 0xFF);  // the trailer's CRC-32
  WriteFile(dir / "x.gz", gz);
  const int fd = open((dir / "x.gz").c_str(), O_RDONLY | O_CLOEXEC);
  GzipSource src(fd);
  std::vector<uint8_t> buf(64 * 1024);
  size_t n = 0;
  std::string out;
  GzipSource::Outcome o;
  while ((o = src.Decode(buf.data(), buf.size(), &n)) == GzipSource::Outcome::kData)
    out.append(reinterpret_cast<const char*>(buf.data()), n);
  EXPECT_EQ(o, GzipSource::Outcome::kCorrupt);
  EXPECT_TRUE(out == data) << "all " << data.size() << " decoded bytes were delivered, got " << out.size();
  for (int again = 0; again < 3; ++again) EXPECT_EQ(src.Decode(buf.data(), buf.size(), &n), GzipSource::Outcome::kCorrupt);
  close(fd);
}

TEST(GzipSource, EachDamageToAMemberIsNamed) {
  TempDir dir;
  const std::string data = Pseudorandom(300 * 1024, 7);
  const std::string gz = Gzip(dir, "d", data);
  struct Case {
    std::string what;
    std::string bytes;
    GzipSource::Outcome expect;
    std::string says;
  };
  std::string crc = gz, isize = gz, middle = gz, method = gz;
  crc[crc.size() - 8] = static_cast<char>(crc[crc.size() - 8] ^ 0xFF);
  isize[isize.size() - 2] = static_cast<char>(isize[isize.size() - 2] ^ 0x01);
  middle[middle.size() / 2] = static_cast<char>(middle[middle.size() / 2] ^ 0xFF);
  method[2] = 7;  // not deflate
  const Case cases[] = {
      {"CRC-32 in the trailer", crc, GzipSource::Outcome::kCorrupt, "CRC-32"},
      {"length in the trailer", isize, GzipSource::Outcome::kCorrupt, "CRC-32 or length"},
      {"a byte in the middle", middle, GzipSource::Outcome::kCorrupt, "corrupt at or before compressed byte"},
      {"method byte", method, GzipSource::Outcome::kCorrupt, "method"},
      {"cut inside the trailer", gz.substr(0, gz.size() - 3), GzipSource::Outcome::kTruncated, "truncated"},
      {"cut in the middle", gz.substr(0, gz.size() / 2), GzipSource::Outcome::kTruncated, "truncated"},
      {"cut after the header", gz.substr(0, 10), GzipSource::Outcome::kTruncated, "truncated"},
      {"second member cut short", gz + gz.substr(0, 40), GzipSource::Outcome::kTruncated, "member 2"},
  };
  for (const Case& c : cases) {
    for (size_t in_bytes : {size_t{1}, size_t{5}, size_t{0}}) {
      WriteFile(dir / "x.gz", c.bytes);
      std::string out, error;
      EXPECT_EQ(DecodeAll(dir / "x.gz", in_bytes, &out, &error), c.expect) << c.what << ", read size " << in_bytes;
      EXPECT_NE(error.find(c.says), std::string::npos) << c.what << ": " << error;
    }
  }
}

TEST(GzipSource, BytesAfterTheLastMemberThatAreNotGzipAreIgnoredAsGzipDoes) {
  TempDir dir;
  const std::string data = Pseudorandom(50 * 1024, 9);
  WriteFile(dir / "t.gz", Gzip(dir, "t", data) + std::string(1000, '\0'));
  std::string out, error;
  EXPECT_EQ(DecodeAll(dir / "t.gz", 0, &out, &error), GzipSource::Outcome::kEnd) << error;
  EXPECT_TRUE(out == data);
}

TEST(GzipSource, OnlyARegularGzipFileIsDetected) {
  TempDir dir;
  WriteFile(dir / "g", Gzip(dir, "g0", "x"));
  WriteFile(dir / "n", "\x1f\x8b\x07 not deflate");
  WriteFile(dir / "s", "\x1f");
  for (const auto& [name, want] : {std::pair{"g", true}, std::pair{"n", false}, std::pair{"s", false}}) {
    const int fd = open((dir / name).c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_EQ(GzipSource::Detect(fd), want) << name;
    close(fd);
  }
}

// --- through verify: the findings a user sees --------------------------------------------------

class GzipVerify : public SampleTarVerify {
 protected:
  GzipVerify() : SampleTarVerify(5, "s.tar.gz") {}
};

TEST_F(GzipVerify, ATarSplitAcrossMembersVerifies) {
  const size_t cut = tar_.size() / 3;
  const std::string gz = Gzip(dir_, "p1", tar_.substr(0, cut)) + Gzip(dir_, "p2", tar_.substr(cut));
  const VerifyReport r = Verify(gz);
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  EXPECT_NE(r.format.find("gzip"), std::string::npos) << r.format;
  EXPECT_EQ(r.source_bytes, gz.size()) << "the compressed bytes read";
}

TEST_F(GzipVerify, ADamagedTrailerAfterTheArchivesEndIsCorrupt) {
  // The tar's end marker comes before the gzip trailer: libarchive stops reading there, so
  // the trailer is only checked because the reader decodes the rest of the stream. Padding
  // after the end marker (tar writers fill whole records) puts the trailer well past it.
  std::string gz = Gzip(dir_, "t", tar_ + std::string(1 << 20, '\0'));
  gz[gz.size() - 6] = static_cast<char>(gz[gz.size() - 6] ^ 0xFF);
  ExpectOnlyCorruptAfterTheEnd(Verify(gz), "CRC-32");
}

TEST_F(GzipVerify, ADamagedTrailerRightAfterTheArchiveFailsAndEveryFileStillComesBack) {
  std::string gz = Gzip(dir_, "t", tar_);
  gz[gz.size() - 7] = static_cast<char>(gz[gz.size() - 7] ^ 0xFF);
  const VerifyReport r = Verify(gz);
  EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
  bool named = false;
  for (const auto& f : r.findings) named |= f.kind == FindingKind::kCorrupt && f.message.find("CRC-32") != std::string::npos;
  EXPECT_TRUE(named) << Describe(r);
  EXPECT_TRUE(PathsOf(r, FindingKind::kMissing).empty()) << Describe(r);
  EXPECT_TRUE(PathsOf(r, FindingKind::kChecksumMismatch).empty()) << Describe(r);
}

TEST_F(GzipVerify, AGzipStreamCutInItsTrailerIsTruncated) {
  for (const size_t padding : {size_t{0}, size_t{1} << 20}) {
    const std::string gz = Gzip(dir_, "t", tar_ + std::string(padding, '\0'));
    const VerifyReport r = Verify(gz.substr(0, gz.size() - 4));
    EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
    EXPECT_FALSE(PathsOf(r, FindingKind::kTruncated).empty()) << "padding " << padding << Describe(r);
  }
}

TEST_F(GzipVerify, ABombHiddenAfterTheArchivesEndStopsAtTheLimit) {
  // A member of 64 MiB of zeros after the tar: decoded only to be checked, and still bounded.
  std::string out;
  ASSERT_EQ(RunShell("head -c 67108864 /dev/zero | gzip -1 -n > " + (dir_ / "zeros.gz"), &out), 0) << out;
  Limits limits;
  limits.max_total_bytes = 16u << 20;
  const VerifyReport r = Verify(Gzip(dir_, "t", tar_) + ReadFile(dir_ / "zeros.gz"), &limits);
  EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
  ASSERT_EQ(PathsOf(r, FindingKind::kLimitExceeded).size(), 1u) << Describe(r);
  for (const auto& f : r.findings) {
    if (f.kind == FindingKind::kLimitExceeded) {
      EXPECT_NE(f.message.find("after the archive's end"), std::string::npos) << f.message;
    }
  }
}

TEST_F(GzipVerify, GzipInsideGzipIsRefusedByNameAndQuickly) {
  // libarchive's own gzip reader, stacked on itself, spins for minutes on a few hundred
  // hostile bytes (fuzz/regressions/verify/gzip-members-decoding-to-gzip-members); a regular
  // file's gzip is decoded by ISA-L only, once.
  const std::string gz = Gzip(dir_, "t", tar_);
  const VerifyReport r = Verify(Gzip(dir_, "t2", gz));
  EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings[0].kind, FindingKind::kCorrupt) << Describe(r);  // then each file, missing
  EXPECT_NE(r.findings[0].message.find("gzip inside gzip is not read"), std::string::npos) << Describe(r);
}

TEST_F(GzipVerify, DamageInsideTheArchiveNamesTheCompressedOffset) {
  ExpectMiddleDamageNamesItsOffset(Gzip(dir_, "t", tar_));
}

}  // namespace
}  // namespace rp::test
