#include "rp/evidence_cmd.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "rp/appliance.h"
#include "rp/calendar.h"
#include "rp/event_log.h"
#include "rp/evidence_bundle.h"
#include "rp/path_text.h"
#include "rp/restoration_log.h"

namespace rp {

namespace {

constexpr int kExitUsage = 2;

bool IsDateOnly(const std::string& s) { return s.size() == 10 && s[4] == '-' && s[7] == '-'; }

// `--to` as a date names a day that is included: the period ends at the start of the next one.
std::optional<int64_t> PeriodEnd(const std::string& text, const TimeZone& zone) {
  const auto t = ParseTimestamp(text, zone);
  if (!t || !IsDateOnly(text)) return t;
  Date d = zone.LocalDate(*t);
  return zone.StartOfDay(zone.LocalDate(zone.StartOfDay(d) + 36 * 3600));
}

// An interval for a person: whole days as "30 days", else hours.
std::string Days(double seconds) {
  if (seconds >= 86400 && static_cast<int64_t>(seconds) % 86400 == 0)
    return std::to_string(static_cast<int64_t>(seconds) / 86400) + " days";
  return std::to_string(static_cast<int64_t>(seconds / 3600)) + " hours";
}

std::string Fmt(int64_t t, const TimeZone& zone) { return zone.Format(t, "%Y-%m-%d %H:%M:%S %z"); }

}  // namespace

int EvidenceExportCommand(const std::string& config_path, const EvidenceExportOptions& o, std::ostream& out,
                          std::ostream& err) {
  const bool blank_reason = o.reason.find_first_not_of(" \t\r\n") == std::string::npos;
  if (o.clear_names && blank_reason) {
    err << "restoreproof: evidence export: --clear-names needs --reason: exporting names of targets that hold "
           "personal data is logged with why\n";
    return kExitUsage;
  }
  if (!o.clear_names && !o.reason.empty()) {
    err << "restoreproof: evidence export: --reason goes with --clear-names\n";
    return kExitUsage;
  }
  struct stat st {};
  if (lstat(o.output.c_str(), &st) == 0) {
    err << "restoreproof: evidence export: " << EscapePath(o.output) << " exists; a bundle is never overwritten\n";
    return kExitUsage;
  }
  Appliance a;
  if (const int rc = OpenAppliance(config_path, &a, err); rc != 0) return rc;
  const TimeZone& zone = a.config->appliance.zone;
  const auto from = ParseTimestamp(o.from, zone);
  const auto to = PeriodEnd(o.to, zone);
  if (!from || !to) {
    err << "restoreproof: evidence export: " << (from ? "--to" : "--from")
        << ": expected ISO 8601 like 2026-11-22T08:00:00+01:00 or a date, found \"" << (from ? o.to : o.from) << "\"\n";
    return kExitUsage;
  }
  if (*to <= *from) {
    err << "restoreproof: evidence export: the period ends (" << Fmt(*to, zone) << ") before it begins ("
        << Fmt(*from, zone) << ")\n";
    return kExitUsage;
  }
  for (const auto& t : o.targets)
    if (!a.config->FindTarget(t)) {
      err << "restoreproof: evidence export: --target: no target named \"" << EscapeMessage(t)
          << "\" in the configuration\n";
      return kExitUsage;
    }
  const std::string& data_dir = a.config->appliance.data_dir;
  std::unique_ptr<SigningKey> key;
  std::unique_ptr<Pseudonymiser> names;
  std::string public_pem;
  if (Status s = SigningKey::LoadOrCreate(data_dir, &key); !s.ok()) {
    err << "restoreproof: evidence export: " << s.message() << "\n";
    return s.exit_code();
  }
  if (Status s = Pseudonymiser::LoadOrCreate(data_dir, &names); !s.ok()) {
    err << "restoreproof: evidence export: " << s.message() << "\n";
    return s.exit_code();
  }
  if (!ReadSmallFile(PublicKeyPath(data_dir), &public_pem)) {
    err << "restoreproof: evidence export: " << PublicKeyPath(data_dir) << ": " << std::strerror(errno) << "\n";
    return 3;
  }
  const int64_t now = NowS();
  EvidenceRequest req;
  req.from = *from;
  req.to = *to;
  req.targets = o.targets;
  req.clear_names = o.clear_names;
  req.clear_names_reason = o.reason;
  req.now = now;
  if (o.clear_names) {
    // Logged before the bundle is made, so the bundle's own excerpt holds the record.
    LogRecord r = NewLogRecord(LogKind::kClearNamesExport, now, zone);
    r.responsible = InvokingUser();
    // Logged as asked for, before anything is exported: a failed export leaves a record of the
    // request, never no record of an export that happened.
    r.reason = o.reason + " (bundle " + o.output + ")";
    r.result = "requested";
    r.personal_data = "names and paths of targets holding personal data, in clear";
    r.point = "period " + Fmt(*from, zone) + " to " + Fmt(*to, zone);
    // Which targets, by pseudonym where they hold personal data: the record itself may leave
    // the appliance in a later bundle.
    for (const auto& t : o.targets) {
      const TargetConfig* tc = a.config->FindTarget(t);
      r.changed_keys.push_back(tc && tc->personal_data.none ? t : names->Target(t));
    }
    a.store->AppendLog(r);
  }
  EvidenceReport report;
  LogExcerpt excerpt;
  if (Status s = BuildEvidence(*a.config, *a.store, req, *names, key->public_key(), &report, &excerpt); !s.ok()) {
    err << "restoreproof: evidence export: " << s.message() << "\n";
    return s.exit_code();
  }
  const size_t log_records = excerpt.records.size();
  if (Status s = WriteEvidenceBundle(o.output, report, std::move(excerpt), zone, *key, public_pem, now); !s.ok()) {
    err << "restoreproof: evidence export: " << s.message() << "\n";
    return s.exit_code();
  }
  if (o.json) {
    out << nlohmann::json{{"bundle", EscapePath(o.output)},
                          {"from", report.from},
                          {"to", report.to},
                          {"targets", report.targets.size()},
                          {"runs", report.runs.size()},
                          {"drills", report.drills.size()},
                          {"restorations", report.restorations.size()},
                          {"log_records", log_records},
                          {"head_seq", report.chain_seq},
                          {"head_hash", report.chain_head},
                          {"key_fingerprint", report.key_fingerprint},
                          {"clear_names", report.clear_names}}
               .dump(2)
        << "\n";
  } else {
    out << "wrote " << EscapePath(o.output) << ": " << report.targets.size() << " targets, " << report.runs.size()
        << " runs, " << report.drills.size() << " drills, " << report.restorations.size() << " restorations from "
        << Fmt(report.from, zone) << " to " << Fmt(report.to, zone) << "\n"
        << "restoration log pinned at seq " << report.chain_seq << " (" << report.chain_head << ")\n"
        << "signed with the key " << report.key_fingerprint << "\n"
        << (report.clear_names ? "names in clear (logged)\n" : "targets holding personal data pseudonymised\n");
  }
  return 0;
}

namespace {

int PrintVerification(const BundleVerification& v, bool json, std::ostream& out) {
  if (json) {
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& c : v.checks) checks.push_back({{"check", c.name}, {"ok", c.ok}, {"detail", c.detail}});
    out << nlohmann::json{{"ok", v.ok},
                          {"key_fingerprint", v.key_fingerprint},
                          {"key_pinned", v.key_pinned},
                          {"head_seq", v.head_seq},
                          {"head_hash", v.head_hash},
                          {"checks", checks}}
               .dump(2)
        << "\n";
  } else {
    for (const auto& c : v.checks) out << (c.ok ? "ok      " : "FAILED  ") << c.name << ": " << c.detail << "\n";
    out << (v.ok ? "the bundle is intact and signed\n" : "the bundle FAILS verification\n");
  }
  return v.ok ? 0 : 1;
}

}  // namespace

