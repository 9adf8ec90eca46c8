#include "pipeline/row_sorter.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "rp/posix_io.h"

namespace rp::detail {
namespace {

// Encoded row: a fixed header, then the path, then the digest.
struct Head {
  uint32_t len;  // whole encoded row
  uint32_t path_len;
  uint8_t kind, flags, hex_len, pad;
  uint64_t seq, size;
  uint32_t mode, pad2;
  int64_t mtime_sec, mtime_nsec;
};
static_assert(sizeof(Head) == 56);

constexpr size_t kReadBuffer = 64 * 1024;

void Encode(const Row& r, std::string* out) {
  Head h{};
  h.path_len = static_cast<uint32_t>(r.path.size());
  h.hex_len = static_cast<uint8_t>(r.hex.size());
  h.len = static_cast<uint32_t>(sizeof(Head) + r.path.size() + r.hex.size());
  h.kind = static_cast<uint8_t>(r.kind);
  h.flags = r.flags;
  h.seq = r.seq;
  h.size = r.size;
  h.mode = r.mode;
  h.mtime_sec = r.mtime_sec;
  h.mtime_nsec = r.mtime_nsec;
  out->append(reinterpret_cast<const char*>(&h), sizeof h);
  out->append(r.path);
  out->append(r.hex);
}

Head HeadAt(const char* p) {
  Head h;
  std::memcpy(&h, p, sizeof h);
  return h;
}

std::string_view PathAt(const char* p) {
  const Head h = HeadAt(p);
  return std::string_view(p + sizeof(Head), h.path_len);
}

void Decode(const char* p, Row* r) {
  const Head h = HeadAt(p);
  r->path.assign(p + sizeof(Head), h.path_len);
  r->hex.assign(p + sizeof(Head) + h.path_len, h.hex_len);
  r->seq = h.seq;
  r->kind = static_cast<RowKind>(h.kind);
  r->flags = h.flags;
  r->size = h.size;
  r->mode = h.mode;
  r->mtime_sec = h.mtime_sec;
  r->mtime_nsec = h.mtime_nsec;
}

bool Before(const char* a, const char* b) {
  const std::string_view pa = PathAt(a), pb = PathAt(b);
  if (pa != pb) return pa < pb;
  return HeadAt(a).seq < HeadAt(b).seq;
}

}  // namespace

// One sorted run being read: the in-memory run, or a spilled run read through a buffer.
struct RowSorter::Cursor {
  bool in_memory = false;
  size_t index = 0;  // in-memory: next offset index
  int fd = -1;
  uint64_t pos = 0, end = 0;  // spilled: file range still to read
  std::vector<char> buf;
  size_t buf_pos = 0, buf_len = 0;
  Row row;  // the current row

  // Loads the next row; false at the end or on a read error (*err set).
  bool Advance(const RowSorter& s, Status* err) {
    if (in_memory) {
      if (index >= s.offs_.size()) return false;
      Decode(s.arena_.data() + s.offs_[index++], &row);
      return true;
    }
    if (buf_len - buf_pos < sizeof(Head) || buf_len - buf_pos < HeadAt(buf.data() + buf_pos).len) {
      // Move what is left to the front and refill.
      std::memmove(buf.data(), buf.data() + buf_pos, buf_len - buf_pos);
      buf_len -= buf_pos;
      buf_pos = 0;
      if (buf_len >= sizeof(Head)) {
        const size_t need = HeadAt(buf.data()).len;
        if (need > buf.size()) buf.resize(need);
      }
      while (pos < end && buf_len < buf.size()) {
        const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size() - buf_len, end - pos));
        const ssize_t n = pread(fd, buf.data() + buf_len, want, static_cast<off_t>(pos));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          *err = Status::Environment(std::string("cannot read the spill file for sorted rows: ") +
                                     (n < 0 ? std::strerror(errno) : "unexpected end"));
          return false;
        }
        buf_len += static_cast<size_t>(n);
        pos += static_cast<uint64_t>(n);
        if (buf_len >= sizeof(Head) && HeadAt(buf.data()).len > buf.size()) buf.resize(HeadAt(buf.data()).len);
      }
      if (buf_len == 0) return false;
      if (buf_len < sizeof(Head) || buf_len < HeadAt(buf.data()).len) {
        *err = Status::Environment("the spill file for sorted rows ends inside a row");
        return false;
      }
    }
    const char* p = buf.data() + buf_pos;
    Decode(p, &row);
    buf_pos += HeadAt(p).len;
    return true;
  }
};

RowSorter::RowSorter(int dir_fd, size_t budget) : dir_fd_(dir_fd), budget_(std::max<size_t>(budget, 4096)) {}

RowSorter::~RowSorter() {
  if (spill_fd_ >= 0) close(spill_fd_);
}

