// Evidence bundles end to end through the real binary (docs/evidence.md): an appliance with a
// target holding personal data and one without, its store (real SQLite) holding restore tests,
// a failed one, a drill, a real restoration with files to correct and a signed checkpoint.
// Shown: the bundle checks with `evidence verify`, with `sha256sum -c` and with `openssl pkeyutl`
// exactly as the README tells auditors; one byte changed in each file in turn, each caught and
// named; the personal-data target's name, paths, points and files absent from every file (the
// PDF's text too); the clear-names export refused without a reason and logged with one; the PDF's
// rows and Swedish letters through pdftotext; `log verify --against` passing while the log
// grows and catching a chain rewritten and re-signed with the appliance's own key; and
// `evidence personal-data`.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "process_kit.h"
#include "rp/restoration_log.h"
#include "rp/store.h"
#include "testkit.h"

namespace rp {
namespace {

using json = nlohmann::json;
using test::ShellQuote;
namespace fs = std::filesystem;

constexpr int64_t kNov20 = 1795161600;  // 2026-11-20T00:00:00Z

// What must never leave the appliance in clear for the target holding personal data.
const char* const kSecrets[] = {"payroll-secret", "anna.svensson", "payroll-secret-20261120"};

class EvidenceEstate : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir = dir.path() + "/data";
    config = dir.path() + "/restoreproof.toml";
    fs::create_directories(data_dir);
    chmod(data_dir.c_str(), 0700);
    for (const char* d : {"/backups/payroll-secret-a", "/backups/payroll-secret-b", "/backups/website"})
      fs::create_directories(dir.path() + d);
    test::WriteFile(config, R"([appliance]
data_dir = ")" + data_dir + R"("
sandbox_dir = ")" + dir.path() + R"(/sandboxes"
timezone = "Europe/Stockholm"

[[targets]]
name = "payroll-secret"
owner = "Åsa Öberg"
classification = { K = 3, R = 3, T = 3 }
personal_data = "Anställda: namn, personnummer, löner"

[[targets.copies]]
location = "site-a"
kind = "archive-dir"
path = ")" + dir.path() + R"(/backups/payroll-secret-a"
pattern = "payroll-secret-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar"

[[targets.copies]]
location = "site-b"
kind = "archive-dir"
path = ")" + dir.path() + R"(/backups/payroll-secret-b"
pattern = "payroll-secret-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar"

[[targets]]
name = "website"
owner = "Johan Berg"
classification = { K = 1, R = 2, T = 2 }
personal_data = "none"

[[targets.copies]]
location = "site-a"
kind = "archive-dir"
path = ")" + dir.path() + R"(/backups/website"
pattern = "website-{YYYY}{MM}{DD}.zip"
)");
    Populate();
  }

  std::unique_ptr<Store> Open() const {
    std::unique_ptr<Store> s;
    const Status st = OpenSqliteStore(StorePath(data_dir), &s, false);
    EXPECT_TRUE(st.ok()) << st.message();
    return s;
  }

  // One ended run of `target`, queued at `at`, recorded as the controller records it.
  void AddRun(Store& store, const std::string& target, int64_t at, Trigger trigger, RunState state,
              const std::vector<Finding>& findings) {
    RunRequest req;
    req.target = target;
    req.trigger = trigger;
    req.requested_by = "schedule";
    const int64_t id = store.EnqueueRun(req, at);
    const auto claimed = store.ClaimRun("test/1/1", at, at + 600);
    ASSERT_TRUE(claimed && claimed->id == id);
    const std::string point = target + "-" + (target == "website" ? "20261120.zip" : "20261120T020000.tar");
    ASSERT_TRUE(store.RecordStart(id, "test/1/1", point, at - 3600, "site-a", 0, "host/1", "0.1.0", "abc"));
    RunOutcome o;
    o.state = state;
    o.finished_at = at + 30;
    o.files = 12;
    o.bytes = 123456;
    o.duration_s = 2.5;
    VerifyReport rep;
    for (const auto& f : findings) rep.Add(f);
    rep.isolation.Set(IsolationLayer::kLandlock, LayerState::kEnforced, "");
    rep.isolation.Set(IsolationLayer::kUserNamespace, LayerState::kUnavailable, "not allowed");
    o.report = rep;
    o.clock.known = true;
    o.clock.synchronised = true;
    o.clock.estimated_error_us = 1500;
    ASSERT_TRUE(store.FinishRun(id, "test/1/1", o));
    static const TimeZone zone = *TimeZone::Locate("Europe/Stockholm");
    LogRecord r = NewLogRecord(trigger == Trigger::kSchedule ? LogKind::kScheduledTest : LogKind::kOperatorTest,
                               at + 30, zone);
    r.target = target;
    r.point = point;
    r.location = "site-a";
    r.responsible = target == "website" ? "Johan Berg" : "Åsa Öberg";
    r.personal_data = target == "website" ? "none" : "Anställda: namn, personnummer, löner";
    r.result = std::string(RunStateName(state));
    r.run_id = id;
    store.AppendLog(r);
  }

