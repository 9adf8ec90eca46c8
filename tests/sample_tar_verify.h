// A fixture for the suites of sources we decode ourselves (gzip_test, zstd_test): a small
// sample tree as a plain pax tar with its manifest, and a verify of whatever bytes a test made
// of the tar (compressed, split, damaged), written as the source under the given name.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine_support.h"

namespace rp::test {

class SampleTarVerify : public ::testing::Test {
 protected:
  SampleTarVerify(uint64_t seed, std::string source_name) : seed_(seed), source_name_(std::move(source_name)) {}

  void SetUp() override {
    SampleTreeOptions sto;
    sto.seed = seed_;
    sto.files = 30;
    sto.large_file_bytes = 400 * 1024;
    entries_ = SampleTree(sto);
    manifest_ = dir_ / "m.xxh128";
    WriteFile(manifest_, ManifestFor(entries_, HashAlgo::kXxh128));
    ASSERT_TRUE(WriteArchive(dir_ / "a.tar", {"pax", {}}, entries_).ok());
    tar_ = ReadFile(dir_ / "a.tar");
  }

  VerifyReport Verify(const std::string& bytes, Limits* limits = nullptr) {
    WriteFile(dir_ / source_name_, bytes);
    auto o = Options(dir_, dir_ / source_name_);
    o.manifest = manifest_;
    if (limits) o.limits = *limits;
    return RunVerifyIsolated(o);
  }

  // Flips the byte in the middle of `compressed` (the tar, compressed) and verifies it: the run
  // fails with a corrupt finding that names an offset at or after the damaged byte.
  void ExpectMiddleDamageNamesItsOffset(std::string compressed) {
    const size_t at = compressed.size() / 2;
    compressed[at] = static_cast<char>(compressed[at] ^ 0xFF);
    const VerifyReport r = Verify(compressed);
    EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
    bool named = false;
    for (const auto& f : r.findings)
      if (f.kind == FindingKind::kCorrupt && f.offset > 0 && static_cast<size_t>(f.offset) >= at) named = true;
    EXPECT_TRUE(named) << "a corrupt finding at or after the damaged byte " << at << "\n" << Describe(r);
  }

  // The run failed on one corrupt finding after the archive's end that says `says` and names a
  // compressed offset, while every file itself came back.
  static void ExpectOnlyCorruptAfterTheEnd(const VerifyReport& r, const std::string& says) {
    EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
    ASSERT_EQ(PathsOf(r, FindingKind::kCorrupt).size(), 1u) << Describe(r);
    for (const auto& f : r.findings)
      if (f.kind == FindingKind::kCorrupt) {
        EXPECT_NE(f.message.find("after the archive's end"), std::string::npos) << f.message;
        EXPECT_NE(f.message.find(says), std::string::npos) << f.message;
        EXPECT_GT(f.offset, 0) << "names the compressed offset";
      }
    EXPECT_TRUE(PathsOf(r, FindingKind::kMissing).empty()) << "every file itself came back";
  }

  const uint64_t seed_;
  const std::string source_name_;
  TempDir dir_;
  std::vector<TreeEntry> entries_;
  std::string manifest_;
  std::string tar_;
};

}  // namespace rp::test
