// Internal: the JSON form of Limits, shared by the report (`verify --json`) and the worker's
// job. Reading throws nlohmann::json::exception on a missing or mistyped field.
#pragma once

#include <nlohmann/json.hpp>

#include "json_num.h"
#include "rp/report.h"

namespace rp::detail {

inline nlohmann::json LimitsToJson(const Limits& l) {
  return {{"max_total_bytes", l.max_total_bytes}, {"max_entries", l.max_entries},
          {"max_file_bytes", l.max_file_bytes},   {"max_depth", l.max_depth},
          {"max_ratio", l.max_ratio},             {"ratio_floor_bytes", l.ratio_floor_bytes},
          {"max_seconds", l.max_seconds},         {"max_stall_seconds", l.max_stall_seconds}};
}

inline Limits LimitsFromJson(const nlohmann::json& j) {
  Limits l;
  l.max_total_bytes = Num<uint64_t>(j.at("max_total_bytes"));
  l.max_entries = Num<uint64_t>(j.at("max_entries"));
  l.max_file_bytes = Num<uint64_t>(j.at("max_file_bytes"));
  l.max_depth = Num<uint32_t>(j.at("max_depth"));
  l.max_ratio = Num<double>(j.at("max_ratio"));
  l.ratio_floor_bytes = Num<uint64_t>(j.at("ratio_floor_bytes"));
  l.max_seconds = Num<double>(j.at("max_seconds"));
  // Reports stored before the stall limit existed do not name it: none was in force then.
  l.max_stall_seconds = j.contains("max_stall_seconds") ? Num<double>(j.at("max_stall_seconds")) : 0.0;
  return l;
}

}  // namespace rp::detail
