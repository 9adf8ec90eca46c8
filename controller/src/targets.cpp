#include "rp/targets.h"

#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>

#include "rp/catalog.h"
#include "rp/codec.h"
#include "rp/coverage.h"
#include "rp/path_text.h"
#include "rp/store.h"

namespace rp {

namespace {
// "coverage 40.0% of files, 38.2% of bytes of POINT within 30 days (4 of 10 slices); full restore
// predicted 2 h 10 min (run 7)".
std::string CoverageLine(const TargetConfig& t, Store* store, int64_t now) {
  const TargetCoverage c = CoverageOf(t, store, now);
  char text[160];
  std::snprintf(text, sizeof text, "coverage %.1f%% of files, %.1f%% of bytes", c.files_ratio() * 100, c.bytes_ratio() * 100);
  std::string line = text;
  if (c.reference_run == 0) return line + " (no passed test within " + std::to_string(c.window_days) + " days)";
  line += " of " + EscapePath(c.point) + " within " + std::to_string(c.window_days) + " days";
  if (!c.full) line += " (" + std::to_string(c.slices_covered) + " of " + std::to_string(c.cycle.slices) + " slices)";
  if (const auto run = store->GetRun(c.reference_run))
    if (const auto predicted = PredictedFullSeconds(*run)) {
      std::snprintf(text, sizeof text, "; full restore predicted %.1f s (run %lld)", *predicted,
                    static_cast<long long>(run->id));
      line += text;
    }
  return line;
}

std::string TimeText(int64_t utc, const TimeZone& zone) {
  return utc <= 0 ? "-" : zone.Format(utc, "%Y-%m-%d %H:%M %Z");
}
}  // namespace

int ConfigCheckCommand(const std::string& path, bool json, std::ostream& out, std::ostream& err) {
  const ConfigResult r = LoadConfigFile(path);
  if (json) {
    nlohmann::json j{{"file", EscapePath(path)}, {"valid", r.errors.empty()}, {"targets", r.config.targets.size()}};
    nlohmann::json errs = nlohmann::json::array();
    for (const auto& e : r.errors)
      errs.push_back({{"line", e.line}, {"column", e.column}, {"key", EscapePath(e.key)}, {"expected", EscapePath(e.expected)},
                      {"found", EscapePath(e.found)}});
    j["errors"] = errs;
    out << j.dump(2) << "\n";
  } else {
    for (const auto& e : r.errors) err << e.Format() << "\n";
    if (r.errors.empty())
      out << path << ": valid, " << r.config.targets.size() << " target(s), time zone " << r.config.appliance.zone.name() << "\n";
    else
      err << path << ": " << r.errors.size() << " error(s)\n";
  }
  return r.errors.empty() ? 0 : 2;
}

namespace {

// The configuration, or nullopt after its errors are printed.
std::optional<Config> Load(const std::string& path, std::ostream& err) {
  ConfigResult r = LoadConfigFile(path);
  if (!r.errors.empty()) {
    err << FormatConfigErrors(r) << "\n";
    return std::nullopt;
  }
  return std::move(r.config);
}

}  // namespace

int TargetsListCommand(const std::string& config_path, bool json, std::ostream& out, std::ostream& err) {
  const std::optional<Config> loaded = Load(config_path, err);
  if (!loaded) return 2;
  const Config& config = *loaded;
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& t : config.targets) {
    const Policy p = config.PolicyFor(t);
    if (json) {
      nlohmann::json copies = nlohmann::json::array();
      for (const auto& c : t.copies)
        copies.push_back({{"location", c.location}, {"kind", CopyKindName(c.kind)}, {"path", EscapePath(c.path)}});
      arr.push_back({{"name", t.name},
                     {"owner", t.owner},
                     {"classification", {{"K", t.classification.k}, {"R", t.classification.r}, {"T", t.classification.t}}},
                     {"personal_data", !t.personal_data.none},
                     {"checksum", HashAlgoName(t.checksum)},
                     {"retention_days", p.retention_days},
                     {"min_copies", p.min_copies},
                     {"copies", copies}});
    } else {
      out << t.name << "  owner: " << t.owner << "  K" << t.classification.k << " R" << t.classification.r << " T"
          << t.classification.t << "  " << (t.personal_data.none ? "no personal data" : "personal data") << "  "
          << t.copies.size() << " copies, keep " << p.retention_days << " days, " << HashAlgoName(t.checksum) << "\n";
    }
  }
  if (json) out << arr.dump(2) << "\n";
  return 0;
}