int EvidenceVerifyCommand(const std::string& bundle, const std::string& key_path, bool json, std::ostream& out,
                          std::ostream& err) {
  std::optional<PublicKey> pinned;
  if (!key_path.empty()) {
    PublicKey k;
    if (Status s = ReadPublicKey(key_path, &k); !s.ok()) {
      err << "restoreproof: evidence verify: --key: " << s.message() << "\n";
      return kExitUsage;
    }
    pinned = k;
  }
  std::map<std::string, std::string> files;
  if (Status s = ReadEvidenceBundle(bundle, &files); !s.ok()) {
    if (s.code() == Status::Code::kEnvironment) {
      err << "restoreproof: evidence verify: " << s.message() << "\n";
      return 3;
    }
    BundleVerification v;
    v.ok = false;
    v.checks.push_back({"archive", false, s.message()});
    return PrintVerification(v, json, out);
  }
  BundleVerification v = VerifyEvidenceFiles(files, pinned);
  v.checks.insert(v.checks.begin(), {"archive", true, std::to_string(files.size()) + " files read"});
  return PrintVerification(v, json, out);
}

// `log verify --against BUNDLE`: the bundle must verify with the appliance's key, and the log
// must still hold every record of its excerpt unchanged, up to the head it pins.
int VerifyLogAgainstBundle(Store& store, const std::optional<PublicKey>& key, const std::string& bundle, bool json,
                           std::ostream& out, std::ostream& err) {
  std::map<std::string, std::string> files;
  if (Status s = ReadEvidenceBundle(bundle, &files); !s.ok()) {
    err << "restoreproof: log verify --against: " << s.message() << "\n";
    return s.code() == Status::Code::kEnvironment ? 3 : 1;
  }
  const BundleVerification bv = VerifyEvidenceFiles(files, key);
  std::vector<std::string> problems;
  for (const auto& c : bv.checks)
    if (!c.ok) problems.push_back("the bundle fails its " + c.name + " check: " + c.detail);
  int64_t compared = 0;
  if (bv.excerpt) {
    for (const auto& x : bv.excerpt->records) {
      const auto now = store.ReadLog(x.record.seq, 1);
      if (now.empty() || now[0].seq != x.record.seq) {
        problems.push_back("record " + std::to_string(x.record.seq) + " of the bundle is no longer in the log: removed");
        break;
      }
      if (now[0].hash != x.record.hash) {
        problems.push_back("record " + std::to_string(x.record.seq) + " differs from the bundle's (hash " + now[0].hash +
                           " now, " + x.record.hash + " when the bundle was made): the log was rewritten");
        break;
      }
      ++compared;
    }
  }
  const LogVerification lv = VerifyLog(store, key);
  if (!lv.ok)
    problems.push_back("the log itself: " + std::string(LogDefectName(lv.what)) + " at seq " +
                       std::to_string(lv.first_bad_seq) + ": " + lv.detail);
  if (json) {
    out << nlohmann::json{{"ok", problems.empty()},
                          {"bundle", EscapePath(bundle)},
                          {"head_seq", bv.head_seq},
                          {"head_hash", bv.head_hash},
                          {"records_compared", compared},
                          {"problems", problems}}
               .dump(2)
        << "\n";
  } else if (problems.empty()) {
    out << "the log still extends the head the bundle pins (seq " << bv.head_seq << ", " << bv.head_hash << "); "
        << compared << " records compared\n";
  } else {
    for (const auto& p : problems) out << "log verify --against: " << p << "\n";
  }
  return problems.empty() ? 0 : 1;
}

