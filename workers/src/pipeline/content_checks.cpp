#include "pipeline/content_checks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>

#include "rp/posix_io.h"
#include "rp/path_text.h"
#include "rp/subprocess.h"

namespace rp::detail {
namespace {

struct BaselineRow {
  std::string path, hex;
  uint64_t size = 0;
  int64_t mtime_sec = 0, mtime_nsec = 0;
};

// Parses "HEX\tSIZE\tSEC.NSEC\tESCAPED_PATH".
bool ParseInventoryLine(const std::string& line, BaselineRow* out) {
  const size_t a = line.find('\t'), b = line.find('\t', a + 1), c = line.find('\t', b + 1);
  if (a == std::string::npos || b == std::string::npos || c == std::string::npos) return false;
  out->hex = line.substr(0, a);
  char* end = nullptr;
  out->size = std::strtoull(line.c_str() + a + 1, &end, 10);
  const std::string t = line.substr(b + 1, c - b - 1);
  const size_t dot = t.find('.');
  out->mtime_sec = std::strtoll(t.c_str(), nullptr, 10);
  out->mtime_nsec = dot == std::string::npos ? 0 : std::strtoll(t.c_str() + dot + 1, nullptr, 10);
  auto p = UnescapePath(line.substr(c + 1));
  if (!p) return false;
  out->path = std::move(*p);
  return true;
}

std::string SqliteCheck(const std::string& db_path) {
  sqlite3* db = nullptr;
  // A plain path, not a URI: a restored name like "x.db#.db" or "a?b.db" must open itself.
  int rc = sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return "cannot open: " + m;
  }
  sqlite3_stmt* st = nullptr;
  rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check(20)", -1, &st, nullptr);
  std::string result;
  if (rc != SQLITE_OK) {
    result = sqlite3_errmsg(db);
  } else {
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      if (!result.empty()) result += "; ";
      result += t ? t : "";
    }
    if (rc != SQLITE_DONE) result += (result.empty() ? "" : "; ") + std::string(sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return result == "ok" ? std::string() : result;
}

// Runs argv with the sandbox as working directory; returns what to report.
struct CommandOutcome {
  bool passed = false;
  std::string message;
};

CommandOutcome RunCommand(const ContentCheck& c, int sandbox_fd) {
  CommandOutcome out;
  if (c.argv.empty() || c.argv[0].empty() || c.argv[0][0] != '/') {
    out.message = "the command must be given as an absolute path";
    return out;
  }
  UniqueFd out_r, out_w;
  if (!MakePipe(&out_r, &out_w)) {
    out.message = std::string("pipe: ") + std::strerror(errno);
    return out;
  }
  ChildSpec spec;
  spec.argv = c.argv;
  spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "HOME=/nonexistent"};
  spec.stdout_fd = out_w.get();
  spec.stderr_to_stdout = true;
  spec.cwd_fd = sandbox_fd;
  // Nothing else of the worker's reaches the command: not the sandbox descriptor, not the
  // manifest or inventory being written.
  spec.close_other_fds = true;
  spec.own_process_group = true;
  spec.exec_failure_note = "restoreproof: cannot execute the check command\n";
  const pid_t pid = StartChild(spec, &out.message);
  out_w.Reset();
  if (pid < 0) return out;
  CollectOptions co;
  co.timeout_s = c.timeout_s;
  co.tail_bytes = 8192;
  co.kill_group = true;  // the command's process group; the PID namespace catches the rest
  const ChildOutput child = CollectChild(pid, out_r.Release(), -1, co);
  const std::string& tail = child.out;
  const bool timed_out = child.timed_out;
  const int status = child.status;
  // The last 10 lines of output.
  size_t cut = tail.size();
  for (int lines = 0; cut > 0 && lines <= 10;) {
    --cut;
    if (tail[cut] == '\n' && cut + 1 < tail.size()) ++lines;
    if (lines > 10) ++cut;
  }
  std::string last = tail.substr(cut);
  while (!last.empty() && last.back() == '\n') last.pop_back();
  if (timed_out) {
    out.message = "timed out after " + std::to_string(static_cast<int>(c.timeout_s)) + " s";
  } else if (WIFEXITED(status)) {
    out.passed = WEXITSTATUS(status) == 0;
    out.message = "exit code " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    out.message = std::string("killed by signal ") + strsignal(WTERMSIG(status));
  }
  for (auto& ch : last)
    if (ch == '\n') ch = '|';
  if (!last.empty()) out.message += "; last output: " + last;
  return out;
}

}  // namespace

