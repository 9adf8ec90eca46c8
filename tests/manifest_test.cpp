// The manifest reader and writer (rp/manifest.h): every syntax xxhsum 0.8.1 and sha256sum
// (coreutils 9.1) accept, every malformed kind rejected with its line number, unsafe names
// refused, and a differential test that runs the real tools on generated manifests.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "rp/hash.h"
#include "rp/manifest.h"
#include "rp/path_text.h"
#include "testkit.h"

namespace rp {
namespace {

using namespace std::string_literals;
using test::Run;
using test::TempDir;

const std::string kH8 = "0123abcd";
const std::string kH16 = "0123456789abcdef";
const std::string kH32 = "0123456789abcdef0123456789abcdef";
const std::string kH64 = kH32 + "fedcba9876543210fedcba9876543210";
const std::string kH128 = kH64 + kH64;

std::string Upper(std::string s) {
  for (auto& c : s)
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

ManifestParseResult Parse(std::string_view text, std::optional<HashAlgo> hint = std::nullopt) {
  return ParseManifest(text, "m.sum", hint);
}

// The parse succeeded with exactly these (path, hex) entries.
void ExpectEntries(const ManifestParseResult& r, const std::vector<std::pair<std::string, std::string>>& want) {
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  ASSERT_EQ(r.manifest.entries.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(r.manifest.entries[i].path, want[i].first) << "entry " << i;
    EXPECT_EQ(r.manifest.entries[i].hex, want[i].second) << "entry " << i;
  }
}

// Rejected as a usage error whose message names the manifest and the line ("m.sum:LINE").
void ExpectRejectedAt(std::string_view text, size_t line, std::optional<HashAlgo> hint = std::nullopt) {
  const ManifestParseResult r = Parse(text, hint);
  EXPECT_EQ(r.status.code(), Status::Code::kUsage) << "accepted: " << EscapePath(text);
  EXPECT_NE(r.status.message().find("m.sum:" + std::to_string(line)), std::string::npos)
      << "line " << line << " not named in: " << r.status.message();
  EXPECT_TRUE(r.manifest.entries.empty());
}

// --- GNU style -------------------------------------------------------------------------------

TEST(manifest_gnu, TwoSpaceAndBinaryMarkerLines) {
  const auto r = Parse(kH32 + "  a\n" + kH32 + " *dir/b c\n");
  ExpectEntries(r, {{"a", kH32}, {"dir/b c", kH32}});
  EXPECT_EQ(r.manifest.algo, HashAlgo::kXxh128);
  EXPECT_EQ(r.manifest.entries[0].line, 1u);
  EXPECT_EQ(r.manifest.entries[1].line, 2u);
}

TEST(manifest_gnu, DigestLengthSelectsTheAlgorithm) {
  EXPECT_EQ(Parse(kH8 + "  a\n").manifest.algo, HashAlgo::kXxh32);
  EXPECT_EQ(Parse(kH16 + "  a\n").manifest.algo, HashAlgo::kXxh64);
  EXPECT_EQ(Parse(kH32 + "  a\n").manifest.algo, HashAlgo::kXxh128);
  EXPECT_EQ(Parse(kH64 + "  a\n").manifest.algo, HashAlgo::kSha256);
  EXPECT_EQ(Parse(kH128 + "  a\n").manifest.algo, HashAlgo::kSha512);
}

TEST(manifest_gnu, HintResolvesSha512VersusBlake2b) {
  const auto r = Parse(kH128 + "  a\n", HashAlgo::kBlake2b);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.manifest.algo, HashAlgo::kBlake2b);
}

TEST(manifest_gnu, HintNeverOverridesTheDigestLength) {
  // The hint only breaks ties between equal lengths; a caller that requires an algorithm
  // compares manifest.algo afterwards (verify --algo does, and exits 2 on a difference).
  const auto r = Parse(kH32 + "  a\n", HashAlgo::kSha256);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.manifest.algo, HashAlgo::kXxh128);
}

TEST(manifest_gnu, SingleSpaceStyleAcceptedWhenTheWholeFileUsesIt) {
  ExpectEntries(Parse(kH32 + " a\n" + kH32 + " b c\n"), {{"a", kH32}, {"b c", kH32}});
}

TEST(manifest_gnu, MixingSingleAndDoubleSpaceStyleRejected) {
  ExpectRejectedAt(kH32 + "  a\n" + kH32 + "  b\n" + kH32 + " c\n", 3);
}

TEST(manifest_gnu, SingleSpaceStyleKeepsALaterNamesLeadingBlankOrStar) {
  // In a "HASH name" file sha256sum no longer treats ' ' or '*' after the separator as part of
  // the separator: "HASH  x" names " x" and "HASH *x" names "*x" (coreutils md5sum.c split_3).
  ExpectEntries(Parse(kH64 + " a\n" + kH64 + "  lead\n" + kH64 + " *star\n"),
                {{"a", kH64}, {" lead", kH64}, {"*star", kH64}});
}

TEST(manifest_gnu, SingleSpaceLineWhoseNameIsALoneStar) {
  // sha256sum reads "HASH *" as the file "*" (one character after one space: "HASH name" style).
  ExpectEntries(Parse(kH64 + " *\n"), {{"*", kH64}});
}

TEST(manifest_gnu, TabSeparatorAccepted) {
  ExpectEntries(Parse(kH64 + "\t a\n"), {{"a", kH64}});
}

TEST(manifest_gnu, LeadingBlanksAccepted) {
  ExpectEntries(Parse("  " + kH32 + "  a\n\t" + kH32 + "  b\n"), {{"a", kH32}, {"b", kH32}});
}

TEST(manifest_gnu, UpperCaseHexIsLowerCased) {
  ExpectEntries(Parse(Upper(kH64) + "  a\n"), {{"a", kH64}});
}

TEST(manifest_gnu, UnescapedBackslashIsKeptLiterally) {
  // xxhsum 0.8.1 writes "HASH  b\c" for a file named b\c; sha256sum reads such a line literally
  // too, because only a leading backslash turns escaping on.
  ExpectEntries(Parse(kH32 + "  b\\c\n" + kH32 + "  \\n\n"), {{"b\\c", kH32}, {"\\n", kH32}});
}

TEST(manifest_gnu, NamesKeepSpacesStarsAndParentheses) {
  ExpectEntries(Parse(kH32 + "   lead\n" + kH32 + "  trail \n" + kH32 + "  *star\n" + kH32 + "  x (1) = y\n"),
                {{" lead", kH32}, {"trail ", kH32}, {"*star", kH32}, {"x (1) = y", kH32}});
}

TEST(manifest_gnu, NamesAreNormalised) {
  ExpectEntries(Parse(kH32 + "  ./a//b/\n"), {{"a/b", kH32}});
}

// --- escaped names ---------------------------------------------------------------------------

TEST(manifest_escapes, LeadingBackslashUnescapesBackslashNewlineAndCarriageReturn) {
  ExpectEntries(Parse("\\" + kH64 + "  b\\\\c\n\\" + kH64 + "  n\\nl\n\\" + kH64 + " *c\\rr\n"),
                {{"b\\c", kH64}, {"n\nl", kH64}, {"c\rr", kH64}});
}

TEST(manifest_escapes, EscapedTagLines) {
  ExpectEntries(Parse("\\SHA256 (b\\\\c\\nd) = " + kH64 + "\n"), {{"b\\c\nd", kH64}});
}

TEST(manifest_escapes, EscapedLineWithoutEscapesInTheName) {
  ExpectEntries(Parse("\\" + kH64 + "  plain\n"), {{"plain", kH64}});
}

TEST(manifest_escapes, InvalidEscapesRejected) {
  ExpectRejectedAt(kH64 + "  ok\n\\" + kH64 + "  b\\qc\n", 2);
  ExpectRejectedAt(kH64 + "  ok\n\\" + kH64 + "  trailing\\\n", 2);
  ExpectRejectedAt("\\SHA256 (b\\tc) = " + kH64 + "\n", 1);
}

// --- BSD tag style ---------------------------------------------------------------------------

TEST(manifest_tag, EveryAlgorithmTag) {
  struct Case { std::string line; HashAlgo algo; std::string hex; };
  const std::vector<Case> cases = {
      {"XXH128 (a) = " + kH32, HashAlgo::kXxh128, kH32},  {"XXH3 (a) = " + kH16, HashAlgo::kXxh3_64, kH16},
      {"XXH64 (a) = " + kH16, HashAlgo::kXxh64, kH16},    {"XXH32 (a) = " + kH8, HashAlgo::kXxh32, kH8},
      {"SHA256 (a) = " + kH64, HashAlgo::kSha256, kH64},  {"SHA512 (a) = " + kH128, HashAlgo::kSha512, kH128},
      {"BLAKE2b (a) = " + kH128, HashAlgo::kBlake2b, kH128},
  };
  for (const auto& c : cases) {
    const auto r = Parse(c.line + "\n");
    ExpectEntries(r, {{"a", c.hex}});
    EXPECT_EQ(r.manifest.algo, c.algo) << c.line;
  }
}

TEST(manifest_tag, SpacesAroundEqualsAreOptional) {
  for (const std::string& line : {"SHA256 (a)=" + kH64, "SHA256 (a) =" + kH64, "SHA256 (a)= " + kH64,
                                  "SHA256 (a)  =  " + kH64, "SHA256 (a)\t=\t" + kH64}) {
    ExpectEntries(Parse(line + "\n"), {{"a", kH64}});
  }
}

TEST(manifest_tag, NameWithParenthesesUsesTheLastClosingParenthesis) {
  ExpectEntries(Parse("XXH128 (x (1)) = " + kH32 + "\nXXH128 (x) = y) = " + kH32 + "\n"),
                {{"x (1)", kH32}, {"x) = y", kH32}});
}

TEST(manifest_tag, UpperCaseHexAndLeadingBlanks) {
  ExpectEntries(Parse("  XXH128 (a) = " + Upper(kH32) + "\n"), {{"a", kH32}});
}

TEST(manifest_tag, OpensslDgstStyleWithoutSpaceBeforeParenthesis) {
  // `openssl dgst -sha256` (OpenSSL 1.1) prints "SHA256(a)= HASH"; sha256sum -c accepts it
  // (coreutils makes the space between tag and '(' optional).
  ExpectEntries(Parse("SHA256(a)= " + kH64 + "\n"), {{"a", kH64}});
}

TEST(manifest_tag, GnuAndTagLinesOfOneAlgorithmMix) {
  ExpectEntries(Parse(kH32 + "  a\nXXH128 (b) = " + kH32 + "\n"), {{"a", kH32}, {"b", kH32}});
}

// --- line structure --------------------------------------------------------------------------

TEST(manifest_lines, CrlfLineEndings) {
  ExpectEntries(Parse(kH32 + "  a\r\nXXH128 (b) = " + kH32 + "\r\n"), {{"a", kH32}, {"b", kH32}});
}

TEST(manifest_lines, CommentsAndBlankLinesAreSkippedButCounted) {
  const auto r = Parse("# made by test\n\n\r\n" + kH32 + "  a\n#" + kH32 + "  b\n");
  ExpectEntries(r, {{"a", kH32}});
  EXPECT_EQ(r.manifest.entries[0].line, 4u);
}

TEST(manifest_lines, LastLineWithoutNewline) {
  ExpectEntries(Parse(kH32 + "  a\n" + kH32 + "  b"), {{"a", kH32}, {"b", kH32}});
}

TEST(manifest_lines, EmptyManifestHasNoEntries) {
  const auto r = Parse("");
  EXPECT_TRUE(r.status.ok());
  EXPECT_TRUE(r.manifest.entries.empty());
  const auto c = Parse("# only a comment\n\n");
  EXPECT_TRUE(c.status.ok());
  EXPECT_TRUE(c.manifest.entries.empty());
}

// --- malformed lines: each kind, with its line number ----------------------------------------

TEST(manifest_malformed, EveryKindIsRejectedWithItsLineNumber) {
  const std::string good = kH32 + "  good\n";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"free text", "hello world"},
      {"digest only", kH32},
      {"digest and blanks only", kH32 + "  "},
      {"digest one digit short", kH32.substr(1) + "  a"},
      {"digest one digit long", kH32 + "0  a"},
      {"digest of no supported length", kH32.substr(0, 20) + "  a"},
      {"non-hex character in digest", kH32.substr(0, 31) + "g  a"},
      {"digest glued to the name", kH32 + "a"},
      {"indented comment", "  # comment"},
      {"blank-only line", "   "},
      {"tag without closing parenthesis", "XXH128 (a = " + kH32},
      {"tag without equals sign", "XXH128 (a) " + kH32},
      {"tag digest too short", "XXH128 (a) = " + kH32.substr(1)},
      {"tag digest of another algorithm", "XXH128 (a) = " + kH64},
      {"tag digest not hex", "XXH128 (a) = " + kH32.substr(0, 31) + "z"},
      {"tag with trailing text", "XXH128 (a) = " + kH32 + " extra"},
      {"tag with trailing blank", "XXH128 (a) = " + kH32 + " "},
      {"unknown tag", "MD5 (a) = " + kH32},
      {"lower-case tag", "xxh128 (a) = " + kH32},
      {"tag with empty digest", "XXH128 (a) = "},
      {"invalid escape", "\\" + kH32 + "  a\\x41"},
      {"NUL byte in name", kH32 + "  a" + "\0"s + "b"},
  };
  for (const auto& [kind, line] : bad) {
    SCOPED_TRACE(kind);
    ExpectRejectedAt("# header\n" + good + good + line + "\n" + good, 4);
  }
}

