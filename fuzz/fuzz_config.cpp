// libFuzzer target for the configuration loader (rp::ParseConfig): any bytes give a result
// or errors, never a crash, and every error has a key or a position and says what it found.
// Also the duration parser the loader uses. Single-threaded; no state between inputs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rp/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const rp::ConfigResult r = rp::ParseConfig(text, "fuzz.toml");
  for (const auto& e : r.errors) {
    if (e.found.empty() || e.expected.empty()) __builtin_trap();
    (void)e.Format();
  }
  if (r.errors.empty())
    for (const auto& t : r.config.targets) (void)r.config.PolicyFor(t);
  (void)rp::ParseConfigDuration(text);
  return 0;
}
