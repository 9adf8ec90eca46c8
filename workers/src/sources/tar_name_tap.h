// Internal: the raw bytes of the names in a pax archive's extended headers, for the entries
// whose names libarchive changes on the way out.
//
// libarchive converts a pax `path` or `linkpath` value (UTF-8 by the standard) to the locale's
// charset, and on that way normalises it to Unicode NFC: a name written in decomposed form (as
// macOS writes them) comes out with other bytes, and a name that is not valid UTF-8 (restic
// writes such names as they are) comes out with '?' in it. The tap follows the uncompressed tar
// stream as it is handed to libarchive, block by block, reads each entry's headers (never its
// content: content is skipped by its size) and keeps, for every entry with a non-ASCII pax
// name, where the entry's first header starts and the raw values. The reader asks for them by
// libarchive's header position. An entry that does not start where the tap expects it turns
// the tap off for the rest of the stream: libarchive's names are then used as they come.
// Bounded: it holds the entries between what it has seen and what libarchive has returned, at
// most kMaxPending of them, and extended headers up to kMaxPaxBytes. Not thread-safe; one per
// reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace rp::detail {

struct RawTarNames {
  std::optional<std::string> path;      // the pax `path` value as stored
  std::optional<std::string> linkpath;  // the pax `linkpath` value as stored
  // The extended header parsed cleanly, and the only values in it that are not valid UTF-8 are
  // the names given back here raw: libarchive's ARCHIVE_WARN for the entry (it cannot convert
  // them) is about nothing else, and these raw values make it moot.
  bool warning_explained = false;
};

class TarNameTap {
 public:
  static constexpr size_t kMaxPaxBytes = 1u << 20;
  static constexpr size_t kMaxPending = 1u << 16;

  // The next bytes of the stream, in order.
  void Feed(const char* data, size_t n);
  // `n` bytes of the stream that libarchive skipped without reading them.
  void Skip(uint64_t n);
  // The entry libarchive returned, whose first header starts at `header_offset`: its raw
  // names, when it has non-ASCII pax names. Entries before it are dropped.
  std::optional<RawTarNames> Take(int64_t header_offset);
  bool active() const { return state_ != State::kOff; }
  // The stream is being read out of order (a seek): nothing more can be followed.
  void Disable() { Off(); }

 private:
  // kDone: past the end-of-archive marker; what is pending is still handed out.
  enum class State { kHeader, kPaxData, kSparseExtension, kSkip, kDone, kOff };
  struct Pending {
    uint64_t start = 0;  // offset of the entry's first header block
    bool names = false;  // carries raw names
    RawTarNames raw;
  };
  void OnHeader(std::string_view block);
  void OnPaxData();
  void OnSparseExtension(std::string_view block);
  void Off();

  State state_ = State::kHeader;
  uint64_t offset_ = 0;     // bytes of the stream fed or skipped so far
  uint64_t remaining_ = 0;  // bytes still to collect (pax data) or to skip
  std::string block_;       // the header block being collected
  std::string pax_;         // the extended header being collected
  uint64_t pax_padding_ = 0;
  bool pax_seen_ = false;   // libarchive then takes the archive for pax (hard links' sizes)
  std::optional<uint64_t> entry_start_;  // first header of the entry being read
  std::optional<uint64_t> pax_size_;     // the pax `size` for the next main header
  RawTarNames next_;        // raw values for the next main header
  bool next_has_names_ = false;
  uint64_t content_after_extensions_ = 0;  // an old GNU sparse entry's content
  std::deque<Pending> pending_;
};

}  // namespace rp::detail
