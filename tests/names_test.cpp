// Member names outside ASCII are restored byte-exact, whatever the locale of the calling
// process: Swedish, Greek and Chinese names, decomposed Unicode (NFD, as macOS writes it) and
// bytes that are not UTF-8 (an old Latin-1 tar), in archives made by the real tools (bsdtar's
// default pax, GNU tar, zip with and without the UTF-8 flag, 7z, cpio), each checked against a
// manifest the real xxhsum wrote of the original tree. The binary runs with LANG and LC_ALL
// unset, C, C.UTF-8 and sv_SE.UTF-8 (compiled into a private LOCPATH when the system has the
// locale sources).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "testkit.h"

namespace rp {
namespace {

using nlohmann::json;
using test::ShellQuote;
using test::RunShell;
using test::TempDir;


struct Name {
  std::string bytes;
  bool utf8 = true;  // valid UTF-8 (the Latin-1 name is not)
  bool nfd = false;  // decomposed form
};

const std::vector<Name>& TestNames() {
  static const std::vector<Name> names = {
      {"Löner 2026.xlsx"},
      {"å ä ö.txt"},
      {"Ärenden/ärende 1.txt"},
      {"Αρχείο πελατών.txt"},             // Greek
      {"文件/报告.txt"},                  // Chinese
      {"Lo\xcc\x88ner-nfd.txt", true, true},  // "Löner" with a combining diaeresis
      {"A\xcc\x8a" "ke/a\xcc\x88ndrad.txt", true, true},  // "Åke/ändrad.txt", decomposed
      {"L\xf6ner-latin1.txt", false},      // ISO 8859-1 bytes
  };
  return names;
}

struct Format {
  std::string name;     // test-name part
  std::string command;  // run in the source tree; writes the archive to $OUT
  bool latin1 = true;   // the format stores names that are not UTF-8
};

void PrintTo(const Format& f, std::ostream* os) { *os << f.name; }

std::vector<Format> Formats() {
  return {
      {"pax_bsdtar_default", "LC_ALL=C.UTF-8 bsdtar -cf \"$OUT\" ."},
      {"pax_bsdtar_c_locale", "LC_ALL=C bsdtar -cf \"$OUT\" ."},  // hdrcharset=BINARY
      {"pax_gnu_tar", "LC_ALL=C.UTF-8 tar --format=posix -cf \"$OUT\" ."},
      {"pax_gnu_tar_gzip", "LC_ALL=C.UTF-8 tar --format=posix -czf \"$OUT\" ."},
      {"pax_gnu_tar_zstd", "LC_ALL=C.UTF-8 tar --format=posix --zstd -cf \"$OUT\" ."},
      {"gnu_tar", "tar --format=gnu -cf \"$OUT\" ."},
      {"zip_utf8_flag", "LC_ALL=C.UTF-8 bsdtar --format zip -cf \"$OUT\" ."},
      {"zip_no_flag", "LC_ALL=C bsdtar --format zip -cf \"$OUT\" ."},
      {"zip_info_zip", "zip -qr \"$OUT.zip\" . && mv \"$OUT.zip\" \"$OUT\""},
      {"sevenzip", "7zz a -bd -bso0 -bsp0 \"$OUT.7z\" . && mv \"$OUT.7z\" \"$OUT\"", false},  // 7z stores UTF-16: no Latin-1 names
      {"cpio_newc", "find . | cpio -o -H newc --quiet > \"$OUT\""},
  };
}

// Builds the tree and the manifest xxhsum writes of it.
class NamesFixture {
 public:
  explicit NamesFixture(bool latin1) {
    src_ = dir_ / "src";
    std::filesystem::create_directories(src_);
    for (const Name& n : TestNames()) {
      if (!n.utf8 && !latin1) continue;
      const std::string path = src_ + "/" + n.bytes;
      std::filesystem::create_directories(std::filesystem::path(path).parent_path());
      test::WriteFile(path, "the content of " + n.bytes + "\n");
      ++files_;
    }
    manifest_ = dir_ / "manifest.xxh128";
    EXPECT_EQ(RunShell("cd " + ShellQuote(src_) + " && find . -type f | sed 's|^\\./||' | sort | while IFS= read -r f; do "
                       "xxhsum -H2 \"$f\" 2>/dev/null; done > " + ShellQuote(manifest_)),
              0);
  }
  const TempDir& dir() const { return dir_; }
  const std::string& src() const { return src_; }
  const std::string& manifest() const { return manifest_; }
  int files() const { return files_; }

