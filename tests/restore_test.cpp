// `restoreproof restore` as an operator meets it (docs/restore.md): the real binary restoring real
// pax archives with sidecar manifests into a destination, the restored bytes compared with the
// seeded generator's, a point damaged against its manifest, destinations refused and left
// untouched, and every restoration read back from the restoration log (`log show --json`,
// `log verify`).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rp/archive_builder.h"
#include "rp/hash.h"
#include "process_kit.h"
#include "testkit.h"

namespace rp {
namespace {

using nlohmann::json;
using test::CliResult;
using test::ShellQuote;

constexpr const char* kPersonalData = "Anställda: namn, personnummer, löner";

// One recovery point: its file name (the point's id) and the tree it holds.
struct PointSpec {
  std::string file;
  std::vector<TreeEntry> tree;
};

// An appliance with two targets, each one copy at site-a: `payroll` (personal data) with three
// daily points, the oldest of which has one file whose bytes differ from its manifest, and
// `wiki` (no personal data) with one point. Time zone UTC.
class RestoreEstate {
 public:
  RestoreEstate()
      : config(dir / "restoreproof.toml"), data_dir(dir / "data"), sandbox_dir(dir / "sandboxes"),
        site(dir / "site-a") {
    std::filesystem::create_directories(sandbox_dir);
    payroll = {Point("payroll", "20261130T020000", 1), Point("payroll", "20261201T020000", 2),
               Point("payroll", "20261202T020000", 3)};
    wiki = Point("wiki", "20261202T013000", 4);
    // The oldest payroll point: the manifest is of the original tree, the archive holds one
    // file with other bytes of the same size (a silent change of content).
    PointSpec& damaged = payroll[0];
    std::vector<TreeEntry> altered = damaged.tree;
    for (auto& e : altered)
      if (e.kind == TreeEntry::Kind::kFile && e.size > 0) {
        e.seed += 1000;
        damaged_path = e.path;
        break;
      }
    Write("payroll", damaged, &altered);
    Write("payroll", payroll[1]);
    Write("payroll", payroll[2]);
    Write("wiki", wiki);
    test::WriteFile(config, "[appliance]\ndata_dir = \"" + data_dir + "\"\nsandbox_dir = \"" + sandbox_dir +
                                "\"\ntimezone = \"UTC\"\n\n" + Target("payroll", "\"" + std::string(kPersonalData) + "\"") +
                                Target("wiki", "\"none\""));
  }

  CliResult Rp(const std::string& args) const { return test::RunWithConfig(dir.path(), config, args); }

  // The restoration log's records (`log show --json`).
  json Records() const {
    const CliResult r = Rp("log show --json");
    EXPECT_EQ(r.rc, 0) << r.err;
    const json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j.is_discarded() ? json::array() : j["records"];
  }

  test::TempDir dir;
  const std::string config, data_dir, sandbox_dir, site;
  std::vector<PointSpec> payroll;
  PointSpec wiki;
  std::string damaged_path;

 private:
  static PointSpec Point(const std::string& name, const std::string& stamp, uint64_t seed) {
    SampleTreeOptions o;
    o.seed = seed;
    o.files = 8;
    o.large_file_bytes = 96 * 1024;
    o.exotic_names = false;
    o.links = false;
    return {name + "-" + stamp + ".tar", SampleTree(o)};
  }

  // The archive of `archived` (default: the point's own tree) and the manifest of the point's tree.
  void Write(const std::string& name, const PointSpec& p, const std::vector<TreeEntry>* archived = nullptr) {
    const std::string at = site + "/" + name;
    std::filesystem::create_directories(at);
    const Status s = WriteArchive(at + "/" + p.file, ArchiveSpec{"pax", {}}, archived ? *archived : p.tree);
    ASSERT_TRUE(s.ok()) << s.message();
    test::WriteFile(at + "/" + p.file + ".xxh128", ManifestFor(p.tree, HashAlgo::kXxh128));
  }

