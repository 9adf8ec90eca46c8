// Status: the outcome of an operation that can fail for expected operational reasons
// (bad input, environment). A verification *finding* is not a Status error: it is data in a
// report. Cheap to copy; immutable; thread-compatible.
#pragma once

#include <string>
#include <utility>

namespace rp {

class Status {
 public:
  // Maps one-to-one onto the CLI exit codes of DESIGN.md where it reaches the top.
  enum class Code {
    kOk = 0,
    kUsage = 2,        // bad arguments, malformed manifest or configuration
    kEnvironment = 3,  // unreadable source, permissions, sandbox set-up, disk full
  };

  Status() = default;
  static Status Ok() { return {}; }
  static Status Usage(std::string msg) { return Status(Code::kUsage, std::move(msg)); }
  static Status Environment(std::string msg) {
    return Status(Code::kEnvironment, std::move(msg));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  // The exit code of a command that stops on this status: 2 or 3 (0 when ok).
  int exit_code() const { return static_cast<int>(code_); }
  const std::string& message() const { return message_; }
  bool operator==(const Status&) const = default;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace rp
