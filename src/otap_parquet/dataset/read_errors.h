// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Telling a storage failure (retryable: the bytes could not be fetched) from bad
/// data (a corrupt or incompatible file, skipped for good) when reading Parquet.
///
/// Arrow's Parquet reader reports both as IOError (a ParquetException from decoding
/// is wrapped as IOError too), so the error code cannot tell them apart. Instead
/// every input file is opened through TrackedInputFile, which records each failed
/// call on the underlying file: an error is a storage failure exactly when such a
/// call failed while producing it.

#include <memory>
#include <mutex>
#include <string>

#include <arrow/io/interfaces.h>
#include <arrow/status.h>

namespace otap_parquet::dataset {

/// \brief First failure of the file calls made through TrackedInputFiles sharing it.
class IoFailureLog {
 public:
  void Record(const arrow::Status& status);
  /// The first failure since the last Reset(); OK when none.
  arrow::Status first() const;
  void Reset();

 private:
  mutable std::mutex mutex_;
  arrow::Status first_;
};

/// \brief A RandomAccessFile that forwards to `inner` and records every failed call
/// in `log`.
class TrackedInputFile : public arrow::io::RandomAccessFile {
 public:
  TrackedInputFile(std::shared_ptr<arrow::io::RandomAccessFile> inner,
                   std::shared_ptr<IoFailureLog> log)
      : inner_(std::move(inner)), log_(std::move(log)) {}

  arrow::Status Close() override;
  arrow::Result<int64_t> Tell() const override;
  bool closed() const override { return inner_->closed(); }
  arrow::Status Seek(int64_t position) override;
  arrow::Result<int64_t> Read(int64_t nbytes, void* out) override;
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t nbytes) override;
  arrow::Result<int64_t> GetSize() override;
  arrow::Result<int64_t> ReadAt(int64_t position, int64_t nbytes, void* out) override;
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t position,
                                                       int64_t nbytes) override;
  arrow::Result<int64_t> ReadAt(int64_t position, int64_t nbytes, bool allow_short_read,
                                void* out) override;
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t position, int64_t nbytes,
                                                       bool allow_short_read) override;

 private:
  template <typename T>
  T Track(T result) {
    if (!result.ok()) log_->Record(result.status());
    return result;
  }
  arrow::Status Track(arrow::Status status) {
    if (!status.ok()) log_->Record(status);
    return status;
  }

  std::shared_ptr<arrow::io::RandomAccessFile> inner_;
  std::shared_ptr<IoFailureLog> log_;
};

/// \brief An error that leaves the file unread but intact: the caller should read it
/// again later (IOError carrying a marker detail).
arrow::Status RetryableReadError(const std::string& path, const arrow::Status& cause);

/// \brief Whether `status` came from RetryableReadError.
bool IsRetryableReadError(const arrow::Status& status);

/// \brief A planned file that no longer exists: the plan is stale (the file was
/// deleted since discovery, e.g. superseded by a compaction whose grace period
/// ended). Not bad data, and no retry can read it: the caller discovers the dataset
/// again and resumes where it stands (IOError carrying a marker detail). Skipping
/// it instead would lose its rows for good when a compaction holds them.
arrow::Status VanishedFileError(const std::string& path);

/// \brief Whether `status` came from VanishedFileError.
bool IsVanishedFileError(const arrow::Status& status);

}  // namespace otap_parquet::dataset
