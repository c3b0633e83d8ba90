// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/storage/small_file_cache.h"

#include <utility>

#include <arrow/io/interfaces.h>
#include <arrow/io/memory.h>

namespace otap_parquet::dataset {

using arrow::Status;

SmallFileCache::SmallFileCache(std::shared_ptr<arrow::fs::FileSystem> base,
                               int64_t max_file_bytes, int64_t budget_bytes)
    : ForwardingFileSystem(std::move(base)),
      max_file_bytes_(max_file_bytes),
      budget_bytes_(budget_bytes) {}

arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> SmallFileCache::OpenInputFile(
    const arrow::fs::FileInfo& info) {
  const int64_t size = info.size();
  if (size < 0 || size > max_file_bytes_ || size > budget_bytes_) {
    return ForwardingFileSystem::OpenInputFile(info);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(info.path());
    if (it != entries_.end() && it->second.bytes->size() == size) {
      order_.splice(order_.begin(), order_, it->second.at);
      ++hits_;
      return std::make_shared<arrow::io::BufferReader>(it->second.bytes);
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto input, ForwardingFileSystem::OpenInputFile(info));
  ARROW_ASSIGN_OR_RAISE(auto bytes, input->ReadAt(0, size));
  if (bytes->size() != size) {
    return Status::IOError("reading ", info.path(), ": ", bytes->size(),
                           " bytes instead of ", size, " (changed since listed)");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  ++files_read_;
  if (!entries_.contains(info.path())) {
    order_.push_front(info.path());
    entries_[info.path()] = Entry{bytes, order_.begin()};
    bytes_ += size;
    while (bytes_ > budget_bytes_ && !order_.empty()) {
      auto last = entries_.find(order_.back());
      bytes_ -= last->second.bytes->size();
      entries_.erase(last);
      order_.pop_back();
    }
  }
  return std::make_shared<arrow::io::BufferReader>(std::move(bytes));
}

void SmallFileCache::Forget(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(path);
  if (it == entries_.end()) return;
  bytes_ -= it->second.bytes->size();
  order_.erase(it->second.at);
  entries_.erase(it);
}

Status SmallFileCache::DeleteFile(const std::string& path) {
  Forget(path);
  return ForwardingFileSystem::DeleteFile(path);
}

Status SmallFileCache::Move(const std::string& src, const std::string& dest) {
  Forget(src);
  Forget(dest);
  return ForwardingFileSystem::Move(src, dest);
}

arrow::Result<std::shared_ptr<arrow::io::OutputStream>> SmallFileCache::OpenOutputStream(
    const std::string& path,
    const std::shared_ptr<const arrow::KeyValueMetadata>& metadata) {
  Forget(path);
  return ForwardingFileSystem::OpenOutputStream(path, metadata);
}

int64_t SmallFileCache::files_read() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return files_read_;
}

int64_t SmallFileCache::hits() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return hits_;
}

}  // namespace otap_parquet::dataset
