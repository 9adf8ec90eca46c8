// The listings restic and borg give of one recovery point, read for a sampled restore test
// (docs/sampling.md, "restic and borg"): the whole point's figures per slice, and what the
// slice asks of the repository tool. Outside input (another program's output): any bytes give
// a result or false with the reason, never an exception. Fuzzed by fuzz/fuzz_listing.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rp/sample.h"

namespace rp {

// `restic ls --json ID`: the snapshot line, then one JSON object per node. The slice's regular
// files and every symlink become `--include=PATTERN` arguments (ResticExactPattern).
struct ResticListing {
  SampleFigures figures;
  std::vector<std::string> includes;
};
// False with *why: a line that is not a JSON object, a node without a path, or a name with
// U+FFFD (restic writes bytes that are not UTF-8 so: the patterns would not match them).
bool ReadResticListing(std::string_view text, const SampleSpec& spec, ResticListing* out, std::string* why);

// A path as a restic pattern that matches it alone: `*`, `?`, `[` and `\` escaped.
std::string ResticExactPattern(std::string_view path);

// `borg list --json-lines REPO::ARCHIVE`: one JSON object per item. The regular files outside
// the slice become `pf:PATH` lines of an exclude file, except a path a line cannot carry
// exactly (a newline, white space or a non-ASCII byte at either end, a leading '#'), which
// stays in the stream for the engine to drop.
struct BorgListing {
  SampleFigures figures;
  std::string exclude_lines;
  uint64_t excluded = 0;
};
// False with *why: a line that is not an item, or a name with '?' (borg writes bytes that are
// not UTF-8 so, and the listing's figures would then not be the stream's).
bool ReadBorgListing(std::string_view text, const SampleSpec& spec, BorgListing* out, std::string* why);

}  // namespace rp
