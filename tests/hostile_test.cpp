// Hostile archives: every unsafe kind, in tar, zip and cpio, is refused and reported, and
// nothing exists outside the sandbox afterwards.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "engine_support.h"

namespace rp::test {
namespace {

using K = TreeEntry::Kind;

struct HostileCase {
  std::string name;
  // Builds the entries; `canary` is an absolute directory outside the sandbox.
  std::vector<TreeEntry> (*entries)(const std::string& canary);
  std::string refused_path;  // the entry the finding must name
};

TreeEntry File(const std::string& path, uint64_t size = 100) { return {K::kFile, path, size, 5, true, "", 0644, 0}; }
TreeEntry Link(K kind, const std::string& path, const std::string& target) { return {kind, path, 0, 0, true, target, 0777, 0}; }

std::vector<HostileCase> Cases() {
  return {
      {"AbsolutePath", [](const std::string& c) { return std::vector<TreeEntry>{File("ok.txt"), File(c + "/abs.txt")}; },
       "@canary/abs.txt"},
      {"DotDot", [](const std::string&) { return std::vector<TreeEntry>{File("../../canary/dotdot.txt")}; },
       "../../canary/dotdot.txt"},
      {"DotDotInside", [](const std::string&) { return std::vector<TreeEntry>{File("a/b/../../../../canary/x.txt")}; },
       "a/b/../../../../canary/x.txt"},
      {"SymlinkAbsoluteTargetThenWriteThrough",
       [](const std::string& c) { return std::vector<TreeEntry>{Link(K::kSymlink, "evil", c), File("evil/pwn.txt")}; },
       "evil"},
      {"SymlinkRelativeEscapeThenWriteThrough",
       [](const std::string&) {
         return std::vector<TreeEntry>{Link(K::kSymlink, "up", "../../canary"), File("up/pwn.txt")};
       },
       "up"},
      {"WriteThroughSymlinkInsideTree",
       [](const std::string&) {
         return std::vector<TreeEntry>{{K::kDirectory, "d", 0, 0, true, "", 0755, 0}, Link(K::kSymlink, "inner", "d"),
                                       File("inner/x.txt")};
       },
       "inner/x.txt"},
      {"SymlinkChainEscape",
       [](const std::string&) {
         // Each link alone stays inside when read lexically; together they climb out.
         return std::vector<TreeEntry>{{K::kDirectory, "a/b", 0, 0, true, "", 0755, 0},
                                       Link(K::kSymlink, "a/b/l", "../.."), Link(K::kSymlink, "m", "a/b/l/../..")};
       },
       "m"},
      {"HardlinkOutsideRelative",
       [](const std::string&) { return std::vector<TreeEntry>{Link(K::kHardlink, "hl", "../../canary/secret")}; },
       "hl"},
      {"HardlinkOutsideAbsolute",
       [](const std::string& c) { return std::vector<TreeEntry>{Link(K::kHardlink, "hl", c + "/secret")}; }, "hl"},
      {"CharacterDevice",
       [](const std::string&) { return std::vector<TreeEntry>{{K::kCharDevice, "dev/mem", 0, 0, true, "", 0600, 0}}; },
       "dev/mem"},
      {"BlockDevice",
       [](const std::string&) { return std::vector<TreeEntry>{{K::kBlockDevice, "dev/sda", 0, 0, true, "", 0600, 0}}; },
       "dev/sda"},
      {"Fifo", [](const std::string&) { return std::vector<TreeEntry>{{K::kFifo, "pipe", 0, 0, true, "", 0600, 0}}; },
       "pipe"},
  };
}

struct Param {
  HostileCase hc;
  FormatCase fc;
};
void PrintTo(const Param& p, std::ostream* os) { *os << p.hc.name << " in " << p.fc.name; }

std::vector<Param> Params() {
  std::vector<Param> out;
  const std::vector<FormatCase> formats = {
      {"tar", {"pax", {}}, ".tar"}, {"zip", {"zip", {}}, ".zip"}, {"cpio", {"newc", {}}, ".cpio"}};
  for (const auto& hc : Cases())
    for (const auto& fc : formats) out.push_back({hc, fc});
  return out;
}

// Sets the Unix file type and mode (high 16 bits of the external attributes) of every
// central directory entry of a zip file.
void PatchZipUnixModes(const std::string& path, uint32_t mode) {
  std::string bytes = ReadFile(path);
  for (size_t at = bytes.find("PK\x01\x02"); at != std::string::npos; at = bytes.find("PK\x01\x02", at + 4)) {
    bytes[at + 5] = 3;  // version made by: Unix
    bytes[at + 40] = static_cast<char>(mode & 0xFF);
    bytes[at + 41] = static_cast<char>((mode >> 8) & 0xFF);
  }
  WriteFile(path, bytes);
}

class Hostile : public ::testing::TestWithParam<Param> {};

TEST_P(Hostile, IsRefusedReportedAndNothingLandsOutside) {
  const auto& [hc, fc] = GetParam();
  TempDir dir;
  const std::string canary = dir / "canary";
  std::filesystem::create_directories(canary);
  WriteFile(canary + "/secret", "do not touch");
  const auto before = ListTree(dir.path());

  const std::string archive = dir / ("hostile" + fc.ext);
  auto entries = hc.entries(canary);
  if (hc.name.rfind("Hardlink", 0) == 0 && fc.name != "tar")
    GTEST_SKIP() << fc.name << " cannot name a hard link target: zip has no hard links, cpio links by inode "
                 << "number to earlier members of the same archive only";
  // libarchive will not write special files to zip, but a hostile zip can still declare one
  // in the Unix mode of its central directory: write a plain file, then patch its mode.
  uint32_t zip_special_mode = 0;
  if (fc.name == "zip" && hc.name == "Fifo")
    GTEST_SKIP() << "libarchive's zip reader turns a FIFO mode into a plain empty file (bsdtar -tv shows "
                 << "-rw-------), so no FIFO can reach the engine from a zip";
  if (fc.name == "zip") {
    for (auto& e : entries) {
      if (e.kind == K::kCharDevice) zip_special_mode = 0020600;
      if (e.kind == K::kBlockDevice) zip_special_mode = 0060600;
      if (e.kind == K::kFifo) zip_special_mode = 0010600;
      if (zip_special_mode) e.kind = K::kFile;
    }
  }
  const Status built = WriteArchive(archive, fc.spec, entries);
  ASSERT_TRUE(built.ok()) << built.message();
  if (zip_special_mode) PatchZipUnixModes(archive, zip_special_mode);

  auto o = Options(dir, archive);
  const VerifyReport r = RunVerifyIsolated(o);
  std::string expected = hc.refused_path;
  if (expected.rfind("@canary", 0) == 0) expected = canary + expected.substr(7);
  const auto refused = PathsOf(r, FindingKind::kUnsafeEntry);
  EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
  EXPECT_NE(std::find(refused.begin(), refused.end(), expected), refused.end())
      << "expected refusal of " << expected << "\n" << Describe(r);
  EXPECT_TRUE(r.sandbox_removed);

  // Nothing outside the sandbox changed: the tree is as before plus the archive and the
  // (now empty) sandbox parent.
  auto after = ListTree(dir.path());
  std::vector<std::string> extra;
  for (const auto& p : after)
    if (std::find(before.begin(), before.end(), p) == before.end() && p != archive && p != dir / "sandboxes")
      extra.push_back(p);
  EXPECT_TRUE(extra.empty()) << "created outside the sandbox: " << (extra.empty() ? "" : extra.front());
  EXPECT_EQ(ReadFile(canary + "/secret"), "do not touch");
  struct stat st {};
  ASSERT_EQ(stat((canary + "/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u) << "a hard link to the canary was created";
}

INSTANTIATE_TEST_SUITE_P(Kinds, Hostile, ::testing::ValuesIn(Params()),
                         [](const auto& tpi) { return tpi.param.hc.name + "_" + tpi.param.fc.name; });

TEST(HostileDirectory, SnapshotWithDevicesAndOutwardLinksIsRefused) {
  TempDir dir;
  const std::string snap = dir / "snap";
  std::filesystem::create_directories(snap);
  WriteFile(snap + "/ok.txt", "fine");
  ASSERT_EQ(symlink("/etc/passwd", (snap + "/passwd").c_str()), 0);
  ASSERT_EQ(mkfifo((snap + "/pipe").c_str(), 0600), 0);
  // A Unix socket (tar, zip and cpio cannot carry one; a directory snapshot can).
  const int sock = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string sock_path = snap + "/control.sock";
  ASSERT_LT(sock_path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
  ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  close(sock);
  const VerifyReport r = RunVerifyIsolated(Options(dir, snap));
  EXPECT_EQ(r.status, RunStatus::kFailed);
  auto refused = PathsOf(r, FindingKind::kUnsafeEntry);
  std::sort(refused.begin(), refused.end());
  EXPECT_EQ(refused, (std::vector<std::string>{"control.sock", "passwd", "pipe"})) << Describe(r);
}

}  // namespace
}  // namespace rp::test
