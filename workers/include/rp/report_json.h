// JSON form of a VerifyReport: the `verify --json` document of DESIGN.md, and the message a
// restore child sends its parent. Paths appear escaped (EscapePath) so any name survives
// JSON; ReportFromJson reverses that. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>

#include "rp/report.h"

namespace rp {

std::string ReportToJson(const VerifyReport& report, int indent = 2);
std::optional<VerifyReport> ReportFromJson(const std::string& text);

}  // namespace rp
