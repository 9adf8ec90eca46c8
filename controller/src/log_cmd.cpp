#include "rp/log_cmd.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "rp/appliance.h"
#include "rp/calendar.h"
#include "rp/evidence_cmd.h"
#include "rp/path_text.h"
#include "rp/restoration_log.h"

namespace rp {

namespace {

std::string Or(const std::string& s) { return s.empty() ? "-" : EscapeMessage(s); }

void PrintRecords(const std::vector<LogRecord>& records, std::ostream& out) {
  out << "   SEQ  TIME                      KIND                TARGET               RESULT       FILES  FAILING  "
         "RESPONSIBLE\n";
  for (const auto& r : records) {
    char line[512];
    std::snprintf(line, sizeof line, "%6lld  %-24s  %-18s  %-20s %-10s %7llu  %7llu  ", static_cast<long long>(r.seq),
                  r.time_local.c_str(), std::string(LogKindName(r.kind)).c_str(), Or(r.target).c_str(),
                  Or(r.result).c_str(), static_cast<unsigned long long>(r.files),
                  static_cast<unsigned long long>(r.failing_findings));
    out << line << Or(r.responsible) << "\n";
    if (!r.point.empty() || !r.location.empty())
      out << "        point " << Or(r.point) << " at " << Or(r.location)
          << (r.run_id ? ", run " + std::to_string(r.run_id) : "") << "\n";
    if (!r.reason.empty()) out << "        reason: " << EscapeMessage(r.reason) << "\n";
    if (!r.personal_data.empty()) out << "        personal data: " << EscapeMessage(r.personal_data) << "\n";
    if (r.correctness != Correctness::kNotApplicable)
      out << "        correctness: " << CorrectnessName(r.correctness) << "\n";
    for (const auto& f : r.failed_files) out << "        to correct: " << EscapeMessage(f) << "\n";
    for (const auto& k : r.changed_keys) out << "        changed: " << EscapeMessage(k) << "\n";
    if (!r.damage.empty()) out << "        unreadable: " << EscapeMessage(r.damage) << "\n";
  }
}

}  // namespace

int LogShowCommand(const std::string& config_path, const LogShowOptions& o, std::ostream& out, std::ostream& err) {
  Appliance a;
  if (const int rc = OpenAppliance(config_path, &a, err); rc != 0) return rc;
  LogFilter f;
  f.target = o.target;
  if (!o.since.empty()) {
    const auto since = ParseTimestamp(o.since, a.config->appliance.zone);
    if (!since) {
      err << "restoreproof: log show: --since: expected ISO 8601 like 2026-11-22T08:00:00+01:00 or a date, found \""
          << o.since << "\"\n";
      return 2;
    }
    f.since = *since;
  }
  if (o.json && f.since == 0 && f.target.empty()) {
    // The whole log, a page at a time and a record per line: flat in memory however long it is
    // (the documented way to recompute the chain reads exactly this).
    out << "{\"records\": [";
    bool first = true;
    for (int64_t from = 1;;) {
      const auto page = a.store->ReadLog(from, 10000);
      for (const auto& r : page) {
        out << (first ? "\n" : ",\n") << nlohmann::json(r).dump();
        first = false;
      }
      if (page.size() < 10000) break;
      from = page.back().seq + 1;
    }
    out << "\n]}\n";
    return 0;
  }
  const auto records = a.store->ListLog(f);
  if (o.json) {
    out << "{\"records\": [";
    for (size_t i = 0; i < records.size(); ++i) out << (i ? ",\n" : "\n") << nlohmann::json(records[i]).dump();
    out << "\n]}\n";
  } else {
    PrintRecords(records, out);
  }
  return 0;
}

int LogVerifyCommand(const std::string& config_path, bool json, const std::string& against, std::ostream& out,
                     std::ostream& err) {
  Appliance a;
  if (const int rc = OpenAppliance(config_path, &a, err); rc != 0) return rc;
  // The public key only: checking never needs (or creates) the private one.
  const std::string pub_path = PublicKeyPath(a.config->appliance.data_dir);
  std::optional<PublicKey> key;
  struct stat st {};
  if (stat(pub_path.c_str(), &st) == 0 || errno != ENOENT) {
    PublicKey k;
    if (Status s = ReadPublicKey(pub_path, &k); !s.ok()) {
      err << "restoreproof: log verify: " << s.message() << "\n";
      return s.exit_code();
    }
    key = k;
  }
  if (!against.empty()) {
    if (!key) {
      err << "restoreproof: log verify --against: " << pub_path
          << " is missing: without the appliance's key a bundle cannot be told from one signed by another key\n";
      return 3;
    }
    return VerifyLogAgainstBundle(*a.store, key, against, json, out, err);
  }
  const LogVerification v = VerifyLog(*a.store, key);
  if (json) {
    nlohmann::json j{{"ok", v.ok}, {"records", v.records}, {"checkpoints", v.checkpoints}};
    if (key) j["key_fingerprint"] = key->Fingerprint();
    if (!v.ok) {
      j["first_bad_seq"] = v.first_bad_seq;
      j["what"] = LogDefectName(v.what);
      j["detail"] = v.detail;
    }
    out << j.dump(2) << "\n";
  } else if (v.ok) {
    out << v.records << " records, chain intact, " << v.checkpoints << " checkpoints verified\n";
  } else {
    out << "log verify: " << LogDefectName(v.what) << " at seq " << v.first_bad_seq << ": " << EscapeMessage(v.detail)
        << "\n(the log was altered outside restoreproof: keep the store file as it is, it is evidence, and compare it "
           "with an evidence bundle made before)\n";
  }
  return v.ok ? 0 : 1;
}

}  // namespace rp
