// Internal: the JSON form of Limits, shared by the report (`verify --json`) and the worker's
// job. Reading throws nlohmann::json::exception on a missing or mistyped field.
#pragma once

#include <nlohmann/json.hpp>

#include "rp/report.h"

namespace rp::detail {

inline nlohmann::json LimitsToJson(const Limits& l) {
  return {{"max_total_bytes", l.max_total_bytes}, {"max_entries", l.max_entries},
          {"max_file_bytes", l.max_file_bytes},   {"max_depth", l.max_depth},
          {"max_ratio", l.max_ratio},             {"ratio_floor_bytes", l.ratio_floor_bytes},
          {"max_seconds", l.max_seconds}};
}

inline Limits LimitsFromJson(const nlohmann::json& j) {
  Limits l;
  l.max_total_bytes = j.at("max_total_bytes").get<uint64_t>();
  l.max_entries = j.at("max_entries").get<uint64_t>();
  l.max_file_bytes = j.at("max_file_bytes").get<uint64_t>();
  l.max_depth = j.at("max_depth").get<uint32_t>();
  l.max_ratio = j.at("max_ratio").get<double>();
  l.ratio_floor_bytes = j.at("ratio_floor_bytes").get<uint64_t>();
  l.max_seconds = j.at("max_seconds").get<double>();
  return l;
}

}  // namespace rp::detail
