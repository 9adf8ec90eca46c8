// The restoreproof binary as a user runs it: --help/--version, exit codes of DESIGN.md, the
// `verify --json` fields, and manifests from `manifest create` / `verify --write-manifest` that
// the real xxhsum and sha256sum verify.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "rp/archive_builder.h"
#include "rp/manifest.h"
#include "testkit.h"

namespace rp {
namespace {

using nlohmann::json;
using test::ShellQuote;
using test::Run;
using test::TempDir;


struct CliResult {
  int rc = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs the binary with stdout and stderr captured separately.
CliResult RunRp(const TempDir& dir, const std::string& args) {
  CliResult r;
  const std::string err_file = dir / "stderr.txt";
  r.rc = Run("{ " + ShellQuote(RP_BINARY) + " " + args + " 2>" + ShellQuote(err_file) + "; }", &r.out);
  r.err = test::ReadFile(err_file);
  return r;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

json ParseJson(const CliResult& r) {
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "stdout is not one JSON document:\n" << r.out << "\nstderr:\n" << r.err;
  return j;
}

bool ListHas(const json& list, const std::string& value) {
  return list.is_array() && std::find(list.begin(), list.end(), json(value)) != list.end();
}

// --- basics ----------------------------------------------------------------------------------

TEST(cli_basics, HelpExitsZeroAndListsTheCommands) {
  TempDir dir;
  const CliResult r = RunRp(dir, "--help");
  EXPECT_EQ(r.rc, 0) << r.err;
  const std::string all = r.out + r.err;
  EXPECT_TRUE(Contains(all, "verify")) << all;
  EXPECT_TRUE(Contains(all, "manifest")) << all;
}

TEST(cli_basics, VersionExitsZeroAndPrintsNameAndNumber) {
  TempDir dir;
  const CliResult r = RunRp(dir, "--version");
  EXPECT_EQ(r.rc, 0) << r.err;
  const std::string all = r.out + r.err;
  EXPECT_TRUE(Contains(all, "restoreproof")) << all;
  EXPECT_TRUE(std::any_of(all.begin(), all.end(), [](char c) { return c >= '0' && c <= '9'; })) << all;
}

TEST(cli_basics, UsageErrorsExitTwo) {
  TempDir dir;
  for (const std::string args : {"", "frobnicate", "--frobnicate", "verify", "verify x --no-such-option",
                                 "verify x --algo md5", "verify x --max-bytes lots", "verify x --timeout soon",
                                 "verify x --stall-timeout soon", "verify x --max-memory 0", "verify x --max-memory 63M",
                                 "verify x --timeout 0", "verify x --max-bytes 0",
                                 "manifest", "manifest frobnicate", "manifest create . --algo md5"}) {
    const CliResult r = RunRp(dir, args);
    EXPECT_EQ(r.rc, 2) << "restoreproof " << args << "\nstdout: " << r.out << "\nstderr: " << r.err;
  }
}

// Every command DESIGN.md names is built: `store` wants one of its subcommands (a usage error,
// exit 2, without one), and --help lists it.
TEST(cli_basics, StoreWantsASubcommandAndHelpListsIt) {
  TempDir dir;
  const CliResult r = RunRp(dir, "store");
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(Contains(r.err, "A subcommand is required")) << r.err;
  const CliResult help = RunRp(dir, "--help");
  EXPECT_TRUE(Contains(help.out, "store")) << help.out;
  EXPECT_FALSE(Contains(help.out, "not built yet")) << help.out;
}

TEST(cli_verify, MissingSourceExitsThree) {
  TempDir dir;
  const CliResult r = RunRp(dir, "verify " + ShellQuote(dir / "no-such.tar") + " --sandbox " + ShellQuote(dir.path()));
  EXPECT_EQ(r.rc, 3) << r.out << r.err;
  const CliResult j = RunRp(dir, "--json verify " + ShellQuote(dir / "no-such.tar") + " --sandbox " + ShellQuote(dir.path()));
  EXPECT_EQ(j.rc, 3) << j.out << j.err;
  EXPECT_FALSE(ParseJson(j).is_discarded());
}

TEST(cli_manifest, CreateOnMissingSourceExitsThree) {
  TempDir dir;
  const CliResult r = RunRp(dir, "manifest create " + ShellQuote(dir / "no-such-dir") + " -o " + ShellQuote(dir / "m"));
  EXPECT_EQ(r.rc, 3) << r.out << r.err;
}

// --- verify of a real archive ----------------------------------------------------------------

struct Fixture {
  TempDir dir;
  std::vector<TreeEntry> tree;
  std::string archive;
  std::string manifest;
  std::string sandbox;

  Fixture() {
    SampleTreeOptions o;
    o.seed = 99;
    o.files = 30;
    o.large_file_bytes = 2 * 1024 * 1024 + 5;
    tree = SampleTree(o);
    archive = dir / "point.tar.gz";
    manifest = dir / "point.xxh128";
    sandbox = dir / "sandboxes";
    std::filesystem::create_directories(sandbox);
    const Status s = WriteArchive(archive, ArchiveSpec{"pax", {"gzip"}}, tree);
    EXPECT_TRUE(s.ok()) << s.message();
    test::WriteFile(manifest, ManifestFor(tree, HashAlgo::kXxh128));
  }

  std::string VerifyArgs(const std::string& manifest_file) const {
    return "verify " + ShellQuote(archive) + " --manifest " + ShellQuote(manifest_file) + " --sandbox " + ShellQuote(sandbox);
  }
};

TEST(cli_verify, GoodArchiveWithManifestPassesWithEveryJsonField) {
  Fixture f;
  const CliResult r = RunRp(f.dir, "--json " + f.VerifyArgs(f.manifest));
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  const json j = ParseJson(r);
  ASSERT_TRUE(j.is_object());
  for (const char* field : {"status", "source", "files", "bytes", "mismatched", "missing", "unexpected", "errors",
                            "algorithm", "duration_s", "isolation"}) {
    EXPECT_TRUE(j.contains(field)) << "missing field " << field << " in\n" << r.out;
  }
  EXPECT_EQ(j.value("status", ""), "passed");
  EXPECT_TRUE(Contains(j.value("source", ""), "point.tar.gz"));
  EXPECT_EQ(j.value("algorithm", ""), "xxh128");
  uint64_t regular = 0, content_bytes = 0;
  for (const auto& e : f.tree)
    if (e.kind == TreeEntry::Kind::kFile) {
      ++regular;
      content_bytes += e.size;
    }
  ASSERT_TRUE(j["files"].is_number_unsigned());
  EXPECT_GE(j["files"].get<uint64_t>(), regular);
  ASSERT_TRUE(j["bytes"].is_number_unsigned());
  EXPECT_GE(j["bytes"].get<uint64_t>(), content_bytes);
  ASSERT_TRUE(j["duration_s"].is_number());
  EXPECT_GE(j["duration_s"].get<double>(), 0.0);
  for (const char* list : {"mismatched", "missing", "unexpected", "errors"}) {
    ASSERT_TRUE(j[list].is_array()) << list;
    EXPECT_TRUE(j[list].empty()) << list << ": " << j[list].dump();
  }
  // isolation: one {layer, state, detail} per layer (docs/json.md); the worker's own layers
  // are all there, each with a known state and a detail.
  ASSERT_TRUE(j["isolation"].is_array() && !j["isolation"].empty()) << j["isolation"].dump();
  std::set<std::string> layers;
  for (const auto& rec : j["isolation"]) {
    layers.insert(rec.value("layer", ""));
    EXPECT_TRUE(rec.value("state", "") == "enforced" || rec.value("state", "") == "unavailable" ||
                rec.value("state", "") == "not_requested")
        << rec.dump();
    EXPECT_FALSE(rec.value("detail", "").empty()) << rec.dump();
  }
  for (const char* layer : {"worker_process", "no_new_privs", "user_namespace", "network_namespace", "mount_namespace",
                            "pid_namespace", "capabilities", "landlock", "seccomp", "rlimits", "pids_cgroup",
                            "memory_cgroup", "tmpfs_sandbox", "no_follow_extraction", "symlink_resolution_check"})
    EXPECT_TRUE(layers.count(layer)) << layer << " missing from " << j["isolation"].dump();
}

TEST(cli_verify, StandardInputIsTheFileBehindItAndAPipeIsRefusedByName) {
  // The worker's own standard input is its job: /dev/stdin must not be passed on as a path.
  Fixture f;
  const std::string args = "--json verify /dev/stdin --manifest " + ShellQuote(f.manifest) + " --sandbox " + ShellQuote(f.sandbox);
  const CliResult r = RunRp(f.dir, args + " < " + ShellQuote(f.archive));
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  const json j = ParseJson(r);
  EXPECT_EQ(j.value("status", ""), "passed") << r.out;
  EXPECT_EQ(j.value("source", ""), f.archive) << "the file behind the descriptor, by its real path";

  // The manifest may come the same way.
  const CliResult m = RunRp(f.dir, "verify " + ShellQuote(f.archive) + " --manifest /dev/fd/0 --sandbox " +
                                       ShellQuote(f.sandbox) + " < " + ShellQuote(f.manifest));
  EXPECT_EQ(m.rc, 0) << m.out << m.err;

  // A pipe cannot be handed to the isolated worker: a usage error that says what to do.
  std::string out;  // standard output and error together
  const int rc = test::Run("cat " + ShellQuote(f.archive) + " | " + ShellQuote(RP_BINARY) + " verify /dev/stdin --sandbox " +
                               ShellQuote(f.sandbox),
                           &out);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(Contains(out, "unnamed pipe") && Contains(out, "mkfifo")) << out;
  EXPECT_TRUE(Contains(out, "sandbox: none")) << out;
}

TEST(cli_verify, GoodArchiveHumanOutputExitsZero) {
  Fixture f;
  const CliResult r = RunRp(f.dir, f.VerifyArgs(f.manifest));
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_FALSE(r.out.empty());
}

TEST(cli_verify, AlteredDigestExitsOneAndNamesThePath) {
  Fixture f;
  const std::string target = "data/large.bin";
  std::string text = test::ReadFile(f.manifest);
  const size_t at = text.find("  " + target + "\n");
  ASSERT_NE(at, std::string::npos) << text;
  const size_t line_start = text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
  text[line_start] = text[line_start] == '0' ? '1' : '0';
  const std::string altered = f.dir / "altered.xxh128";
  test::WriteFile(altered, text);

  const CliResult r = RunRp(f.dir, "--json " + f.VerifyArgs(altered));
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  const json j = ParseJson(r);
  EXPECT_EQ(j.value("status", ""), "failed");
  EXPECT_TRUE(ListHas(j["mismatched"], target)) << j["mismatched"].dump();
  EXPECT_EQ(j["mismatched"].size(), 1u) << j["mismatched"].dump();
  EXPECT_TRUE(j["missing"].empty()) << j["missing"].dump();
}

TEST(cli_verify, MalformedManifestLineExitsTwoAndNamesTheLine) {
  Fixture f;
  std::string text = test::ReadFile(f.manifest);
  // Replace line 5 by a malformed one.
  size_t pos = 0;
  for (int i = 0; i < 4; ++i) pos = text.find('\n', pos) + 1;
  const size_t end = text.find('\n', pos);
  text.replace(pos, end - pos, "this is not a checksum line");
  const std::string bad = f.dir / "bad.xxh128";
  test::WriteFile(bad, text);

  const CliResult r = RunRp(f.dir, f.VerifyArgs(bad));
  EXPECT_EQ(r.rc, 2) << r.out << r.err;
  EXPECT_TRUE(Contains(r.err, ":5")) << "stderr does not name line 5:\n" << r.err;
  const CliResult j = RunRp(f.dir, "--json " + f.VerifyArgs(bad));
  EXPECT_EQ(j.rc, 2) << j.out << j.err;
  EXPECT_TRUE(Contains(j.err, ":5")) << "stderr does not name line 5:\n" << j.err;
}

TEST(cli_verify, WriteManifestOfAPassingRunIsABaselineForTheNextRun) {
  Fixture f;
  const std::string written = f.dir / "baseline.xxh128";
  const CliResult first = RunRp(f.dir, "verify " + ShellQuote(f.archive) + " --sandbox " + ShellQuote(f.sandbox) +
                                           " --write-manifest " + ShellQuote(written));
  EXPECT_EQ(first.rc, 0) << first.out << first.err;
  const auto parsed = LoadManifestFile(written);
  ASSERT_TRUE(parsed.status.ok()) << parsed.status.message();
  EXPECT_FALSE(parsed.manifest.entries.empty());

  const CliResult second = RunRp(f.dir, "--json " + f.VerifyArgs(written));
  EXPECT_EQ(second.rc, 0) << second.out << second.err;
  EXPECT_EQ(ParseJson(second).value("status", ""), "passed");

  // The written manifest is one xxhsum verifies on the extracted archive.
  const std::string x = f.dir / "extracted";
  std::filesystem::create_directories(x);
  ASSERT_EQ(test::Run("bsdtar -xf " + ShellQuote(f.archive) + " -C " + ShellQuote(x)), 0);
  std::string out;
  EXPECT_EQ(test::Run("cd " + ShellQuote(x) + " && xxhsum -c --strict " + ShellQuote(written), &out), 0) << out;
}

// --- manifest create, checked by the real tools ----------------------------------------------

std::vector<TreeEntry> AwkwardTree(bool with_newline) {
  std::vector<TreeEntry> t = {
      {TreeEntry::Kind::kFile, "plain.txt", 1000, 1, true, "", 0644, 1700000000},
      {TreeEntry::Kind::kFile, "empty", 0, 2, true, "", 0644, 1700000000},
      {TreeEntry::Kind::kFile, "with space.txt", 300, 3, true, "", 0644, 1700000000},
      {TreeEntry::Kind::kFile, "back\\slash.txt", 200, 4, true, "", 0644, 1700000000},
      {TreeEntry::Kind::kFile, "dir/sub dir/deep file", 70000, 5, false, "", 0644, 1700000000},
      {TreeEntry::Kind::kFile, "dir/r\xe4ksm\xf6rg\xe5s", 50, 6, true, "", 0644, 1700000000},
      {TreeEntry::Kind::kFile, "x (1) = y", 10, 7, true, "", 0644, 1700000000},
  };
  // xxhsum 0.8.1 cannot represent a newline in a name (it writes the name literally, breaking
  // the line, and never unescapes), so the newline case is only checked with sha256sum.
  if (with_newline) t.push_back({TreeEntry::Kind::kFile, "new\nline", 20, 8, true, "", 0644, 1700000000});
  return t;
}

struct ToolCase {
  std::string algo;  // restoreproof --algo
  std::string tool;  // command that checks the manifest
  bool newline;      // the tree holds a name with a newline
};

void PrintTo(const ToolCase& c, std::ostream* os) { *os << c.algo << " checked by " << c.tool; }

class cli_manifest_create : public ::testing::TestWithParam<ToolCase> {};

void ExpectToolAccepts(const std::string& tool, const std::string& tree_dir, const std::string& manifest,
                       size_t files) {
  std::string out;
  EXPECT_EQ(test::Run("cd " + ShellQuote(tree_dir) + " && " + tool + " -c --strict " + ShellQuote(manifest), &out), 0)
      << out << "\nmanifest:\n" << test::ReadFile(manifest);
  const auto parsed = LoadManifestFile(manifest);
  ASSERT_TRUE(parsed.status.ok()) << parsed.status.message();
  EXPECT_EQ(parsed.manifest.entries.size(), files);
}

TEST_P(cli_manifest_create, FromDirectoryIsVerifiedByTheRealTool) {
  const ToolCase c = GetParam();
  TempDir dir;
  const auto tree = AwkwardTree(c.newline);
  const std::string root = dir / "tree";
  ASSERT_TRUE(WriteTree(root, tree).ok());
  const std::string out = dir / "created.sum";
  const CliResult r = RunRp(dir, "manifest create " + ShellQuote(root) + " -o " + ShellQuote(out) + " --algo " + c.algo);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  ExpectToolAccepts(c.tool, root, out, tree.size());
}

TEST_P(cli_manifest_create, FromArchiveIsVerifiedByTheRealToolOnTheExtractedTree) {
  const ToolCase c = GetParam();
  TempDir dir;
  const auto tree = AwkwardTree(c.newline);
  const std::string archive = dir / "point.tar.zst";
  ASSERT_TRUE(WriteArchive(archive, ArchiveSpec{"pax", {"zstd"}}, tree).ok());
  const std::string out = dir / "created.sum";
  const CliResult r = RunRp(dir, "manifest create " + ShellQuote(archive) + " -o " + ShellQuote(out) + " --algo " + c.algo);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  const std::string x = dir / "extracted";
  std::filesystem::create_directories(x);
  ASSERT_EQ(test::Run("bsdtar -xf " + ShellQuote(archive) + " -C " + ShellQuote(x)), 0);
  ExpectToolAccepts(c.tool, x, out, tree.size());
}

// The manifest written into the tree it describes is not part of it: its file is created only
// once the walk is over.
TEST_P(cli_manifest_create, OutputInsideTheTreeIsNotListed) {
  const ToolCase c = GetParam();
  TempDir dir;
  const auto tree = AwkwardTree(c.newline);
  const std::string root = dir / "tree";
  ASSERT_TRUE(WriteTree(root, tree).ok());
  const std::string out = root + "/MANIFEST.sum";
  const CliResult r = RunRp(dir, "manifest create " + ShellQuote(root) + " -o " + ShellQuote(out) + " --algo " + c.algo);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  const std::string text = test::ReadFile(out);
  EXPECT_EQ(text.find("MANIFEST"), std::string::npos) << text;
  ExpectToolAccepts(c.tool, root, out, tree.size());
}

TEST_P(cli_manifest_create, DefaultOutputIsStandardOutput) {
  const ToolCase c = GetParam();
  TempDir dir;
  const auto tree = AwkwardTree(c.newline);
  const std::string root = dir / "tree";
  ASSERT_TRUE(WriteTree(root, tree).ok());
  const CliResult r = RunRp(dir, "manifest create " + ShellQuote(root) + " --algo " + c.algo);
  EXPECT_EQ(r.rc, 0) << r.err;
  const std::string out = dir / "stdout.sum";
  test::WriteFile(out, r.out);
  ExpectToolAccepts(c.tool, root, out, tree.size());
}

TEST_P(cli_manifest_create, DefaultOutputOfAnArchiveIsStandardOutput) {
  const ToolCase c = GetParam();
  TempDir dir;
  const auto tree = AwkwardTree(c.newline);
  const std::string archive = dir / "point.tar";
  ASSERT_TRUE(WriteArchive(archive, ArchiveSpec{"pax", {}}, tree).ok());
  const CliResult r = RunRp(dir, "manifest create " + ShellQuote(archive) + " --algo " + c.algo);
  EXPECT_EQ(r.rc, 0) << r.err;
  const std::string out = dir / "stdout.sum";
  test::WriteFile(out, r.out);
  const std::string x = dir / "extracted";
  std::filesystem::create_directories(x);
  ASSERT_EQ(test::Run("bsdtar -xf " + ShellQuote(archive) + " -C " + ShellQuote(x)), 0);
  ExpectToolAccepts(c.tool, x, out, tree.size());
}

INSTANTIATE_TEST_SUITE_P(tools, cli_manifest_create,
                         ::testing::Values(ToolCase{"xxh128", "xxhsum", false}, ToolCase{"sha256", "sha256sum", true}),
                         [](const ::testing::TestParamInfo<ToolCase>& param_info) { return param_info.param.algo; });

// An archive is parsed in the isolated worker, and a hostile one yields no manifest at all:
// a baseline must never be made from an archive that does not restore cleanly.
TEST(cli_manifest, CreateFromAHostileArchiveWritesNothingAndExitsOne) {
  TempDir dir;
  std::vector<TreeEntry> e = {{TreeEntry::Kind::kFile, "ok.txt", 10, 1, true, "", 0644, 0},
                              {TreeEntry::Kind::kFile, "../escape.txt", 10, 2, true, "", 0644, 0}};
  ASSERT_TRUE(WriteArchive(dir / "bad.tar", {"pax", {}}, e).ok());
  const CliResult r = RunRp(dir, "manifest create " + ShellQuote(dir / "bad.tar") + " -o " + ShellQuote(dir / "m"));
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_TRUE(Contains(r.err, "unsafe-entry")) << r.err;
  EXPECT_TRUE(Contains(r.err, "no manifest written")) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "m"));
  EXPECT_FALSE(std::filesystem::exists(dir / "escape.txt"));
}

TEST(cli_manifest, CreatedManifestVerifiesTheArchiveItCameFrom) {
  Fixture f;
  const std::string created = f.dir / "created.sha256";
  const CliResult c = RunRp(f.dir, "manifest create " + ShellQuote(f.archive) + " -o " + ShellQuote(created) + " --algo sha256");
  EXPECT_EQ(c.rc, 0) << c.err;
  const CliResult v = RunRp(f.dir, "--json " + f.VerifyArgs(created));
  EXPECT_EQ(v.rc, 0) << v.out << v.err;
  const json j = ParseJson(v);
  EXPECT_EQ(j.value("status", ""), "passed");
  EXPECT_EQ(j.value("algorithm", ""), "sha256");
}

}  // namespace
}  // namespace rp

