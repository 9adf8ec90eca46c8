#include "rp/policy_eval.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <set>
#include <unordered_map>

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
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  Hasher h(HashAlgo::kXxh128);
  std::vector<char> buf(1 << 20);
  for (;;) {
    const ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0) {
      close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    h.Update(buf.data(), static_cast<size_t>(n));
  }
  close(fd);
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

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kOk: return "ok";
    case Verdict::kWarning: return "warning";
    case Verdict::kFailing: return "failing";
  }
  return "?";
}

int64_t LocalDay(int64_t utc) {
  // localtime_r per point would dominate the evaluation of millions of points: the UTC offset
  // is kept per UTC hour (it only changes on whole hours in every zone in use).
  thread_local std::unordered_map<int64_t, int64_t> offset_of_hour;
  const int64_t hour = utc >= 0 ? utc / 3600 : (utc - 3599) / 3600;
  auto it = offset_of_hour.find(hour);
  if (it == offset_of_hour.end()) {
    const time_t t = static_cast<time_t>(hour * 3600);
    tm local{};
    localtime_r(&t, &local);
    if (offset_of_hour.size() > (1u << 20)) offset_of_hour.clear();
    it = offset_of_hour.emplace(hour, static_cast<int64_t>(local.tm_gmtoff)).first;
  }
  const int64_t local_seconds = utc + it->second;
  return local_seconds >= 0 ? local_seconds / 86400 : (local_seconds - 86399) / 86400;
}

std::string DayText(int64_t day) {
  // civil_from_days
  day += 719468;
  const int64_t era = (day >= 0 ? day : day - 146096) / 146097;
  const auto doe = static_cast<unsigned>(day - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y + (m <= 2)), m, d);
  return buf;
}