int EvidencePersonalDataCommand(const std::string& config_path, bool json, std::ostream& out, std::ostream& err) {
  Appliance a;
  if (const int rc = LoadConfigOnly(config_path, &a, err); rc != 0) return rc;
  const Config& c = *a.config;
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& t : c.targets) {
    const Policy p = c.PolicyFor(t);
    nlohmann::json copies = nlohmann::json::array();
    for (const auto& cp : t.copies)
      copies.push_back({{"location", cp.location}, {"kind", CopyKindName(cp.kind)}, {"path", EscapePath(cp.path)}});
    nlohmann::json tests = nlohmann::json::array();
    for (const auto& tc : t.tests) tests.push_back(tc.schedule.ToString());
    nlohmann::json j{{"target", t.name},
                     {"owner", t.owner},
                     {"classification", "K" + std::to_string(t.classification.k) + " R" +
                                            std::to_string(t.classification.r) + " T" +
                                            std::to_string(t.classification.t)},
                     {"holds_personal_data", !t.personal_data.none},
                     {"description", t.personal_data.description},
                     {"categories", t.personal_data.categories},
                     {"data_subjects", t.personal_data.subjects},
                     {"copies", copies},
                     {"retention_days", p.retention_days},
                     {"weekly_keeps", p.weekly_keeps},
                     {"monthly_keeps", p.monthly_keeps},
                     {"max_retention_days", p.max_retention_days ? nlohmann::json(*p.max_retention_days) : nlohmann::json()},
                     {"restore_test_interval", Days(p.restore_test_interval_s)},
                     {"restore_test_schedules", tests}};
    arr.push_back(j);
  }
  if (json) {
    out << nlohmann::json{{"targets", arr}}.dump(2) << "\n";
    return 0;
  }
  out << "Which personal data the backups hold (Säker drift av IS/IT §6.1)\n\n";
  for (const auto& j : arr) {
    out << j["target"].get<std::string>() << " (owner " << j["owner"].get<std::string>() << ", "
        << j["classification"].get<std::string>() << ")\n";
    if (!j["holds_personal_data"].get<bool>()) {
      out << "  personal data: none declared\n";
    } else {
      const std::string d = j["description"].get<std::string>();
      out << "  personal data: " << (d.empty() ? "held (not described: declare it in the configuration)" : d) << "\n";
      if (!j["categories"].empty()) {
        out << "  categories:";
        for (const auto& x : j["categories"]) out << " " << x.get<std::string>() << ";";
        out << "\n";
      }
      if (!j["data_subjects"].empty()) {
        out << "  data subjects:";
        for (const auto& x : j["data_subjects"]) out << " " << x.get<std::string>() << ";";
        out << "\n";
      }
    }
    for (const auto& cp : j["copies"])
      out << "  kept at " << cp["location"].get<std::string>() << " (" << cp["kind"].get<std::string>() << ", "
          << cp["path"].get<std::string>() << ")\n";
    out << "  kept for: a point on each of the last " << j["retention_days"].get<int>() << " days";
    if (j["weekly_keeps"].get<int>() > 0) out << ", each of the last " << j["weekly_keeps"].get<int>() << " weeks";
    if (j["monthly_keeps"].get<int>() > 0) out << ", each of the last " << j["monthly_keeps"].get<int>() << " months";
    if (j["max_retention_days"].is_number()) out << "; nothing older than " << j["max_retention_days"].get<int>() << " days";
    out << "\n  restore tested: at least every " << j["restore_test_interval"].get<std::string>();
    if (!j["restore_test_schedules"].empty()) {
      out << ", on the schedules";
      for (const auto& s : j["restore_test_schedules"]) out << " \"" << s.get<std::string>() << "\"";
    }
    out << "\n\n";
  }
  return 0;
}

}  // namespace rp
