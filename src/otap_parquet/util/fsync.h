// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include <arrow/status.h>

/// \file
/// fsync of a local path by name.

namespace otap_parquet::util {

/// \brief fsyncs the file or directory `path` (a directory: the names created or
/// renamed in it survive a crash). IOError naming the path on failure.
arrow::Status FsyncPath(const std::string& path, bool directory);

}  // namespace otap_parquet::util
