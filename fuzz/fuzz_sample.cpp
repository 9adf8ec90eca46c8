// libFuzzer target for the sampling vocabulary (rp/sample.h): the configuration's `sample` and
// `sample_bytes` parsers and the JSON codec of SampleSpec and SampleFigures. Any bytes give a
// value or an error text, never a crash; an accepted size gives a slice count in range; an
// accepted JSON value encodes and decodes to itself. Traps when one breaks. No state between
// inputs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rp/codec.h"
#include "rp/sample.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void Size(const std::optional<rp::SampleSize>& s, const std::string& error, std::string_view key) {
  if (!s) {
    Check(error.rfind(std::string(key) + " ", 0) == 0);
    return;
  }
  Check(error.empty());
  Check((s->fraction > 0 && s->fraction <= 1) != (s->bytes > 0));
  for (const uint64_t point : {uint64_t{0}, uint64_t{1}, uint64_t{1} << 40, ~uint64_t{0}}) {
    const uint32_t n = rp::SlicesFor(*s, point);
    Check(n >= 1 && n <= rp::kMaxSampleSlices);
  }
}

template <class T>
void RoundTrip(std::string_view text) {
  T value;
  if (!rp::DecodeJson(text, "fuzz", &value).ok()) return;
  T back;
  Check(rp::DecodeJson(rp::EncodeJson(value), "fuzz", &back).ok());
  Check(back == value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  Size(rp::ParseSamplePercent(text, &error), error, "sample");
  error.clear();
  Size(rp::ParseSampleBytes(text, &error), error, "sample_bytes");
  RoundTrip<rp::SampleSpec>(text);
  RoundTrip<rp::SampleFigures>(text);
  const rp::SampleSpec spec{size, 1 + static_cast<uint32_t>(size % 97), static_cast<uint32_t>(size % 97)};
  Check(rp::SliceOf(spec.seed, spec.slices, text) < spec.slices);
  return 0;
}