TEST(manifest_malformed, UnsafeNamesRejected) {
  for (const std::string name : {"/etc/passwd", "../x", "a/../../x", "a/..", "..", ".", "./", "//x"}) {
    SCOPED_TRACE(name);
    ExpectRejectedAt(kH32 + "  ok\n" + kH32 + "  " + name + "\n", 2);
    ExpectRejectedAt(kH32 + "  ok\nXXH128 (" + name + ") = " + kH32 + "\n", 2);
  }
}

TEST(manifest_malformed, MixedAlgorithmsRejected) {
  ExpectRejectedAt(kH32 + "  a\n" + kH64 + "  b\n", 2);
  ExpectRejectedAt("XXH128 (a) = " + kH32 + "\nSHA256 (b) = " + kH64 + "\n", 2);
  ExpectRejectedAt(kH128 + "  a\nBLAKE2b (b) = " + kH128 + "\n", 2);  // SHA-512 then BLAKE2b
}

TEST(manifest_malformed, Xxh64GnuLineAfterXxh3TagLineIsMixedNotReadAsXxh3) {
  // xxhsum prints XXH3-64 only as a tag line and reads every 16-digit GNU line as XXH64, so a
  // file holding both (`xxhsum -H3 a > m; xxhsum -H1 b >> m`) mixes two algorithms.
  ExpectRejectedAt("XXH3 (a) = " + kH16 + "\n" + kH16 + "  b\n", 2);
}

