#include "decode_ahead.h"

#include <algorithm>
#include <system_error>

namespace rp::detail {

DecodeAhead::DecodeAhead(std::unique_ptr<StreamDecoder> decoder) : decoder_(std::move(decoder)), blocks_(kBlocks) {
  for (size_t i = 0; i < kBlocks; ++i) {
    blocks_[i].bytes.resize(kBlockBytes);
    free_.push_back(i);
  }
  try {
    thread_ = std::thread([this] { Run(); });
  } catch (const std::system_error&) {
    // Out of tasks (RLIMIT_NPROC, a pids cgroup): Next() decodes on the reader's thread.
  }
}

DecodeAhead::~DecodeAhead() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  to_decoder_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DecodeAhead::Fill(Block* b) {
  b->outcome = decoder_->Decode(b->bytes.data(), b->bytes.size(), &b->size);
  b->compressed = decoder_->compressed_bytes();
  if (b->outcome != DecodeOutcome::kData) {
    error_ = decoder_->error();
    read_errno_ = decoder_->read_errno();
  }
}

void DecodeAhead::Run() {
  for (;;) {
    size_t i;
    {
      std::unique_lock lock(mu_);
      to_decoder_.wait(lock, [this] { return stop_ || !free_.empty(); });
      if (stop_) return;
      i = free_.front();
      free_.pop_front();
    }
    Fill(&blocks_[i]);
    const bool last = blocks_[i].outcome != DecodeOutcome::kData;
    {
      std::lock_guard lock(mu_);
      ready_.push_back(i);
    }
    to_reader_.notify_one();
    if (last) return;
  }
}

DecodeOutcome DecodeAhead::Next(const void** data, size_t* size) {
  *size = 0;
  if (final_) return *final_;
  size_t i;
  {
    std::unique_lock lock(mu_);
    if (held_) {
      free_.push_back(*held_);
      held_.reset();
      to_decoder_.notify_one();
    }
    if (thread_.joinable()) {
      to_reader_.wait(lock, [this] { return !ready_.empty(); });
      i = ready_.front();
      ready_.pop_front();
    } else {
      i = free_.front();
      free_.pop_front();
      lock.unlock();
      Fill(&blocks_[i]);
    }
  }
  Block& b = blocks_[i];
  compressed_ = b.compressed;
  if (b.outcome != DecodeOutcome::kData) {
    final_ = b.outcome;
    return *final_;
  }
  held_ = i;
  if (head_.size() < 4) head_.append(reinterpret_cast<const char*>(b.bytes.data()), std::min<size_t>(4 - head_.size(), b.size));
  *data = b.bytes.data();
  *size = b.size;
  return DecodeOutcome::kData;
}

}  // namespace rp::detail
