// The RAR5 encryption scan: from block headers built here (RAR 5.0 format) and from
// libarchive's own RAR5 test archives, it names exactly the encrypted members, notices
// encrypted headers, and stops quietly on anything malformed or cut short.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "sources/rar5_scan.h"
#include "testkit.h"

namespace rp::test {
namespace {

using detail::ScanRar5Encryption;

std::set<std::string> Names(const detail::Rar5Encryption& r) {
  std::set<std::string> out;
  for (const auto& [index, name] : r.files) out.insert(name);
  return out;
}

const std::string kSig("Rar!\x1a\x07\x01\x00", 8);

std::string Vint(uint64_t v) {
  std::string s;
  do {
    auto b = static_cast<unsigned char>(v & 0x7f);
    v >>= 7;
    if (v) b |= 0x80;
    s += static_cast<char>(b);
  } while (v);
  return s;
}

// One block: a CRC-32 (zeros: the scan leaves checking it to libarchive), the header size,
// the header, then `data` as its data area.
std::string Block(uint64_t type, const std::string& fields, const std::string& extra = "",
                  const std::string& data = "") {
  uint64_t flags = 0;
  if (!extra.empty()) flags |= 1;
  if (!data.empty()) flags |= 2;
  std::string body = Vint(type) + Vint(flags);
  if (!extra.empty()) body += Vint(extra.size());
  if (!data.empty()) body += Vint(data.size());
  body += fields + extra;
  return std::string(4, '\0') + Vint(body.size()) + body + data;
}

std::string FileFields(const std::string& name, uint64_t size, bool with_time_and_crc = false) {
  std::string f = Vint(with_time_and_crc ? 0x6 : 0) + Vint(size) + Vint(0x1a4);
  if (with_time_and_crc) f += std::string(8, '\x11');
  return f + Vint(0) + Vint(1) + Vint(name.size()) + name;
}

std::string Record(uint64_t type, const std::string& payload) {
  const std::string rec = Vint(type) + payload;
  return Vint(rec.size()) + rec;
}
const std::string kEncryption = Record(1, Vint(0) + Vint(0) + std::string(1, '\x0f') + std::string(32, 's'));
const std::string kHash = Record(2, Vint(0) + std::string(32, 'h'));

std::string Archive() {
  return kSig + Block(1, Vint(0)) +                                          // main header
         Block(2, FileFields("a.txt", 10), "", std::string(10, 'a')) +       // plain
         Block(2, FileFields("dir/b.txt", 20), kEncryption, std::string(20, 'b')) +
         Block(2, FileFields("c.txt", 5, true), kHash, std::string(5, 'c')) +  // another record
         Block(3, FileFields("CMT", 3), kEncryption, "cmt") +                 // a service header
         Block(2, FileFields("d.txt", 7, true), kHash + kEncryption, std::string(7, 'd')) +
         Block(5, Vint(0));
}

TEST(Rar5Scan, NamesTheEncryptedFilesAndOnlyThose) {
  const auto r = ScanRar5Encryption(Archive(), 100);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->headers_encrypted);
  EXPECT_EQ(Names(*r), (std::set<std::string>{"dir/b.txt", "d.txt"}));
  // Numbered among the file headers (the service header is not one): a.txt 0, dir/b.txt 1,
  // c.txt 2, d.txt 3.
  EXPECT_TRUE(r->Encrypted(1, "dir/b.txt"));
  EXPECT_TRUE(r->Encrypted(3, "d.txt"));
  EXPECT_FALSE(r->Encrypted(0, "a.txt"));
  EXPECT_FALSE(r->Encrypted(2, "c.txt"));
  EXPECT_FALSE(r->Encrypted(2, "d.txt")) << "a name at another place";
  EXPECT_FALSE(r->Encrypted(1, "b.txt")) << "another name at that place";
  EXPECT_FALSE(r->solid);
}

TEST(Rar5Scan, AnArchiveEncryptionHeaderMeansEveryHeaderIsEncrypted) {
  const std::string a = kSig + Block(4, Vint(0) + Vint(0) + std::string(1, '\x0f') + std::string(16, 's')) +
                        std::string(64, '\x5a');  // what follows is ciphertext
  const auto r = ScanRar5Encryption(a, 100);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->headers_encrypted);
  EXPECT_TRUE(r->files.empty());
}