// --- files -----------------------------------------------------------------------------------

TEST(manifest_file, MissingFileIsAnEnvironmentError) {
  TempDir dir;
  const auto r = LoadManifestFile(dir / "absent.sum");
  EXPECT_EQ(r.status.code(), Status::Code::kEnvironment);
}

TEST(manifest_file, B2FileNameSelectsBlake2b) {
  TempDir dir;
  test::WriteFile(dir / "SUMS.b2", kH128 + "  a\n");
  const auto r = LoadManifestFile(dir / "SUMS.b2");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.manifest.algo, HashAlgo::kBlake2b);
  EXPECT_EQ(AlgoHintFromFileName("/x/y/b2sums.txt"), HashAlgo::kBlake2b);
  EXPECT_NE(AlgoHintFromFileName("/srv/b2/SHA512SUMS"), std::optional<HashAlgo>(HashAlgo::kBlake2b))
      << "only the base name counts";
}

TEST(manifest_file, MessageNamesTheFileAndLine) {
  TempDir dir;
  test::WriteFile(dir / "bad.sum", kH32 + "  a\nnonsense\n");
  const auto r = LoadManifestFile(dir / "bad.sum");
  EXPECT_EQ(r.status.code(), Status::Code::kUsage);
  EXPECT_NE(r.status.message().find("bad.sum:2"), std::string::npos) << r.status.message();
}

