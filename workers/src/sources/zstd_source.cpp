#include "sources/zstd_source.h"

#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY  // the block-by-block API: ZSTD_decompressBegin/Continue
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <new>

#include "rp/posix_io.h"

namespace rp::detail {
namespace {

constexpr size_t kInBytes = 256 * 1024;
// zstd(1) decodes windows up to 2^27 bytes unless told otherwise (--long, --memory).
constexpr uint64_t kMaxWindow = uint64_t{1} << ZSTD_WINDOWLOG_LIMIT_DEFAULT;
constexpr const char* kTooLarge =
    "the frame needs a window larger than 128 MiB (zstd --long beyond 27), which is not decoded so that memory "
    "stays bounded";

// A zstd frame starts with 28 b5 2f fd (0xFD2FB528, little-endian).
bool StartsFrame(const uint8_t* p) { return p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd; }

}  // namespace

// The ranges lent out are kept exactly (a range ends where the next block begins, so anything
// coarser would have the decoder wait for the range it just handed out); the decoder waits on
// `freed` until the room it is about to decode into holds none of them. One gate serves every
// ring a source has (a frame with a larger window gets a new ring), so Stop() reaches
// whichever the decoder waits on.
struct ZstdSource::Gate {
  std::mutex mu;
  std::condition_variable freed;
  std::atomic<bool> stop{false};  // set under mu (WaitFree); read without it between frames
};

struct ZstdSource::Ring {
  struct Lent {
    size_t begin, end;
    uint64_t id;
  };
  std::shared_ptr<Gate> gate;
  std::unique_ptr<uint8_t[]> bytes;  // not zeroed: pages are touched as blocks are decoded
  size_t size = 0;
  std::vector<Lent> lent;  // under gate->mu; a few dozen at most (kLendBytes / a block)
  uint64_t next_id = 0;

  // Waits until no owner holds any byte of [at, at + n); false once stopped.
  bool WaitFree(size_t at, size_t n) {
    std::unique_lock lock(gate->mu);
    gate->freed.wait(lock, [&] {
      return gate->stop ||
             std::none_of(lent.begin(), lent.end(), [&](const Lent& l) { return l.begin < at + n && at < l.end; });
    });
    return !gate->stop;
  }

