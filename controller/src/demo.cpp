#include "rp/demo.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <optional>
#include <sstream>
#include <vector>

#include "rp/archive_builder.h"
#include "rp/path_text.h"
#include "rp/catalog.h"
#include "rp/config.h"
#include "rp/policy_eval.h"
#include "rp/restore_point.h"
#include "rp/targets.h"
#include "rp/verify.h"

namespace rp {
namespace {

namespace fs = std::filesystem;

std::string HumanBytes(uint64_t b) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(1);
  if (b >= (1u << 20)) os << static_cast<double>(b) / (1 << 20) << " MiB";
  else if (b >= 1024) os << static_cast<double>(b) / 1024 << " KiB";
  else os << b << " B";
  return os.str();
}

// Flips one byte in the middle of a file's content inside an uncompressed archive: the
// archive stays structurally valid, so only the manifest can tell.
bool DamageContent(const std::string& archive_path, const TreeEntry& victim) {
  std::vector<char> probe(64);
  GenerateContent(victim.seed, victim.compressible, 0, probe.data(), probe.size());
  std::ifstream in(archive_path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t at = bytes.find(std::string(probe.data(), probe.size()));
  if (at == std::string::npos) return false;
  const size_t pos = at + victim.size / 2;
  std::fstream f(archive_path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(pos));
  const char c = static_cast<char>(bytes[pos] ^ 0xFF);
  f.write(&c, 1);
  return static_cast<bool>(f);
}

}  // namespace

namespace {

struct DemoTarget {
  std::string name, owner, classification, personal_data, ext;
  ArchiveSpec spec;
  uint64_t seed;
  int stale_days;    // the newest this many days ago (0: up to date)
  bool second_copy;  // a copy at site-b too
  bool damage;       // the newest archive at site-a is silently damaged after its manifest
};

// `hour` o'clock local time, `day_offset` local days from today.
int64_t LocalAt(const TimeZone& zone, int64_t day_offset, unsigned hour, int64_t now) {
  const Date d = zone.LocalDate(now) + day_offset;
  return zone.ToUtc(LocalTime{d.year(), d.month(), d.day(), hour, 0, 0});
}

}  // namespace

int RunDemo(const DemoOptions& options, std::ostream& out) {
  const std::string root = fs::absolute(options.dir).lexically_normal().string();
  const std::string estate = root + "/estate";
  const std::string sandboxes = root + "/sandboxes";
  std::error_code ec;
  fs::remove_all(estate, ec);
  fs::create_directories(sandboxes, ec);
  const std::optional<TimeZone> located = TimeZone::Locate("Europe/Stockholm");
  if (!located) {
    out << "the system's tz database has no Europe/Stockholm: install tzdata\n";
    return -1;
  }
  const TimeZone zone = *located;
  const int64_t now = static_cast<int64_t>(time(nullptr));
  constexpr int kDays = 40;

  const std::vector<DemoTarget> targets = {
      {"payroll", "Anna Svensson", "{ K = 3, R = 3, T = 3 }",
       "{ categories = [\"names\", \"personal identity numbers\", \"salaries\"], subjects = [\"employees\"] }",
       ".tar.zst", {"pax", {"zstd"}}, 11, 0, true, false},
      {"case-files", "Karin Lind", "{ K = 3, R = 3, T = 2 }", "\"Citizens: names, addresses, case notes\"", ".tar.gz",
       {"gnutar", {"gzip"}}, 22, 3, true, false},
      {"website", "Johan Berg", "{ K = 1, R = 2, T = 2 }", "\"none\"", ".zip", {"zip", {}}, 33, 0, false, false},
      {"hr-archive", "Lena Ek", "{ K = 4, R = 3, T = 2 }", "\"Employees: sick leave, rehabilitation notes\"", ".tar",
       {"pax", {}}, 44, 0, true, true},
  };

  // The estate: daily backups at 02:00 for 40 days, each with its manifest, at site-a and
  // (for most targets) the same files at site-b.
  std::string toml =
      "# Written by `restoreproof demo`: the configuration of the demo estate.\n"
      "[appliance]\ndata_dir = \"" + root + "\"\nsandbox_dir = \"" + sandboxes +
      "\"\ntimezone = \"Europe/Stockholm\"\n\n[policy]\nbackup_interval = \"1d\"\nretention_days = 30\nmin_copies = 2\n\n";
  for (const auto& t : targets) {
    const std::string a = estate + "/site-a/" + t.name, b = estate + "/site-b/" + t.name;
    fs::create_directories(a, ec);
    if (t.second_copy) fs::create_directories(b, ec);
    for (int d = -kDays + 1; d <= 0; ++d) {
      if (-d < t.stale_days) continue;
      const int64_t at = LocalAt(zone, d, 2, now);
      if (at > now) continue;  // today's backup has not run yet
      const std::string file = t.name + "-" + zone.Format(at, "%Y%m%dT%H%M%S") + t.ext;
      SampleTreeOptions sto;
      sto.seed = t.seed * 1000 + static_cast<uint64_t>(d + kDays);
      sto.files = 12;
      sto.large_file_bytes = 256 * 1024;
      sto.exotic_names = t.spec.format != "zip";
      const auto entries = SampleTree(sto);
      if (Status st = WriteArchive(a + "/" + file, t.spec, entries); !st.ok()) {
        out << "cannot build the demo estate: " << st.message() << "\n";
        return -1;
      }
      std::ofstream(a + "/" + file + ".xxh128") << ManifestFor(entries, HashAlgo::kXxh128);
      if (t.second_copy) {
        fs::copy_file(a + "/" + file, b + "/" + file, fs::copy_options::overwrite_existing, ec);
        fs::copy_file(a + "/" + file + ".xxh128", b + "/" + file + ".xxh128", fs::copy_options::overwrite_existing, ec);
      }
      if (t.damage && d == 0 - (LocalAt(zone, 0, 2, now) > now ? 1 : 0)) {
        for (const auto& e : entries)
          if (e.path == "data/large.bin" && !DamageContent(a + "/" + file, e)) {
            out << "cannot damage the demo archive " << file << "\n";
            return -1;
          }
      }
    }
    toml += "[[targets]]\nname = \"" + t.name + "\"\nowner = \"" + t.owner + "\"\nclassification = " + t.classification +
            "\npersonal_data = " + t.personal_data + "\n";
    // Restored personal data stays in memory: a tmpfs sandbox never reaches a disk.
    if (t.personal_data != "\"none\"") toml += "sandbox = \"tmpfs\"\n";
    for (const auto& [site, path] : {std::pair{std::string("site-a"), a}, std::pair{std::string("site-b"), b}}) {
      if (site == "site-b" && !t.second_copy) continue;
      toml += "[[targets.copies]]\nlocation = \"" + site + "\"\nkind = \"archive-dir\"\npath = \"" + path +
              "\"\npattern = \"" + t.name + "-{YYYY}{MM}{DD}T{hh}{mm}{ss}" + t.ext + "\"\nmanifest = \"{file}.xxh128\"\n";
    }
    toml += "[[targets.tests]]\nschedule = \"@daily\"\nchecks = [ { kind = \"min-files\", count = 10 } ]\n\n";
  }
  const std::string config_path = root + "/restoreproof.toml";
  std::ofstream(config_path) << toml;
  const ConfigResult cr = LoadConfigFile(config_path);
  if (!cr.errors.empty()) {
    out << "the demo configuration is invalid: " << cr.errors[0].Format() << "\n";
    return -1;
  }
  const Config& config = cr.config;
  // site-a and site-b are directories on one disk here; in a real estate they are separate
  // systems. The same-file-system rule would flag every target, so it is set aside below.

  out << "restoreproof demo: " << targets.size() << " targets, " << kDays << " days of daily backups at two sites, under "
      << estate << "\n"
      << "configuration: " << config_path << "\n\n"
      << "1. Policy check: what really exists at each site, against retention (30 days), freshness\n"
      << "   (a backup every day) and redundancy (two copies that hold the same bytes).\n\n";
  std::vector<std::vector<CopyCatalog>> catalogs(config.targets.size());
  for (size_t ti = 0; ti < config.targets.size(); ++ti) {
    const TargetConfig& t = config.targets[ti];
    TargetEvaluation ev = CheckTarget(config, t, now, true, &catalogs[ti]);
    std::vector<PolicyFinding> shown;
    for (const auto& f : ev.findings)
      if (f.rule != PolicyRule::kRedundancySameFilesystem) shown.push_back(f);
    Verdict v = Verdict::kOk;
    for (const auto& f : shown) v = std::max(v, f.severity);
    out << "  " << std::left << std::setw(11) << t.name << " " << std::setw(8) << VerdictName(v) << " owner "
        << t.owner << "; personal data: " << (t.personal_data.none ? "none" : "declared") << "\n";
    for (const auto& f : shown) out << "              [" << PolicyRuleName(f.rule) << "] " << f.message << "\n";
  }

  out << "\n2. Restore tests: the newest backup of each target at site-a, restored in an isolated\n"
      << "   worker (namespaces, Landlock, seccomp), every byte hashed and compared with its manifest.\n\n";
  int failed = 0;
  std::string failed_source;
  for (size_t ti = 0; ti < config.targets.size(); ++ti) {
    const TargetConfig& t = config.targets[ti];
    const CopyCatalog& cat = catalogs[ti][0];  // site-a, as the policy check found it
    if (cat.points.empty()) continue;
    VerifyOptions vo;
    ApplySandboxSettings(config, t, t.copies[0], cat.points.back(), &vo);
    vo.checks = t.tests.empty() ? std::vector<ContentCheck>{} : t.tests[0].checks;
    vo.isolation = IsolationPolicy::kBestEffort;  // the demo also runs where a layer is missing
    const VerifyReport r = VerifyRecoveryPoint(t.copies[0], cat.points.back(), vo);
    if (r.status != RunStatus::kPassed) {
      ++failed;
      failed_source = cat.points.back().path;
    }
    size_t enforced = 0;
    for (const auto& l : r.isolation.records()) enforced += l.state == LayerState::kEnforced;
    out << (r.status == RunStatus::kPassed ? "  PASSED  " : "  FAILED  ") << t.name << "/" << cat.points.back().id << "\n"
        << "          " << r.files << " files, " << HumanBytes(r.bytes) << " restored and verified in " << std::fixed
        << std::setprecision(2) << r.duration_s << " s; " << enforced << " isolation layers in force; "
        << SandboxKindName(r.sandbox_kind) << " sandbox " << (r.sandbox_removed ? "wiped" : "kept at " + r.sandbox) << "\n";
    for (const auto& f : r.findings)
      if (f.kind != FindingKind::kCheckPassed)
        out << "          " << FindingKindName(f.kind) << ": " << EscapePath(f.path) << ": " << EscapeMessage(f.message) << "\n";
  }
  out << "\n" << failed << " restore test(s) failed: a silently damaged backup, which its archive format could\n"
      << "not see, is caught by its manifest, and by the copy at site-b that holds other bytes.\n\n"
      << "Try it yourself:\n"
      << "  restoreproof --config " << config_path << " targets check\n"
      << "    (it also reports that site-a and site-b share one file system: here both are\n"
      << "    directories on this machine's disk, which a real estate must not do)\n";
  if (!failed_source.empty())
    out << "  restoreproof verify " << failed_source << " --manifest " << failed_source << ".xxh128\n";
  out << "  restoreproof --config " << config_path << " drill run\n"
      << "    (every target restored through the store's queue, timed against its RTO; then\n"
      << "    `drills list`, `runs list`, `runs show ID`)\n"
      << "  restoreproof --config " << config_path << " serve\n"
      << "    (the appliance: restore tests on their schedules until Ctrl-C; `targets schedule`\n"
      << "    says when each runs next)\n"
      << "  restoreproof --config " << config_path << " log show\n"
      << "    (after a drill: one hash-chained record per restoration; `log verify` checks it)\n"
      << "  restoreproof --config " << config_path << " restore website --to /tmp/website-restored \\\n"
      << "      --responsible \"Your Name\" --personal-data none --reason \"trying restoreproof\"\n"
      << "    (a real restoration to a new directory, verified and logged)\n"
      << "  restoreproof --config " << config_path << " evidence export --from 2026-01-01 --to 2026-12-31 \\\n"
      << "      -o evidence.tar.gz && restoreproof evidence verify evidence.tar.gz\n"
      << "    (a signed evidence bundle for auditors; `evidence personal-data` lists what the backups hold)\n"
      << "Not in this demo yet (a later issue): the web dashboard.\n";
  return failed;
}

int DemoCommand(const DemoOptions& options, int port, std::ostream& out, std::ostream& err) {
  if (port != 0) err << "demo: --port " << port << " noted; the web dashboard is not part of this build yet\n";
  const int failed = RunDemo(options, out);
  if (failed < 0) return 3;
  return failed == 1 ? 0 : 1;  // the demo estate holds exactly one damaged backup
}

}  // namespace rp