TEST(manifest_file, FileNameContainingB2DoesNotBreakOtherAlgorithms) {
  // The file-name hint is a guess: it must not turn a valid SHA-256 or XXH128 manifest whose
  // name happens to contain "b2" ("web2", "b2-bucket") into an error, nor read SHA-512 as BLAKE2b.
  TempDir dir;
  test::WriteFile(dir / "web2.sha256", kH64 + "  a\n");
  const auto sha256 = LoadManifestFile(dir / "web2.sha256");
  EXPECT_TRUE(sha256.status.ok()) << sha256.status.message();
  EXPECT_EQ(sha256.manifest.algo, HashAlgo::kSha256);

  test::WriteFile(dir / "b2-bucket.xxh128", kH32 + "  a\n");
  const auto xxh = LoadManifestFile(dir / "b2-bucket.xxh128");
  EXPECT_TRUE(xxh.status.ok()) << xxh.status.message();

  EXPECT_NE(AlgoHintFromFileName("web2.sha512"), std::optional<HashAlgo>(HashAlgo::kBlake2b));
}

TEST(manifest_file, UpperCaseB2SumsSelectsBlake2b) {
  // B2SUMS is the conventional name next to SHA256SUMS / SHA512SUMS.
  EXPECT_EQ(AlgoHintFromFileName("B2SUMS"), HashAlgo::kBlake2b);
}

