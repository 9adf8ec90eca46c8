// Parsing of human quantities used on the command line and in the configuration:
// byte sizes ("64M", "10GiB", "512") and durations ("90s", "12h", "30d"). Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace rp {

// Binary multiples: K/KiB = 1024, M/MiB, G/GiB, T/TiB. Plain digits are bytes.
std::optional<uint64_t> ParseByteSize(std::string_view text);
// Units s, m (minutes), h, d; plain digits are seconds. Fractions allowed ("1.5h").
std::optional<double> ParseDurationSeconds(std::string_view text);
// The configuration's durations: a unit is required, and w (weeks) is one ("90m", "1.5h",
// "30d", "2w"). Seconds; nullopt for anything else, a bare number included.
std::optional<double> ParseDurationWithUnit(std::string_view text);

}  // namespace rp
