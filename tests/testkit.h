// Shared test helpers: a per-test temporary directory (removed afterwards) and small file
// utilities. Tests build real archives with rp::WriteArchive into it.
#pragma once

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <filesystem>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "rp/sandbox.h"

namespace rp::test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rp-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() { RemoveTree(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

// Single-quoted for sh: any byte but NUL survives.
inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

// Runs a shell command, returns its exit status and captures stdout (+stderr if asked).
inline int Run(const std::string& cmd, std::string* out = nullptr) {
  std::string full = cmd + " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  std::string text;
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  const int st = pclose(p);
  if (out) *out = text;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// Same as Run, for use inside TEST bodies where gtest's own Test::Run() hides the name.
inline int RunShell(const std::string& cmd, std::string* out = nullptr) { return Run(cmd, out); }

// For a death test's child: limits this process's address space to what it maps now plus
// `extra_kib`, so that a larger allocation or mapping is refused. False if it could not.
inline bool LimitAddressSpaceTo(uint64_t extra_kib) {
  uint64_t vm_kib = 0;
  FILE* st = std::fopen("/proc/self/status", "r");
  char line[256];
  while (st && std::fgets(line, sizeof line, st))
    if (std::sscanf(line, "VmSize: %lu kB", &vm_kib) == 1) break;
  if (st) std::fclose(st);
  rlimit rl{};
  rl.rlim_cur = rl.rlim_max = (vm_kib + extra_kib) * 1024;
  return vm_kib != 0 && setrlimit(RLIMIT_AS, &rl) == 0;
}

}  // namespace rp::test
