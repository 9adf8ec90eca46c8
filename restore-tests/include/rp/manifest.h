// Checksum manifests in the text formats of xxhsum and sha256sum/sha512sum/b2sum: GNU style
// ("HASH  name", "HASH *name", with a leading '\\' when the name is escaped) and BSD tag
// style ("XXH128 (name) = HASH"). The reader accepts every line those tools' `-c` accepts and
// rejects anything else with its line number; the writer produces lines they verify.
// Pure functions over strings plus two file helpers; thread-safe. Format: docs/manifest.md.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rp/hash.h"
#include "rp/status.h"

namespace rp {

struct ManifestEntry {
  std::string path;  // normalised member path, raw bytes (see NormaliseMemberPath)
  std::string hex;   // lower-case digest
  size_t line = 0;   // 1-based line in the manifest file
  HashAlgo algo = HashAlgo::kXxh128;  // the line's algorithm (one for the whole manifest)
};

struct Manifest {
  HashAlgo algo = HashAlgo::kXxh128;
  std::vector<ManifestEntry> entries;
};

struct ManifestParseResult {
  Status status;  // kUsage with "NAME:LINE: what" on a malformed line
  Manifest manifest;
};

// The digest length decides a GNU line's algorithm; `algo_hint` only chooses between
// algorithms of the same length (128 hex digits: SHA-512 or BLAKE2b; default SHA-512).
// `name` is used in messages.
ManifestParseResult ParseManifest(std::string_view text, std::string_view name,
                                  std::optional<HashAlgo> algo_hint = std::nullopt);
ManifestParseResult LoadManifestFile(const std::string& path,
                                     std::optional<HashAlgo> algo_hint = std::nullopt);
// The same, streamed: reads the file in chunks and calls `each` for every entry in file order,
// so a manifest of millions of lines never sits whole in memory. Stops at the first malformed
// line (kUsage, "NAME:LINE: ..."). *algo is set to the manifest's algorithm when it has entries.
Status ScanManifestFile(const std::string& path, std::optional<HashAlgo> algo_hint,
                        const std::function<void(ManifestEntry&&)>& each, HashAlgo* algo);

// One line, newline included. GNU style for every algorithm but XXH3-64 (xxhsum writes that
// one only as a BSD tag). Names containing '\\' or a newline are escaped the coreutils way
// for the OpenSSL algorithms; for xxHash ones only a newline forces escaping, because xxhsum
// 0.8.1 reads names literally (docs/manifest.md).
std::string FormatManifestLine(HashAlgo algo, std::string_view path, std::string_view hex);

// Writes manifest text to `path` through a temporary file renamed into place, so a reader
// never sees half a manifest and a failure leaves the previous file as it was.
Status SaveManifestFile(const std::string& path, std::string_view text);

// Guess the algorithm from a manifest file's base name, case-insensitively ("B2SUMS",
// "x.b2", "blake2" -> BLAKE2b; "sha512" -> SHA-512). LoadManifestFile uses it as the hint.
std::optional<HashAlgo> AlgoHintFromFileName(std::string_view file_name);

}  // namespace rp