// --- writer round trip -----------------------------------------------------------------------

constexpr HashAlgo kAllAlgos[] = {HashAlgo::kXxh128, HashAlgo::kXxh3_64, HashAlgo::kXxh64, HashAlgo::kXxh32,
                                  HashAlgo::kSha256, HashAlgo::kSha512, HashAlgo::kBlake2b};

std::vector<std::string> AwkwardNames() {
  return {"plain",           "with space",       "back\\slash",  "\\leading-backslash", "new\nline",
          "cr\rname",        "trailing-cr\r",    "both\\and\n",  "latin1-r\xe4ksm\xf6rg\xe5s",
          "utf8-\xc3\xa5",   " leading space",   "trail space ", "*star",               "#hash",
          "x (1) = y",       "x) = y",           "tab\tname",    "dir/sub dir/f",       "\xff\xfe",
          "\\n-literal",     "a)",               "(",            "*",                   " "};
}

TEST(manifest_round_trip, FormatThenParseGivesBackPathAndHexForAwkwardNames) {
  for (const HashAlgo algo : kAllAlgos) {
    const std::string hex = HashBytesHex(algo, "content");
    std::string whole;
    for (const std::string& name : AwkwardNames()) {
      SCOPED_TRACE(std::string(HashAlgoName(algo)) + " " + EscapePath(name));
      const std::string line = FormatManifestLine(algo, name, hex);
      ASSERT_FALSE(line.empty());
      EXPECT_EQ(line.back(), '\n');
      const auto r = ParseManifest(line, "m.sum", algo);
      ExpectEntries(r, {{name, hex}});
      EXPECT_EQ(r.manifest.algo, algo);
      whole += line;
    }
    const auto all = ParseManifest(whole, "m.sum", algo);
    ASSERT_TRUE(all.status.ok()) << all.status.message();
    EXPECT_EQ(all.manifest.entries.size(), AwkwardNames().size());
  }
}

TEST(manifest_round_trip, RandomByteNames) {
  std::mt19937_64 rng(424242);
  std::uniform_int_distribution<int> byte_dist(1, 255);
  std::uniform_int_distribution<int> len_dist(1, 12);
  std::uniform_int_distribution<int> comp_dist(1, 3);
  for (int i = 0; i < 3000; ++i) {
    std::string name;
    const int comps = comp_dist(rng);
    for (int c = 0; c < comps; ++c) {
      std::string comp;
      const int len = len_dist(rng);
      while (static_cast<int>(comp.size()) < len) {
        const char ch = static_cast<char>(static_cast<unsigned char>(byte_dist(rng)));
        if (ch != '/') comp += ch;
      }
      if (comp == "." || comp == "..") comp += "x";
      if (!name.empty()) name += '/';
      name += comp;
    }
    const HashAlgo algo = kAllAlgos[static_cast<size_t>(i) % std::size(kAllAlgos)];
    const std::string hex = HashBytesHex(algo, name);
    const auto r = ParseManifest(FormatManifestLine(algo, name, hex), "m.sum", algo);
    ASSERT_TRUE(r.status.ok()) << EscapePath(name) << ": " << r.status.message();
    ASSERT_EQ(r.manifest.entries.size(), 1u);
    ASSERT_EQ(r.manifest.entries[0].path, name) << EscapePath(name);
    ASSERT_EQ(r.manifest.entries[0].hex, hex);
  }
}

