#include "rp/policy.h"

#include <array>
#include <utility>

namespace rp {
namespace {

constexpr std::array<std::pair<PolicyRule, std::string_view>, 15> kRules{{
    {PolicyRule::kRetentionDaily, "retention.daily"},
    {PolicyRule::kRetentionWeekly, "retention.weekly"},
    {PolicyRule::kRetentionMonthly, "retention.monthly"},
    {PolicyRule::kRetentionMax, "retention.max"},
    {PolicyRule::kFreshness, "freshness"},
    {PolicyRule::kRedundancyCopies, "redundancy.copies"},
    {PolicyRule::kRedundancySameFilesystem, "redundancy.same-filesystem"},
    {PolicyRule::kRedundancyLag, "redundancy.lag"},
    {PolicyRule::kRedundancyContent, "redundancy.content"},
    {PolicyRule::kChainBroken, "chain.broken"},
    {PolicyRule::kLocationOffline, "location.offline"},
    {PolicyRule::kLocationEmpty, "location.empty"},
    {PolicyRule::kRestoreTest, "restore-test"},
    {PolicyRule::kRestoreTestCopy, "restore-test.copy"},
    {PolicyRule::kRestoreTestCoverage, "restore-test.coverage"},
}};

constexpr std::array<std::pair<Verdict, std::string_view>, 3> kVerdicts{{
    {Verdict::kOk, "ok"},
    {Verdict::kWarning, "warning"},
    {Verdict::kFailing, "failing"},
}};

}  // namespace

std::string_view VerdictName(Verdict v) {
  for (const auto& [k, n] : kVerdicts)
    if (k == v) return n;
  return "failing";
}

std::optional<Verdict> ParseVerdict(std::string_view name) {
  for (const auto& [k, n] : kVerdicts)
    if (n == name) return k;
  return std::nullopt;
}

std::string_view PolicyRuleName(PolicyRule rule) {
  for (const auto& [r, n] : kRules)
    if (r == rule) return n;
  return "unknown";
}

std::optional<PolicyRule> ParsePolicyRule(std::string_view name) {
  for (const auto& [r, n] : kRules)
    if (n == name) return r;
  return std::nullopt;
}

std::string_view PolicyRuleFamily(PolicyRule rule) {
  const std::string_view name = PolicyRuleName(rule);
  return name.substr(0, name.find('.'));
}

}  // namespace rp
