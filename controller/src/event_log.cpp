#include "rp/event_log.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "rp/path_text.h"

namespace rp {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t NowS() { return NowMs() / 1000; }

std::string UtcTimestamp(int64_t unix_ms) {
  const time_t s = static_cast<time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
  return buf;
}

void EventLog::Write(std::string_view level, std::string_view event, std::string_view target, int64_t run,
                     nlohmann::json fields) {
  nlohmann::json line = nlohmann::json::object();
  line["time"] = UtcTimestamp(NowMs());
  line["level"] = level;
  line["event"] = event;
  if (!target.empty()) line["target"] = target;
  if (run) line["run"] = run;
  if (fields.is_object())
    for (auto& [k, v] : fields.items()) line[k] = std::move(v);
  const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::shared_ptr<const Observer> observer;
  {
    std::lock_guard lock(mu_);
    *out_ << text << std::flush;
    observer = observer_;
  }
  if (observer) (*observer)(line);
}

void EventLog::Observe(Observer observer) {
  auto next = observer ? std::make_shared<const Observer>(std::move(observer)) : nullptr;
  std::lock_guard lock(mu_);
  observer_ = std::move(next);
}

}  // namespace rp