 private:
  TempDir dir_;
  std::string src_, manifest_;
  int files_ = 0;
};

// A private locale directory with sv_SE.UTF-8, or "" when the locale sources are missing.
std::string SwedishLocpath(const TempDir& dir) {
  if (!std::filesystem::exists("/usr/share/i18n/locales/sv_SE")) return "";
  const std::string locpath = dir / "locales";
  std::filesystem::create_directories(locpath);
  if (RunShell("localedef -i sv_SE -f UTF-8 " + ShellQuote(locpath + "/sv_SE.UTF-8")) != 0) return "";
  return locpath;
}

class NameBytes : public ::testing::TestWithParam<Format> {};

TEST_P(NameBytes, AreRestoredByteExactInEveryLocale) {
  const Format& format = GetParam();
  NamesFixture fx(format.latin1);
  const std::string archive = fx.dir() / "archive";
  std::string out;
  ASSERT_EQ(RunShell("cd " + ShellQuote(fx.src()) + " && OUT=" + ShellQuote(archive) + " && " + format.command, &out), 0) << out;
  const std::string locpath = SwedishLocpath(fx.dir());
  std::map<std::string, std::string> environments = {
      {"unset", "env -u LANG -u LC_ALL -u LC_CTYPE"},
      {"C", "env -u LC_CTYPE LANG=C LC_ALL=C"},
      {"C.UTF-8", "env -u LC_CTYPE LANG=C.UTF-8 LC_ALL=C.UTF-8"},
  };
  if (!locpath.empty())
    environments["sv_SE.UTF-8"] = "env -u LC_CTYPE LOCPATH=" + ShellQuote(locpath) + " LANG=sv_SE.UTF-8 LC_ALL=sv_SE.UTF-8";
  else
    std::cerr << "sv_SE.UTF-8 not available here (no /usr/share/i18n/locales/sv_SE): skipped\n";
  for (const auto& [label, env] : environments) {
    SCOPED_TRACE("locale " + label);
    const int rc = RunShell(env + " " + ShellQuote(RP_BINARY) + " verify " + ShellQuote(archive) + " --manifest " +
                                ShellQuote(fx.manifest()) + " --sandbox " + ShellQuote(fx.dir() / "sandboxes") + " --json",
                            &out);
    const json j = json::parse(out.substr(0, out.rfind('}') + 1).substr(out.find('{')), nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << out << "\nmanifest:\n" << test::ReadFile(fx.manifest());
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(j.value("status", ""), "passed") << out;
    EXPECT_EQ(j.value("files", 0), fx.files()) << out;
    EXPECT_TRUE(j["missing"].empty() && j["unexpected"].empty() && j["errors"].empty()) << out;
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, NameBytes, ::testing::ValuesIn(Formats()),
                         [](const ::testing::TestParamInfo<Format>& p) { return p.param.name; });

// The tree restored from a pax archive holds the NFD name's own bytes, not its NFC form: the
// names are compared on disk, not only through the manifest.
TEST(NamesOnDisk, DecomposedNameKeepsItsBytesInTheSandbox) {
  NamesFixture fx(true);
  const std::string archive = fx.dir() / "a.tar";
  ASSERT_EQ(RunShell("cd " + ShellQuote(fx.src()) + " && LC_ALL=C.UTF-8 bsdtar -cf " + ShellQuote(archive) + " ."), 0);
  std::string out;
  ASSERT_EQ(RunShell("env -u LANG -u LC_ALL " + ShellQuote(RP_BINARY) + " verify " + ShellQuote(archive) + " --keep --sandbox " +
                         ShellQuote(fx.dir() / "sandboxes") + " --json",
                     &out),
            0)
      << out;
  const json j = json::parse(out.substr(out.find('{')));
  const std::string sandbox = j["sandbox"]["path"].get<std::string>();
  EXPECT_TRUE(std::filesystem::exists(sandbox + "/Lo\xcc\x88ner-nfd.txt")) << sandbox;
  EXPECT_FALSE(std::filesystem::exists(sandbox + "/L\xc3\xb6ner-nfd.txt")) << "the NFC form was written";
  EXPECT_TRUE(std::filesystem::exists(sandbox + "/L\xf6ner-latin1.txt"));
  std::filesystem::remove_all(sandbox);
}

}  // namespace
}  // namespace rp