  void Populate() {
    auto store = Open();
    const Finding bad(FindingKind::kChecksumMismatch, "staff/anna.svensson.csv", "xxh128 differs");
    for (int d = 0; d < 4; ++d) {
      AddRun(*store, "payroll-secret", kNov20 + d * 86400 + 7200, Trigger::kSchedule,
             d == 2 ? RunState::kFailed : RunState::kPassed, d == 2 ? std::vector<Finding>{bad} : std::vector<Finding>{});
      AddRun(*store, "website", kNov20 + d * 86400 + 7300, Trigger::kSchedule, RunState::kPassed, {});
    }
    static const TimeZone zone = *TimeZone::Locate("Europe/Stockholm");
    LogRecord real = NewLogRecord(LogKind::kRealRestore, kNov20 + 5 * 86400, zone);
    real.target = "payroll-secret";
    real.point = "payroll-secret-20261120T020000.tar";
    real.location = "site-b";
    real.responsible = "Åsa Öberg";
    real.personal_data = "Anställda: namn, personnummer, löner";
    real.reason = "disk failure on the payroll server";
    real.result = "failed";
    real.files = 11;
    real.bytes = 100000;
    real.failing_findings = 1;
    real.correctness = Correctness::kIncorrect;
    real.failed_files = {"staff/anna.svensson.csv"};
    store->AppendLog(real);
    std::unique_ptr<SigningKey> key;
    ASSERT_TRUE(SigningKey::LoadOrCreate(data_dir, &key).ok());
    std::optional<LogCheckpoint> made;
    ASSERT_TRUE(Checkpoint(*store, *key, kNov20 + 6 * 86400, &made).ok());
    ASSERT_TRUE(made.has_value());
  }

  test::CliResult Rp(const std::string& args) const { return test::RunWithConfig(dir.path(), config, args); }

  // Exports November 2026 to a new bundle; returns its path.
  std::string Export(const std::string& extra = "") {
    const std::string out = dir.path() + "/bundle-" + std::to_string(++exports_) + ".tar.gz";
    const auto r = Rp("evidence export --from 2026-11-01 --to 2026-11-30 -o " + ShellQuote(out) + " " + extra);
    EXPECT_EQ(r.rc, 0) << r.out << r.err;
    return out;
  }

  // Extracts a bundle into a new directory; returns the directory holding its files.
  std::string Extract(const std::string& bundle) {
    const std::string x = dir.path() + "/x-" + std::to_string(++extracts_);
    fs::create_directories(x);
    EXPECT_EQ(test::Run("tar -xzf " + ShellQuote(bundle) + " -C " + ShellQuote(x)), 0);
    return x + "/evidence";
  }

  test::TempDir dir;
  std::string data_dir, config;
  int exports_ = 0, extracts_ = 0;
};

std::vector<std::string> FilesIn(const std::string& d) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(d)) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(EvidenceEstate, ABundleChecksWithRestoreproofSha256sumAndOpenssl) {
  const std::string bundle = Export();
  const auto v = Rp("evidence verify " + ShellQuote(bundle));
  EXPECT_EQ(v.rc, 0) << v.out << v.err;
  EXPECT_NE(v.out.find("the bundle is intact and signed"), std::string::npos) << v.out;
  const auto pinned = Rp("evidence verify --key " + ShellQuote(data_dir + "/signing.pub") + " " + ShellQuote(bundle));
  EXPECT_EQ(pinned.rc, 0) << pinned.out;

  const std::string x = Extract(bundle);
  EXPECT_EQ(FilesIn(x), (std::vector<std::string>{"README.txt", "SHA256SUMS", "SHA256SUMS.sig", "drills.csv",
                                                  "log.json", "report.html", "report.json", "report.pdf",
                                                  "restorations.csv", "runs.csv", "signing.pub", "targets.csv"}));
  // The README's commands for auditors, as written there.
  const std::string readme = test::ReadFile(std::string(RP_SOURCE_DIR) + "/README.md");
  const std::string sums_cmd = "sha256sum -c SHA256SUMS";
  const std::string sig_cmd = "openssl pkeyutl -verify -pubin -inkey signing.pub -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig";
  EXPECT_NE(readme.find(sums_cmd), std::string::npos);
  EXPECT_NE(readme.find(sig_cmd), std::string::npos);
  std::string out;
  EXPECT_EQ(test::Run("cd " + ShellQuote(x) + " && " + sums_cmd, &out), 0) << out;
  EXPECT_EQ(test::Run("cd " + ShellQuote(x) + " && " + sig_cmd, &out), 0) << out;
  EXPECT_NE(out.find("Signature Verified Successfully"), std::string::npos) << out;
  // The fingerprint the report states is the key's.
  EXPECT_EQ(test::Run("cd " + ShellQuote(x) + " && openssl pkey -pubin -in signing.pub -outform DER | tail -c 32 | "
                      "sha256sum",
                      &out),
            0);
  const json report = json::parse(test::ReadFile(x + "/report.json"));
  EXPECT_EQ(out.substr(0, 64), report["key_fingerprint"].get<std::string>());
  EXPECT_NE(test::ReadFile(x + "/README.txt").find(report["key_fingerprint"].get<std::string>()), std::string::npos);

  // What the period holds: 8 runs, one failed, the restoration with its file to correct.
  EXPECT_EQ(report["runs"].size(), 8u);
  EXPECT_EQ(report["targets"].size(), 2u);
  ASSERT_EQ(report["restorations"].size(), 1u);
  EXPECT_EQ(report["restorations"][0]["correctness"], "incorrect");
  EXPECT_EQ(report["restorations"][0]["responsible"], "Åsa Öberg");
  ASSERT_EQ(report["restorations"][0]["failed_files"].size(), 1u);
  int failed = 0;
  for (const auto& r : report["runs"]) {
    failed += r["state"] == "failed";
    EXPECT_TRUE(r["clock_known"].get<bool>());
    EXPECT_TRUE(r["clock_synchronised"].get<bool>());
    EXPECT_EQ(r["clock_error_us"], 1500);
    EXPECT_NE(r["isolation"].get<std::string>().find("unavailable: user_namespace"), std::string::npos);
    EXPECT_EQ(r["citation"], "Säker drift av IS/IT §6.1");
  }
  EXPECT_EQ(failed, 1);
  // The log excerpt runs to the head the report pins, checkpoint included.
  const json log = json::parse(test::ReadFile(x + "/log.json"));
  EXPECT_EQ(log["head_seq"], report["chain_seq"]);
  EXPECT_EQ(log["checkpoints"].size(), 1u);
  EXPECT_EQ(log["records"].back()["seq"], log["head_seq"]);
}

