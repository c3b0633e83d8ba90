// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include <arrow/result.h>

/// \file
/// Wakes a following `receiver:parquet` when files appear in a local dataset
/// (inotify), instead of waiting for its next poll (README.md, `watch`).

namespace otap_parquet::nodes {

/// \brief Watches a local directory tree for published Parquet files: every directory
/// under the root, including those created later (new tables, partitions). Reads
/// are non-blocking; the receiver asks on each turn of its loop. Not thread-safe.
class DatasetWatcher {
 public:
  /// \brief Watches `root` and every directory below it. IOError (with the path and
  /// the reason, e.g. the inotify watch limit) when it cannot.
  static arrow::Result<std::unique_ptr<DatasetWatcher>> Open(const std::string& root);
  ~DatasetWatcher();
  DatasetWatcher(const DatasetWatcher&) = delete;
  DatasetWatcher& operator=(const DatasetWatcher&) = delete;

  /// \brief Whether, since the last call, a `.parquet` file was published (renamed
  /// into place or closed after writing), a directory was created (it may already
  /// hold files) or events were lost (queue overflow). Adds watches for new
  /// directories. IOError when reading the events or watching a new directory
  /// fails: the caller falls back to polling.
  arrow::Result<bool> Changed();

  /// \brief Directories watched.
  int64_t directories() const { return static_cast<int64_t>(paths_.size()); }

 private:
  explicit DatasetWatcher(int fd) : fd_(fd) {}
  /// Watches `dir` and, recursively, the directories below it.
  arrow::Status AddTree(const std::string& dir);

  int fd_ = -1;
  std::unordered_map<int, std::string> paths_;  ///< watch descriptor → directory
};

}  // namespace otap_parquet::nodes
