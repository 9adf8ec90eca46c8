#include "rp/demo.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "rp/accounts.h"
#include "rp/appliance.h"
#include "rp/archive_builder.h"
#include "rp/catalog.h"
#include "rp/commands.h"
#include "rp/config.h"
#include "rp/event_log.h"
#include "rp/path_text.h"
#include "rp/policy_eval.h"
#include "rp/restore_point.h"
#include "rp/runs_cmd.h"
#include "rp/store.h"
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

constexpr int kDays = 40;
constexpr const char* kAdminName = "demo-admin";
constexpr const char* kDemoResponsible = "restoreproof demo";
constexpr int kResticParallel = 4;  // restic spends most of a backup deriving its key: run several

struct DemoTarget {
  std::string name, owner, classification, personal_data, ext;
  ArchiveSpec spec;
  uint64_t seed;
  int stale_days;    // the newest this many days ago (0: up to date)
  bool second_copy;  // a copy at site-b too
  bool damage;       // the newest archive at site-a is silently damaged after its manifest
  bool restic;       // site-a is a restic repository; the archives go to site-b
};

const std::vector<DemoTarget>& DemoTargets() {
  static const std::vector<DemoTarget> targets = {
      {"payroll", "Anna Svensson", "{ K = 3, R = 3, T = 3 }",
       "{ categories = [\"names\", \"personal identity numbers\", \"salaries\"], subjects = [\"employees\"] }",
       ".tar.zst", {"pax", {"zstd"}}, 11, 0, true, false, false},
      {"case-files", "Karin Lind", "{ K = 3, R = 3, T = 2 }", "\"Citizens: names, addresses, case notes\"", ".tar.gz",
       {"gnutar", {"gzip"}}, 22, 3, true, false, false},
      {"website", "Johan Berg", "{ K = 1, R = 2, T = 2 }", "\"none\"", ".zip", {"zip", {}}, 33, 0, false, false, false},
      {"hr-archive", "Lena Ek", "{ K = 4, R = 3, T = 2 }", "\"Employees: sick leave, rehabilitation notes\"", ".tar",
       {"pax", {}}, 44, 0, true, true, false},
      {"mail", "Per Olsson", "{ K = 2, R = 2, T = 4 }", "\"Staff: names, e-mail addresses, message contents\"",
       ".tar.zst", {"pax", {"zstd"}}, 55, 0, true, false, true},
  };
  return targets;
}

// Where the demo puts things, and the clock it judges by.
struct Estate {
  std::string root, estate, sandboxes, config_path;
  TimeZone zone;
  int64_t now = 0;
};

// `hour` o'clock local time, `day_offset` local days from today.
int64_t LocalAt(const TimeZone& zone, int64_t day_offset, unsigned hour, int64_t now) {
  const Date d = zone.LocalDate(now) + day_offset;
  return zone.ToUtc(LocalTime{d.year(), d.month(), d.day(), hour, 0, 0});
}

// The days (offsets from today, oldest first) on which a target's backup ran at 02:00.
std::vector<int> BackupDays(const DemoTarget& t, const Estate& e) {
  std::vector<int> days;
  for (int d = -kDays + 1; d <= 0; ++d) {
    if (-d < t.stale_days) continue;
    if (LocalAt(e.zone, d, 2, e.now) > e.now) continue;  // today's backup has not run yet
    days.push_back(d);
  }
  return days;
}

std::vector<TreeEntry> DayTree(const DemoTarget& t, int day) {
  SampleTreeOptions sto;
  sto.seed = t.seed * 1000 + static_cast<uint64_t>(day + kDays);
  sto.files = 12;
  sto.large_file_bytes = 256 * 1024;
  sto.exotic_names = t.spec.format != "zip" && !t.restic;  // restic keeps names as UTF-8 text
  return SampleTree(sto);
}

std::string SiteDir(const Estate& e, const std::string& site, const DemoTarget& t) {
  return e.estate + "/" + site + "/" + t.name;
}