bool RowSorter::OpenSpillLocked() {
  spill_fd_ = openat(dir_fd_, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (spill_fd_ >= 0) return true;
  // File systems without O_TMPFILE: a randomly named file, unlinked at once.
  for (int attempt = 0; attempt < 8 && spill_fd_ < 0; ++attempt) {
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r) r = static_cast<uint64_t>(getpid()) * 7919u + static_cast<uint64_t>(attempt);
    char name[48];
    std::snprintf(name, sizeof name, ".rp-rows-%016llx", static_cast<unsigned long long>(r));
    spill_fd_ = openat(dir_fd_, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (spill_fd_ >= 0) unlinkat(dir_fd_, name, 0);
    else if (errno != EEXIST) break;
  }
  if (spill_fd_ >= 0) return true;
  status_ = Status::Environment(std::string("cannot create the spill file for sorted rows: ") +
                                std::strerror(errno));
  return false;
}

void RowSorter::SpillLocked() {
  if (offs_.empty() || !status_.ok()) return;
  if (spill_fd_ < 0 && !OpenSpillLocked()) return;
  std::sort(offs_.begin(), offs_.end(),
            [this](uint32_t a, uint32_t b) { return Before(arena_.data() + a, arena_.data() + b); });
  std::string out;
  out.reserve(std::min<size_t>(arena_.size(), 1u << 20));
  const uint64_t start = spill_end_;
  auto flush = [&]() -> bool {
    int err = 0;
    if (out.empty()) return true;
    if (lseek(spill_fd_, static_cast<off_t>(spill_end_), SEEK_SET) < 0 || !WriteAll(spill_fd_, out, &err)) {
      status_ = Status::Environment(std::string("cannot write the spill file for sorted rows: ") +
                                    std::strerror(err ? err : errno));
      return false;
    }
    spill_end_ += out.size();
    out.clear();
    return true;
  };
  for (uint32_t off : offs_) {
    const char* p = arena_.data() + off;
    out.append(p, HeadAt(p).len);
    if (out.size() >= (1u << 20) && !flush()) return;
  }
  if (!flush()) return;
  runs_.push_back(Run{start, spill_end_ - start});
  arena_.clear();
  offs_.clear();
}

void RowSorter::Add(const Row& row) {
  std::lock_guard lock(mu_);
  ++rows_;
  if (!status_.ok()) return;
  if (arena_.capacity() < budget_) arena_.reserve(budget_);
  const size_t len = sizeof(Head) + row.path.size() + row.hex.size();
  if (!offs_.empty() && arena_.size() + len + (offs_.size() + 1) * sizeof(uint32_t) > budget_) SpillLocked();
  offs_.push_back(static_cast<uint32_t>(arena_.size()));
  sorted_ = false;
  Encode(row, &arena_);
}

namespace {
struct CursorAfter {
  template <class C>
  bool operator()(const C& a, const C& b) const {
    if (a->row.path != b->row.path) return a->row.path > b->row.path;
    return a->row.seq > b->row.seq;
  }
};
}  // namespace

void RowSorter::Rewind() {
  std::lock_guard lock(mu_);
  heap_.clear();
  if (!sorted_) {  // a second Rewind with no Add between finds the run sorted
    std::sort(offs_.begin(), offs_.end(),
              [this](uint32_t a, uint32_t b) { return Before(arena_.data() + a, arena_.data() + b); });
    sorted_ = true;
  }
  auto push = [&](std::unique_ptr<Cursor> c) {
    if (c->Advance(*this, &status_)) heap_.push_back(std::move(c));
  };
  for (const Run& r : runs_) {
    auto c = std::make_unique<Cursor>();
    c->fd = spill_fd_;
    c->pos = r.start;
    c->end = r.start + r.bytes;
    c->buf.resize(kReadBuffer);
    push(std::move(c));
  }
  auto mem = std::make_unique<Cursor>();
  mem->in_memory = true;
  push(std::move(mem));
  std::make_heap(heap_.begin(), heap_.end(), CursorAfter{});
}

bool RowSorter::Next(Row* row) {
  if (heap_.empty()) return false;
  std::pop_heap(heap_.begin(), heap_.end(), CursorAfter{});
  auto& c = heap_.back();
  std::swap(*row, c->row);
  if (c->Advance(*this, &status_)) {
    std::push_heap(heap_.begin(), heap_.end(), CursorAfter{});
  } else {
    heap_.pop_back();
  }
  return true;
}

bool LastPerPath::Next(Row* row) {
  if (!started_) {
    started_ = true;
    have_ahead_ = src_->Next(&ahead_);
  }
  if (!have_ahead_) return false;
  std::swap(*row, ahead_);
  while ((have_ahead_ = src_->Next(&ahead_)) && ahead_.path == row->path) std::swap(*row, ahead_);
  return true;
}

}  // namespace rp::detail