std::string InventoryHeader(HashAlgo algo) {
  return "# restoreproof inventory " + std::string(HashAlgoName(algo)) + ": hash, size, mtime, path\n";
}

std::string InventoryLine(const Row& f) {
  char t[64];
  std::snprintf(t, sizeof t, "%lld.%09lld", static_cast<long long>(f.mtime_sec), static_cast<long long>(f.mtime_nsec));
  return f.hex + "\t" + std::to_string(f.size) + "\t" + t + "\t" + EscapePath(f.path) + "\n";
}

struct CheckRunner::State {
  const std::vector<ContentCheck>& checks;
  int sandbox_fd;
  HashAlgo algo;
  std::vector<std::vector<bool>> required;           // required-paths: matched per glob
  std::vector<std::vector<std::string>> sqlite;      // sqlite-integrity: databases found
  // unchanged-since-baseline: one streamed baseline per such check
  struct Baseline {
    std::ifstream in;
    BaselineRow row;
    bool have = false;
    bool bad = false;
    uint64_t compared = 0;
    std::vector<std::string> changed;
    uint64_t changed_count = 0;
    std::string algo;  // from the header line
    void Advance() {
      std::string line;
      have = false;
      while (std::getline(in, line)) {
        if (line.empty()) continue;
        if (line[0] == '#') {
          const std::string tag = "# restoreproof inventory ";
          if (line.rfind(tag, 0) == 0) algo = line.substr(tag.size(), line.find(':') - tag.size());
          continue;
        }
        if (!ParseInventoryLine(line, &row)) {
          bad = true;
          return;
        }
        have = true;
        return;
      }
    }
  };
  std::vector<std::unique_ptr<Baseline>> baselines;
  std::vector<std::string> baseline_errors;
};

CheckRunner::CheckRunner(const std::vector<ContentCheck>& checks, int sandbox_fd, HashAlgo algo)
    : s_(new State{checks, sandbox_fd, algo, {}, {}, {}, {}}) {
  s_->required.resize(checks.size());
  s_->sqlite.resize(checks.size());
  s_->baselines.resize(checks.size());
  s_->baseline_errors.resize(checks.size());
  for (size_t i = 0; i < checks.size(); ++i) {
    const auto& c = checks[i];
    if (c.kind == CheckKind::kRequiredPaths) s_->required[i].assign(c.globs.size(), false);
    if (c.kind == CheckKind::kUnchangedSinceBaseline) {
      auto b = std::make_unique<State::Baseline>();
      b->in.open(c.baseline, std::ios::binary);
      if (!b->in) s_->baseline_errors[i] = "cannot read the baseline inventory " + EscapePath(c.baseline);
      else b->Advance();
      s_->baselines[i] = std::move(b);
    }
  }
}

CheckRunner::~CheckRunner() = default;

void CheckRunner::OnRow(const Row& r) {
  for (size_t i = 0; i < s_->checks.size(); ++i) {
    const auto& c = s_->checks[i];
    switch (c.kind) {
      case CheckKind::kRequiredPaths:
        for (size_t g = 0; g < c.globs.size(); ++g)
          if (!s_->required[i][g] && GlobMatch(c.globs[g], r.path)) s_->required[i][g] = true;
        break;
      case CheckKind::kSqliteIntegrity:
        if (r.kind == RowKind::kFile &&
            std::any_of(c.globs.begin(), c.globs.end(), [&](const std::string& g) { return GlobMatch(g, r.path); }))
          s_->sqlite[i].push_back(r.path);
        break;
      case CheckKind::kUnchangedSinceBaseline: {
        auto& b = *s_->baselines[i];
        if (r.kind != RowKind::kFile || (r.flags & kRowDamaged)) break;
        while (b.have && b.row.path < r.path) b.Advance();
        if (b.have && b.row.path == r.path && b.row.size == r.size && b.row.mtime_sec == r.mtime_sec &&
            b.row.mtime_nsec == r.mtime_nsec) {
          ++b.compared;
          if (b.row.hex != r.hex) {
            if (b.changed.size() < 20) b.changed.push_back(r.path);
            ++b.changed_count;
          }
        }
        break;
      }
      default: break;
    }
  }
}