TEST(Rar5Scan, OtherFormatsAreNotScanned) {
  EXPECT_FALSE(ScanRar5Encryption(std::string("Rar!\x1a\x07\x00", 7) + std::string(100, '\0'), 100));  // RAR4
  EXPECT_FALSE(ScanRar5Encryption(std::string(512, '\0'), 100));
  EXPECT_FALSE(ScanRar5Encryption(std::string_view(kSig).substr(0, 7), 100));
  EXPECT_FALSE(ScanRar5Encryption(std::string_view(), 100));
}

TEST(Rar5Scan, ACutOrDamagedArchiveGivesWhatCameBeforeTheDamage) {
  const std::string full = Archive();
  const std::set<std::string> all{"dir/b.txt", "d.txt"};
  for (size_t n = kSig.size(); n <= full.size(); ++n) {
    const auto r = ScanRar5Encryption(std::string_view(full).substr(0, n), 100);
    ASSERT_TRUE(r) << n;
    EXPECT_EQ(r->cut_short, n < full.size()) << n;
    for (const auto& f : Names(*r)) EXPECT_TRUE(all.count(f)) << f << " at " << n;
  }
  // Each byte damaged in turn: never a crash, never more names than the archive has
  // encryption records (b.txt, the service header, d.txt).
  for (size_t i = kSig.size(); i < full.size(); ++i) {
    std::string bad = full;
    bad[i] = static_cast<char>(bad[i] ^ 0xff);
    const auto r = ScanRar5Encryption(bad, 100);
    ASSERT_TRUE(r);
    EXPECT_LE(r->files.size(), 3u) << i;
  }
  // A header size of 0, one above the format's 2 MB limit, an endless vint, a data size
  // that would wrap the offset past 2^64.
  for (const std::string& tail : {std::string(4, '\0') + Vint(0), std::string(4, '\0') + Vint((2u << 20) + 1),
                                  std::string(4, '\0') + std::string(11, '\x80')}) {
    const auto r = ScanRar5Encryption(kSig + tail + Block(2, FileFields("e", 1), kEncryption, "e"), 100);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->files.empty());
    EXPECT_FALSE(r->cut_short) << "malformed, not cut";
  }
}

// A data size that wraps the offset past 2^64 back onto an encrypted header hidden inside an
// earlier data area: the scan stops there, it does not read the hidden header.
TEST(Rar5Scan, ADataSizeThatWouldWrapTheOffsetStopsTheScan) {
  const std::string hidden = Block(2, FileFields("hidden", 1), kEncryption, "h");
  const std::string a = kSig + Block(2, FileFields("a", hidden.size()), "", hidden);
  const uint64_t hidden_at = kSig.size() + (a.size() - kSig.size() - hidden.size());
  // A header claiming a data area; its length does not depend on the size it claims (a 10-byte
  // vint for any value from 2^63 on).
  const std::string body = Vint(2) + Vint(2) + Vint(~0ull) + FileFields("w", 0);
  const uint64_t after_w = a.size() + 4 + Vint(body.size()).size() + body.size();
  const std::string body2 = Vint(2) + Vint(2) + Vint(0 - (after_w - hidden_at)) + FileFields("w", 0);
  ASSERT_EQ(body2.size(), body.size());
  const std::string archive = a + std::string(4, '\0') + Vint(body2.size()) + body2;
  const auto r = ScanRar5Encryption(archive, 100);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->files.empty()) << "read the header at the wrapped offset";
  // The same block with an honest data size ends the scan at the end of the bytes.
  EXPECT_TRUE(ScanRar5Encryption(a + Block(2, FileFields("w", 0), "", "x"), 100)->files.empty());
}

