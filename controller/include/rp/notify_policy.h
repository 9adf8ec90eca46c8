// When people are told (docs/notifications.md "When a message is sent"): one message per change
// of a target's state (its restore tests failing or recovering, its catalog turning failing or
// stale or recovering) and one per failed drill and per drill recovery, to the channels the
// target or drill names. Messages go through the store's outbox and are delivered, retried with
// backoff and given up on by DeliverDue on its own thread: a channel that is down never delays
// a restore or the scheduler. Stateless: the states live in the store; thread-safe.
#pragma once

#include <cstdint>

#include "rp/config.h"
#include "rp/drill.h"
#include "rp/event_log.h"
#include "rp/policy.h"
#include "rp/store.h"

namespace rp {

class NotificationPolicy {
 public:
  void OnRunFinished(const Config& config, Store* store, const RunRecord& run, int64_t now);
  void OnDrillFinished(const Config& config, Store* store, const DrillReport& report, int64_t now);
  // A catalog evaluation: the target's verdict, and stale when its freshness rule fails.
  void OnCatalogChecked(const Config& config, Store* store, const TargetEvaluation& evaluation, int64_t now);
  // Sends what is due; a failed attempt is tried again after 30 s, doubling up to an hour, and
  // given up after kMaxAttempts.
  void DeliverDue(const Config& config, Store* store, int64_t now, EventLog* log);

  static constexpr int kMaxAttempts = 10;
};

}  // namespace rp
