// Builds real archives and directory trees from a declarative list of entries with
// deterministic (seeded) content: used by the demo estate, the tests and the benchmarks.
// Content of any size is generated in streaming fashion, never held whole in memory.
// Functions are thread-safe; each call owns what it writes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rp/hash.h"
#include "rp/status.h"

namespace rp {

struct TreeEntry {
  enum class Kind { kFile, kDirectory, kSymlink, kHardlink, kFifo, kCharDevice, kBlockDevice };
  Kind kind = Kind::kFile;
  std::string path;     // written exactly as given (tests use hostile names on purpose)
  uint64_t size = 0;    // file content size
  uint64_t seed = 0;    // content generator seed
  bool compressible = true;  // text-like content when true, random bytes when false
  std::string target;   // symlink / hard link target
  uint32_t mode = 0644;
  int64_t mtime = 1700000000;
};

// Fills buf with the bytes [offset, offset+len) of the content (seed, compressible).
void GenerateContent(uint64_t seed, bool compressible, uint64_t offset, char* buf, size_t len);
std::string ContentHashHex(const TreeEntry& e, HashAlgo algo);

struct ArchiveSpec {
  std::string format = "pax";        // libarchive writer name: pax, gnutar, ustar, newc, cpio, zip, 7zip
  std::vector<std::string> filters;  // gzip, bzip2, xz, zstd, lz4 (applied in order)
};

Status WriteArchive(const std::string& path, const ArchiveSpec& spec, const std::vector<TreeEntry>& entries);
// Creates the entries as a real directory tree under root (devices and FIFOs skipped).
Status WriteTree(const std::string& root, const std::vector<TreeEntry>& entries);

// A seeded, realistic tree: nested directories, empty, small and large files, long and
// non-UTF-8 names, symlinks inside the tree and hard links. `scale` multiplies file sizes.
struct SampleTreeOptions {
  uint64_t seed = 1;
  int files = 60;
  uint64_t large_file_bytes = 3 * 1024 * 1024;
  bool exotic_names = true;  // long and non-UTF-8 names
  bool links = true;         // symlinks and hard links
};
std::vector<TreeEntry> SampleTree(const SampleTreeOptions& options);

// Manifest text (GNU style) for the regular files and hard links of `entries`.
std::string ManifestFor(const std::vector<TreeEntry>& entries, HashAlgo algo);

}  // namespace rp
