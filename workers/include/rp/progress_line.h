// The progress line of long commands (`verify`, `restore`, `drill run`): how much of the source
// has been read (of its size, when known), the rate, the estimated time left and the files
// restored, redrawn in place on a terminal at most 4 times a second and erased when done. It
// draws nothing when its descriptor is not a terminal or the command prints JSON, so standard
// output keeps only results. Thread-safe: one ProgressLine may be fed from several threads. It
// writes to the descriptor it is given and does not own it. The Format functions are pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "rp/report.h"
#include "rp/verify.h"

namespace rp {

// What one line shows.
struct ProgressFigures {
  std::string label;              // what is restored (a target), or ""
  uint64_t bytes = 0;             // of the source read; restored bytes when `total` is unknown
  std::optional<uint64_t> total;  // the source's size, when known
  uint64_t files = 0;             // files restored
  double elapsed_s = 0;           // time the bytes took (the rate is bytes / elapsed_s)
};

// "512 B", "12.0 KiB", "1.2 GiB" (binary multiples, one decimal).
std::string FormatBytes(uint64_t bytes);
// "0:07", "12:05", "1:02:03" (rounded up to the second).
std::string FormatClock(double seconds);
// "  1.2 GiB of 3.4 GiB (35%)  210.0 MiB/s  ETA 0:11  files 1234", the label after the
// indent when there is one. Without a total: no "of", percent or ETA; with no time elapsed: no
// rate and no ETA. The percent is rounded down, so 100% means all of it.
std::string FormatProgress(const ProgressFigures& f);
// Runs going on at once as one line: bytes and files summed, the total only when every run's
// is known, the longest elapsed time (so the rate is their combined rate).
ProgressFigures CombineProgress(const std::vector<ProgressFigures>& runs, std::string label);

// What a run will read: a regular file's size, or the sizes of a directory's regular files
// summed (symbolic links not followed); nullopt for anything else (a FIFO) or when unreadable.
std::optional<uint64_t> SourceSize(const std::string& path);
// The engine's progress as figures: bytes of the source against `source_size` when known,
// else bytes restored.
ProgressFigures FiguresOf(const Progress& p, const std::optional<uint64_t>& source_size);
// The engine's figures at the end of a run, from its report.
Progress FinalProgress(const VerifyReport& report);

class ProgressLine {
 public:
  // Draws on `fd` when it is a terminal and `json` is off; otherwise every call does nothing.
  ProgressLine(int fd, bool json);
  // Draws on `fd` whatever it is, with `clock` (seconds) deciding the redraws (tests).
  ProgressLine(int fd, std::function<double()> clock);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  bool enabled() const { return enabled_; }
  // Redraws with these figures when the last drawing is at least 0.25 s old.
  void Show(const ProgressFigures& f);
  // Draws the final figures once (so even a run shorter than its first report is shown) and
  // erases the line; later calls draw a new line.
  void Finish(const ProgressFigures& f);
  // Erases the line (if drawn).
  void Erase();
  // Writes `text` (whole lines) to `out`, a stream onto the same terminal, with the line
  // erased first; the next Show draws it again below.
  void Print(std::ostream& out, std::string_view text);

 private:
  void DrawLocked(const ProgressFigures& f);
  void EraseLocked();
  void Write(std::string_view bytes) const;

  const int fd_;
  const bool enabled_;
  const std::function<double()> clock_;
  std::mutex mu_;
  bool drawn_ = false;
  double drawn_at_ = -1;
};

// A stream for other lines written while a ProgressLine is shown (an event log): each flush
// goes through ProgressLine::Print onto `out`. Thread-safe when each writer flushes whole lines
// under its own lock (as EventLog does).
class ProgressAwareStream : public std::ostream {
 public:
  ProgressAwareStream(ProgressLine* line, std::ostream* target);
  ~ProgressAwareStream() override;

 private:
  class Buffer : public std::streambuf {
   public:
    Buffer(ProgressLine* line, std::ostream* out) : line_(line), out_(out) {}

   protected:
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
    int sync() override;

   private:
    ProgressLine* line_;
    std::ostream* out_;
    std::string pending_;
  };
  Buffer buffer_;
};

}  // namespace rp
