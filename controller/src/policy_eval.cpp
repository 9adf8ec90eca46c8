#include "rp/posix_io.h"
#include "rp/policy_eval.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "rp/hash.h"

namespace rp {
namespace {

std::string Duration(double s) {
  char buf[64];
  if (s >= 86400 * 2) std::snprintf(buf, sizeof buf, "%.1f days", s / 86400);
  else if (s >= 3600 * 2) std::snprintf(buf, sizeof buf, "%.1f hours", s / 3600);
  else std::snprintf(buf, sizeof buf, "%.0f minutes", s / 60);
  return buf;
}

std::string CopyName(const CopyCatalog& c) {
  return c.copy->location + " (" + std::string(CopyKindName(c.copy->kind)) + " " + c.copy->path + ")";
}

std::optional<std::string> HashFile(const std::string& path) {
  const UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  Hasher h(HashAlgo::kXxh128);
  std::vector<char> buf(1 << 20);
  for (;;) {
    const ssize_t n = ReadSome(fd.get(), buf.data(), buf.size());
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    h.Update(buf.data(), static_cast<size_t>(n));
  }
  return h.FinishHex();
}

// "a, b, c, ... (12 in all)" with at most `max` listed.
std::string ListFirst(const std::vector<std::string>& items, size_t max) {
  std::string s;
  for (size_t i = 0; i < items.size() && i < max; ++i) s += (i ? ", " : "") + items[i];
  if (items.size() > max) s += ", ... (" + std::to_string(items.size()) + " in all)";
  return s;
}

}  // namespace

TargetEvaluation EvaluateTarget(const Config& config, const TargetConfig& target,
                                const std::vector<CopyCatalog>& copies, const EvalOptions& opt) {
  TargetEvaluation ev;
  ev.target = target.name;
  ev.policy = config.PolicyFor(target);
  const Policy& p = ev.policy;
  auto add = [&](PolicyFinding f) {
    if (f.severity > ev.verdict) ev.verdict = f.severity;
    ev.findings.push_back(std::move(f));
  };
  auto finding = [](PolicyRule rule, Verdict severity, std::string message) {
    PolicyFinding f;
    f.rule = rule;
    f.severity = severity;
    f.message = std::move(message);
    return f;
  };
  const Date today = opt.zone.LocalDate(opt.now);

  std::set<std::string> locations_with_points;
  for (const auto& c : copies) {
    if (!c.online) {
      PolicyFinding f = finding(PolicyRule::kLocationOffline, Verdict::kFailing,
                                "copy at " + CopyName(c) + " cannot be read: " + c.error);
      f.location = c.copy->location;
      f.error = c.error;
      add(std::move(f));
      continue;
    }
    if (c.points.empty()) {
      PolicyFinding f = finding(PolicyRule::kLocationEmpty, Verdict::kFailing,
                                "copy at " + CopyName(c) + " holds no recovery point");
      f.location = c.copy->location;
      add(std::move(f));
      continue;
    }
    locations_with_points.insert(c.copy->location);
    ev.newest = std::max(ev.newest, c.points.back().time);

    // Retention: each of the last N complete local days has a point in this copy. The local
    // day of every point is computed once; `days` is the sorted set of them.
    std::vector<Date> day_of(c.points.size());
    for (size_t k = 0; k < c.points.size(); ++k) day_of[k] = opt.zone.LocalDate(c.points[k].time);
    std::vector<Date> days_sorted = day_of;
    std::sort(days_sorted.begin(), days_sorted.end());
    days_sorted.erase(std::unique(days_sorted.begin(), days_sorted.end()), days_sorted.end());
    auto has_day = [&](Date d) { return std::binary_search(days_sorted.begin(), days_sorted.end(), d); };
    std::vector<Date> missing;
    for (Date d = today - p.retention_days; d < today; d = d + 1)
      if (!has_day(d)) missing.push_back(d);
    if (!missing.empty()) {
      std::vector<std::string> texts;
      for (Date d : missing) texts.push_back(d.ToString());
      PolicyFinding f = finding(PolicyRule::kRetentionDaily, Verdict::kFailing,
                                "copy at " + c.copy->location + " has no recovery point on " +
                                    std::to_string(missing.size()) + " of the last " + std::to_string(p.retention_days) +
                                    " days: " + ListFirst(texts, 10));
      f.location = c.copy->location;
      f.missing_days = std::move(missing);
      f.required = static_cast<uint64_t>(p.retention_days);
      add(std::move(f));
    }
    // Weekly and monthly keeps, where configured: weeks of 7 local days ending yesterday, and
    // calendar months before this one.
    if (p.weekly_keeps > 0) {
      std::vector<DateRange> empty_weeks;
      for (int w = 0; w < p.weekly_keeps; ++w) {
        const Date end = today - 7 * w, start = end - 7;
        const auto it = std::lower_bound(days_sorted.begin(), days_sorted.end(), start);
        if (it == days_sorted.end() || !(*it < end)) empty_weeks.push_back(DateRange{start, end - 1});
      }
      if (!empty_weeks.empty()) {
        std::vector<std::string> texts;
        for (const auto& r : empty_weeks) texts.push_back(r.first.ToString() + ".." + r.last.ToString());
        PolicyFinding f = finding(PolicyRule::kRetentionWeekly, Verdict::kFailing,
                                  "copy at " + c.copy->location + " has no point in " +
                                      std::to_string(empty_weeks.size()) + " of the last " +
                                      std::to_string(p.weekly_keeps) + " weeks: " + ListFirst(texts, 5));
        f.location = c.copy->location;
        f.missing_weeks = std::move(empty_weeks);
        f.required = static_cast<uint64_t>(p.weekly_keeps);
        add(std::move(f));
      }
    }
    if (p.monthly_keeps > 0) {
      std::set<YearMonth> months;
      for (Date d : days_sorted) months.insert(YearMonth::Of(d));
      std::vector<YearMonth> empty_months;
      YearMonth m = YearMonth::Of(today);
      for (int k = 0; k < p.monthly_keeps; ++k) {
        m = m.Previous();
        if (!months.count(m)) empty_months.push_back(m);
      }
      if (!empty_months.empty()) {
        std::vector<std::string> texts;
        for (const auto& e : empty_months) texts.push_back(e.ToString());
        PolicyFinding f = finding(PolicyRule::kRetentionMonthly, Verdict::kFailing,
                                  "copy at " + c.copy->location + " has no point in " +
                                      std::to_string(empty_months.size()) + " of the last " +
                                      std::to_string(p.monthly_keeps) + " months: " + ListFirst(texts, 6));
        f.location = c.copy->location;
        f.missing_months = std::move(empty_months);
        f.required = static_cast<uint64_t>(p.monthly_keeps);
        add(std::move(f));
      }
    }
    // Storage limitation: nothing older than the maximum retention.
    if (p.max_retention_days) {
      const Date oldest_allowed = today - *p.max_retention_days;
      size_t over = 0;
      size_t first = 0;
      for (size_t k = 0; k < c.points.size(); ++k)
        if (day_of[k] < oldest_allowed && over++ == 0) first = k;
      if (over) {
        PolicyFinding f = finding(PolicyRule::kRetentionMax, Verdict::kFailing,
                                  "copy at " + c.copy->location + " keeps " + std::to_string(over) +
                                      " recovery point(s) older than the maximum of " +
                                      std::to_string(*p.max_retention_days) + " days, oldest " + c.points[first].id +
                                      " (" + day_of[first].ToString() + ")");
        f.location = c.copy->location;
        f.count = over;
        f.required = static_cast<uint64_t>(*p.max_retention_days);
        f.point = c.points[first].id;
        add(std::move(f));
      }
    }
    // Chains: an incremental or differential point needs its full point.
    size_t broken = 0;
    std::string first_broken;
    for (const auto& pt : c.points)
      if (pt.chain_broken && broken++ == 0) first_broken = pt.id;
    if (broken) {
      PolicyFinding f = finding(PolicyRule::kChainBroken, Verdict::kFailing,
                                "copy at " + c.copy->location + " has " + std::to_string(broken) +
                                    " incremental/differential point(s) without the full point they need, first " +
                                    first_broken);
      f.location = c.copy->location;
      f.count = broken;
      f.point = first_broken;
      add(std::move(f));
    }
  }

  // Freshness over all copies.
  if (ev.newest > 0) {
    const double age = static_cast<double>(opt.now - ev.newest);
    std::optional<PolicyFinding> f;
    if (age > p.backup_interval_s + p.freshness_grace_s)
      f = finding(PolicyRule::kFreshness, Verdict::kFailing,
                  "newest recovery point is " + Duration(age) + " old; the policy asks for one every " +
                      Duration(p.backup_interval_s));
    else if (age > p.backup_interval_s)
      f = finding(PolicyRule::kFreshness, Verdict::kWarning,
                  "newest recovery point is " + Duration(age) + " old, past the interval of " +
                      Duration(p.backup_interval_s) + " but within the grace period");
    if (f) {
      f->age_s = age;
      f->limit_s = p.backup_interval_s;
      add(std::move(*f));
    }
  } else {
    add(finding(PolicyRule::kFreshness, Verdict::kFailing, "no recovery point at any copy"));
  }

  // Redundancy: copies at distinct locations, each up to date, on distinct file systems, and
  // holding the same bytes for the same point.
  if (static_cast<int>(locations_with_points.size()) < p.min_copies) {
    PolicyFinding f = finding(PolicyRule::kRedundancyCopies, Verdict::kFailing,
                              std::to_string(locations_with_points.size()) +
                                  " location(s) hold recovery points; the policy asks for " +
                                  std::to_string(p.min_copies) + " at distinct locations");
    f.locations.assign(locations_with_points.begin(), locations_with_points.end());
    f.count = locations_with_points.size();
    f.required = static_cast<uint64_t>(p.min_copies);
    add(std::move(f));
  }
  for (const auto& c : copies) {
    if (!c.online || c.points.empty()) continue;
    const double lag = static_cast<double>(ev.newest - c.points.back().time);
    if (lag > p.copy_lag_s) {
      PolicyFinding f = finding(PolicyRule::kRedundancyLag, Verdict::kFailing,
                                "copy at " + c.copy->location + " is " + Duration(lag) +
                                    " behind the newest recovery point (allowed " + Duration(p.copy_lag_s) + ")");
      f.location = c.copy->location;
      f.age_s = lag;
      f.limit_s = p.copy_lag_s;
      add(std::move(f));
    }
  }
  for (size_t i = 0; i < copies.size(); ++i) {
    const auto& a = copies[i];
    if (!a.device) continue;
    for (size_t j = i + 1; j < copies.size(); ++j) {
      const auto& b = copies[j];
      if (b.device && *a.device == *b.device) {
        PolicyFinding f = finding(PolicyRule::kRedundancySameFilesystem, Verdict::kFailing,
                                  "copies at " + a.copy->location + " and " + b.copy->location +
                                      " are on the same file system (" + a.copy->path + ", " + b.copy->path +
                                      "): one failure takes both");
        f.locations = {a.copy->location, b.copy->location};
        add(std::move(f));
      }
    }
    if (opt.production_device_known && *a.device == opt.production_device) {
      PolicyFinding f = finding(PolicyRule::kRedundancySameFilesystem, Verdict::kFailing,
                                "copy at " + a.copy->location + " is on the same file system as the production data (" +
                                    target.production_path + ")");
      f.location = a.copy->location;
      f.path = target.production_path;
      add(std::move(f));
    }
  }
  if (opt.compare_content) {
    // For each pair of archive copies, the newest point both hold (same file name) must have
    // the same bytes.
    for (size_t i = 0; i < copies.size(); ++i) {
      for (size_t j = i + 1; j < copies.size(); ++j) {
        const auto& a = copies[i];
        const auto& b = copies[j];
        if (a.copy->kind != CopyKind::kArchiveDir || b.copy->kind != CopyKind::kArchiveDir || !a.online || !b.online) continue;
        std::map<std::string, const RecoveryPoint*> in_b;
        for (const auto& pt : b.points) in_b[pt.id] = &pt;
        for (auto it = a.points.rbegin(); it != a.points.rend(); ++it) {
          auto other = in_b.find(it->id);
          if (other == in_b.end()) continue;
          const auto ha = HashFile(it->path), hb = HashFile(other->second->path);
          if (!ha || !hb) {
            const std::string& unreadable = !ha ? it->path : other->second->path;
            PolicyFinding f = finding(PolicyRule::kRedundancyContent, Verdict::kFailing,
                                      "cannot read " + unreadable + " to compare copies");
            f.locations = {a.copy->location, b.copy->location};
            f.point = it->id;
            f.path = unreadable;
            add(std::move(f));
          } else if (*ha != *hb) {
            PolicyFinding f = finding(PolicyRule::kRedundancyContent, Verdict::kFailing,
                                      "the copies of " + it->id + " at " + a.copy->location + " and " +
                                          b.copy->location + " differ in content (xxh128 " + *ha + " != " + *hb +
                                          "): at most one of them is intact");
            f.locations = {a.copy->location, b.copy->location};
            f.point = it->id;
            add(std::move(f));
          }
          break;  // the newest common point only
        }
      }
    }
  }
  return ev;
}

}  // namespace rp
