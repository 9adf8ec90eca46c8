#include "rp/progress_line.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "rp/path_text.h"
#include "rp/posix_io.h"

namespace rp {
namespace {

constexpr double kRedrawEvery = 0.25;       // at most 4 drawings a second
constexpr double kLongestEta = 100 * 3600;  // beyond this an estimate says nothing
constexpr std::string_view kEraseLine = "\r\x1b[K";

double SteadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The terminal's width in columns; 0 when it does not say.
size_t Columns(int fd) {
  winsize ws{};
  return ioctl(fd, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
}

// At most `width` bytes of `text`, never ending inside a UTF-8 sequence.
std::string Truncated(std::string text, size_t width) {
  if (text.size() <= width) return text;
  size_t end = width;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  return text;
}

}  // namespace

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  return buf;
}

std::string FormatClock(double seconds) {
  const auto s = static_cast<uint64_t>(std::ceil(std::max(seconds, 0.0)));
  char buf[48];
  if (s < 3600)
    std::snprintf(buf, sizeof buf, "%" PRIu64 ":%02" PRIu64, s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%" PRIu64 ":%02" PRIu64 ":%02" PRIu64, s / 3600, s / 60 % 60, s % 60);
  return buf;
}

std::string FormatProgress(const ProgressFigures& f) {
  std::string line = "  ";
  if (!f.label.empty()) line += EscapeMessage(f.label) + "  ";
  line += FormatBytes(f.bytes);
  if (f.total) {
    const uint64_t percent =
        *f.total == 0 || f.bytes >= *f.total
            ? 100
            : static_cast<uint64_t>(static_cast<long double>(f.bytes) * 100 / static_cast<long double>(*f.total));
    line += " of " + FormatBytes(*f.total) + " (" + std::to_string(percent) + "%)";
  }
  if (f.elapsed_s > 0) {
    const double rate = static_cast<double>(f.bytes) / f.elapsed_s;
    line += "  " + FormatBytes(static_cast<uint64_t>(rate)) + "/s";
    if (f.total && f.bytes > 0 && f.bytes < *f.total) {
      const double eta = static_cast<double>(*f.total - f.bytes) / rate;
      if (eta <= kLongestEta) line += "  ETA " + FormatClock(eta);
    }
  }
  line += "  files " + std::to_string(f.files);
  return line;
}

ProgressFigures CombineProgress(const std::vector<ProgressFigures>& runs, std::string label) {
  ProgressFigures all;
  all.label = std::move(label);
  all.total = uint64_t{0};
  for (const auto& r : runs) {
    all.bytes += r.bytes;
    all.files += r.files;
    all.elapsed_s = std::max(all.elapsed_s, r.elapsed_s);
    if (all.total && r.total) *all.total += *r.total;
    else all.total.reset();
  }
  if (runs.empty()) all.total.reset();
  return all;
}

std::optional<uint64_t> SourceSize(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return std::nullopt;
  if (S_ISREG(st.st_mode)) return static_cast<uint64_t>(st.st_size);
  if (!S_ISDIR(st.st_mode)) return std::nullopt;
  namespace fs = std::filesystem;
  std::error_code ec;
  uint64_t sum = 0;
  fs::recursive_directory_iterator it(path, fs::directory_options::none, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    const fs::file_status status = it->symlink_status(type_ec);
    if (type_ec) return std::nullopt;
    if (!fs::is_regular_file(status)) continue;
    const uintmax_t size = it->file_size(type_ec);
    if (type_ec) return std::nullopt;
    sum += size;
  }
  if (ec) return std::nullopt;
  return sum;
}

ProgressFigures FiguresOf(const Progress& p, const std::optional<uint64_t>& source_size) {
  ProgressFigures f;
  f.bytes = source_size ? p.source_bytes : p.bytes;
  f.total = source_size;
  f.files = p.files;
  f.elapsed_s = p.elapsed_s;
  return f;
}

Progress FinalProgress(const VerifyReport& report) {
  Progress p;
  p.entries = report.entries;
  p.files = report.files;
  p.bytes = report.bytes;
  p.source_bytes = report.source_bytes;
  p.elapsed_s = report.duration_s;
  return p;
}

ProgressLine::ProgressLine(int fd, bool json)
    : fd_(fd), enabled_(!json && fd >= 0 && isatty(fd) == 1), clock_(&SteadySeconds) {}

ProgressLine::ProgressLine(int fd, std::function<double()> clock)
    : fd_(fd), enabled_(fd >= 0), clock_(std::move(clock)) {}

ProgressLine::~ProgressLine() { Erase(); }

void ProgressLine::Show(const ProgressFigures& f) {
  if (!enabled_) return;
  std::lock_guard lock(mu_);
  const double now = clock_();
  if (drawn_at_ >= 0 && now - drawn_at_ < kRedrawEvery) return;
  drawn_at_ = now;
  DrawLocked(f);
}

void ProgressLine::Finish(const ProgressFigures& f) {
  if (!enabled_) return;
  std::lock_guard lock(mu_);
  DrawLocked(f);
  EraseLocked();
  drawn_at_ = -1;
}

void ProgressLine::Erase() {
  if (!enabled_) return;
  std::lock_guard lock(mu_);
  EraseLocked();
}

void ProgressLine::Print(std::ostream& out, std::string_view text) {
  if (!enabled_) {
    out << text << std::flush;
    return;
  }
  std::lock_guard lock(mu_);
  EraseLocked();
  out << text << std::flush;
}

void ProgressLine::DrawLocked(const ProgressFigures& f) {
  std::string line = FormatProgress(f);
  // One column short of the width: a line that fills it would wrap, and \r returns only to
  // the start of its last row.
  if (const size_t columns = Columns(fd_); columns > 1) line = Truncated(std::move(line), columns - 1);
  Write(std::string("\r") + line + "\x1b[K");
  drawn_ = true;
}

void ProgressLine::EraseLocked() {
  if (!drawn_) return;
  Write(kEraseLine);
  drawn_ = false;
}

void ProgressLine::Write(std::string_view bytes) const {
  int err = 0;
  WriteAll(fd_, bytes, &err);  // a terminal that cannot be written to only loses the drawing
}

ProgressAwareStream::ProgressAwareStream(ProgressLine* line, std::ostream* target)
    : std::ostream(&buffer_), buffer_(line, target) {}

ProgressAwareStream::~ProgressAwareStream() { buffer_.pubsync(); }

ProgressAwareStream::Buffer::int_type ProgressAwareStream::Buffer::overflow(int_type c) {
  if (!traits_type::eq_int_type(c, traits_type::eof())) pending_ += traits_type::to_char_type(c);
  return traits_type::not_eof(c);
}

std::streamsize ProgressAwareStream::Buffer::xsputn(const char* s, std::streamsize n) {
  pending_.append(s, static_cast<size_t>(n));
  return n;
}

int ProgressAwareStream::Buffer::sync() {
  if (pending_.empty()) return 0;
  line_->Print(*out_, pending_);
  pending_.clear();
  return 0;
}

}  // namespace rp
