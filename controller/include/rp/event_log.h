// The controller's own log: one JSON object per line on a stream (stderr for `serve`), with the
// time (UTC, ISO 8601), level, event and, where they apply, target and run. Secrets never go in.
// Thread-safe: lines from several threads never interleave. An observer may watch the lines
// (the demo learns the web server's real port from its `web-started` line).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace rp {

class EventLog {
 public:
  explicit EventLog(std::ostream* out) : out_(out) {}
  // `fields` (an object) adds to the line; target and run are left out when empty / 0.
  void Write(std::string_view level, std::string_view event, std::string_view target = {}, int64_t run = 0,
             nlohmann::json fields = nlohmann::json::object());
  void Info(std::string_view event, std::string_view target = {}, int64_t run = 0,
            nlohmann::json fields = nlohmann::json::object()) {
    Write("info", event, target, run, std::move(fields));
  }
  void Warn(std::string_view event, std::string_view target = {}, int64_t run = 0,
            nlohmann::json fields = nlohmann::json::object()) {
    Write("warning", event, target, run, std::move(fields));
  }
  void Error(std::string_view event, std::string_view target = {}, int64_t run = 0,
             nlohmann::json fields = nlohmann::json::object()) {
    Write("error", event, target, run, std::move(fields));
  }

  // Called with each line after it is written, on the writing thread and outside the log's
  // lock (an observer may write to the log itself). Replaces the one set before.
  using Observer = std::function<void(const nlohmann::json& line)>;
  void Observe(Observer observer);

 private:
  std::mutex mu_;
  std::ostream* out_;
  std::shared_ptr<const Observer> observer_;  // read under mu_, called outside it
};

// "2026-12-05T13:08:10.123Z"
std::string UtcTimestamp(int64_t unix_ms);
int64_t NowMs();
int64_t NowS();

}  // namespace rp
