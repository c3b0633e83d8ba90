// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <arrow/buffer.h>
#include <arrow/filesystem/filesystem.h>

#include "otap_parquet/storage/forwarding_file_system.h"

namespace otap_parquet::dataset {

/// \brief A file system that keeps the bytes of the small files it reads, for a run
/// that opens each file several times (compact: the orphan check, the id collision
/// check, the footer, the copy) on an object store, where each open costs requests
/// (a footer read, a read per column chunk) and each request is billed.
///
/// A file opened with its size (OpenInputFile(FileInfo), a FileInfo from a listing:
/// OpenListedFile) of at most `max_file_bytes` is read whole, in one request, and
/// served from memory when opened again; beyond `budget_bytes` the least recently
/// opened ones are dropped. Only for files that never change once published (the
/// dataset's Parquet files: unique names, written once): a file deleted, moved or
/// written through this file system is forgotten, but a change made by another
/// process is not seen. Everything else passes through.
///
/// Thread safety: that of the wrapped file system; the cache has its own lock.
class SmallFileCache : public ForwardingFileSystem {
 public:
  SmallFileCache(std::shared_ptr<arrow::fs::FileSystem> base, int64_t max_file_bytes,
                 int64_t budget_bytes);

  using ForwardingFileSystem::OpenInputFile;
  using ForwardingFileSystem::OpenOutputStream;

  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(
      const arrow::fs::FileInfo& info) override;
  arrow::Status DeleteFile(const std::string& path) override;
  arrow::Status Move(const std::string& src, const std::string& dest) override;
  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenOutputStream(
      const std::string& path,
      const std::shared_ptr<const arrow::KeyValueMetadata>& metadata) override;

  /// Files read whole from the wrapped file system, and opens served from memory.
  int64_t files_read() const;
  int64_t hits() const;

 private:
  void Forget(const std::string& path);

  const int64_t max_file_bytes_;
  const int64_t budget_bytes_;
  mutable std::mutex mutex_;
  // Most recently opened first.
  std::list<std::string> order_;
  struct Entry {
    std::shared_ptr<arrow::Buffer> bytes;
    std::list<std::string>::iterator at;
  };
  std::map<std::string, Entry> entries_;
  int64_t bytes_ = 0;
  int64_t files_read_ = 0;
  int64_t hits_ = 0;
};

}  // namespace otap_parquet::dataset