  std::string Target(const std::string& name, const std::string& personal_data) const {
    return "[[targets]]\nname = \"" + name + "\"\nowner = \"Test Owner\"\nclassification = { K = 2, R = 2, T = 2 }\n" +
           "personal_data = " + personal_data + "\n[[targets.copies]]\nlocation = \"site-a\"\nkind = \"archive-dir\"\n" +
           "path = \"" + site + "/" + name + "\"\npattern = \"" + name + "-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar\"\n" +
           "manifest = \"{file}.xxh128\"\n\n";
  }
};

// The options every restoration needs, for `target` to `to`.
std::string Restore(const std::string& target, const std::string& to, const std::string& more = "") {
  return "restore " + ShellQuote(target) + " --to " + ShellQuote(to) + " --responsible " + ShellQuote("Åsa Öberg") +
         " --personal-data " + ShellQuote(kPersonalData) + " --reason " + ShellQuote("disk failure, ticket 4711") +
         (more.empty() ? "" : " " + more);
}

std::string Sha256(const std::string& data) {
  Hasher h(HashAlgo::kSha256);
  h.Update(data.data(), data.size());
  return h.FinishHex();
}

// Every name directly in `dir` (none when it does not exist).
std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) names.push_back(e.path().filename().string());
  return names;
}

// The regular files of `tree` are in `root` with the generator's bytes; the damaged path (if
// any) holds other bytes. Returns the files compared.
size_t ExpectTree(const std::vector<TreeEntry>& tree, const std::string& root, const std::string& damaged = "") {
  size_t files = 0;
  for (const auto& e : tree) {
    if (e.kind != TreeEntry::Kind::kFile) continue;
    ++files;
    const std::string path = root + "/" + e.path;
    struct stat st {};
    EXPECT_EQ(lstat(path.c_str(), &st), 0) << e.path << " was not restored";
    EXPECT_TRUE(S_ISREG(st.st_mode)) << e.path;
    const std::string bytes = test::ReadFile(path);
    EXPECT_EQ(bytes.size(), e.size) << e.path;
    if (e.path == damaged) EXPECT_NE(Sha256(bytes), ContentHashHex(e, HashAlgo::kSha256)) << e.path;
    else EXPECT_EQ(Sha256(bytes), ContentHashHex(e, HashAlgo::kSha256)) << e.path << " has other bytes";
  }
  return files;
}

uint64_t FileCount(const std::vector<TreeEntry>& tree) {
  uint64_t n = 0;
  for (const auto& e : tree) n += e.kind == TreeEntry::Kind::kFile ? 1 : 0;
  return n;
}

TEST(Restore, IsRefusedWithoutAResponsiblePersonPersonalDataOrReasonAndNothingIsRestoredOrLogged) {
  RestoreEstate e;
  const std::string to = e.dir / "restored";
  const std::string responsible = " --responsible " + ShellQuote("Åsa Öberg");
  const std::string personal = " --personal-data " + ShellQuote(kPersonalData);
  const std::string reason = " --reason " + ShellQuote("audit");
  const std::string base = "restore payroll --to " + ShellQuote(to);
  const struct {
    std::string args, names;
  } cases[] = {{base + personal + reason, "--responsible"},
               {base + responsible + reason, "--personal-data"},
               {base + responsible + personal, "--reason"},
               {base + responsible + " --personal-data '  '" + reason, "--personal-data"}};
  for (const auto& c : cases) {
    const CliResult r = e.Rp(c.args);
    EXPECT_EQ(r.rc, 2) << c.args << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find(c.names), std::string::npos) << "the message names " << c.names << ":\n" << r.err;
    EXPECT_EQ(r.out, "") << c.args;
  }
  const CliResult all = e.Rp(base);
  for (const char* name : {"--responsible", "--personal-data", "--reason"})
    EXPECT_NE(all.err.find(name), std::string::npos) << "every missing option is named: " << name << "\n" << all.err;
  const CliResult json_form = e.Rp(base + responsible + personal + " --json");
  EXPECT_EQ(json_form.rc, 2);
  EXPECT_EQ(json_form.out, "") << "a refusal prints nothing on standard output, even with --json";
  struct stat st {};
  EXPECT_NE(lstat(to.c_str(), &st), 0) << "nothing was created at the destination";
  EXPECT_TRUE(Names(e.sandbox_dir).empty());
  EXPECT_TRUE(e.Records().empty()) << "a refused restoration appends no record";
}

