// Internal: numbers from untrusted JSON (a worker's lines, a job, a report read back).
// nlohmann's get<integer>() on a floating-point value converts it, and a value out of the
// integer's range is undefined behaviour (found by fuzz_manifest: 3.4e67 as max_total_bytes).
// These accept only an integer that fits, and throw a nlohmann::json exception otherwise, as
// a mistyped field does.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace rp::detail {

template <class T>
T Num(const nlohmann::json& v) {
  static_assert(std::is_arithmetic_v<T>);
  if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) throw nlohmann::json::type_error::create(302, "a number was expected", &v);
    return v.get<T>();
  } else {
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      if (u <= static_cast<uint64_t>(std::numeric_limits<T>::max())) return static_cast<T>(u);
    } else if (v.is_number_integer()) {
      const int64_t i = v.get<int64_t>();
      if constexpr (std::is_signed_v<T>) {
        if (i >= static_cast<int64_t>(std::numeric_limits<T>::min()) && i <= static_cast<int64_t>(std::numeric_limits<T>::max()))
          return static_cast<T>(i);
      } else {
        if (i >= 0 && static_cast<uint64_t>(i) <= static_cast<uint64_t>(std::numeric_limits<T>::max()))
          return static_cast<T>(i);
      }
    } else {
      throw nlohmann::json::type_error::create(302, "an integer was expected", &v);
    }
    throw nlohmann::json::out_of_range::create(406, "an integer out of range", &v);
  }
}

// obj[key] as a number, or `fallback` when the key is absent.
template <class T>
T NumOr(const nlohmann::json& obj, const char* key, T fallback) {
  if (!obj.is_object()) throw nlohmann::json::type_error::create(306, "an object was expected", &obj);
  const auto it = obj.find(key);
  return it == obj.end() ? fallback : Num<T>(*it);
}

}  // namespace rp::detail
