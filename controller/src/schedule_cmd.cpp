#include "rp/schedule_cmd.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <optional>
#include <variant>
#include <vector>

#include "rp/calendar.h"
#include "rp/config.h"
#include "rp/next_run.h"
#include "rp/schedule.h"

namespace rp {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitEnvironment = 3;
constexpr const char* kCommand = "schedule preview: ";

// The expression on one line and, under it, carets under the bytes [offset, offset + length)
// (one caret at `offset` when length is 0). Control bytes are shown escaped, a tab stays a tab
// in both lines, and a UTF-8 character takes one column.
std::string PointAt(const std::string& text, size_t offset, size_t length) {
  std::string line = "  ", marks = "  ";
  const size_t end = offset + std::max<size_t>(length, 1);
  for (size_t i = 0; i <= text.size(); ++i) {
    const bool marked = i >= offset && i < end;
    if (i == text.size()) {
      if (marked) marks += '^';
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\t') {
      line += '\t';
      marks += marked ? '^' : '\t';
    } else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      line += hex;
      marks += std::string(4, marked ? '^' : ' ');
    } else if ((c & 0xc0) == 0x80) {
      line += static_cast<char>(c);  // continues the character before it
    } else {
      line += static_cast<char>(c);
      marks += marked ? '^' : ' ';
    }
  }
  while (!marks.empty() && (marks.back() == ' ' || marks.back() == '\t')) marks.pop_back();
  return line + "\n" + marks + "\n";
}

// The appliance's zone: the configuration's, or the default one when there is no file at the
// default path and none was named. Prints why not and sets the exit code otherwise.
std::optional<TimeZone> ApplianceZone(const std::string& config_path, bool config_named, std::ostream& err,
                                      int* exit_code) {
  if (!config_named && access(config_path.c_str(), F_OK) != 0) {
    const std::string name = kDefaultTimeZone;
    auto zone = TimeZone::Locate(name);
    if (!zone) {
      err << kCommand << "the default time zone " << name
          << " is not in the tz database (/usr/share/zoneinfo): install tzdata, or name a configuration file whose "
             "appliance.timezone is there\n";
      *exit_code = kExitEnvironment;
    }
    return zone;
  }
  const ConfigResult r = LoadConfigFile(config_path);
  if (!r.errors.empty()) {
    err << FormatConfigErrors(r) << "\n";
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  return r.config.appliance.zone;
}

void PrintText(const std::string& expression, const Schedule& schedule, const TimeZone& zone,
               const std::vector<int64_t>& runs, std::ostream& out) {
  const auto label = [&out](const std::string& name) -> std::ostream& {
    return out << std::setw(15) << std::right << name << ": ";
  };
  const TimeZone utc = TimeZone::Utc();
  label("Original form") << expression << "\n";
  label("Normalized form") << schedule.ToString() << "\n";
  label("Time zone") << zone.name() << "\n";
  if (runs.empty()) label("Next elapse") << "never\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    label(i == 0 ? "Next elapse" : "Iteration #" + std::to_string(i + 1))
        << zone.Format(runs[i], "%a %Y-%m-%d %H:%M:%S %Z (%z)") << "\n";
    label("(in UTC)") << utc.Format(runs[i], "%a %Y-%m-%d %H:%M:%S UTC") << "\n";
  }
}

void PrintJson(const std::string& expression, const Schedule& schedule, const TimeZone& zone,
               const std::vector<int64_t>& runs, std::ostream& out) {
  const TimeZone utc = TimeZone::Utc();
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const int64_t t : runs) {
    list.push_back({{"local", zone.Format(t, "%Y-%m-%dT%H:%M:%S%Ez")},
                    {"utc", utc.Format(t, "%Y-%m-%dT%H:%M:%SZ")},
                    {"offset_s", zone.OffsetSeconds(t)}});
  }
  const nlohmann::ordered_json doc = {{"expression", expression},
                                      {"normalized", schedule.ToString()},
                                      {"timezone", zone.name()},
                                      {"runs", std::move(list)}};
  out << doc.dump(2) << "\n";
}

}  // namespace

int SchedulePreviewCommand(const std::string& config_path, bool config_named, const SchedulePreviewOptions& o,
                           std::ostream& out, std::ostream& err) {
  if (o.count < 1 || o.count > 1000) {
    err << kCommand << "--count must be from 1 to 1000, not " << o.count << "\n";
    return kExitUsage;
  }
  const auto parsed = ParseSchedule(o.expression);
  if (const auto* e = std::get_if<ScheduleError>(&parsed)) {
    err << kCommand << "not a schedule: " << e->message << "\n"
        << PointAt(o.expression, e->offset, e->length) << "expected " << e->expected << "\n";
    return kExitUsage;
  }
  const Schedule& schedule = std::get<Schedule>(parsed);

  int exit_code = 0;
  const auto zone = ApplianceZone(config_path, config_named, err, &exit_code);
  if (!zone) return exit_code;

  int64_t from = static_cast<int64_t>(std::time(nullptr));
  if (!o.from.empty()) {
    const auto t = ParseTimestamp(o.from, *zone);
    if (!t) {
      err << kCommand << "--from must look like 2026-11-22T08:00:00+01:00 or 2026-11-22, not '" << o.from << "'\n";
      return kExitUsage;
    }
    from = *t;
  }
  // At or after --from: a run at that very second is the first one shown.
  const std::vector<int64_t> runs = NextRuns(schedule, *zone, from - 1, static_cast<size_t>(o.count));
  if (o.json)
    PrintJson(o.expression, schedule, *zone, runs, out);
  else
    PrintText(o.expression, schedule, *zone, runs, out);
  return 0;
}

}  // namespace rp
