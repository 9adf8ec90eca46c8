#include "sources/decode_ahead.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace rp::detail {

struct DecodeAhead::Shared : std::enable_shared_from_this<DecodeAhead::Shared> {
  struct Block {  // of the pool a StreamDecoder decodes into
    std::vector<uint8_t> bytes;
  };
  struct Item {  // a decoded block, or the final outcome
    const void* data = nullptr;
    size_t size = 0;
    std::shared_ptr<const void> owner;
    DecodeOutcome outcome = DecodeOutcome::kData;
    uint64_t compressed = 0;  // the decoder's compressed_bytes() after this block
  };

  std::unique_ptr<StreamDecoder> copying;  // one of these two
  std::unique_ptr<LendingDecoder> lending;
  Decoder* decoder = nullptr;
  std::mutex mu;
  std::condition_variable to_decoder, to_reader;
  std::deque<std::unique_ptr<Block>> blocks;  // stable addresses
  std::deque<Block*> free;
  std::deque<Item> ready;
  bool stop = false;
  std::thread thread;
  // Written by the decoder before it queues the final item; read after it is taken.
  std::string error;
  int read_errno = 0;

  // A pool block to decode into, under `lock`: a free one, or a new one while fewer than
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

  void Return(Block* b) {
    {
      std::lock_guard lock(mu);
      free.push_back(b);
    }
    to_decoder.notify_one();
  }

  // Decodes the next item, into pool block `b` for a StreamDecoder (not under the lock).
  Item Fill(Block* b) {
    Item it;
    if (lending) {
      it.outcome = lending->Lend(&it.data, &it.size, &it.owner);
    } else {
      it.outcome = copying->Decode(b->bytes.data(), b->bytes.size(), &it.size);
      it.data = b->bytes.data();
      if (it.outcome == DecodeOutcome::kData) {
        // An owner of block b: when its last copy goes, b is free again.
        it.owner = std::shared_ptr<const void>(b->bytes.data(), [self = shared_from_this(), b](const void*) {
          self->Return(b);
        });
      } else {
        Return(b);
      }
    }
    it.compressed = decoder->compressed_bytes();
    if (it.outcome != DecodeOutcome::kData) {
      error = decoder->error();
      read_errno = decoder->read_errno();
    }
    return it;
  }

  void Run() {
    for (;;) {
      Block* b = nullptr;
      {
        std::unique_lock lock(mu);
        to_decoder.wait(lock, [&] {
          return stop || (ready.size() < kAhead && (lending || (b = Take()) != nullptr));
        });
        if (stop) {
          if (b) free.push_back(b);
          return;
        }
      }
      Item it = Fill(b);
      const bool last = it.outcome != DecodeOutcome::kData;
      {
        std::lock_guard lock(mu);
        ready.push_back(std::move(it));
      }
      to_reader.notify_one();
      if (last) return;
    }
  }
};

DecodeAhead::DecodeAhead(std::unique_ptr<StreamDecoder> decoder) : shared_(std::make_shared<Shared>()) {
  shared_->decoder = decoder.get();
  shared_->copying = std::move(decoder);
  Start();
}

DecodeAhead::DecodeAhead(std::unique_ptr<LendingDecoder> decoder) : shared_(std::make_shared<Shared>()) {
  shared_->decoder = decoder.get();
  shared_->lending = std::move(decoder);
  Start();
}

void DecodeAhead::Start() {
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
  if (shared_->lending) shared_->lending->Stop();  // it may wait for memory the writers hold
  if (shared_->thread.joinable()) shared_->thread.join();
  std::deque<Shared::Item> dropped;  // their owners' deleters take the lock
  {
    std::lock_guard lock(shared_->mu);
    dropped.swap(shared_->ready);
  }
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
  Shared::Item it;
  {
    std::unique_lock lock(s.mu);
    if (s.thread.joinable()) {
      s.to_reader.wait(lock, [&] { return !s.ready.empty(); });
      it = std::move(s.ready.front());
      s.ready.pop_front();
      s.to_decoder.notify_one();  // it may be waiting for the reader to fall behind less
    } else {
      Shared::Block* b = nullptr;
      if (!s.lending) s.to_decoder.wait(lock, [&] { return (b = s.Take()) != nullptr; });
      lock.unlock();
      it = s.Fill(b);
    }
  }
  compressed_ = it.compressed;
  if (it.outcome != DecodeOutcome::kData) {
    final_ = it.outcome;
    std::lock_guard lock(s.mu);  // the decoder wrote these before it queued this item
    error_ = s.error;
    read_errno_ = s.read_errno;
    return *final_;
  }
  held_ = std::move(it.owner);
  if (owner) *owner = held_;
  if (head_.size() < 4)
    head_.append(static_cast<const char*>(it.data), std::min<size_t>(4 - head_.size(), it.size));
  *data = it.data;
  *size = it.size;
  return DecodeOutcome::kData;
}

}  // namespace rp::detail
