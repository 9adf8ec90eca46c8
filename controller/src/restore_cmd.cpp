// `restoreproof restore` (docs/restore.md). The destination is checked, then the point is restored
// by the engine exactly as a restore test restores it (VerifyRecoveryPoint: the same isolated
// worker, the same manifest), with the sandbox made inside the destination (a staging directory
// `.rp-restore-XXXXXX`) and kept; its entries are then renamed into the destination, never over
// anything. One restoration-log record is appended for every restoration that was started.
#include "rp/restore_cmd.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "rp/appliance.h"
#include "rp/catalog.h"
#include "rp/codec.h"
#include "rp/commands.h"
#include "rp/event_log.h"
#include "rp/path_text.h"
#include "rp/posix_io.h"
#include "rp/progress_line.h"
#include "rp/restoration_log.h"
#include "rp/restore_point.h"
#include "rp/runner.h"
#include "rp/sandbox.h"

namespace rp {
namespace {

constexpr const char* kPrefix = "restoreproof restore: ";
constexpr size_t kPointsNamed = 5;  // an unknown --point names this many of the newest points

std::string Errno(int e) { return std::strerror(e); }

bool Blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

// The options a restoration cannot go without (REQUIREMENTS.md: the log names the person
// responsible and the personal data restored), each missing one named.
Status CheckRequired(const RestoreOptions& o) {
  std::vector<std::string> missing;
  if (Blank(o.to)) missing.push_back("--to DIR (the destination: a new or empty directory)");
  if (Blank(o.responsible)) missing.push_back("--responsible NAME (the person responsible for the restoration)");
  if (Blank(o.personal_data))
    missing.push_back("--personal-data TEXT (a description of the personal data restored, or \"none\")");
  if (Blank(o.reason)) missing.push_back("--reason TEXT (why it is restored)");
  if (missing.empty()) return Status::Ok();
  std::string text = "refused: every restoration is logged with the person responsible, the personal data "
                     "restored and the reason; missing ";
  for (size_t i = 0; i < missing.size(); ++i) text += (i ? ", " : "") + missing[i];
  return Status::Usage(text);
}

// `path` with symlinks resolved as far as it exists, the rest appended as written.
std::string Canonical(const std::string& path) {
  std::error_code ec;
  const auto abs = std::filesystem::absolute(path, ec).lexically_normal();
  const auto c = std::filesystem::weakly_canonical(abs, ec);
  return ec ? abs.string() : c.string();
}

bool Within(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

// The entries of the directory open at `fd` (not consumed), without . and ..; nullopt with errno.
std::optional<std::vector<std::string>> Entries(int fd) {
  const int own = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (own < 0) return std::nullopt;
  DIR* dir = fdopendir(own);
  if (!dir) {
    const int e = errno;
    close(own);
    errno = e;
    return std::nullopt;
  }
  std::vector<std::string> names;
  while (dirent* de = readdir(dir)) {
    const std::string n = de->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(dir);
  return names;
}

// The destination: new (created here, mode 0700) or empty, never a symlink, outside the sandbox
// area, data_dir and every backup location. Held open by descriptor from the check on.
struct Destination {
  std::string path;  // absolute, its parent's symlinks resolved
  UniqueFd parent_fd, fd;
  std::string name;     // within the parent
  bool created = false;  // made by this restore: removed again if nothing ends up in it
  std::string staging;  // path + "/" + staging_name: the engine's sandbox parent
  std::string staging_name;
};

Status CheckDestination(const std::string& to, const Config& config, Destination* d) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(to, ec).lexically_normal();
  if (ec) return Status::Environment("--to " + EscapePath(to) + ": " + ec.message());
  if (!abs.has_filename()) abs = abs.parent_path();  // a trailing slash
  const std::string name = abs.filename().string();
  if (name.empty() || name == "." || name == ".." || abs == abs.root_path())
    return Status::Usage("--to " + EscapePath(to) + " names no directory that could be created or emptied");
  const std::string parent = Canonical(abs.parent_path().string());
  d->parent_fd.Reset(open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d->parent_fd && (errno == ENOENT || errno == ENOTDIR))
    return Status::Usage("--to " + EscapePath(to) + ": its parent directory " + EscapePath(parent) +
                         " does not exist; create it first");
  if (!d->parent_fd)
    return Status::Environment("--to " + EscapePath(to) + ": cannot open its parent directory " + EscapePath(parent) +
                               ": " + Errno(errno));
  d->name = name;
  d->path = (parent == "/" ? "" : parent) + "/" + name;
  const auto refuse_overlap = [&](const std::string& what, const std::string& dir) -> Status {
    const std::string c = Canonical(dir);
    if (Within(d->path, c))
      return Status::Usage("--to " + EscapePath(d->path) + " is inside " + what + " " + EscapePath(c) +
                           ": a real restore goes outside the appliance's own directories and the backups");
    if (Within(c, d->path))
      return Status::Usage("--to " + EscapePath(d->path) + " contains " + what + " " + EscapePath(c));
    return Status::Ok();
  };
  if (Status s = refuse_overlap("the sandbox directory (appliance.sandbox_dir)", config.appliance.sandbox_dir); !s.ok())
    return s;
  if (Status s = refuse_overlap("the data directory (appliance.data_dir)", config.appliance.data_dir); !s.ok()) return s;
  for (const auto& t : config.targets)
    for (const auto& c : t.copies)
      if (!c.path.empty() && c.path[0] == '/')
        if (Status s = refuse_overlap("the backup location of " + t.name + " at " + c.location, c.path); !s.ok())
          return s;
  struct stat st {};
  if (fstatat(d->parent_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno != ENOENT) return Status::Environment("cannot inspect " + EscapePath(d->path) + ": " + Errno(errno));
    return Status::Ok();  // created once the point is known
  }
  if (S_ISLNK(st.st_mode))
    return Status::Usage("--to " + EscapePath(d->path) + " is a symbolic link; it is not followed: name the directory "
                         "itself");
  if (!S_ISDIR(st.st_mode))
    return Status::Usage("--to " + EscapePath(d->path) + " exists and is not a directory; nothing is ever overwritten");
  d->fd.Reset(openat(d->parent_fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!d->fd) return Status::Environment("cannot open " + EscapePath(d->path) + ": " + Errno(errno));
  const auto entries = Entries(d->fd.get());
  if (!entries) return Status::Environment("cannot list " + EscapePath(d->path) + ": " + Errno(errno));
  if (!entries->empty())
    return Status::Usage("--to " + EscapePath(d->path) + " is not empty (" + std::to_string(entries->size()) +
                         " entries, such as " + EscapePath((*entries)[0]) +
                         "); nothing is ever overwritten: name a new or empty directory");
  return Status::Ok();
}

// Creates the destination if it is new, and the staging directory inside it.
Status PrepareDestination(Destination* d) {
  if (!d->fd) {
    if (mkdirat(d->parent_fd.get(), d->name.c_str(), 0700) != 0)
      return errno == EEXIST ? Status::Usage("--to " + EscapePath(d->path) + " appeared while the restore started")
                             : Status::Environment("cannot create " + EscapePath(d->path) + ": " + Errno(errno));
    d->created = true;
    d->fd.Reset(openat(d->parent_fd.get(), d->name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d->fd) return Status::Environment("cannot open " + EscapePath(d->path) + ": " + Errno(errno));
  }
  std::string tmpl = d->path + "/.rp-restore-XXXXXX";
  if (!mkdtemp(tmpl.data()))
    return Status::Environment("cannot create a staging directory in " + EscapePath(d->path) + ": " + Errno(errno));
  // The path must have led into the directory held open: not somewhere a swapped link points.
  const std::string name = tmpl.substr(tmpl.rfind('/') + 1);
  struct stat st {};
  if (fstatat(d->fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
    rmdir(tmpl.c_str());
    return Status::Environment(EscapePath(d->path) + " was replaced while the restore started");
  }
  d->staging = tmpl;
  d->staging_name = name;
  return Status::Ok();
}

// Removes what this restore made when nothing was restored: the staging directory and a
// destination it created (true when that is gone again). A pre-existing destination stays, empty.
bool Undo(Destination* d) {
  // The engine wiped its sandbox: the staging directory is empty, unless that wipe failed.
  if (!d->staging.empty() && unlinkat(d->fd.get(), d->staging_name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    RemoveTree(d->staging);
  d->staging.clear();
  return d->created && unlinkat(d->parent_fd.get(), d->name.c_str(), AT_REMOVEDIR) == 0;
}

// Renames every entry of the kept sandbox into the destination, never replacing anything, then
// removes the sandbox and the staging directory. The destination must still hold nothing else.
// Each error says where the restored tree is.
Status MoveIntoDestination(const std::string& kept, Destination* d) {
  const std::string left = "; the restored tree is left at " + EscapePath(kept);
  const auto present = Entries(d->fd.get());
  if (!present) return Status::Environment("cannot list " + EscapePath(d->path) + ": " + Errno(errno) + left);
  for (const auto& n : *present)
    if (n != d->staging_name)
      return Status::Environment(EscapePath(d->path) + " changed during the restore (" + EscapePath(n) +
                                 " appeared in it), so nothing was moved into it" + left);
  const std::string kept_name = kept.substr(kept.rfind('/') + 1);
  const UniqueFd staging(openat(d->fd.get(), d->staging_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  const UniqueFd from(staging ? openat(staging.get(), kept_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                              : -1);
  if (!from) return Status::Environment("cannot open the restored tree: " + Errno(errno) + left);
  const auto entries = Entries(from.get());
  if (!entries) return Status::Environment("cannot list the restored tree: " + Errno(errno) + left);
  size_t moved = 0;
  for (const auto& n : *entries) {
    if (renameat2(from.get(), n.c_str(), d->fd.get(), n.c_str(), RENAME_NOREPLACE) == 0) {
      ++moved;
      continue;
    }
    // A file system without RENAME_NOREPLACE: the name was checked to be free just above.
    struct stat st {};
    if (errno == EINVAL && fstatat(d->fd.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT &&
        renameat(from.get(), n.c_str(), d->fd.get(), n.c_str()) == 0) {
      ++moved;
      continue;
    }
    return Status::Environment("cannot move " + EscapePath(n) + " into " + EscapePath(d->path) + ": " + Errno(errno) +
                               "; " + std::to_string(moved) + " of the restored tree's " +
                               std::to_string(entries->size()) + " top-level entries are there, the rest is left at " +
                               EscapePath(kept));
  }
  if (unlinkat(staging.get(), kept_name.c_str(), AT_REMOVEDIR) != 0 ||
      unlinkat(d->fd.get(), d->staging_name.c_str(), AT_REMOVEDIR) != 0)
    return Status::Environment("the restored tree is in " + EscapePath(d->path) + ", but its staging directory " +
                               EscapePath(d->staging) + " could not be removed: " + Errno(errno));
  d->staging.clear();
  // Restored data the operator relies on: on disk before the command says it is there.
  if (syncfs(d->fd.get()) != 0)
    return Status::Environment("the restored tree is in " + EscapePath(d->path) +
                               ", but flushing it to disk failed: " + Errno(errno));
  return Status::Ok();
}

// The point to restore and the copy it comes from.
struct Choice {
  const CopyConfig* copy = nullptr;
  RecoveryPoint point;
};

std::string PointTime(int64_t t, const Config& config) {
  return config.appliance.zone.Format(t, "%Y-%m-%d %H:%M:%S %z");
}

// --point (default: the newest point of every copy that can be read), from --location or the
// first copy in configuration order that holds it.
Status ChoosePoint(const TargetConfig& target, const RestoreOptions& o, const Config& config, Choice* choice) {
  std::vector<std::pair<const CopyConfig*, RecoveryPoint>> all;  // every point of every copy read
  std::string offline;
  for (const auto& copy : target.copies) {
    if (!o.location.empty() && copy.location != o.location) continue;
    CopyCatalog cat = DiscoverCopy(copy, config.appliance.zone);
    if (!cat.online) {
      offline += (offline.empty() ? "" : "; ") + copy.location + ": " + cat.error;
      continue;
    }
    for (auto& p : cat.points) all.emplace_back(&copy, std::move(p));
  }
  const std::string where = o.location.empty() ? "any copy of " + target.name : "the copy at " + o.location;
  if (all.empty())
    return Status::Environment("nothing to restore: " + where + " holds no recovery point" +
                               (offline.empty() ? "" : " (cannot be read: " + offline + ")"));
  if (o.point.empty()) {
    for (const auto& [copy, p] : all)  // the newest; on a tie, the copy first in the configuration
      if (!choice->copy || p.time > choice->point.time) *choice = {copy, p};
    return Status::Ok();
  }
  for (const auto& [copy, p] : all)
    if (p.id == o.point) {
      *choice = {copy, p};
      return Status::Ok();
    }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.second.time > b.second.time; });
  std::string newest;
  std::vector<std::string> named;
  for (const auto& [copy, p] : all) {
    if (named.size() == kPointsNamed) break;
    if (std::find(named.begin(), named.end(), p.id) != named.end()) continue;
    named.push_back(p.id);
    newest += "\n  " + EscapePath(p.id) + "  " + PointTime(p.time, config) + "  at " + copy->location;
  }
  return Status::Usage("no recovery point " + EscapePath(o.point) + " at " + where +
                       (offline.empty() ? "" : " that could be read (cannot be read: " + offline + ")") +
                       "; the newest there:" + newest);
}

// What the command did, for its summary and its JSON.
struct Outcome {
  VerifyReport report;
  RunState state = RunState::kAborted;
  bool restored = false;  // the restored tree is in the destination
  bool kept = false;      // the engine kept what it restored (in the destination or its staging)
  std::string note;       // when the engine kept nothing: what became of the tree and the destination
  Status problem;         // an environment error after the engine ended (moving, logging): says where the tree is
  LogRecord record;       // as appended (seq 0: not appended)
};

void PrintSummary(const RestoreOptions& o, const Choice& c, const Destination& d, const Outcome& out,
                  const Config& config, std::ostream& os) {
  const VerifyReport& r = out.report;
  const char* verdict = out.state == RunState::kPassed   ? "RESTORED and verified"
                        : out.state == RunState::kFailed ? "RESTORED, verification FAILED"
                                                         : "NOT RESTORED";
  os << o.target << ": " << verdict << " (" << RunStateName(out.state) << ")\n";
  os << "  point: " << EscapePath(c.point.id) << " of " << PointTime(c.point.time, config) << ", at "
     << c.copy->location << "\n";
  os << "  destination: " << EscapePath(d.path)
     << (out.restored ? "" : out.kept ? " (the tree is not all there: see below)" : " (nothing restored)") << "\n";
  os << "  " << r.files << " files, " << r.directories << " directories, " << r.symlinks << " symlinks, " << r.bytes
     << " bytes restored in " << std::fixed;
  os.precision(2);
  os << r.duration_s << " s\n";
  os << "  algorithm: " << HashAlgoName(r.algo) << ", "
     << (r.manifest_used ? "compared with the manifest" : "no manifest (archive integrity only)") << "\n";
  constexpr size_t kShownPerKind = 20;  // as `verify` prints them; --json lists every one
  std::map<FindingKind, size_t> seen;
  for (const auto& f : r.findings)
    if (++seen[f.kind] <= kShownPerKind)
      os << "  " << FindingKindName(f.kind) << ": " << EscapePath(f.path) << (f.path.empty() ? "" : ": ")
         << EscapeMessage(f.message) << "\n";
  for (const auto& [kind, count] : seen)
    if (count > kShownPerKind)
      os << "  ... and " << count - kShownPerKind << " more " << FindingKindName(kind) << " findings (--json lists all)\n";
  std::string enforced, missing;
  for (const auto& l : r.isolation.records()) {
    const std::string name(IsolationLayerName(l.layer));
    if (l.state == LayerState::kEnforced) enforced += (enforced.empty() ? "" : ", ") + name;
    else if (l.state == LayerState::kUnavailable) missing += "\n    " + name + ": " + l.detail;
  }
  if (!enforced.empty()) os << "  isolation enforced: " << enforced << "\n";
  if (!missing.empty()) os << "  isolation NOT in force:" << missing << "\n";
  if (out.record.correctness != Correctness::kNotApplicable)
    os << "  personal data: " << CorrectnessName(out.record.correctness) << "\n";
  for (const auto& f : FilesToCorrect(r)) os << "  to correct: " << f << "\n";
  if (r.status == RunStatus::kAborted) os << "  error: " << EscapeMessage(r.abort_status.message()) << "\n";
  if (!out.note.empty()) os << "  " << out.note << "\n";
  if (!out.problem.ok()) os << "  error: " << out.problem.message() << "\n";
  if (out.record.seq > 0)
    os << "  restoration log: record " << out.record.seq << " (" << LogKindName(out.record.kind) << ")\n";
  else
    os << "  restoration log: NOT written\n";
}

nlohmann::json SummaryJson(const RestoreOptions& o, const Choice& c, const Destination& d, const Outcome& out) {
  nlohmann::json j{{"target", o.target},
                   {"point", EscapePath(c.point.id)},
                   {"point_time", c.point.time},
                   {"location", c.copy->location},
                   {"destination", EscapePath(d.path)},
                   {"restored", out.restored},
                   {"result", RunStateName(out.state)},
                   {"correctness", CorrectnessName(out.record.correctness)},
                   {"to_correct", FilesToCorrect(out.report)},
                   {"files", out.report.files},
                   {"bytes", out.report.bytes},
                   {"failing_findings", out.record.failing_findings},
                   {"log_seq", out.record.seq},
                   {"report", out.report}};
  std::string message = out.note;
  if (!out.problem.ok()) message += (message.empty() ? "" : "; ") + out.problem.message();
  if (!message.empty()) j["message"] = EscapeMessage(message);
  return j;
}

}  // namespace

int RestoreCommand(const std::string& config_path, const RestoreOptions& o, std::ostream& out, std::ostream& err) {
  if (Status s = CheckRequired(o); !s.ok()) {
    err << kPrefix << s.message() << "\n";
    return 2;
  }
  Appliance a;
  if (const int rc = OpenAppliance(config_path, &a, err); rc != 0) return rc;
  const Config& config = *a.config;
  const auto refuse = [&](const Status& s) {
    err << kPrefix << s.message() << "\n";
    return s.exit_code();
  };
  const TargetConfig* target = config.FindTarget(o.target);
  if (!target) {
    std::string names;
    for (const auto& t : config.targets) names += (names.empty() ? "" : ", ") + t.name;
    return refuse(Status::Usage("no target named " + EscapePath(o.target) + " in " + config.file +
                                " (targets: " + (names.empty() ? "none" : names) + ")"));
  }
  if (!o.location.empty() && std::none_of(target->copies.begin(), target->copies.end(),
                                          [&](const CopyConfig& c) { return c.location == o.location; })) {
    std::string names;
    for (const auto& c : target->copies) names += (names.empty() ? "" : ", ") + c.location;
    return refuse(Status::Usage("target " + target->name + " has no copy at " + EscapePath(o.location) +
                                " (its copies: " + names + ")"));
  }
  Destination dest;
  if (Status s = CheckDestination(o.to, config, &dest); !s.ok()) return refuse(s);
  Choice choice;
  if (Status s = ChoosePoint(*target, o, config, &choice); !s.ok()) return refuse(s);
  if (Status s = PrepareDestination(&dest); !s.ok()) {
    Undo(&dest);
    return refuse(s);
  }

  // As a restore test restores it (ExecuteRun), except that the tree is kept, on disk, in the
  // destination's staging directory, and no content check runs in it: the tree is delivered as
  // restored (docs/restore.md).
  VerifyOptions options;
  options.limits.max_seconds = config.appliance.run_timeout_s;
  options.algo = target->checksum_set ? std::optional(target->checksum) : std::nullopt;
  ApplySandboxSettings(config, *target, *choice.copy, choice.point, &options);
  options.sandbox_parent = dest.staging;
  options.sandbox_kind = SandboxKind::kDisk;
  options.keep = true;
  const std::atomic<bool>* cancel = CancelOnSignals();
  options.cancel = cancel;

  ProgressLine progress(o.progress_fd, o.json);
  const std::optional<uint64_t> size = progress.enabled() ? RecoveryPointSize(*choice.copy, choice.point) : std::nullopt;
  options.on_progress = [&](const Progress& p) { progress.Show(FiguresOf(p, size)); };

  Outcome result;
  result.report = VerifyRecoveryPoint(*choice.copy, choice.point, options);
  progress.Finish(FiguresOf(FinalProgress(result.report), size));
  VerifyReport& report = result.report;
  result.state = report.status == RunStatus::kPassed   ? RunState::kPassed
                 : report.status == RunStatus::kFailed ? RunState::kFailed
                 : cancel->load()                      ? RunState::kInterrupted
                                                       : RunState::kAborted;
  result.kept = !report.sandbox.empty() && !report.sandbox_removed;
  if (result.kept) {
    const std::string kept_at = report.sandbox;
    result.problem = MoveIntoDestination(kept_at, &dest);
    result.restored = dest.staging.empty();  // every entry moved, the staging directory gone
    if (result.restored) report.sandbox = dest.path;
  } else {
    const bool removed = Undo(&dest);
    if (result.state == RunState::kFailed)
      result.note = "nothing was kept: the restore stopped before its end (a limit, or the worker died) and the engine "
                    "wiped the partial tree";
    if (removed) result.note += std::string(result.note.empty() ? "" : "; ") + "the destination was removed again";
  }

  LogRecord r = NewLogRecord(LogKind::kRealRestore, NowS(), config.appliance.zone);
  r.target = target->name;
  r.point = EscapePath(choice.point.id);
  r.location = choice.copy->location;
  r.responsible = o.responsible;
  r.personal_data = o.personal_data;
  r.reason = o.reason;
  SetLogResult(*target, result.state, report.files, report.bytes, &report, &r);
  result.record = r;
  result.record.seq = 0;
  try {
    result.record = a.store->AppendLog(r);
  } catch (const std::exception& e) {
    const std::string why = std::string("the restoration could not be logged: ") + e.what();
    result.problem = Status::Environment(result.problem.ok() ? why : result.problem.message() + "; and " + why);
  }

  if (o.json) out << SummaryJson(o, choice, dest, result).dump(2) << "\n";
  else PrintSummary(o, choice, dest, result, config, out);
  if (!result.problem.ok()) {
    err << kPrefix << result.problem.message() << "\n";
    return 3;
  }
  if (report.status == RunStatus::kAborted) err << kPrefix << report.abort_status.message() << "\n";
  return ExitCodeFor(report);
}

}  // namespace rp
