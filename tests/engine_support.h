// Helpers for the engine suites: build an archive from a sample tree, run verify, and ask
// questions of the report by finding kind and path.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "rp/archive_builder.h"
#include "rp/verify.h"
#include "testkit.h"

namespace rp::test {

struct FormatCase {
  std::string name;  // used in test names: letters, digits, underscores
  ArchiveSpec spec;
  std::string ext;
};

// Keeps gtest (and so CTest's test list) from printing parameters as raw bytes.
inline void PrintTo(const FormatCase& f, std::ostream* os) { *os << f.name; }

inline std::vector<FormatCase> AllFormats() {
  return {
      {"pax", {"pax", {}}, ".tar"},
      {"gnutar", {"gnutar", {}}, ".tar"},
      {"pax_gzip", {"pax", {"gzip"}}, ".tar.gz"},
      {"pax_bzip2", {"pax", {"bzip2"}}, ".tar.bz2"},
      {"pax_xz", {"pax", {"xz"}}, ".tar.xz"},
      {"pax_zstd", {"pax", {"zstd"}}, ".tar.zst"},
      {"pax_lz4", {"pax", {"lz4"}}, ".tar.lz4"},
      {"cpio_newc", {"newc", {}}, ".cpio"},
      {"cpio_odc_gzip", {"cpio", {"gzip"}}, ".cpio.gz"},
      {"zip", {"zip", {}}, ".zip"},
      {"sevenzip", {"7zip", {}}, ".7z"},
  };
}

inline std::vector<std::string> PathsOf(const VerifyReport& r, FindingKind kind) {
  std::vector<std::string> out;
  for (const auto& f : r.findings)
    if (f.kind == kind) out.push_back(f.path);
  return out;
}

inline std::set<FindingKind> KindsOf(const VerifyReport& r) {
  std::set<FindingKind> out;
  for (const auto& f : r.findings) out.insert(f.kind);
  return out;
}

inline std::string Describe(const VerifyReport& r) {
  std::string s = std::string(RunStatusName(r.status)) + " format=" + r.format + " files=" + std::to_string(r.files);
  if (r.status == RunStatus::kAborted) s += " abort=" + r.abort_status.message();
  for (const auto& f : r.findings)
    s += "\n  " + std::string(FindingKindName(f.kind)) + " [" + f.path + "] " + f.message;
  return s;
}

inline VerifyOptions Options(const TempDir& dir, const std::string& source) {
  VerifyOptions o;
  o.source = source;
  o.sandbox_parent = dir / "sandboxes";
  // The test binary is not restoreproof: run the real worker, restoreproof-worker, as
  // restoreproof does by default (WorkerBinary tests the fallback to `restoreproof worker`).
  o.worker_binary = RP_WORKER_BINARY;
  return o;
}

// Lists every path under root (recursively, not following links).
inline std::vector<std::string> ListTree(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    out.push_back(it->path().string());
  return out;
}

}  // namespace rp::test