TEST_F(EvidenceEstate, OneByteChangedInAnyFileIsCaughtAndNamed) {
  const std::string bundle = Export();
  const std::string clean = Extract(bundle);
  for (const std::string& name : FilesIn(clean)) {
    SCOPED_TRACE(name);
    const std::string x = Extract(bundle);
    std::string data = test::ReadFile(x + "/" + name);
    ASSERT_FALSE(data.empty());
    data[data.size() / 2] = static_cast<char>(data[data.size() / 2] ^ 0x01);
    test::WriteFile(x + "/" + name, data);
    const std::string changed = dir.path() + "/changed-" + name + ".tar.gz";
    ASSERT_EQ(test::Run("tar -czf " + ShellQuote(changed) + " -C " + ShellQuote(x + "/..") + " evidence"), 0);
    const auto v = Rp("evidence verify " + ShellQuote(changed));
    EXPECT_EQ(v.rc, 1) << v.out << v.err;
    EXPECT_NE(v.out.find("the bundle FAILS verification"), std::string::npos) << v.out;
    if (name == "SHA256SUMS" || name == "SHA256SUMS.sig" || name == "signing.pub")
      EXPECT_NE(v.out.find("FAILED  signature"), std::string::npos) << v.out;
    else
      EXPECT_NE(v.out.find(name + ": its SHA-256 differs"), std::string::npos) << v.out;
    // The same change caught by the auditor's own tools.
    std::string out;
    const int sums = test::Run("cd " + ShellQuote(x) + " && sha256sum --quiet -c SHA256SUMS", &out);
    const int sig = test::Run("cd " + ShellQuote(x) +
                                  " && openssl pkeyutl -verify -pubin -inkey signing.pub -rawin -in SHA256SUMS -sigfile "
                                  "SHA256SUMS.sig",
                              &out);
    EXPECT_TRUE(sums != 0 || sig != 0) << name;
  }
}

