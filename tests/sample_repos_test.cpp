// Sampled restore tests of real restic and borg repositories (docs/sampling.md, "restic and
// borg"): each slice restores only its files, the slices cover the point, the figures are the
// whole point's, and the manifest is compared for the slice only. borg leaves the files outside
// the slice out of its stream; restic restores only the slice's files (`restore --include`).
#include <sys/stat.h>

#include <fstream>
#include <numeric>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine_support.h"
#include "rp/catalog.h"
#include "rp/restore_point.h"
#include "rp/sample_listing.h"

namespace rp::test {
namespace {

constexpr int kFiles = 40;
constexpr uint64_t kFileBytes = 20000;

// `glob_name`: one file's name holds restic's glob characters, which its pattern must escape
// (borg's listing is not used for a name with '?': it streams the whole archive then).
void MakeTree(const std::string& root, bool glob_name = false) {
  std::filesystem::create_directories(root + "/sub");
  for (int i = 0; i < kFiles; ++i) {
    std::string content(kFileBytes, '\0');
    GenerateContent(static_cast<uint64_t>(i) + 1, false, 0, content.data(), content.size());
    const std::string name = glob_name && i == 7 ? "f[7]*?.bin" : "f" + std::to_string(i) + ".bin";
    WriteFile(root + (i % 2 ? "/sub/" : "/") + name, content);
  }
  std::filesystem::create_symlink("sub", root + "/link");
}

// The manifest xxhsum writes of the tree, paths as the repositories store them ("data/...").
std::string ManifestOf(const TempDir& dir) {
  const std::string manifest = dir / "manifest.xxh128";
  EXPECT_EQ(RunShell("(cd " + dir.path() + " && find data -type f | sort | xargs xxhsum -H2 > " + manifest + ")"), 0);
  return manifest;
}

std::set<std::string> RegularFiles(const std::string& root) {
  std::set<std::string> out;
  for (const auto& p : ListTree(root)) {
    struct stat st {};
    if (lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode)) out.insert(p.substr(root.size() + 1));
  }
  return out;
}

// Runs every slice of a 4-way split of the point; checks each and their union. Returns the
// source bytes of slice 0 and of the whole point.
std::pair<uint64_t, uint64_t> CheckSlices(const TempDir& dir, const CopyConfig& copy, const RecoveryPoint& point) {
  const std::string manifest = ManifestOf(dir);
  std::set<std::string> all;
  for (const auto& p : RegularFiles(dir / "data")) all.insert("data/" + p);
  EXPECT_EQ(all.size(), static_cast<size_t>(kFiles));
  std::set<std::string> seen;
  uint64_t sampled_source = 0;
  constexpr uint32_t kSlices = 4;
  for (uint32_t k = 0; k < kSlices; ++k) {
    auto o = Options(dir, "");
    o.manifest = manifest;
    o.keep = true;
    o.sample = SampleSpec{2026, kSlices, k};
    const VerifyReport r = VerifyRecoveryPoint(copy, point, o);
    EXPECT_EQ(r.status, RunStatus::kPassed) << "slice " << k << ": " << Describe(r);
    if (!r.sample) {
      ADD_FAILURE() << "no figures";
      continue;
    }
    const SampleFigures& f = *r.sample;
    EXPECT_EQ(f.point_files, static_cast<uint64_t>(kFiles));
    EXPECT_EQ(f.point_bytes, kFiles * kFileBytes);
    EXPECT_EQ(std::accumulate(f.slice_files.begin(), f.slice_files.end(), uint64_t{0}), f.point_files);
    EXPECT_EQ(std::accumulate(f.slice_bytes.begin(), f.slice_bytes.end(), uint64_t{0}), f.point_bytes);
    std::set<std::string> expected;
    for (const auto& p : all)
      if (SliceOf(2026, kSlices, p) == k) expected.insert(p);
    const std::set<std::string> restored = RegularFiles(r.sandbox);
    EXPECT_EQ(restored, expected) << "slice " << k;
    EXPECT_EQ(f.sample_files, expected.size());
    EXPECT_EQ(f.slice_files[k], expected.size());
    EXPECT_EQ(r.files, expected.size());
    struct stat st {};
    EXPECT_EQ(lstat((r.sandbox + "/data/link").c_str(), &st), 0) << "links are restored by every slice";
    for (const auto& p : restored) EXPECT_TRUE(seen.insert(p).second) << p;
    if (k == 0) sampled_source = r.source_bytes;
    RemoveTree(r.sandbox);
  }
  EXPECT_EQ(seen, all);

  // A manifest that disagrees about one file in slice 1 and one outside it: only the first is found.
  std::string text = ReadFile(manifest), in_path, out_path;
  std::string changed;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const std::string path = line.substr(line.find("  ") + 2);
    const bool in = SliceOf(2026, kSlices, path) == 1;
    if ((in && in_path.empty()) || (!in && out_path.empty())) {
      (in ? in_path : out_path) = path;
      line[0] = line[0] == '0' ? '1' : '0';
    }
    changed += line + "\n";
  }
  WriteFile(dir / "changed.xxh128", changed);
  auto o = Options(dir, "");
  o.manifest = dir / "changed.xxh128";
  o.sample = SampleSpec{2026, kSlices, 1};
  const VerifyReport bad = VerifyRecoveryPoint(copy, point, o);
  EXPECT_EQ(bad.status, RunStatus::kFailed) << Describe(bad);
  EXPECT_EQ(PathsOf(bad, FindingKind::kChecksumMismatch), std::vector<std::string>{in_path}) << Describe(bad);