TEST(manifest_writer, XxhashLinesKeepBackslashesLiterallyLikeXxhsum) {
  EXPECT_EQ(FormatManifestLine(HashAlgo::kXxh128, "b\\c", kH32), kH32 + "  b\\c\n");
  EXPECT_EQ(FormatManifestLine(HashAlgo::kSha256, "b\\c", kH64), "\\" + kH64 + "  b\\\\c\n");
  EXPECT_EQ(FormatManifestLine(HashAlgo::kSha256, "n\nl", kH64), "\\" + kH64 + "  n\\nl\n");
  EXPECT_EQ(FormatManifestLine(HashAlgo::kXxh3_64, "a", kH16), "XXH3 (a) = " + kH16 + "\n");
}

// --- differential: the real tools ------------------------------------------------------------
//
// Lines are generated in many syntaxes, good and bad, for files that exist in a temporary tree.
// The tool runs inside the tree with `-c --strict`; whenever it accepts (exit 0), ParseManifest
// must accept too and must read the same names and digests (checked by hashing the files).
// We accept the union of both tools' syntax, so we may accept more than either one.
//
// Where the tools differ (checked on this machine):
// - xxhsum 0.8.1 neither escapes nor unescapes names; it rejects CRLF, '#' comments, blank
//   lines, leading blanks, "HASH name" with one space, and "TAG (a)=HASH" without spaces.
// - sha256sum accepts all of those, plus "SHA256(a)= HASH" (no space before '(').
// Deliberately not generated:
// - absolute names and ".." (sha256sum accepts them when the file exists; we refuse them);
// - manifests mixing algorithms (xxhsum checks each line on its own; we require one algorithm);
// - names ending in CR (xxhsum reads "HASH  x\r" as the file "x\r"; we strip the CR of CRLF);
// - xxhsum quirks: it skips any character after the first space ("HASH xa" checks "a"), ignores
//   most of the tag ("XXH3_64 (a) = ..." is taken as XXH3), and reads "_LE" little-endian tags.
// - a leading backslash on xxhsum tag lines (xxhsum ignores the tag, keeps the backslashes).

struct DiffFile {
  std::string name;
  std::string content;
};

std::vector<DiffFile> DiffFiles() {
  return {{"a", "alpha\n"},
          {"b c", "bravo charlie\n"},
          {"b\\c", "backslash\n"},
          {"x (1)", "parens\n"},
          {"x) = y", "tricky tag\n"},
          {" lead", "leading space\n"},
          {"trail ", "trailing space\n"},
          {"*star", "star\n"},
          {"*", "lone star\n"},
          {"\\lead", "leading backslash\n"},
          {"dir/sub f", "nested\n"},
          {"dir/tab\tname", "tab\n"},
          {"n\nl", "newline\n"},
          {"c\rr", "carriage return inside\n"},
          {"r\xe4ksm\xf6rg\xe5s", "latin1\n"},
          {"empty", ""}};
}

// Names as written in lines: the files' own names plus spellings that normalise to them.
std::vector<std::string> DiffLineNames() {
  std::vector<std::string> names;
  for (const auto& f : DiffFiles()) names.push_back(f.name);
  names.push_back("./a");
  names.push_back("dir//sub f");
  return names;
}

std::string CoreutilsEscape(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else out += c;
  }
  return out;
}

const DiffFile* FindFile(const std::string& normalised) {
  static const std::vector<DiffFile> files = DiffFiles();
  for (const auto& f : files)
    if (f.name == normalised) return &f;
  return nullptr;
}

std::string ContentOf(const std::string& line_name) {
  std::string why;
  const auto norm = NormaliseMemberPath(line_name, &why);
  const DiffFile* f = norm ? FindFile(*norm) : nullptr;
  return f ? f->content : "no such file";
}

struct DiffStats {
  int tool_accepted = 0;
  int tool_rejected = 0;
};