TEST_F(EvidenceEstate, ExtraMissingAndForeignEntriesAreNamed) {
  const std::string bundle = Export();
  const std::string x = Extract(bundle);
  test::WriteFile(x + "/extra.txt", "smuggled");
  fs::remove(x + "/drills.csv");
  const std::string changed = dir.path() + "/extra.tar.gz";
  ASSERT_EQ(test::Run("tar -czf " + ShellQuote(changed) + " -C " + ShellQuote(x + "/..") + " evidence"), 0);
  const auto v = Rp("evidence verify " + ShellQuote(changed));
  EXPECT_EQ(v.rc, 1);
  EXPECT_NE(v.out.find("missing: drills.csv"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("not part of a bundle: extra.txt"), std::string::npos) << v.out;

  test::WriteFile(dir.path() + "/garbage.tar.gz", "not an archive at all");
  const auto g = Rp("evidence verify " + ShellQuote(dir.path() + "/garbage.tar.gz"));
  EXPECT_EQ(g.rc, 1) << g.out << g.err;
  EXPECT_NE(g.out.find("FAILED  archive"), std::string::npos) << g.out;
  const auto none = Rp("evidence verify " + ShellQuote(dir.path() + "/no-such.tar.gz"));
  EXPECT_EQ(none.rc, 3) << none.err;
  // A key the bundle was not signed with.
  const std::string other = dir.path() + "/other";
  fs::create_directories(other);
  std::unique_ptr<SigningKey> k;
  ASSERT_TRUE(SigningKey::LoadOrCreate(other, &k).ok());
  const auto wrong = Rp("evidence verify --key " + ShellQuote(other + "/signing.pub") + " " + ShellQuote(bundle));
  EXPECT_EQ(wrong.rc, 1);
  EXPECT_NE(wrong.out.find("FAILED  key"), std::string::npos) << wrong.out;
}

// Someone holding the appliance's key edits a bundle and signs it again: what it shows must
// still agree with the log excerpt, whose records the signature alone does not vouch for.
class ReSigned : public EvidenceEstate {
 protected:
  // Sums and signs `x` again with the appliance's own key and packs it; returns the bundle.
  std::string ReSign(const std::string& x, const std::string& name) {
    std::string out;
    EXPECT_EQ(test::Run("cd " + ShellQuote(x) +
                            " && sha256sum README.txt drills.csv log.json report.html report.json report.pdf "
                            "restorations.csv runs.csv signing.pub targets.csv > SHA256SUMS && openssl pkeyutl -sign "
                            "-inkey " +
                            ShellQuote(data_dir + "/signing.key") + " -rawin -in SHA256SUMS -out SHA256SUMS.sig",
                        &out),
              0)
        << out;
    const std::string bundle = dir.path() + "/" + name + ".tar.gz";
    EXPECT_EQ(test::Run("tar -czf " + ShellQuote(bundle) + " -C " + ShellQuote(x + "/..") + " evidence"), 0);
    return bundle;
  }
};

TEST_F(ReSigned, ARestorationShownOtherwiseThanLoggedIsCaught) {
  const std::string x = Extract(Export());
  EXPECT_EQ(Rp("evidence verify " + ShellQuote(ReSign(x, "same"))).rc, 0) << "re-signing alone changes nothing";
  json report = json::parse(test::ReadFile(x + "/report.json"));
  ASSERT_EQ(report["restorations"].size(), 1u);
  report["restorations"][0]["result"] = "passed";
  report["restorations"][0]["correctness"] = "correct";
  test::WriteFile(x + "/report.json", report.dump());
  const auto v = Rp("evidence verify " + ShellQuote(ReSign(x, "rosy")));
  EXPECT_EQ(v.rc, 1) << v.out;
  EXPECT_NE(v.out.find("otherwise than log.json"), std::string::npos) << v.out;
  // Dropping it from the report is caught too.
  report["restorations"] = json::array();
  test::WriteFile(x + "/report.json", report.dump());
  const auto d = Rp("evidence verify " + ShellQuote(ReSign(x, "dropped")));
  EXPECT_EQ(d.rc, 1) << d.out;
  EXPECT_NE(d.out.find("is in log.json but not in report.json"), std::string::npos) << d.out;
}

TEST_F(ReSigned, ARedactedRecordWhosePublicFieldsChangeNoLongerChains) {
  const std::string x = Extract(Export());
  json log = json::parse(test::ReadFile(x + "/log.json"));
  bool edited = false;
  for (auto& r : log["records"])
    if (r.value("redacted", false) && r["kind"] == "real-restore") {
      r["correctness"] = "correct";
      edited = true;
    }
  ASSERT_TRUE(edited);
  test::WriteFile(x + "/log.json", log.dump());
  const auto v = Rp("evidence verify " + ShellQuote(ReSign(x, "redacted")));
  EXPECT_EQ(v.rc, 1) << v.out;
  EXPECT_NE(v.out.find("FAILED  log-chain: changed"), std::string::npos) << v.out;
}

TEST_F(ReSigned, AnExcerptThatStartsInsideThePeriodIsCaught) {
  // The period starts on 21 November: the excerpt reaches back to the last record before it.
  const std::string out = dir.path() + "/late.tar.gz";
  ASSERT_EQ(Rp("evidence export --from 2026-11-21 --to 2026-11-30 -o " + ShellQuote(out)).rc, 0);
  const std::string x = Extract(out);
  json log = json::parse(test::ReadFile(x + "/log.json"));
  ASSERT_GE(log["records"].size(), 3u);
  EXPECT_LT(log["records"][0]["time"].get<int64_t>(), json::parse(test::ReadFile(x + "/report.json"))["from"].get<int64_t>());
  log["records"].erase(log["records"].begin());
  log["records"].erase(log["records"].begin());
  test::WriteFile(x + "/log.json", log.dump());
  const auto v = Rp("evidence verify " + ShellQuote(ReSign(x, "late")));
  EXPECT_EQ(v.rc, 1) << v.out;
  EXPECT_NE(v.out.find("inside the period"), std::string::npos) << v.out;
}

TEST_F(EvidenceEstate, PersonalDataNamesAndPathsNeverLeaveInClear) {
  const std::string bundle = Export();
  const std::string x = Extract(bundle);
  std::string pdf_text;
  ASSERT_EQ(test::Run("pdftotext -layout " + ShellQuote(x + "/report.pdf") + " - 2>/dev/null", &pdf_text), 0);
  std::vector<std::pair<std::string, std::string>> texts{{"report.pdf (text)", pdf_text}};
  for (const auto& name : FilesIn(x)) texts.emplace_back(name, test::ReadFile(x + "/" + name));
  texts.emplace_back("the bundle", test::ReadFile(bundle));
  for (const auto& [name, text] : texts)
    for (const char* secret : kSecrets) EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << name;
  // The pseudonym stands in, the other target is named, the owner and the declaration remain.
  const json report = json::parse(test::ReadFile(x + "/report.json"));
  std::string pseudonym;
  for (const auto& t : report["targets"])
    if (t["personal_data"].get<bool>()) pseudonym = t["name"];
  EXPECT_EQ(pseudonym.rfind("pd-", 0), 0u) << pseudonym;
  EXPECT_NE(pdf_text.find(pseudonym), std::string::npos);
  EXPECT_NE(pdf_text.find("website"), std::string::npos);
  EXPECT_NE(test::ReadFile(x + "/runs.csv").find(pseudonym), std::string::npos);
  // Stable within the appliance: a second export uses the same pseudonym.
  const json again = json::parse(test::ReadFile(Extract(Export()) + "/report.json"));
  EXPECT_EQ(again["targets"][0]["name"], report["targets"][0]["name"]);
  // The redacted records of the excerpt still chain: `evidence verify` recomputed them.
  const json log = json::parse(test::ReadFile(x + "/log.json"));
  int redacted = 0;
  for (const auto& r : log["records"]) {
    if (!r.value("redacted", false)) continue;
    ++redacted;
    EXPECT_FALSE(r.contains("salt"));
    EXPECT_FALSE(r.contains("reason"));
    EXPECT_FALSE(r.contains("personal_data"));
    EXPECT_EQ(r["commitment"].get<std::string>().size(), 64u);
  }
  EXPECT_EQ(redacted, 5);  // four tests and the restoration of payroll-secret
}

TEST_F(EvidenceEstate, ClearNamesNeedAReasonAndAreLogged) {
  const std::string out = dir.path() + "/clear.tar.gz";
  const auto refused = Rp("evidence export --from 2026-11-01 --to 2026-11-30 --clear-names -o " + ShellQuote(out));
  EXPECT_EQ(refused.rc, 2);
  EXPECT_EQ(Rp("evidence export --from 2026-11-01 --to 2026-11-30 --clear-names --reason ' ' -o " + ShellQuote(out)).rc, 2);
  EXPECT_NE(refused.err.find("--reason"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(out));
  const std::string bundle =
      Export("--clear-names --reason " + ShellQuote("the data protection officer investigates case 2026-17"));
  const std::string x = Extract(bundle);
  EXPECT_NE(test::ReadFile(x + "/report.json").find("payroll-secret"), std::string::npos);
  EXPECT_EQ(Rp("evidence verify " + ShellQuote(bundle)).rc, 0);
  // The export is itself a record, in the log and in the bundle's own excerpt.
  const auto shown = Rp("log show --json");
  const json log = json::parse(shown.out);
  const json& last = log["records"].back();
  EXPECT_EQ(last["kind"], "clear-names-export");
  EXPECT_EQ(last["reason"].get<std::string>().rfind("the data protection officer investigates case 2026-17", 0), 0u);
  EXPECT_EQ(last["result"], "requested");
  EXPECT_FALSE(last["responsible"].get<std::string>().empty());
  const json excerpt = json::parse(test::ReadFile(x + "/log.json"));
  EXPECT_EQ(excerpt["records"].back()["kind"], "clear-names-export");
  // A later pseudonymised bundle holds that record too, without the clear name.
  const std::string later = Extract(Export());
  for (const auto& name : FilesIn(later))
    EXPECT_EQ(test::ReadFile(later + "/" + name).find("payroll-secret"), std::string::npos) << name;
}

TEST_F(EvidenceEstate, ThePdfHoldsTheRowsAndSwedishText) {
  const std::string x = Extract(Export("--clear-names --reason audit"));
  std::string text;
  ASSERT_EQ(test::Run("pdftotext -layout " + ShellQuote(x + "/report.pdf") + " - 2>/dev/null", &text), 0);
  for (const char* want : {"Återläsning", "Ägare", "Personuppgifter", "Åsa Öberg", "payroll-secret", "website",
                           "Johan Berg", "disk failure on the payroll server", "staff/anna.svensson.csv", "failed",
                           "passed", "§6.1"})
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text.substr(0, 3000);
  const json report = json::parse(test::ReadFile(x + "/report.json"));
  EXPECT_NE(text.find(report["key_fingerprint"].get<std::string>().substr(0, 32)), std::string::npos);
  EXPECT_NE(test::ReadFile(x + "/report.html").find("Åsa Öberg"), std::string::npos);
}

TEST_F(EvidenceEstate, LogVerifyAgainstABundleCatchesARewrittenChain) {
  const std::string bundle = Export();
  auto ok = Rp("log verify --against " + ShellQuote(bundle));
  EXPECT_EQ(ok.rc, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("still extends"), std::string::npos) << ok.out;
  // The log grows: it still extends the pinned head.
  {
    auto store = Open();
    AddRun(*store, "website", kNov20 + 10 * 86400, Trigger::kOperator, RunState::kPassed, {});
  }
  ok = Rp("log verify --against " + ShellQuote(bundle));
  EXPECT_EQ(ok.rc, 0) << ok.out << ok.err;

  // Root rewrites record 3 (who was responsible), recomputes every hash after it with the
  // documented rule and signs the checkpoints again with the appliance's own key.
  {
    auto store = Open();
    std::vector<LogRecord> all = store->ReadLog(1, 0);
    ASSERT_GE(all.size(), 5u);
    all[2].responsible = "Mallory";
    std::string sql = "BEGIN;";
    for (size_t i = 2; i < all.size(); ++i) {
      all[i].prev_hash = all[i - 1].hash;
      all[i].hash = LogRecordHash(all[i].prev_hash, all[i]);
      sql += "UPDATE restoration_log SET responsible = '" + all[i].responsible + "', prev_hash = '" + all[i].prev_hash +
             "', hash = '" + all[i].hash + "' WHERE seq = " + std::to_string(all[i].seq) + ";";
    }
    std::unique_ptr<SigningKey> key;
    ASSERT_TRUE(SigningKey::LoadOrCreate(data_dir, &key).ok());
    sql += "DELETE FROM log_checkpoints;";
    for (const auto& c : store->Checkpoints()) {
      const std::string head = all[static_cast<size_t>(c.seq - 1)].hash;
      const std::string sig = LowerHex(key->Sign(CheckpointMessage(c.seq, head, c.at)));
      sql += "INSERT INTO log_checkpoints (seq, head_hash, at, signature, key_fingerprint) VALUES (" +
             std::to_string(c.seq) + ", '" + head + "', " + std::to_string(c.at) + ", '" + sig + "', '" +
             key->public_key().Fingerprint() + "');";
    }
    sql += "COMMIT;";
    std::string out;
    ASSERT_EQ(test::Run("sqlite3 -cmd '.timeout 10000' " + ShellQuote(StorePath(data_dir)) + " " + ShellQuote(sql), &out), 0) << out;
  }
  // Alone, the appliance cannot tell ...
  const auto alone = Rp("log verify");
  EXPECT_EQ(alone.rc, 0) << alone.out;
  // ... but the older bundle can, and names the record.
  const auto against = Rp("log verify --against " + ShellQuote(bundle));
  EXPECT_EQ(against.rc, 1) << against.out << against.err;
  EXPECT_NE(against.out.find("record 3 differs"), std::string::npos) << against.out;
  const auto j = Rp("--json log verify --against " + ShellQuote(bundle));
  EXPECT_EQ(j.rc, 1);
  EXPECT_FALSE(json::parse(j.out)["ok"].get<bool>());
}

TEST_F(EvidenceEstate, APointNameThatIsNotUtf8IsExportedEscaped) {
  {
    auto store = Open();
    RunRequest req;
    req.target = "website";
    const int64_t id = store->EnqueueRun(req, kNov20 + 9 * 86400);
    ASSERT_TRUE(store->ClaimRun("test/1/1", kNov20 + 9 * 86400, kNov20 + 9 * 86400 + 600));
    ASSERT_TRUE(store->RecordStart(id, "test/1/1", "website-l\xf6n.zip", kNov20, "site-a", 0, "h", "0.1.0", "x"));
    RunOutcome o;
    o.state = RunState::kAborted;
    o.finished_at = kNov20 + 9 * 86400 + 5;
    o.message = "cannot read /backups/l\xf6n.zip";
    ASSERT_TRUE(store->FinishRun(id, "test/1/1", o));
  }
  const std::string x = Extract(Export());
  EXPECT_EQ(Rp("evidence verify " + ShellQuote(dir.path() + "/bundle-1.tar.gz")).rc, 0);
  EXPECT_NE(test::ReadFile(x + "/report.json").find("website-l\\\\xf6n.zip"), std::string::npos)
      << "the escaped form (docs/json.md)";
}

// RFC 4180 records of a CSV file as maps from the header's names (fields may be quoted and hold
// commas, quotes and line breaks).
std::vector<std::map<std::string, std::string>> CsvRows(const std::string& csv) {
  std::vector<std::vector<std::string>> records(1, std::vector<std::string>(1));
  bool quoted = false;
  for (size_t i = 0; i < csv.size(); ++i) {
    const char c = csv[i];
    if (quoted) {
      if (c == '"' && i + 1 < csv.size() && csv[i + 1] == '"') records.back().back() += '"', ++i;
      else if (c == '"') quoted = false;
      else records.back().back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      records.back().emplace_back();
    } else if (c == '\r' && i + 1 < csv.size() && csv[i + 1] == '\n') {
      ++i;
      records.emplace_back(1);
    } else {
      records.back().back() += c;
    }
  }
  if (records.back().size() == 1 && records.back()[0].empty()) records.pop_back();
  std::vector<std::map<std::string, std::string>> rows;
  for (size_t r = 1; r < records.size(); ++r) {
    EXPECT_EQ(records[r].size(), records[0].size()) << "row " << r;
    std::map<std::string, std::string> row;
    for (size_t f = 0; f < records[0].size() && f < records[r].size(); ++f) row[records[0][f]] = records[r][f];
    rows.push_back(std::move(row));
  }
  return rows;
}

// Issue 18: the report says which host and which database role verified each run, and for a
// sampled run its slice, seed and the whole point's predicted time, marked predicted.
TEST_F(EvidenceEstate, TheReportSaysWhoVerifiedEachRunAndWhatASampleCovered) {
  const uint64_t seed = 18446744073709551557ull;  // past 2^53: kept as a decimal string
  int64_t sampled = 0;
  {
    auto store = Open();
    RunRequest req;
    req.target = "website";
    req.test_index = -1;
    const int64_t at = kNov20 + 8 * 86400;
    sampled = store->EnqueueRun(req, at);
    ASSERT_TRUE(store->ClaimRun("verifier-7/4242/99", at, at + 600));
    ASSERT_TRUE(store->RecordStart(sampled, "verifier-7/4242/99", "website-20261128.zip", at - 3600, "site-a", 0,
                                   "verifier-7/4242/99", "0.1.0", "abc"));
    RunOutcome o;
    o.state = RunState::kPassed;
    o.finished_at = at + 30;
    o.files = 30;
    o.bytes = 30000;
    o.duration_s = 10;
    VerifyReport rep;
    SampleFigures f;
    f.spec = {seed, 4, 2};
    f.slice_files = {20, 25, 30, 25};
    f.slice_bytes = {20000, 25000, 30000, 25000};
    f.point_files = 100;
    f.point_bytes = 100000;
    f.sample_files = 30;
    f.sample_bytes = 30000;
    rep.sample = f;
    rep.files = 30;
    rep.bytes = 30000;
    o.report = rep;
    ASSERT_TRUE(store->FinishRun(sampled, "verifier-7/4242/99", o));
  }
  // The role PostgreSQL records as current_user (SQLite records none): set as an agent's would be.
  std::string out;
  ASSERT_EQ(test::Run("sqlite3 -cmd '.timeout 10000' " + ShellQuote(StorePath(data_dir)) + " \"UPDATE runs SET db_role = 'rp_verifier' WHERE id = " +
                          std::to_string(sampled) + "\"",
                      &out),
            0)
      << out;
  const std::string bundle = Export();
  const auto v = Rp("evidence verify " + ShellQuote(bundle));
  EXPECT_EQ(v.rc, 0) << v.out << v.err;
  const std::string x = Extract(bundle);
  const json report = json::parse(test::ReadFile(x + "/report.json"));
  EXPECT_EQ(report["format"], 2);
  ASSERT_EQ(report["runs"].size(), 9u);
  const json* run = nullptr;
  for (const auto& r : report["runs"]) {
    if (r["id"] == sampled) {
      run = &r;
      continue;
    }
    EXPECT_EQ(r["host"], "host") << "the host part of host/1";
    EXPECT_EQ(r["db_role"], "") << "none on SQLite";
    EXPECT_EQ(r["sample_slices"], 0) << "a whole point";
    EXPECT_EQ(r["predicted_full_s"], 0);
  }
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->at("worker"), "verifier-7/4242/99");
  EXPECT_EQ(run->at("host"), "verifier-7");
  EXPECT_EQ(run->at("db_role"), "rp_verifier");
  EXPECT_EQ(run->at("sample_slice"), 2);
  EXPECT_EQ(run->at("sample_slices"), 4);
  EXPECT_EQ(run->at("sample_seed"), std::to_string(seed));
  EXPECT_EQ(run->at("sample_files"), 30);
  EXPECT_EQ(run->at("point_files"), 100);
  EXPECT_EQ(run->at("point_bytes"), 100000);
  EXPECT_NEAR(run->at("predicted_full_s").get<double>(), 10.0 * 100 / 30, 1e-6);
  EXPECT_TRUE(run->at("within_rto").get<bool>());
  // The target's newest passed test sampled: its time is the prediction, and says so.
  for (const auto& t : report["targets"])
    if (t["name"] == "website") {
      EXPECT_TRUE(t["rto_predicted"].get<bool>());
      EXPECT_NEAR(t["rto_measured_s"].get<double>(), 10.0 * 100 / 30, 1e-6);
    }

  // The runs CSV: host and role beside the worker, the sample's columns filled for that run only.
  bool found = false;
  for (const auto& row : CsvRows(test::ReadFile(x + "/runs.csv"))) {
    ASSERT_TRUE(row.count("host") && row.count("db_role") && row.count("sample_seed") && row.count("predicted_full_s"));
    if (row.at("run_id") != std::to_string(sampled)) {
      EXPECT_EQ(row.at("host"), "host");
      EXPECT_EQ(row.at("sample_slices"), "");
      continue;
    }
    found = true;
    EXPECT_EQ(row.at("worker"), "verifier-7/4242/99");
    EXPECT_EQ(row.at("host"), "verifier-7");
    EXPECT_EQ(row.at("db_role"), "rp_verifier");
    EXPECT_EQ(row.at("sample_slice"), "2");
    EXPECT_EQ(row.at("sample_slices"), "4");
    EXPECT_EQ(row.at("sample_seed"), std::to_string(seed));
    EXPECT_EQ(row.at("sample_files"), "30");
    EXPECT_EQ(row.at("point_files"), "100");
    EXPECT_NEAR(std::stod(row.at("predicted_full_s")), 10.0 * 100 / 30, 1e-3);
  }
  EXPECT_TRUE(found);
  bool website_row = false;
  for (const auto& row : CsvRows(test::ReadFile(x + "/targets.csv")))
    if (row.at("target") == "website") website_row = row.at("rto_predicted") == "true";
  EXPECT_TRUE(website_row);
  // HTML and PDF say it in words.
  const std::string html = test::ReadFile(x + "/report.html");
  EXPECT_NE(html.find("host verifier-7, database role rp_verifier (worker verifier-7/4242/99)"), std::string::npos);
  EXPECT_NE(html.find("host host, database role \u2014"), std::string::npos) << "no role recorded: a dash";
  EXPECT_NE(html.find("slice 2 of 4, seed " + std::to_string(seed) + ": 30 of 100 files"), std::string::npos);
  EXPECT_NE(html.find("10.0 s (sample); whole point 33.3 s (predicted)"), std::string::npos);
  EXPECT_NE(html.find("33.3 s (predicted)"), std::string::npos);
  std::string pdf;
  ASSERT_EQ(test::Run("pdftotext -layout " + ShellQuote(x + "/report.pdf") + " - 2>/dev/null", &pdf), 0);
  EXPECT_NE(pdf.find("database role rp_verifier"), std::string::npos) << pdf.substr(0, 4000);
  EXPECT_NE(pdf.find("(predicted)"), std::string::npos);
}

// A bundle of report format 1 (before the host, role and sample fields) still verifies.
TEST_F(ReSigned, ABundleOfTheFirstReportFormatStillVerifies) {
  const std::string x = Extract(Export());
  json report = json::parse(test::ReadFile(x + "/report.json"));
  report["format"] = 1;
  for (auto& r : report["runs"])
    for (const char* key : {"host", "db_role", "sample_slice", "sample_slices", "sample_seed", "sample_files",
                            "sample_bytes", "point_files", "point_bytes", "predicted_full_s"})
      r.erase(key);
  for (auto& t : report["targets"]) t.erase("rto_predicted");
  test::WriteFile(x + "/report.json", report.dump());
  const auto v = Rp("evidence verify " + ShellQuote(ReSign(x, "format-1")));
  EXPECT_EQ(v.rc, 0) << v.out << v.err;
  const auto against = Rp("log verify --against " + ShellQuote(dir.path() + "/format-1.tar.gz"));
  EXPECT_EQ(against.rc, 0) << against.out << against.err;
}

TEST_F(EvidenceEstate, LogVerifyAgainstNeedsTheAppliancesKey) {
  const std::string bundle = Export();
  fs::remove(data_dir + "/signing.pub");
  const auto r = Rp("log verify --against " + ShellQuote(bundle));
  EXPECT_EQ(r.rc, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("signing.pub"), std::string::npos) << r.err;
}

TEST_F(EvidenceEstate, ExportRefusesWhatItCannotDo) {
  const std::string existing = dir.path() + "/existing.tar.gz";
  test::WriteFile(existing, "keep me");
  auto r = Rp("evidence export --from 2026-11-01 --to 2026-11-30 -o " + ShellQuote(existing));
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(test::ReadFile(existing), "keep me");
  r = Rp("evidence export --from 2026-11-01 --to 2026-11-30 --target nosuch -o " + ShellQuote(dir.path() + "/n.tgz"));
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("nosuch"), std::string::npos);
  r = Rp("evidence export --from 2026-11-30 --to 2026-11-01 -o " + ShellQuote(dir.path() + "/n.tgz"));
  EXPECT_EQ(r.rc, 2);
  r = Rp("evidence export --from yesterday --to 2026-11-01 -o " + ShellQuote(dir.path() + "/n.tgz"));
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--from"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.path() + "/n.tgz"));
  // One target only.
  const std::string x = Extract(Export("--target website"));
  const json report = json::parse(test::ReadFile(x + "/report.json"));
  ASSERT_EQ(report["targets"].size(), 1u);
  EXPECT_EQ(report["targets"][0]["name"], "website");
  EXPECT_EQ(report["runs"].size(), 4u);
  EXPECT_TRUE(report["restorations"].empty());
  // The keys are the appliance's own, private.
  struct stat st {};
  ASSERT_EQ(stat((data_dir + "/pseudonym.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((data_dir + "/signing.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(EvidenceEstate, PersonalDataStatementPerTarget) {
  const auto j = Rp("--json evidence personal-data");
  ASSERT_EQ(j.rc, 0) << j.err;
  const json doc = json::parse(j.out);
  ASSERT_EQ(doc["targets"].size(), 2u);
  const json& p = doc["targets"][0];
  EXPECT_EQ(p["target"], "payroll-secret");
  EXPECT_TRUE(p["holds_personal_data"].get<bool>());
  EXPECT_EQ(p["description"], "Anställda: namn, personnummer, löner");
  EXPECT_EQ(p["copies"].size(), 2u);
  EXPECT_EQ(p["retention_days"], 30);
  EXPECT_FALSE(doc["targets"][1]["holds_personal_data"].get<bool>());
  const auto h = Rp("evidence personal-data");
  ASSERT_EQ(h.rc, 0);
  EXPECT_NE(h.out.find("payroll-secret (owner Åsa Öberg"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("personal data: Anställda: namn, personnummer, löner"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("kept at site-b"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("restore tested: at least every"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("website"), std::string::npos);
}

}  // namespace
}  // namespace rp
