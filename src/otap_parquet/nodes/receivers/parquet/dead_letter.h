// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/pdata/otap_batch.h"

/// \file
/// receiver:parquet's `dead_letter`: batches the pipeline refused for good, appended
/// to a local file as OTLP/JSON lines (one line per batch, like exporter:file), so
/// that the replay checkpoint can move past them.

namespace otap_parquet::nodes {

/// \brief An append-only OTLP/JSON lines file, shared by the pipeline instances of a
/// process that name the same file, whatever the spelling of its path (appends are
/// serialized). A regular file is locked (flock) while open: another process (or
/// another engine) cannot append to it at the same time.
class DeadLetterFile {
 public:
  /// \brief Opens (creates) `path` for appending; IOError naming it on failure, or
  /// when another process holds the file open as its dead letter file.
  static arrow::Result<std::shared_ptr<DeadLetterFile>> Open(const std::string& path);
  ~DeadLetterFile();

  /// \brief Appends `batch` as one OTLP/JSON line and fsyncs it. On failure the file
  /// is cut back to its previous end (no partial line) and the error names the path.
  arrow::Status Append(const OtapBatch& batch);

  const std::string& path() const { return path_; }

 private:
  DeadLetterFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::string path_;
  int fd_ = -1;
  std::mutex mutex_;
};

}  // namespace otap_parquet::nodes