void AddRestoreTestFindings(const Config& config, const TargetConfig& target, Store* store, int64_t now,
                            TargetEvaluation* ev) {
  const double interval = config.PolicyFor(target).restore_test_interval_s;
  const auto last = store->LastRun(target.name, RunState::kPassed);
  const auto add = [&](PolicyRule rule, Verdict severity, std::string message, const std::string& location,
                       std::optional<double> age) {
    PolicyFinding f;
    f.rule = rule;
    f.severity = severity;
    f.message = std::move(message);
    f.location = location;
    f.age_s = age;
    f.limit_s = interval;
    ev->findings.push_back(std::move(f));
    if (severity > ev->verdict) ev->verdict = severity;
  };
  const std::string limit = std::to_string(static_cast<int64_t>(interval / 3600)) + " h";
  if (!last) {
    add(PolicyRule::kRestoreTest, Verdict::kFailing, "no passed restore test is recorded (Säker drift §6.1)", "",
        std::nullopt);
  } else if (static_cast<double>(now - last->finished_at) > interval) {
    add(PolicyRule::kRestoreTest, Verdict::kFailing,
        "the last passed restore test (run " + std::to_string(last->id) + ") is " +
            std::to_string((now - last->finished_at) / 3600) + " h old, more than the restore_test_interval of " + limit,
        "", static_cast<double>(now - last->finished_at));
  }
  for (const auto& copy : target.copies) {
    const auto at = store->LastRun(target.name, RunState::kPassed, copy.location);
    if (!at)
      add(PolicyRule::kRestoreTestCopy, Verdict::kWarning,
          "the copy at " + copy.location + " has never passed a restore test", copy.location, std::nullopt);
    else if (static_cast<double>(now - at->finished_at) > interval)
      add(PolicyRule::kRestoreTestCopy, Verdict::kWarning,
          "the copy at " + copy.location + " has not passed a restore test within " + limit, copy.location,
          static_cast<double>(now - at->finished_at));
  }
  AddCoverageFinding(CoverageOf(target, store, now), ev);
}

TargetEvaluation CheckTarget(const Config& config, const TargetConfig& target, int64_t now, bool compare_content,
                             std::vector<CopyCatalog>* catalogs, Store* store) {
  std::vector<CopyCatalog> found;
  for (const auto& c : target.copies) found.push_back(DiscoverCopy(c, config.appliance.zone));
  EvalOptions opt;
  opt.now = now;
  opt.zone = config.appliance.zone;
  opt.compare_content = compare_content;
  struct stat st {};
  if (!target.production_path.empty() && stat(target.production_path.c_str(), &st) == 0) {
    opt.production_device = st.st_dev;
    opt.production_device_known = true;
  }
  TargetEvaluation ev = EvaluateTarget(config, target, found, opt);
  if (store) AddRestoreTestFindings(config, target, store, now, &ev);
  if (catalogs) *catalogs = std::move(found);
  return ev;
}

int TargetsCheckCommand(const std::string& config_path, const TargetsCheckOptions& o, std::ostream& out,
                        std::ostream& err) {
  const std::optional<Config> loaded = Load(config_path, err);
  if (!loaded) return 2;
  const Config& config = *loaded;
  int64_t now = static_cast<int64_t>(time(nullptr));
  if (!o.now.empty()) {
    const auto parsed = ParseTimestamp(o.now, config.appliance.zone);
    if (!parsed) {
      err << "targets check: --now must look like 2026-11-22T08:00:00+01:00 or 2026-11-22, not '" << o.now << "'\n";
      return 2;
    }
    now = *parsed;
  }
  // The restore-test rules need the run history: judged when the store exists, never by
  // creating an empty one.
  std::unique_ptr<Store> store;
  const std::string store_path = StorePath(config.appliance.data_dir);
  struct stat store_st {};
  if (!config.store.url.empty() || stat(store_path.c_str(), &store_st) == 0) {
    if (Status s = OpenStore(config, &store); !s.ok()) {
      err << "targets check: " << s.message() << "\n";
      return 3;
    }
  } else {
    err << "targets check: restore tests not judged: no store at " << store_path << " (serve has not run here)\n";
  }
  bool any = false, failing = false;
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& t : config.targets) {
    if (!o.name.empty() && t.name != o.name) continue;
    any = true;
    std::vector<CopyCatalog> cats;
    const TargetEvaluation ev = CheckTarget(config, t, now, o.compare_content, &cats, store.get());
    failing = failing || ev.verdict == Verdict::kFailing;
    if (o.json) {
      // DESIGN.md: "rule" is the family (retention, freshness, redundancy, chain, location);
      // "check" names the rule within it, "id" both; the facts follow (docs/json.md).
      nlohmann::json copies = nlohmann::json::array();
      for (const auto& c : cats)
        copies.push_back({{"location", c.copy->location},
                          {"kind", CopyKindName(c.copy->kind)},
                          {"path", EscapePath(c.copy->path)},
                          {"online", c.online},
                          {"points", c.points.size()},
                          {"newest", c.points.empty() ? 0 : c.points.back().time}});
      nlohmann::json jt = ev;
      jt["owner"] = t.owner;
      if (store && t.Samples()) jt["coverage"] = CoverageOf(t, store.get(), now);
      jt["copies"] = copies;
      arr.push_back(jt);
    } else {
      out << t.name << ": " << VerdictName(ev.verdict) << " (owner " << t.owner << ", newest point "
          << TimeText(ev.newest, config.appliance.zone) << ")\n";
      for (const auto& c : cats)
        out << "  copy " << c.copy->location << " [" << CopyKindName(c.copy->kind) << "] "
            << (c.online ? std::to_string(c.points.size()) + " points" : "OFFLINE") << "\n";
      if (store && t.Samples()) out << "  " << CoverageLine(t, store.get(), now) << "\n";
      for (const auto& f : ev.findings)
        out << "  " << VerdictName(f.severity) << " [" << PolicyRuleName(f.rule) << "] " << EscapeMessage(f.message) << "\n";
    }
  }
  if (!any) {
    err << "targets check: no target named '" << o.name << "'\n";
    return 2;
  }
  if (o.json)
    out << nlohmann::json{{"now", now}, {"store", store ? nlohmann::json(store_path) : nlohmann::json()}, {"targets", arr}}.dump(2)
        << "\n";
  return failing ? 1 : 0;
}

}  // namespace rp
