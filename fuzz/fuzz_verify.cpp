// libFuzzer target for the restore engine on arbitrary bytes: each input is written to a file
// and restored in-process by rp::RunVerify (no manifest, small limits) into a sandbox under a
// private temporary directory. Besides "no crash, no sanitizer report" it traps when the
// sandbox survives the run, when anything appears outside it or when a file descriptor leaks.
// Single-threaded harness (the engine starts its own reader thread per run); owns one
// temporary directory per process, removed at exit.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "rp/report.h"
#include "rp/sandbox.h"
#include "rp/posix_io.h"
#include "rp/verify.h"

namespace {

void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_verify: %s: %s\n", what, detail.c_str());
  __builtin_trap();
}

std::set<std::string> ListDir(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (!d) Fail("cannot list", dir);
  while (const dirent* de = readdir(d)) {
    const std::string name = de->d_name;
    if (name != "." && name != "..") names.insert(name);
  }
  closedir(d);
  return names;
}

size_t OpenFdCount() { return ListDir("/proc/self/fd").size(); }

// <tmp>/rp-fuzz-verify-XXXXXX holding the input file, the sandbox parent and a canary
// directory beside it. An entry escaping the sandbox through ".." lands in one of these.
struct Workspace {
  std::string root;
  std::string input;
  std::string sandboxes;
  std::string canary;

  Workspace() {
    std::string tmpl = rp::TempDirectory() + "/rp-fuzz-verify-XXXXXX";
    if (!mkdtemp(tmpl.data())) Fail("mkdtemp", tmpl);
    root = tmpl;
    input = root + "/input";
    sandboxes = root + "/sandboxes";
    canary = root + "/canary";
    if (mkdir(sandboxes.c_str(), 0700) != 0) Fail("mkdir", sandboxes);
    if (mkdir(canary.c_str(), 0700) != 0) Fail("mkdir", canary);
  }
  ~Workspace() { (void)rp::RemoveTree(root); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
};

Workspace& TheWorkspace() {
  static Workspace ws;  // destroyed at exit, when libFuzzer finishes normally
  return ws;
}

void WriteInput(const std::string& path, const uint8_t* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) Fail("cannot create", path);
  if (size > 0 && std::fwrite(data, 1, size, f) != size) Fail("cannot write", path);
  if (std::fclose(f) != 0) Fail("cannot close", path);
}

// For triage by hand (RP_FUZZ_VERBOSE=1): what the engine concluded about one input.
void PrintSummary(const rp::VerifyReport& report) {
  std::fprintf(stderr, "fuzz_verify: %s, format '%s', %llu entries, %llu bytes written, %llu read, %.2f s\n",
               std::string(rp::RunStatusName(report.status)).c_str(), report.format.c_str(),
               static_cast<unsigned long long>(report.entries), static_cast<unsigned long long>(report.bytes),
               static_cast<unsigned long long>(report.source_bytes), report.duration_s);
  if (report.status == rp::RunStatus::kAborted)
    std::fprintf(stderr, "  aborted: %s\n", report.abort_status.message().c_str());
  for (const rp::Finding& f : report.findings)
    std::fprintf(stderr, "  %s %s: %s\n", std::string(rp::FindingKindName(f.kind)).c_str(), f.path.c_str(),
                 f.message.c_str());
}

void CheckNothingOutsideSandbox(const Workspace& ws, const rp::VerifyReport& report) {
  if (!report.sandbox.empty()) {
    struct stat st {};
    if (lstat(report.sandbox.c_str(), &st) == 0 || errno != ENOENT) Fail("sandbox survived the run", report.sandbox);
  }
  if (report.status != rp::RunStatus::kAborted && !report.sandbox_removed)
    Fail("report says the sandbox was not removed", report.sandbox);
  for (const std::string& name : ListDir(ws.sandboxes)) Fail("left beside the sandbox", ws.sandboxes + "/" + name);
  for (const std::string& name : ListDir(ws.canary)) Fail("written outside the sandbox", ws.canary + "/" + name);
  for (const std::string& name : ListDir(ws.root))
    if (name != "input" && name != "sandboxes" && name != "canary") Fail("written outside the sandbox", ws.root + "/" + name);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool first_run = true;
  Workspace& ws = TheWorkspace();
  WriteInput(ws.input, data, size);

  rp::VerifyOptions options;
  options.source = ws.input;
  options.sandbox_parent = ws.sandboxes;
  options.limits.max_total_bytes = 64ull << 20;
  options.limits.max_entries = 10'000;
  options.limits.max_file_bytes = 16ull << 20;
  options.limits.max_seconds = 5;
  options.limits.ratio_floor_bytes = 1ull << 20;

  const size_t fds_before = OpenFdCount();
  const rp::VerifyReport report = rp::RunVerify(options);
  const size_t fds_after = OpenFdCount();

  if (std::getenv("RP_FUZZ_VERBOSE")) PrintSummary(report);
  CheckNothingOutsideSandbox(ws, report);
  // The first run may open descriptors that libraries keep for the life of the process.
  if (!first_run && fds_after > fds_before)
    Fail("file descriptor leak", std::to_string(fds_before) + " open before the run, " + std::to_string(fds_after) + " after");
  first_run = false;
  return 0;
}
