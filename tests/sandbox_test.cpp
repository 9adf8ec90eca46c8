// Sandbox removal: the parallel first pass and the serial pass after it remove a wide, deep
// tree of any modes, and never follow a link out of it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "testkit.h"

namespace rp::test {
namespace {

namespace fs = std::filesystem;

// Outside the tree: a directory and a file that links inside must not reach.
struct Outside {
  explicit Outside(const TempDir& dir) : root(dir / "outside") {
    fs::create_directories(root + "/sub");
    WriteFile(root + "/keep.txt", "outside");
    WriteFile(root + "/sub/deep.txt", "outside too");
    WriteFile(root + "/linked.txt", "hard-linked from inside");
  }
  bool Intact() const {
    return ReadFile(root + "/keep.txt") == "outside" && ReadFile(root + "/sub/deep.txt") == "outside too" &&
           ReadFile(root + "/linked.txt") == "hard-linked from inside";
  }
  std::string root;
};

// 300 directories side by side (more than the parallel pass queues at once), each with files
// of awkward modes and links out; a chain 60 deep; directories without any permission.
void BuildTree(const std::string& top, const Outside& outside) {
  fs::create_directories(top);
  for (int d = 0; d < 300; ++d) {
    const std::string dir = top + "/d" + std::to_string(d);
    fs::create_directories(dir + "/inner");
    for (int f = 0; f < 5; ++f) WriteFile(dir + "/f" + std::to_string(f), std::string(static_cast<size_t>(100 * f), 'x'));
    chmod((dir + "/f1").c_str(), 0);
    chmod((dir + "/f2").c_str(), 0400);
    WriteFile(dir + "/inner/g", "g");
    if (d % 50 == 0) {
      ASSERT_EQ(symlink(outside.root.c_str(), (dir + "/to-outside-dir").c_str()), 0);
      ASSERT_EQ(symlink((outside.root + "/keep.txt").c_str(), (dir + "/to-outside-file").c_str()), 0);
      ASSERT_EQ(link((outside.root + "/linked.txt").c_str(), (dir + "/hardlink-out").c_str()), 0);
      ASSERT_EQ(mkfifo((dir + "/fifo").c_str(), 0600), 0);
    }
    if (d % 7 == 0) chmod((dir + "/inner").c_str(), 0);
    if (d % 11 == 0) chmod(dir.c_str(), 0500);
  }
  std::string deep = top + "/chain";
  for (int i = 0; i < 60; ++i) deep += "/c";
  fs::create_directories(deep);
  WriteFile(deep + "/bottom", "bottom");
  ASSERT_EQ(symlink("../../../../../../../../../../../../../../../../../../..", (deep + "/up").c_str()), 0);
  chmod((top + "/chain/c/c").c_str(), 0);
}

// A test's directory with the tree above under it, at `top`, and what lies outside.
struct TreeCase {
  TempDir dir;
  Outside outside{dir};
  std::string top = dir / "sandbox";
};

class Wipe : public ::testing::TestWithParam<unsigned> {};

TEST_P(Wipe, RemovesAWideDeepTreeOfAnyModeAndNothingOutside) {
  TreeCase t;
  BuildTree(t.top, t.outside);
  ASSERT_FALSE(HasFatalFailure());
  const Status s = RemoveTree(t.top, GetParam());
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_FALSE(fs::exists(fs::symlink_status(t.top)));
  EXPECT_TRUE(t.outside.Intact());
  struct stat st {};
  ASSERT_EQ(stat((t.outside.root + "/linked.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u) << "the links inside are gone, the file outside stays";
}

std::string ThreadsName(const ::testing::TestParamInfo<unsigned>& p) { return std::to_string(p.param) + "Threads"; }
INSTANTIATE_TEST_SUITE_P(Threads, Wipe, ::testing::Values(1u, 2u, 4u), ThreadsName);

TEST(Wipe, TheParallelPassLeavesOnlyDirectories) {
  TreeCase t;
  const std::string& top = t.top;
  BuildTree(top, t.outside);
  ASSERT_FALSE(HasFatalFailure());
  const int fd = open(top.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EmptyTreeInParallel(fd, 3);
  size_t dirs = 0, others = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(top, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory() && !it->is_symlink()) ++dirs;
    // A thread that finds the queue full empties subdirectories itself only 32 levels down;
    // the 60-deep chain's bottom may be left to the serial pass, by design.
    else if (it->path().string().rfind(top + "/chain/", 0) != 0) ++others;
  }
  EXPECT_EQ(others, 0u) << "files, links and FIFOs are gone";
  EXPECT_GT(dirs, 300u);
  EXPECT_TRUE(t.outside.Intact());
  EXPECT_TRUE(RemoveTree(top, 1).ok());
}

TEST(Wipe, ASandboxThatIsASymlinkIsRemovedNotFollowed) {
  TempDir dir;
  const Outside outside(dir);
  ASSERT_EQ(symlink(outside.root.c_str(), (dir / "sandbox").c_str()), 0);
  EXPECT_TRUE(RemoveTree(dir / "sandbox", 4).ok());
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir / "sandbox")));
  EXPECT_TRUE(outside.Intact());
}

TEST(Wipe, WhatCannotBeRemovedIsReported) {
  TempDir dir;
  const std::string top = dir / "sandbox";
  fs::create_directories(top + "/a/b");
  WriteFile(top + "/a/b/f", "f");
  // Root ignores permissions, but not a mount point: rmdir of one fails (EBUSY).
  if (geteuid() != 0 || RunShell("mount --bind " + (dir / "sandbox") + "/a/b " + top + "/a/b") != 0)
    GTEST_SKIP() << "needs root to bind-mount a directory inside the tree";
  const Status s = RemoveTree(top, 2);
  RunShell("umount " + top + "/a/b");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("still exists"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace rp::test