  o.sample.reset();
  o.manifest = manifest;
  const VerifyReport whole = VerifyRecoveryPoint(copy, point, o);
  EXPECT_EQ(whole.status, RunStatus::kPassed) << Describe(whole);
  EXPECT_FALSE(whole.sample);
  return {sampled_source, whole.source_bytes};
}

// The listings' readers alone (rp/sample_listing.h), on texts as restic and borg write them.
TEST(SampledListings, ResticAndBorgListingsGiveTheFiguresAndWhatTheSliceAsks) {
  const SampleSpec spec{2026, 4, 1};
  std::string restic = R"({"time":"2026-12-06T01:12:40Z","paths":["/srv"],"struct_type":"snapshot"})" "\n";
  std::string borg;
  uint64_t in_slice = 0, in_bytes = 0;
  std::set<std::string> expected_includes = {"--include=/data/link"}, expected_excludes;
  for (int i = 0; i < 40; ++i) {
    const std::string path = "data/f" + std::to_string(i) + (i == 7 ? "[*\\].bin" : ".bin");  // (borg refuses a '?')
    const uint64_t size = 100u + static_cast<uint64_t>(i);
    nlohmann::json node = {{"name", "x"}, {"type", "file"}, {"path", "/" + path}, {"size", size}, {"struct_type", "node"}};
    restic += node.dump() + "\n";
    borg += nlohmann::json{{"type", "-"}, {"path", path}, {"size", size}}.dump() + "\n";
    if (SliceOf(spec.seed, spec.slices, path) == spec.slice) {
      ++in_slice;
      in_bytes += size;
      std::string pattern;
      for (const char c : "/" + path) pattern += std::string(std::string_view("*?[\\").find(c) != std::string_view::npos ? "\\" : "") + c;
      expected_includes.insert("--include=" + pattern);
    } else {
      expected_excludes.insert("pf:" + path);
    }
  }
  restic += R"({"name":"link","type":"symlink","path":"/data/link","struct_type":"node"})" "\n";
  restic += R"({"name":"data","type":"dir","path":"/data","struct_type":"node"})" "\n";
  borg += R"({"type": "d", "path": "data", "size": 0})" "\n" R"({"type": "l", "path": "data/link", "size": 0})" "\n";
  ASSERT_GT(in_slice, 0u);

  std::string why;
  ResticListing r;
  ASSERT_TRUE(ReadResticListing(restic, spec, &r, &why)) << why;
  EXPECT_EQ(r.figures.point_files, 40u);
  EXPECT_EQ(r.figures.sample_files, in_slice);
  EXPECT_EQ(r.figures.sample_bytes, in_bytes);
  EXPECT_EQ(std::set<std::string>(r.includes.begin(), r.includes.end()), expected_includes);
  BorgListing b;
  ASSERT_TRUE(ReadBorgListing(borg, spec, &b, &why)) << why;
  EXPECT_EQ(b.figures, r.figures) << "the same point, the same figures";
  std::set<std::string> excludes;
  std::istringstream lines(b.exclude_lines);
  for (std::string line; std::getline(lines, line);) excludes.insert(line);
  EXPECT_EQ(excludes, expected_excludes);
  EXPECT_EQ(b.excluded, expected_excludes.size());

  // Refused, with the reason: a line that is not JSON, a name the tool had to alter.
  EXPECT_FALSE(ReadResticListing(restic + "not json\n", spec, &r, &why));
  EXPECT_NE(why.find("not a JSON object"), std::string::npos) << why;
  EXPECT_FALSE(ReadResticListing(R"({"type":"file","path":"/a\ufffd","struct_type":"node"})", spec, &r, &why));
  EXPECT_NE(why.find("U+FFFD"), std::string::npos) << why;
  EXPECT_FALSE(ReadBorgListing(borg + R"({"type": "-", "path": "data/a?b"})", spec, &b, &why));
  EXPECT_NE(why.find("'?'"), std::string::npos) << why;
  EXPECT_FALSE(ReadBorgListing("[1, 2]", spec, &b, &why));
  EXPECT_NE(why.find("not an item"), std::string::npos) << why;
}

