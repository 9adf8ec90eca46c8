#include "rp/sample.h"

#include <xxhash.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

#include "rp/codec.h"
#include "rp/units.h"

namespace rp {

using nlohmann::json;

uint32_t SliceOf(uint64_t seed, uint32_t slices, std::string_view path) {
  if (slices <= 1) return 0;
  const uint64_t h = XXH3_64bits_withSeed(path.data(), path.size(), seed);
  // Multiply-shift: uniform over [0, slices) without the bias of a modulo.
  return static_cast<uint32_t>((static_cast<unsigned __int128>(h) * slices) >> 64);
}

bool InSample(const SampleSpec& spec, std::string_view path) {
  return spec.slices <= 1 || SliceOf(spec.seed, spec.slices, path) == spec.slice;
}

SampleFigures NoFigures(const SampleSpec& spec) {
  SampleFigures f;
  f.spec = spec;
  f.slice_files.assign(spec.slices, 0);
  f.slice_bytes.assign(spec.slices, 0);
  return f;
}

void CountFile(SampleFigures* f, uint32_t slice, uint64_t size) {
  if (slice >= f->slice_files.size()) return;
  f->point_files++;
  f->point_bytes += size;
  f->slice_files[slice]++;
  f->slice_bytes[slice] += size;
  if (slice != f->spec.slice) return;
  f->sample_files++;
  f->sample_bytes += size;
}

uint32_t SlicesFor(const SampleSize& size, uint64_t point_bytes) {
  double n = 1;
  if (size.fraction > 0 && size.fraction <= 1) n = std::ceil(1.0 / size.fraction - 1e-9);
  if (size.bytes > 0) {
    const double by_bytes = std::ceil(static_cast<double>(point_bytes) / static_cast<double>(size.bytes));
    if (by_bytes > n) n = by_bytes;
  }
  if (!(n >= 1)) n = 1;
  if (n > kMaxSampleSlices) n = kMaxSampleSlices;
  return static_cast<uint32_t>(n);
}

namespace {

void SetError(std::string* error, std::string text) {
  if (error) *error = std::move(text);
}

std::string Quoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > 64) out += "...";
  return out + "\"";
}

}  // namespace

std::optional<SampleSize> ParseSamplePercent(std::string_view text, std::string* error) {
  const std::string what = "sample " + Quoted(text) + ": ";
  if (text.empty() || text.back() != '%') {
    SetError(error, what + "a percentage with a '%' sign was expected, e.g. \"10%\"");
    return std::nullopt;
  }
  const std::string_view num = text.substr(0, text.size() - 1);
  // Digits with at most one decimal point; no sign, exponent, spaces, "inf" or "nan".
  bool digit = false, point = false;
  for (const char c : num) {
    if (c >= '0' && c <= '9') digit = true;
    else if (c == '.' && !point) point = true;
    else {
      SetError(error, what + "not a number before '%'");
      return std::nullopt;
    }
  }
  if (!digit || num.size() > 32) {
    SetError(error, what + "not a number before '%'");
    return std::nullopt;
  }
  const double pct = std::strtod(std::string(num).c_str(), nullptr);
  if (!(pct > 0) || pct > 100) {
    SetError(error, what + "the percentage must be above 0 and at most 100");
    return std::nullopt;
  }
  SampleSize s;
  s.fraction = pct / 100.0;
  if (!(s.fraction > 0)) {  // underflow of a tiny share
    SetError(error, what + "the percentage must be above 0 and at most 100");
    return std::nullopt;
  }
  return s;
}

std::optional<SampleSize> ParseSampleBytes(std::string_view text, std::string* error) {
  const auto bytes = ParseByteSize(text);
  if (!bytes) {
    SetError(error, "sample_bytes " + Quoted(text) + ": a byte size was expected, e.g. \"50G\", \"512M\" or \"1048576\"");
    return std::nullopt;
  }
  if (*bytes == 0) {
    SetError(error, "sample_bytes " + Quoted(text) + ": must be above zero");
    return std::nullopt;
  }
  SampleSize s;
  s.bytes = *bytes;
  return s;
}

bool ValidSampleSpec(const SampleSpec& spec, std::string* error) {
  if (spec.slices < 1 || spec.slices > kMaxSampleSlices) {
    SetError(error, "sample: " + std::to_string(spec.slices) + " slices; between 1 and " +
                        std::to_string(kMaxSampleSlices) + " are allowed");
    return false;
  }
  if (spec.slice >= spec.slices) {
    SetError(error, "sample: slice " + std::to_string(spec.slice) + " of " + std::to_string(spec.slices) +
                        " slices; slices are numbered from 0 to " + std::to_string(spec.slices - 1));
    return false;
  }
  return true;
}

std::string DescribeSample(const SampleSpec& spec) {
  return "slice " + std::to_string(spec.slice) + " of " + std::to_string(spec.slices) + ", seed " +
         std::to_string(spec.seed);
}

// The seed is written as a decimal string: a JSON number past 2^53 loses digits in JavaScript.
void to_json(json& j, const SampleSpec& v) {
  j = json{{"seed", std::to_string(v.seed)}, {"slices", v.slices}, {"slice", v.slice}};
}

void from_json(const json& j, SampleSpec& v) {
  SampleSpec out;
  const json& seed = j.at("seed");
  if (seed.is_string()) {
    const std::string s = seed.get<std::string>();
    char* end = nullptr;
    errno = 0;
    const unsigned long long n = s.empty() || s[0] < '0' || s[0] > '9' ? 0 : std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || s.size() > 20 || !end || *end != '\0' || errno != 0)
      throw json::type_error::create(302, "sample seed: decimal digits of an unsigned 64-bit number were expected", &seed);
    out.seed = n;
  } else {
    out.seed = codec::Num<uint64_t>(seed);
  }
  out.slices = codec::Num<uint32_t>(j.at("slices"));
  out.slice = codec::Num<uint32_t>(j.at("slice"));
  std::string why;
  if (!ValidSampleSpec(out, &why)) throw json::out_of_range::create(406, why, &j);
  v = out;
}

void to_json(json& j, const SampleFigures& v) {
  j = json{{"spec", v.spec},
           {"point_files", v.point_files},
           {"point_bytes", v.point_bytes},
           {"sample_files", v.sample_files},
           {"sample_bytes", v.sample_bytes},
           {"slice_files", v.slice_files},
           {"slice_bytes", v.slice_bytes}};
}

void from_json(const json& j, SampleFigures& v) {
  SampleFigures out;
  out.spec = j.at("spec").get<SampleSpec>();
  out.point_files = codec::Num<uint64_t>(j.at("point_files"));
  out.point_bytes = codec::Num<uint64_t>(j.at("point_bytes"));
  out.sample_files = codec::Num<uint64_t>(j.at("sample_files"));
  out.sample_bytes = codec::Num<uint64_t>(j.at("sample_bytes"));
  for (const auto& n : codec::Array(j, "slice_files", true)) out.slice_files.push_back(codec::Num<uint64_t>(n));
  for (const auto& n : codec::Array(j, "slice_bytes", true)) out.slice_bytes.push_back(codec::Num<uint64_t>(n));
  if (out.slice_files.size() != out.spec.slices || out.slice_bytes.size() != out.spec.slices)
    throw json::out_of_range::create(406, "sample: slice_files and slice_bytes must have one number per slice", &j);
  v = std::move(out);
}

}  // namespace rp
