// Path escaping, member-path normalisation and the unit parsers (rp/path_text.h, rp/units.h).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "rp/path_text.h"
#include "rp/units.h"

namespace rp {
namespace {

using namespace std::string_literals;

// Strict UTF-8 check written independently of path_text.cpp (no overlongs, no surrogates,
// nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1Fu; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0Fu; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07u; min = 0x10000; }
    else return false;
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0u) != 0x80u) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return false;
    i += len;
  }
  return true;
}

bool HasControlByte(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) return true;
  }
  return false;
}

std::string RandomBytes(std::mt19937_64& rng, size_t max_len) {
  std::uniform_int_distribution<size_t> len_dist(0, max_len);
  std::uniform_int_distribution<int> byte_dist(0, 255);
  std::uniform_int_distribution<int> kind_dist(0, 9);
  const size_t len = len_dist(rng);
  std::string s;
  while (s.size() < len) {
    switch (kind_dist(rng)) {
      case 0: s += '\\'; break;
      case 1: s += "\xc3\xa5"; break;          // valid 2-byte sequence
      case 2: s += "\xf0\x9f\x98\x80"; break;  // valid 4-byte sequence
      case 3: s += "\\x4"; break;              // looks like an escape
      default: s += static_cast<char>(static_cast<unsigned char>(byte_dist(rng)));
    }
  }
  return s;
}

TEST(path_text_escape, RoundTripsRandomByteStrings) {
  std::mt19937_64 rng(20240601);
  for (int i = 0; i < 20000; ++i) {
    const std::string raw = RandomBytes(rng, 40);
    const std::string escaped = EscapePath(raw);
    const auto back = UnescapePath(escaped);
    ASSERT_TRUE(back.has_value()) << "escaped form rejected: " << escaped;
    ASSERT_EQ(*back, raw) << "escaped form: " << escaped;
  }
}

TEST(path_text_escape, OutputIsAlwaysValidUtf8WithoutControlBytes) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    const std::string escaped = EscapePath(RandomBytes(rng, 40));
    ASSERT_TRUE(IsValidUtf8(escaped)) << escaped;
    ASSERT_FALSE(HasControlByte(escaped)) << escaped;
  }
}

TEST(path_text_escape, ValidUtf8PassesThroughUnchanged) {
  for (const std::string& s : {"plain.txt"s, "dir/sub dir/file name.txt"s, "r\xc3\xa4ksm\xc3\xb6rg\xc3\xa5s"s,
                              "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"s, "emoji \xf0\x9f\x98\x80"s,
                              "max \xf4\x8f\xbf\xbf"s, "(parens) = [brackets] *star* #hash"s}) {
    EXPECT_EQ(EscapePath(s), s);
  }
}