// A restic repository under dir/repo holding one snapshot of MakeTree(dir/data), and its copy.
CopyConfig ResticRepository(const TempDir& dir, bool glob_name) {
  WriteFile(dir / "pw", "correct horse battery staple\n");
  const std::string repo = dir / "repo", env = "RESTIC_PASSWORD_FILE=" + dir / "pw" + " RESTIC_CACHE_DIR=" + dir / "cache";
  std::string out;
  EXPECT_EQ(RunShell(env + " restic init -q -r " + repo, &out), 0) << out;
  MakeTree(dir / "data", glob_name);
  EXPECT_EQ(RunShell("cd " + dir.path() + " && " + env + " restic backup -q -r " + repo + " data", &out), 0) << out;
  CopyConfig copy;
  copy.location = "offsite";
  copy.kind = CopyKind::kRestic;
  copy.path = repo;
  copy.password_file = dir / "pw";
  return copy;
}

TEST(SampledRepos, BorgLeavesTheFilesOutsideTheSliceOutOfItsStream) {
  TempDir dir;
  WriteFile(dir / "pp", "borg passphrase for tests");
  const std::string repo = dir / "repo";
  const std::string env = "BORG_PASSPHRASE='borg passphrase for tests' BORG_BASE_DIR=" + dir / "borgbase";
  std::string out;
  ASSERT_EQ(RunShell(env + " borg init --encryption=repokey " + repo, &out), 0) << out;
  MakeTree(dir / "data");
  ASSERT_EQ(RunShell("cd " + dir.path() + " && " + env + " borg create " + repo + "::point data", &out), 0) << out;
  CopyConfig copy;
  copy.location = "site-b";
  copy.kind = CopyKind::kBorg;
  copy.path = repo;
  copy.passphrase_file = dir / "pp";
  const CopyCatalog cat = DiscoverCopy(copy, TimeZone::Utc());
  ASSERT_EQ(cat.points.size(), 1u) << cat.error;
  const auto [sampled, whole] = CheckSlices(dir, copy, cat.points.back());
  // A quarter of the files' content, plus headers: well under half the whole stream.
  EXPECT_LT(sampled * 2, whole) << sampled << " of " << whole << " bytes streamed";
}

TEST(SampledRepos, ResticRestoresOnlyTheSliceWithIncludePatterns) {
  TempDir dir;
  const CopyConfig copy = ResticRepository(dir, /*glob_name=*/true);
  const CopyCatalog cat = DiscoverCopy(copy, TimeZone::Utc());
  ASSERT_EQ(cat.points.size(), 1u) << cat.error;
  const auto [sampled, whole] = CheckSlices(dir, copy, cat.points.back());
  // A quarter of the files' content, read from the directory restic restored.
  EXPECT_LT(sampled * 2, whole) << sampled << " of " << whole << " bytes read";
}

TEST(SampledRepos, ARepositoryThatCannotGiveTheSliceFailsTheTest) {
  TempDir dir;
  const CopyConfig copy = ResticRepository(dir, /*glob_name=*/false);
  ASSERT_FALSE(HasFailure());
  // The largest pack holds the files' content (restic packs trees apart): its blobs are
  // overwritten, its header at the end kept, so the listing still reads and the restore fails.
  std::string pack;
  uintmax_t largest = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(copy.path + "/data"))
    if (e.is_regular_file() && e.file_size() > largest) largest = e.file_size(), pack = e.path();
  ASSERT_GT(largest, 8192u);
  std::filesystem::permissions(pack, std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
  {
    std::fstream f(pack, std::ios::in | std::ios::out | std::ios::binary);
    const std::string junk(static_cast<size_t>(largest) - 4096, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  const CopyCatalog cat = DiscoverCopy(copy, TimeZone::Utc());
  ASSERT_EQ(cat.points.size(), 1u) << cat.error;
  auto o = Options(dir, "");
  o.manifest = ManifestOf(dir);
  o.sample = SampleSpec{2026, 4, 0};
  const VerifyReport r = VerifyRecoveryPoint(copy, cat.points.back(), o);
  EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
  bool said = false;
  for (const auto& f : r.findings)
    said |= f.kind == FindingKind::kIoError && f.message.find("restic could not restore the slice") != std::string::npos;
  EXPECT_TRUE(said) << Describe(r);
  ASSERT_TRUE(r.sample);
  EXPECT_EQ(r.sample->point_files, static_cast<uint64_t>(kFiles)) << "the listing's figures: the slice's path was taken";
}

}  // namespace
}  // namespace rp::test
