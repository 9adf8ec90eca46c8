#include "decode_ahead.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace rp::detail {

struct DecodeAhead::Shared : std::enable_shared_from_this<DecodeAhead::Shared> {
  struct Block {
    std::vector<uint8_t> bytes;
    size_t size = 0;
    DecodeOutcome outcome = DecodeOutcome::kData;
    uint64_t compressed = 0;  // the decoder's compressed_bytes() after this block
  };

  std::unique_ptr<StreamDecoder> decoder;
  std::mutex mu;
  std::condition_variable to_decoder, to_reader;
  std::deque<std::unique_ptr<Block>> blocks;  // stable addresses
  std::deque<Block*> free, ready;
  bool stop = false;
  std::thread thread;
  // Written by the decoder before it queues the final block; read after it is taken.
  std::string error;
  int read_errno = 0;

  // A block to decode into, under `lock`: a free one, or a new one while fewer than
  // kMaxBlocks exist; null when the decoder must wait.
  Block* Take() {
    if (!free.empty()) {
      Block* b = free.front();
      free.pop_front();
      return b;
    }
    if (blocks.size() >= kMaxBlocks) return nullptr;
    blocks.push_back(std::make_unique<Block>());
    blocks.back()->bytes.resize(kBlockBytes);
    return blocks.back().get();
  }

  void Fill(Block* b) {
    b->outcome = decoder->Decode(b->bytes.data(), b->bytes.size(), &b->size);
    b->compressed = decoder->compressed_bytes();
    if (b->outcome != DecodeOutcome::kData) {
      error = decoder->error();
      read_errno = decoder->read_errno();
    }
  }

  void Run() {
    for (;;) {
      Block* b = nullptr;
      {
        std::unique_lock lock(mu);
        to_decoder.wait(lock, [&] { return stop || (ready.size() < kAhead && (b = Take()) != nullptr); });
        if (stop) {
          if (b) free.push_back(b);
          return;
        }
      }
      Fill(b);
      const bool last = b->outcome != DecodeOutcome::kData;
      {
        std::lock_guard lock(mu);
        ready.push_back(b);
      }
      to_reader.notify_one();
      if (last) return;
    }
  }

  // An owner of block b: when its last copy goes, b is free again.
  std::shared_ptr<const void> Lend(Block* b) {
    return std::shared_ptr<const void>(b->bytes.data(), [self = shared_from_this(), b](const void*) {
      {
        std::lock_guard lock(self->mu);
        self->free.push_back(b);
      }
      self->to_decoder.notify_one();
    });
  }
};

DecodeAhead::DecodeAhead(std::unique_ptr<StreamDecoder> decoder) : shared_(std::make_shared<Shared>()) {
  shared_->decoder = std::move(decoder);
  try {
    shared_->thread = std::thread([s = shared_.get()] { s->Run(); });
  } catch (const std::system_error&) {
    // Out of tasks (RLIMIT_NPROC, a pids cgroup): Next() decodes on the reader's thread.
  }
}

DecodeAhead::~DecodeAhead() {
  {
    std::lock_guard lock(shared_->mu);
    shared_->stop = true;
  }
  shared_->to_decoder.notify_all();
  if (shared_->thread.joinable()) shared_->thread.join();
}

size_t DecodeAhead::blocks_allocated() const {
  std::lock_guard lock(shared_->mu);
  return shared_->blocks.size();
}

DecodeOutcome DecodeAhead::Next(const void** data, size_t* size, std::shared_ptr<const void>* owner) {
  *size = 0;
  if (final_) return *final_;
  held_.reset();  // the last block goes back unless the caller kept an owner
  Shared& s = *shared_;
  Shared::Block* b = nullptr;
  {
    std::unique_lock lock(s.mu);
    if (s.thread.joinable()) {
      s.to_reader.wait(lock, [&] { return !s.ready.empty(); });
      b = s.ready.front();
      s.ready.pop_front();
      s.to_decoder.notify_one();  // it may be waiting for the reader to fall behind less
    } else {
      s.to_decoder.wait(lock, [&] { return (b = s.Take()) != nullptr; });
      lock.unlock();
      s.Fill(b);
    }
  }
  compressed_ = b->compressed;
  if (b->outcome != DecodeOutcome::kData) {
    final_ = b->outcome;
    std::lock_guard lock(s.mu);  // the decoder wrote these before it queued this block
    error_ = s.error;
    read_errno_ = s.read_errno;
    s.free.push_back(b);
    return *final_;
  }
  held_ = s.Lend(b);
  if (owner) *owner = held_;
  if (head_.size() < 4)
    head_.append(reinterpret_cast<const char*>(b->bytes.data()), std::min<size_t>(4 - head_.size(), b->size));
  *data = b->bytes.data();
  *size = b->size;
  return DecodeOutcome::kData;
}

}  // namespace rp::detail
