// Sampled restore tests (docs/sampling.md): the split of paths into slices, the configuration's
// parsers, the codec, and the engine restoring one slice of a directory, a zip, a 7z and a
// tar.gz built by the test, with the restored tree looked at in the kept sandbox.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "engine_support.h"
#include "isolation/worker_protocol.h"
#include "rp/codec.h"
#include "rp/sample.h"

namespace rp::test {
namespace {

std::vector<std::string> RandomPaths(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back("dir" + std::to_string(rng() % 20) + "/file-" + std::to_string(rng()) + ".dat");
  return out;
}

TEST(SampleSplit, SlicesOfOneSeedPartitionEveryPath) {
  const auto paths = RandomPaths(5000, 7);
  for (const uint32_t slices : {1u, 2u, 7u, 10u, 64u}) {
    std::vector<size_t> per(slices, 0);
    for (const auto& p : paths) {
      int in = 0;
      for (uint32_t k = 0; k < slices; ++k) in += InSample(SampleSpec{42, slices, k}, p) ? 1 : 0;
      ASSERT_EQ(in, 1) << p << " is in " << in << " of " << slices << " slices";
      const uint32_t s = SliceOf(42, slices, p);
      ASSERT_LT(s, slices);
      EXPECT_TRUE(InSample(SampleSpec{42, slices, s}, p));
      per[s]++;
    }
    EXPECT_EQ(std::accumulate(per.begin(), per.end(), size_t{0}), paths.size());
    // A keyed hash spreads them: no slice far from its share.
    const double share = static_cast<double>(paths.size()) / slices;
    for (const size_t n : per) {
      EXPECT_GT(static_cast<double>(n), share * 0.6) << slices;
      EXPECT_LT(static_cast<double>(n), share * 1.4) << slices;
    }
  }
}

TEST(SampleSplit, DifferentSeedsSplitDifferentlyAndOneSeedAlwaysTheSame) {
  const auto paths = RandomPaths(2000, 9);
  size_t moved = 0;
  for (const auto& p : paths) {
    EXPECT_EQ(SliceOf(1, 10, p), SliceOf(1, 10, p));
    if (SliceOf(1, 10, p) != SliceOf(2, 10, p)) ++moved;
  }
  // Independent splits: about 90% of the paths change slice.
  EXPECT_GT(moved, paths.size() * 8 / 10);
  EXPECT_LT(moved, paths.size() * 95 / 100 + 20);
}

TEST(SampleSize, SlicesForPercentAndBytes) {
  EXPECT_EQ(SlicesFor(SampleSize{0.10, 0}, 0), 10u);
  EXPECT_EQ(SlicesFor(SampleSize{0.125, 0}, 0), 8u);
  EXPECT_EQ(SlicesFor(SampleSize{0.30, 0}, 0), 4u);
  EXPECT_EQ(SlicesFor(SampleSize{1.0, 0}, 0), 1u);
  EXPECT_EQ(SlicesFor(SampleSize{0.01, 0}, 0), 100u);
  EXPECT_EQ(SlicesFor(SampleSize{1e-9, 0}, 0), kMaxSampleSlices);
  const uint64_t g = 1ull << 30;
  EXPECT_EQ(SlicesFor(SampleSize{0, 50 * g}, 120 * g), 3u);
  EXPECT_EQ(SlicesFor(SampleSize{0, 50 * g}, 100 * g), 2u);
  EXPECT_EQ(SlicesFor(SampleSize{0, 50 * g}, 100 * g + 1), 3u);
  EXPECT_EQ(SlicesFor(SampleSize{0, 50 * g}, 10 * g), 1u);
  EXPECT_EQ(SlicesFor(SampleSize{0, 50 * g}, 0), 1u);
  EXPECT_EQ(SlicesFor(SampleSize{0, 1}, 1ull << 40), kMaxSampleSlices);
  EXPECT_EQ(SlicesFor(SampleSize{}, 5 * g), 1u);
  EXPECT_EQ(SlicesFor(SampleSize{0.5, 50 * g}, 500 * g), 10u);  // both: the smaller sample
}

TEST(SampleSize, ParsesTheConfigurationsValues) {
  std::string e;
  EXPECT_EQ(ParseSamplePercent("10%", &e), (SampleSize{0.10, 0})) << e;
  EXPECT_EQ(ParseSamplePercent("12.5%", &e), (SampleSize{0.125, 0})) << e;
  EXPECT_EQ(ParseSamplePercent("100%", &e), (SampleSize{1.0, 0})) << e;
  EXPECT_EQ(ParseSamplePercent("0.5%", &e), (SampleSize{0.005, 0})) << e;
  for (const char* bad : {"0%", "0.0%", "100.5%", "101%", "10", "%", "-5%", "+5%", "1e1%", " 10%", "10 %", "ten%",
                          "1.2.3%", "nan%", "inf%", "", ".%"}) {
    e.clear();
    EXPECT_FALSE(ParseSamplePercent(bad, &e)) << bad;
    EXPECT_NE(e.find("sample"), std::string::npos) << bad << ": " << e;
  }
  EXPECT_FALSE(ParseSamplePercent("7", nullptr));  // no error text asked for
  EXPECT_EQ(ParseSampleBytes("50G", &e), (SampleSize{0, 50ull << 30})) << e;
  EXPECT_EQ(ParseSampleBytes("512M", &e), (SampleSize{0, 512ull << 20})) << e;
  EXPECT_EQ(ParseSampleBytes("4096", &e), (SampleSize{0, 4096})) << e;
  for (const char* bad : {"0", "0G", "", "G", "-1G", "10%", "fifty"}) {
    e.clear();
    EXPECT_FALSE(ParseSampleBytes(bad, &e)) << bad;
    EXPECT_NE(e.find("sample_bytes"), std::string::npos) << bad << ": " << e;
  }
}

TEST(SampleCodec, RoundTripsAndRefusesWhatCannotBe) {
  SampleFigures f;
  f.spec = SampleSpec{~0ull, 3, 2};
  f.point_files = 10;
  f.point_bytes = 1000;
  f.sample_files = 4;
  f.sample_bytes = 300;
  f.slice_files = {3, 3, 4};
  f.slice_bytes = {300, 400, 300};
  SampleFigures back;
  ASSERT_TRUE(DecodeJson(EncodeJson(f), "figures", &back).ok());
  EXPECT_EQ(back, f);
  EXPECT_EQ(nlohmann::json(f.spec)["seed"], "18446744073709551615");

  SampleSpec spec;
  EXPECT_FALSE(DecodeJson(R"({"seed":"1","slices":3,"slice":3})", "s", &spec).ok());
  EXPECT_FALSE(DecodeJson(R"({"seed":"1","slices":0,"slice":0})", "s", &spec).ok());
  EXPECT_FALSE(DecodeJson(R"({"seed":"x1","slices":2,"slice":0})", "s", &spec).ok());
  EXPECT_FALSE(DecodeJson(R"({"seed":"18446744073709551616","slices":2,"slice":0})", "s", &spec).ok());
  EXPECT_FALSE(DecodeJson(R"({"seed":-1,"slices":2,"slice":0})", "s", &spec).ok());
  ASSERT_TRUE(DecodeJson(R"({"seed":5,"slices":2,"slice":1})", "s", &spec).ok());
  EXPECT_EQ(spec, (SampleSpec{5, 2, 1}));
  EXPECT_FALSE(DecodeJson(R"({"spec":{"seed":"1","slices":2,"slice":0},"point_files":1,"point_bytes":1,)"
                          R"("sample_files":1,"sample_bytes":1,"slice_files":[1],"slice_bytes":[1,0]})",
                          "f", &back)
                   .ok());

  VerifyReport r;
  r.sample = f;
  VerifyReport rb;
  ASSERT_TRUE(DecodeJson(EncodeJson(r), "report", &rb).ok());
  EXPECT_EQ(rb, r);
  rb.sample->slice_files[0]++;
  EXPECT_FALSE(rb == r);
  rb.sample.reset();
  EXPECT_FALSE(rb == r);
}

// The worker's job carries the sample; a job with an impossible one is refused whole.
TEST(SampleCodec, TheWorkerJobCarriesTheSample) {
  detail::WorkerJob job;
  job.options.source = "/b/x.tar";
  job.sandbox_path = "/s/rp-sandbox-x";
  detail::WorkerJob back;
  ASSERT_TRUE(detail::DecodeJob(detail::EncodeJob(job), &back).ok());
  EXPECT_FALSE(back.options.sample);
  job.options.sample = SampleSpec{~0ull - 5, 16, 15};
  const std::string text = detail::EncodeJob(job);
  ASSERT_TRUE(detail::DecodeJob(text, &back).ok());
  EXPECT_EQ(back.options.sample, job.options.sample);
  auto j = nlohmann::json::parse(text);
  j["sample"]["slice"] = 16;
  const Status st = detail::DecodeJob(j.dump(), &back);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("slice 16 of 16"), std::string::npos) << st.message();
}

// A tree of many small files in a few directories, a symlink and an empty directory.
std::vector<TreeEntry> Tree(int files) {
  std::vector<TreeEntry> t;
  t.push_back({TreeEntry::Kind::kDirectory, "data", 0, 0, true, "", 0755, 1700000000});
  for (int d = 0; d < 4; ++d) t.push_back({TreeEntry::Kind::kDirectory, "data/d" + std::to_string(d), 0, 0, true, "", 0755, 1700000000});
  t.push_back({TreeEntry::Kind::kDirectory, "data/empty", 0, 0, true, "", 0755, 1700000000});
  for (int i = 0; i < files; ++i) {
    TreeEntry e;
    e.path = "data/d" + std::to_string(i % 4) + "/f" + std::to_string(i) + ".txt";
    e.size = 100 + static_cast<uint64_t>(i) * 37;
    e.seed = static_cast<uint64_t>(i) + 1;
    t.push_back(e);
  }
  t.push_back({TreeEntry::Kind::kSymlink, "data/link", 0, 0, true, "d0", 0777, 1700000000});
  return t;
}

std::set<std::string> FilesOf(const std::vector<TreeEntry>& t) {
  std::set<std::string> out;
  for (const auto& e : t)
    if (e.kind == TreeEntry::Kind::kFile) out.insert(e.path);
  return out;
}

// Regular files under root, relative.
std::set<std::string> RestoredFiles(const std::string& root) {
  std::set<std::string> out;
  for (const auto& p : ListTree(root)) {
    struct stat st {};
    if (lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode)) out.insert(p.substr(root.size() + 1));
  }
  return out;
}