// One archive per backup day with its manifest, at site-a (site-b for a restic target) and,
// for most targets, the same files at site-b.
Status BuildArchives(const Estate& e, const DemoTarget& t) {
  const std::string first = SiteDir(e, t.restic ? "site-b" : "site-a", t);
  const std::string second = t.second_copy && !t.restic ? SiteDir(e, "site-b", t) : "";
  std::error_code ec;
  fs::create_directories(first, ec);
  if (!second.empty()) fs::create_directories(second, ec);
  const std::vector<int> days = BackupDays(t, e);
  for (const int d : days) {
    const int64_t at = LocalAt(e.zone, d, 2, e.now);
    const std::string file = t.name + "-" + e.zone.Format(at, "%Y%m%dT%H%M%S") + t.ext;
    const auto entries = DayTree(t, d);
    if (Status st = WriteArchive(first + "/" + file, t.spec, entries); !st.ok()) return st;
    std::ofstream(first + "/" + file + ".xxh128") << ManifestFor(entries, HashAlgo::kXxh128);
    if (!second.empty()) {
      fs::copy_file(first + "/" + file, second + "/" + file, fs::copy_options::overwrite_existing, ec);
      fs::copy_file(first + "/" + file + ".xxh128", second + "/" + file + ".xxh128", fs::copy_options::overwrite_existing,
                    ec);
      if (ec) return Status::Environment("cannot copy " + file + " to site-b: " + ec.message());
    }
    if (t.damage && d == days.back()) {
      for (const auto& entry : entries)
        if (entry.path == "data/large.bin" && !DamageContent(first + "/" + file, entry))
          return Status::Environment("cannot damage the demo archive " + file);
    }
  }
  return Status::Ok();
}

std::string ResticPasswordFile(const Estate& e, const DemoTarget& t) { return e.estate + "/" + t.name + ".restic-password"; }

