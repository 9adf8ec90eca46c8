// The one JSON codec of the vocabulary: findings, limits, isolation records, content checks and
// whole reports, written and read in one place for the `--json` output, the worker's protocol,
// and tomorrow the store, the web API and the evidence export. Formats: docs/json.md.
//
// Encoding is total. Free text and paths are written escaped (EscapePath), so any byte
// sequence survives JSON, and read back unescaped. Decoding reads untrusted text (a worker
// that parsed hostile bytes, a file on disk): a missing or mistyped field throws
// nlohmann::json::exception from from_json, and DecodeJson turns that into Status::Usage naming
// the field. Numbers are range-checked: a value that does not fit its field is an error, never
// a silent conversion. Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rp/calendar.h"
#include "rp/checks.h"
#include "rp/isolation.h"
#include "rp/policy.h"
#include "rp/report.h"
#include "rp/status.h"

namespace rp {

// nlohmann's hooks, found by argument-dependent lookup: `nlohmann::json j = report;`,
// `j.get<Finding>()`.
void to_json(nlohmann::json& j, const Finding& v);
void from_json(const nlohmann::json& j, Finding& v);
void to_json(nlohmann::json& j, const Limits& v);
void from_json(const nlohmann::json& j, Limits& v);
void to_json(nlohmann::json& j, const IsolationRecord& v);
void from_json(const nlohmann::json& j, IsolationRecord& v);
void to_json(nlohmann::json& j, const IsolationRecords& v);
void from_json(const nlohmann::json& j, IsolationRecords& v);
void to_json(nlohmann::json& j, const ContentCheck& v);
void from_json(const nlohmann::json& j, ContentCheck& v);
void to_json(nlohmann::json& j, const Date& v);  // "2026-10-25"
void from_json(const nlohmann::json& j, Date& v);
void to_json(nlohmann::json& j, const DateRange& v);  // {"first": date, "last": date}
void from_json(const nlohmann::json& j, DateRange& v);
void to_json(nlohmann::json& j, const YearMonth& v);  // "2026-10"
void from_json(const nlohmann::json& j, YearMonth& v);
void to_json(nlohmann::json& j, const Policy& v);
void from_json(const nlohmann::json& j, Policy& v);
// A policy finding: "id" (the rule's full name), "rule" (its family), "check" (the part after
// the dot), "severity", "message", and the facts the finding has.
void to_json(nlohmann::json& j, const PolicyFinding& v);
void from_json(const nlohmann::json& j, PolicyFinding& v);
void to_json(nlohmann::json& j, const TargetEvaluation& v);
void from_json(const nlohmann::json& j, TargetEvaluation& v);
// The `verify --json` document: the report's fields plus the lists DESIGN.md names
// (mismatched, missing, unexpected, errors), which are derived from the findings and ignored
// when reading.
void to_json(nlohmann::json& j, const VerifyReport& v);
void from_json(const nlohmann::json& j, VerifyReport& v);

template <class T>
std::string EncodeJson(const T& value, int indent = -1) {
  return nlohmann::json(value).dump(indent);
}

// Parses `text` and decodes it; on failure *out is left as it was. `what` names the document
// in the message ("worker result", "checks file x.json").
template <class T>
Status DecodeJson(std::string_view text, std::string_view what, T* out) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Usage(std::string(what) + ": not valid JSON");
  try {
    T value = j.get<T>();
    *out = std::move(value);
    return Status::Ok();
  } catch (const nlohmann::json::exception& e) {
    return Status::Usage(std::string(what) + ": " + e.what());
  }
}

namespace codec {

// Numbers from untrusted JSON: nlohmann's get<integer>() converts a floating-point value and
// is undefined behaviour for a value out of the integer's range (fuzz_manifest found 3.4e67 as
// max_total_bytes). These accept only a number that fits T, and throw a nlohmann::json
// exception otherwise, as a mistyped field does.
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
// A string field written escaped, read back raw.
std::string Raw(const nlohmann::json& v);
// obj[key] as an array (an empty one when absent and not required); a string or an object
// there is a type error, never iterated as if it were a list.
const nlohmann::json& Array(const nlohmann::json& obj, const char* key, bool required);

}  // namespace codec
}  // namespace rp
