#include "rp/units.h"

#include <charconv>
#include <cmath>
#include <string>

namespace rp {
namespace {

std::optional<double> LeadingNumber(std::string_view text, std::string_view* unit) {
  size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  double v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + i, v);
  if (ec != std::errc() || p != text.data() + i || !std::isfinite(v) || v < 0) return std::nullopt;
  *unit = text.substr(i);
  return v;
}

}  // namespace

std::optional<uint64_t> ParseByteSize(std::string_view text) {
  std::string_view unit;
  auto v = LeadingNumber(text, &unit);
  if (!v) return std::nullopt;
  double mult = 1;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "K" || unit == "KiB" || unit == "k") mult = 1024.0;
  else if (unit == "M" || unit == "MiB") mult = 1024.0 * 1024;
  else if (unit == "G" || unit == "GiB") mult = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "TiB") mult = 1024.0 * 1024 * 1024 * 1024;
  else return std::nullopt;
  const double bytes = *v * mult;
  if (bytes > 1.8e19) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

std::optional<double> ParseDurationSeconds(std::string_view text) {
  std::string_view unit;
  auto v = LeadingNumber(text, &unit);
  if (!v) return std::nullopt;
  if (unit.empty() || unit == "s") return *v;
  if (unit == "m") return *v * 60;
  if (unit == "h") return *v * 3600;
  if (unit == "d") return *v * 86400;
  return std::nullopt;
}

std::optional<double> ParseDurationWithUnit(std::string_view text) {
  if (text.empty() || text.front() == '.') return std::nullopt;
  std::string_view unit;
  auto v = LeadingNumber(text, &unit);
  if (!v || unit.size() != 1) return std::nullopt;
  switch (unit[0]) {
    case 's': return *v;
    case 'm': return *v * 60;
    case 'h': return *v * 3600;
    case 'd': return *v * 86400;
    case 'w': return *v * 7 * 86400;
    default: return std::nullopt;
  }
}

}  // namespace rp