// A real restic repository at site-a: `restic init`, then one `restic backup --time` of each
// day's tree, several at once (restic's locks allow concurrent backups).
Status BuildResticRepository(const Estate& e, const DemoTarget& t) {
  const std::string repo = SiteDir(e, "site-a", t);
  const std::string password_file = ResticPasswordFile(e, t);
  {
    std::ofstream pw(password_file);
    pw << NewCsrfToken() << "\n";
    if (!pw) return Status::Environment("cannot write " + password_file);
  }
  std::error_code ec;
  fs::permissions(password_file, fs::perms::owner_read | fs::perms::owner_write, ec);
  const std::vector<std::string> env = {"RESTIC_PASSWORD_FILE=" + password_file};
  std::string error;
  if (!RunCapture({"restic", "-q", "-r", repo, "init"}, env, 120, &error, -1))
    return Status::Environment("restic init " + repo + ": " + error + " (is restic installed?)");

  const std::vector<int> days = BackupDays(t, e);
  const std::string staging = e.estate + "/staging/" + t.name;
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::string first_error;
  const auto backup = [&] {
    for (size_t i = next++; i < days.size(); i = next++) {
      const int64_t at = LocalAt(e.zone, days[i], 2, e.now);
      const std::string dir = staging + "/" + e.zone.Format(at, "%Y-%m-%d");
      std::string failure;
      if (Status st = WriteTree(dir, DayTree(t, days[i])); !st.ok()) failure = st.message();
      // restic runs with TZ=UTC (CommandEnvironment): --time is given in UTC.
      const std::vector<std::string> argv = {"restic", "-q", "--no-cache", "-r", repo, "backup", "--host", "demo",
                                             "--time", TimeZone::Utc().Format(at, "%Y-%m-%d %H:%M:%S"), dir};
      for (int attempt = 0; failure.empty() && attempt < 2; ++attempt) {
        std::string why;
        if (RunCapture(argv, env, 300, &why, -1)) break;
        if (attempt == 1) failure = "restic backup " + dir + ": " + why;
      }
      if (!failure.empty()) {
        std::lock_guard lock(mu);
        if (first_error.empty()) first_error = failure;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kResticParallel; ++i) threads.emplace_back(backup);
  for (auto& th : threads) th.join();
  fs::remove_all(e.estate + "/staging", ec);
  return first_error.empty() ? Status::Ok() : Status::Environment(first_error);
}

std::string ConfigText(const Estate& e, int port) {
  std::string toml =
      "# Written by `restoreproof demo`: the configuration of the demo estate.\n"
      "[appliance]\ndata_dir = \"" + e.root + "\"\nsandbox_dir = \"" + e.sandboxes +
      "\"\ntimezone = \"Europe/Stockholm\"\nlisten = \"127.0.0.1:" + std::to_string(port) +
      "\"\n# The demo waits for its drill: a run stopped by the environment is tried once more, soon.\n"
      "retries = 1\nretry_backoff = \"10s\"\n\n[policy]\nbackup_interval = \"1d\"\nretention_days = 30\nmin_copies = 2\n\n[web]\nenabled = true\n\n";
  for (const auto& t : DemoTargets()) {
    toml += "[[targets]]\nname = \"" + t.name + "\"\nowner = \"" + t.owner + "\"\nclassification = " + t.classification +
            "\npersonal_data = " + t.personal_data + "\n";
    // Restored personal data stays in memory: a tmpfs sandbox never reaches a disk.
    if (t.personal_data != "\"none\"") toml += "sandbox = \"tmpfs\"\n";
    const std::string archives = "kind = \"archive-dir\"\npattern = \"" + t.name + "-{YYYY}{MM}{DD}T{hh}{mm}{ss}" + t.ext +
                                 "\"\nmanifest = \"{file}.xxh128\"\n";
    if (t.restic)
      toml += "[[targets.copies]]\nlocation = \"site-a\"\nkind = \"restic\"\npath = \"" + SiteDir(e, "site-a", t) +
              "\"\npassword_file = \"" + ResticPasswordFile(e, t) + "\"\n";
    else
      toml += "[[targets.copies]]\nlocation = \"site-a\"\npath = \"" + SiteDir(e, "site-a", t) + "\"\n" + archives;
    if (t.second_copy)
      toml += "[[targets.copies]]\nlocation = \"site-b\"\npath = \"" + SiteDir(e, "site-b", t) + "\"\n" + archives;
    toml += "[[targets.tests]]\nschedule = \"@daily\"\nchecks = [ { kind = \"min-files\", count = 10 } ]\n\n";
  }
  return toml;
}

// Step 1: what really exists at each site, judged by the policy. `catalogs`: per target, per copy.
void PrintPolicyCheck(const Config& config, int64_t now, std::vector<std::vector<CopyCatalog>>* catalogs,
                      std::ostream& out) {
  out << "1. Policy check: what really exists at each site, against retention (30 days), freshness\n"
      << "   (a backup every day) and redundancy (two copies that hold the same bytes).\n\n";
  catalogs->assign(config.targets.size(), {});
  for (size_t ti = 0; ti < config.targets.size(); ++ti) {
    const TargetConfig& t = config.targets[ti];
    TargetEvaluation ev = CheckTarget(config, t, now, true, &(*catalogs)[ti]);
    // site-a and site-b are directories on one disk here; in a real estate they are separate
    // systems. The same-file-system rule would flag every target, so it is set aside here.
    std::vector<PolicyFinding> shown;
    for (const auto& f : ev.findings)
      if (f.rule != PolicyRule::kRedundancySameFilesystem) shown.push_back(f);
    Verdict v = Verdict::kOk;
    for (const auto& f : shown) v = std::max(v, f.severity);
    out << "  " << std::left << std::setw(11) << t.name << " " << std::setw(8) << VerdictName(v) << " owner "
        << t.owner << "; personal data: " << (t.personal_data.none ? "none" : "declared") << "\n";
    for (const auto& f : shown) out << "              [" << PolicyRuleName(f.rule) << "] " << f.message << "\n";
  }
}

// Step 2: each target's newest point at its first site, restored and verified directly.
// Returns how many failed; *failed_source: the archive of the last that failed.
int VerifyNewestPoints(const Config& config, const std::vector<std::vector<CopyCatalog>>& catalogs,
                       std::string* failed_source, std::ostream& out) {
  out << "\n2. Restore tests: the newest backup of each target at site-a, restored in an isolated\n"
      << "   worker (namespaces, Landlock, seccomp), every byte hashed and compared with its manifest\n"
      << "   (a restic snapshot, which has no manifest, is streamed from `restic dump`).\n\n";
  int failed = 0;
  for (size_t ti = 0; ti < config.targets.size(); ++ti) {
    const TargetConfig& t = config.targets[ti];
    const CopyCatalog& cat = catalogs[ti][0];  // site-a, as the policy check found it
    if (cat.points.empty()) {
      out << "  SKIPPED " << t.name << ": no recovery point at site-a" << (cat.error.empty() ? "" : " (" + cat.error + ")")
          << "\n";
      continue;
    }
    VerifyOptions vo;
    ApplySandboxSettings(config, t, t.copies[0], cat.points.back(), &vo);
    vo.checks = t.tests.empty() ? std::vector<ContentCheck>{} : t.tests[0].checks;
    vo.isolation = IsolationPolicy::kBestEffort;  // the demo also runs where a layer is missing
    const VerifyReport r = VerifyRecoveryPoint(t.copies[0], cat.points.back(), vo);
    if (r.status != RunStatus::kPassed) {
      ++failed;
      *failed_source = t.copies[0].kind == CopyKind::kArchiveDir ? cat.points.back().path : "";
    }
    size_t enforced = 0;
    for (const auto& l : r.isolation.records()) enforced += l.state == LayerState::kEnforced;
    out << (r.status == RunStatus::kPassed ? "  PASSED  " : "  FAILED  ") << t.name << "/" << cat.points.back().id
        << (t.copies[0].kind == CopyKind::kRestic ? " (restic snapshot)" : "") << "\n"
        << "          " << r.files << " files, " << HumanBytes(r.bytes) << " restored and verified in " << std::fixed
        << std::setprecision(2) << r.duration_s << " s; " << enforced << " isolation layers in force; "
        << SandboxKindName(r.sandbox_kind) << " sandbox " << (r.sandbox_removed ? "wiped" : "kept at " + r.sandbox) << "\n";
    for (const auto& f : r.findings)
      if (f.kind != FindingKind::kCheckPassed)
        out << "          " << FindingKindName(f.kind) << ": " << EscapePath(f.path) << ": " << EscapeMessage(f.message) << "\n";
  }
  out << "\n" << failed << " restore test(s) failed: a silently damaged backup, which its archive format could\n"
      << "not see, is caught by its manifest, and by the copy at site-b that holds other bytes.\n";
  return failed;
}

// Step 3: a drill through the store's queue, exactly as `drill run` runs it. Its exit code.
int RunDrill(const std::string& config_path, std::ostream& out, std::ostream& err) {
  out << "\n3. A drill: every target's newest point restored through the store's queue by isolated\n"
      << "   workers, timed against its recovery time objective (RTO), and recorded. Each target's\n"
      << "   copy least recently tested is restored, so a drill on a fresh store reads site-a.\n\n"
      << std::flush;
  DrillRunOptions o;
  o.responsible = kDemoResponsible;
  return DrillRunCommand(config_path, o, out, err);
}

// A password a person can type: 96 random bits as six groups of four hex digits.
std::string OneTimePassword() {
  const std::string hex = NewCsrfToken();
  std::string p;
  for (size_t i = 0; i < 24; i += 4) p += (p.empty() ? "" : "-") + hex.substr(i, 4);
  return p;
}

// Step 4: the demo admin, new or with its password reset, marked one-time. 0 or exit code 3.
int ReadyDemoAdmin(const std::string& config_path, std::ostream& out, std::ostream& err) {
  Appliance a;
  if (const int rc = OpenAppliance(config_path, &a, err); rc != 0) return rc;
  const std::string password = OneTimePassword();
  UserRecord u;
  if (Status s = HashPassword(password, &u.password_hash); !s.ok()) {
    err << "restoreproof demo: the demo admin's password cannot be hashed: " << s.message() << "\n";
    return 3;
  }
  AuditRecord audit;
  audit.at = NowS();
  audit.actor = InvokingUser();
  audit.address = "cli";
  bool done = false;
  if (a.store->GetUser(kAdminName)) {
    audit.action = "password-reset";
    audit.detail = std::string("user ") + kAdminName + ": a one-time password from restoreproof demo";
    done = a.store->SetPassword(kAdminName, u.password_hash, true, audit);
  } else {
    u.name = kAdminName;
    u.role = Role::kAdmin;
    u.created_at = audit.at;
    u.must_change_password = true;
    audit.action = "user-add";
    audit.detail = std::string("user ") + kAdminName + ", role admin, a one-time password from restoreproof demo";
    done = a.store->AddUser(u, audit);
  }
  if (!done) {
    err << "restoreproof demo: the demo admin " << kAdminName << " could not be stored (changed by another process?)\n";
    return 3;
  }
  out << "\n4. The demo admin, for the dashboard's sign-in:\n\n"
      << "  user:     " << kAdminName << "\n"
      << "  password: " << password << "\n"
      << "  This is a one-time password, shown only now: the first sign-in asks for a new one.\n"
      << "  Running the demo again on this directory gives " << kAdminName << " a new one.\n";
  return 0;
}

void PrintHints(const std::string& config_path, const std::string& failed_source, bool serving, std::ostream& out) {
  const std::string rp = "  restoreproof --config " + config_path;
  out << "\nTry it yourself:\n"
      << rp << " targets check\n"
      << "    (it also reports that site-a and site-b share one file system: here both are\n"
      << "    directories on this machine's disk, which a real estate must not do)\n";
  if (!failed_source.empty())
    out << "  restoreproof verify " << failed_source << " --manifest " << failed_source << ".xxh128\n";
  out << rp << " drills list\n"
      << "    (the drill above; `drills show ID`, `runs list`, `runs show ID` for its runs;\n"
      << "    `drill run` runs another, which restores each target's other copy)\n"
      << rp << " log show\n"
      << "    (one hash-chained record per restoration; `log verify` checks the chain)\n"
      << rp << " user list\n"
      << rp << " restore website --to /tmp/website-restored \\\n"
      << "      --responsible \"Your Name\" --personal-data none --reason \"trying restoreproof\"\n"
      << "    (a real restoration to a new directory, verified and logged)\n"
      << rp << " evidence export --from 2026-01-01 --to 2026-12-31 \\\n"
      << "      -o evidence.tar.gz && restoreproof evidence verify evidence.tar.gz\n"
      << "    (a signed evidence bundle for auditors; `evidence personal-data` lists what the backups hold)\n";
  if (serving)
    out << "\n5. The appliance, as `restoreproof --config " << config_path << " serve` runs it:\n"
        << "   restore tests on their schedules and the dashboard, until Ctrl-C.\n";
  else
    out << rp << " serve\n"
        << "    (the appliance: restore tests on their schedules and the dashboard, until Ctrl-C)\n";
  out << std::flush;
}

// Step 5: `serve` with the web server, printing the dashboard's URL once it listens. A web
// server that cannot listen stops the appliance (SIGTERM to this process): exit 3.
int ServeDemo(const DemoOptions& options, const std::string& config_path, std::ostream& out, std::ostream& err) {
  std::atomic<bool> web_failed{false};
  ServeOptions so;
  so.config_path = config_path;
  so.extension = [&](const ServeContext& context) -> std::unique_ptr<ServeExtension> {
    context.log->Observe([&](const nlohmann::json& line) {
      const std::string event = line.value("event", std::string());
      if (event == "web-started") {
        out << "\nDashboard: http://127.0.0.1:" << line.value("port", 0) << "/\n"
            << "Sign in as " << kAdminName << ". Ctrl-C stops the appliance.\n"
            << std::flush;
      } else if (event == "web-failed" && !web_failed.exchange(true)) {
        err << "restoreproof demo: the dashboard cannot listen on " << line.value("listen", std::string())
            << ": " << line.value("error", std::string()) << "; choose another port with --port\n";
        kill(getpid(), SIGTERM);
      }
    });
    return options.web(context);
  };
  const int rc = ServeCommand(so, err);
  return web_failed ? 3 : rc;
}

// Builds the estate and its configuration, checks and verifies it (steps 1 and 2). Returns
// how many points failed verification, or -1 when the estate could not be built (said on `out`).
int BuildAndVerify(const DemoOptions& options, std::string* config_path, std::string* failed_source, std::ostream& out) {
  const std::optional<TimeZone> located = TimeZone::Locate("Europe/Stockholm");
  if (!located) {
    out << "the system's tz database has no Europe/Stockholm: install tzdata\n";
    return -1;
  }
  Estate e{fs::absolute(options.dir).lexically_normal().string(), "", "", "", *located,
           static_cast<int64_t>(time(nullptr))};
  e.estate = e.root + "/estate";
  e.sandboxes = e.root + "/sandboxes";
  e.config_path = e.root + "/restoreproof.toml";
  *config_path = e.config_path;
  std::error_code ec;
  fs::remove_all(e.estate, ec);
  fs::create_directories(e.sandboxes, ec);

  out << "restoreproof demo: " << DemoTargets().size() << " targets, " << kDays
      << " days of daily backups at two sites (one of them a restic repository), under " << e.estate << "\n"
      << std::flush;
  // The estate: daily backups at 02:00 for 40 days, each with its manifest, at site-a and (for
  // most targets) the same files at site-b; the mail target's site-a is a restic repository.
  for (const auto& t : DemoTargets()) {
    Status st = BuildArchives(e, t);
    if (st.ok() && t.restic) st = BuildResticRepository(e, t);
    if (!st.ok()) {
      out << "cannot build the demo estate: " << st.message() << "\n";
      return -1;
    }
  }
  std::ofstream(e.config_path) << ConfigText(e, options.port);
  const ConfigResult cr = LoadConfigFile(e.config_path);
  if (!cr.errors.empty()) {
    out << "the demo configuration is invalid: " << cr.errors[0].Format() << "\n";
    return -1;
  }
  const Config& config = cr.config;

  out << "configuration: " << e.config_path << "\n\n";
  std::vector<std::vector<CopyCatalog>> catalogs;
  PrintPolicyCheck(config, e.now, &catalogs, out);
  const int failed = VerifyNewestPoints(config, catalogs, failed_source, out);
  out << std::flush;
  return failed;
}

}  // namespace

int DemoCommand(const DemoOptions& options, std::ostream& out, std::ostream& err) {
  std::string config_path, failed_source;
  const int failed = BuildAndVerify(options, &config_path, &failed_source, out);
  if (failed < 0) return 3;
  const int drill = RunDrill(config_path, out, err);
  if (drill != 0 && drill != 1) {  // 0 passed, 1 a target failed: either way it is recorded
    err << "restoreproof demo: the drill did not finish (exit " << drill << ")\n";
    return 3;
  }
  if (const int rc = ReadyDemoAdmin(config_path, out, err); rc != 0) return rc;
  const int shown = failed == 1 ? 0 : 1;  // the demo estate holds exactly one damaged backup
  const bool serving = options.serve && static_cast<bool>(options.web);
  PrintHints(config_path, failed_source, serving, out);
  if (!serving) {
    if (options.serve) err << "restoreproof demo: this build has no web server; the dashboard is not served\n";
    return shown;
  }
  // SIGINT/SIGTERM since the drill (whose handlers set this flag) stop the demo here.
  if (CancelOnSignals()->load()) {
    err << "restoreproof demo: stopped by a signal before serving\n";
    return 3;
  }
  const int rc = ServeDemo(options, config_path, out, err);
  return rc != 0 ? rc : shown;
}

}  // namespace rp
