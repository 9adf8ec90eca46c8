// Sampled restore tests (docs/sampling.md): instead of the whole recovery point, a test may
// restore one slice of its entries. A point's regular files are split into `slices` slices by a
// keyed hash of their path (the cycle's seed), so the split is the same for every point of a
// target while the seed stays; each sampled test restores and verifies one slice, and `slices`
// tests in turn cover every path. The seed, the slice count and the slice are recorded with the
// run, so the sample can be drawn again from the manifest alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace rp {

// Which slice of a point a test restores.
struct SampleSpec {
  uint64_t seed = 0;    // the cycle's key for the path hash
  uint32_t slices = 1;  // how many slices the entries are split into (1: everything)
  uint32_t slice = 0;   // the one restored, 0 <= slice < slices
  bool operator==(const SampleSpec&) const = default;
};

// Whether a regular file at `path` (as the manifest and the report write it) is in the sample.
// Directories, links and other entries are always restored (they cost no content reads).
bool InSample(const SampleSpec& spec, std::string_view path);
// The slice a path falls in under `seed` and `slices`.
uint32_t SliceOf(uint64_t seed, uint32_t slices, std::string_view path);

// What a sampled test saw: the whole point's regular files and bytes per slice (the point's
// listing: the directory walk, the archive's index or every header of a stream), and what the
// sample restored and verified.
struct SampleFigures {
  SampleSpec spec;
  uint64_t point_files = 0, point_bytes = 0;    // every regular file of the point
  uint64_t sample_files = 0, sample_bytes = 0;  // those in the sample (restored and hashed)
  std::vector<uint64_t> slice_files, slice_bytes;  // per slice, `spec.slices` long
  bool operator==(const SampleFigures&) const = default;
};

// Figures for `spec` with nothing counted yet (a slot per slice).
SampleFigures NoFigures(const SampleSpec& spec);
// Counts one regular file of the point, of `size` bytes, in `slice` (below spec.slices; the
// slice's own files also in sample_files/sample_bytes).
void CountFile(SampleFigures* f, uint32_t slice, uint64_t size);

void to_json(nlohmann::json& j, const SampleSpec& v);
void from_json(const nlohmann::json& j, SampleSpec& v);
void to_json(nlohmann::json& j, const SampleFigures& v);
void from_json(const nlohmann::json& j, SampleFigures& v);

// How much of a point a restore test samples, as configured: `sample = "10%"` (a share of the
// files) or `sample_bytes = "50G"` (about that many content bytes per test).
struct SampleSize {
  double fraction = 0;      // (0, 1]; 0: not set
  uint64_t bytes = 0;       // 0: not set
  bool operator==(const SampleSize&) const = default;
};
// The number of slices for a size: ceil(1 / fraction), or ceil(point_bytes / bytes) (at least
// 1, at most 65536).
// Both set: the larger count (the smaller sample).
uint32_t SlicesFor(const SampleSize& size, uint64_t point_bytes);
inline constexpr uint32_t kMaxSampleSlices = 65536;

// The configuration's values. `sample`: a percentage in (0, 100] with a '%' sign, decimals
// allowed ("10%", "12.5%"). `sample_bytes`: a byte size above zero as units.h reads it ("50G",
// "512M", "1048576"). nullopt with *error (when given) saying what is wrong; never throws.
std::optional<SampleSize> ParseSamplePercent(std::string_view text, std::string* error);
std::optional<SampleSize> ParseSampleBytes(std::string_view text, std::string* error);
// A spec that can be used: 1 <= slices <= kMaxSampleSlices and slice < slices. False with
// *error (when given) otherwise.
bool ValidSampleSpec(const SampleSpec& spec, std::string* error);
// For messages: "slice 3 of 10, seed 12345".
std::string DescribeSample(const SampleSpec& spec);

}  // namespace rp