  // An owner of [at, at + n): lent until its last copy goes.
  static std::shared_ptr<const void> Pin(const std::shared_ptr<Ring>& ring, size_t at, size_t n) {
    uint64_t id = 0;
    {
      std::lock_guard lock(ring->gate->mu);
      id = ring->next_id++;
      ring->lent.push_back(Lent{at, at + n, id});
    }
    return std::shared_ptr<const void>(ring->bytes.get() + at, [ring, id](const void*) {
      {
        std::lock_guard lock(ring->gate->mu);
        auto& l = ring->lent;
        const auto it = std::find_if(l.begin(), l.end(), [&](const Lent& x) { return x.id == id; });
        if (it != l.end()) {
          *it = l.back();
          l.pop_back();
        }
      }
      ring->gate->freed.notify_one();
    });
  }
};

void ZstdSource::DctxFree::operator()(ZSTD_DCtx_s* d) const { ZSTD_freeDCtx(d); }

bool ZstdSource::Detect(int fd) {
  uint8_t m[4];
  return pread(fd, m, sizeof m, 0) == 4 && StartsFrame(m);
}

ZstdSource::ZstdSource(int fd, size_t max_read, std::unique_ptr<MappedSource> mapped)
    : fd_(fd),
      dctx_(ZSTD_createDCtx()),
      in_(mapped ? 0 : kInBytes),
      max_read_(max_read ? max_read : kInBytes),
      mapped_(std::move(mapped)),
      in_ptr_(in_.data()),
      gate_(std::make_shared<Gate>()) {}

ZstdSource::~ZstdSource() = default;

void ZstdSource::Stop() {
  {
    std::lock_guard lock(gate_->mu);
    gate_->stop = true;
  }
  gate_->freed.notify_all();
}

ZstdSource::Input ZstdSource::Refill() {
  if (file_end_) return Input::kEnd;
  if (mapped_) {
    window_.reset();
    const void* p = nullptr;
    size_t n = 0;
    bool lend = false;  // the window is not lent: decoded bytes are what goes on
    const DecodeOutcome o = mapped_->Next(&p, &n, &window_, &lend);
    in_pos_ = 0;
    in_size_ = n;
    in_ptr_ = static_cast<const uint8_t*>(p);
    if (o == DecodeOutcome::kData) return Input::kOk;
    if (o == DecodeOutcome::kEnd) {
      file_end_ = true;
      return Input::kEnd;
    }
    read_errno_ = mapped_->read_errno();
    return Input::kError;
  }
  const ssize_t n = ReadSome(fd_, in_.data(), std::min(in_.size(), max_read_));
  if (n < 0) {
    read_errno_ = errno;
    return Input::kError;
  }
  in_pos_ = 0;
  in_size_ = static_cast<size_t>(n);
  if (n > 0) return Input::kOk;
  file_end_ = true;
  return Input::kEnd;
}

ZstdSource::Input ZstdSource::Peek(size_t want, const uint8_t** p, size_t* have) {
  if (stage_pos_ == stage_.size()) {
    if (in_size_ - in_pos_ >= want) {  // the common case: within the window
      *p = in_ptr_ + in_pos_;
      *have = want;
      return Input::kOk;
    }
    stage_.clear();
    stage_pos_ = 0;
  }
  if (stage_.size() - stage_pos_ < want) {
    stage_.erase(stage_.begin(), stage_.begin() + static_cast<ptrdiff_t>(stage_pos_));
    stage_pos_ = 0;
    while (stage_.size() < want) {
      if (in_pos_ == in_size_) {
        const Input r = Refill();
        if (r == Input::kError) return r;
        if (r == Input::kEnd) break;
      }
      const size_t n = std::min(want - stage_.size(), in_size_ - in_pos_);
      stage_.insert(stage_.end(), in_ptr_ + in_pos_, in_ptr_ + in_pos_ + n);
      in_pos_ += n;
    }
  }
  *p = stage_.data() + stage_pos_;
  *have = std::min(want, stage_.size() - stage_pos_);
  return Input::kOk;
}

void ZstdSource::Take(size_t n) {
  if (stage_pos_ < stage_.size()) {
    stage_pos_ += n;  // Peek made the stage hold all it handed out
  } else {
    in_pos_ += n;
  }
  consumed_ += n;
}

std::string ZstdSource::Where() const {
  return "zstd frame " + std::to_string(frame_) + " is corrupt at or before compressed byte " + std::to_string(consumed_);
}

DecodeOutcome ZstdSource::Truncated(const char* frame_kind) {
  error_ = "zstd stream ends inside frame " + std::to_string(frame_) + frame_kind + " after " +
           std::to_string(consumed_) + " compressed bytes: the file is truncated";
  return DecodeOutcome::kTruncated;
}

DecodeOutcome ZstdSource::ReadFailed() {
  error_ = mapped_ ? mapped_->error()
                   : std::string("read error after compressed byte ") + std::to_string(consumed_) + ": " +
                         std::strerror(read_errno_);
  return DecodeOutcome::kReadError;
}

bool ZstdSource::SkipFrame(uint64_t bytes, DecodeOutcome* fail) {
  while (bytes > 0) {  // taken as they come: skipped bytes are not needed in one piece
    size_t n = stage_.size() - stage_pos_;
    if (n == 0) {
      if (in_pos_ == in_size_) {
        const Input r = Refill();
        if (r == Input::kError) return *fail = ReadFailed(), false;
        if (r == Input::kEnd) break;
      }
      n = in_size_ - in_pos_;
    }
    n = static_cast<size_t>(std::min<uint64_t>(bytes, n));
    Take(n);
    bytes -= n;
  }
  if (bytes == 0) return true;
  *fail = Truncated(" (a skippable frame)");
  return false;
}

ZstdSource::Begin ZstdSource::BeginFrame(bool keep_ring, DecodeOutcome* fail) {
  const uint8_t* p = nullptr;
  size_t have = 0;
  if (Peek(ZSTD_FRAMEHEADERSIZE_MAX, &p, &have) == Input::kError) return *fail = ReadFailed(), Begin::kFailed;
  if (have == 0) return *fail = DecodeOutcome::kEnd, Begin::kFailed;
  ZSTD_frameHeader fh{};
  const size_t wanted = ZSTD_getFrameHeader(&fh, p, have);
  if (ZSTD_isError(wanted)) {
    Take(have);
    std::string why = ZSTD_getErrorName(wanted);
    if (ZSTD_getErrorCode(wanted) == ZSTD_error_prefix_unknown) why = "no zstd frame starts here (" + why + ")";
    if (ZSTD_getErrorCode(wanted) == ZSTD_error_frameParameter_windowTooLarge) why = kTooLarge + (" (" + why + ")");
    error_ = Where() + ": " + why;
    return *fail = DecodeOutcome::kCorrupt, Begin::kFailed;
  }
  if (wanted > 0) {  // the file ends within the frame's header
    Take(have);
    return *fail = Truncated(""), Begin::kFailed;
  }
  if (fh.frameType == ZSTD_skippableFrame) {
    // (libzstd leaves headerSize 0 for a skippable frame: magic and length, 8 bytes)
    if (!SkipFrame(ZSTD_SKIPPABLEHEADERSIZE + fh.frameContentSize, fail)) return Begin::kFailed;
    ++frame_;
    return Begin::kBegun;
  }
  if (fh.windowSize > kMaxWindow) {
    Take(fh.headerSize);
    error_ = Where() + ": " + kTooLarge + " (" + std::to_string(fh.windowSize) + " bytes)";
    return *fail = DecodeOutcome::kCorrupt, Begin::kFailed;
  }
  const size_t window = ZSTD_decodingBufferSize_min(fh.windowSize, fh.frameContentSize);
  if (ZSTD_isError(window)) {
    error_ = Where() + ": " + ZSTD_getErrorName(window);
    return *fail = DecodeOutcome::kCorrupt, Begin::kFailed;
  }
  const size_t want = window + kLendBytes;
  const bool new_ring = !ring_ || ring_->size < want;
  if (new_ring && keep_ring) return Begin::kLater;  // nothing taken: read again next time
  const size_t begun = ZSTD_decompressBegin(dctx_.get());
  if (ZSTD_isError(begun)) {
    error_ = Where() + ": " + ZSTD_getErrorName(begun);
    return *fail = DecodeOutcome::kCorrupt, Begin::kFailed;
  }
  if (new_ring) {
    // The old ring goes once the owners of its bytes do; this frame needs no history from it.
    auto ring = std::make_shared<Ring>();
    ring->gate = gate_;
    ring->bytes.reset(new (std::nothrow) uint8_t[want]);
    if (!ring->bytes) {  // as for the decoder itself: a read error, not damage
      read_errno_ = ENOMEM;
      error_ = "cannot decode zstd frame " + std::to_string(frame_) + ": out of memory for its " +
               std::to_string(want) + "-byte window";
      return *fail = DecodeOutcome::kReadError, Begin::kFailed;
    }
    ring->size = want;
    ring_ = std::move(ring);
    ring_bytes_.store(want, std::memory_order_relaxed);
    out_pos_ = 0;
  }
  block_max_ = fh.blockSizeMax;
  frame_open_ = true;
  return Begin::kBegun;
}

DecodeOutcome ZstdSource::Lend(const void** data, size_t* n, std::shared_ptr<const void>* owner) {
  *n = 0;
  if (final_) return *final_;
  if (!dctx_) {  // the machine's fault, not the backup's: a read error, which aborts the run
    read_errno_ = ENOMEM;
    error_ = "cannot set up a zstd decoder: out of memory";
    return *final_ = DecodeOutcome::kReadError;
  }
  // Decodes blocks one after another into the ring, from `start`, until kLendOnce bytes are
  // out, the next block would not fit before the ring's end, the next frame needs a larger
  // ring, or the stream ends.
  size_t start = out_pos_, produced = 0;
  std::optional<DecodeOutcome> stop;
  while (!stop && produced < kLendOnce) {
    if (!frame_open_) {
      // Between frames (a file may hold millions of empty ones): a stopped reader is not kept
      // waiting for the rest of the file.
      if (gate_->stop.load(std::memory_order_relaxed)) return DecodeOutcome::kData;
      // Frames follow one another in the ring, unless one needs a larger ring: what this call
      // decoded goes out first, and the frame begins with the next call.
      DecodeOutcome fail = DecodeOutcome::kEnd;
      const Begin begun = BeginFrame(produced > 0, &fail);
      if (begun == Begin::kLater) break;
      if (begun == Begin::kFailed) {
        stop = fail;
        break;
      }
      if (produced == 0) start = out_pos_;
      continue;
    }
    const size_t need = ZSTD_nextSrcSizeToDecompress(dctx_.get());
    if (need == 0) {  // the frame is decoded, and its checksum (if it has one) matched
      frame_open_ = false;
      ++frame_;
      continue;
    }
    const ZSTD_nextInputType_e type = ZSTD_nextInputType(dctx_.get());
    const bool writes = type == ZSTDnit_block || type == ZSTDnit_lastBlock;
    if (writes) {
      if (out_pos_ + block_max_ > ring_->size) {  // wrap, as zstd's own round buffer does
        if (produced > 0) break;
        out_pos_ = start = 0;
      }
      // libzstd may write anywhere in the room it is given, so all of it must be free.
      if (!ring_->WaitFree(out_pos_, block_max_)) return DecodeOutcome::kData;  // stopped
    }
    const uint8_t* p = nullptr;
    size_t have = 0;
    if (Peek(need, &p, &have) == Input::kError) {
      stop = ReadFailed();
      break;
    }
    if (have < need) {
      Take(have);
      stop = Truncated("");
      break;
    }
    const size_t r = ZSTD_decompressContinue(dctx_.get(), ring_->bytes.get() + out_pos_, writes ? block_max_ : 0, p, need);
    Take(need);
    if (ZSTD_isError(r)) {
      // The error lies in the unit just taken: a block, or a frame's header or checksum.
      const ZSTD_ErrorCode code = ZSTD_getErrorCode(r);
      std::string why = ZSTD_getErrorName(r);
      if (code == ZSTD_error_checksum_wrong) why = "the frame's content checksum (XXH64) does not match its data";
      error_ = Where() + ": " + why;
      stop = DecodeOutcome::kCorrupt;
      break;
    }
    out_pos_ += r;
    produced += r;
  }
  if (stop) final_ = stop;
  if (produced == 0) return final_ ? *final_ : DecodeOutcome::kData;
  // Bytes decoded before an error go out first; the error comes with the next call.
  *data = ring_->bytes.get() + start;
  *n = produced;
  *owner = Ring::Pin(ring_, start, produced);
  return DecodeOutcome::kData;
}

}  // namespace rp::detail