void CheckOne(const TempDir& dir, const std::string& tool, const std::string& text, DiffStats* stats) {
  test::WriteFile(dir / "m.sum", text);
  std::string out;
  const int rc = Run("cd '" + dir.path() + "/tree' && " + tool + " -c --strict ../m.sum", &out);
  if (rc != 0) {
    ++stats->tool_rejected;
    return;
  }
  ++stats->tool_accepted;
  const auto r = ParseManifest(text, "m.sum");
  if (!r.status.ok()) {
    ADD_FAILURE() << tool << " accepts, ParseManifest rejects: \"" << EscapePath(text) << "\"\n  "
                  << r.status.message();
    return;
  }
  for (const auto& e : r.manifest.entries) {
    const DiffFile* f = FindFile(e.path);
    if (!f) {
      ADD_FAILURE() << tool << " accepts \"" << EscapePath(text) << "\" but we read the name \""
                    << EscapePath(e.path) << "\", which is not a file of the tree";
      continue;
    }
    EXPECT_EQ(e.hex, HashBytesHex(r.manifest.algo, f->content))
        << tool << " accepts \"" << EscapePath(text) << "\" but we read another digest or algorithm ("
        << HashAlgoName(r.manifest.algo) << ") for \"" << EscapePath(e.path) << "\"";
  }
}

void WriteDiffTree(const TempDir& dir) {
  for (const auto& f : DiffFiles()) {
    const std::filesystem::path p = std::filesystem::path(dir.path()) / "tree" / f.name;
    std::filesystem::create_directories(p.parent_path());
    test::WriteFile(p.string(), f.content);
  }
}

const std::vector<std::string> kEndings = {"\n", "\r\n", ""};

TEST(manifest_differential, EverythingSha256sumAcceptsWeAcceptWithTheSameMeaning) {
  if (test::Run("sha256sum --version") != 0) GTEST_SKIP() << "sha256sum not installed";
  TempDir dir;
  WriteDiffTree(dir);
  DiffStats stats;
  const HashAlgo algo = HashAlgo::kSha256;
  for (const std::string& n : DiffLineNames()) {
    const std::string h = HashBytesHex(algo, ContentOf(n));
    const std::string H = Upper(h);
    const std::string e = CoreutilsEscape(n);
    const std::vector<std::string> forms = {
        h + "  " + n, h + " *" + n, h + " " + n, h + "\t" + n, h + "\t " + n, " " + h + "  " + n,
        "\t" + h + "  " + n, H + "  " + n, "\\" + h + "  " + e, "\\" + h + " *" + e, "\\" + h + " " + e,
        "SHA256 (" + n + ") = " + h, "SHA256 (" + n + ")=" + h, "SHA256 (" + n + ") =" + h,
        "SHA256 (" + n + ")= " + h, "SHA256(" + n + ")= " + h, "SHA256 (" + n + ")  =\t" + h,
        "\\SHA256 (" + e + ") = " + h, " SHA256 (" + n + ") = " + H,
        // malformed
        h.substr(1) + "  " + n, h + "0  " + n, h.substr(0, 63) + "g  " + n, "SHA256 (" + n + ") = " + h.substr(1),
        "SHA256 (" + n + ") = " + h + " ", "SHA256 (" + n + " = " + h, "SHA256 (" + n + ") " + h,
        "SHA-256 (" + n + ") = " + h, "sha256 (" + n + ") = " + h, "SHA256  (" + n + ") = " + h, h, h + "  ",
        "\\" + h + "  " + e + "\\q", "  # " + h + "  " + n, "MD5 (" + n + ") = " + h};
    for (const std::string& f : forms)
      for (const std::string& end : kEndings) CheckOne(dir, "sha256sum", f + end, &stats);
    CheckOne(dir, "sha256sum", "# comment\n\n" + h + "  " + n + "\n", &stats);
    CheckOne(dir, "sha256sum", "\r\n" + h + "  " + n + "\r\n\r\n", &stats);
  }
  // Several lines: styles combined, including the md5 -r ("HASH name") style followed by lines
  // whose names begin with ' ' or '*' (sha256sum keeps those characters as part of the name).
  auto line = [&](const std::string& name, int style) {
    const std::string h = HashBytesHex(algo, ContentOf(name));
    switch (style) {
      case 0: return h + "  " + name + "\n";
      case 1: return h + " *" + name + "\n";
      case 2: return h + " " + name + "\n";
      case 3: return "SHA256 (" + name + ") = " + h + "\n";
      default: return "\\" + h + "  " + CoreutilsEscape(name) + "\n";
    }
  };
  for (int s1 = 0; s1 < 5; ++s1)
    for (int s2 = 0; s2 < 5; ++s2)
      for (const std::string& second : {"b c"s, " lead"s, "*star"s, "n\nl"s})
        CheckOne(dir, "sha256sum", line("a", s1) + line(second, s2), &stats);
  std::printf("sha256sum accepted %d manifests, rejected %d\n", stats.tool_accepted, stats.tool_rejected);
  EXPECT_GT(stats.tool_accepted, 500);
  EXPECT_GT(stats.tool_rejected, 450);
}

