// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <string>

#include <arrow/status.h>

/// \file
/// fsync of a local path by name.

namespace otap_parquet::util {

/// \brief fsyncs the file or directory `path` (a directory: the names created or
/// renamed in it survive a crash). IOError naming the path on failure.
arrow::Status FsyncPath(const std::string& path, bool directory);

/// \brief Test only: runs instead of every FsyncPath of the process until reset
/// (empty = real fsyncs); for code without a hook of its own.
void SetFsyncHookForTesting(
    std::function<arrow::Status(const std::string& path, bool directory)> hook);

}  // namespace otap_parquet::util
