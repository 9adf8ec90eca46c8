#include "rp/notify_policy.h"

#include <algorithm>

#include "rp/codec.h"
#include "rp/notify.h"
#include "rp/path_text.h"

namespace rp {

namespace {

void Enqueue(Store* store, const std::vector<std::string>& channels, const std::string& target,
             const std::string& event, const std::string& subject, const nlohmann::json& body, int64_t now) {
  for (const auto& channel : channels) {
    NotificationRecord n;
    n.channel = channel;
    n.target = target;
    n.event = event;
    n.subject = subject;
    n.body = body.dump();
    n.created_at = now;
    n.next_attempt = now;
    store->EnqueueNotification(n);
  }
}

nlohmann::json RunSummary(const RunRecord& run) {
  nlohmann::json j{{"id", run.id},
                   {"status", RunStateName(run.state)},
                   {"point", EscapePath(run.point_id)},
                   {"location", run.location},
                   {"files", run.files},
                   {"bytes", run.bytes},
                   {"duration_s", run.duration_s},
                   {"message", EscapePath(run.message)}};
  nlohmann::json findings = nlohmann::json::array();
  if (run.report)
    for (const auto& f : run.report->findings)
      if (FindingFailsRun(f.kind) && findings.size() < 20) findings.push_back(f);
  j["findings"] = findings;
  return j;
}

// The e-mail text: what happened for a person first, the event's JSON after it.
std::string EmailText(const NotificationRecord& n) {
  const nlohmann::json j = nlohmann::json::parse(n.body, nullptr, false);
  std::string text = n.subject + "\n\n";
  if (j.is_object()) {
    const auto field = [&](const nlohmann::json& o, const char* key) -> std::string {
      if (!o.is_object() || !o.contains(key)) return "";
      return o[key].is_string() ? o[key].get<std::string>() : o[key].dump();
    };
    if (!field(j, "target").empty()) text += "Target:   " + field(j, "target") + "\n";
    if (!field(j, "state").empty()) text += "State:    " + field(j, "state") + " (was " + field(j, "previous") + ")\n";
    if (j.contains("run")) {
      const auto& r = j["run"];
      text += "Run:      " + field(r, "id") + ", " + field(r, "status") + ", point " + field(r, "point") + " at " +
              field(r, "location") + "\n";
      if (!field(r, "message").empty()) text += "Message:  " + field(r, "message") + "\n";
      if (r.contains("findings"))
        for (const auto& f : r["findings"]) text += "Finding:  " + field(f, "kind") + ": " + field(f, "path") + ": " + field(f, "message") + "\n";
    }
    if (j.contains("drill")) {
      const auto& d = j["drill"];
      text += "Drill:    " + field(d, "id") + " (" + field(d, "name") + ")\n";
      if (d.contains("targets"))
        for (const auto& t : d["targets"])
          text += "  " + field(t, "target") + ": " + field(t, "status") + ", " + field(t, "measured_s") + " s of " +
                  field(t, "objective_s") + " s, " + (t.value("met", false) ? "met" : "NOT MET") + "\n";
    }
    text += "\nThe event as JSON:\n" + j.dump(2) + "\n";
  }
  return text;
}

}  // namespace

void NotificationPolicy::OnRunFinished(const Config& config, Store* store, const RunRecord& run, int64_t now) {
  std::string state;
  if (run.state == RunState::kPassed) state = "passing";
  else if (run.state == RunState::kFailed || run.state == RunState::kAborted) state = "failing";
  else return;  // interrupted and cancelled runs say nothing about the backup
  const TargetConfig* target = config.FindTarget(run.request.target);
  if (!target) return;
  const std::string previous = store->SwapTargetState(target->name, "restore-test", state, now);
  if (previous == state || (previous.empty() && state == "passing")) return;
  const bool failing = state == "failing";
  const std::string event = failing ? "run-failed" : "target-recovered";
  const std::string subject = failing ? "restoreproof: restore test of " + target->name + " failed"
                                      : "restoreproof: restore test of " + target->name + " passes again";
  nlohmann::json body{{"event", event},       {"target", target->name}, {"aspect", "restore-test"},
                      {"state", state},       {"previous", previous.empty() ? "unknown" : previous},
                      {"time", now},          {"run", RunSummary(run)}};
  Enqueue(store, target->notify, target->name, event, subject, body, now);
}

void NotificationPolicy::OnDrillFinished(const Config& config, Store* store, const DrillReport& report, int64_t now) {
  const DrillConfig* drill = nullptr;
  for (const auto& d : config.drills)
    if (d.name == report.name) drill = &d;
  const std::string state = report.passed ? "passing" : "failing";
  const std::string previous = store->SwapTargetState("", "drill:" + report.name, state, now);
  if (report.passed && previous != "failing") return;
  const std::string event = report.passed ? "drill-recovered" : "drill-failed";
  std::vector<std::string> channels = drill ? drill->notify : std::vector<std::string>{};
  if (!drill) {  // an on-demand drill: the channels of its targets
    for (const auto& t : report.targets)
      if (const TargetConfig* tc = config.FindTarget(t.target))
        for (const auto& c : tc->notify)
          if (std::find(channels.begin(), channels.end(), c) == channels.end()) channels.push_back(c);
  }
  const std::string subject = report.passed ? "restoreproof: drill " + report.name + " passed again"
                                            : "restoreproof: drill " + report.name + " found failures";
  Enqueue(store, channels, "", event, subject, nlohmann::json{{"event", event}, {"time", now}, {"drill", report}}, now);
}

void NotificationPolicy::OnCatalogChecked(const Config& config, Store* store, const TargetEvaluation& evaluation,
                                          int64_t now) {
  const TargetConfig* target = config.FindTarget(evaluation.target);
  if (!target) return;
  bool stale = false;
  for (const auto& f : evaluation.findings)
    stale = stale || (f.rule == PolicyRule::kFreshness && f.severity == Verdict::kFailing);
  const std::string state = stale ? "stale" : evaluation.verdict == Verdict::kFailing ? "failing" : "ok";
  const std::string previous = store->SwapTargetState(target->name, "catalog", state, now);
  if (previous == state || (previous.empty() && state == "ok")) return;
  const std::string event = state == "ok" ? "target-recovered" : stale ? "target-stale" : "target-failing";
  const std::string subject = "restoreproof: " + target->name +
                              (state == "ok" ? " meets its policy again" : stale ? " has no fresh backup" : " fails its policy");
  nlohmann::json body{{"event", event},
                      {"target", target->name},
                      {"aspect", "catalog"},
                      {"state", state},
                      {"previous", previous.empty() ? "unknown" : previous},
                      {"time", now},
                      {"evaluation", evaluation}};
  Enqueue(store, target->notify, target->name, event, subject, body, now);
}

void NotificationPolicy::DeliverDue(const Config& config, Store* store, int64_t now, EventLog* log) {
  for (const auto& n : store->DueNotifications(now, 50)) {
    const NotifyConfig* channel = config.FindNotify(n.channel);
    // Held for this attempt, so that a second process does not send it too.
    const int64_t hold = now + static_cast<int64_t>(channel ? channel->timeout_s : 0) * 3 + 60;
    if (!store->ClaimNotification(n, hold)) continue;
    Delivery d;
    if (!channel) {
      d.detail = "channel " + n.channel + " is no longer configured";
    } else if (channel->kind == NotifyKind::kWebhook) {
      d = SendWebhook(*channel, n.body, std::to_string(n.id));
    } else {
      d = SendEmail(*channel, n.subject, EmailText(n));
    }
    const int attempts = n.attempts + 1;
    const bool give_up = !d.ok && (!channel || attempts >= kMaxAttempts);
    const int64_t backoff = std::min<int64_t>(3600, int64_t{30} << std::min(attempts - 1, 7));
    store->RecordDelivery(n.id, d.ok, d.detail, now, d.ok ? now : now + backoff, give_up);
    if (log) {
      nlohmann::json fields{{"notification", n.id}, {"channel", n.channel}, {"event", n.event},
                            {"attempt", attempts},  {"detail", d.detail}};
      if (d.ok) log->Info("notification-sent", n.target, 0, fields);
      else if (give_up) log->Error("notification-given-up", n.target, 0, fields);
      else log->Warn("notification-failed", n.target, 0, fields);
    }
  }
}

}  // namespace rp