namespace rp::test {
namespace {

// A source on which nothing moves is stopped by the stall limit, a limit finding (exit 1).
TEST(cli_verify, StallTimeoutStopsASourceThatNeverDeliversWithExitOne) {
  TempDir dir;
  ASSERT_EQ(mkfifo((dir / "stuck.tar").c_str(), 0600), 0);
  std::string out;
  // The FIFO is held open for writing (fd 3) and never written: the worker's read waits forever.
  const std::string cmd = "cd " + dir.path() + " && exec 3<>stuck.tar && " + std::string(RP_BINARY) +
                          " --json verify stuck.tar --sandbox . --stall-timeout 2s > out.json 2> err.txt; echo rc=$?";
  ASSERT_EQ(RunShell(cmd, &out), 0) << out;
  EXPECT_NE(out.find("rc=1"), std::string::npos) << out << ReadFile(dir / "err.txt");
  const auto j = nlohmann::json::parse(ReadFile(dir / "out.json"), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << ReadFile(dir / "out.json");
  EXPECT_EQ(j.value("status", ""), "failed");
  EXPECT_EQ(j["limits"].value("max_stall_seconds", 0.0), 2.0) << j.dump();
  EXPECT_NE(j.dump().find("no progress for 2 s while reading the source"), std::string::npos) << j.dump();
}

// Ctrl-C (SIGINT) during verify stops the restore child and wipes the sandbox before exiting:
// restored personal data is never left behind by an interrupted run.
TEST(cli_verify, InterruptedRunWipesItsSandboxAndExits3) {
  TempDir dir;
  ASSERT_EQ(mkfifo((dir / "stuck.tar").c_str(), 0600), 0);  // a source that never delivers
  std::string out;
  const std::string cmd = "cd " + dir.path() + " && (" + std::string(RP_BINARY) +
                          " verify stuck.tar --sandbox sb --timeout 60s > out.txt 2>&1 & pid=$!; sleep 1; "
                          "test -n \"$(ls sb)\" || echo no-sandbox-during-run; kill -INT $pid; wait $pid; echo rc=$?)";
  ASSERT_EQ(RunShell(cmd, &out), 0) << out;
  EXPECT_NE(out.find("rc=3"), std::string::npos) << out << ReadFile(dir / "out.txt");
  EXPECT_EQ(out.find("no-sandbox-during-run"), std::string::npos) << out;
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "sb")) left.push_back(e.path().string());
  EXPECT_TRUE(left.empty()) << "sandbox left behind: " << left.front();
}

}  // namespace
}  // namespace rp::test