TEST(path_text_escape, InvalidUtf8BytesBecomeHexEscapes) {
  EXPECT_EQ(EscapePath("r\xe4ksm\xf6rg\xe5s"), "r\\xe4ksm\\xf6rg\\xe5s");
  EXPECT_EQ(EscapePath("\xc0\xaf"), "\\xc0\\xaf");                   // overlong '/'
  EXPECT_EQ(EscapePath("\xed\xa0\x80"), "\\xed\\xa0\\x80");          // UTF-16 surrogate
  EXPECT_EQ(EscapePath("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(EscapePath("a\xe6\x97"), "a\\xe6\\x97");                 // truncated sequence
  EXPECT_EQ(EscapePath("\xff"), "\\xff");
  EXPECT_EQ(EscapePath("\x80x"), "\\x80x");                           // lone continuation byte
}

TEST(path_text_escape, BackslashAndControlBytesAreEscaped) {
  EXPECT_EQ(EscapePath("a\\b"), "a\\\\b");
  EXPECT_EQ(EscapePath("a\nb"), "a\\nb");
  EXPECT_EQ(EscapePath("a\tb"), "a\\tb");
  EXPECT_EQ(EscapePath("a\rb"), "a\\x0db");
  EXPECT_EQ(EscapePath("\x7f"), "\\x7f");
  EXPECT_EQ(EscapePath(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(EscapePath(""), "");
}

TEST(path_text_unescape, AcceptsEveryEscapeItDocuments) {
  EXPECT_EQ(UnescapePath("a\\\\b"), "a\\b");
  EXPECT_EQ(UnescapePath("a\\nb"), "a\nb");
  EXPECT_EQ(UnescapePath("a\\tb"), "a\tb");
  EXPECT_EQ(UnescapePath("\\xE4\\xe4"), "\xe4\xe4");
  EXPECT_EQ(UnescapePath("\\x00"), std::string("\0", 1));
  EXPECT_EQ(UnescapePath("no escapes"), "no escapes");
}

TEST(path_text_unescape, RejectsMalformedEscapes) {
  for (const char* bad : {"\\", "abc\\", "\\q", "\\x", "\\x4", "\\xg0", "\\x0g", "a\\ b", "\\X41"}) {
    EXPECT_FALSE(UnescapePath(bad).has_value()) << bad;
  }
}

std::optional<std::string> Norm(std::string_view name, std::string* why = nullptr) {
  return NormaliseMemberPath(name, why);
}

TEST(path_text_normalise, StripsDotSlashRepeatedAndTrailingSlashes) {
  EXPECT_EQ(Norm("./a//b/"), "a/b");
  EXPECT_EQ(Norm("a/./b"), "a/b");
  EXPECT_EQ(Norm("././a"), "a");
  EXPECT_EQ(Norm("a"), "a");
  EXPECT_EQ(Norm("dir/"), "dir");
}

TEST(path_text_normalise, RootSpellingsGiveEmptyPath) {
  EXPECT_EQ(Norm("."), "");
  EXPECT_EQ(Norm("./"), "");
  EXPECT_EQ(Norm(""), "");
  EXPECT_EQ(Norm(".//."), "");
}

TEST(path_text_normalise, KeepsNamesThatOnlyLookLikeDots) {
  EXPECT_EQ(Norm("..."), "...");
  EXPECT_EQ(Norm("..a/b.."), "..a/b..");
  EXPECT_EQ(Norm(".hidden"), ".hidden");
  EXPECT_EQ(Norm("a b\\c\n\xff"), "a b\\c\n\xff");
}

TEST(path_text_normalise, RejectsUnsafeNamesWithAReason) {
  const std::string nul("a\0b", 3);
  for (const std::string& bad : {"/abs"s, "//abs"s, "/"s, "a/../b"s, ".."s, "../x"s, "a/.."s, "./.."s, nul}) {
    std::string why;
    EXPECT_FALSE(Norm(bad, &why).has_value()) << EscapePath(bad);
    EXPECT_FALSE(why.empty()) << EscapePath(bad);
  }
}

TEST(path_text_normalise, AcceptsNullWhyPointer) {
  EXPECT_FALSE(NormaliseMemberPath("../x", nullptr).has_value());
  EXPECT_FALSE(NormaliseMemberPath("/x", nullptr).has_value());
}

TEST(path_text_units_bytes, AcceptsPlainBytesAndBinaryUnits) {
  EXPECT_EQ(ParseByteSize("0"), 0u);
  EXPECT_EQ(ParseByteSize("512"), 512u);
  EXPECT_EQ(ParseByteSize("512B"), 512u);
  EXPECT_EQ(ParseByteSize("1K"), 1024u);
  EXPECT_EQ(ParseByteSize("1KiB"), 1024u);
  EXPECT_EQ(ParseByteSize("64M"), 64ull << 20);
  EXPECT_EQ(ParseByteSize("64MiB"), 64ull << 20);
  EXPECT_EQ(ParseByteSize("10G"), 10ull << 30);
  EXPECT_EQ(ParseByteSize("10GiB"), 10ull << 30);
  EXPECT_EQ(ParseByteSize("2T"), 2ull << 40);
  EXPECT_EQ(ParseByteSize("2TiB"), 2ull << 40);
  EXPECT_EQ(ParseByteSize("1.5K"), 1536u);
}

TEST(path_text_units_bytes, RejectsMalformedOrHugeSizes) {
  for (const char* bad : {"", "M", "-1", "-1M", "12X", "1 M", " 1M", "1M ", "1.2.3", "1e3", "1MB", "1Mi", "0x10",
                          ".", "99999999T"}) {
    EXPECT_FALSE(ParseByteSize(bad).has_value()) << bad;
  }
}

TEST(path_text_units_duration, AcceptsSecondsMinutesHoursDays) {
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("90"), 90.0);
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("90s"), 90.0);
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("10m"), 600.0);
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("2h"), 7200.0);
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("30d"), 30.0 * 86400);
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("1.5h"), 5400.0);
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("0"), 0.0);
}

TEST(path_text_units_duration, RejectsMalformedDurations) {
  for (const char* bad : {"", "h", "s", "-5s", "10x", "1 h", " 1h", "10ms", "1.2.3s", "1e3", "nan", "inf", "2H"}) {
    EXPECT_FALSE(ParseDurationSeconds(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace rp

namespace rp {
namespace {

TEST(EscapeMessage, KeepsBackslashesOfPathsEscapedBeforeButEscapesControlAndInvalidBytes) {
  const std::string msg = "refused: '" + EscapePath("r\xe4ksm\xf6rg\xe5s") + "' leaves the sandbox";
  EXPECT_EQ(EscapeMessage(msg), "refused: 'r\\xe4ksm\\xf6rg\\xe5s' leaves the sandbox");
  EXPECT_EQ(EscapeMessage("a\nb\x01"), "a\\nb\\x01");
  EXPECT_EQ(EscapeMessage("\xff"), "\\xff");
}

}  // namespace
}  // namespace rp