// The directories under root (not root), each of which must hold something: a sampled run
// makes a directory only for an entry of its slice.
uint64_t MadeDirectories(const std::string& root) {
  uint64_t n = 0;
  for (const auto& p : ListTree(root)) {
    struct stat st {};
    if (lstat(p.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    ++n;
    EXPECT_FALSE(std::filesystem::is_empty(p)) << p << " made for nothing";
  }
  return n;
}

struct Source {
  std::string name;
  std::string path;  // the recovery point
};

// Builds the point in `format` ("dir", "zip", "7z", "tar.gz") from entries.
Source Build(const TempDir& dir, const std::string& format, const std::vector<TreeEntry>& t, const std::string& tag) {
  Source s{format, ""};
  if (format == "dir") {
    s.path = dir / ("tree-" + tag);
    EXPECT_TRUE(WriteTree(s.path, t).ok());
  } else if (format == "zip") {
    s.path = dir / ("point-" + tag + ".zip");
    EXPECT_TRUE(WriteArchive(s.path, ArchiveSpec{"zip", {}}, t).ok());
  } else if (format == "7z") {
    s.path = dir / ("point-" + tag + ".7z");
    EXPECT_TRUE(WriteArchive(s.path, ArchiveSpec{"7zip", {}}, t).ok());
  } else {
    s.path = dir / ("point-" + tag + ".tar.gz");
    EXPECT_TRUE(WriteArchive(s.path, ArchiveSpec{"pax", {"gzip"}}, t).ok());
  }
  return s;
}

class SampledRestore : public ::testing::TestWithParam<std::string> {};

TEST_P(SampledRestore, EachSliceRestoresOnlyItsFilesAndTheSlicesCoverThePoint) {
  TempDir dir;
  const auto tree = Tree(150);
  const auto all = FilesOf(tree);
  const Source src = Build(dir, GetParam(), tree, "good");
  WriteFile(dir / "manifest", ManifestFor(tree, HashAlgo::kXxh128));
  constexpr uint64_t kSeed = 0x5eed;
  constexpr uint32_t kSlices = 10;
  std::set<std::string> seen;
  uint64_t point_bytes = 0;
  for (const auto& e : tree) point_bytes += e.kind == TreeEntry::Kind::kFile ? e.size : 0;
  for (uint32_t k = 0; k < kSlices; ++k) {
    auto o = Options(dir, src.path);
    o.manifest = dir / "manifest";
    o.keep = true;
    o.sample = SampleSpec{kSeed, kSlices, k};
    const VerifyReport r = RunVerifyIsolated(o);
    ASSERT_EQ(r.status, RunStatus::kPassed) << "slice " << k << ": " << Describe(r);
    ASSERT_TRUE(r.sample) << k;
    const SampleFigures& f = *r.sample;
    EXPECT_EQ(f.spec, *o.sample);
    // The whole point's figures, whichever slice ran.
    EXPECT_EQ(f.point_files, all.size());
    EXPECT_EQ(f.point_bytes, point_bytes);
    ASSERT_EQ(f.slice_files.size(), kSlices);
    EXPECT_EQ(std::accumulate(f.slice_files.begin(), f.slice_files.end(), uint64_t{0}), f.point_files);
    EXPECT_EQ(std::accumulate(f.slice_bytes.begin(), f.slice_bytes.end(), uint64_t{0}), f.point_bytes);
    EXPECT_EQ(f.slice_files[k], f.sample_files);
    EXPECT_EQ(f.slice_bytes[k], f.sample_bytes);
    // What the sandbox holds: exactly the slice's files, written and hashed.
    const std::set<std::string> restored = RestoredFiles(r.sandbox);
    std::set<std::string> expected;
    uint64_t expected_bytes = 0;
    for (const auto& e : tree)
      if (e.kind == TreeEntry::Kind::kFile && SliceOf(kSeed, kSlices, e.path) == k) {
        expected.insert(e.path);
        expected_bytes += e.size;
      }
    EXPECT_EQ(restored, expected) << "slice " << k;
    EXPECT_EQ(r.files, expected.size());
    EXPECT_EQ(f.sample_files, expected.size());
    EXPECT_EQ(r.bytes, expected_bytes);
    EXPECT_EQ(f.sample_bytes, expected_bytes);
    for (const auto& p : restored) {
      EXPECT_TRUE(InSample(*o.sample, p)) << p;
      EXPECT_TRUE(seen.insert(p).second) << p << " restored by two slices";
    }
    // Links are restored by every slice; a directory only where an entry of the slice needs
    // it, so an empty one by none.
    struct stat st {};
    EXPECT_EQ(lstat((r.sandbox + "/data/link").c_str(), &st), 0) << k;
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    EXPECT_NE(lstat((r.sandbox + "/data/empty").c_str(), &st), 0) << k;
    EXPECT_EQ(r.directories, MadeDirectories(r.sandbox)) << k;
    // The report, figures included, survives its JSON.
    VerifyReport back;
    ASSERT_TRUE(DecodeJson(EncodeJson(r), "report", &back).ok());
    EXPECT_EQ(back, r);
    RemoveTree(r.sandbox);
  }
  EXPECT_EQ(seen, all);
}

TEST_P(SampledRestore, DamageInsideTheSampleIsFoundAndOutsideItIsNot) {
  TempDir dir;
  const auto tree = Tree(120);
  constexpr SampleSpec kSpec{77, 10, 3};
  // One file of the slice and one outside it get other content than the manifest says.
  auto damaged = tree;
  std::string inside, outside;
  for (auto& e : damaged) {
    if (e.kind != TreeEntry::Kind::kFile) continue;
    const bool in = InSample(kSpec, e.path);
    if (in && inside.empty()) {
      inside = e.path;
      e.seed += 1000;
    } else if (!in && outside.empty()) {
      outside = e.path;
      e.seed += 1000;
    }
  }
  ASSERT_FALSE(inside.empty());
  ASSERT_FALSE(outside.empty());
  const Source src = Build(dir, GetParam(), damaged, "bad");
  WriteFile(dir / "manifest", ManifestFor(tree, HashAlgo::kXxh128));

  auto o = Options(dir, src.path);
  o.manifest = dir / "manifest";
  o.sample = kSpec;
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
  EXPECT_EQ(PathsOf(r, FindingKind::kChecksumMismatch), std::vector<std::string>{inside}) << Describe(r);
  EXPECT_TRUE(PathsOf(r, FindingKind::kMissing).empty()) << Describe(r);
  EXPECT_TRUE(PathsOf(r, FindingKind::kUnexpected).empty()) << Describe(r);

  // The slice that holds the other one finds it; the whole point finds both.
  o.sample = SampleSpec{kSpec.seed, kSpec.slices, SliceOf(kSpec.seed, kSpec.slices, outside)};
  const VerifyReport other = RunVerifyIsolated(o);
  EXPECT_EQ(PathsOf(other, FindingKind::kChecksumMismatch), std::vector<std::string>{outside}) << Describe(other);
  o.sample.reset();
  const VerifyReport whole = RunVerifyIsolated(o);
  EXPECT_EQ(PathsOf(whole, FindingKind::kChecksumMismatch).size(), 2u) << Describe(whole);
  EXPECT_FALSE(whole.sample);
}

TEST_P(SampledRestore, AManifestEntryMissingFromTheSourceCountsOnlyInItsSlice) {
  TempDir dir;
  auto tree = Tree(60);
  const Source src = Build(dir, GetParam(), tree, "good");
  // The manifest lists two files the point does not hold, one in the slice and one not.
  constexpr SampleSpec kSpec{1234, 5, 2};
  std::string in_name, out_name;
  for (int i = 0; in_name.empty() || out_name.empty(); ++i) {
    const std::string p = "data/gone" + std::to_string(i);
    std::string& slot = InSample(kSpec, p) ? in_name : out_name;
    if (slot.empty()) slot = p;
  }
  auto listed = tree;
  listed.push_back({TreeEntry::Kind::kFile, in_name, 10, 1, true, "", 0644, 1700000000});
  listed.push_back({TreeEntry::Kind::kFile, out_name, 10, 2, true, "", 0644, 1700000000});
  WriteFile(dir / "manifest", ManifestFor(listed, HashAlgo::kXxh128));
  auto o = Options(dir, src.path);
  o.manifest = dir / "manifest";
  o.sample = kSpec;
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(PathsOf(r, FindingKind::kMissing), std::vector<std::string>{in_name}) << Describe(r);
}

INSTANTIATE_TEST_SUITE_P(Formats, SampledRestore, ::testing::Values("dir", "zip", "7z", "tar_gz"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// The testkit's realistic tree (hard links, symlinks, long and non-UTF-8 names, empty and large
// files): every slice passes against the manifest of the whole tree, whichever side of the
// split a hard link and its target fall on, and the slices' files add up to the point's.
TEST_P(SampledRestore, EverySliceOfARealisticTreePasses) {
  TempDir dir;
  SampleTreeOptions opts;
  opts.files = 80;
  opts.large_file_bytes = 256 * 1024;
  // libarchive's 7z writer converts names through the locale: no non-UTF-8 names there.
  opts.exotic_names = GetParam() != "7z";
  const auto tree = SampleTree(opts);
  const Source src = Build(dir, GetParam(), tree, "real");
  WriteFile(dir / "manifest", ManifestFor(tree, HashAlgo::kXxh128));
  auto o = Options(dir, src.path);
  o.manifest = dir / "manifest";
  const VerifyReport whole = RunVerifyIsolated(o);
  ASSERT_EQ(whole.status, RunStatus::kPassed) << Describe(whole);
  uint64_t files = 0;
  for (uint32_t k = 0; k < 5; ++k) {
    o.sample = SampleSpec{11, 5, k};
    const VerifyReport r = RunVerifyIsolated(o);
    EXPECT_EQ(r.status, RunStatus::kPassed) << "slice " << k << ": " << Describe(r);
    ASSERT_TRUE(r.sample);
    files += r.sample->sample_files;
  }
  EXPECT_EQ(files, whole.files - whole.hardlinks);
}

// A zip member outside the slice is not decompressed: its deflate data damaged, the slice still
// passes (nothing of it was read), while the whole point and the member's own slice fail.
TEST(SampledRestore, AZipMemberOutsideTheSliceIsNotDecompressed) {
  TempDir dir;
  auto tree = Tree(40);
  constexpr SampleSpec kSpec{3, 4, 0};
  const TreeEntry* victim = nullptr;
  for (auto& e : tree)
    if (e.kind == TreeEntry::Kind::kFile && !InSample(kSpec, e.path) && e.size > 1000) {
      victim = &e;
      break;
    }
  ASSERT_TRUE(victim);
  const std::string zip = dir / "point.zip";
  ASSERT_TRUE(WriteArchive(zip, ArchiveSpec{"zip", {}}, tree).ok());
  std::string bytes = ReadFile(zip);
  // The member's local header: its name follows the 30 fixed bytes, then the extra field, then the data.
  const size_t name_at = bytes.find(victim->path);
  ASSERT_NE(name_at, std::string::npos);
  ASSERT_GE(name_at, 30u);
  const size_t header = name_at - 30;
  ASSERT_EQ(bytes.compare(header, 4, "PK\x03\x04"), 0);
  const auto le16 = [&](size_t at) { return static_cast<size_t>(static_cast<unsigned char>(bytes[at])) |
                                            static_cast<size_t>(static_cast<unsigned char>(bytes[at + 1])) << 8; };
  const size_t data = name_at + le16(header + 26) + le16(header + 28);
  for (size_t i = 4; i < 24; ++i) bytes[data + i] = static_cast<char>(bytes[data + i] ^ 0x5a);
  WriteFile(zip, bytes);
  WriteFile(dir / "manifest", ManifestFor(tree, HashAlgo::kXxh128));
  auto o = Options(dir, zip);
  o.manifest = dir / "manifest";
  o.sample = kSpec;
  const VerifyReport sampled = RunVerifyIsolated(o);
  EXPECT_EQ(sampled.status, RunStatus::kPassed) << Describe(sampled);
  o.sample = SampleSpec{kSpec.seed, kSpec.slices, SliceOf(kSpec.seed, kSpec.slices, victim->path)};
  const VerifyReport own = RunVerifyIsolated(o);
  EXPECT_EQ(own.status, RunStatus::kFailed) << Describe(own);
  o.sample.reset();
  const VerifyReport whole = RunVerifyIsolated(o);
  EXPECT_EQ(whole.status, RunStatus::kFailed) << Describe(whole);
}

TEST(SampledRestore, ABadSpecAndAManifestToWriteAreRefused) {
  TempDir dir;
  const Source src = Build(dir, "dir", Tree(5), "x");
  auto o = Options(dir, src.path);
  o.sample = SampleSpec{1, 4, 4};
  VerifyReport r = RunVerify(o);
  EXPECT_EQ(r.status, RunStatus::kAborted);
  EXPECT_EQ(ExitCodeFor(r), 2);
  EXPECT_NE(r.abort_status.message().find("slice"), std::string::npos) << r.abort_status.message();
  o.sample = SampleSpec{1, 4, 1};
  o.write_manifest = dir / "out.xxh128";
  r = RunVerify(o);
  EXPECT_EQ(ExitCodeFor(r), 2) << Describe(r);
  EXPECT_FALSE(std::filesystem::exists(dir / "out.xxh128"));
}

// The files of a directory snapshot outside the slice are never opened: made unreadable
// (mode 000) for the unprivileged user the command runs as, any open of one would fail the
// run. The same tree verified whole fails, so the test can tell.
TEST(SampledRestore, ADirectorysFilesOutsideTheSliceAreNeverOpened) {
  TempDir dir;
  const auto tree = Tree(200);
  const std::string root = dir / "snap";
  ASSERT_TRUE(WriteTree(root, tree).ok());
  WriteFile(dir / "manifest", ManifestFor(tree, HashAlgo::kXxh128));
  constexpr uint64_t kSeed = 99;
  constexpr uint32_t kSlice = 6;
  size_t locked = 0;
  for (const auto& e : tree)
    if (e.kind == TreeEntry::Kind::kFile && SliceOf(kSeed, 10, e.path) != kSlice) {
      ASSERT_EQ(chmod((root + "/" + e.path).c_str(), 0), 0);
      ++locked;
    }
  ASSERT_GT(locked, 100u);
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
  std::filesystem::create_directories(dir / "sandboxes");
  const std::string as_user = getuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
  if (getuid() == 0) {
    ASSERT_EQ(chown((dir / "sandboxes").c_str(), 65534, 65534), 0);
  }
  const std::string cmd = as_user + ShellQuote(RP_BINARY) + " verify " + ShellQuote(root) + " --manifest " +
                          ShellQuote(dir / "manifest") + " --sandbox " + ShellQuote(dir / "sandboxes") +
                          " --isolation best-effort --json";
  std::string out;
  EXPECT_EQ(RunShell(cmd + " --sample 10% --seed " + std::to_string(kSeed) + " --slice " + std::to_string(kSlice), &out),
            0)
      << out;
  EXPECT_NE(out.find("\"sample\""), std::string::npos) << out;
  EXPECT_EQ(out.find("Permission denied"), std::string::npos) << out;
  EXPECT_NE(RunShell(cmd, &out), 0) << "the whole tree should fail to open the locked files: " << out;
  EXPECT_NE(out.find("Permission denied"), std::string::npos) << out;
}

// The command line: --sample / --seed / --slice reproduce one slice, and --json shows its figures.
TEST(SampledRestore, TheVerifyCommandRunsAndRepeatsASlice) {
  TempDir dir;
  const auto tree = Tree(80);
  const Source src = Build(dir, "tar.gz", tree, "cli");
  WriteFile(dir / "manifest", ManifestFor(tree, HashAlgo::kXxh128));
  const std::string base = ShellQuote(RP_BINARY) + " verify " + ShellQuote(src.path) + " --manifest " +
                           ShellQuote(dir / "manifest") + " --sandbox " + ShellQuote(dir / "sandboxes") +
                           " --isolation best-effort";
  std::string a, b, out;
  ASSERT_EQ(RunShell(base + " --json --sample 25% --seed 31 --slice 2 2>/dev/null", &a), 0) << a;
  ASSERT_EQ(RunShell(base + " --json --sample 25% --seed 31 --slice 2 2>/dev/null", &b), 0) << b;
  const auto ja = nlohmann::json::parse(a), jb = nlohmann::json::parse(b);
  EXPECT_EQ(ja.at("sample"), jb.at("sample"));
  EXPECT_EQ(ja.at("sample").at("spec").at("slices"), 4);
  EXPECT_EQ(ja.at("sample").at("spec").at("slice"), 2);
  EXPECT_EQ(ja.at("sample").at("spec").at("seed"), "31");
  EXPECT_EQ(ja.at("sample").at("point_files"), 80);
  EXPECT_EQ(ja.at("files"), ja.at("sample").at("sample_files"));
  // Without --seed one is drawn and shown.
  ASSERT_EQ(RunShell(base + " --sample 50%", &out), 0) << out;
  EXPECT_NE(out.find("repeat with --seed"), std::string::npos) << out;
  EXPECT_NE(out.find("sample: slice 0 of 2"), std::string::npos) << out;
  // Bad values: exit 2 with the reason.
  EXPECT_EQ(RunShell(base + " --sample 0%", &out), 2);
  EXPECT_NE(out.find("above 0"), std::string::npos) << out;
  EXPECT_EQ(RunShell(base + " --sample 10% --slice 10", &out), 2) << out;
  EXPECT_EQ(RunShell(base + " --seed 3", &out), 2) << out;
  EXPECT_EQ(RunShell(base + " --sample-bytes 0", &out), 2) << out;
  EXPECT_EQ(RunShell(base + " --sample 10% --sample-bytes 1M", &out), 2) << out;
  // --sample-bytes: slices from the source's size.
  const uint64_t size = std::filesystem::file_size(src.path);
  ASSERT_EQ(RunShell(base + " --json --sample-bytes " + std::to_string(size / 3 + 1) + " --seed 5 2>/dev/null", &out), 0)
      << out;
  EXPECT_EQ(nlohmann::json::parse(out).at("sample").at("spec").at("slices"), 3);
}

}  // namespace
}  // namespace rp::test