namespace rp::test {
namespace {

// The human summary shows the first findings of each kind and says how many more --json has;
// the JSON document lists every one.
TEST(cli_verify, HumanOutputCapsEachKindJsonListsAll) {
  TempDir dir;
  std::vector<TreeEntry> entries;
  for (int i = 0; i < 30; ++i)
    entries.push_back({TreeEntry::Kind::kFile, "f" + std::to_string(i), 10, static_cast<uint64_t>(i), true, "", 0644, 0});
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, entries).ok());
  std::string manifest;
  for (int i = 0; i < 30; ++i) manifest += FormatManifestLine(HashAlgo::kXxh128, "f" + std::to_string(i), std::string(32, 'a'));
  WriteFile(dir / "m", manifest);
  std::string human, json;
  const std::string base = std::string(RP_BINARY) + " verify " + dir.path() + "/a.tar --manifest " + dir.path() +
                           "/m --sandbox " + dir.path() + "/sb";
  EXPECT_EQ(RunShell(base, &human), 1) << human;
  EXPECT_NE(human.find("and 10 more checksum-mismatch findings"), std::string::npos) << human;
  EXPECT_EQ(RunShell(base + " --json 2>/dev/null", &json), 1);
  EXPECT_EQ(nlohmann::json::parse(json).at("mismatched").size(), 30u);
}

}  // namespace
}  // namespace rp::test
