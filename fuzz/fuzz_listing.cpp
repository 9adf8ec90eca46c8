// libFuzzer target for the listings restic and borg give of a recovery point, read for a
// sampled restore test (rp/sample_listing.h, controller/src/sample_listing.cpp, compiled here
// alone: the rest of rp_controller needs Poco). The first byte picks the reader and the slice;
// the rest is the listing. Any bytes give a result or false with a reason, never a crash; a
// result's figures add up (the slices' sums are the point's, the slice's are the sample's),
// restic has an --include for each file of the slice, borg an exclude line for each file it
// excludes, and no line of borg's exclude file can carry a newline. Traps when one breaks.
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <string_view>

#include "rp/sample_listing.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void CheckFigures(const rp::SampleFigures& f, const rp::SampleSpec& spec) {
  Check(f.spec == spec && f.slice_files.size() == spec.slices && f.slice_bytes.size() == spec.slices);
  Check(std::accumulate(f.slice_files.begin(), f.slice_files.end(), uint64_t{0}) == f.point_files);
  Check(std::accumulate(f.slice_bytes.begin(), f.slice_bytes.end(), uint64_t{0}) == f.point_bytes);
  Check(f.slice_files[spec.slice] == f.sample_files && f.slice_bytes[spec.slice] == f.sample_bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool restic = data[0] & 1;
  const rp::SampleSpec spec{2026, 1u + (data[0] >> 1) % 8u, (data[0] >> 4) % (1u + (data[0] >> 1) % 8u)};
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string why;
  if (restic) {
    rp::ResticListing r;
    if (!rp::ReadResticListing(text, spec, &r, &why)) {
      Check(!why.empty());
      return 0;
    }
    CheckFigures(r.figures, spec);
    Check(r.includes.size() >= r.figures.sample_files);
    for (const auto& inc : r.includes) Check(inc.rfind("--include=", 0) == 0 && inc.size() > 10);
    return 0;
  }
  rp::BorgListing b;
  if (!rp::ReadBorgListing(text, spec, &b, &why)) {
    Check(!why.empty());
    return 0;
  }
  CheckFigures(b.figures, spec);
  Check(b.excluded <= b.figures.point_files - b.figures.sample_files);
  uint64_t lines = 0;
  for (size_t at = 0; at < b.exclude_lines.size();) {
    const size_t end = b.exclude_lines.find('\n', at);
    Check(end != std::string::npos && b.exclude_lines.compare(at, 3, "pf:") == 0 && end > at + 3);
    at = end + 1;
    ++lines;
  }
  Check(lines == b.excluded);
  return 0;
}
