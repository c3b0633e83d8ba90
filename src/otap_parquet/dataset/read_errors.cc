// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/read_errors.h"

#include <arrow/buffer.h>

namespace otap_parquet::dataset {

namespace {

class RetryableDetail : public arrow::StatusDetail {
 public:
  static constexpr const char* kTypeId = "otap_parquet::dataset::RetryableRead";
  const char* type_id() const override { return kTypeId; }
  std::string ToString() const override { return "retryable read error"; }
};

class VanishedDetail : public arrow::StatusDetail {
 public:
  static constexpr const char* kTypeId = "otap_parquet::dataset::VanishedFile";
  const char* type_id() const override { return kTypeId; }
  std::string ToString() const override { return "file vanished since discovery"; }
};

}  // namespace

void IoFailureLog::Record(const arrow::Status& status) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (first_.ok()) first_ = status;
}

arrow::Status IoFailureLog::first() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return first_;
}

void IoFailureLog::Reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  first_ = arrow::Status::OK();
}

arrow::Status TrackedInputFile::Close() { return Track(inner_->Close()); }
arrow::Result<int64_t> TrackedInputFile::Tell() const {
  auto result = inner_->Tell();
  if (!result.ok()) log_->Record(result.status());
  return result;
}
arrow::Status TrackedInputFile::Seek(int64_t position) {
  return Track(inner_->Seek(position));
}
arrow::Result<int64_t> TrackedInputFile::Read(int64_t nbytes, void* out) {
  return Track(inner_->Read(nbytes, out));
}
arrow::Result<std::shared_ptr<arrow::Buffer>> TrackedInputFile::Read(int64_t nbytes) {
  return Track(inner_->Read(nbytes));
}
arrow::Result<int64_t> TrackedInputFile::GetSize() { return Track(inner_->GetSize()); }
arrow::Result<int64_t> TrackedInputFile::ReadAt(int64_t position, int64_t nbytes,
                                                void* out) {
  return Track(inner_->ReadAt(position, nbytes, out));
}
arrow::Result<std::shared_ptr<arrow::Buffer>> TrackedInputFile::ReadAt(int64_t position,
                                                                       int64_t nbytes) {
  return Track(inner_->ReadAt(position, nbytes));
}
arrow::Result<int64_t> TrackedInputFile::ReadAt(int64_t position, int64_t nbytes,
                                                bool allow_short_read, void* out) {
  return Track(inner_->ReadAt(position, nbytes, allow_short_read, out));
}
arrow::Result<std::shared_ptr<arrow::Buffer>> TrackedInputFile::ReadAt(
    int64_t position, int64_t nbytes, bool allow_short_read) {
  return Track(inner_->ReadAt(position, nbytes, allow_short_read));
}

arrow::Status RetryableReadError(const std::string& path, const arrow::Status& cause) {
  return arrow::Status(
      arrow::StatusCode::IOError,
      "cannot read " + path + " (storage error, retryable): " + cause.message(),
      std::make_shared<RetryableDetail>());
}

bool IsRetryableReadError(const arrow::Status& status) {
  return status.detail() != nullptr &&
         std::string(status.detail()->type_id()) == RetryableDetail::kTypeId;
}

arrow::Status VanishedFileError(const std::string& path) {
  return arrow::Status(arrow::StatusCode::IOError,
                       "cannot read " + path +
                           ": the file vanished since the dataset was listed (deleted, "
                           "e.g. superseded by a compaction whose grace period ended); "
                           "list the dataset again and resume",
                       std::make_shared<VanishedDetail>());
}

bool IsVanishedFileError(const arrow::Status& status) {
  return status.detail() != nullptr &&
         std::string(status.detail()->type_id()) == VanishedDetail::kTypeId;
}

}  // namespace otap_parquet::dataset