// Two members of one name, the second encrypted: only the second is.
TEST(Rar5Scan, AMemberIsMatchedByItsPlaceAndItsName) {
  const std::string a = kSig + Block(1, Vint(0)) + Block(2, FileFields("x", 1), "", "1") +
                        Block(2, FileFields("x", 1), kEncryption, "2") + Block(2, FileFields("x", 1), kHash, "3") +
                        Block(5, Vint(0));
  const auto r = ScanRar5Encryption(a, 100);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->Encrypted(0, "x"));
  EXPECT_TRUE(r->Encrypted(1, "x"));
  EXPECT_FALSE(r->Encrypted(2, "x"));
  EXPECT_FALSE(r->Encrypted(3, "x"));
  EXPECT_FALSE(r->Encrypted(1, "y"));
}

// The scan reads through a cache: headers across its 64 KiB refills and data areas larger
// than it are read the same, and only encrypted headers are kept, however many there are.
TEST(Rar5Scan, ManyHeadersAcrossTheReadCacheAreReadRight) {
  std::string a = kSig + Block(1, Vint(0));
  for (int i = 0; i < 3000; ++i) {
    const std::string name = "f" + std::to_string(i);
    const std::string data(i % 7 == 0 ? 70000 : 10, 'x');  // some larger than the cache
    a += Block(2, FileFields(name, data.size()), i % 5 == 0 ? kEncryption : kHash, data);
  }
  a += Block(5, Vint(0));
  const auto r = ScanRar5Encryption(a, 10000);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->cut_short);
  ASSERT_EQ(r->files.size(), 600u);
  for (uint64_t i = 0; i < 3000; ++i) EXPECT_EQ(r->Encrypted(i, "f" + std::to_string(i)), i % 5 == 0) << i;
}

TEST(Rar5Scan, StopsAfterTheGivenNumberOfHeaders) {
  EXPECT_TRUE(ScanRar5Encryption(Archive(), 2)->files.empty());  // the main header and a.txt
  EXPECT_EQ(Names(*ScanRar5Encryption(Archive(), 3)), std::set<std::string>{"dir/b.txt"});
  EXPECT_TRUE(ScanRar5Encryption(Archive(), 0)->files.empty());
}

TEST(Rar5Scan, LibarchivesOwnRar5ArchivesAreReadRight) {
  const std::string dir = std::string(RP_CORPUS_DIR) + "/libarchive/";
  const auto plain = ScanRar5Encryption(ReadFile(dir + "test_read_format_rar5_stored.rar"), 1000);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->cut_short);
  EXPECT_FALSE(plain->headers_encrypted);
  EXPECT_TRUE(plain->files.empty());
  const auto data = ScanRar5Encryption(ReadFile(dir + "test_read_format_rar5_encrypted.rar"), 1000);
  ASSERT_TRUE(data);
  EXPECT_EQ(Names(*data), (std::set<std::string>{"b.txt", "d.txt"}));
  EXPECT_FALSE(data->headers_encrypted);
  EXPECT_FALSE(data->solid);
  const auto solid = ScanRar5Encryption(ReadFile(dir + "test_read_format_rar5_solid_encrypted.rar"), 1000);
  ASSERT_TRUE(solid);
  EXPECT_TRUE(solid->Encrypted(0, "a.txt"));
  EXPECT_TRUE(solid->solid);
  for (const char* name : {"test_read_format_rar5_encrypted_filenames.rar",
                           "test_read_format_rar5_solid_encrypted_filenames.rar"}) {
    const auto names = ScanRar5Encryption(ReadFile(dir + name), 1000);
    ASSERT_TRUE(names) << name;
    EXPECT_TRUE(names->headers_encrypted) << name;
  }
}

}  // namespace
}  // namespace rp::test