void CheckRunner::Finish(VerifyReport* report) {
  auto result = [&](const ContentCheck& c, bool passed, const std::string& message) {
    report->Add(Finding{passed ? FindingKind::kCheckPassed : FindingKind::kCheckFailed, c.DisplayName(),
                        std::string(CheckKindName(c.kind)) + ": " + message, -1});
  };
  for (size_t i = 0; i < s_->checks.size(); ++i) {
    const auto& c = s_->checks[i];
    switch (c.kind) {
      case CheckKind::kMinFiles:
        result(c, report->files >= c.count,
               std::to_string(report->files) + " files restored, at least " + std::to_string(c.count) + " required");
        break;
      case CheckKind::kMinBytes:
        result(c, report->bytes >= c.bytes,
               std::to_string(report->bytes) + " bytes restored, at least " + std::to_string(c.bytes) + " required");
        break;
      case CheckKind::kRequiredPaths: {
        std::string missing;
        for (size_t g = 0; g < c.globs.size(); ++g)
          if (!s_->required[i][g]) missing += (missing.empty() ? "" : ", ") + EscapePath(c.globs[g]);
        result(c, missing.empty(),
               missing.empty() ? "every pattern matched" : "no restored path matches " + missing);
        break;
      }
      case CheckKind::kSqliteIntegrity: {
        if (s_->sqlite[i].empty()) {
          result(c, false, "no restored file matches " + (c.globs.empty() ? std::string("(no glob)") : EscapePath(c.globs[0])));
          break;
        }
        std::string bad;
        for (const auto& rel : s_->sqlite[i]) {
          const std::string why = SqliteCheck("/proc/self/fd/" + std::to_string(s_->sandbox_fd) + "/" + rel);
          if (!why.empty()) bad += (bad.empty() ? "" : "; ") + EscapePath(rel) + ": " + why;
        }
        result(c, bad.empty(),
               bad.empty() ? std::to_string(s_->sqlite[i].size()) + " database(s) pass PRAGMA integrity_check"
                           : "integrity check failed: " + bad);
        break;
      }
      case CheckKind::kUnchangedSinceBaseline: {
        auto& b = *s_->baselines[i];
        if (!s_->baseline_errors[i].empty()) {
          result(c, false, s_->baseline_errors[i]);
        } else if (b.bad) {
          result(c, false, "the baseline inventory " + EscapePath(c.baseline) + " has a malformed line");
        } else if (b.algo.empty() || b.algo != HashAlgoName(s_->algo)) {
          result(c, false, "the baseline inventory " + EscapePath(c.baseline) + " holds " +
                               (b.algo.empty() ? std::string("no algorithm header") : b.algo + " digests") +
                               ", this run computes " + std::string(HashAlgoName(s_->algo)) +
                               ": nothing can be compared");
        } else if (b.changed_count > 0) {
          std::string list;
          for (const auto& p : b.changed) list += (list.empty() ? "" : ", ") + EscapePath(p);
          result(c, false, std::to_string(b.changed_count) + " file(s) with the baseline's size and mtime hash differently (silent corruption): " + list);
        } else {
          result(c, true, std::to_string(b.compared) + " unchanged file(s) hash as in the baseline");
        }
        break;
      }
      case CheckKind::kCommand: {
        const CommandOutcome o = RunCommand(c, s_->sandbox_fd);
        result(c, o.passed, o.message);
        break;
      }
    }
  }
}

}  // namespace rp::detail
