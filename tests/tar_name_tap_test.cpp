// The tar name tap (workers/src/sources/tar_name_tap.h): fed a real pax archive in pieces of
// every size, it gives back each entry's raw pax names at libarchive's header offsets; it keeps
// only names libarchive would change; it turns itself off when the stream is not what it
// expects; and it explains libarchive's warning only when nothing else could have caused it.
#include <gtest/gtest.h>

#include <archive.h>
#include <archive_entry.h>

#include <string>
#include <vector>

#include "sources/name_locale.h"
#include "sources/tar_name_tap.h"
#include "testkit.h"

namespace rp::detail {
namespace {

using test::RunShell;
using test::TempDir;

struct Header {
  int64_t offset;
  std::string name;  // as libarchive returns it
};

// libarchive's view of the archive: each entry's header offset and name.
std::vector<Header> LibarchiveHeaders(const std::string& bytes) {
  std::vector<Header> out;
  // As the reader runs it: through a UTF-8 locale (sources/name_locale.h).
  const locale_t previous = uselocale(Utf8NameLocale());
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_open_memory(a, bytes.data(), bytes.size());
  archive_entry* e = nullptr;
  int r;
  while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
    const char* p = archive_entry_pathname(e);
    out.push_back({archive_read_header_position(a), p ? p : ""});
  }
  archive_read_free(a);
  uselocale(previous);
  return out;
}

// A pax record "len key=value\n".
std::string Record(const std::string& key, const std::string& value) {
  const std::string body = " " + key + "=" + value + "\n";
  size_t len = body.size() + 1;
  while (std::to_string(len).size() + body.size() != len) ++len;
  return std::to_string(len) + body;
}

std::string Octal(uint64_t v, size_t width) {
  std::string s(width - 1, '0');
  for (size_t i = width - 1; i-- > 0 && v;) {
    s[i] = static_cast<char>('0' + (v & 7));
    v >>= 3;
  }
  return s + '\0';
}

// One 512-byte ustar header.
std::string UstarHeader(const std::string& name, char type, uint64_t size) {
  std::string h(512, '\0');
  h.replace(0, std::min<size_t>(name.size(), 99), name.substr(0, 99));
  h.replace(100, 8, Octal(0644, 8));
  h.replace(108, 8, Octal(0, 8));
  h.replace(116, 8, Octal(0, 8));
  h.replace(124, 12, Octal(size, 12));
  h.replace(136, 12, Octal(1700000000, 12));
  h[156] = type;
  h.replace(257, 6, std::string("ustar\0", 6));
  h.replace(263, 2, "00");
  h.replace(148, 8, "        ");
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  h.replace(148, 8, Octal(sum, 7) + " ");
  return h;
}

std::string Padded(std::string s) {
  s.resize((s.size() + 511) / 512 * 512, '\0');
  return s;
}

// An entry with an extended header holding `records`, then its main header and content.
std::string PaxEntry(const std::string& records, const std::string& name, const std::string& content) {
  return UstarHeader("PaxHeaders/x", 'x', records.size()) + Padded(records) + UstarHeader(name, '0', content.size()) +
         Padded(content);
}

const std::string kNfd = "Lo\xcc\x88ner.txt";
const std::string kLatin1 = "L\xf6ner.txt";

std::string Archive() {
  return PaxEntry(Record("path", "plain.txt"), "plain.txt", "one") +
         PaxEntry(Record("path", kNfd), "nfd.txt", std::string(700, 'x')) +
         UstarHeader("dir/", '5', 0) +
         PaxEntry(Record("path", kLatin1) + Record("uname", "root"), "latin.txt", "") +
         PaxEntry(Record("path", kLatin1) + Record("uname", "\xff"), "owner.txt", "y") +
         PaxEntry(Record("hdrcharset", "BINARY") + Record("path", kLatin1), "binary.txt", "z") +
         PaxEntry(Record("path", kNfd) + "garbage without a length\n", "malformed.txt", "w") +
         std::string(1024, '\0');
}

// Feeds `bytes` in pieces of `piece` bytes, asking for each of libarchive's headers as soon as
// the tap has seen it (libarchive asks after reading the header, never before).
std::vector<std::optional<RawTarNames>> FeedAndTake(const std::string& bytes, size_t piece, TarNameTap* tap) {
  const std::vector<Header> headers = LibarchiveHeaders(bytes);
  std::vector<std::optional<RawTarNames>> out;
  size_t fed = 0;
  for (size_t k = 0; k < headers.size(); ++k) {
    const size_t want = k + 1 < headers.size() ? static_cast<size_t>(headers[k + 1].offset) : bytes.size();
    while (fed < want) {
      const size_t n = std::min(piece, bytes.size() - fed);
      tap->Feed(bytes.data() + fed, n);
      fed += n;
    }
    out.push_back(tap->Take(headers[k].offset));
  }
  return out;
}

TEST(TarNameTap, GivesBackTheRawNamesLibarchiveWouldChangeInPiecesOfAnySize) {
  const std::string bytes = Archive();
  const std::vector<Header> headers = LibarchiveHeaders(bytes);
  ASSERT_EQ(headers.size(), 7u);
  EXPECT_NE(headers[1].name, kNfd) << "libarchive normalises it (else this test proves nothing)";
  for (size_t piece : {1ul, 7ul, 100ul, 511ul, 512ul, 513ul, 4096ul, bytes.size()}) {
    SCOPED_TRACE("pieces of " + std::to_string(piece));
    TarNameTap tap;
    const auto raw = FeedAndTake(bytes, piece, &tap);
    ASSERT_EQ(raw.size(), 7u);
    EXPECT_FALSE(raw[0]) << "an ASCII name: nothing to keep";
    ASSERT_TRUE(raw[1]);
    EXPECT_EQ(raw[1]->path, kNfd);
    EXPECT_FALSE(raw[1]->warning_explained) << "valid UTF-8: libarchive had nothing to warn about";
    EXPECT_FALSE(raw[2]) << "a plain ustar entry";
    ASSERT_TRUE(raw[3]);
    EXPECT_EQ(raw[3]->path, kLatin1);
    EXPECT_TRUE(raw[3]->warning_explained) << "the only invalid value is the name given back raw";
    ASSERT_TRUE(raw[4]);
    EXPECT_FALSE(raw[4]->warning_explained) << "an owner name that is not UTF-8 is another warning";
    EXPECT_FALSE(raw[5]) << "hdrcharset=BINARY: libarchive takes the bytes as they are";
    ASSERT_TRUE(raw[6]);
    EXPECT_EQ(raw[6]->path, kNfd);
    EXPECT_FALSE(raw[6]->warning_explained) << "a malformed record: libarchive warns about that";
    EXPECT_TRUE(tap.active());
  }
}

TEST(TarNameTap, TurnsOffWhenLibarchiveFindsAnEntryWhereItSawNone) {
  const std::string bytes = Archive();
  TarNameTap tap;
  tap.Feed(bytes.data(), bytes.size());
  EXPECT_FALSE(tap.Take(2048 + 7)) << "no header starts there";
  EXPECT_FALSE(tap.active());
  EXPECT_FALSE(tap.Take(2048)) << "off for the rest of the stream";
}

TEST(TarNameTap, TurnsOffOnWhatIsNotATarStream) {
  for (const std::string& junk : {std::string(512, 'x'), std::string("\x1f\x8b\x08\x00", 4) + std::string(600, 'a')}) {
    TarNameTap tap;
    tap.Feed(junk.data(), junk.size());
    EXPECT_FALSE(tap.active());
  }
  std::string damaged = Archive();
  damaged[2048 + 3] ^= 0x40;  // the second entry's extended header: its checksum no longer holds
  TarNameTap tap;
  tap.Feed(damaged.data(), damaged.size());
  EXPECT_FALSE(tap.active());
}

TEST(TarNameTap, ASkipOverContentIsFollowedAndOneOverAHeaderTurnsItOff) {
  const std::string bytes = PaxEntry(Record("path", kNfd), "a", std::string(2048, 'c')) + std::string(1024, '\0');
  TarNameTap tap;
  tap.Feed(bytes.data(), 1536);  // the extended header and the main header
  tap.Skip(2048);                // the content, skipped by libarchive
  EXPECT_TRUE(tap.active());
  const auto raw = tap.Take(0);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->path, kNfd);
  TarNameTap other;
  other.Feed(bytes.data(), 1000);  // inside the main header
  other.Skip(600);
  EXPECT_FALSE(other.active());
}

// A real archive from GNU tar in the pax format, as the names test makes them.
TEST(TarNameTap, FollowsAGnuTarPaxArchive) {
  TempDir dir;
  std::filesystem::create_directories(dir / "src/" + kNfd + "-dir");
  test::WriteFile(dir / "src/" + kNfd + "-dir/" + kNfd, std::string(5000, 'q'));
  test::WriteFile(dir / "src/big", std::string(300000, 'b'));
  ASSERT_EQ(RunShell("cd " + dir / "src" + " && LC_ALL=C.UTF-8 tar --format=posix -cf ../a.tar ."), 0);
  const std::string bytes = test::ReadFile(dir / "a.tar");
  TarNameTap tap;
  const auto raw = FeedAndTake(bytes, 10000, &tap);
  size_t kept = 0;
  for (const auto& r : raw) kept += r.has_value();
  EXPECT_EQ(kept, 2u) << "the NFD directory and the NFD file in it";
  EXPECT_TRUE(tap.active());
}

}  // namespace
}  // namespace rp::detail
