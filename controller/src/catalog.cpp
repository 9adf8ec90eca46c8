#include "rp/catalog.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include <unordered_map>
#include <unordered_set>

#include "rp/posix_io.h"
#include "rp/sandbox.h"
#include "rp/subprocess.h"

namespace rp {
namespace {

std::string Errno(int e) { return std::strerror(e); }

void MarkChains(const CopyConfig& copy, std::vector<RecoveryPoint>* points) {
  std::sort(points->begin(), points->end(), [](const RecoveryPoint& a, const RecoveryPoint& b) {
    return a.time != b.time ? a.time < b.time : a.id < b.id;
  });
  bool have_full = false;
  bool chain_ok = false;  // the incremental chain since the last full is intact
  for (auto& p : *points) {
    if (!copy.incremental_marker.empty() && p.id.find(copy.incremental_marker) != std::string::npos) {
      p.chain = ChainKind::kIncremental;
      p.chain_broken = !have_full || !chain_ok;
    } else if (!copy.differential_marker.empty() && p.id.find(copy.differential_marker) != std::string::npos) {
      p.chain = ChainKind::kDifferential;
      p.chain_broken = !have_full;
    } else {
      p.chain = ChainKind::kFull;
      have_full = true;
      chain_ok = true;
    }
    if (p.chain == ChainKind::kIncremental && p.chain_broken) chain_ok = false;
  }
}

void DiscoverDirectory(const CopyConfig& copy, const TimeZone& zone, CopyCatalog* cat, bool snapshots) {
  UniqueFd dfd(open(copy.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DIR* dir = dfd ? fdopendir(dfd.get()) : nullptr;
  if (!dir) {
    cat->online = false;
    cat->error = "cannot read " + copy.path + ": " + Errno(errno);
    return;
  }
  dfd.Release();  // the DIR owns it now
  struct stat dst {};
  if (fstat(dirfd(dir), &dst) == 0) cat->device = dst.st_dev;
  const NamePattern pattern(copy.pattern.empty() ? "*" : copy.pattern);
  // With a sidecar pattern every name is needed first (to look the sidecar up); otherwise one
  // pass over the directory, without copying the names.
  std::unordered_set<std::string> all;
  if (!snapshots && !copy.manifest.empty()) {
    while (dirent* de = readdir(dir)) all.insert(de->d_name);
    rewinddir(dir);
  }
  const unsigned char want = snapshots ? DT_DIR : DT_REG;
  std::string name;
  while (dirent* de = readdir(dir)) {
    const char* n = de->d_name;
    if (n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'))) continue;
    name.assign(n);
    int64_t t = 0;
    if (!pattern.Match(name, zone, &t)) continue;
    // The directory entry's type saves a stat per point when the name carries the time; the
    // size of an archive is read when a point is restored, not for every listing.
    struct stat st {};
    const bool need_stat = de->d_type == DT_UNKNOWN || !pattern.has_time();
    if (need_stat) {
      if (fstatat(dirfd(dir), n, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (snapshots ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) continue;
    } else if (de->d_type != want) {
      continue;
    }
    RecoveryPoint& p = cat->points.emplace_back();
    p.id = name;
    p.path.reserve(copy.path.size() + 1 + name.size());
    p.path.append(copy.path).append("/").append(name);
    p.time = pattern.has_time() ? t : static_cast<int64_t>(st.st_mtime);
    p.size = need_stat && !snapshots ? static_cast<uint64_t>(st.st_size) : 0;
    if (!all.empty()) {
      std::string m = copy.manifest;
      for (size_t at; (at = m.find("{file}")) != std::string::npos;) m.replace(at, 6, name);
      if (all.count(m)) p.manifest = copy.path + "/" + m;
    }
  }
  closedir(dir);
  MarkChains(copy, &cat->points);
}

void DiscoverRestic(const CopyConfig& copy, CopyCatalog* cat) {
  RepoAccess access;
  std::string error;
  if (!PrepareRepoAccess(copy, &access, &error)) {
    cat->online = false;
    cat->error = error;
    return;
  }
  auto out = RunCapture({"restic", "--no-cache", "--no-lock", "-r", copy.path, "snapshots", "--json"}, access.env, 60,
                        &error);
  if (!out) {
    cat->online = false;
    cat->error = "restic snapshots: " + error;
    return;
  }
  const auto j = nlohmann::json::parse(*out, nullptr, false);
  if (!j.is_array()) {
    cat->online = false;
    cat->error = "restic snapshots: unexpected output";
    return;
  }
  for (const auto& s : j) {
    RecoveryPoint p;
    p.id = s.value("short_id", s.value("id", std::string()));
    p.path = copy.path;
    auto t = ParseTimestamp(s.value("time", std::string()), TimeZone::Utc());
    if (!t || p.id.empty()) continue;
    p.time = *t;
    cat->points.push_back(std::move(p));
  }
  MarkChains(copy, &cat->points);
}

void DiscoverBorg(const CopyConfig& copy, CopyCatalog* cat) {
  RepoAccess access;
  std::string error;
  // Borg keeps a cache and security state: a private, temporary base directory.
  std::string base = TempDirectory() + "/rp-borg-XXXXXX";
  if (!mkdtemp(base.data())) base.clear();
  if (!PrepareRepoAccess(copy, &access, &error, base)) {
    cat->online = false;
    cat->error = error;
    if (!base.empty()) RemoveTree(base);
    return;
  }
  auto out = RunCapture({"borg", "list", "--json", copy.path}, access.env, 60, &error, access.secret.get());
  if (!base.empty()) RemoveTree(base);
  if (!out) {
    cat->online = false;
    cat->error = "borg list: " + error;
    return;
  }
  const auto j = nlohmann::json::parse(*out, nullptr, false);
  if (!j.is_object() || !j.contains("archives")) {
    cat->online = false;
    cat->error = "borg list: unexpected output";
    return;
  }
  for (const auto& a : j["archives"]) {
    RecoveryPoint p;
    p.id = a.value("name", a.value("archive", std::string()));
    p.path = copy.path;
    // borg runs with TZ=UTC (CommandEnvironment) and prints its times without an offset.
    auto t = ParseTimestamp(a.value("start", a.value("time", std::string())), TimeZone::Utc());
    if (!t || p.id.empty()) continue;
    p.time = *t;
    cat->points.push_back(std::move(p));
  }
  MarkChains(copy, &cat->points);
}

}  // namespace

NamePattern::NamePattern(const std::string& pattern) {
  size_t i = 0;
  while (i < pattern.size()) {
    bool field = false;
    for (auto [token, f, w] : {std::tuple<const char*, char, int>{"{YYYY}", 'Y', 4}, {"{MM}", 'M', 2}, {"{DD}", 'D', 2},
                               {"{hh}", 'h', 2}, {"{mm}", 'm', 2}, {"{ss}", 's', 2}}) {
      if (pattern.compare(i, std::strlen(token), token) == 0) {
        parts_.push_back(Part{Part::kField, "", f, w});
        if (f == 'Y') has_date_ = true;
        i += std::strlen(token);
        field = true;
        break;
      }
    }
    if (field) continue;
    if (pattern[i] == '*') {
      parts_.push_back(Part{Part::kStar, "", 0, 0});
      ++i;
      continue;
    }
    if (parts_.empty() || parts_.back().kind != Part::kLiteral) parts_.push_back(Part{Part::kLiteral, "", 0, 0});
    parts_.back().literal += pattern[i++];
  }
}

bool NamePattern::MatchFrom(size_t part, const std::string& name, size_t pos, int fields[6]) const {
  if (part == parts_.size()) return pos == name.size();
  const Part& p = parts_[part];
  switch (p.kind) {
    case Part::kLiteral:
      return name.compare(pos, p.literal.size(), p.literal) == 0 && MatchFrom(part + 1, name, pos + p.literal.size(), fields);
    case Part::kStar:
      for (size_t k = pos; k <= name.size(); ++k)
        if (MatchFrom(part + 1, name, k, fields)) return true;
      return false;
    case Part::kField: {
      if (pos + static_cast<size_t>(p.width) > name.size()) return false;
      int v = 0;
      for (int k = 0; k < p.width; ++k) {
        const char c = name[pos + static_cast<size_t>(k)];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
      }
      int slot = 0;
      switch (p.field) {
        case 'Y': slot = 0; break;
        case 'M': slot = 1; break;
        case 'D': slot = 2; break;
        case 'h': slot = 3; break;
        case 'm': slot = 4; break;
        default: slot = 5; break;
      }
      fields[slot] = v;
      return MatchFrom(part + 1, name, pos + static_cast<size_t>(p.width), fields);
    }
  }
  return false;
}

bool NamePattern::Match(const std::string& name, const TimeZone& zone, int64_t* time) const {
  int f[6] = {1970, 1, 1, 0, 0, 0};
  if (!MatchFrom(0, name, 0, f)) return false;
  if (has_date_) {
    if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60) return false;
    if (!Date::Valid(f[0], static_cast<unsigned>(f[1]), static_cast<unsigned>(f[2]))) return false;
    *time = zone.ToUtc(LocalTime{f[0], static_cast<unsigned>(f[1]), static_cast<unsigned>(f[2]),
                                 static_cast<unsigned>(f[3]), static_cast<unsigned>(f[4]), static_cast<unsigned>(f[5])});
  }
  return true;
}

CopyCatalog DiscoverCopy(const CopyConfig& copy, const TimeZone& zone) {
  CopyCatalog cat;
  cat.copy = &copy;
  switch (copy.kind) {
    case CopyKind::kArchiveDir: DiscoverDirectory(copy, zone, &cat, false); break;
    case CopyKind::kDirSnapshots: DiscoverDirectory(copy, zone, &cat, true); break;
    case CopyKind::kRestic: DiscoverRestic(copy, &cat); break;
    case CopyKind::kBorg: DiscoverBorg(copy, &cat); break;
  }
  if (!cat.device && copy.kind != CopyKind::kRestic) {
    struct stat st {};
    if (stat(copy.path.c_str(), &st) == 0) cat.device = st.st_dev;
  }
  return cat;
}

bool PrepareRepoAccess(const CopyConfig& copy, RepoAccess* access, std::string* error, const std::string& borg_base) {
  const bool restic = copy.kind == CopyKind::kRestic;
  if (!restic) {
    access->env = {"BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes", "BORG_RELOCATED_REPO_ACCESS_IS_OK=yes"};
    if (!borg_base.empty()) access->env.push_back("BORG_BASE_DIR=" + borg_base);
  }
  const std::string& file = restic ? copy.password_file : copy.passphrase_file;
  if (!file.empty()) {
    // restic reads the file itself; borg gets it as an inherited descriptor. Opened without
    // blocking: a FIFO nobody writes would otherwise hold this thread for ever (the commands
    // themselves run under a time limit).
    UniqueFd fd(open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd || fcntl(fd.get(), F_SETFL, 0) != 0) {
      *error = "cannot read the secret file " + file + ": " + Errno(errno);
      return false;
    }
    if (restic) {
      access->env.push_back("RESTIC_PASSWORD_FILE=" + file);
    } else {
      access->env.push_back("BORG_PASSPHRASE_FD=" + std::to_string(fd.get()));
      access->secret = std::move(fd);
    }
    return true;
  }
  if (!copy.secret_env.empty()) {
    const char* v = std::getenv(copy.secret_env.c_str());
    if (!v) {
      *error = "the environment variable " + copy.secret_env + " named for the secret is not set";
      return false;
    }
    access->env.push_back(std::string(restic ? "RESTIC_PASSWORD=" : "BORG_PASSPHRASE=") + v);
  }
  return true;
}

std::vector<std::string> CommandEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> envs = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"};
  if (const char* home = std::getenv("HOME")) envs.push_back(std::string("HOME=") + home);
  // borg prints local times without an offset: in UTC, they are read as UTC.
  envs.push_back("TZ=UTC");
  envs.insert(envs.end(), extra.begin(), extra.end());
  return envs;
}

std::optional<std::string> RunCapture(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                                      double timeout_s, std::string* error, int pass_fd) {
  UniqueFd out_r, out_w, err_r, err_w;
  if (!MakePipe(&out_r, &out_w) || !MakePipe(&err_r, &err_w)) {
    *error = "pipe: " + Errno(errno);
    return std::nullopt;
  }
  ChildSpec spec;
  spec.argv = argv;
  spec.env = CommandEnvironment(env);
  spec.search_path = true;
  spec.stdout_fd = out_w.get();
  spec.stderr_fd = err_w.get();
  spec.inherit_fd = pass_fd;
  // Nothing of ours but the secret reaches restic or borg: not the store, and not a web client's
  // socket, which the child would otherwise hold open after the server has answered and closed it.
  spec.close_other_fds = true;
  const pid_t pid = StartChild(spec, error);
  out_w.Reset();
  err_w.Reset();
  if (pid < 0) return std::nullopt;
  CollectOptions co;
  co.timeout_s = timeout_s;
  ChildOutput r = CollectChild(pid, out_r.Release(), err_r.Release(), co);
  if (r.timed_out) {
    *error = "timed out after " + std::to_string(static_cast<int>(timeout_s)) + " s";
    return std::nullopt;
  }
  if (r.too_much) {
    *error = "more than " + std::to_string(co.max_bytes >> 20) + " MiB of output; stopped";
    return std::nullopt;
  }
  if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
    std::string& errtext = r.err;
    while (!errtext.empty() && (errtext.back() == '\n' || errtext.back() == ' ')) errtext.pop_back();
    if (errtext.size() > 400) errtext = "..." + errtext.substr(errtext.size() - 400);
    *error = (WIFEXITED(r.status) ? "exit status " + std::to_string(WEXITSTATUS(r.status)) : std::string("killed")) +
             (errtext.empty() ? "" : ": " + errtext);
    return std::nullopt;
  }
  return std::move(r.out);
}

}  // namespace rp