TargetEvaluation EvaluateTarget(const Config& config, const TargetConfig& target,
                                const std::vector<CopyCatalog>& copies, const EvalOptions& opt) {
  TargetEvaluation ev;
  ev.target = target.name;
  ev.policy = config.PolicyFor(target);
  const Policy& p = ev.policy;
  auto add = [&](const std::string& rule, Verdict sev, const std::string& msg) {
    ev.findings.push_back(PolicyFinding{rule, sev, msg});
    if (sev > ev.verdict) ev.verdict = sev;
  };
  const int64_t today = LocalDay(opt.now);

  std::set<std::string> locations_with_points;
  for (const auto& c : copies) {
    if (!c.online) {
      add("catalog.offline", Verdict::kFailing, "copy at " + CopyName(c) + " cannot be read: " + c.error);
      continue;
    }
    if (c.points.empty()) {
      add("catalog.empty", Verdict::kFailing, "copy at " + CopyName(c) + " holds no recovery point");
      continue;
    }
    locations_with_points.insert(c.copy->location);
    ev.newest = std::max(ev.newest, c.points.back().time);

    // Retention: each of the last N complete local days has a point in this copy. The local
    // day of every point is computed once; `days` is the sorted set of them.
    std::vector<int64_t> day_of(c.points.size());
    for (size_t k = 0; k < c.points.size(); ++k) day_of[k] = LocalDay(c.points[k].time);
    std::vector<int64_t> days_sorted = day_of;
    std::sort(days_sorted.begin(), days_sorted.end());
    days_sorted.erase(std::unique(days_sorted.begin(), days_sorted.end()), days_sorted.end());
    auto has_day = [&](int64_t d) { return std::binary_search(days_sorted.begin(), days_sorted.end(), d); };
    std::vector<std::string> missing;
    for (int64_t d = today - p.retention_days; d < today; ++d)
      if (!has_day(d)) missing.push_back(DayText(d));
    if (!missing.empty())
      add("retention.daily", Verdict::kFailing,
          "copy at " + c.copy->location + " has no recovery point on " + std::to_string(missing.size()) + " of the last " +
              std::to_string(p.retention_days) + " days: " + ListFirst(missing, 10));
    // Weekly and monthly keeps, where configured: ISO-like weeks of 7 local days ending
    // yesterday, and calendar months before this one.
    if (p.weekly_keeps > 0) {
      std::vector<std::string> empty_weeks;
      for (int w = 0; w < p.weekly_keeps; ++w) {
        const int64_t end = today - 7 * w, start = end - 7;
        const auto it = std::lower_bound(days_sorted.begin(), days_sorted.end(), start);
        const bool any = it != days_sorted.end() && *it < end;
        if (!any) empty_weeks.push_back(DayText(start) + ".." + DayText(end - 1));
      }
      if (!empty_weeks.empty()) {
        const std::string list = ListFirst(empty_weeks, 5);
        add("retention.weekly", Verdict::kFailing,
            "copy at " + c.copy->location + " has no point in " + std::to_string(empty_weeks.size()) + " of the last " +
                std::to_string(p.weekly_keeps) + " weeks: " + list);
      }
    }
    if (p.monthly_keeps > 0) {
      std::set<std::string> months;
      for (int64_t d : days_sorted) months.insert(DayText(d).substr(0, 7));
      std::string this_month = DayText(today).substr(0, 7);
      int y = std::stoi(this_month.substr(0, 4)), m = std::stoi(this_month.substr(5, 2));
      std::vector<std::string> empty_months;
      for (int k = 0; k < p.monthly_keeps; ++k) {
        if (--m == 0) {
          m = 12;
          --y;
        }
        char buf[32];
        std::snprintf(buf, sizeof buf, "%04d-%02d", y, m);
        if (!months.count(buf)) empty_months.push_back(buf);
      }
      if (!empty_months.empty()) {
        const std::string list = ListFirst(empty_months, 6);
        add("retention.monthly", Verdict::kFailing,
            "copy at " + c.copy->location + " has no point in " + std::to_string(empty_months.size()) + " of the last " +
                std::to_string(p.monthly_keeps) + " months: " + list);
      }
    }
    // Storage limitation: nothing older than the maximum retention.
    if (p.max_retention_days) {
      const int64_t oldest_allowed = today - *p.max_retention_days;
      size_t over = 0;
      std::string first;
      for (size_t k = 0; k < c.points.size(); ++k)
        if (day_of[k] < oldest_allowed && over++ == 0) first = c.points[k].id + " (" + DayText(day_of[k]) + ")";
      if (over)
        add("retention.max", Verdict::kFailing,
            "copy at " + c.copy->location + " keeps " + std::to_string(over) + " recovery point(s) older than the maximum of " +
                std::to_string(*p.max_retention_days) + " days, oldest " + first);
    }
    // Chains: an incremental or differential point needs its full point.
    size_t broken = 0;
    std::string first_broken;
    for (const auto& pt : c.points)
      if (pt.chain_broken && broken++ == 0) first_broken = pt.id;
    if (broken)
      add("chain.broken", Verdict::kFailing,
          "copy at " + c.copy->location + " has " + std::to_string(broken) +
              " incremental/differential point(s) without the full point they need, first " + first_broken);
  }

  // Freshness over all copies.
  if (ev.newest > 0) {
    const double age = static_cast<double>(opt.now - ev.newest);
    if (age > p.backup_interval_s + p.freshness_grace_s)
      add("freshness", Verdict::kFailing,
          "newest recovery point is " + Duration(age) + " old; the policy asks for one every " + Duration(p.backup_interval_s));
    else if (age > p.backup_interval_s)
      add("freshness", Verdict::kWarning,
          "newest recovery point is " + Duration(age) + " old, past the interval of " + Duration(p.backup_interval_s) +
              " but within the grace period");
  } else {
    add("freshness", Verdict::kFailing, "no recovery point at any copy");
  }

  // Redundancy: copies at distinct locations, each up to date, on distinct file systems, and
  // holding the same bytes for the same point.
  if (static_cast<int>(locations_with_points.size()) < p.min_copies)
    add("redundancy.copies", Verdict::kFailing,
        std::to_string(locations_with_points.size()) + " location(s) hold recovery points; the policy asks for " +
            std::to_string(p.min_copies) + " at distinct locations");
  for (const auto& c : copies) {
    if (!c.online || c.points.empty()) continue;
    const double lag = static_cast<double>(ev.newest - c.points.back().time);
    if (lag > p.copy_lag_s)
      add("redundancy.lag", Verdict::kFailing,
          "copy at " + c.copy->location + " is " + Duration(lag) + " behind the newest recovery point (allowed " +
              Duration(p.copy_lag_s) + ")");
  }
  for (size_t i = 0; i < copies.size(); ++i) {
    const auto& a = copies[i];
    if (!a.device) continue;
    for (size_t j = i + 1; j < copies.size(); ++j) {
      const auto& b = copies[j];
      if (b.device && *a.device == *b.device)
        add("redundancy.same-filesystem", Verdict::kFailing,
            "copies at " + a.copy->location + " and " + b.copy->location + " are on the same file system (" + a.copy->path +
                ", " + b.copy->path + "): one failure takes both");
    }
    if (opt.production_device_known && *a.device == opt.production_device)
      add("redundancy.same-filesystem", Verdict::kFailing,
          "copy at " + a.copy->location + " is on the same file system as the production data (" + target.production_path + ")");
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
          if (!ha || !hb)
            add("redundancy.content", Verdict::kFailing, "cannot read " + (!ha ? it->path : other->second->path) + " to compare copies");
          else if (*ha != *hb)
            add("redundancy.content", Verdict::kFailing,
                "the copies of " + it->id + " at " + a.copy->location + " and " + b.copy->location +
                    " differ in content (xxh128 " + *ha + " != " + *hb + "): at most one of them is intact");
          break;  // the newest common point only
        }
      }
    }
  }
  return ev;
}

}  // namespace rp