TEST(manifest_differential, EverythingXxhsumAcceptsWeAcceptWithTheSameMeaning) {
  if (test::Run("xxhsum --version") != 0) GTEST_SKIP() << "xxhsum not installed";
  TempDir dir;
  WriteDiffTree(dir);
  DiffStats stats;
  struct Variant { HashAlgo algo; std::string tag; bool gnu; };
  // xxhsum writes XXH3-64 only as a tag line; a 16-digit GNU line is XXH64.
  const std::vector<Variant> variants = {{HashAlgo::kXxh128, "XXH128", true},
                                         {HashAlgo::kXxh64, "XXH64", true},
                                         {HashAlgo::kXxh32, "XXH32", true},
                                         {HashAlgo::kXxh3_64, "XXH3", false}};
  for (const Variant& v : variants) {
    for (const std::string& n : DiffLineNames()) {
      const std::string h = HashBytesHex(v.algo, ContentOf(n));
      const std::string H = Upper(h);
      std::vector<std::string> forms = {
          v.tag + " (" + n + ") = " + h, v.tag + " (" + n + ") = " + H, v.tag + " (" + n + ")=" + h,
          " " + v.tag + " (" + n + ") = " + h, v.tag + " (" + n + ") = " + h.substr(1),
          v.tag + " (" + n + ") = " + h + "0", v.tag + " (" + n + ") " + h};
      if (v.gnu) {
        for (const std::string& g : {h + "  " + n, h + " *" + n, H + "  " + n, " " + h + "  " + n,
                                     "\\" + h + "  " + CoreutilsEscape(n), h.substr(1) + "  " + n, h + "  ", h})
          forms.push_back(g);
      }
      for (const std::string& f : forms)
        for (const std::string& end : kEndings) CheckOne(dir, "xxhsum", f + end, &stats);
    }
  }
  // Two-line manifests: each file's literal GNU line (as xxhsum writes it; a newline in the name
  // breaks it into two lines) followed by a tag line.
  for (const auto& f : DiffFiles())
    CheckOne(dir, "xxhsum", HashBytesHex(HashAlgo::kXxh128, f.content) + "  " + f.name + "\n" +
                                "XXH128 (a) = " + HashBytesHex(HashAlgo::kXxh128, "alpha\n") + "\n",
             &stats);
  std::printf("xxhsum accepted %d manifests, rejected %d\n", stats.tool_accepted, stats.tool_rejected);
  EXPECT_GT(stats.tool_accepted, 300);
  EXPECT_GT(stats.tool_rejected, 1000);
}

}  // namespace
}  // namespace rp

namespace rp::test {
namespace {

TEST(manifest_file, SaveReplacesAtomicallyAndReportsFailure) {
  TempDir dir;
  const std::string path = dir / "m.xxh128";
  ASSERT_TRUE(SaveManifestFile(path, "first\n").ok());
  ASSERT_TRUE(SaveManifestFile(path, "second\n").ok());
  EXPECT_EQ(ReadFile(path), "second\n");
  const Status s = SaveManifestFile(dir / "no-such-dir/m.xxh128", "x\n");
  EXPECT_EQ(s.code(), Status::Code::kEnvironment);
  EXPECT_NE(s.message().find("no-such-dir"), std::string::npos) << s.message();
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().filename().string(), "m.xxh128") << "temporary file left behind";
}

}  // namespace
}  // namespace rp::test
