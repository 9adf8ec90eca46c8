// The one JSON codec of the vocabulary: every type survives a round trip with every field set
// (paths that are not UTF-8 and control bytes included), and text that is not what the codec
// writes is refused with a Status naming what is wrong, never a crash or a silent default.
// Also the worker protocol's job and lines, written and read in one place.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "isolation/worker_protocol.h"
#include "rp/codec.h"

namespace rp {
namespace {

using nlohmann::json;

template <class T>
T RoundTrip(const T& value) {
  T back{};
  const Status s = DecodeJson(EncodeJson(value), "test", &back);
  EXPECT_TRUE(s.ok()) << s.message() << "\n" << EncodeJson(value, 2);
  return back;
}

Finding SomeFinding(FindingKind kind, std::string path) {
  return Finding{kind, std::move(path), "what happened, with a \\ backslash\nand a second line", 4096};
}

TEST(Codec, FindingRoundTripsWithRawBytesInItsPath) {
  const Finding f = SomeFinding(FindingKind::kChecksumMismatch, std::string("dir/L\xf6ner\x01.txt", 16));
  EXPECT_EQ(RoundTrip(f), f);
  Finding no_offset = f;
  no_offset.offset = -1;
  EXPECT_EQ(RoundTrip(no_offset), no_offset);
  EXPECT_FALSE(json(no_offset).contains("offset"));
  EXPECT_FALSE(json(no_offset).contains("limit"));
  for (int i = 0; i <= static_cast<int>(LimitKind::kSandboxSize); ++i) {
    const Finding limited(FindingKind::kLimitExceeded, "", "limit exceeded", -1, static_cast<LimitKind>(i));
    EXPECT_EQ(RoundTrip(limited), limited) << i;
    EXPECT_EQ(ParseLimitKind(LimitKindName(static_cast<LimitKind>(i))), static_cast<LimitKind>(i));
  }
}

TEST(Codec, LimitsRoundTrip) {
  Limits l;
  l.max_total_bytes = 123456789012345ull;
  l.max_entries = 7;
  l.max_file_bytes = 1ull << 40;
  l.max_depth = 9;
  l.max_ratio = 12.5;
  l.ratio_floor_bytes = 11;
  l.max_seconds = 3.25;
  l.max_stall_seconds = 0;
  l.max_spin_seconds = 12;
  l.max_memory_bytes = 512u << 20;
  EXPECT_EQ(RoundTrip(l), l);
}

TEST(Codec, IsolationRecordsRoundTripInLayerOrder) {
  IsolationRecords r;
  r.Set(IsolationLayer::kTmpfsSandbox, LayerState::kNotRequested, "a disk sandbox was asked for");
  r.Set(IsolationLayer::kLandlock, LayerState::kEnforced, "ABI 7");
  r.Set(IsolationLayer::kPidsCgroup, LayerState::kUnavailable, "no writable pids cgroup");
  r.Set(IsolationLayer::kLandlock, LayerState::kUnavailable, "replaced");
  ASSERT_EQ(r.records().size(), 3u);
  EXPECT_EQ(r.records()[0].layer, IsolationLayer::kLandlock);
  EXPECT_EQ(r.records()[0].detail, "replaced");
  EXPECT_EQ(RoundTrip(r), r);
  const json j = r;
  ASSERT_TRUE(j.is_array());
  EXPECT_EQ(j[0]["layer"], "landlock");
  EXPECT_EQ(j[0]["state"], "unavailable");
  EXPECT_EQ(j[2]["state"], "not_requested");
}

TEST(Codec, EveryLayerAndStateHasAName) {
  for (int i = 0; i <= static_cast<int>(IsolationLayer::kSymlinkResolutionCheck); ++i) {
    const auto layer = static_cast<IsolationLayer>(i);
    EXPECT_EQ(ParseIsolationLayer(IsolationLayerName(layer)), layer) << i;
  }
  for (auto s : {LayerState::kEnforced, LayerState::kUnavailable, LayerState::kNotRequested})
    EXPECT_EQ(ParseLayerState(LayerStateName(s)), s);
}

TEST(Codec, ContentChecksRoundTrip) {
  std::vector<ContentCheck> checks(4);
  checks[0].kind = CheckKind::kMinFiles;
  checks[0].count = 10;
  checks[1].kind = CheckKind::kSqliteIntegrity;
  checks[1].name = "databases";
  checks[1].globs = {"**/*.db", "data/Löner.sqlite"};
  checks[2].kind = CheckKind::kCommand;
  checks[2].argv = {"/usr/bin/test", "-f", "x y"};
  checks[2].timeout_s = 12.5;
  checks[3].kind = CheckKind::kUnchangedSinceBaseline;
  checks[3].baseline = "/var/lib/restoreproof/baseline.inv";
  EXPECT_EQ(RoundTrip(checks), checks);
}

VerifyReport FullReport() {
  VerifyReport r;
  r.status = RunStatus::kFailed;
  r.source = std::string("/backups/l\xf6ner.tar", 18);
  r.format = "POSIX pax interchange format, zstd";
  r.algo = HashAlgo::kSha256;
  r.manifest_used = true;
  r.files = 1;
  r.directories = 2;
  r.symlinks = 3;
  r.hardlinks = 4;
  r.entries = 10;
  r.bytes = 1ull << 33;
  r.source_bytes = 12345;
  for (auto kind : {FindingKind::kChecksumMismatch, FindingKind::kMissing, FindingKind::kUnexpected,
                    FindingKind::kModeCleared, FindingKind::kCheckPassed, FindingKind::kCorrupt,
                    FindingKind::kLimitExceeded})
    r.findings.push_back(SomeFinding(kind, "a/" + std::string(FindingKindName(kind))));
  r.findings_dropped = 17;
  r.duration_s = 1.0 / 3.0;
  r.sandbox = "/var/lib/restoreproof/sandboxes/rp-sandbox-abcdef";
  r.sandbox_removed = true;
  r.readback = true;
  r.limits.max_memory_bytes = 2ull << 30;
  r.isolation.Set(IsolationLayer::kSeccomp, LayerState::kEnforced, "denied: sockets");
  r.isolation.Set(IsolationLayer::kMemoryCgroup, LayerState::kUnavailable, "no memory hierarchy");
  r.sandbox_kind = SandboxKind::kTmpfs;
  return r;
}

TEST(Codec, VerifyReportRoundTripsEveryField) {
  const VerifyReport r = FullReport();
  EXPECT_EQ(RoundTrip(r), r);
  // The lists DESIGN.md names are derived from the findings.
  const json j = r;
  EXPECT_EQ(j["mismatched"], json::array({"a/checksum-mismatch"}));
  EXPECT_EQ(j["missing"], json::array({"a/missing"}));
  EXPECT_EQ(j["unexpected"], json::array({"a/unexpected"}));
  EXPECT_EQ(j["errors"].size(), 2u);  // corrupt and limit-exceeded; mode-cleared and check-passed are notices
  EXPECT_EQ(j["status"], "failed");
}

TEST(Codec, AnAbortedReportKeepsItsExitCodeAndReason) {
  VerifyReport r = FullReport();
  r.status = RunStatus::kAborted;
  r.abort_status = Status::Environment("cannot read source: Permission denied");
  VerifyReport back = RoundTrip(r);
  EXPECT_EQ(back, r);
  EXPECT_EQ(ExitCodeFor(back), 3);
  r.abort_status = Status::Usage("manifest m:3: malformed line");
  back = RoundTrip(r);
  EXPECT_EQ(ExitCodeFor(back), 2);
}

TEST(Codec, PolicyTypesRoundTrip) {
  Policy p;
  p.max_retention_days = 400;
  p.weekly_keeps = 4;
  EXPECT_EQ(RoundTrip(p), p);
  Policy no_max;
  EXPECT_EQ(RoundTrip(no_max), no_max);

  PolicyFinding f;
  f.rule = PolicyRule::kRetentionWeekly;
  f.severity = Verdict::kWarning;
  f.message = "copy at site-a has no point in 1 of the last 4 weeks";
  f.location = "site-a";
  f.locations = {"site-a", "site-b"};
  f.missing_days = {Date::FromCivil(2026, 10, 25), Date::FromCivil(2026, 3, 29)};
  f.missing_weeks = {DateRange{Date::FromCivil(2026, 10, 19), Date::FromCivil(2026, 10, 25)}};
  f.missing_months = {YearMonth{2026, 9}};
  f.age_s = 93600;
  f.limit_s = 86400;
  f.count = 3;
  f.required = 4;
  f.point = "payroll-20261025T020000.tar.zst";
  f.path = "/srv/payroll";
  f.error = "cannot read /mnt/b: No such file or directory";
  EXPECT_EQ(RoundTrip(f), f);
  const json j = f;
  EXPECT_EQ(j["id"], "retention.weekly");
  EXPECT_EQ(j["rule"], "retention");
  EXPECT_EQ(j["check"], "weekly");
  EXPECT_EQ(j["missing_days"][0], "2026-10-25");
  EXPECT_EQ(j["missing_months"][0], "2026-09");

  TargetEvaluation ev;
  ev.target = "payroll";
  ev.verdict = Verdict::kFailing;
  ev.policy = p;
  ev.newest = 1795334400;
  ev.findings = {f, PolicyFinding{}};
  EXPECT_EQ(RoundTrip(ev), ev);
}

TEST(Codec, EveryPolicyRuleHasANameAndAFamily) {
  for (int i = 0; i <= static_cast<int>(PolicyRule::kRestoreTest); ++i) {
    const auto rule = static_cast<PolicyRule>(i);
    EXPECT_EQ(ParsePolicyRule(PolicyRuleName(rule)), rule) << i;
    EXPECT_EQ(PolicyRuleName(rule).substr(0, PolicyRuleFamily(rule).size()), PolicyRuleFamily(rule));
  }
}

// What a decoder refuses: each a Status that names the problem; the value is left alone.
TEST(Codec, MalformedDocumentsAreRefusedWithAReason) {
  const json good = FullReport();
  auto refused = [&](json bad, const std::string& why) {
    VerifyReport out;
    out.files = 99;
    const Status s = DecodeJson(bad.dump(), "report", &out);
    EXPECT_FALSE(s.ok()) << why;
    EXPECT_EQ(s.code(), Status::Code::kUsage) << why;
    EXPECT_NE(s.message().find("report"), std::string::npos) << s.message();
    EXPECT_EQ(out.files, 99u) << "a refused document leaves the value as it was: " << why;
  };
  json bad = good;
  bad.erase("files");
  refused(bad, "a missing field");
  bad = good;
  bad["files"] = -1;
  refused(bad, "a negative count");
  bad = good;
  bad["files"] = 1.5;
  refused(bad, "a fraction where an integer belongs");
  bad = good;
  bad["findings"][0]["kind"] = "no-such-kind";
  refused(bad, "an unknown finding kind");
  bad = good;
  bad["isolation"][0]["state"] = "mostly";
  refused(bad, "an unknown layer state");
  bad = good;
  bad["sandbox"]["kind"] = "floppy";
  refused(bad, "an unknown sandbox kind");
  bad = good;
  bad["findings"] = good["findings"][0];
  refused(bad, "an object where the findings array belongs");
  bad = good;
  bad["findings"] = "checksum-mismatch";
  refused(bad, "a string where the findings array belongs");
  VerifyReport out;
  EXPECT_FALSE(DecodeJson("{\"status\": ", "report", &out).ok());
  ContentCheck check;
  EXPECT_FALSE(DecodeJson(R"({"kind": "required-paths", "globs": "**/*.db"})", "check", &check).ok())
      << "a string where the globs array belongs is not read as one glob per character";
  EXPECT_FALSE(DecodeJson(R"({"kind": "command", "argv": {"a": "/bin/true"}})", "check", &check).ok());
  PolicyFinding pf;
  EXPECT_FALSE(DecodeJson(R"({"id": "redundancy.copies", "severity": "ok", "message": "", "locations": "site-a"})",
                          "finding", &pf)
                   .ok());
  EXPECT_FALSE(DecodeJson(R"({"id": "retention.daily", "severity": "ok", "message": "",
                               "missing_days": ["2026-02-30"]})",
                          "finding", &pf)
                   .ok())
      << "a date that does not exist";
}

TEST(WorkerProtocol, JobAndLinesRoundTrip) {
  detail::WorkerJob job;
  job.options.source = std::string("/b/\xe5.tar", 7);
  job.options.manifest = "/b/m";
  job.options.algo = HashAlgo::kBlake2b;
  job.options.limits.max_spin_seconds = 7;
  job.options.checks.resize(1);
  job.options.isolation = IsolationPolicy::kBestEffort;
  job.sandbox_path = "/s/rp-sandbox-x";
  job.tmpfs = true;
  job.tmpfs_bytes = 1 << 20;
  job.manifest_out = true;
  job.memory_cgroup = {IsolationLayer::kMemoryCgroup, LayerState::kEnforced, "1 GiB"};
  detail::WorkerJob back;
  ASSERT_TRUE(detail::DecodeJob(detail::EncodeJob(job), &back).ok());
  EXPECT_EQ(back.options.source, job.options.source);
  EXPECT_EQ(back.options.manifest, job.options.manifest);
  EXPECT_EQ(back.options.algo, job.options.algo);
  EXPECT_EQ(back.options.limits, job.options.limits);
  EXPECT_EQ(back.options.checks, job.options.checks);
  EXPECT_EQ(back.options.isolation, job.options.isolation);
  EXPECT_EQ(back.sandbox_path, job.sandbox_path);
  EXPECT_EQ(back.tmpfs_bytes, job.tmpfs_bytes);
  EXPECT_TRUE(back.manifest_out);
  EXPECT_FALSE(back.inventory_out);
  EXPECT_EQ(back.memory_cgroup, job.memory_cgroup);
  EXPECT_EQ(back.pids_cgroup, job.pids_cgroup);

  detail::WorkerProgress p;
  p.progress.entries = 5;
  p.progress.current = std::string("x\xff", 2);
  p.source_bytes = 77;
  p.phase = detail::RunPhase::kFinal;
  p.cpu_s = 2.5;
  auto line = detail::DecodeLine(detail::EncodeProgressLine(p));
  ASSERT_TRUE(line);
  ASSERT_EQ(line->type, detail::WorkerLine::Type::kProgress);
  EXPECT_EQ(line->progress.progress.current, p.progress.current);
  EXPECT_EQ(line->progress.phase, detail::RunPhase::kFinal);
  EXPECT_EQ(line->progress.cpu_s, 2.5);
  IsolationRecords layers;
  layers.Set(IsolationLayer::kLandlock, LayerState::kEnforced, "ABI 7");
  line = detail::DecodeLine(detail::EncodeIsolationLine(layers));
  ASSERT_TRUE(line);
  ASSERT_EQ(line->type, detail::WorkerLine::Type::kIsolation);
  EXPECT_EQ(line->isolation, layers);
  line = detail::DecodeLine(detail::EncodeFindingLine(SomeFinding(FindingKind::kCorrupt, "p")));
  ASSERT_TRUE(line);
  EXPECT_EQ(line->finding, SomeFinding(FindingKind::kCorrupt, "p"));
  line = detail::DecodeLine(detail::EncodeResultLine(FullReport()));
  ASSERT_TRUE(line);
  EXPECT_EQ(line->result, FullReport());
  for (const char* bad : {"", "{}", "[1]", R"({"type":"progress","phase":"lunch"})", R"({"type":"finding"})",
                          R"({"type":"result","report":{}})", R"({"type":"other"})"})
    EXPECT_FALSE(detail::DecodeLine(bad)) << bad;
}

}  // namespace
}  // namespace rp