TEST(Restore, RestoresTheNewestPointOfPersonalDataVerifiedIntoANewDirectoryAndLogsIt) {
  RestoreEstate e;
  const std::string to = e.dir / "restored/payroll";
  std::filesystem::create_directories(e.dir / "restored");
  const CliResult r = e.Rp(Restore("payroll", to));
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  const PointSpec& newest = e.payroll.back();
  EXPECT_EQ(ExpectTree(newest.tree, to), FileCount(newest.tree));
  for (const auto& n : Names(to)) EXPECT_EQ(n.rfind(".rp-", 0), std::string::npos) << "staging left behind: " << n;
  struct stat st {};
  ASSERT_EQ(stat(to.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << "a destination restoreproof creates is closed to other users";
  EXPECT_TRUE(Names(e.sandbox_dir).empty()) << "nothing is restored under sandbox_dir";
  EXPECT_NE(r.out.find("RESTORED and verified"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(newest.file), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("destination: " + to), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("personal data: correct"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("restoration log: record 1 "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("to correct"), std::string::npos) << r.out;

  const json records = e.Records();
  ASSERT_EQ(records.size(), 1u) << records.dump(2);
  const json& rec = records[0];
  EXPECT_EQ(rec["kind"], "real-restore");
  EXPECT_EQ(rec["target"], "payroll");
  EXPECT_EQ(rec["point"], newest.file);
  EXPECT_EQ(rec["location"], "site-a");
  EXPECT_EQ(rec["responsible"], "Åsa Öberg");
  EXPECT_EQ(rec["personal_data"], kPersonalData);
  EXPECT_EQ(rec["reason"], "disk failure, ticket 4711");
  EXPECT_EQ(rec["result"], "passed");
  EXPECT_EQ(rec["correctness"], "correct");
  EXPECT_EQ(rec["failed_files"], json::array());
  EXPECT_EQ(rec["files"], FileCount(newest.tree));
  EXPECT_GT(rec["bytes"].get<uint64_t>(), 0u);
  EXPECT_EQ(rec["failing_findings"], 0);
  EXPECT_EQ(rec["run_id"], 0);
  const CliResult verify = e.Rp("log verify");
  EXPECT_EQ(verify.rc, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("1 records, chain intact"), std::string::npos) << verify.out;
}

TEST(Restore, ADamagedPointIsRestoredKeptAndItsDamagedFileNamedToCorrect) {
  RestoreEstate e;
  const std::string to = e.dir / "restored";
  std::filesystem::create_directories(to);  // an empty directory is a destination too
  const PointSpec& damaged = e.payroll.front();
  ASSERT_FALSE(e.damaged_path.empty());
  const CliResult r = e.Rp(Restore("payroll", to, "--point " + ShellQuote(damaged.file) + " --location site-a"));
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("verification FAILED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("to correct: " + e.damaged_path + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("personal data: incorrect"), std::string::npos) << r.out;
  EXPECT_EQ(ExpectTree(damaged.tree, to, e.damaged_path), FileCount(damaged.tree))
      << "what was restored is kept for the operator, the damaged file too";

  const json records = e.Records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["kind"], "real-restore");
  EXPECT_EQ(records[0]["point"], damaged.file);
  EXPECT_EQ(records[0]["result"], "failed");
  EXPECT_EQ(records[0]["correctness"], "incorrect");
  EXPECT_EQ(records[0]["failed_files"], json::array({e.damaged_path})) << "exactly the damaged file";
  EXPECT_EQ(records[0]["failing_findings"], 1);
  EXPECT_EQ(e.Rp("log verify").rc, 0);
}

TEST(Restore, ADestinationThatIsNotNewOrEmptyOrIsInsideTheApplianceIsRefusedAndLeftUntouched) {
  RestoreEstate e;
  const std::string full = e.dir / "full";
  std::filesystem::create_directories(full);
  test::WriteFile(full + "/keep.txt", "the operator's own file\n");
  test::WriteFile(e.dir / "a-file", "not a directory\n");
  std::filesystem::create_directories(e.dir / "elsewhere");
  ASSERT_EQ(symlink((e.dir / "elsewhere").c_str(), (e.dir / "link").c_str()), 0);
  const struct {
    std::string to, says;
  } cases[] = {
      {full, "not empty"},
      {full + "/", "not empty"},
      {e.dir / "a-file", "not a directory"},
      {e.dir / "link", "symbolic link"},
      {e.sandbox_dir, "sandbox_dir"},
      {e.sandbox_dir + "/restored", "sandbox_dir"},
      {e.data_dir + "/restored", "data_dir"},
      {e.site + "/payroll/restored", "backup location"},
      {e.dir / "missing-parent/restored", "parent directory"},
  };
  for (const auto& c : cases) {
    const CliResult r = e.Rp(Restore("payroll", c.to));
    EXPECT_EQ(r.rc, 2) << c.to << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.to << ": " << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_EQ(Names(full), std::vector<std::string>{"keep.txt"});
  EXPECT_EQ(test::ReadFile(full + "/keep.txt"), "the operator's own file\n");
  EXPECT_EQ(test::ReadFile(e.dir / "a-file"), "not a directory\n");
  EXPECT_TRUE(Names(e.dir / "elsewhere").empty()) << "nothing was written through the symlink";
  EXPECT_TRUE(Names(e.sandbox_dir).empty());
  struct stat st {};
  EXPECT_NE(lstat((e.data_dir + "/restored").c_str(), &st), 0);
  EXPECT_NE(lstat((e.site + "/payroll/restored").c_str(), &st), 0);

  // An unknown point names the newest ones; an unknown location or target is named.
  const CliResult point = e.Rp(Restore("payroll", e.dir / "new", "--point payroll-19990101T000000.tar"));
  EXPECT_EQ(point.rc, 2) << point.err;
  EXPECT_NE(point.err.find("payroll-19990101T000000.tar"), std::string::npos) << point.err;
  for (const auto& p : e.payroll) EXPECT_NE(point.err.find(p.file), std::string::npos) << point.err;
  const CliResult location = e.Rp(Restore("payroll", e.dir / "new", "--location site-z"));
  EXPECT_EQ(location.rc, 2);
  EXPECT_NE(location.err.find("site-z"), std::string::npos) << location.err;
  EXPECT_NE(location.err.find("site-a"), std::string::npos) << "the copies there are are named: " << location.err;
  const CliResult target = e.Rp(Restore("nosuch", e.dir / "new"));
  EXPECT_EQ(target.rc, 2);
  EXPECT_NE(target.err.find("nosuch"), std::string::npos) << target.err;
  EXPECT_NE(lstat((e.dir / "new").c_str(), &st), 0) << "nothing is created for a refused restoration";
  EXPECT_TRUE(e.Records().empty()) << "refusals append no record";
}

TEST(Restore, JsonIsOneDocumentWithTheVerdictTheFilesToCorrectAndTheLogRecord) {
  RestoreEstate e;
  const PointSpec& damaged = e.payroll.front();
  const CliResult bad = e.Rp(Restore("payroll", e.dir / "bad", "--point " + ShellQuote(damaged.file) + " --json"));
  EXPECT_EQ(bad.rc, 1) << bad.err;
  const json b = json::parse(bad.out, nullptr, false);
  ASSERT_FALSE(b.is_discarded()) << "stdout is one JSON document:\n" << bad.out;
  EXPECT_EQ(b["target"], "payroll");
  EXPECT_EQ(b["point"], damaged.file);
  EXPECT_EQ(b["location"], "site-a");
  EXPECT_EQ(b["destination"], e.dir / "bad");
  EXPECT_EQ(b["restored"], true);
  EXPECT_EQ(b["result"], "failed");
  EXPECT_EQ(b["correctness"], "incorrect");
  EXPECT_EQ(b["to_correct"], json::array({e.damaged_path}));
  EXPECT_EQ(b["files"], FileCount(damaged.tree));
  EXPECT_EQ(b["failing_findings"], 1);
  EXPECT_EQ(b["log_seq"], 1);
  EXPECT_EQ(b["report"]["status"], "failed");
  EXPECT_EQ(b["report"]["mismatched"], json::array({e.damaged_path}));
  EXPECT_EQ(b["report"]["manifest_used"], true);

  // The global --json, a target without personal data: no verdict on personal data.
  const CliResult good = e.Rp("--json " + Restore("wiki", e.dir / "wiki"));
  EXPECT_EQ(good.rc, 0) << good.err;
  const json g = json::parse(good.out, nullptr, false);
  ASSERT_FALSE(g.is_discarded()) << good.out;
  EXPECT_EQ(g["result"], "passed");
  EXPECT_EQ(g["restored"], true);
  EXPECT_EQ(g["correctness"], "not-applicable");
  EXPECT_EQ(g["to_correct"], json::array());
  EXPECT_EQ(g["point"], e.wiki.file);
  EXPECT_EQ(g["log_seq"], 2);
  EXPECT_EQ(g["report"]["sandbox"]["path"], e.dir / "wiki") << "the report says where the tree is";
  EXPECT_EQ(ExpectTree(e.wiki.tree, e.dir / "wiki"), FileCount(e.wiki.tree));
  const json records = e.Records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1]["target"], "wiki");
  EXPECT_EQ(records[1]["correctness"], "not-applicable");
  EXPECT_EQ(records[1]["personal_data"], kPersonalData) << "the operator's description is what is logged";
}

}  // namespace
}  // namespace rp
